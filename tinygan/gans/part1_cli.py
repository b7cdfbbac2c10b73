"""``tinygan gan1d|dcgan|sample|latent|faces``: the book's Part I-II GANs (chapters 5-10) from the command line.

* ``gan1d train``: chapter 6, a 1D GAN learning y = x**2 (10,000 iterations by default, under a minute on CPU).
* ``dcgan train``: chapter 7 (MNIST; the 5,000 embedded digits by default, so it works offline), chapter 8
  (CIFAR-10) or chapter 9 (80x80 faces from ``faces prepare``); ``dcgan score``: the digit-classifier quality
  check; ``dcgan failures``: chapter 10's stable / mode-collapse / convergence-failure runs.
* ``sample``: images from a saved generator (``generator_model_NNN.h5``, or a run folder).
* ``latent interpolate|arithmetic``: chapter 9's latent-space walks and vector arithmetic.
* ``faces prepare``: a folder of photos (CelebA layout) -> the book's ``img_align_celeba.npz``.
"""
import argparse
import glob
import json
import os
import re

from tinygan.training.guards import (InputError, fraction, int_at_least, non_negative_int, one_line_errors,
                                     positive_float, positive_int)

from ..errors import UserInputError
from . import eval_options

FMT = argparse.RawDescriptionHelpFormatter

EPILOG_GAN1D = """\
Written to the run folder (default runs/gan1d): generated_plot_eNNNN.png (real points red, generated blue, every
--eval-every iterations), history.csv (d1 d2 g a1 a2 per iteration), plot_line_plot_loss.png, checkpoint.npz
(--resume continues exactly) and metrics.json (mean |y - x^2| of 1,000 generated points and their x range).

examples:
  tinygan gan1d train                      # the book's 10,000 iterations
  tinygan gan1d train --iterations 2000 --eval-every 500 --out runs/quick
  tinygan gan1d train --out runs/quick --iterations 4000 --resume
"""

EPILOG_DCGAN = """\
--dataset:
  mnist5k   the 5,000 real MNIST digits embedded in tinygan (default; offline; chapter 7 model)
  mnist     the full 60,000 through tinygan.keras.datasets (downloaded once or placed in ~/.keras/datasets;
            falls back to mnist5k when unavailable)
  cifar10   CIFAR-10 through tinygan.keras.datasets (chapter 8 model)
  PATH      an npz (key arr_0, uint8 images, e.g. img_align_celeba.npz from `tinygan faces prepare`: chapter 9
            model for 80x80x3, chapter 8 for 32x32x3, chapter 7 for 28x28)

Written to the run folder (default runs/dcgan_<model>): the book's generated_plot_eNNN.png and
generator_model_NNN.h5 every --eval-every epochs (and when a budget ends the run), history.csv,
plot_line_plot_loss.png, checkpoint.npz (--resume continues exactly), run.json.

examples:
  tinygan dcgan train                                  # chapter 7 on the embedded digits, 100 epochs
  tinygan dcgan train --max-seconds 600 --eval-every 5 # a 10-minute budget
  tinygan dcgan train --dataset cifar10 --device cuda
  tinygan dcgan train --dataset img_align_celeba.npz --epochs 30
  tinygan dcgan train --out runs/dcgan_mnist --resume --epochs 200
"""

EPILOG_SAMPLE = """\
MODEL is a generator_model_NNN.h5 (or model_NNN.h5) file or a run folder (its latest one). Conditional
generators (cgan, acgan) draw --class K, or one class per grid column; InfoGAN generators use --code C.

examples:
  tinygan sample runs/dcgan_mnist                        # 5x5 grid -> samples.png
  tinygan sample runs/dcgan_mnist/generator_model_100.h5 --n 100 --grid 10 -o digits.png
  tinygan sample runs/dcgan_mnist --constant 0.0         # the book's all-zeros latent vector (chapter 7)
  tinygan sample runs/dcgan_cifar10 --constant 0.75      # the book's all-0.75 vector (chapter 8)
  tinygan sample runs/acgan --class 7 --n 100             # 100 sevens from an AC-GAN (chapter 19)
  tinygan sample runs/infogan --code 1                    # one categorical code value (chapter 18)
"""

EPILOG_LATENT = """\
examples:
  tinygan latent interpolate runs/dcgan_faces --slerp -o slerp.png          # 10 pairs x 10 steps
  tinygan latent arithmetic runs/dcgan_faces                                # writes latent_points.npz and
                                                                            # generated_faces.png first
  tinygan latent arithmetic runs/dcgan_faces --points latent_points.npz --a 92,98,99 --b 9,21,79 --c 10,30,45
"""

