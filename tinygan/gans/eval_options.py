"""``--eval-every``, ``--eval-samples`` and ``--features`` of the training commands: FID and KID of the generator
during training, with the same options and the same :class:`~tinygan.metrics.during_training.Evaluation` for
every command.

* :func:`add_options` puts the options on a command's parser (``dcgan train``, whose ``--eval-every`` and
  ``--eval-samples`` were already the book's summaries, gets ``--features`` alone: FID/KID at each summary);
* :func:`make_evaluation` builds the run's evaluation from them. ``--features auto`` is Inception v3 when Keras's
  weights file is in ``~/.keras/models`` and else the embedded digit classifier, trained once per run folder (with
  a fixed seed, outside the training's random streams) and kept there as ``eval_digit_classifier.h5``;
* :func:`latent_target` judges a generator from latent points (conditional ones get balanced labels, InfoGAN
  random codes), :func:`held_out_images` gives a named dataset's test split as the real images.

The evaluation options are not saved with the run: give them again with ``--resume`` (they never change the
training itself).
"""
import argparse
import os

from tinygan.training.guards import int_at_least, positive_int

FEATURE_KINDS = ("auto", "inception", "digits")
CLASSIFIER = "eval_digit_classifier.h5"
EVAL_SEED = 1  # the same evaluation latent points for every run, so two runs' numbers can be compared
DEFAULT_SAMPLES = 200


def feature_source(text):
    """argparse type of ``--features``: auto, inception, digits or an existing model file (made absolute)."""
    if text in FEATURE_KINDS:
        return text
    if os.path.isfile(text):
        return os.path.abspath(text)
    raise argparse.ArgumentTypeError(f"must be auto, inception, digits or an existing Keras model file "
                                     f"(MODEL.h5), got {text!r}" + ("" if not text.endswith(".h5") else
                                                                    ": no such file"))


def add_options(parser, summaries=False):
    """The evaluation options. ``summaries``: the command's own ``--eval-every``/``--eval-samples`` (dcgan's
    summaries) set when and on how many images; ``--features`` then turns FID/KID on."""
    g = parser.add_argument_group("evaluation (FID and KID during training; see `tinygan metrics`)")
    if summaries:
        g.add_argument("--features", type=feature_source, default=None, help="also compute FID and KID of the "
                       "summary's samples against held-out real images, with these features: auto (Inception v3 if "
                       "its Keras weights are in ~/.keras/models, else the digit classifier), inception, digits or "
                       "MODEL.h5; columns fid, kid in history.csv (default: off)")
        return g
    g.add_argument("--eval-every", type=positive_int, default=None, help="every N steps, FID and KID of "
                   "--eval-samples generated images against held-out real images, as columns of the CSV log and "
                   "in fid_kid.png (default: off)")
    g.add_argument("--eval-samples", type=int_at_least(2), default=DEFAULT_SAMPLES, help="images per evaluation "
                   f"(default {DEFAULT_SAMPLES}; fewer when the held-out set is smaller)")
    g.add_argument("--features", type=feature_source, default="auto", help="auto (default: Inception v3 if its "
                   "Keras weights are in ~/.keras/models, else the embedded digit classifier), inception, digits or "
                   "MODEL.h5 (any Keras model: its outputs)")
    return g


def make_evaluation(targets, out_dir, features, every, n_samples, value_range="-1-1", log=print):
    """The run's :class:`~tinygan.metrics.during_training.Evaluation` (its extractor built and the real images'
    features computed now, so that a missing weights file fails before training)."""
    from tinygan import random as tg_random
    from tinygan.metrics.during_training import Evaluation
    from tinygan.metrics.features import make_extractor
    from tinygan.training import rng_isolated

    with rng_isolated():  # a digit classifier trained here draws from its own seeded streams
        tg_random.seed(EVAL_SEED)
        extractor = make_extractor(features, "features", classifier=os.path.join(out_dir, CLASSIFIER), log=log)
        evaluation = Evaluation(targets, extractor, every, n_samples, seed=EVAL_SEED, value_range=value_range)
    if log:
        log(evaluation.describe())
    return evaluation


def latent_target(g_model, out_dir, real):
    """The target for a generator from latent points, with the inputs ``tinygan sample`` gives it (the run's
    ``run.json`` in ``out_dir`` says whether it is an InfoGAN)."""
    from tinygan.metrics.during_training import Target

    from .part3_cli import generator_inputs
    shape = g_model.input_shape
    latent_dim = int((shape[0] if isinstance(shape, list) else shape)[-1])
    run_json = os.path.join(out_dir, "run.json")
    return Target("", lambda n: g_model.predict(generator_inputs(g_model, latent_dim, run_json, n)), real)


def held_out_images(dataset, value_range, label=None):
    """The test split of a named dataset (mnist5k's 1,000 held-out digits, mnist, fashion_mnist, cifar10) in
    ``value_range`` as float32 (n, h, w, c), only class ``label`` when given; None for a file of images."""
    import numpy as np

    if dataset == "mnist5k":
        from .dcgan_mnist import split_mnist_5k
        _, (x, y) = split_mnist_5k()
    elif dataset in ("mnist", "fashion_mnist", "cifar10"):
        from importlib import import_module
        _, (x, y) = import_module(f"tinygan.keras.datasets.{dataset}").load_data()
    else:
        return None
    x = np.asarray(x)
    if label is not None:
        x = x[np.asarray(y).reshape(-1) == label]
    x = x[..., None] if x.ndim == 3 else x
    x = x.astype("float32")
    return x / np.float32(255.0) if value_range == "0-1" else (x - np.float32(127.5)) / np.float32(127.5)


def real_images(dataset, training_images, value_range, label=None, log=print):
    """:func:`held_out_images`, or (a file of images has no test split, or the dataset cannot be loaded) the
    training images, said so."""
    try:
        held_out = held_out_images(dataset, value_range, label)
        why = "has no held-out split"
    except OSError as exc:  # e.g. the full MNIST offline (training fell back to the embedded digits)
        held_out, why = None, f"held-out split is unavailable ({str(exc).splitlines()[0]})"
    if held_out is not None:
        return held_out
    if log:
        log(f"note: {os.path.basename(str(dataset))} {why}: FID/KID compare with training images")
    return training_images
