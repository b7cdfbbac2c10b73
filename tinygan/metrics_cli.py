"""``tinygan metrics is|fid|kid``: the book's evaluation measures (chapters 12-13) on images from anywhere.

PATH is an image folder (PNG/JPEG/BMP, all one size), an ``.npz`` (its image array; a 2-D array is taken as
ready-made features or probabilities), a generator file or a tinygan run folder (its latest generator is sampled),
or a dataset: ``cifar10``, ``mnist``, ``fashion_mnist`` (Keras's, ``:train`` default, or ``:test``), ``mnist5k`` (the
5,000 digits embedded in tinygan, offline; ``:train`` 4,000, ``:test`` 1,000, none: all).
"""
import argparse
import glob
import json
import os
import re
import sys

import numpy

from .errors import UserInputError

EPILOG = """\
--features:
  auto       Inception v3 if Keras's ImageNet weights file is in ~/.keras/models, else the digit classifier (default)
  inception  Inception v3 (pool3 features for FID/KID, the 1,000 probabilities for IS); downloads the weights
             into ~/.keras/models when they are missing and the network is reachable
  digits     tinygan's digit classifier, trained on the embedded MNIST digits (offline; comparable only with
             other digit-classifier numbers)
  MODEL.h5   any saved Keras model: its output are the features (a softmax output for IS)

examples:
  tinygan metrics is cifar10:test                      # the book's Listing 12.22 on the 10,000 test images
  tinygan metrics fid runs/dcgan_mnist mnist5k:test    # a DCGAN run's 1,000 samples vs 1,000 real digits
  tinygan metrics kid runs/a runs/b --features digits --subsets 50 --subset-size 500
  tinygan metrics fid runs/dcgan_mnist mnist5k:test --each   # every checkpoint -> runs/dcgan_mnist/metrics_fid.csv
"""

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
DATASETS = ("cifar10", "mnist", "fashion_mnist", "mnist5k")


class InputError(UserInputError):
    """A PATH that cannot be read as images."""


def register(subparsers):
    p = subparsers.add_parser("metrics", help="Inception Score, FID and KID of images, .npz files or GAN runs",
                              description=__doc__.split("\n\n")[0] + "\n\n" + __doc__.split("\n\n")[1],
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="metric", metavar="{is,fid,kid}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--features", default="auto", help="auto (default), inception, digits or MODEL.h5")
    common.add_argument("--n", type=int, default=None,
                        help="images to use from each PATH (default: all; 1000 sampled from a generator)")
    common.add_argument("--batch-size", type=int, default=50, help="images per forward pass (default 50)")
    common.add_argument("--image-size", type=int, default=299,
                        help="Inception input side (default 299, the book's; at least 75)")
    common.add_argument("--classifier", default=None,
                        help="digit classifier file: loaded if it exists, else trained and saved there")
    common.add_argument("--seed", type=int, default=1,
                        help="seed for generator sampling, the IS shuffle and KID subsets (default 1)")
    common.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    common.add_argument("--no-progress", action="store_true", help="no progress bar")
    common.add_argument("--each", action="store_true",
                        help="score every generator checkpoint of the run folder PATH(_A) and write "
                             "RUN/metrics_<metric>.csv (the metric over training)")
    ip = sub.add_parser("is", parents=[common], help="Inception Score (Listing 12.14: splits, mean and std)")
    ip.add_argument("path", help="images (see tinygan metrics -h)")
    ip.add_argument("--splits", type=int, default=10, help="n_split (default 10)")
    fp = sub.add_parser("fid", parents=[common], help="Frechet distance of two sets' features (Listing 13.1)")
    fp.add_argument("path_a")
    fp.add_argument("path_b")
    fp.add_argument("--method", choices=("eig", "sqrtm"), default="eig",
                    help="eig (default, seconds) or sqrtm (the book's scipy sqrtm, minutes on 2,048 features)")
    kp = sub.add_parser("kid", parents=[common], help="Kernel Inception Distance (unbiased MMD^2, cubic kernel)")
    kp.add_argument("path_a")
    kp.add_argument("path_b")
    kp.add_argument("--subsets", type=int, default=100, help="random subsets (default 100)")
    kp.add_argument("--subset-size", type=int, default=1000, help="samples per subset (default 1000)")
    for q in (ip, fp, kp):
        q.set_defaults(func=run)
    p.set_defaults(func=lambda args: p.print_help() or 2)
    return p


def run(args):
    from .keras.applications.inception_v3 import WeightsUnavailableError
    from .keras.datasets._download import DatasetUnavailableError

    try:
        result = _compute(args)
    # bad input (MetricError, InputError, unreadable model files), missing weights or data; engine errors keep their
    # traceback
    except (UserInputError, WeightsUnavailableError, DatasetUnavailableError, OSError) as exc:
        print(f"tinygan metrics {args.metric}: {exc}", file=sys.stderr)
        return 2
    print(result["line"])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