EPILOG_FACES = """\
The book finds faces with MTCNN (needs TensorFlow). Without it, give the boxes in a file (--boxes: CelebA's
list_bbox_celeba.txt layout 'image_id x_1 y_1 width height', a CSV 'filename,x,y,width,height', or JSON
{filename: [x, y, w, h]}); photos the file lacks, or all photos with no --boxes, get the centre crop: a square of
0.607 x width (108 px for 178) centred at (0.5 x width, 0.555 x height), which frames the face in CelebA's
aligned 178x218 photos.

examples:
  tinygan faces prepare img_align_celeba/                     # 50,000 faces -> img_align_celeba.npz
  tinygan faces prepare photos/ --boxes boxes.csv --n 1000 -o faces.npz --plot check.png
"""


def _agg():
    import matplotlib
    matplotlib.use("Agg")


def _seed(seed):
    from tinygan import random as tg_random
    tg_random.seed(seed)


def _run_dir(args, default):
    """The checked run folder (:func:`tinygan.training.rundir.open_run_dir`): ``--out``, or ``default`` (a fresh
    ``default_N`` when it already holds a run and we do not resume; the latest run with --resume)."""
    from tinygan.training.rundir import open_run_dir
    return open_run_dir(_default_run_dir(args.out, default, args.resume), resume=args.resume,
                        overwrite=args.overwrite)


def _default_run_dir(out, default, resume):
    if out:
        return out
    if resume or not os.path.exists(os.path.join(default, "checkpoint.npz")):
        if resume:
            runs = sorted(glob.glob(default + "*"), key=os.path.getmtime)
            runs = [r for r in runs if os.path.exists(os.path.join(r, "checkpoint.npz"))]
            return runs[-1] if runs else default
        return default
    n = 2
    while os.path.exists(f"{default}_{n}"):
        n += 1
    return f"{default}_{n}"


def _add_schedule(p, book_epochs):
    g = p.add_argument_group("budget and output")
    g.add_argument("--max-steps", type=positive_int, default=None, help="stop after this many steps (batches) in "
                   "total")
    g.add_argument("--max-seconds", type=positive_float, default=None, help="stop after this much wall-clock time "
                   "(summaries included); a checkpoint is saved so --resume continues")
    g.add_argument("--out", default=None, help="run folder")
    g.add_argument("--resume", action="store_true", help="continue from the run folder's checkpoint.npz (with no "
                   "--out: the latest run of this kind)")
    g.add_argument("--overwrite", action="store_true", help="start afresh in --out even if it holds a run (that "
                   "run's checkpoint, models, figures and logs are deleted first)")
    g.add_argument("--continue-on-nan", action="store_true", help="go on when a loss becomes NaN or infinite "
                   "(default: stop at that step, keeping the last checkpoint)")
    g.add_argument("--checkpoint-every", type=positive_int, default=None, help="steps between extra checkpoints "
                   "(one is always written at the end, on a budget stop and on Ctrl-C)")
    g.add_argument("--seed", type=non_negative_int, default=1, help="random seed (default 1)")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g.add_argument("--quiet", action="store_true", help="no per-step log lines")
    return g


