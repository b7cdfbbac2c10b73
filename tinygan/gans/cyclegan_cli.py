"""``tinygan cyclegan prepare|train|translate``: the chapter 26 workflow from the command line.

* ``prepare FOLDER``: the horse2zebra layout (``trainA/ trainB/ testA/ testB/``) -> the book's npz
  (``arr_0`` = domain A, ``arr_1`` = domain B).
* ``train``: the book's loop on an npz or a folder, or with no data given on the embedded unpaired demo
  (photos <-> line drawings of other crops); progress bar, CSV/PNG of all losses, A->B->A and B->A->B grids,
  full-state checkpoints, the held-out cycle L1.
* ``translate MODEL INPUT [--direction AtoB|BtoA]``: a saved generator translates an image, a folder or an npz;
  with the other generator at hand, also the reconstruction (the book's Real / Generated / Reconstructed figure).
"""
import argparse
import functools
import glob
import os
import re
import time

from tinygan.training.run_folder import begin, command_group, exit_code, finish, print_loaded, read_metrics, run_command
from . import eval_options

# defaults of `train` on the embedded demo: a small generator (16 filters, 3 concatenating ResNet blocks), 720 steps
# on one thread (--threads; README: CycleGAN gives the measured CPU time)
DEMO = {"epochs": 6, "save_every": 2.0, "model_every": 3.0, "ngf": 16, "ndf": 16, "n_resnet": 3, "log_every": 120,
        "checkpoint_every": 500}
# defaults with --data: the book's run
BOOK = {"epochs": 100, "save_every": 1.0, "model_every": 5.0, "ngf": 64, "ndf": 64, "n_resnet": 9, "log_every": 1,
        "checkpoint_every": 1000}
DEFAULT_OUT = os.path.join("runs", "cyclegan")
SCHEDULE_SETTINGS = ("epochs", "max_steps", "save_every", "model_every", "checkpoint_every", "log_every")

# `train` options by group: (flag, type (bool: a switch), help); every default is None (= the demo's or the book's)
TRAIN_OPTIONS = [
    ("data", [
        ("--data", str, "training images: an npz from `prepare` (arr_0 domain A, arr_1 domain B) or a folder with "
         "trainA/ trainB/ (prepared on the fly at --size). Default: the embedded demo"),
        ("--val-data", str, "held-out images (npz or folder) for the cycle L1 at each summary. Default: the demo's "
         "held-out set when --data is not given, else none"),
        ("--size", int, "image side when --data is a folder (default 256)")]),
    ("model and optimizer", [
        ("--n-resnet", int, "ResNet blocks of each generator (9 = the book at 256 px, 6 its 128 px variant; default "
         "9 with --data, %d for the demo)" % DEMO["n_resnet"]),
        ("--ngf", int, "generator filters in the first layer (64 = the book; default 64 with --data, %d for the "
         "demo)" % DEMO["ngf"]),
        ("--ndf", int, "discriminator filters in the first layer (64 = the book's C64-C128-C256-C512; default 64 "
         "with --data, %d for the demo)" % DEMO["ndf"]),
        ("--lr", float, "Adam learning rate of all models (default 0.0002)"),
        ("--beta1", float, "Adam beta_1 (default 0.5)"),
        ("--identity-weight", float, "weight of the identity L1 term (default 5, the book's half of the cycle "
         "weight; 0 leaves it out)"),
        ("--cycle-weight", float, "weight of each cycle L1 term (lambda, default 10)"),
        ("--pool-size", int, "generated images kept per domain for the discriminator updates (default 50, the "
         "book's)"),
        ("--decay", bool, "the paper's schedule: the learning rate falls linearly to 0 over the second half of "
         "the run (default: constant, as the book)")]),
    ("schedule", [
        ("--epochs", int, "epochs of len(domain A) steps each (default 100 with --data, the book's; %d for the "
         "demo)" % DEMO["epochs"]),
        ("--batch-size", int, "images per domain per step (default 1, the book's)"),
        ("--max-steps", int, "stop after this many steps in total (default: epochs x steps per epoch)"),
        ("--seed", int, "random seed of weights, pools and image choice (default 1)"),
        ("--threads", int, "CPU threads of Numba's kernels and NumPy's OpenBLAS (default 1 for the demo, whose "
         "small products gain nothing from a second thread, slow down many times when other processes share the "
         "cores, and then repeat bit for bit; with --data, or when NUMBA_NUM_THREADS, OPENBLAS_NUM_THREADS or "
         "OMP_NUM_THREADS is set: those settings, else every core)")]),
    ("output", [
        ("--out", str, "run folder (default runs/cyclegan; a new runs/cyclegan_N if it is taken and --resume is "
         "not given)"),
        ("--save-every", float, "epochs between summaries (plots, held-out cycle L1, checkpoint; default 1 with "
         "--data, the book's, %g for the demo)" % DEMO["save_every"]),
        ("--model-every", float, "epochs between saving both generators as g_model_*_NNNNNN.h5 (default 5 with "
         "--data, the book's, %g for the demo; also at the end)" % DEMO["model_every"]),
        ("--checkpoint-every", int, "steps between extra checkpoints besides the summaries' (default %d with "
         "--data, %d for the demo; 0: only at summaries)" % (BOOK["checkpoint_every"], DEMO["checkpoint_every"])),
        ("--log-every", int, "print the book's line '>step, dA[..] dB[..] g[..]' every N steps (default 1 with "
         "--data, %d for the demo; 0: never)" % DEMO["log_every"]),
        ("--val-images", int, "held-out images per domain for the cycle L1 (default 64)"),
        ("--no-progress", bool, "no progress bar"),
        ("--resume", bool, "continue from the run folder's checkpoint.npz (with no --out: the latest "
         "runs/cyclegan* run); the saved settings are used, and --epochs, --max-steps, --save-every, "
         "--model-every, --checkpoint-every, --log-every may be changed"),
        ("--overwrite", bool, "start afresh in --out even if it holds a run")]),
]

