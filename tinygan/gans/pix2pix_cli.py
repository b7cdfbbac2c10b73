"""``tinygan pix2pix prepare|train|translate``: the chapter 23 workflow from the command line.

* ``prepare FOLDER``: side-by-side images (the maps layout: 1200x600 JPEGs, satellite left, map right) -> the
  book's compressed npz (``arr_0`` = source, ``arr_1`` = target).
* ``train``: the book's training loop on an npz (or a folder, prepared on the fly), or, with no data given, on
  the embedded photo -> line-drawing demo dataset; progress bar, CSV/PNG loss log, sample plots, checkpoints.
* ``translate MODEL INPUT``: a saved generator translates an image, a folder of images or an npz of pairs.
"""
import argparse
import glob
import os
import re
import time

from ..errors import UserInputError
from . import eval_options
from tinygan.training.run_folder import begin, command_group, exit_code, finish, print_loaded, read_metrics, run_command
from tinygan.training.guards import (InputError, fraction, non_negative_float, non_negative_int, positive_float,
                                     positive_int)

# defaults of `train` when no --data is given (the embedded demo, sized for a few minutes on 2 CPU cores)
DEMO = {"epochs": 15, "save_every": 3.0, "ngf": 32, "ndf": 32, "log_every": 200, "checkpoint_every": 1000}
# defaults with --data: the book's run
BOOK = {"epochs": 100, "save_every": 10.0, "ngf": 64, "ndf": 64, "log_every": 1, "checkpoint_every": 1000}
DEFAULT_OUT = os.path.join("runs", "pix2pix")
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")

EPILOG_PREPARE = """\
examples:
  tinygan pix2pix prepare maps/train/                      # -> maps_256.npz, satellite -> map (the book)
  tinygan pix2pix prepare maps/train/ --direction BtoA -o maps_256_BtoA.npz   # map -> satellite
  tinygan pix2pix prepare maps/val/ --size 128 --plot check.png

Files that are not images, cannot be decoded, or are not side-by-side pairs (width = 2 x height) are reported by
name and skipped. The maps dataset (255 MB) is at http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/maps.tar.gz
"""

EPILOG_TRAIN = """\
With no --data, trains on the embedded demo dataset (64x64 crops of public-domain photographs -> line drawings of
them, tinygan/data/README.md) with demo defaults (--epochs %(d_epochs)s --save-every %(d_save)s --ngf %(d_ngf)s --ndf
%(d_ndf)s): a few minutes on 2 CPU cores. With --data the defaults are the book's (--epochs 100 --save-every 10
--ngf 64 --ndf 64, one log line per step).

Written to the run folder (default runs/pix2pix, or runs/pix2pix_2, ... if that one is taken):
  plot_NNNNNN.png   the book's 3x3 figure: source / generated / target rows (every --save-every epochs and at the end)
  val_plot_NNNNNN.png  the same for the first 6 validation pairs (with validation data)
  model_NNNNNN.h5   the generator at that step (a Keras 2 HDF5 file); use with `translate`
  losses.csv        per step: epoch, d1, d2, g, g_bce, g_l1 (and val_l1 at each summary)
  losses.png        loss curves
  checkpoint.npz    weights, optimizer states, RNG state and step: --resume continues the same loss trajectory
  metrics.json      validation L1 of the trained generator, the untrained one, the identity and the best
                    constant image; steps/s

Ctrl-C finishes the current step, saves a checkpoint and exits (a second Ctrl-C aborts at once).

examples:
  tinygan pix2pix train                                     # the demo
  tinygan pix2pix train --resume                            # continue the latest demo run
  tinygan pix2pix train --data maps_256.npz                 # the book's satellite -> map run (GPU: --device cuda)
  tinygan pix2pix train --data maps_256.npz --direction BtoA --out runs/map2sat
"""