def register(subparsers):
    # ---- gan1d ----
    p = subparsers.add_parser("gan1d", help="chapter 6: a 1D GAN learning y = x^2",
                              description="Chapter 6: a 1D GAN learning the function y = x^2 on [-0.5, 0.5].")
    sub = p.add_subparsers(dest="gan1d_command", metavar="{train}")
    p.set_defaults(func=lambda args, p=p: (p.print_help(), 2)[1])
    tp = sub.add_parser("train", help="train the 1D GAN (the book: 10,000 iterations)", formatter_class=FMT,
                        epilog=EPILOG_GAN1D, description="Train the book's 1D GAN: per iteration, one discriminator "
                        "update on 64 real points (x, x^2) and one on 64 generated points, then one generator update "
                        "through the composite model on 128 latent points. Every --eval-every iterations it prints "
                        "'iteration acc_real acc_fake' and saves a scatter plot.")
    tp.add_argument("--iterations", type=positive_int, default=10000, help="training iterations (default 10000)")
    tp.add_argument("--batch-size", type=int_at_least(2), default=128, help="batch size (default 128: 64 real + "
                    "64 fake)")
    tp.add_argument("--eval-every", type=positive_int, default=2000, help="iterations between evaluations "
                    "(default 2000)")
    tp.add_argument("--latent-dim", type=positive_int, default=5, help="latent dimensions (default 5)")
    _add_schedule(tp, 10000)
    tp.set_defaults(func=cmd_gan1d_train)

    # ---- dcgan ----
    p = subparsers.add_parser("dcgan", help="chapters 7-10: DCGANs for digits, CIFAR-10 and faces",
                              description="Chapters 7-10: DCGANs for MNIST digits, CIFAR-10 photos and 80x80 faces.")
    sub = p.add_subparsers(dest="dcgan_command", metavar="{train,score,failures}")
    p.set_defaults(func=lambda args, p=p: (p.print_help(), 2)[1])
    tp = sub.add_parser("train", help="train a DCGAN (default: chapter 7 on the embedded MNIST digits)",
                        formatter_class=FMT, epilog=EPILOG_DCGAN,
                        description="Train the book's DCGAN. Chapter 7 (MNIST): one discriminator update on a "
                        "combined batch of real and fake digits, '>epoch, batch/n, d=.., g=..'. Chapters 8/9: "
                        "separate real and fake updates, '>epoch, batch/n, d1=.., d2=.. g=..'. Every --eval-every "
                        "epochs: '>Accuracy real: ..%, fake: ..%', a sample grid and the generator model.")
    tp.add_argument("--dataset", default=None, help="mnist5k (default), mnist, cifar10 or an npz PATH (with "
                    "--resume: the run's own unless given; a moved npz may be given again)")
    tp.add_argument("--model", choices=["auto", "mnist", "cifar10", "faces"], default="auto",
                    help="which chapter's models (default: from the dataset's image shape)")
    tp.add_argument("--epochs", type=positive_int, default=None, help="epochs (default: the book's, 100 for MNIST and "
                    "faces, 200 for CIFAR-10)")
    tp.add_argument("--batch-size", type=int_at_least(2), default=None,
                    help="batch size (default: the book's, 256 for MNIST, "
                    "128 otherwise)")
    tp.add_argument("--latent-dim", type=positive_int, default=100, help="latent dimensions (default 100)")
    tp.add_argument("--eval-every", type=positive_int, default=10, help="epochs between summaries (default 10)")
    tp.add_argument("--eval-samples", type=int_at_least(2), default=None, help="real and generated images per summary "
                    "(default: the book's, 100; 150 for CIFAR-10)")
    tp.add_argument("--log-every", type=non_negative_int, default=1, help="print the book's loss line every N batches "
                    "(default 1, as the book)")
    tp.add_argument("--score", action="store_true", help="MNIST: at the end, score 1,000 generated digits with the "
                    "digit classifier (trains it first: see `dcgan score`)")
    _add_schedule(tp, None)
    eval_options.add_options(tp, summaries=True)
    tp.set_defaults(func=cmd_dcgan_train)

    sp = sub.add_parser("score", help="score a digit generator with a classifier trained on the embedded digits",
                        description="Objective quality of generated digits: a small CNN trained by tinygan on "
                        "4,000 of the embedded MNIST digits (tested on the other 1,000) classifies N generated "
                        "digits; prints the share classified with probability >= THRESHOLD and how many of the 10 "
                        "classes appear among them, next to the same numbers for 1,000 real digits.")
    sp.add_argument("model", help="generator_model_NNN.h5 or a run folder (its latest generator)")
    sp.add_argument("--n", type=positive_int, default=1000, help="generated digits (default 1000)")
    sp.add_argument("--threshold", type=fraction, default=0.9, help="confidence threshold (default 0.9)")
    sp.add_argument("--classifier", default=None, help="classifier file: loaded if it exists, else trained and "
                    "saved there (default: train afresh, not saved)")
    sp.add_argument("--epochs", type=positive_int, default=8, help="classifier training epochs (default 8)")
    sp.add_argument("--seed", type=non_negative_int, default=1, help="random seed (default 1)")
    sp.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    sp.set_defaults(func=cmd_dcgan_score)

    fp = sub.add_parser("failures", help="chapter 10: stable, mode-collapse and convergence-failure runs",
                        formatter_class=FMT, description="Chapter 10's runs on the digit 8 (BatchNorm DCGAN, 10 "
                        "epochs): baseline (stable), collapse (latent_dim 1), convergence (combined real+fake "
                        "discriminator batch), opt (default Adam). Each writes results_<run>/ with a grid and "
                        "model per epoch, history.csv and plot_line_plot_loss.png; the failure detectors print "
                        "'!' lines when they fire.")
    fp.add_argument("--run", choices=["baseline", "collapse", "convergence", "opt", "all"], default="baseline")
    fp.add_argument("--dataset", default="mnist5k", help="mnist5k (default: its 500 eights) or mnist (5,851)")
    fp.add_argument("--epochs", type=positive_int, default=10)
    fp.add_argument("--batch-size", type=int_at_least(2), default=128)
    _add_schedule(fp, 10)
    fp.set_defaults(func=cmd_dcgan_failures)

    # ---- sample ----
    sp = subparsers.add_parser("sample", help="images from a saved generator", formatter_class=FMT,
                               epilog=EPILOG_SAMPLE, description="Generate images with a saved generator from "
                               "random Gaussian latent points (or one constant latent vector) and save them as "
                               "a grid.")
    sp.add_argument("model", help="generator_model_NNN.h5 / model_NNN.h5, or a run folder")
    sp.add_argument("--n", type=positive_int, default=25, help="images (default 25)")
    sp.add_argument("--grid", type=positive_int, default=None, help="grid side (default: sqrt of --n)")
    sp.add_argument("--constant", type=float, default=None, help="one image from the latent vector with every "
                    "entry equal to this value (the book: 0.0 for MNIST, 0.75 for CIFAR-10)")
    sp.add_argument("--class", dest="klass", type=int, default=None, help="conditional generators (cgan, acgan): "
                    "draw this class (default: one class per grid column)")
    sp.add_argument("--code", type=int, default=None, help="InfoGAN generators: this value of the categorical code "
                    "(default: random codes)")
    sp.add_argument("-o", "--output", default="samples.png", help="PNG to write (default samples.png)")
    sp.add_argument("--npz", default=None, help="also save the images (in [0,1]) and latent points to this npz")
    sp.add_argument("--seed", type=non_negative_int, default=None, help="random seed")
    sp.set_defaults(func=cmd_sample)

    # ---- latent ----
    p = subparsers.add_parser("latent", help="chapter 9: latent-space interpolation and vector arithmetic",
                              description="Chapter 9: explore a generator's latent space.")
    sub = p.add_subparsers(dest="latent_command", metavar="{interpolate,arithmetic}")
    p.set_defaults(func=lambda args, p=p: (p.print_help(), 2)[1])
    ip = sub.add_parser("interpolate", help="rows of images along paths between random latent points",
                        formatter_class=FMT, epilog=EPILOG_LATENT, description="Interpolate between random pairs "
                        "of latent points (linear, or spherical with --slerp) and plot one row per pair.")
    ip.add_argument("model", help="generator .h5 or run folder")
    ip.add_argument("--pairs", type=positive_int, default=10, help="pairs of points, one row each (default 10)")
    ip.add_argument("--steps", type=int_at_least(2), default=10, help="images per row, endpoints included (default 10)")
    ip.add_argument("--slerp", action="store_true", help="spherical linear interpolation (Listing 9.32)")
    ip.add_argument("-o", "--output", default="interpolation.png")
    ip.add_argument("--seed", type=non_negative_int, default=None)
    ip.set_defaults(func=cmd_latent_interpolate)
    ap = sub.add_parser("arithmetic", help="average chosen latent points and compute a - b + c",
                        formatter_class=FMT, epilog=EPILOG_LATENT, description="Vector arithmetic in latent space "
                        "(Listings 9.34-9.39). Without an existing --points file, first generates 100 points, saves "
                        "them (latent_points.npz) and their images as a 10x10 grid numbered 1..100 row by row "
                        "(generated_faces.png) so you can choose indices. Then averages the chosen points of "
                        "each group and generates a - b + c.")
    ap.add_argument("model", help="generator .h5 or run folder")
    ap.add_argument("--points", default="latent_points.npz", help="saved latent points (default latent_points.npz)")
    ap.add_argument("--a", default="92,98,99", help="1-based indices of group a (the book: smiling woman)")
    ap.add_argument("--b", default="9,21,79", help="group b (the book: neutral woman)")
    ap.add_argument("--c", default="10,30,45", help="group c (the book: neutral man)")
    ap.add_argument("-o", "--output", default="arithmetic.png", help="the 3 x (k+1) grid of chosen images and "
                    "their averages (default arithmetic.png)")
    ap.add_argument("--result", default="arithmetic_result.png", help="the a - b + c image")
    ap.add_argument("--seed", type=non_negative_int, default=None)
    ap.set_defaults(func=cmd_latent_arithmetic)

    # ---- faces ----
    p = subparsers.add_parser("faces", help="chapter 9: prepare 80x80 faces from a folder of photos",
                              description="Chapter 9: prepare the faces dataset.")
    sub = p.add_subparsers(dest="faces_command", metavar="{prepare}")
    p.set_defaults(func=lambda args, p=p: (p.print_help(), 2)[1])
    pp = sub.add_parser("prepare", help="folder of photos -> img_align_celeba.npz", formatter_class=FMT,
                        epilog=EPILOG_FACES, description="Crop the face out of each photo of FOLDER (sorted by "
                        "name), resize it to SIZE x SIZE and save the faces as a compressed npz (arr_0, uint8).")
    pp.add_argument("folder")
    pp.add_argument("-o", "--output", default="img_align_celeba.npz")
    pp.add_argument("--n", type=positive_int, default=50000, help="faces to keep (default 50000)")
    pp.add_argument("--boxes", default=None, help="face boxes file (see below)")
    pp.add_argument("--detector", choices=["centre", "mtcnn"], default="centre",
                    help="without --boxes: centre crop (default) or MTCNN (needs the mtcnn package)")
    pp.add_argument("--size", type=positive_int, default=80, help="output side (default 80)")
    pp.add_argument("--plot", default=None, help="also save a 5x5 grid of the first faces to this PNG")
    pp.set_defaults(func=cmd_faces_prepare)