EPILOG_PREPARE = """\
examples:
  tinygan cyclegan prepare horse2zebra/ -o horse2zebra_256.npz     # the book: train+test of each domain merged
  tinygan cyclegan prepare horse2zebra/ --test-output horse2zebra_test_256.npz   # keep testA/testB apart
  tinygan cyclegan prepare apple2orange/ --size 128

FOLDER holds trainA/ and trainB/ (and optionally testA/ testB/), any number of images each; the two domains may
differ in size. Every image is resized to SIZE x SIZE; grayscale and RGBA images are converted to RGB and files
that are not images are skipped, each reported in one line. horse2zebra (111 MB):
https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/horse2zebra.zip
"""

EPILOG_TRAIN = """\
With no --data, trains on the embedded unpaired demo (domain A: 120 64x64 photo crops, domain B: line drawings
of 120 *other* crops, tinygan/data/README.md) with demo defaults (--epochs %(epochs)s --ngf %(ngf)s --ndf %(ndf)s
--n-resnet %(n_resnet)s, a summary every %(save)s epochs): about 200 s of CPU time on one thread (measured). With --data the defaults
are the book's (--epochs 100 --ngf 64 --ndf 64 --n-resnet 9, plots every epoch, models every 5, one log line a step).

Written to the run folder (default runs/cyclegan, or runs/cyclegan_2, ... if that one is taken):
  AtoB_generated_plot_NNNNNN.png, BtoA_...   the book's plots: 5 inputs above their translations
  AtoB_cycle_plot_NNNNNN.png, BtoA_...       real / translated / reconstructed rows (A->B->A, B->A->B), on
                                             held-out images when there are any
  g_model_AtoB_NNNNNN.h5, g_model_BtoA_...   both generators under the book's names; use with `translate`
  losses.csv / losses.png   every loss each step: dA1 dA2 dB1 dB2, g_AtoB g_BtoA and their four terms
                            (adversarial, identity, forward and backward cycle), val_cycle_A/B at summaries
  checkpoint.npz    all four models, the six optimizers, both image pools, the random streams and the step:
                    --resume continues the same loss trajectory
  metrics.json      held-out cycle L1 before and after training; steps/s

Ctrl-C finishes the current step, saves a checkpoint and exits (a second Ctrl-C aborts at once).

examples:
  tinygan cyclegan train                                   # the demo
  tinygan cyclegan train --resume                          # continue the latest demo run
  tinygan cyclegan train --data horse2zebra_256.npz        # the book's run (GPU: --device cuda)
  tinygan cyclegan train --data horse2zebra_256.npz --val-data horse2zebra_test_256.npz --decay --identity-weight 0
"""

