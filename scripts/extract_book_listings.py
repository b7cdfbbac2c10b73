#!/usr/bin/env python3
"""Extract the book's listings used by ``tests/book`` from the seed text and port them to tinygan.

    python3 scripts/extract_book_listings.py [--seeds DIR] [--out tests/book/listings] [--check]

The seed ``002_950fd1d0c69bf243.txt`` is a PDF-to-text dump of "Generative Adversarial Networks with
Python". Its code listings lost their layout, so getting Python back takes a text *recovery* step
before the *port*:

recovery (undoing PDF extraction damage; no change to what the code does)
  * ``✬`` (the dump's rendering of ``'``) becomes ``'``;
  * blank lines and the stray leading space of a page break are dropped;
  * page furniture that landed inside a listing is dropped: running heads (``7.4. How to ... 111``),
    bare page numbers and footnote URLs;
  * indentation is rebuilt: a line ending in ``:`` opens a block, ``return``/``break``/``continue``
    closes one, ``else``/``elif``/``except`` line up with their ``if``/``try``, imports and ``def``/
    ``class`` at the top start at column 0, a line inside unbalanced brackets is a continuation.
    Where that guess is wrong (a block that ends without a ``return``) the table below pins the
    level of the first line after the block (``LEVELS``: book line -> indent level), so every such
    decision is written down next to the book line it concerns; a comment takes the level of the
    code line after it.

port (the only change to the code itself)
  * ``keras.`` -> ``tinygan.keras.``, ``from keras `` -> ``from tinygan.keras ``, ``import keras`` ->
    ``import tinygan.keras as keras``;
  * keras_contrib's ``InstanceNormalization`` import -> ``from tinygan.keras.layers import
    InstanceNormalization``;
  * ``from skimage.transform import resize`` -> ``from tinygan.metrics import resize`` (scikit-image is not a
    tinygan dependency; the book calls it only as ``resize(image, shape, 0)``, nearest neighbour).

Expected outputs are the book's printed output listing for the same program (blank lines dropped,
each line stripped; the dump lost runs of spaces, so the tests compare lines with whitespace
collapsed). For listings 22.3 and 22.5 the book omits the summaries "for brevity"; the expected output
then comes from seed 004 (the same post, whose code is identical), which prints them verbatim.

Each listing is written to ``<out>/<name>.py`` with a header naming the book listing and its line
range, its expected output (if any) to ``<out>/<name>.out``, and everything the tests need to know
to ``<out>/index.json``. ``--check`` regenerates in memory and fails if any checked-in file differs.
"""
import argparse
import json
import os
import re
import sys

BOOK = "002_950fd1d0c69bf243.txt"
S4 = "004_46a133c1757b1aeb.txt"