# ---------------------------------------------------------------------------------------------------- helpers
def find_generator(path):
    """A generator file from a path: the file itself, or a folder's latest ``generator_model_NNN.h5`` /
    ``model_NNN.h5`` / ``g_model_NNNN.h5`` (SGAN) (the highest number; ``generator_model_final.h5`` style names sort last)."""
    if os.path.isdir(path):
        files = [f for pattern in ("generator_model_*.h5", "model_*.h5", "g_model_*.h5")
                 for f in glob.glob(os.path.join(path, pattern))]
        if not files:
            raise InputError(f"no generator_model_*.h5, model_*.h5 or g_model_*.h5 in {path}")

        def key(f):
            m = re.search(r"(\d+)\.h5$", f)
            return (int(m.group(1)) if m else -1, os.path.getmtime(f))
        return max(files, key=key)
    if not os.path.exists(path):
        raise InputError(f"{path} does not exist")
    return path


def load_generator(path):
    from tinygan.keras.models import load_model
    filename = find_generator(path)
    try:
        model = load_model(filename)  # safe mode: a file never makes tinygan import or run anything
    except (ValueError, OSError) as exc:
        raise UserInputError(str(exc)) from None
    shape = model.input_shape
    shapes = shape if isinstance(shape, list) else [shape]  # a conditional generator: [latent points, labels]
    if not all(isinstance(s, tuple) and len(s) == 2 for s in shapes):
        raise InputError(f"{filename} takes inputs of shape {shape}, not latent vectors: it is not a GAN generator "
                         "from latent points (a Pix2Pix generator? use `tinygan pix2pix translate`)")
    return model, int(shapes[0][-1]), filename