EPILOG_TRANSLATE = """\
MODEL is a g_model_AtoB_NNNNNN.h5 / g_model_BtoA_NNNNNN.h5 file, a checkpoint.npz, or a run folder (its latest
models). INPUT is an image file, a folder of images, or an npz (arr_0 for --direction AtoB, arr_1 for BtoA).
When the other generator is found (the run folder, the checkpoint, or the partner .h5 of the same step), each
translation is also translated back and the book's Real / Generated / Reconstructed figure is written.

examples:
  tinygan cyclegan translate runs/cyclegan photo.jpg                       # A -> B
  tinygan cyclegan translate runs/cyclegan drawings/ --direction BtoA -o out/
  tinygan cyclegan translate g_model_AtoB_089025.h5 horse2zebra/testA/n02381460_541.jpg
"""

PREPARE_PARSER = dict(help="trainA/ trainB/ folders -> the book's npz", epilog=EPILOG_PREPARE,
                      formatter_class=argparse.RawDescriptionHelpFormatter,
                      description="Load every image of FOLDER/trainA and FOLDER/trainB (and testA/testB), resize "
                      "them to SIZE x SIZE and save the two domains as a compressed npz (arr_0 = A, arr_1 = B, uint8 "
                      "0..255; training scales them to [-1,1]).")


def register(subparsers):
    p, sub = command_group(subparsers, "cyclegan", "CycleGAN unpaired image translation (book chapters 24-26)",
                           "CycleGAN unpaired image-to-image translation (book chapters 24-26): prepare two image "
                           "folders, train, translate both ways.")
    fmt = argparse.RawDescriptionHelpFormatter
    pp = sub.add_parser("prepare", **PREPARE_PARSER)
    pp.add_argument("folder", help="folder with trainA/ and trainB/ (e.g. horse2zebra/)")
    pp.add_argument("-o", "--output", help="npz to write (default: <folder name>_<size>.npz, e.g. "
                    "horse2zebra_256.npz)")
    pp.add_argument("--size", type=int, default=256, help="image side after resizing (default 256, the book's)")
    pp.add_argument("--test-output", metavar="NPZ", help="write testA/testB to this npz (held-out images for the "
                    "validation cycle L1) instead of stacking them into the training arrays as the book does")
    pp.add_argument("--interpolation", choices=["nearest", "bilinear", "bicubic", "lanczos"], default="nearest",
                    help="resize filter (default nearest, as Keras' load_img in the book)")
    pp.set_defaults(func=functools.partial(run_command, "tinygan cyclegan prepare", _prepare))

    tp = sub.add_parser("train", help="train CycleGAN (no arguments: the embedded demo, a few minutes on CPU)",
                        formatter_class=fmt, description="Train CycleGAN as the book does: per step one random "
                        "image of each domain, both translations through 50-image pools, then the B->A composite "
                        "(least squares + 5 x identity + 10 x each cycle L1), D_A on a real and a pooled fake image, "
                        "the A->B composite, D_B; Adam(0.0002, beta_1=0.5).",
                        epilog=EPILOG_TRAIN % {"epochs": DEMO["epochs"], "ngf": DEMO["ngf"], "ndf": DEMO["ndf"],
                                               "n_resnet": DEMO["n_resnet"], "save": "%g" % DEMO["save_every"]})
    for group, options in TRAIN_OPTIONS:
        g = tp.add_argument_group(group)
        for flag, kind, text in options:
            if kind is bool:
                g.add_argument(flag, action="store_true", default=None, help=text)
            else:
                g.add_argument(flag, type=kind, default=None if flag != "--val-images" else 64, help=text)
    eval_options.add_options(tp)
    tp.set_defaults(func=functools.partial(run_command, "tinygan cyclegan train", _train))

    xp = sub.add_parser("translate", help="translate images with a saved generator, either way",
                        formatter_class=fmt, epilog=EPILOG_TRANSLATE, description="Translate an image, a folder "
                        "of images or an npz with a saved CycleGAN generator. Writes <name>_generated.png for every "
                        "input and, with the other generator, <name>_reconstructed.png and the book's Real / "
                        "Generated / Reconstructed figure (<name>_figure.png).")
    xp.add_argument("model", help="g_model_AtoB_NNNNNN.h5 (or BtoA), checkpoint.npz, or a run folder")
    xp.add_argument("input", help="image file, folder of images, or npz (arr_0 = domain A, arr_1 = domain B)")
    xp.add_argument("--direction", choices=["AtoB", "BtoA"], default="AtoB", help="AtoB (default) or BtoA: which "
                    "generator of a run folder or checkpoint, and which array of an npz")
    xp.add_argument("-o", "--output", default="translated", help="folder for the results (default ./translated)")
    xp.add_argument("-n", "--count", type=int, default=10, help="with an npz: how many images (default 10)")
    xp.add_argument("--interpolation", choices=["nearest", "bilinear", "bicubic", "lanczos"], default="lanczos",
                    help="resize filter for inputs whose size differs from the model's (default lanczos)")
    xp.set_defaults(func=functools.partial(run_command, "tinygan cyclegan translate", _translate))
    return p


