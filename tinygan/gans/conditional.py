"""What the book's chapter 15-20 GANs (LSGAN, WGAN, cGAN, InfoGAN, AC-GAN, SGAN) share, written once.

* data: :func:`load_labelled` gives ``(X, y)`` with X float32 ``(n, 28, 28, 1)`` in [-1,1] (the book's
  ``load_real_samples``) and integer labels ``y`` (None for an npz without labels). The default ``'mnist5k'`` is the
  4,000 training digits of the embedded MNIST sample (:func:`tinygan.gans.dcgan_mnist.split_mnist_5k`), so the
  other 1,000 stay held out for the quality checks; ``'mnist'`` / ``'fashion_mnist'`` are the book's datasets
  through ``tinygan.keras.datasets``; a PATH is an npz with images (``x`` or ``arr_0``) and optional labels
  (``y`` or ``arr_1``).
* sampling: :func:`generate_real_samples` (``randint`` with replacement, as the book), :func:`latent_points`
  (``randn`` points plus ``randint`` class labels when ``n_classes`` is given).
* output: :func:`save_grid` (the book's ``n x n`` ``gray_r`` grid after ``(X + 1) / 2``), :func:`plot_lines` (the
  book's line plot of the loss histories, with its legend labels).
* :func:`run_training`: the loop around a book training step -- a :class:`~tinygan.training.diagnostics.
  TrainingSession` (progress bar, ``history.csv``, loss plot, checkpoints, exact resume, Ctrl-C, budgets, the
  chapter 10 failure detectors), the book's per-step log line, and its periodic summary -- so each chapter's
  ``train`` only states its step.
"""
import os

import numpy as np
from numpy.random import randint, randn

from ..errors import UserInputError
from .hacks import unscale_images

N_CLASSES = 10


class DataError(UserInputError):
    """A dataset that cannot be used as asked (unknown name, missing labels, too few images)."""


# ------------------------------------------------------------------------------------------------------ data
def _scale(images):
    """uint8 [0,255] (or float [0,255]) images -> float32 ``(n, h, w, 1)`` in [-1,1], as ``load_real_samples``."""
    X = np.asarray(images)
    if X.ndim == 3:
        X = np.expand_dims(X, axis=-1)
    X = X.astype('float32')
    if np.asarray(images).dtype == np.uint8 or X.max() > 1.5:
        return (X - 127.5) / 127.5
    return X * 2.0 - 1.0 if X.min() >= 0.0 else X


def _read_npz(path):
    if not os.path.exists(path):
        raise DataError(f"--dataset {path!r} is neither mnist5k, mnist, fashion_mnist nor an existing npz file")
    with np.load(path, allow_pickle=False) as data:
        files = data.files
        xkey = next((k for k in ("x", "arr_0", "images", "X") if k in files), None)
        if xkey is None:
            raise DataError(f"{path} holds {files} but no images: save them under 'x' (or 'arr_0')")
        ykey = next((k for k in ("y", "arr_1", "labels") if k in files), None)
        x = data[xkey]
        y = data[ykey] if ykey else None
    if x.ndim not in (3, 4) or (x.ndim == 4 and x.shape[-1] != 1):
        raise DataError(f"{path}: images of shape {x.shape[1:]}; these models take 28x28 grayscale (n, 28, 28) "
                        "or (n, 28, 28, 1)")
    if y is not None and len(y) != len(x):
        raise DataError(f"{path}: {len(x)} images but {len(y)} labels")
    return x, y


def load_labelled(dataset="mnist5k", log=print):
    """``(X, y)``: images in [-1,1] as float32 ``(n, 28, 28, 1)`` and integer labels (None when the npz has none)."""
    if dataset == "mnist5k":
        from .dcgan_mnist import split_mnist_5k
        (x, y), _ = split_mnist_5k()
    elif dataset == "mnist":
        from .dcgan_mnist import load_mnist
        x, y = load_mnist("mnist", log=log)
    elif dataset == "fashion_mnist":
        from tinygan.keras.datasets import fashion_mnist
        try:
            (x, y), _ = fashion_mnist.load_data()
        except OSError as exc:
            raise DataError(f"Fashion-MNIST is unavailable ({str(exc).splitlines()[0]}); place it in the cache "
                            "or use --dataset mnist5k") from exc
    else:
        x, y = _read_npz(dataset)
    X = _scale(x)
    if X.shape[1:3] != (28, 28):
        raise DataError(f"{dataset}: images of {X.shape[1:3]}; the chapter 15-20 models take 28x28")
    return X, (None if y is None else np.asarray(y).astype('int64').reshape(-1))


