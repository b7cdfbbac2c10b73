"""Chapter 8: a DCGAN for small color photographs (CIFAR-10, 32x32x3).

The functions are the book's (Listings 8.5-8.39), on ``tinygan.keras``:

* :func:`load_real_samples`: CIFAR-10 training images through ``tinygan.keras.datasets.cifar10`` (downloaded
  once, or placed in its cache) scaled to [-1,1];
* :func:`define_discriminator` (522,497 params), :func:`define_generator` (1,466,115), :func:`define_gan`
  (1,988,612 total, 1,466,115 trainable);
* :func:`train_discriminator` (``>%d real=%.0f%% fake=%.0f%%``, random-noise fakes in [-1,1]);
* :func:`train` (Listing 8.29/8.35): per batch, a discriminator update on 64 real images and one on 64 fakes, then
  a 128-point generator update, printed as ``>%d, %d/%d, d1=%.3f, d2=%.3f g=%.3f``; every 10 epochs
  :func:`summarize_performance` (150 real and 150 fake, ``>Accuracy real: %.0f%%, fake: %.0f%%``,
  ``generated_plot_e%03d.png`` as a 7x7 grid and ``generator_model_%03d.h5``);
* :func:`generate_single` (the all-0.75 latent vector of Listing 8.39).
"""
import os

import numpy as np
from numpy import ones, zeros
from numpy.random import rand, randint

from tinygan.keras.layers import Conv2D, Conv2DTranspose, Dense, Dropout, Flatten, LeakyReLU, Reshape
from tinygan.keras.models import Sequential
from tinygan.keras.optimizers import Adam

from ..errors import UserInputError

# The book repeats Listing 7.27 and the latent-point helpers unchanged in this chapter.
from .dcgan_mnist import _acc as _f
from .dcgan_mnist import define_gan, generate_fake_samples, generate_latent_points  # noqa: F401
from .dcgan_mnist import summarize_performance_with, train_discriminator_with


# define the standalone discriminator model
def define_discriminator(in_shape=(32, 32, 3)):
    model = Sequential()
    # normal
    model.add(Conv2D(64, (3, 3), padding='same', input_shape=in_shape))
    model.add(LeakyReLU(alpha=0.2))
    # downsample
    model.add(Conv2D(128, (3, 3), strides=(2, 2), padding='same'))
    model.add(LeakyReLU(alpha=0.2))
    # downsample
    model.add(Conv2D(128, (3, 3), strides=(2, 2), padding='same'))
    model.add(LeakyReLU(alpha=0.2))
    # downsample
    model.add(Conv2D(256, (3, 3), strides=(2, 2), padding='same'))
    model.add(LeakyReLU(alpha=0.2))
    # classifier
    model.add(Flatten())
    model.add(Dropout(0.4))
    model.add(Dense(1, activation='sigmoid'))
    # compile model
    opt = Adam(lr=0.0002, beta_1=0.5)
    model.compile(loss='binary_crossentropy', optimizer=opt, metrics=['accuracy'])
    return model


# define the standalone generator model
def define_generator(latent_dim):
    model = Sequential()
    # foundation for 4x4 image
    n_nodes = 256 * 4 * 4
    model.add(Dense(n_nodes, input_dim=latent_dim))
    model.add(LeakyReLU(alpha=0.2))
    model.add(Reshape((4, 4, 256)))
    # upsample to 8x8
    model.add(Conv2DTranspose(128, (4, 4), strides=(2, 2), padding='same'))
    model.add(LeakyReLU(alpha=0.2))
    # upsample to 16x16
    model.add(Conv2DTranspose(128, (4, 4), strides=(2, 2), padding='same'))
    model.add(LeakyReLU(alpha=0.2))
    # upsample to 32x32
    model.add(Conv2DTranspose(128, (4, 4), strides=(2, 2), padding='same'))
    model.add(LeakyReLU(alpha=0.2))
    # output layer
    model.add(Conv2D(3, (3, 3), activation='tanh', padding='same'))
    return model