def _display(images):
    import numpy as np
    images = np.asarray(images)
    return (images + 1) / 2.0 if images.min() < 0 else images


def _write_json(path, data):
    with open(path, "w") as f:
        json.dump(data, f, indent=2, default=float)
    return path


# -------------------------------------------------------------------------------------------------- commands
def _stop_code(res):
    """Exit status of a training command: 3 when it stopped at a NaN loss, 130 when Ctrl-C/SIGTERM stopped it
    (as `pix2pix train`), else 0."""
    return {"nan": 3, "interrupt": 130}.get(res.get("stopped"), 0)


def _on_nan(args):
    return "continue" if args.continue_on_nan else "stop"


@one_line_errors("tinygan gan1d train")
def cmd_gan1d_train(args):
    _agg()
    from . import gan1d
    out = _run_dir(args, os.path.join("runs", "gan1d"))
    _seed(args.seed)
    print(f"run folder: {out}")
    d = gan1d.define_discriminator()
    g = gan1d.define_generator(args.latent_dim)
    gan = gan1d.define_gan(g, d)
    res = gan1d.train(g, d, gan, args.latent_dim, n_epochs=args.iterations, n_batch=args.batch_size,
                      n_eval=args.eval_every, out_dir=out, max_steps=args.max_steps, max_seconds=args.max_seconds,
                      resume=True if args.resume else None, checkpoint_every=args.checkpoint_every,
                      progress=not args.no_progress, log=None if args.quiet else print, on_nan=_on_nan(args))
    e = res["error"]
    print("generated points after %d iterations: mean |y - x^2| = %.4f, x in [%.3f, %.3f], %.1f%% inside "
          "[-0.5, 0.5] (%d points)" % (res["step"], e["mean_abs_error"], e["x_min"], e["x_max"],
                                       100 * e["x_in_domain"], e["n"]))
    _write_json(os.path.join(out, "metrics.json"), {"step": res["step"], "seconds": res["seconds"], **e})
    return _stop_code(res)