# name, code listing, output listing (book) or ("S4", first, last) or None; ``start``: the book line
# where the code begins, where the paragraph above it fools the prose detector.
# ``levels``: {book line: indent level of that line} where the automatic re-indent needs a decision.
# ``joins``: book lines that continue the previous line (a wrapped comment).
# ``output_starts``: the first printed word, where the output begins with words rather than numbers.
LISTINGS = [
    # ---- chapter 2: functional-API models with summaries
    dict(name="ch02_mlp_functional", listing="2.21", output="2.22"),
    dict(name="ch02_cnn_functional", listing="2.23", output="2.24"),
    dict(name="ch02_rnn_functional", listing="2.25", output="2.26"),
    # ---- chapter 3: upsampling layers
    dict(name="ch03_upsampling_demo", listing="3.8", output="3.9"),
    dict(name="ch03_generator_upsampling", listing="3.15", output="3.16"),
    dict(name="ch03_conv2dtranspose_demo", listing="3.28", output="3.29"),
    dict(name="ch03_generator_conv2dtranspose", listing="3.33", output="3.34"),
    # ---- chapter 5: GAN hacks
    dict(name="ch05_strided_downsampling", listing="5.1", output="5.2"),
    dict(name="ch05_strided_upsampling", listing="5.3", output="5.4"),
    dict(name="ch05_leakyrelu", listing="5.5", output="5.6"),
    dict(name="ch05_batchnorm", listing="5.7", output="5.8"),
    dict(name="ch05_gaussian_init", listing="5.9", output=None),
    dict(name="ch05_adam", listing="5.10", output=None),
    dict(name="ch05_scale_images", listing="5.11", output="5.12"),
    dict(name="ch05_gaussian_latent", listing="5.13", output="5.14"),
    dict(name="ch05_positive_label_smoothing", listing="5.16", output="5.17"),
    dict(name="ch05_negative_label_smoothing", listing="5.18", output="5.19"),
    dict(name="ch05_noisy_labels", listing="5.20", output="5.21"),
    # ---- chapter 6: 1-D GAN models
    dict(name="ch06_discriminator", listing="6.5", output="6.6"),
    dict(name="ch06_generator", listing="6.13", output="6.14"),
    dict(name="ch06_composite", listing="6.19", output="6.20"),
    # ---- chapter 7: MNIST DCGAN models
    dict(name="ch07_discriminator", listing="7.7", output="7.8"),
    dict(name="ch07_generator", listing="7.22", output="7.23"),
    dict(name="ch07_composite", listing="7.28", output="7.29"),
    # ---- chapter 8: CIFAR-10 DCGAN models
    dict(name="ch08_discriminator", listing="8.6", output="8.7"),
    dict(name="ch08_generator", listing="8.20", output="8.21"),
    dict(name="ch08_composite", listing="8.26", output="8.27"),
    # ---- chapters 12-13: Inception Score and FID with Keras's InceptionV3 (complete programs)
    dict(name="ch12_inception_score", listing="12.16", output="12.17", output_starts="loaded"),
    dict(name="ch12_inception_score_cifar10", listing="12.22", output="12.23", output_starts="loaded"),
    dict(name="ch13_fid_random_images", listing="13.15", output="13.16", output_starts="Prepared"),
    dict(name="ch13_fid_cifar10", listing="13.19", output="13.20", output_starts="Loaded"),
    # ---- chapters 15-17: complete programs (the tests run their definitions)
    dict(name="ch15_lsgan", listing="15.11", output=None),
    dict(name="ch16_wgan", listing="16.22", output=None),
    dict(name="ch17_gan", listing="17.15", output=None),
    dict(name="ch17_cgan", listing="17.24", output=None),
    # ---- chapter 22: Pix2Pix
    dict(name="ch22_discriminator", listing="22.3", output=("S4", 227, 272)),
    dict(name="ch22_generator", listing="22.5", output=("S4", 448, 573)),
    dict(name="ch22_composite", listing="22.7", output="22.8"),
    # ---- chapter 25: CycleGAN
    dict(name="ch25_discriminator", listing="25.4", output="25.5", start=32177),
    dict(name="ch25_generator", listing="25.8", output=None),
    dict(name="ch25_composite", listing="25.19", output=None),
    # ---- chapter 26: CycleGAN on horse2zebra (the complete training program and the two translate programs)
    dict(name="ch26_cyclegan", listing="26.17", output=None),
    dict(name="ch26_translate", listing="26.28", output=None),
    dict(name="ch26_translate_photo", listing="26.32", output=None),
]