# ---- prepare ----------------------------------------------------------------------------------------------------
def _prepare(args):
    from .cyclegan_data import prepare_unpaired_folder
    if not os.path.isdir(args.folder):
        raise ValueError(f"no such folder: {args.folder}")
    name = os.path.basename(os.path.normpath(os.path.abspath(args.folder))) or "data"
    output = args.output or f"{name}_{args.size}.npz"
    prepare_unpaired_folder(args.folder, output, size=args.size, interpolation=args.interpolation,
                            test_output=args.test_output)
    return 0


# ---- train ------------------------------------------------------------------------------------------------------
def _settings(args):
    """The run's settings: explicit options, else the demo's or the book's defaults."""
    demo = args.data is None
    d = DEMO if demo else BOOK

    def pick(key, default):
        value = getattr(args, key)
        return default if value is None else value

    s = {"demo": demo, "data": args.data, "val_data": args.val_data, "size": args.size,
         "n_resnet": pick("n_resnet", d["n_resnet"]), "ngf": pick("ngf", d["ngf"]), "ndf": pick("ndf", d["ndf"]),
         "lr": pick("lr", 0.0002), "beta1": pick("beta1", 0.5), "identity_weight": pick("identity_weight", 5.0),
         "cycle_weight": pick("cycle_weight", 10.0), "pool_size": pick("pool_size", 50),
         "decay": bool(args.decay), "batch_size": pick("batch_size", 1), "seed": pick("seed", 1),
         "epochs": pick("epochs", d["epochs"]), "max_steps": args.max_steps,
         "save_every": pick("save_every", d["save_every"]), "model_every": pick("model_every", d["model_every"]),
         "checkpoint_every": pick("checkpoint_every", d["checkpoint_every"]),
         "log_every": pick("log_every", d["log_every"])}
    return s


THREAD_VARIABLES = ("NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")


def _threads_set():
    """Whether the user chose thread counts in the environment (then the demo keeps them)."""
    return any(os.environ.get(name) for name in THREAD_VARIABLES)


def _use_threads(n):
    """``n`` threads (at least 1, at most Numba's pool) for Numba's parallel kernels and NumPy's OpenBLAS from
    now on; returns the count Numba uses."""
    import numba
    from tinygan.kernels import blas
    if n < 1:
        raise ValueError(f"--threads {n}: give 1 or more")
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    lib = blas.numpy_openblas()
    if lib is not None:
        blas.set_threads(lib, n)
    return numba.get_num_threads()


