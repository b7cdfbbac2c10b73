"""Running the book's listings (``tests/book/listings``, made by ``scripts/extract_book_listings.py``).

A listing runs as the book runs it, a fresh program: a new namespace, layer-name counters restarted
(``backend.clear_session()``, so the first Dense is ``dense_1`` again), the random streams seeded, the
working directory a temporary folder (``plot_model`` and ``model.save`` write there), matplotlib on
the Agg backend, and stdout captured. Nothing in a listing is edited; the only adaptations are the
ones the tests spell out: running just a program's definitions (``defs_only``), calling its own
functions with small arguments, and replacing a literal the test names (``edits``: cutting a training
program's epoch count to a few steps).
"""
import ast
import contextlib
import io
import json
import os
import re
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy

LISTINGS_DIR = Path(__file__).parent / "listings"
INDEX = {entry["name"]: entry for entry in json.loads((LISTINGS_DIR / "index.json").read_text())}

_RULE = re.compile(r"^[_=]+$")


def normalize(text):
    """Printed lines with runs of whitespace collapsed (the PDF text lost them) and blank lines dropped."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return [line for line in lines if line]


def rows(text):
    """``normalize`` without the summary's ``____`` / ``====`` rules (their width is the line length,
    which the PDF typesetting cut; the rows themselves still show Keras' column truncation)."""
    return [line for line in normalize(text) if not _RULE.match(line)]


def expected(name):
    return (LISTINGS_DIR / f"{name}.out").read_text()


def param_lines(text):
    """The summary footer lines: ``Total params: N``, ``Trainable params: N``, ``Non-trainable params: N``."""
    return [line for line in normalize(text) if re.match(r"^(Total|Trainable|Non-trainable) params: ", line)]


def fresh_program(seed=1):
    """What starting a new Python process gives a Keras 2.2 program: name counters at 1, seeded RNGs."""
    from tinygan.keras import backend as K
    import tinygan.random

    K.clear_session()
    tinygan.random.seed(seed)
    numpy.random.seed(seed)
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    pyplot.close("all")


def edited(source, edits, name="listing"):
    """``source`` with each ``old`` of ``edits`` ({old: new}) replaced; each must occur exactly once, so an edit
    cannot silently miss or change more than the test says."""
    for old, new in edits.items():
        count = source.count(old)
        if count != 1:
            raise ValueError(f"{name}: the edit {old!r} matches {count} places in the listing; it must match one")
        source = source.replace(old, new)
    return source


def run_listing(name, workdir, defs_only=False, seed=1, edits=None):
    """Execute listing ``name``; return (namespace, captured stdout).

    ``defs_only`` keeps only the program's imports, functions and classes (its driver code loads a
    dataset and trains for hours); the test then calls those functions itself. ``edits`` ({old: new})
    replaces literals of the program (see :func:`edited`).
    """
    path = LISTINGS_DIR / f"{name}.py"
    tree = ast.parse(edited(path.read_text(), edits or {}, name), str(path))
    if defs_only:
        tree.body = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef))]
    code = compile(tree, str(path), "exec")
    fresh_program(seed)
    namespace = {"__name__": f"book_listing_{name}", "__file__": str(path)}
    out = io.StringIO()
    try:
        with contextlib.chdir(workdir), contextlib.redirect_stdout(out):
            exec(code, namespace)
    except BaseException:
        print(f"--- stdout of listing {name} before the error ---\n{out.getvalue()}")
        raise
    return namespace, out.getvalue()


@contextlib.contextmanager
def captured(workdir):
    """stdout of code the test runs itself (e.g. ``model.summary()`` of a listing's model)."""
    out = io.StringIO()
    with contextlib.chdir(workdir), contextlib.redirect_stdout(out):
        yield out
