"""Paired image data for Pix2Pix (chapter 23): prepare a folder of side-by-side images into the book's npz, load it.

The book's ``load_images`` (Listing 23.3) reads every file of ``maps/train/`` (1200x600 JPEGs, satellite on the
left, Google map on the right), resizes it to 256x512 with ``load_img(..., target_size=(256, 512))`` (Keras's default
nearest-neighbour interpolation), splits it into the two 256x256 halves and saves them with
``savez_compressed('maps_256.npz', src_images, tar_images)``. :func:`prepare_paired_folder` does the same and
also

* chooses which half is the source (``direction='AtoB'``: left -> right, the book's satellite -> map;
  ``'BtoA'``: right -> left, the book's map -> satellite),
* stores uint8 pixels (the book stored float32 0..255, 4x larger; loading scales both the same way),
* reports corrupt, unreadable and wrongly-shaped files by name and skips them instead of crashing.

:func:`load_real_samples` is the book's loader: ``arr_0``/``arr_1`` scaled from [0,255] to [-1,1] (float32 here),
optionally swapped (the book's ``return [X2, X1]`` for the reverse direction).

The embedded default dataset (crops of public-domain photographs -> line drawings, see ``tinygan/data/README.md``)
is found with :func:`default_dataset_path`.
"""
import os
from dataclasses import dataclass, field

import numpy as np

from ..errors import UserInputError

DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
DEFAULT_DATASET = "pix2pix_photo2edges_64.npz"
DEFAULT_VAL_DATASET = "pix2pix_photo2edges_64_val.npz"
DIRECTIONS = ("AtoB", "BtoA")
INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos")


def default_dataset_path(split="train"):
    """Path of the embedded demo dataset (``split`` = ``'train'`` or ``'val'``)."""
    name = {"train": DEFAULT_DATASET, "val": DEFAULT_VAL_DATASET}[split]
    return os.path.join(DATA_DIR, name)


@dataclass
class PrepareReport:
    """What :func:`prepare_paired_folder` did: the arrays' shapes, the files used and the files skipped (with why)."""
    path: str = None
    loaded: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # [(filename, reason)]
    shape: tuple = None

    def summary(self):
        lines = [f"Loaded: {len(self.loaded)} pairs of shape {self.shape}; skipped {len(self.skipped)} file(s)"]
        lines += [f"  skipped {name}: {why}" for name, why in self.skipped]
        return "\n".join(lines)


def _pyplot():
    """matplotlib.pyplot (the backend is left to the user; the CLI selects the file-only Agg)."""
    from matplotlib import pyplot
    return pyplot


def _resample(name):
    from PIL import Image
    return {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC,
            "lanczos": Image.LANCZOS}[name]


def load_pair(path, size=256, interpolation="nearest", expect=None, aspect_tolerance=0.02):
    """Load one side-by-side image as two uint8 halves ``(left, right)``, each ``size x size x 3``.

    Raises ``ValueError`` with a readable reason for an image that is not a side-by-side pair (width must be twice
    the height within ``aspect_tolerance``; with ``expect=(width, height)`` exactly that size), and ``OSError`` for a
    file PIL cannot decode.
    """
    from PIL import Image
    with Image.open(path) as im:
        w, h = im.size
        if expect is not None and (w, h) != tuple(expect):
            raise UserInputError(f"size {w}x{h}, expected {expect[0]}x{expect[1]}")
        if h <= 0 or abs(w / h - 2.0) > 2.0 * aspect_tolerance:
            raise UserInputError(f"size {w}x{h} is not a side-by-side pair (width must be twice the height)")
        im = im.convert("RGB")
        # the book: load_img(path, target_size=(256, 512)) -> (height, width)
        im = im.resize((2 * size, size), _resample(interpolation))
        pixels = np.asarray(im, dtype=np.uint8)
    return pixels[:, :size], pixels[:, size:]


def _image_files(folder):
    names = []
    for name in sorted(os.listdir(folder)):
        full = os.path.join(folder, name)
        if name.startswith(".") or not os.path.isfile(full):
            continue
        names.append(name)
    return names