def require_labels(y, dataset, model, n_classes=N_CLASSES):
    """Check that a conditional model got labels in ``0..n_classes-1``; one clear line otherwise."""
    if y is None:
        raise DataError(f"{dataset} has no labels, but {model} is a conditional model: save the labels in the npz "
                        "as 'y' (or 'arr_1'), or train lsgan/wgan, which need none")
    if y.min() < 0 or y.max() >= n_classes:
        raise DataError(f"{dataset}: labels range over {int(y.min())}..{int(y.max())}, but {model} has "
                        f"{n_classes} classes (0..{n_classes - 1})")


def check_class(k, n_classes, what="--class"):
    """A requested class (or categorical code) must lie in ``0..n_classes-1``."""
    if k is not None and not 0 <= k < n_classes:
        raise DataError(f"{what} {k} is outside 0..{n_classes - 1}: the model has {n_classes} classes")


# -------------------------------------------------------------------------------------------------- sampling
def generate_real_samples(dataset, n_samples, label=1.0):
    """``(X, y)``: ``n_samples`` images drawn with replacement and targets ``label``; for a ``[images, labels]``
    dataset ``X`` is ``[images, class_labels]`` (chapters 17 and 19)."""
    if isinstance(dataset, (list, tuple)):
        images, labels = dataset
        # choose random instances
        ix = randint(0, images.shape[0], n_samples)
        # select images and labels
        X = [images[ix], labels[ix]]
    else:
        ix = randint(0, dataset.shape[0], n_samples)
        X = dataset[ix]
    # generate class labels
    y = np.full((n_samples, 1), label)
    return X, y


def latent_points(latent_dim, n_samples, n_classes=None):
    """``randn`` latent points ``(n, latent_dim)``; with ``n_classes``, ``[z, labels]`` with ``randint`` labels."""
    # generate points in the latent space
    x_input = randn(latent_dim * n_samples)
    # reshape into a batch of inputs for the network
    z_input = x_input.reshape(n_samples, latent_dim)
    if n_classes is None:
        return z_input
    # generate labels
    labels = randint(0, n_classes, n_samples)
    return [z_input, labels]


def class_rows(n_classes=N_CLASSES, per_class=N_CLASSES):
    """Labels ``0..n-1`` repeated (Listing 17.25): in an ``n x n`` grid each column is one class."""
    return np.asarray([x for _ in range(per_class) for x in range(n_classes)])


def fake_samples(generator, latent_dim, n_samples, n_classes=None, label=0.0):
    """``generate_fake_samples``: images from ``randn`` latent points (with random class labels, given
    ``n_classes``: then the images come back as ``[images, labels]``) and targets ``label`` (0; WGAN: +1)."""
    inputs = latent_points(latent_dim, n_samples, n_classes)
    # predict outputs
    images = generator.predict(inputs)
    # create class labels
    y = np.full((n_samples, 1), label)
    return ([images, inputs[1]] if n_classes else images), y


def composite(g_model, d_model, loss, opt=None):
    """``define_gan``: the discriminator frozen (``trainable = False`` before compiling) behind the generator,
    compiled with ``loss`` and ``opt`` (the book's Adam(lr=0.0002, beta_1=0.5) by default). Two Sequential models
    are stacked in a Sequential (chapters 15-16); otherwise the discriminator is called on the generator's output
    (chapters 19-20)."""
    from tinygan.keras.models import Model, Sequential
    from tinygan.keras.optimizers import Adam
    # make weights in the discriminator not trainable
    d_model.trainable = False
    if isinstance(g_model, Sequential) and isinstance(d_model, Sequential):
        model = Sequential([g_model, d_model])
    else:
        model = Model(g_model.input, d_model(g_model.output))
    model.compile(loss=loss, optimizer=opt or Adam(lr=0.0002, beta_1=0.5))
    return model


# ---------------------------------------------------------------------------------------------------- output
def save_grid(X, filename, n=10):
    """The book's sample plot: ``(X + 1) / 2`` in an ``n x n`` ``gray_r`` grid, axes off, saved to ``filename``."""
    from .latent import plot_grid
    return plot_grid(unscale_images(X), n, n, filename=filename, cmap='gray_r')


