#!/usr/bin/env python3
"""Build the small paired dataset that ``tinygan pix2pix train`` uses when no data is given.

The photographs come from two PyPI packages (public-domain or CC0 images only, see ``tinygan/data/README.md``):

* scikit-image's wheel: ``skimage/data/{astronaut.png, chelsea.png, coffee.png, rocket.jpg, retina.jpg}``
* matplotlib's wheel: ``matplotlib/mpl-data/sample_data/grace_hopper.jpg`` (matplotlib is a tinygan dependency)

The default task is photo -> line drawing: each pair is a 64x64 crop of a photograph (the source, ``arr_0``)
and a soft line drawing of it (the target, ``arr_1``: dark lines where the lightly blurred luma has a strong
Sobel gradient, white elsewhere, in three equal channels). ``--task edges2photo`` and ``--task gray2color``
build the harder reverse and grayscale -> colour variants from the same crops (not shipped: in a few minutes
of CPU training neither beats its trivial baselines; see tinygan/data/README.md).

Crops have a random side between 20% and 35% of the photograph's short side (so each shows a
recognisable part of it), resized to 64x64 with a Lanczos filter and flipped left-right at random. Train and
validation come from disjoint regions of every photograph: the right-hand 35% of each image is kept for
validation crops only.

Everything is saved as the book's compressed npz (``arr_0`` = source, ``arr_1`` = target, uint8):

* ``tinygan/data/pix2pix_photo2edges_64.npz``      training pairs (240)
* ``tinygan/data/pix2pix_photo2edges_64_val.npz``  validation pairs (48)

Usage::

    python scripts/build_pix2pix_demo_data.py                 # uses an installed scikit-image, or downloads its wheel
    python scripts/build_pix2pix_demo_data.py --wheel scikit_image-0.26.0-...whl

The build is deterministic for a given seed and set of source images; the SHA-256 of every source image is
printed (and recorded in ``tinygan/data/README.md``).
"""
import argparse
import glob
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO, "tinygan", "data")

# (package, path inside the package, short name)
SKIMAGE_IMAGES = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "retina.jpg"]
MPL_IMAGES = ["grace_hopper.jpg"]


def _skimage_bytes(wheel=None):
    """{name: bytes} of the scikit-image sample photographs, from a wheel or an installed scikit-image."""
    if wheel is None:
        try:
            import skimage.data  # noqa: F401 - only to find the folder
            folder = os.path.dirname(sys.modules["skimage.data"].__file__)
            return {name: open(os.path.join(folder, name), "rb").read() for name in SKIMAGE_IMAGES}
        except (ImportError, OSError):
            pass
        tmp = tempfile.mkdtemp(prefix="tinygan-skimage-")
        print("scikit-image not installed: downloading its wheel with `pip download --no-deps scikit-image`")
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                        "scikit-image", "-d", tmp], check=True)
        wheels = glob.glob(os.path.join(tmp, "scikit_image-*.whl"))
        if not wheels:
            sys.exit("could not download the scikit-image wheel; pass --wheel PATH")
        wheel = wheels[0]
    print("reading", wheel)
    with zipfile.ZipFile(wheel) as z:
        return {name: z.read("skimage/data/" + name) for name in SKIMAGE_IMAGES}


def _mpl_bytes():
    import matplotlib
    folder = os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "sample_data")
    return {name: open(os.path.join(folder, name), "rb").read() for name in MPL_IMAGES}


def to_gray3(rgb):
    """ITU-R 601 luma of a uint8 RGB array, replicated to three channels (what PIL's convert('L') computes)."""
    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    return np.repeat(gray[..., None], 3, axis=-1)