# Indentation decisions the automatic pass cannot make (a block that ends without return/break):
# {listing: {book line: indent level from that line on}}. Each was checked against the program's logic
# (e.g. 16.22: the critic's history is appended once per step, after the n_critic loop).
LEVELS = {
    "12.16": {16197: 1},
    "12.22": {16361: 1, 16427: 1},
    "13.15": {17082: 1, 17115: 1},
    "13.19": {17260: 1, 17294: 1},
    "15.11": {18562: 1, 18660: 1, 18663: 0},
    "16.22": {19921: 0, 20156: 1, 20242: 2, 20271: 1, 20275: 0},
    "17.15": {21393: 1, 21397: 0},
    "17.24": {22242: 1, 22246: 0},
    "22.5": {28839: 1, 28868: 1},
    "22.7": {29174: 1, 29204: 1},
    "25.8": {32605: 1},
    "25.19": {33069: 1},
    "26.17": {34650: 1, 34832: 1, 34842: 1, 34880: 1, 34975: 2, 34983: 0},
    "26.28": {35323: 1, 35327: 0},
}

_CAPTION = re.compile(r"^\s*Listing (\d+\.\d+):")
_RUNNING_HEAD = re.compile(r"^\s*\d+\.\d+\.\s+\S.*\s\d+\s*$")
_PAGE_NUMBER = re.compile(r"^\s*\d+\s*$")
_FOOTNOTE_URL = re.compile(r"^\s*\d*https?://\S+\s*$")
_BLOCK_OPENERS = ("def ", "class ", "for ", "while ", "if ", "elif ", "else", "try", "except", "finally", "with ")
_REALIGN = ("else", "elif ", "except", "finally")
_CLOSERS = ("return", "break", "continue", "raise")


def is_prose(line):
    """A sentence of the book's text rather than code or printed output."""
    s = line.strip()
    if not s or s.startswith("#") or s == "...":
        return s == "..."
    if "Layer (type)" in s or "params:" in s or "(None" in s:
        return False
    if re.fullmatch(r"[^#=()\[\]{}]+\.", s):  # "is provided below.", "64× 64 to 128× 128."
        return True
    words = s.split()
    if len(words) < 5:
        return False
    alpha = sum(bool(re.fullmatch(r"[A-Za-z’'\-]+[,.;:]?", w)) for w in words)
    return alpha / len(words) >= 0.6


def find_caption(lines, number, start=0):
    for i in range(start, len(lines)):
        m = _CAPTION.match(lines[i])
        if m and m.group(1) == number:
            return i
    raise SystemExit(f"Listing {number}: caption not found")


def code_range(lines, cap):
    """(first, last) 0-based indices of the code block ending just above caption ``cap``."""
    i = cap - 1
    first = None
    while i >= 0:
        s = lines[i].strip()
        if _RUNNING_HEAD.match(s) or _PAGE_NUMBER.match(s) or _FOOTNOTE_URL.match(s):
            i -= 1
            continue
        if s and (is_prose(s) or _CAPTION.match(lines[i])):
            break
        if s:
            first = i
        i -= 1
    last = cap - 1
    while not lines[last].strip():
        last -= 1
    return first, last


_OUTPUT_START = re.compile(r"^(_{10,}|={10,}|\[|\(\d|-?\d)")


def output_range(lines, code_cap, out_cap, starts=None):
    """(first, last) of the printed output between the program's caption and the output caption:
    from the first line that looks like output (a summary rule, an array, a tuple or a number; or, where
    the program prints words first, a line beginning with ``starts``) to the last line that is not prose."""
    first = last = None
    for i in range(code_cap + 1, out_cap):
        s = lines[i].strip()
        if not s or is_prose(s) or s.startswith("Note:"):
            continue
        if first is None and not (_OUTPUT_START.match(s) or (starts and s.startswith(starts))):
            continue
        if first is None:
            first = i
        last = i
    return first, last


def _bracket_depth(text, depth=0):
    """Bracket depth after ``text`` (strings and comments skipped)."""
    quote = None
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
            continue
        if ch in "'\"":
            quote = ch
        elif ch == "#":
            break
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
    return depth


