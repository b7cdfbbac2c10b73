"""``tinygan lsgan|wgan|cgan|infogan|acgan|sgan train``: the book's chapter 15-20 GANs from the command line.

Each command builds the chapter's models, loads labelled digits (the embedded MNIST sample by default), and runs
the chapter's ``train`` (:mod:`tinygan.gans.conditional`'s loop: progress bar, ``history.csv``, loss plot,
checkpoints, exact ``--resume``, Ctrl-C). The run's settings go to ``run.json`` so ``--resume`` and
``tinygan sample RUN [--class K] [--code C]`` (see :func:`generator_inputs`) rebuild what was trained.
"""
import json
import os

from tinygan.training.guards import int_at_least, non_negative_int, one_line_errors, positive_int

from ..errors import UserInputError
from . import eval_options
from .part1_cli import FMT, _add_schedule, _agg, _on_nan, _run_dir, _seed, _stop_code, _write_json

SPECS = {
    # name: (chapter, title, default latent size, epochs, batch size, needs labels)
    "lsgan": (15, "least squares GAN", 100, 20, 64, False),
    "wgan": (16, "Wasserstein GAN (--gp 10: WGAN-GP)", 50, 10, 64, False),
    "cgan": (17, "conditional GAN", 100, 100, 128, True),
    "infogan": (18, "InfoGAN", 62, 100, 64, False),
    "acgan": (19, "auxiliary classifier GAN", 100, 100, 64, True),
    "sgan": (20, "semi-supervised GAN", 100, 20, 100, True),
}

#: settings fixed by the first run of a run folder; --resume takes them from run.json
SETTINGS = ("dataset", "latent_dim", "batch_size", "digit", "n_critic", "gp", "n_cat", "keras22_literal",
            "n_labelled", "seed")

EPILOG = """\
--dataset:
  mnist5k        the 4,000 training digits of the MNIST sample embedded in tinygan (default; offline); the other
                 1,000 are held out for the quality checks (--score, sgan's Test Accuracy)
  mnist          the full 60,000 through tinygan.keras.datasets (downloaded once or placed in its cache)
  fashion_mnist  Fashion-MNIST through tinygan.keras.datasets (the book's data for cgan and acgan)
  PATH.npz       images under 'x' (or 'arr_0'), uint8 (n, 28, 28[, 1]); labels under 'y' (or 'arr_1'), needed by
                 cgan, acgan and sgan

Written to the run folder (default runs/{name}): the book's sample grids and model files, history.csv,
plot_line_plot_loss.png, checkpoint.npz (--resume continues exactly), run.json and metrics.json.

examples:
  tinygan {name} train --max-steps 500
  tinygan {name} train --out runs/{name} --resume --max-steps 1000
  tinygan sample runs/{name}{sample}
"""


def register(subparsers):
    for name, (chapter, title, latent, epochs, batch, _) in SPECS.items():
        p = subparsers.add_parser(name, help=f"chapter {chapter}: the {title}",
                                  description=f"Chapter {chapter}: the {title} on 28x28 digits.")
        sub = p.add_subparsers(dest=f"{name}_command", metavar="{train}")
        p.set_defaults(func=lambda args, p=p: (p.print_help(), 2)[1])
        sample = {"cgan": " --class 3", "acgan": " --class 3", "infogan": " --code 1"}.get(name, "")
        tp = sub.add_parser("train", help=f"train the chapter {chapter} model", formatter_class=FMT,
                            epilog=EPILOG.format(name=name, sample=sample),
                            description=f"Train the book's {title} (chapter {chapter}) with its training loop, "
                            "log line and file names.")
        for flag, kind, default, text in (
                ("--dataset", str, None, "mnist5k (default), mnist, fashion_mnist or PATH.npz"),
                ("--epochs", positive_int, epochs, f"epochs (default {epochs}, the book's)"),
                ("--batch-size", int_at_least(2), None, f"batch size (default {batch}, the book's)"),
                ("--latent-dim", positive_int, None, f"latent dimensions (default {latent})"),
                ("--save-every", positive_int, None, "steps between sample grids and model files (default: the "
                 "book's)"),
                ("--log-every", non_negative_int, 1, "print the book's loss line every N steps (default 1, as the "
                 "book; 0: never)"),
                ("--classifier", str, None, "with --score: the digit classifier file, loaded if it exists, else "
                 "trained and saved there (default: trained afresh)")):
            tp.add_argument(flag, type=kind, default=default, help=text)
        tp.add_argument("--score", action="store_true", help="at the end, measure the samples with the embedded "
                        "digit classifier (see the README's quality section) into metrics.json")
        if name == "wgan":
            tp.add_argument("--digit", type=int, default=None, help="train on this digit only (default 7, the "
                            "book's; -1: all digits)")
            tp.add_argument("--n-critic", type=positive_int, default=None, help="critic updates per generator update "
                            "(default 5)")
            tp.add_argument("--gp", type=float, default=None, help="WGAN-GP: gradient penalty weight (the paper: "
                            "10) instead of weight clipping")
        if name == "infogan":
            tp.add_argument("--n-cat", type=int_at_least(2), default=None, help="values of the categorical code (default 10)")
            tp.add_argument("--keras22-literal", action="store_true", default=None, help="the composite also "
                            "trains the D/Q shared layers, as the book's Keras 2.2 run did (default: G and Q's "
                            "head only, the book's intent)")
        if name == "sgan":
            tp.add_argument("--n-labelled", type=positive_int, default=None, help="labelled training images (default 100)")
        _add_schedule(tp, epochs)
        eval_options.add_options(tp)
        tp.set_defaults(func=cmd_train, gan=name)