def _train(args):
    from . import cyclegan as cg
    from .cyclegan_data import default_dataset_path, load_unpaired

    out, s, resume_from = begin(args, DEFAULT_OUT, SCHEDULE_SETTINGS, _settings, default_dataset_path)
    dataset = load_unpaired(s["data"], s["size"])
    val = load_unpaired(s["val_data"], s["size"]) if s["val_data"] else None
    if val is not None and val[0].shape[1:] != dataset[0].shape[1:]:
        raise ValueError(f"the held-out images ({s['val_data']}) are {val[0].shape[1]}x{val[0].shape[2]} but the "
                         f"training images are {dataset[0].shape[1]}x{dataset[0].shape[2]}")
    threads = args.threads if args.threads is not None else (1 if s["demo"] and not _threads_set() else None)
    if threads is not None:
        print(f"Threads: {_use_threads(threads)} (Numba and OpenBLAS; --threads)")
    image_shape = dataset[0].shape[1:]
    s["image_shape"] = [int(x) for x in image_shape]
    print_loaded(dataset, val, "the embedded demo dataset (photos <-> line drawings)" if s["demo"] else s["data"],
                 "Held out")
    models = cg.define_models(image_shape, n_resnet=s["n_resnet"], ngf=s["ngf"], ndf=s["ndf"], lr=s["lr"],
                              beta_1=s["beta1"], identity_weight=s["identity_weight"], cycle_weight=s["cycle_weight"])
    print(f"Models: 2 generators of {models['g_model_AtoB'].count_params():,} parameters (ngf={s['ngf']}, "
          f"{s['n_resnet']} ResNet blocks), 2 discriminators of {models['d_model_A'].count_params():,} "
          f"(ndf={s['ndf']}), patch output {models['d_model_A'].output_shape[1:3]}")
    os.makedirs(out, exist_ok=True)
    metrics = read_metrics(out, resume_from)
    if val is not None and not resume_from:
        from tinygan.training import rng_isolated
        with rng_isolated():
            metrics["val_cycle_untrained"] = cg.evaluate_cycles(models, val, args.val_images)
        print("Held-out cycle L1 before training: A->B->A %.4f, B->A->B %.4f"
              % (metrics["val_cycle_untrained"]["cycle_A"], metrics["val_cycle_untrained"]["cycle_B"]))
    print(f"Run folder: {out}" + (" (resuming)" if resume_from else ""))
    evaluation = None
    if args.eval_every:  # FID/KID of each direction's translations of held-out images against the other domain
        from tinygan.metrics.during_training import Target
        if val is None:
            raise ValueError("--eval-every needs held-out images: give --val-data (the demo has its own)")
        g_ab, g_ba = models["g_model_AtoB"], models["g_model_BtoA"]
        evaluation = eval_options.make_evaluation(
            [Target("AtoB", lambda n: cg.translate(g_ab, val[0][:n]), val[1]),
             Target("BtoA", lambda n: cg.translate(g_ba, val[1][:n]), val[0])],
            out, args.features, args.eval_every, args.eval_samples)
    n_steps = int(len(dataset[0]) / s["batch_size"]) * s["epochs"]
    t0 = time.time()
    result = cg.train(models["d_model_A"], models["d_model_B"], models["g_model_AtoB"], models["g_model_BtoA"],
                      models["c_model_AtoB"], models["c_model_BtoA"], dataset, n_epochs=s["epochs"],
                      n_batch=s["batch_size"], summary_every=s["save_every"], save_every=s["model_every"],
                      out_dir=out, val_dataset=val, val_images=args.val_images, pool_size=s["pool_size"],
                      lr=s["lr"], decay_from=n_steps // 2 if s["decay"] else None, log_every=s["log_every"],
                      progress=not args.no_progress, checkpoint_every=s["checkpoint_every"] or None,
                      resume_from=resume_from, max_steps=s["max_steps"], extra={"settings": s}, evaluation=evaluation)
    finish("cyclegan", out, result, metrics, time.time() - t0, s, val_cycle_trained=result["val_cycle"],
           **(evaluation.latest if evaluation else {}))
    if result["val_cycle"] and "val_cycle_untrained" in metrics:
        before, after = metrics["val_cycle_untrained"], result["val_cycle"]
        print("Held-out cycle L1: A->B->A %.4f (untrained %.4f), B->A->B %.4f (untrained %.4f)"
              % (after["cycle_A"], before["cycle_A"], after["cycle_B"], before["cycle_B"]))
    print(f"Figures: {out}/AtoB_cycle_plot_*.png, {out}/BtoA_cycle_plot_*.png, {out}/losses.png; "
          f"log {out}/losses.csv")
    latest = _latest_models(out)
    if latest:
        print(f"Generators: {latest[0]}, {latest[1]}  ->  tinygan cyclegan translate {out} IMAGE_OR_FOLDER "
              "[--direction BtoA]")
    return exit_code("cyclegan", out, result)


# ---- translate --------------------------------------------------------------------------------------------------
def _latest_models(folder):
    """(AtoB, BtoA) .h5 of the latest step saved in ``folder``, or None."""
    steps = sorted(int(m.group(1)) for f in glob.glob(os.path.join(folder, "g_model_AtoB_*.h5"))
                   if (m := re.search(r"_(\d+)\.h5$", f)))
    for step in reversed(steps):
        pair = [os.path.join(folder, "g_model_%s_%06d.h5" % (d, step)) for d in ("AtoB", "BtoA")]
        if all(os.path.exists(p) for p in pair):
            return pair
    return None