# load and prepare cifar10 training images
def load_real_samples():
    """Listing 8.10: the 50,000 CIFAR-10 training images as float32 in [-1,1]."""
    from tinygan.keras.datasets.cifar10 import load_data
    # load cifar10 dataset
    (trainX, _), (_, _) = load_data()
    # convert from unsigned ints to floats
    X = trainX.astype('float32')
    # scale from [0,255] to [-1,1]
    X = (X - 127.5) / 127.5
    return X


# select real samples
def generate_real_samples(dataset, n_samples):
    # choose random instances
    ix = randint(0, dataset.shape[0], n_samples)
    # retrieve selected images
    X = dataset[ix]
    # generate 'real' class labels (1)
    y = ones((n_samples, 1))
    return X, y


# generate n fake samples with class labels (uniform noise in [-1,1], Listing 8.12)
def generate_random_fake_samples(n_samples):
    # generate uniform random numbers in [0,1]
    X = rand(32 * 32 * 3 * n_samples)
    # update to have the range [-1, 1]
    X = -1 + X * 2
    # reshape into a batch of color images
    X = X.reshape((n_samples, 32, 32, 3))
    # generate 'fake' class labels (0)
    y = zeros((n_samples, 1))
    return X, y


# train the discriminator model (Listing 8.13)
def train_discriminator(model, dataset, n_iter=20, n_batch=128, log=print):
    return train_discriminator_with(generate_real_samples, generate_random_fake_samples, model, dataset, n_iter, n_batch,
                                    log)


# create and save a plot of generated images
def save_plot(examples, epoch, n=7, out_dir=".", filename=None):
    from matplotlib import pyplot
    # scale from [-1,1] to [0,1]
    examples = (examples + 1) / 2.0
    fig = pyplot.figure()
    # plot images
    for i in range(min(n * n, len(examples))):
        # define subplot
        pyplot.subplot(n, n, 1 + i)
        # turn off axis
        pyplot.axis('off')
        # plot raw pixel data
        pyplot.imshow(np.clip(examples[i], 0, 1))
    # save plot to file
    filename = filename or os.path.join(out_dir, 'generated_plot_e%03d.png' % (epoch + 1))
    pyplot.savefig(filename)
    pyplot.close(fig)
    return filename


# evaluate the discriminator, plot generated images, save generator model
def summarize_performance(epoch, g_model, d_model, dataset, latent_dim, n_samples=150, out_dir=".", log=print,
                          run=None, plot_n=7):
    return summarize_performance_with(generate_real_samples, lambda x: save_plot(x, epoch, n=plot_n, out_dir=out_dir),
                                      epoch, g_model, d_model, dataset, latent_dim, n_samples, out_dir, log, run)