# ---------------------------------------------------------------------------------------------------- settings
def _settings(args, out):
    """The run's settings: run.json's on --resume (a differing explicit option is an error), else the defaults."""
    chapter, _, latent, _, batch, _ = SPECS[args.gan]
    defaults = {"dataset": "mnist5k", "latent_dim": latent, "batch_size": batch, "digit": 7, "n_critic": 5,
                "gp": None, "n_cat": 10, "keras22_literal": False, "n_labelled": 100, "seed": 1}
    given = {k: getattr(args, k) for k in SETTINGS if getattr(args, k, None) is not None}
    run_json = os.path.join(out, "run.json")
    saved = {}
    if args.resume and os.path.exists(run_json):
        with open(run_json) as f:
            saved = json.load(f).get("settings", {})
        if saved.get("model", args.gan) != args.gan:
            raise UserInputError(f"{out} holds a {saved['model']} run, not {args.gan}; pick another --out")
        for k, v in given.items():
            if k in saved and k != "seed" and saved[k] != v:
                what = "latent size" if k == "latent_dim" else k
                raise UserInputError(f"--{k.replace('_', '-')} {v} does not match the run being resumed "
                                     f"({what} {saved[k]} in {run_json}); drop the option or train into a new --out")
    settings = {k: v for k, v in defaults.items() if k in SETTINGS}
    settings.update({k: v for k, v in saved.items() if k in SETTINGS})
    if not saved:
        settings.update(given)
    settings["model"] = args.gan
    return settings


def _data(name, s):
    from .conditional import DataError, load_labelled, require_labels
    X, y = load_labelled(s["dataset"])
    if SPECS[name][5]:
        require_labels(y, s["dataset"], name)
    if name == "wgan" and s["digit"] >= 0:
        if y is None:
            raise DataError(f"{s['dataset']} has no labels to select --digit {s['digit']}: pass --digit -1")
        X = X[y == s["digit"]]
    if len(X) < s["batch_size"]:
        raise DataError(f"{s['dataset']}: {len(X)} images, fewer than one batch of {s['batch_size']}")
    return X, y


# ------------------------------------------------------------------------------------------------------- models
def _build(name, s, X, y):
    """(generator, train(**kw) -> result, extra models for scoring) for model ``name`` with settings ``s``."""
    from importlib import import_module
    m = import_module(f"tinygan.gans.{name}")
    latent = s["latent_dim"]
    if name == "wgan":
        c = m.define_critic(gp=bool(s["gp"]))
        g = m.define_generator(latent)
        gan = m.define_gan(g, c, m.gp_optimizer() if s["gp"] else None)
        return g, lambda **kw: m.train(g, c, gan, X, latent, n_critic=s["n_critic"], gp_weight=s["gp"], **kw), {}
    if name == "infogan":
        g = m.define_generator(latent + s["n_cat"])
        d, q = m.define_discriminator(s["n_cat"])
        gan = m.define_gan(g, d, q, literal=s["keras22_literal"])
        return g, lambda **kw: m.train(g, d, gan, X, latent, s["n_cat"], q_model=q, **kw), {"q_model": q}
    if name == "sgan":
        from .dcgan_mnist import split_mnist_5k
        d, c = m.define_discriminator()
        g = m.define_generator(latent)
        gan = m.define_gan(g, d)
        test = None
        if s["dataset"] == "mnist5k":
            _, (tx, ty) = split_mnist_5k()
            test = ((tx.astype('float32')[..., None] - 127.5) / 127.5, ty)
        return g, lambda **kw: m.train(g, d, c, gan, [X, y], latent, n_labelled=s["n_labelled"], test=test,
                                       **kw), {"c_model": c, "test": test}
    d = m.define_discriminator()
    g = m.define_generator(latent)
    gan = m.define_gan(g, d)
    data = [X, y] if SPECS[name][5] else X
    return g, lambda **kw: m.train(g, d, gan, data, latent, **kw), {}