EPILOG_TRANSLATE = """\
MODEL is a model_NNNNNN.h5 file, a checkpoint.npz, or a run folder (its latest model_*.h5).
INPUT is an image file, a folder of images, or an npz of pairs (arr_0 sources, arr_1 targets).

examples:
  tinygan pix2pix translate runs/pix2pix photo.jpg               # -> translated/photo_generated.png
  tinygan pix2pix translate runs/pix2pix/model_001440.h5 photos/ -o out/
  tinygan pix2pix translate runs/pix2pix tinygan/data/pix2pix_photo2edges_64_val.npz -n 8
  tinygan pix2pix translate model.h5 maps/val/ --pairs          # side-by-side inputs: right half is the target
"""


def register(subparsers):
    p, sub = command_group(subparsers, "pix2pix", "Pix2Pix image-to-image translation (book chapters 21-23)",
                           "Pix2Pix image-to-image translation (book chapters 21-23): prepare paired data, train, "
                           "translate.")

    fmt = argparse.RawDescriptionHelpFormatter
    # ---- prepare ----
    pp = sub.add_parser("prepare", help="folder of side-by-side images -> the book's npz", epilog=EPILOG_PREPARE,
                        formatter_class=fmt, description="Load every side-by-side image of FOLDER (source and "
                        "target halves, e.g. the maps dataset's satellite|map JPEGs), resize it to SIZE x 2*SIZE, "
                        "split it into two SIZE x SIZE halves and save them as a compressed npz (arr_0 = source, "
                        "arr_1 = target, uint8 0..255; training scales them to [-1,1]).")
    pp.add_argument("folder", help="folder of side-by-side images (e.g. maps/train/)")
    pp.add_argument("-o", "--output", help="npz to write (default: <dataset>_<size>.npz, e.g. maps_256.npz for "
                    "maps/train/, maps_val_256.npz for maps/val/)")
    pp.add_argument("--size", type=positive_int, default=256, help="side of each half after resizing, in pixels "
                    "(default 256, the book's; the generator needs a power of two)")
    pp.add_argument("--direction", choices=["AtoB", "BtoA"], default="AtoB", help="AtoB: left half is the source "
                    "(satellite -> map, the book); BtoA: right half is the source (map -> satellite). Default AtoB")
    pp.add_argument("--interpolation", choices=["nearest", "bilinear", "bicubic", "lanczos"], default="nearest",
                    help="resize filter (default nearest, as Keras' load_img in the book; lanczos looks better)")
    pp.add_argument("--expect-size", metavar="WxH", help="also skip images that are not exactly this size "
                    "(e.g. 1200x600 for maps); by default any image twice as wide as high is accepted")
    pp.add_argument("--limit", type=positive_int, help="use at most this many images")
    pp.add_argument("--plot", metavar="PNG", help="also save the book's check plot (2x3: sources on top, targets "
                    "below) to this file")
    pp.set_defaults(func=cmd_prepare)

    # ---- train ----
    tp = sub.add_parser("train", help="train Pix2Pix (no arguments: the embedded demo, a few minutes on CPU)",
                        formatter_class=fmt, description="Train Pix2Pix as the book does: per step one update of "
                        "the discriminator on a real pair and one on a generated pair (each weighted 0.5), then one "
                        "update of the generator through the composite model (binary cross-entropy + 100 x L1); "
                        "Adam(0.0002, beta_1=0.5); batches drawn at random with replacement.",
                        epilog=EPILOG_TRAIN % {"d_epochs": DEMO["epochs"], "d_save": "%g" % DEMO["save_every"],
                                               "d_ngf": DEMO["ngf"], "d_ndf": DEMO["ndf"]})
    g = tp.add_argument_group("data")
    g.add_argument("--data", help="training pairs: an npz from `prepare` (arr_0 source, arr_1 target) or a folder "
                   "of side-by-side images (prepared on the fly at --size). Default: the embedded demo dataset")
    g.add_argument("--val-data", help="validation pairs (npz or folder) for the validation L1 at each summary. "
                   "Default: the demo's validation set when --data is not given, else none")
    g.add_argument("--direction", choices=["AtoB", "BtoA"], default=None, help="AtoB (default): arr_0 -> arr_1; "
                   "BtoA: arr_1 -> arr_0 (the book's map -> satellite run)")
    g.add_argument("--size", type=positive_int, default=None, help="image side when --data is a folder (default 256)")
    g = tp.add_argument_group("model and optimizer")
    g.add_argument("--ngf", type=positive_int, default=None,
                   help="generator filters in the first layer; the U-Net doubles "
                   "them up to 8x (64 = the book; default 64 with --data, %d for the demo)" % DEMO["ngf"])
    g.add_argument("--ndf", type=positive_int, default=None, help="discriminator filters in the first layer (64 = the "
                   "book's C64-C128-C256-C512; default 64 with --data, %d for the demo)" % DEMO["ndf"])
    g.add_argument("--lr", type=positive_float, default=None, help="Adam learning rate of both models (default 0.0002)")
    g.add_argument("--beta1", type=fraction, default=None, help="Adam beta_1 (default 0.5)")
    g.add_argument("--l1-weight", type=non_negative_float, default=None,
                   help="weight of the L1 term in the generator loss "
                   "(lambda, default 100)")
    g.add_argument("--freeze", choices=["model", "layers_except_bn"], default=None, help="how the discriminator is "
                   "frozen inside the composite: 'model' (default) is the book's d_model.trainable = False; "
                   "'layers_except_bn' is the 2021 revision's rule (its BatchNorm layers stay trainable)")
    g = tp.add_argument_group("schedule")
    g.add_argument("--epochs", type=positive_int, default=None,
                   help="epochs of len(data)/batch-size steps each (default "
                   "100 with --data, the book's; %d for the demo)" % DEMO["epochs"])
    g.add_argument("--batch-size", type=positive_int, default=None, help="pairs per step (default 1, the book's)")
    g.add_argument("--max-steps", type=positive_int, default=None, help="stop after this many steps in total (default: "
                   "epochs x steps per epoch)")
    g.add_argument("--seed", type=non_negative_int, default=None,
                   help="random seed of weights, dropout and batch choice "
                   "(default 1); if the discriminator loss sits at zero, restart with another seed")
    g = tp.add_argument_group("output")
    g.add_argument("--out", default=None, help="run folder (default runs/pix2pix; a new runs/pix2pix_N if it is "
                   "taken and --resume is not given)")
    g.add_argument("--save-every", type=positive_float, default=None, help="epochs between the book's summaries (plot "
                   "+ generator model + validation L1 + checkpoint; default 10 with --data, %g for the demo)"
                   % DEMO["save_every"])
    g.add_argument("--checkpoint-every", type=non_negative_int, default=None,
                   help="steps between extra checkpoints, besides "
                   "the one at each summary (default %d; 0: only at summaries)" % BOOK["checkpoint_every"])
    g.add_argument("--log-every", type=non_negative_int, default=None,
                   help="print the book's line '>step, d1[..] d2[..] "
                   "g[..]' every N steps (default 1 with --data, as the book; %d for the demo; 0: never)"
                   % DEMO["log_every"])
    g.add_argument("--val-images", type=positive_int, default=64, help="validation pairs used for the validation L1 "
                   "(default 64)")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g.add_argument("--resume", action="store_true", help="continue from the run folder's checkpoint.npz (with "
                   "no --out: the latest runs/pix2pix* run); the saved settings are used, and --epochs, "
                   "--max-steps, --save-every, --checkpoint-every, --log-every may be changed")
    g.add_argument("--overwrite", action="store_true", help="start afresh in --out even if it holds a run (that "
                   "run's checkpoint, models, figures and logs are deleted first)")
    g.add_argument("--continue-on-nan", action="store_true", help="go on when a loss becomes NaN or infinite "
                   "(default: stop at that step, keeping the last checkpoint)")
    eval_options.add_options(tp)
    tp.set_defaults(func=cmd_train)

    # ---- translate ----
    xp = sub.add_parser("translate", help="translate images with a saved generator", formatter_class=fmt,
                        epilog=EPILOG_TRANSLATE, description="Translate an image, a folder of images or an npz of "
                        "pairs with a saved Pix2Pix generator. Writes <name>_generated.png for every input and, when "
                        "a target is known, the book's Source / Generated / Expected figure (<name>_figure.png). "
                        "The generator keeps dropout and batch statistics on at inference (as in the book), so "
                        "two runs differ slightly unless --seed is fixed.")
    xp.add_argument("model", help="model_NNNNNN.h5, checkpoint.npz, or a run folder (uses its latest model)")
    xp.add_argument("input", help="image file, folder of images, or npz of pairs")
    xp.add_argument("-o", "--output", default="translated", help="folder for the results (default ./translated)")
    xp.add_argument("--target", help="the expected output for INPUT: an image file (or a folder with the same "
                    "file names); adds the Source / Generated / Expected figure")
    xp.add_argument("--pairs", action="store_true", help="INPUT images are side-by-side pairs (maps layout): the "
                    "source half is translated and the other half is the target")
    xp.add_argument("--direction", choices=["AtoB", "BtoA"], default="AtoB", help="with --pairs or an npz: "
                    "AtoB (default) translates the left half / arr_0, BtoA the right half / arr_1")
    xp.add_argument("-n", "--count", type=positive_int, default=None, help="with an npz: how many pairs (default 10; "
                    "chosen at random with --random)")
    xp.add_argument("--random", action="store_true", help="with an npz: pick the pairs at random (the book's "
                    "randint) instead of the first ones")
    xp.add_argument("--interpolation", choices=["nearest", "bilinear", "bicubic", "lanczos"], default="lanczos",
                    help="resize filter for inputs whose size differs from the model's (default lanczos)")
    xp.add_argument("--seed", type=non_negative_int, default=None, help="fix the dropout noise (default: random)")
    xp.add_argument("--figure", action="store_true", help="also write a Source / Generated figure for inputs "
                    "without a target")
    xp.set_defaults(func=cmd_translate)
    return p