def load_images(path, size=256, direction="AtoB", interpolation="nearest", expect=None, limit=None, report=None,
                log=print):
    """The book's ``load_images``: every side-by-side image in folder ``path`` -> ``[src_images, tar_images]``.

    Arrays are uint8, shape ``(n, size, size, 3)``. Files that cannot be used are reported through ``log`` (one
    line each, naming the file) and listed in ``report.skipped`` if a :class:`PrepareReport` is given.
    """
    if direction not in DIRECTIONS:
        raise UserInputError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    if interpolation not in INTERPOLATIONS:
        raise UserInputError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
    if not os.path.isdir(path):
        raise FileNotFoundError(f"no such folder: {path}")
    report = report if report is not None else PrepareReport()
    src_list, tar_list = [], []
    for filename in _image_files(path):
        if limit is not None and len(src_list) >= limit:
            break
        full = os.path.join(path, filename)
        try:
            left, right = load_pair(full, size, interpolation, expect)
        except ValueError as exc:
            reason = str(exc)
        except Exception as exc:  # PIL raises OSError/UnidentifiedImageError/SyntaxError/... for broken files
            reason = f"unreadable or corrupt image ({type(exc).__name__}: {exc})"
        else:
            src, tar = (left, right) if direction == "AtoB" else (right, left)
            src_list.append(src)
            tar_list.append(tar)
            report.loaded.append(filename)
            continue
        report.skipped.append((filename, reason))
        if log:
            log(f"Skipped {filename}: {reason}")
    if not src_list:
        empty = np.zeros((0, size, size, 3), np.uint8)
        return [empty, empty.copy()]
    return [np.stack(src_list), np.stack(tar_list)]


def prepare_paired_folder(folder, output, size=256, direction="AtoB", interpolation="nearest", expect=None,
                          limit=None, log=print):
    """Prepare a folder of side-by-side images into a compressed npz (``arr_0`` = source, ``arr_1`` = target).

    Returns a :class:`PrepareReport`. Raises ``ValueError`` if no file could be used.
    """
    report = PrepareReport(path=output)
    src_images, tar_images = load_images(folder, size, direction, interpolation, expect, limit, report, log)
    if len(src_images) == 0:
        raise UserInputError(f"no usable side-by-side image in {folder} ({len(report.skipped)} file(s) skipped)")
    report.shape = src_images.shape[1:]
    if log:
        log(f"Loaded: {src_images.shape} {tar_images.shape}")
    from tinygan.training.checkpoint import atomic_write_npz
    from tinygan.training.rundir import remove_stale_temporaries
    remove_stale_temporaries(os.path.dirname(os.path.abspath(output)))
    atomic_write_npz(output, {"arr_0": src_images, "arr_1": tar_images}, compress=True)
    if log:
        log(f"Saved dataset: {output}")
    return report


def load_real_samples(filename, direction="AtoB", dtype="float32"):
    """The book's ``load_real_samples``: ``[X1, X2]`` from the npz, scaled from [0,255] to [-1,1].

    ``direction='BtoA'`` returns ``[X2, X1]`` (the book's map -> satellite run). Pixels already in [0, 1] or
    [-1, 1] (floats) are rescaled from that range instead; any other range or dtype, NaN/inf, and a truncated or
    corrupt file raise a ``ValueError`` naming the file (:mod:`tinygan.training.guards`).
    """
    from tinygan.training.guards import InputError, as_images, load_npz
    if direction not in DIRECTIONS:
        raise UserInputError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    data = load_npz(filename, "dataset of pairs")
    if "arr_0" not in data or "arr_1" not in data:
        raise InputError(f"{filename} has no arr_0/arr_1 arrays (keys: {sorted(data)}); "
                         "make it with `tinygan pix2pix prepare`")
    X1, X2 = data["arr_0"], data["arr_1"]
    if X1.shape != X2.shape or X1.ndim != 4 or X1.shape[-1] not in (1, 3, 4):
        raise InputError(f"{filename}: arr_0 {X1.shape} and arr_1 {X2.shape} must be two (n, h, w, channels) "
                         "image arrays of the same shape")
    X1 = as_images(X1, f"{filename} arr_0", dtype=dtype)
    X2 = as_images(X2, f"{filename} arr_1", dtype=dtype)
    return [X1, X2] if direction == "AtoB" else [X2, X1]


def scale_images(pixels, dtype="float32"):
    """[0,255] -> [-1,1], the book's ``(X - 127.5) / 127.5``."""
    return ((np.asarray(pixels, dtype=dtype) - 127.5) / 127.5).astype(dtype, copy=False)


def unscale_images(images):
    """[-1,1] -> [0,1], the book's ``(X + 1) / 2.0`` (clipped, for display)."""
    return np.clip((np.asarray(images) + 1) / 2.0, 0.0, 1.0)


def to_uint8(images):
    """[-1,1] -> uint8 [0,255] for writing image files."""
    return np.round(unscale_images(images) * 255.0).astype(np.uint8)


def load_image(filename, size=256, interpolation="nearest", dtype="float32"):
    """The book's ``load_image`` (Listing 23.25): one file -> ``(1, size, size, 3)`` in [-1,1].

    ``size`` may be an int or ``(height, width)``.
    """
    from PIL import Image
    h, w = (size, size) if np.isscalar(size) else size
    with Image.open(filename) as im:
        pixels = np.asarray(im.convert("RGB").resize((w, h), _resample(interpolation)), dtype=np.uint8)
    return scale_images(pixels, dtype)[None]