def save_plot_and_model(step, X, g_model, out_dir=".", log=print, width=4, message='>Saved: %s and %s', n=10,
                        copies=()):
    """The book's ``summarize_performance`` files: the grid of ``X`` in ``generated_plot_%0<width>d.png`` and the
    generator in ``model_%0<width>d.h5`` (and in each of ``copies``), for ``step + 1``; logs ``message``."""
    filename1 = os.path.join(out_dir, 'generated_plot_%0*d.png' % (width, step + 1))
    save_grid(X, filename1, n=n)
    filename2 = os.path.join(out_dir, 'model_%0*d.h5' % (width, step + 1))
    g_model.save(filename2)
    for name in copies:
        g_model.save(os.path.join(out_dir, name))
    if log:
        log(message % (filename1, filename2))
    return filename1, filename2


def summarize_conditional(step, g_model, latent_dim, n_classes=N_CLASSES, out_dir=".", log=print, copies=()):
    """A 10x10 grid with one class per column (Listing 17.25's labels) and the generator (see
    :func:`save_plot_and_model`; ``copies``: e.g. the book's ``cgan_generator.h5``)."""
    labels = class_rows(n_classes)
    X = g_model.predict([latent_points(latent_dim, len(labels)), labels])
    return save_plot_and_model(step, X, g_model, out_dir, log, n=n_classes, copies=copies)


def save_models(step, models, plot_file, out_dir=".", log=print):
    """Save each of ``models`` ({file pattern: model}, e.g. ``{'g_model_%04d.h5': g}``) for ``step + 1`` and print
    the book's ``>Saved: %s, %s, and %s`` line after the sample plot ``plot_file``."""
    names = [plot_file]
    for pattern, model in models.items():
        names.append(os.path.join(out_dir, pattern % (step + 1)))
        model.save(names[-1])
    if log:
        log('>Saved: ' + ', '.join(names[:-1]) + ', and ' + names[-1])
    return names


def plot_lines(history, labels, filename):
    """The book's loss plot: one line per column of ``history`` named in ``labels`` ({column: legend label})."""
    from matplotlib import pyplot
    fig = pyplot.figure()
    for column, label in labels.items():
        if column in history:
            pyplot.plot(history[column], label=label)
    pyplot.legend()
    pyplot.savefig(filename)
    pyplot.close(fig)
    return filename


def scalar(v):
    """A loss as a Python float (``train_on_batch`` returns numpy scalars or lists)."""
    return float(np.asarray(v, dtype=np.float64).reshape(-1)[0])


# ------------------------------------------------------------------------------------------------------ loop
def run_training(models, n_steps, step, line, *, fields, plot_labels, desc, save_every, summarize, out_dir=".",
                 extra=None, max_steps=None, max_seconds=None, resume=None, checkpoint_every=None, progress=False,
                 log=print, log_every=1, monitor=True, samples=None, on_nan="stop", evaluation=None):
    """Run ``step(k)`` (0-based; returns ``{field: value}``) for steps ``0..n_steps-1`` inside a TrainingSession.

    After each step: ``line(k, values)`` is printed every ``log_every`` steps (the book prints every step), and
    every ``save_every`` steps ``summarize(k)`` writes the book's files; when a budget ends the run early, a last
    summary is written for the step reached. ``samples()`` (optional) returns ``(fake, real)`` images for the
    mode-collapse check at each summary. ``evaluation``: FID/KID columns every N steps (``--eval-every``).
    Returns the session's result dict.
    """
    from tinygan import random as tg_random
    from tinygan.training.diagnostics import TrainingSession
    run = TrainingSession(models, n_steps, out_dir=out_dir, fields=fields, desc=desc, resume=resume,
                          checkpoint_every=checkpoint_every, max_steps=max_steps, max_seconds=max_seconds,
                          progress=progress, log=log, monitor=monitor, extra=extra, on_nan=on_nan,
                          evaluation=evaluation, plot=lambda h, filename: plot_lines(h, plot_labels, filename))
    last_summary = None
    with run:
        for k in range(run.start, run.end):
            values = step(k)
            if log_every and (k + 1) % log_every == 0:
                run.write(line(k, values))
            if (k + 1) % save_every == 0:
                summarize(k, run.write)
                last_summary = k + 1
                if samples is not None:
                    run.check_samples(*samples())
            if not run.record(k + 1, **values):
                break
        if run.step > run.start and last_summary != run.step and run.stopped in ("budget", "max_steps"):
            # this extra summary's latent draws must not reach the checkpoint's random state: an uninterrupted run
            # never makes them, and --resume would continue from a different stream
            state = tg_random.get_state()
            summarize(run.step - 1, run.write)
            tg_random.set_state(state)
    return run.result()