def _load_dcgan_data(dataset, model):
    """(images ready for training, chosen model kind, description)."""
    if dataset in ("mnist5k", "mnist"):
        from .dcgan_mnist import load_real_samples
        X = load_real_samples(dataset)
        return X, "mnist" if model == "auto" else model, f"MNIST ({len(X)} digits)"
    if dataset == "cifar10":
        from .dcgan_cifar10 import load_real_samples
        X = load_real_samples()
        return X, "cifar10" if model == "auto" else model, f"CIFAR-10 ({len(X)} images)"
    from tinygan.training.guards import as_images, load_npz
    if not os.path.exists(dataset):
        raise InputError(f"--dataset {dataset!r} is neither mnist5k, mnist, cifar10 nor an existing file")
    data = load_npz(dataset)
    if not data:
        raise InputError(f"{dataset} holds no arrays")
    key = "arr_0" if "arr_0" in data else ("x" if "x" in data else sorted(data)[0])
    raw = data[key]
    if raw.ndim == 3:
        raw = raw[..., None]
    if raw.ndim != 4:
        raise InputError(f"{dataset} {key} has shape {raw.shape}; expected images (n, height, width, channels)")
    shape = raw.shape[1:]
    fits = {(28, 28, 1): "mnist", (32, 32, 3): "cifar10", (80, 80, 3): "faces"}
    if model == "auto":
        model = fits.get(tuple(shape))
        if model is None:
            raise InputError(f"images of shape {shape} fit none of the book's models (28x28x1, 32x32x3, "
                             "80x80x3); resize them or pass --model")
    elif fits.get(tuple(shape), model) != model:
        raise InputError(f"--model {model} does not take images of shape {shape}")
    # chapter 7's generator ends in a sigmoid ([0, 1]); chapters 8-9 in tanh ([-1, 1])
    X = as_images(raw, f"{dataset} {key}", target="[0, 1]" if model == "mnist" else "[-1, 1]")
    return X, model, f"{dataset} ({len(X)} images of {shape})"


NAMED_DATASETS = ("mnist5k", "mnist", "cifar10")