# ---- prepare ----------------------------------------------------------------------------------------------------
def default_npz_name(folder, size):
    parts = [p for p in os.path.normpath(os.path.abspath(folder)).split(os.sep) if p]
    name = parts[-1] if parts else "data"
    if name.lower() in ("train", "val", "test") and len(parts) > 1:
        name = parts[-2] if name.lower() == "train" else f"{parts[-2]}_{name}"
    return f"{name}_{size}.npz"


def _parse_wh(text):
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text or "")
    if not m:
        raise InputError(f"--expect-size must look like 1200x600, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def cmd_prepare(args):
    return run_command("tinygan pix2pix prepare", _prepare, args)


def _prepare(args):
    from .pix2pix_data import prepare_paired_folder
    if not os.path.isdir(args.folder):
        raise InputError(f"no such folder: {args.folder}")
    output = args.output or default_npz_name(args.folder, args.size)
    if os.path.isdir(output):
        raise InputError(f"-o {output} is a folder; give the .npz file to write")
    expect = _parse_wh(args.expect_size) if args.expect_size else None
    report = prepare_paired_folder(args.folder, output, size=args.size, direction=args.direction,
                                   interpolation=args.interpolation, expect=expect, limit=args.limit)
    if report.skipped:
        print(f"Skipped {len(report.skipped)} file(s): " + ", ".join(name for name, _ in report.skipped))
    if args.plot:
        plot_dataset(output, args.plot)
        print(f"Saved check plot: {args.plot}")
    return 0


def plot_dataset(npz, png, n_samples=3):
    """The book's check plot (Listing 23.5): sources on top, targets below."""
    from .pix2pix_data import _pyplot
    pyplot = _pyplot()
    from tinygan.training.guards import load_npz
    data = load_npz(npz)
    src_images, tar_images = data["arr_0"], data["arr_1"]
    n_samples = min(n_samples, len(src_images))
    for i in range(n_samples):
        pyplot.subplot(2, n_samples, 1 + i)
        pyplot.axis('off')
        pyplot.imshow(src_images[i].astype('uint8'))
    for i in range(n_samples):
        pyplot.subplot(2, n_samples, 1 + n_samples + i)
        pyplot.axis('off')
        pyplot.imshow(tar_images[i].astype('uint8'))
    pyplot.savefig(png)
    pyplot.close()


# ---- train ------------------------------------------------------------------------------------------------------
MODEL_SETTINGS = ("data", "val_data", "direction", "size", "ngf", "ndf", "lr", "beta1", "l1_weight", "freeze",
                  "batch_size", "seed", "demo")
SCHEDULE_SETTINGS = ("epochs", "max_steps", "save_every", "checkpoint_every", "log_every")
BASELINES = {"val_l1_untrained": "validation L1, untrained generator", "val_l1_identity": "validation L1, identity "
             "(the input as output)", "val_l1_constant": "validation L1, best constant image"}  # on the run page


def _load_pairs(path, direction, size, log=print):
    """An npz of pairs, or a folder of side-by-side images prepared in memory, as [-1,1] float32 [src, tar]."""
    from .pix2pix_data import load_images, load_real_samples, scale_images
    if os.path.isdir(path):
        src, tar = load_images(path, size=size or 256, direction="AtoB", log=log)
        if len(src) == 0:
            raise UserInputError(f"no usable side-by-side image in {path}")
        pair = [scale_images(src), scale_images(tar)]
        return pair if direction == "AtoB" else pair[::-1]
    if not os.path.exists(path):
        raise InputError(f"no such file or folder: {path}")
    return load_real_samples(path, direction=direction)


def _settings(args):
    """The run's settings: explicit options, else the demo's or the book's defaults."""
    demo = args.data is None
    d = DEMO if demo else BOOK
    s = {"demo": demo, "data": _absolute(args.data), "val_data": _absolute(args.val_data),
         "direction": args.direction or "AtoB",
         "size": args.size, "ngf": args.ngf or d["ngf"], "ndf": args.ndf or d["ndf"],
         "lr": args.lr if args.lr is not None else 0.0002, "beta1": args.beta1 if args.beta1 is not None else 0.5,
         "l1_weight": args.l1_weight if args.l1_weight is not None else 100.0, "freeze": args.freeze or "model",
         "batch_size": args.batch_size or 1, "seed": args.seed if args.seed is not None else 1,
         "epochs": args.epochs or d["epochs"], "max_steps": args.max_steps,
         "save_every": args.save_every if args.save_every is not None else d["save_every"],
         "checkpoint_every": args.checkpoint_every if args.checkpoint_every is not None else d["checkpoint_every"],
         "log_every": args.log_every if args.log_every is not None else d["log_every"]}
    return s


def _absolute(path):
    """Data paths are stored absolute, so --resume works from any folder."""
    return os.path.abspath(path) if path else path


def cmd_train(args):
    return run_command("tinygan pix2pix train", _train, args)


def _train(args):
    import numpy as np

    from tinygan import distributed
    from tinygan.distributed import runs

    from .pix2pix import define_models, evaluate_l1, identity_l1, rng_isolated, train, translate
    from .pix2pix_data import default_dataset_path

    out, s, resume_from = begin(args, DEFAULT_OUT, SCHEDULE_SETTINGS, _settings, default_dataset_path)
    saved_shape = s.get("image_shape") if resume_from else None
    dataset = _load_pairs(s["data"], s["direction"], s["size"])
    val = _load_pairs(s["val_data"], s["direction"], s["size"]) if s["val_data"] else None
    image_shape = dataset[0].shape[1:]
    if saved_shape and list(saved_shape) != [int(x) for x in image_shape]:
        raise InputError(f"{s['data']} holds images of {tuple(image_shape)}, but the run in {out} was trained on "
                         f"{tuple(saved_shape)}; give the run's data with --data")
    s["image_shape"] = [int(x) for x in image_shape]
    print_loaded(dataset, val, "the embedded demo dataset (photo -> line drawing)" if s["demo"] else s["data"],
                 batch_size=s["batch_size"])
    d_model, g_model, gan_model = define_models(image_shape, ngf=s["ngf"], ndf=s["ndf"], lr=s["lr"],
                                                beta_1=s["beta1"], l1_weight=s["l1_weight"], freeze=s["freeze"])
    print(f"Models: generator {g_model.count_params():,} parameters (ngf={s['ngf']}), discriminator "
          f"{d_model.count_params():,} (ndf={s['ndf']}), patch output {d_model.output_shape[1:3]}")
    os.makedirs(out, exist_ok=True)
    metrics = read_metrics(out, resume_from)
    if val is not None and not resume_from:
        with rng_isolated():
            n = min(len(val[0]), args.val_images)
            metrics["val_l1_untrained"] = evaluate_l1(g_model, val[0], val[1], max_images=n)
            metrics["val_l1_identity"] = identity_l1(val[0][:n], val[1][:n])
            # the best constant output under L1: the per-channel median of the training targets
            const = np.median(dataset[1].reshape(-1, dataset[1].shape[-1]), axis=0)
            metrics["val_l1_constant"] = float(np.mean(np.abs(val[1][:n] - const)))
        print("Validation L1 before training: %.4f (identity, the input as output: %.4f; the best constant "
              "image: %.4f)" % (metrics["val_l1_untrained"], metrics["val_l1_identity"], metrics["val_l1_constant"]))
    print(f"Run folder: {out}" + (" (resuming)" if resume_from else ""))
    evaluation = None
    if args.eval_every:  # FID/KID of the translations of held-out sources against their targets
        from tinygan.metrics.during_training import Target
        if val is None:
            raise InputError("--eval-every needs held-out pairs: give --val-data (the demo has its own)")
        evaluation = eval_options.make_evaluation([Target("", lambda n: translate(g_model, val[0][:n]), val[1])],
                                                  out, args.features, args.eval_every, args.eval_samples)
    t0 = time.time()
    result = train(d_model, g_model, gan_model, distributed.shard(dataset), n_epochs=s["epochs"],
                   n_batch=s["batch_size"], summary_every=s["save_every"], out_dir=out, val_dataset=val,
                   val_images=args.val_images, log_every=s["log_every"],
                   progress=runs.shows_progress(not args.no_progress),
                   checkpoint_every=s["checkpoint_every"] or None, resume_from=resume_from,
                   max_steps=s["max_steps"], extra={"settings": s, "baselines": {
                       label: metrics[k] for k, label in BASELINES.items() if k in metrics}},
                   on_nan="continue" if args.continue_on_nan else "stop", evaluation=evaluation)
    finish("pix2pix", out, result, metrics, time.time() - t0, s, val_l1_trained=result["val_l1"],
           **(evaluation.latest if evaluation else {}))
    models = sorted(glob.glob(os.path.join(out, "model_*.h5")))
    if result["val_l1"] is not None and "val_l1_untrained" in metrics:
        print("Validation L1: trained %.4f, untrained %.4f, identity %.4f, best constant %.4f"
              % (result["val_l1"], metrics["val_l1_untrained"], metrics["val_l1_identity"],
                 metrics.get("val_l1_constant", float("nan"))))
    print(f"Figures: {out}/plot_*.png (source / generated / target), {out}/losses.png; log {out}/losses.csv")
    if models:
        print(f"Generator: {models[-1]}  ->  tinygan pix2pix translate {out} IMAGE_OR_FOLDER")
    return exit_code("pix2pix", out, result)


# ---- translate --------------------------------------------------------------------------------------------------
def _latest_model(folder):
    models = sorted(glob.glob(os.path.join(folder, "model_*.h5")))
    if models:
        return models[-1]
    ckpt = os.path.join(folder, "checkpoint.npz")
    if os.path.exists(ckpt):
        return ckpt
    raise UserInputError(f"{folder} holds no model_*.h5 and no checkpoint.npz")


def load_generator(path):
    """A generator from a model_NNNNNN.h5, a checkpoint.npz (rebuilt from its saved settings) or a run folder."""
    if os.path.isdir(path):
        path = _latest_model(path)
    if not os.path.exists(path):
        raise UserInputError(f"no such model: {path}")
    if path.endswith(".npz"):
        from tinygan.training import read_checkpoint
        from tinygan.training.checkpoint import set_layer_states

        from .pix2pix import define_generator
        tree = read_checkpoint(path)
        s = tree.get("extra", {}).get("settings") or {}
        if "image_shape" not in s or "g_model" not in tree["models"]:
            raise UserInputError(f"{path} is not a pix2pix training checkpoint; translate with a model_*.h5 instead")
        weights = tree["models"]["g_model"]["weights"]
        g = define_generator(tuple(s["image_shape"]), ngf=s["ngf"], out_channels=int(weights[-1].shape[0]))
        g.set_weights(weights)
        if tree["models"]["g_model"].get("layers"):
            set_layer_states(g, tree["models"]["g_model"]["layers"])
        return g, path
    from tinygan.keras.models import load_model
    return load_model(path), path


def _image_files(folder):
    return [os.path.join(folder, n) for n in sorted(os.listdir(folder))
            if n.lower().endswith(IMAGE_EXTS) and not n.startswith(".")]


def cmd_translate(args):
    return run_command("tinygan pix2pix translate", _translate, args)


def _translate(args):
    import numpy as np
    from PIL import Image

    from tinygan import random as tg_random

    from .pix2pix import plot_images, translate
    from .pix2pix_data import load_image, load_pair, scale_images, to_uint8

    if args.seed is not None:
        tg_random.seed(args.seed)
    g_model, model_path = load_generator(args.model)
    h, w = g_model.input_shape[1:3] if isinstance(g_model.input_shape, tuple) else g_model.input_shape[0][1:3]
    print(f"Loaded generator {model_path} (input {h}x{w})")
    os.makedirs(args.output, exist_ok=True)

    # (name, source (1,h,w,3) in [-1,1], target or None)
    items = []
    if args.input.endswith(".npz") and os.path.isfile(args.input):
        from .pix2pix_data import load_real_samples
        X1, X2 = load_real_samples(args.input, direction=args.direction)
        count = min(args.count or 10, len(X1))
        ix = np.random.randint(0, len(X1), count) if args.random else np.arange(count)
        base = os.path.splitext(os.path.basename(args.input))[0]
        items = [(f"{base}_{int(i):05d}", X1[i:i + 1], X2[i:i + 1]) for i in ix]
    else:
        if os.path.isdir(args.input):
            files = _image_files(args.input)
            if not files:
                raise UserInputError(f"no image files in {args.input}")
        elif os.path.isfile(args.input):
            files = [args.input]
        else:
            raise UserInputError(f"no such file or folder: {args.input}")
        for f in files:
            name = os.path.splitext(os.path.basename(f))[0]
            try:
                if args.pairs:
                    left, right = load_pair(f, size=h, interpolation=args.interpolation)
                    src, tar = (left, right) if args.direction == "AtoB" else (right, left)
                    items.append((name, scale_images(src)[None], scale_images(tar)[None]))
                    continue
                src = load_image(f, (h, w), interpolation=args.interpolation)
                tar = None
                if args.target:
                    tfile = args.target
                    if os.path.isdir(args.target):
                        match = [t for t in _image_files(args.target)
                                 if os.path.splitext(os.path.basename(t))[0] == name]
                        tfile = match[0] if match else None
                    if tfile:
                        tar = load_image(tfile, (h, w), interpolation=args.interpolation)
                items.append((name, src, tar))
            except Exception as exc:  # a broken file among many: report it, go on
                print(f"Skipped {f}: {type(exc).__name__}: {exc}")
    if not items:
        raise UserInputError("nothing to translate")
    errors = []
    for name, src, tar in items:
        gen = translate(g_model, src, batch_size=1)
        out_png = os.path.join(args.output, f"{name}_generated.png")
        Image.fromarray(to_uint8(gen[0])).save(out_png)
        msg = f"{name}: {out_png}"
        if tar is not None or args.figure:
            fig = os.path.join(args.output, f"{name}_figure.png")
            plot_images(src, gen, tar, filename=fig)
            msg += f", {fig}"
        if tar is not None:
            err = float(np.mean(np.abs(gen - tar)))
            errors.append(err)
            msg += f" (L1 {err:.4f})"
        print(msg)
    if errors:
        print(f"Mean L1 error against the targets over {len(errors)} image(s): {np.mean(errors):.4f} "
              "([-1,1] scale)")
    print(f"Wrote {len(items)} translation(s) to {args.output}")
    return 0