def _from_checkpoint(path, direction):
    from tinygan.training import read_checkpoint

    from .cyclegan import define_generator
    tree = read_checkpoint(path)
    s = tree.get("extra", {}).get("settings") or {}
    names = [f"g_model_{direction}", "g_model_" + ("BtoA" if direction == "AtoB" else "AtoB")]
    if "image_shape" not in s or any(n not in tree["models"] for n in names):
        raise ValueError(f"{path} is not a cyclegan training checkpoint; translate with a g_model_*.h5 instead")
    out = []
    for name in names:
        g = define_generator(tuple(s["image_shape"]), s["n_resnet"], s["ngf"])
        g.set_weights(tree["models"][name]["weights"])
        out.append(g)
    return out


def load_generators(path, direction="AtoB"):
    """(generator of ``direction``, the other one or None, description) from a run folder, a checkpoint.npz or
    a g_model_*.h5 (its partner of the same step is used when it is next to it)."""
    from tinygan.keras.models import load_model
    if os.path.isdir(path):
        pair = _latest_models(path)
        if pair is None:
            ckpt = os.path.join(path, "checkpoint.npz")
            if not os.path.exists(ckpt):
                raise ValueError(f"{path} holds no g_model_AtoB_*.h5 / g_model_BtoA_*.h5 pair and no checkpoint.npz")
            path = ckpt
        else:
            first, second = pair if direction == "AtoB" else pair[::-1]
            return load_model(first), load_model(second), first
    if not os.path.exists(path):
        raise ValueError(f"no such model: {path}")
    if path.endswith(".npz"):
        g, other = _from_checkpoint(path, direction)
        return g, other, f"{path} ({direction})"
    partner = None
    m = re.search(r"g_model_(AtoB|BtoA)_(\d+)\.h5$", path)
    if m:
        cand = path[:m.start()] + "g_model_%s_%s.h5" % ("BtoA" if m.group(1) == "AtoB" else "AtoB", m.group(2))
        partner = load_model(cand) if os.path.exists(cand) else None
    return load_model(path), partner, path


def _translate(args):
    import numpy as np
    from PIL import Image

    from .cyclegan import show_plot, translate
    from .cyclegan_data import load_unpaired
    from .pix2pix_data import _image_files, load_image, to_uint8

    g_model, other, desc = load_generators(args.model, args.direction)
    h, w = g_model.input_shape[1:3]
    print(f"Loaded generator {desc} (input {h}x{w})" + ("" if other is None else ", and the reverse one"))
    os.makedirs(args.output, exist_ok=True)
    items = []
    if args.input.endswith(".npz") and os.path.isfile(args.input):
        X = load_unpaired(args.input)[0 if args.direction == "AtoB" else 1]
        if X.shape[1:3] != (h, w):
            raise ValueError(f"{args.input} holds {X.shape[1]}x{X.shape[2]} images but the generator takes "
                             f"{h}x{w}: prepare the data at --size {h}")
        base = os.path.splitext(os.path.basename(args.input))[0]
        items = [(f"{base}_{args.direction}_{i:05d}", X[i:i + 1]) for i in range(min(args.count, len(X)))]
    else:
        if os.path.isdir(args.input):
            files = [os.path.join(args.input, n) for n in _image_files(args.input)]
        elif os.path.isfile(args.input):
            files = [args.input]
        else:
            raise ValueError(f"no such file or folder: {args.input}")
        for f in files:
            try:
                items.append((os.path.splitext(os.path.basename(f))[0],
                              load_image(f, (h, w), interpolation=args.interpolation)))
            except Exception as exc:  # a broken file among many: report it, go on
                print(f"Skipped {f}: not a readable image ({type(exc).__name__})")
    if not items:
        raise ValueError(f"nothing to translate in {args.input}")
    a, b = args.direction.split("to")
    for name, src in items:
        gen = translate(g_model, src)
        out_png = os.path.join(args.output, f"{name}_generated.png")
        Image.fromarray(to_uint8(gen[0])).save(out_png)
        msg = f"{name}: {out_png}"
        if other is not None:
            back = translate(other, gen)
            Image.fromarray(to_uint8(back[0])).save(os.path.join(args.output, f"{name}_reconstructed.png"))
            fig = show_plot(src, gen, back, os.path.join(args.output, f"{name}_figure.png"))
            msg += f", {fig} (cycle L1 {float(np.mean(np.abs(back - src))):.4f})"
        print(msg)
    print(f"Wrote {len(items)} {a} -> {b} translation(s) to {args.output}")
    return 0