@one_line_errors("tinygan dcgan train")
def cmd_dcgan_train(args):
    _agg()
    settings_keys = ("dataset", "model", "latent_dim", "batch_size")
    defaults = {"mnist": (100, 256), "cifar10": (200, 128), "faces": (100, 128)}
    given_dataset = args.dataset
    args.dataset = args.dataset or "mnist5k"
    if args.dataset not in NAMED_DATASETS:  # stored absolute, so --resume works from another folder
        args.dataset = os.path.abspath(args.dataset)
    kind_guess = {"mnist5k": "mnist", "mnist": "mnist", "cifar10": "cifar10"}.get(args.dataset, "faces")
    from tinygan import distributed
    from tinygan.distributed import runs
    default = os.path.join("runs", "dcgan_" + (args.model if args.model != "auto" else kind_guess))
    out = runs.agree(_run_dir(args, default))  # under mpiexec: rank 0's choice
    saved = {}
    run_json = os.path.join(out, "run.json")
    if args.resume and os.path.exists(run_json):
        with open(run_json) as f:
            saved = json.load(f)
        for k in settings_keys:
            if k in saved and not (k == "dataset" and given_dataset):
                setattr(args, k, saved[k])
    _seed(args.seed)
    X, kind, what = _load_dcgan_data(args.dataset, args.model)
    if saved.get("image_shape") and list(saved["image_shape"]) != list(X.shape[1:]):
        raise InputError(f"{args.dataset} holds images of {X.shape[1:]}, but the run in {out} was trained on "
                         f"{tuple(saved['image_shape'])}; give the run's data with --dataset")
    module = _module(kind)
    epochs = args.epochs or defaults[kind][0]
    batch = args.batch_size or defaults[kind][1]
    ckpt = os.path.join(out, "checkpoint.npz")
    resume = ckpt if args.resume and os.path.exists(ckpt) else None
    out, X = runs.run_folder(out), distributed.shard(X)  # under mpiexec: ranks > 0 write to a temporary folder
    print(f"run folder: {out}\ndata: {what}; model: chapter {dict(mnist=7, cifar10=8, faces=9)[kind]} ({kind}); "
          f"{epochs} epochs of {int(len(X) / batch)} batches of {batch}")
    if distributed.describe(batch):
        print(distributed.describe(batch))
    os.makedirs(out, exist_ok=True)
    _write_json(os.path.join(out, "run.json"), {"dataset": args.dataset, "model": kind, "latent_dim": args.latent_dim,
                                                "batch_size": batch, "epochs": epochs, "seed": args.seed,
                                                "image_shape": list(X.shape[1:])})
    d = module.define_discriminator(in_shape=X.shape[1:])
    g = module.define_generator(args.latent_dim)
    gan = module.define_gan(g, d)
    evaluation = None
    if args.features:  # FID/KID at the book's summaries, on as many images as they use
        value_range = "0-1" if kind == "mnist" else "-1-1"  # chapter 7's generator ends in a sigmoid
        real = eval_options.real_images(args.dataset, X, value_range)
        if args.dataset == "mnist5k":
            print("note: the reference is mnist5k's 1,000 test digits, which dcgan also trains on (all 5,000)")
        evaluation = eval_options.make_evaluation(
            [eval_options.latent_target(g, out, real)], out, args.features, args.eval_every * int(len(X) / batch),
            args.eval_samples or (150 if kind == "cifar10" else 100), value_range)
    res = module.train(g, d, gan, X, args.latent_dim, n_epochs=epochs, n_batch=batch, eval_every=args.eval_every,
                       out_dir=out, max_steps=args.max_steps, max_seconds=args.max_seconds,
                       resume=resume, checkpoint_every=args.checkpoint_every,
                       progress=runs.shows_progress(not args.no_progress), log=None if args.quiet else print,
                       log_every=0 if args.quiet else args.log_every, on_nan=_on_nan(args), evaluation=evaluation,
                       **({"eval_samples": args.eval_samples} if args.eval_samples else {}))
    metrics = {"step": res["step"], "n_steps": res["n_steps"], "seconds": res["seconds"],
               "steps_per_s": res["steps_per_s"], "stopped": res["stopped"],
               "findings": [str(f) for f in res["findings"]], **(evaluation.latest if evaluation else {})}
    if args.score and kind == "mnist":
        from . import quality
        clf, acc = quality.train_classifier()
        gen = quality.score_generator(g, args.latent_dim, clf, n=1000)
        real = quality.score_real_digits(clf)
        print(quality.format_score("generated", gen))
        print(quality.format_score("real", real))
        metrics.update(classifier_test_accuracy=acc, generated=gen, real=real)
    _write_json(os.path.join(out, "metrics.json"), metrics)
    return _stop_code(res)


def _module(kind):
    from . import dcgan_cifar10, dcgan_mnist, faces
    return {"mnist": dcgan_mnist, "cifar10": dcgan_cifar10, "faces": faces}[kind]


@one_line_errors("tinygan dcgan score")
def cmd_dcgan_score(args):
    from . import quality
    _seed(args.seed)
    g, latent_dim, filename = load_generator(args.model)
    print(f"generator: {filename} (latent_dim {latent_dim})")
    try:
        clf, acc = quality.get_classifier(args.classifier, epochs=args.epochs)
    except (ValueError, OSError) as exc:  # a classifier file that cannot be read (or is refused in safe mode)
        raise UserInputError(str(exc)) from None
    gen = quality.score_generator(g, latent_dim, clf, n=args.n, threshold=args.threshold)
    real = quality.score_real_digits(clf, threshold=args.threshold)
    print(quality.format_score("generated", gen))
    print(quality.format_score("real     ", real))
    if args.json:
        _write_json(args.json, {"generator": filename, "classifier_test_accuracy": acc, "generated": gen,
                                "real": real})
    return 0