def recover(lines, first, last, number):
    """(Python source, book lines dropped as page furniture, [(book line, level, text)])."""
    levels = LEVELS.get(number, {})
    dropped = []
    out = []  # (book line, level, text)
    level = 0
    depth = 0
    stack = []  # (level, keyword) of the open block headers
    for i in range(first, last + 1):
        book_line = i + 1
        raw = lines[i]
        s = raw.strip().replace("✬", "'")
        if not s:
            continue
        if _RUNNING_HEAD.match(s) or _PAGE_NUMBER.match(s) or _FOOTNOTE_URL.match(s):
            dropped.append(book_line)
            continue
        if s == "..." and not out:
            continue  # the "..." that opens a snippet
        if depth > 0:  # continuation inside brackets
            out.append((book_line, statement[1] + 1, s))
            depth = _bracket_depth(s, depth)
            if depth == 0 and s.endswith(":") and statement[2].startswith(_BLOCK_OPENERS):
                stack.append((statement[1], statement[2].split()[0]))  # a header wrapped over lines
                level = statement[1] + 1
            continue
        if book_line in levels:
            level = levels[book_line]
            stack = [b for b in stack if b[0] < level]
        elif s.startswith(("from ", "import ")):
            level = 0
            stack = []
        elif s.startswith(("def ", "class ")):
            # a def inside an open class body is a method; anything else starts at column 0
            classes = [b for b in stack if b[1] == "class"]
            level = classes[-1][0] + 1 if classes and s.startswith("def ") else 0
            stack = [b for b in stack if b[0] < level]
        elif s.startswith(_REALIGN):
            level = stack.pop()[0] if stack else max(level - 1, 0)
        line_level = level
        out.append((book_line, line_level, s))
        statement = out[-1]
        depth = _bracket_depth(s)
        if s.startswith("#"):
            continue
        if depth == 0 and s.endswith(":") and s.startswith(_BLOCK_OPENERS):
            stack.append((line_level, s.split()[0].rstrip(":")))
            level = line_level + 1
        elif s.split()[0].split("(")[0] in _CLOSERS:
            level = stack.pop()[0] if stack else 0  # the block holding it ends here
    code = []
    for k, (bl, lv, text) in enumerate(out):
        if text.startswith("#"):  # a comment sits at the level of the code it describes
            nxt = next((o for o in out[k + 1:] if not o[2].startswith("#")), None)
            lv = nxt[1] if nxt is not None else lv
        code.append("    " * lv + text)
    return "\n".join(code) + "\n", dropped, out


def port(source):
    """The import substitution: keras -> tinygan.keras, keras_contrib's InstanceNormalization, skimage's resize."""
    lines = []
    for line in source.split("\n"):
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        if re.match(r"from keras_contrib\.layers(\.normalization(\.instancenormalization)?)? import InstanceNormalization$", stripped):
            stripped = "from tinygan.keras.layers import InstanceNormalization"
        elif stripped == "from skimage.transform import resize":
            stripped = "from tinygan.metrics import resize"
        elif stripped.startswith("from keras ") or stripped.startswith("from keras."):
            stripped = "from tinygan.keras" + stripped[len("from keras"):]
        elif stripped == "import keras":
            stripped = "import tinygan.keras as keras"
        else:
            stripped = re.sub(r"(?<![\w.])keras\.", "tinygan.keras.", stripped)
        lines.append(indent + stripped)
    return "\n".join(lines)


def expected_output(book, s4, entry, code_cap):
    spec = entry["output"]
    if spec is None:
        return None, None
    if isinstance(spec, tuple):
        _, a, b = spec
        text = [ln.rstrip() for ln in s4[a - 1:b]]
        source = {"seed": S4, "lines": [a, b]}
    else:
        out_cap = find_caption(book, spec, code_cap + 1)
        a, b = output_range(book, code_cap, out_cap, entry.get("output_starts"))
        text = [ln.strip() for ln in book[a:b + 1]]
        text = [t for t in text if t and not _FOOTNOTE_URL.match(t) and not _RUNNING_HEAD.match(t)]
        source = {"seed": BOOK, "listing": spec, "lines": [a + 1, b + 1]}
    text = [t for t in text if t.strip()]
    return "\n".join(text) + "\n", source