def train_separate_batches(g_model, d_model, gan_model, dataset, latent_dim, n_epochs, n_batch, summarize, *,
                           desc, chapter, eval_every=10, out_dir=".", max_steps=None, max_seconds=None, resume=None,
                           checkpoint_every=None, progress=False, log=print, log_every=1, monitor=True,
                           on_nan="stop", evaluation=None):
    """The loop of chapters 8 and 9 (Listings 8.29, 9.22): two discriminator updates (real, then fake half batch)
    and one generator update per batch. ``summarize(epoch, run)`` is called every ``eval_every`` epochs;
    ``evaluation``: FID/KID columns every N steps."""
    from tinygan.training.diagnostics import TrainingSession
    bat_per_epo = int(dataset.shape[0] / n_batch)
    half_batch = int(n_batch / 2)
    if bat_per_epo < 1:
        raise UserInputError(f"the dataset has {dataset.shape[0]} images, fewer than one batch of {n_batch}")
    models = {"d_model": d_model, "g_model": g_model, "gan_model": gan_model}
    run = TrainingSession(models, bat_per_epo * n_epochs, out_dir=out_dir, fields=("d1", "d2", "g", "a1", "a2"),
                          desc=desc, resume=resume, checkpoint_every=checkpoint_every, max_steps=max_steps,
                          max_seconds=max_seconds, progress=progress, log=log, monitor=monitor, on_nan=on_nan,
                          evaluation=evaluation, extra={"chapter": chapter, "latent_dim": latent_dim, "n_batch": n_batch,
                                 "n_epochs": n_epochs})
    last_eval = None
    with run:
        # manually enumerate epochs and batches (as one step counter, so a run can resume mid-epoch)
        for k in range(run.start, run.end):
            i, j = divmod(k, bat_per_epo)
            # get randomly selected 'real' samples
            X_real, y_real = generate_real_samples(dataset, half_batch)
            # update discriminator model weights
            d_loss1, d_acc1 = d_model.train_on_batch(X_real, y_real)
            # generate 'fake' examples
            X_fake, y_fake = generate_fake_samples(g_model, latent_dim, half_batch)
            # update discriminator model weights
            d_loss2, d_acc2 = d_model.train_on_batch(X_fake, y_fake)
            # prepare points in latent space as input for the generator
            X_gan = generate_latent_points(latent_dim, n_batch)
            # create inverted labels for the fake samples
            y_gan = ones((n_batch, 1))
            # update the generator via the discriminator's error
            g_loss = gan_model.train_on_batch(X_gan, y_gan)
            # summarize loss on this batch
            if log_every and (k + 1) % log_every == 0:
                run.write('>%d, %d/%d, d1=%.3f, d2=%.3f g=%.3f' %
                          (i + 1, j + 1, bat_per_epo, _f(d_loss1), _f(d_loss2), _f(g_loss)))
            # evaluate the model performance, sometimes
            if j + 1 == bat_per_epo and (i + 1) % eval_every == 0:
                summarize(i, run)
                last_eval = k + 1
            if not run.record(k + 1, d1=_f(d_loss1), d2=_f(d_loss2), g=_f(g_loss), a1=_f(d_acc1), a2=_f(d_acc2)):
                break
        if run.step > run.start and last_eval != run.step and run.stopped in ("budget", "max_steps"):
            summarize((run.step - 1) // bat_per_epo, run)
    return run.result()


# train the generator and discriminator
def train(g_model, d_model, gan_model, dataset, latent_dim, n_epochs=200, n_batch=128, eval_samples=150, **kwargs):
    """Listing 8.29/8.35. Keyword extras as in :func:`tinygan.gans.dcgan_mnist.train` (``eval_every``,
    ``out_dir``, ``max_steps``, ``max_seconds``, ``resume``, ``checkpoint_every``, ``progress``, ``log``,
    ``log_every``, ``monitor``) plus ``eval_samples`` (150, the book's ``n_samples``)."""
    out_dir = kwargs.get("out_dir", ".")

    def summarize(epoch, run):
        summarize_performance(epoch, g_model, d_model, dataset, latent_dim, n_samples=eval_samples, out_dir=out_dir,
                              log=run.write, run=run)

    return train_separate_batches(g_model, d_model, gan_model, dataset, latent_dim, n_epochs, n_batch, summarize,
                                  desc="dcgan-cifar10", chapter=8, **kwargs)


def generate_single(g_model, latent_dim=100, value=0.75):
    """Listing 8.39: the image (in [0,1]) for a constant latent vector (all 0.75 in the book: "a deer")."""
    vector = np.asarray([[value for _ in range(latent_dim)]], dtype='float32')
    X = g_model.predict(vector)
    # scale from [-1,1] to [0,1]
    return ((X + 1) / 2.0)[0]


def main(latent_dim=100, dataset=None, **train_kwargs):
    """The complete example (Listing 8.35)."""
    # create the discriminator
    d_model = define_discriminator()
    # create the generator
    g_model = define_generator(latent_dim)
    # create the gan
    gan_model = define_gan(g_model, d_model)
    # load image data
    dataset = load_real_samples() if dataset is None else dataset
    # train model
    result = train(g_model, d_model, gan_model, dataset, latent_dim, **train_kwargs)
    return g_model, d_model, gan_model, result