@one_line_errors("tinygan dcgan failures")
def cmd_dcgan_failures(args):
    _agg()
    from . import dcgan_mnist
    from tinygan.training.diagnostics import summarize
    runs = ["baseline", "collapse", "convergence", "opt"] if args.run == "all" else [args.run]
    out = args.out or os.path.join("runs", "failures")
    data = dcgan_mnist.load_digit_samples(8, args.dataset)
    for name in runs:
        _seed(args.seed)
        print(f"== {name}: {out}/{dcgan_mnist.RUNS_CH10[name]['folder']}")
        res = dcgan_mnist.train_ch10(name, n_epochs=args.epochs, n_batch=args.batch_size, dataset=data,
                                     out_dir=out, max_steps=args.max_steps, max_seconds=args.max_seconds,
                                     resume=True if args.resume else None, progress=not args.no_progress,
                                     log=None if args.quiet else print, on_nan=_on_nan(args))
        s = summarize(res["history"])
        print(f"== {name}: verdict over the last 100 steps: {s['verdict']}; means " +
              ", ".join(f"{k}={v:.3f}" for k, v in s.items() if k != "verdict"))
        for f in res["findings"]:
            print(f"   detected: {f}")
    return 0


@one_line_errors("tinygan sample")
def cmd_sample(args):
    _agg()
    import numpy as np

    from .latent import plot_grid
    from .part3_cli import generator_inputs
    if args.seed is not None:
        _seed(args.seed)
    g, latent_dim, filename = load_generator(args.model)
    z = generator_inputs(g, latent_dim, filename, args.n, args.constant, args.klass, args.code)  # DataError: 1 line
    X = _display(g.predict(z))
    side = args.grid or max(1, int(np.ceil(np.sqrt(len(X)))))
    rows = int(np.ceil(len(X) / side))
    plot_grid(X, rows, side, filename=args.output, cmap="gray_r" if X.shape[-1] == 1 else None)
    if args.npz:
        np.savez_compressed(args.npz, images=X, latent_points=z[0] if isinstance(z, list) else z,
                            **({"labels": z[1]} if isinstance(z, list) else {}))
    print(f"{len(X)} image(s) from {filename} -> {args.output}")
    return 0


@one_line_errors("tinygan latent interpolate")
def cmd_latent_interpolate(args):
    _agg()
    from .latent import interpolation_grid
    if args.seed is not None:
        _seed(args.seed)
    g, latent_dim, filename = load_generator(args.model)
    interpolation_grid(g, latent_dim, n_pairs=args.pairs, n_steps=args.steps,
                       method="slerp" if args.slerp else "linear", filename=args.output)
    print(f"{args.pairs} x {args.steps} {'slerp' if args.slerp else 'linear'} interpolation from {filename} -> "
          f"{args.output}")
    return 0


@one_line_errors("tinygan latent arithmetic")
def cmd_latent_arithmetic(args):
    _agg()
    from .hacks import generate_latent_points
    from .latent import arithmetic_grid, load_latent_points, parse_indices, plot_grid, save_latent_points
    if args.seed is not None:
        _seed(args.seed)
    g, latent_dim, filename = load_generator(args.model)
    if not os.path.exists(args.points):
        points = generate_latent_points(latent_dim, 100)
        save_latent_points(args.points, points)
        faces_png = os.path.join(os.path.dirname(os.path.abspath(args.points)), "generated_faces.png")
        X = _display(g.predict(points.astype("float32")))
        plot_grid(X, 10, 10, filename=faces_png, cmap="gray_r" if X.shape[-1] == 1 else None)
        print(f"saved 100 latent points to {args.points} and their images to {faces_png} (numbered 1..100 row by "
              "row); pick indices for --a --b --c. Using the book's indices now.")
    points = load_latent_points(args.points)
    a, b, c = parse_indices(args.a), parse_indices(args.b), parse_indices(args.c)
    arithmetic_grid(g, points, a, b, c, filename=args.output, result_filename=args.result)
    print(f"groups a={a} b={b} c={c}: grid -> {args.output}, a - b + c -> {args.result}")
    return 0


@one_line_errors("tinygan faces prepare")
def cmd_faces_prepare(args):
    _agg()
    from .faces import plot_faces, prepare_faces
    try:
        faces = prepare_faces(args.folder, out=args.output, n_faces=args.n, detector=args.detector, boxes=args.boxes,
                              required_size=(args.size, args.size))
    except RuntimeError as exc:  # no face found, or the MTCNN detector missing
        raise InputError(str(exc)) from None
    if args.plot:
        plot_faces(faces, min(5, int(len(faces) ** 0.5)) or 1, filename=args.plot)
    print(f"{len(faces)} faces of {faces.shape[1:]} -> {args.output}")
    return 0
