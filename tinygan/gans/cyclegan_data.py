"""Unpaired image data for CycleGAN (chapter 26): the ``trainA/ trainB/ (testA/ testB/)`` folder layout of
horse2zebra -> the book's npz (``arr_0`` = domain A, ``arr_1`` = domain B), and checked loading.

The book's Listing 26.2 loads every image of each folder at 256x256 (``load_img``, nearest), stacks train and test
of each domain (``dataA = vstack((trainA, testA))``) and saves float32 arrays. :func:`prepare_unpaired_folder` does
the same and also stores uint8 (4x smaller), can keep the test images apart (``test_output``) for a held-out cycle
error, and reports what it changed or skipped, one line each: a file that is not an image, grayscale (or RGBA,
palette) images converted to RGB, images of mixed sizes (all are resized to one size). The domains may hold different numbers of images
(training samples each independently).
"""
import os
import zipfile
from collections import Counter

import numpy as np

from .pix2pix_data import DATA_DIR, _image_files, _resample, scale_images

DEFAULT_DATASET = "cyclegan_photo2edges_64.npz"
DEFAULT_VAL_DATASET = "cyclegan_photo2edges_64_val.npz"


def default_dataset_path(split="train"):
    """The embedded unpaired demo (photos <-> line drawings of other crops; ``split`` = 'train' or 'val')."""
    return os.path.join(DATA_DIR, {"train": DEFAULT_DATASET, "val": DEFAULT_VAL_DATASET}[split])


def load_domain(folder, size=256, interpolation="nearest", log=print):
    """Every image of ``folder`` as uint8 ``(n, size, size, 3)``; unusable files are skipped, conversions and
    resizes summarised, one line each through ``log``."""
    from PIL import Image
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"no such folder: {folder}")
    images, modes, sizes, skipped = [], Counter(), Counter(), []
    for name in _image_files(folder):
        try:
            with Image.open(os.path.join(folder, name)) as im:
                if im.mode != "RGB":
                    modes[im.mode] += 1
                sizes["%dx%d" % im.size] += 1
                images.append(np.asarray(im.convert("RGB").resize((size, size), _resample(interpolation)),
                                         dtype=np.uint8))
        except Exception as exc:  # PIL raises OSError/UnidentifiedImageError/SyntaxError/... for broken files
            skipped.append(name)
            if log:
                log(f"Skipped {os.path.join(folder, name)}: not a readable image ({type(exc).__name__})")
    if log and modes:
        log(f"{folder}: converted {sum(modes.values())} image(s) to RGB (modes: "
            + ", ".join(f"{m} x{n}" for m, n in modes.items()) + "; grayscale becomes three equal channels)")
    if log and len(sizes) > 1:
        log(f"{folder}: images of {len(sizes)} different sizes ("
            + ", ".join(f"{s} x{n}" for s, n in sizes.most_common(4)) + (", ..." if len(sizes) > 4 else "")
            + f"), all resized to {size}x{size}")
    if not images:
        what = f"{len(skipped)} unreadable file(s)" if skipped else "no files"
        raise ValueError(f"{folder} holds no usable image ({what}): each domain needs at least one image")
    return np.stack(images)


def _domains(root, split):
    a, b = os.path.join(root, f"{split}A"), os.path.join(root, f"{split}B")
    return (a, b) if os.path.isdir(a) or os.path.isdir(b) else None


def load_unpaired_folder(root, size=256, interpolation="nearest", merge_test=True, log=print):
    """``[A, B]`` uint8 from ``root/trainA``, ``root/trainB`` (and, with ``merge_test``, ``testA``/``testB``
    stacked below them, as the book does)."""
    train = _domains(root, "train")
    if train is None:
        raise ValueError(f"{root} has no trainA/ and trainB/ folders (the horse2zebra layout: trainA/ trainB/ "
                         "testA/ testB/)")
    out = []
    for i, folder in enumerate(train):
        parts = [load_domain(folder, size, interpolation, log)]
        test = _domains(root, "test")
        if merge_test and test is not None and os.path.isdir(test[i]):
            parts.append(load_domain(test[i], size, interpolation, log))
        out.append(np.vstack(parts))
    return out


def prepare_unpaired_folder(root, output, size=256, interpolation="nearest", test_output=None, log=print):
    """The book's Listing 26.2: ``root``'s domains -> ``output`` (compressed npz, uint8). With ``test_output``
    the test folders go there instead of being stacked into the training arrays. Returns ``[A, B]``."""
    dataA, dataB = load_unpaired_folder(root, size, interpolation, merge_test=test_output is None, log=log)
    if log:
        log(f"Loaded dataA:  {dataA.shape}")
        log(f"Loaded dataB:  {dataB.shape}")
    np.savez_compressed(output, dataA, dataB)
    if log:
        log(f"Saved dataset:  {output}")
    if test_output:
        test = _domains(root, "test")
        if test is None:
            raise ValueError(f"{root} has no testA/ and testB/ folders for {test_output}")
        tA, tB = (load_domain(f, size, interpolation, log) for f in test)
        np.savez_compressed(test_output, tA, tB)
        if log:
            log(f"Saved test set:  {test_output} ({tA.shape}, {tB.shape})")
    return [dataA, dataB]


def check_domains(A, B, where):
    """The two domains as float32 (n, h, w, 3) arrays of one image size, or one clear line saying what is wrong.
    Grayscale arrays ((n, h, w) or one channel) become three equal channels."""
    out = []
    for name, X in (("arr_0 (domain A)", A), ("arr_1 (domain B)", B)):
        X = np.asarray(X)
        if X.ndim == 3:
            X = X[..., None]
        if X.ndim != 4 or X.shape[-1] not in (1, 3):
            raise ValueError(f"{where}: {name} has shape {X.shape}; expected (n, height, width, 3) images")
        if X.shape[-1] == 1:
            X = np.repeat(X, 3, axis=-1)
        if len(X) == 0:
            raise ValueError(f"{where}: {name} is empty; each domain needs at least one image")
        out.append(X)
    if out[0].shape[1:] != out[1].shape[1:]:
        raise ValueError(f"{where}: domain A images are {out[0].shape[1]}x{out[0].shape[2]} but domain B images "
                         f"are {out[1].shape[1]}x{out[1].shape[2]}; prepare both at one --size")
    return out


def load_unpaired(path, size=None, log=print):
    """``[A, B]`` in [-1,1] float32 from an npz (``arr_0``, ``arr_1``) or a ``trainA/ trainB/`` folder (prepared
    in memory at ``size``, default 256)."""
    if os.path.isdir(path):
        A, B = load_unpaired_folder(path, size or 256, log=log)
    elif os.path.exists(path):
        try:
            with np.load(path) as data:
                if "arr_0" not in data or "arr_1" not in data:
                    raise ValueError(f"{path} has no arr_0/arr_1 arrays (keys: {sorted(data.keys())}); make it "
                                     "with `tinygan cyclegan prepare`")
                A, B = data["arr_0"], data["arr_1"]
        except (OSError, EOFError, zipfile.BadZipFile) as exc:
            raise ValueError(f"{path} is not a readable npz ({exc})") from exc
    else:
        raise ValueError(f"no such file or folder: {path}")
    A, B = check_domains(A, B, path)
    return [scale_images(A), scale_images(B)]