def cmd_train(args):
    return one_line_errors(f"tinygan {args.gan} train")(_train)(args)


def _train(args):
    _agg()
    name = args.gan
    out = _run_dir(args, os.path.join("runs", name))
    s = _settings(args, out)
    _seed(s["seed"])
    X, y = _data(name, s)
    chapter = SPECS[name][0]
    bat_per_epo = int(len(X) / s["batch_size"])
    print(f"run folder: {out}\ndata: {s['dataset']} ({len(X)} images); chapter {chapter} {name}; {args.epochs} "
          f"epochs of {bat_per_epo} batches of {s['batch_size']}")
    os.makedirs(out, exist_ok=True)
    _write_json(os.path.join(out, "run.json"), {"settings": s, "epochs": args.epochs, "chapter": chapter})
    g, train, extra = _build(name, s, X, y)
    evaluation = None
    if args.eval_every:
        digit = s["digit"] if name == "wgan" and s["digit"] >= 0 else None
        real = eval_options.real_images(s["dataset"], X, "-1-1", label=digit)
        evaluation = eval_options.make_evaluation([eval_options.latent_target(g, out, real)], out, args.features,
                                                  args.eval_every, args.eval_samples)
    res = train(n_epochs=args.epochs, n_batch=s["batch_size"], save_every=args.save_every, out_dir=out,
                max_steps=args.max_steps, max_seconds=args.max_seconds, resume=True if args.resume else None,
                checkpoint_every=args.checkpoint_every, progress=not args.no_progress,
                log=None if args.quiet else print, log_every=0 if args.quiet else args.log_every,
                on_nan=_on_nan(args), evaluation=evaluation)
    metrics = {"step": res["step"], "n_steps": res["n_steps"], "seconds": res["seconds"],
               "steps_per_s": res["steps_per_s"], "stopped": res["stopped"],
               "findings": [str(f) for f in res["findings"]], **(evaluation.latest if evaluation else {})}
    if args.score:
        from . import quality
        clf, acc = quality.get_classifier(args.classifier, log=None)
        metrics["classifier_test_accuracy"] = acc
        metrics["quality"] = quality.score_part3(name, g, s, clf, **extra)
        print("quality:", json.dumps(metrics["quality"]))
    _write_json(os.path.join(out, "metrics.json"), metrics)
    return _stop_code(res)


# ------------------------------------------------------------------------------------------------------ sampling
def _run_settings(filename):
    path = os.path.join(os.path.dirname(os.path.abspath(filename)), "run.json")
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f).get("settings", {})


def _n_classes(g):
    emb = [layer for layer in g.layers if type(layer).__name__ == "Embedding"]
    return emb[0].input_dim if emb else 10


def generator_inputs(g, latent_dim, filename, n, constant=None, klass=None, code=None):
    """The inputs ``tinygan sample`` feeds a saved generator: latent points, ``[z, labels]`` for a conditional
    generator (``klass``, or one class per grid column), ``[z | one-hot code]`` for InfoGAN (``code``, or random).
    Raises :class:`~tinygan.gans.conditional.DataError` with one line for a request the model cannot serve."""
    import numpy as np

    from .conditional import DataError, check_class, class_rows, latent_points
    settings = _run_settings(filename)
    conditional = isinstance(g.input_shape, list)
    if klass is not None and not conditional:
        raise DataError(f"--class needs a conditional generator (cgan, acgan); {filename} takes one input")
    if code is not None and settings.get("model") != "infogan":
        raise DataError(f"--code needs an InfoGAN generator; {filename} is not from an infogan run (its run.json "
                        "says so)")
    if conditional:
        n_classes = _n_classes(g)
        check_class(klass, n_classes)
        labels = np.full(n, klass) if klass is not None else class_rows(n_classes, -(-n // n_classes))[:n]
        z = np.full((n, latent_dim), constant) if constant is not None else latent_points(latent_dim, n)
        return [z.astype("float32"), labels]
    if settings.get("model") == "infogan":
        from .infogan import generate_latent_points
        n_cat = settings.get("n_cat", 10)
        if latent_dim != settings.get("latent_dim", 62) + n_cat:
            raise DataError(f"{filename} takes {latent_dim} inputs, but its run.json says latent {settings.get('latent_dim')}"
                            f" + {n_cat} code values; the generator does not belong to that run")
        check_class(code, n_cat, "--code")
        z, _ = generate_latent_points(latent_dim - n_cat, n_cat, n, codes=None if code is None else np.full(n, code))
        return z.astype("float32")
    if constant is not None:
        return np.full((1, latent_dim), constant, dtype="float32")
    return latent_points(latent_dim, n).astype("float32")