def to_edges(rgb, t0=0.1, t1=0.5, blur=0.7):
    """A soft line drawing of a uint8 RGB array: dark lines where the (lightly blurred) luma has a strong Sobel
    gradient, white elsewhere; replicated to three channels. ``t0``/``t1``: gradient magnitudes (luma in [0,1],
    Sobel kernel weights 1-2-1) that start a line and make it fully black."""
    from PIL import ImageFilter
    g = Image.fromarray(rgb).convert("L")
    if blur:
        g = g.filter(ImageFilter.GaussianBlur(blur))
    g = np.asarray(g, np.float32) / 255.0
    p = np.pad(g, 1, mode="reflect")
    gx = (p[:-2, 2:] + 2 * p[1:-1, 2:] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[1:-1, :-2] + p[2:, :-2])
    gy = (p[2:, :-2] + 2 * p[2:, 1:-1] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[:-2, 1:-1] + p[:-2, 2:])
    lines = 1.0 - np.clip((np.hypot(gx, gy) - t0) / (t1 - t0), 0.0, 1.0)
    return np.repeat(np.round(lines * 255.0).astype(np.uint8)[..., None], 3, axis=-1)


# crop side as a share of the photograph's short side (the same for training and validation)
SIDES = (0.2, 0.35)

# task -> (source, target) of a colour crop
TASKS = {
    "photo2edges": lambda crop: (crop, to_edges(crop)),   # the default: photo -> line drawing
    "edges2photo": lambda crop: (to_edges(crop), crop),   # line drawing -> photo (much harder)
    "gray2color": lambda crop: (to_gray3(crop), crop),    # luma -> colour (much harder)
}


def make_crops(img, n, size, region, side_range, rng):
    """``n`` random square crops of ``img`` (a PIL RGB image) inside ``region`` = (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = region
    short = min(img.size)
    out = []
    for _ in range(n):
        side = int(rng.uniform(*side_range) * short)
        side = max(size, min(side, x1 - x0, y1 - y0))
        cx = int(rng.integers(x0, x1 - side + 1))
        cy = int(rng.integers(y0, y1 - side + 1))
        crop = img.resize((size, size), Image.LANCZOS, box=(cx, cy, cx + side, cy + side))
        arr = np.asarray(crop, dtype=np.uint8)
        if rng.random() < 0.5:
            arr = arr[:, ::-1]
        out.append(np.ascontiguousarray(arr))
    return out


def build(sources, size=64, n_train=40, n_val=8, val_share=0.35, seed=1, out_dir=OUT_DIR, task="photo2edges"):
    derive = TASKS[task]
    rng = np.random.default_rng(seed)
    train_t, val_t = [], []
    for name in sorted(sources):
        data = sources[name]
        img = Image.open(io.BytesIO(data)).convert("RGB")
        w, h = img.size
        split = int(round(w * (1 - val_share)))
        print(f"{name:20s} {w}x{h}  sha256 {hashlib.sha256(data).hexdigest()}")
        train_t += make_crops(img, n_train, size, (0, 0, split, h), SIDES, rng)
        val_t += make_crops(img, n_val, size, (split, 0, w, h), SIDES, rng)
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for suffix, crops in (("", train_t), ("_val", val_t)):
        order = rng.permutation(len(crops))
        pairs = [derive(crops[i]) for i in order]
        src = np.stack([a for a, _ in pairs])
        tar = np.stack([b for _, b in pairs])
        path = os.path.join(out_dir, f"pix2pix_{task}_{size}{suffix}.npz")
        np.savez_compressed(path, src, tar)
        print(f"Saved {path}: {src.shape} {tar.shape}, {os.path.getsize(path) / 1e6:.2f} MB")
        paths.append(path)
    return paths


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wheel", help="a scikit-image wheel to read the photographs from (default: installed "
                   "scikit-image, else `pip download` it)")
    p.add_argument("--task", choices=sorted(TASKS), default="photo2edges", help="photo2edges (default): the "
                   "photo -> a soft line drawing of it (Sobel edges); edges2photo: the reverse; gray2color: the luma "
                   "-> the photo")
    p.add_argument("--size", type=int, default=64, help="crop side in pixels (default 64)")
    p.add_argument("--train-per-image", type=int, default=40, help="training crops per photograph (default 40)")
    p.add_argument("--val-per-image", type=int, default=8, help="validation crops per photograph (default 8)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--out-dir", default=OUT_DIR, help="where to write the npz files (default tinygan/data)")
    a = p.parse_args(argv)
    sources = dict(_skimage_bytes(a.wheel))
    sources.update(_mpl_bytes())
    build(sources, a.size, a.train_per_image, a.val_per_image, seed=a.seed, out_dir=a.out_dir, task=a.task)


if __name__ == "__main__":
    main()