def _compute(args):
    paths = [args.path] if args.metric == "is" else [args.path_a, args.path_b]
    features = _FeatureMaker(args)
    if args.each:
        return _compute_each(args, paths, features)
    sources = [load_source(p, args.n, args.seed) for p in paths]
    outputs = [features.of(label if len(paths) > 1 else "images", data, description)
               for label, (data, description) in zip("AB", sources)]
    return _score(args, outputs, features.used, paths)


class _FeatureMaker:
    """Features (or probabilities) of each source, with one extractor built on first need."""

    def __init__(self, args):
        self.args, self.kind = args, "probs" if args.metric == "is" else "features"
        self.extractor, self.notes = None, set()

    @property
    def used(self):
        return self.extractor.label if self.extractor else "features given in the .npz"

    def of(self, label, data, description):
        args = self.args
        print(f"{label}: {description}")
        if data.ndim == 2:
            return data.astype(numpy.float64)
        from .metrics.features import make_extractor
        self.extractor = self.extractor or make_extractor(args.features, self.kind, args.image_size, args.classifier)
        note = self.extractor.channel_note(data)
        if note and note not in self.notes:
            print(note)
            self.notes.add(note)
        return self.extractor(data, batch_size=args.batch_size, progress=not args.no_progress,
                              desc=f"{label} {self.extractor.label}")


def _compute_each(args, paths, features):
    """``--each``: the metric of every generator file of the run folder PATH(_A), in checkpoint order, also
    written to ``RUN/metrics_<metric>.csv`` (the metric over training, from the checkpoints --eval-every saved)."""
    run_dir = paths[0]
    files = generator_files(run_dir) if os.path.isdir(run_dir) else []
    if not files:
        raise InputError(f"--each: {run_dir} is not a run folder with generator_model_*.h5 / model_*.h5 files")
    reference = None
    if len(paths) > 1:
        data, description = load_source(paths[1], args.n, args.seed)
        reference = features.of("B", data, description)
    rows = []
    for path in files:
        data, description = _sample_generator(path, args.n or 1000, args.seed)
        outputs = [features.of("A", data, description)] + ([reference] if reference is not None else [])
        result = _score(args, outputs, features.used, [path] + paths[1:])
        print(f"{os.path.basename(path)}: {result['line']}")
        rows.append((os.path.basename(path), result["score"], result.get("std", "")))
    csv_path = os.path.join(run_dir, f"metrics_{args.metric}.csv")
    with open(csv_path, "w") as f:
        f.write(f"generator,{args.metric},std\n" + "".join(f"{name},{v!r},{sd!r}\n" for name, v, sd in rows))
    last = rows[-1]
    return {"metric": args.metric, "features": features.used, "paths": paths, "each": rows,
            "line": f"wrote {csv_path} ({len(rows)} generators; last {last[0]}: {args.metric.upper()} {last[1]:.4f})"}


def _score(args, outputs, used, paths):
    from . import metrics

    result = {"metric": args.metric, "features": used, "paths": paths, "n": [len(o) for o in outputs]}
    if args.metric == "is":
        # shuffled before splitting, as Listing 12.22 shuffles CIFAR-10: a class-ordered set would give IS ~ 1
        probs = _as_probabilities(outputs[0], used)[numpy.random.default_rng(args.seed).permutation(len(outputs[0]))]
        mean, std = metrics.inception_score(probs, args.splits)
        n_part = len(probs) // args.splits
        result.update(score=mean, std=std, line=f"IS {mean:.4f} +- {std:.4f}  ({args.splits} splits of {n_part} "
                                                 f"shuffled images; {used})")
    elif args.metric == "fid":
        fid = metrics.frechet_distance(outputs[0], outputs[1], method=args.method)
        result.update(score=fid, line=f"FID {fid:.3f}  ({len(outputs[0])} vs {len(outputs[1])} images; {used})")
    else:
        mean, std = metrics.kernel_inception_distance(outputs[0], outputs[1], args.subsets, args.subset_size,
                                                      seed=args.seed)
        size = min(args.subset_size, len(outputs[0]), len(outputs[1]))
        result.update(score=mean, std=std, line=f"KID {mean:.5f} +- {std:.5f}  ({args.subsets} subsets of {size}; "
                                                f"{len(outputs[0])} vs {len(outputs[1])} images; {used})")
    return result


def _as_probabilities(p, used):
    from .metrics import MetricError

    sums = p.sum(axis=1)
    if p.min() < 0 or not numpy.allclose(sums, 1.0, atol=1e-3):
        raise MetricError(f"the Inception Score needs class probabilities, but the rows of {used} sum to "
                          f"{sums.min():.4g}..{sums.max():.4g} (minimum value {p.min():.4g}); use a model with a "
                          "softmax output")
    return p


# ---------------------------------------------------------------------------------------------------- sources