def build(seeds):
    with open(os.path.join(seeds, BOOK), encoding="utf-8") as f:
        book = f.read().split("\n")
    s4 = []
    if os.path.exists(os.path.join(seeds, S4)):
        with open(os.path.join(seeds, S4), encoding="utf-8") as f:
            s4 = f.read().split("\n")
    files = {}
    index = []
    for entry in LISTINGS:
        cap = find_caption(book, entry["listing"])
        first, last = code_range(book, cap)
        if entry.get("start"):  # the paragraph above ends in code-like text ("defineD n layers() function2.")
            first = entry["start"] - 1
        source, dropped, _ = recover(book, first, last, entry["listing"])
        ported = port(source)
        try:
            compile(ported, entry["name"], "exec")
        except SyntaxError as e:
            raise SystemExit(f"Listing {entry['listing']} ({entry['name']}): recovered code does not compile: {e}\n{ported}")
        notes = []
        if entry["listing"] in LEVELS:
            notes.append("indent levels pinned at book lines " + ", ".join(str(k) for k in sorted(LEVELS[entry["listing"]])))
        if dropped:
            notes.append("page furniture dropped at book lines " + ", ".join(map(str, dropped)))
        header = [
            "# Generated by scripts/extract_book_listings.py from the book text; do not edit by hand.",
            f"# Book: \"Generative Adversarial Networks with Python\", Listing {entry['listing']}",
            f"# Source: seed {BOOK}, lines {first + 1}-{last + 1} (caption at line {cap + 1}).",
            "# Recovered from the PDF text (quotes, indentation, blank lines" + ("; " + "; ".join(notes) if notes else "") + ");",
            "# ported by import substitution only (keras -> tinygan.keras).",
        ]
        files[entry["name"] + ".py"] = "\n".join(header) + "\n" + ported
        out_text, out_source = expected_output(book, s4, entry, cap)
        if out_text is not None:
            files[entry["name"] + ".out"] = out_text
        index.append({
            "name": entry["name"],
            "listing": entry["listing"],
            "code": {"seed": BOOK, "lines": [first + 1, last + 1]},
            "output": out_source,
            "recovery": notes,
        })
    files["index.json"] = json.dumps(index, indent=1) + "\n"
    return files


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    default_seeds = os.path.join(os.path.dirname(repo), "shared", "seeds")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default=default_seeds)
    ap.add_argument("--out", default=os.path.join(repo, "tests", "book", "listings"))
    ap.add_argument("--check", action="store_true", help="fail if the checked-in files differ")
    ap.add_argument("--show", help="print one listing's recovered code with book line numbers")
    args = ap.parse_args(argv)
    if args.show:
        with open(os.path.join(args.seeds, BOOK), encoding="utf-8") as f:
            book = f.read().split("\n")
        cap = find_caption(book, args.show)
        first, last = code_range(book, cap)
        entry = next((e for e in LISTINGS if e["listing"] == args.show), {})
        first = entry["start"] - 1 if entry.get("start") else first
        _, dropped, out = recover(book, first, last, args.show)
        for bl, lv, text in out:
            print(f"{bl:6d} {'    ' * lv}{text}")
        print("dropped:", dropped)
        return 0
    files = build(args.seeds)
    if args.check:
        bad = []
        for name, text in files.items():
            path = os.path.join(args.out, name)
            if not os.path.exists(path) or open(path, encoding="utf-8").read() != text:
                bad.append(name)
        if bad:
            print("out of date:", ", ".join(bad))
            return 1
        print(f"{len(files)} files up to date")
        return 0
    os.makedirs(args.out, exist_ok=True)
    for name, text in files.items():
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as f:
            f.write(text)
    print(f"wrote {len(files)} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