def load_source(path, n=None, seed=1):
    """(array, description): images (N, H, W[, C]) or a 2-D array of ready-made features."""
    name, _, split = path.partition(":")
    if name in DATASETS and not os.path.exists(path):
        data, description = _dataset(name, split or ("all" if name == "mnist5k" else "train"))
    elif not os.path.exists(path):
        raise InputError(f"{path}: no such file or folder (give an image folder, an .npz, a generator .h5, a run "
                         f"folder or one of {', '.join(DATASETS)})")
    elif os.path.isdir(path):
        generator = _generator_in(path)
        if generator:
            return _sample_generator(generator, n or 1000, seed)
        data, description = _image_folder(path)
    elif path.endswith(".npz"):
        data, description = _npz(path)
    elif path.endswith(".h5"):
        return _sample_generator(path, n or 1000, seed)
    else:
        raise InputError(f"{path}: not an image folder, .npz, generator .h5 or run folder")
    if n is not None:
        data = data[:n]
        description += f", the first {len(data)}"
    return data, description


def _dataset(name, split):
    import importlib

    if split not in ("train", "test", "all"):
        raise InputError(f"{name}:{split}: the split is 'train' or 'test'")
    if name == "mnist5k":
        from .gans.dcgan_mnist import load_mnist_5k, split_mnist_5k
        (x_train, _), (x_test, _) = split_mnist_5k()
        data = {"train": x_train, "test": x_test, "all": load_mnist_5k()[0]}[split]
        return data, f"{name} {split}, {len(data)} embedded digits {_shape(data)}"
    if split == "all":
        raise InputError(f"{name}: give {name}:train or {name}:test")
    (x_train, _), (x_test, _) = importlib.import_module(f"tinygan.keras.datasets.{name}").load_data()
    data = x_train if split == "train" else x_test
    return data, f"{name} {split} set, {len(data)} images {_shape(data)}"


def _shape(data):
    return "x".join(str(d) for d in data.shape[1:])


def generator_files(folder):
    """The generator checkpoints of a run folder (``generator_model_NNN.h5``, ``model_NNN.h5``), by number."""
    files = [f for p in ("generator_model_*.h5", "model_*.h5") for f in glob.glob(os.path.join(folder, p))]

    def key(f):
        m = re.search(r"(\d+)\.h5$", f)
        return (int(m.group(1)) if m else -1, os.path.getmtime(f))
    return sorted(files, key=key)


def _generator_in(folder):
    files = generator_files(folder)
    return files[-1] if files else None


def _sample_generator(path, n, seed):
    """``n`` images from the generator at ``path`` for standard-normal latent points (seeded)."""
    from .keras.models import load_model

    model = load_model(path, compile=False)
    shape = model.input_shape
    if not isinstance(shape, tuple) or len(shape) != 2:
        raise InputError(f"{path}: the model takes {shape}; only generators with one latent-vector input can be "
                         "sampled (save conditional or image-to-image outputs to an .npz instead)")
    z = numpy.random.default_rng(seed).standard_normal((n, shape[1])).astype("float32")
    images = model.predict(z, batch_size=250)
    return images, f"{n} images {_shape(images)} from {path} (latent {shape[1]}, seed {seed})"


def _image_folder(folder):
    from PIL import Image

    files = sorted(f for f in os.listdir(folder) if f.lower().endswith(IMAGE_SUFFIXES))
    if not files:
        raise InputError(f"{folder}: no {'/'.join(s[1:].upper() for s in IMAGE_SUFFIXES)} images and no generator "
                         "files in this folder")
    images, first = [], None
    for f in files:
        try:
            with Image.open(os.path.join(folder, f)) as im:
                a = numpy.asarray(im.convert("L" if im.mode in ("L", "1", "I;16", "I") else "RGB"))
        except OSError as exc:
            raise InputError(f"{os.path.join(folder, f)}: cannot be read as an image ({exc})") from None
        if first is None:
            first = (f, a.shape)
        elif a.shape != first[1]:
            raise InputError(f"{folder}: images differ in size: {first[0]} is {first[1]}, {f} is {a.shape}; resize "
                             "them to one size first")
        images.append(a)
    data = numpy.stack(images)
    return data, f"{len(data)} images {_shape(data)} from {folder}"


def _npz(path):
    try:
        f = numpy.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable .npz ({exc})") from None
    with f:
        keys = list(f.keys())
        key = next((k for k in ("images", "x", "X", "arr_0", "features") if k in keys), keys[0] if len(keys) == 1 else None)
        if key is None:
            raise InputError(f"{path}: holds {', '.join(keys)}; name the image array 'images' or 'arr_0'")
        data = f[key]
    if data.ndim == 2:
        return data, f"{path}[{key}]: {data.shape[0]} ready-made feature vectors of {data.shape[1]}"
    return data, f"{len(data)} images {_shape(data)} from {path}[{key}]"
