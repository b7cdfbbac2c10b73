"""Chapter 6: a 1D GAN that learns the function y = x**2 for x in [-0.5, 0.5].

The functions are the book's (Listings 6.1-6.29), on ``tinygan.keras``:

* :func:`calculate`, :func:`generate_samples` / :func:`generate_real_samples` (real points ``(x, x**2)``),
  :func:`generate_random_fake_samples` (uniform noise in [-1, 1]^2, for the D-only experiment),
  :func:`generate_latent_points`, :func:`generate_fake_samples`;
* :func:`define_discriminator` (101 params), :func:`define_generator` (122 params), :func:`define_gan` (223 total,
  122 trainable);
* :func:`train_discriminator` (Listing 6.9: prints ``i acc_real acc_fake``);
* :func:`train` (Listing 6.28): 10,000 iterations of a 64 real + 64 fake discriminator update and a 128-point
  generator update; every ``n_eval`` (2,000) iterations :func:`summarize_performance` prints
  ``epoch acc_real acc_fake`` and saves the scatter plot ``generated_plot_e%03d.png``.

Added around the book's loop (see :class:`tinygan.training.diagnostics.TrainingSession`): an output folder,
budgets (``max_steps``, ``max_seconds``), resumable checkpoints, a per-step CSV and the two-panel loss plot, and
:func:`error_report`, the objective measure the book mentions but does not compute: the mean ``|y - x**2|`` of
generated points and their x range.
"""
import os

import numpy as np
from numpy import hstack, ones, zeros
from numpy.random import rand, randn

from tinygan.keras.layers import Dense
from tinygan.keras.models import Sequential


# simple function
def calculate(x):
    return x * x


# generate n real samples with class labels
def generate_samples(n=100):
    # generate random inputs in [-0.5, 0.5]
    X1 = rand(n) - 0.5
    # generate outputs X^2 (quadratic)
    X2 = X1 * X1
    # stack arrays
    X1 = X1.reshape(n, 1)
    X2 = X2.reshape(n, 1)
    return hstack((X1, X2))


# generate n real samples with class labels
def generate_real_samples(n):
    X = generate_samples(n)
    # generate class labels
    y = ones((n, 1))
    return X, y


# generate n fake samples with class labels (uniform noise, the D-only experiment of Listing 6.8)
def generate_random_fake_samples(n):
    # generate inputs in [-1, 1]
    X1 = -1 + rand(n) * 2
    # generate outputs in [-1, 1]
    X2 = -1 + rand(n) * 2
    # stack arrays
    X1 = X1.reshape(n, 1)
    X2 = X2.reshape(n, 1)
    X = hstack((X1, X2))
    # generate class labels
    y = zeros((n, 1))
    return X, y


# define the standalone discriminator model
def define_discriminator(n_inputs=2):
    model = Sequential()
    model.add(Dense(25, activation='relu', kernel_initializer='he_uniform', input_dim=n_inputs))
    model.add(Dense(1, activation='sigmoid'))
    # compile model
    model.compile(loss='binary_crossentropy', optimizer='adam', metrics=['accuracy'])
    return model


# define the standalone generator model
def define_generator(latent_dim, n_outputs=2):
    model = Sequential()
    model.add(Dense(15, activation='relu', kernel_initializer='he_uniform', input_dim=latent_dim))
    model.add(Dense(n_outputs, activation='linear'))
    return model


# define the combined generator and discriminator model, for updating the generator
def define_gan(generator, discriminator):
    # make weights in the discriminator not trainable
    discriminator.trainable = False
    # connect them
    model = Sequential()
    # add generator
    model.add(generator)
    # add the discriminator
    model.add(discriminator)
    # compile model
    model.compile(loss='binary_crossentropy', optimizer='adam')
    return model


# train the discriminator model (Listing 6.9)
def train_discriminator(model, n_epochs=1000, n_batch=128, log=print):
    half_batch = int(n_batch / 2)
    acc_real = acc_fake = None
    # run epochs manually
    for i in range(n_epochs):
        # generate real examples
        X_real, y_real = generate_real_samples(half_batch)
        # update model
        model.train_on_batch(X_real, y_real)
        # generate fake examples
        X_fake, y_fake = generate_random_fake_samples(half_batch)
        # update model
        model.train_on_batch(X_fake, y_fake)
        # evaluate the model
        _, acc_real = model.evaluate(X_real, y_real, verbose=0)
        _, acc_fake = model.evaluate(X_fake, y_fake, verbose=0)
        if log:
            log('%s %s %s' % (i, _num(acc_real), _num(acc_fake)))
    return acc_real, acc_fake


def _f(v):
    return float(np.asarray(v).reshape(-1)[0])


def _num(v):
    """Print an accuracy as Python prints a float (``1.0``, ``0.875``), like the book's ``print(i, acc, acc)``."""
    return repr(round(float(v), 10))


# generate points in latent space as input for the generator
def generate_latent_points(latent_dim, n):
    # generate points in the latent space
    x_input = randn(latent_dim * n)
    # reshape into a batch of inputs for the network
    x_input = x_input.reshape(n, latent_dim)
    return x_input


# use the generator to generate n fake examples, with class labels
def generate_fake_samples(generator, latent_dim, n):
    # generate points in latent space
    x_input = generate_latent_points(latent_dim, n)
    # predict outputs
    X = generator.predict(x_input)
    # create class labels
    y = zeros((n, 1))
    return X, y


def error_report(generator, latent_dim, n=1000):
    """The objective error the book mentions (L4933-4937): for ``n`` generated points ``(x, y)``, the mean
    ``|y - x**2|``, the x range, and the share of x inside [-0.5, 0.5]."""
    X, _ = generate_fake_samples(generator, latent_dim, n)
    x, y = X[:, 0].astype(np.float64), X[:, 1].astype(np.float64)
    return {"n": int(n), "mean_abs_error": float(np.mean(np.abs(y - calculate(x)))),
            "x_min": float(x.min()), "x_max": float(x.max()),
            "x_in_domain": float(np.mean((x >= -0.5) & (x <= 0.5)))}


# evaluate the discriminator and plot real and fake points
def summarize_performance(epoch, generator, discriminator, latent_dim, n=100, out_dir=".", log=print, run=None):
    from matplotlib import pyplot
    # prepare real samples
    x_real, y_real = generate_real_samples(n)
    # evaluate discriminator on real examples
    _, acc_real = discriminator.evaluate(x_real, y_real, verbose=0)
    # prepare fake examples
    x_fake, y_fake = generate_fake_samples(generator, latent_dim, n)
    # evaluate discriminator on fake examples
    _, acc_fake = discriminator.evaluate(x_fake, y_fake, verbose=0)
    # summarize discriminator performance
    if log:
        log('%s %s %s' % (epoch, _num(acc_real), _num(acc_fake)))
    if run is not None:
        run.check_samples(x_fake, x_real)
    # scatter plot real and fake data points
    fig = pyplot.figure()
    pyplot.scatter(x_real[:, 0], x_real[:, 1], color='red')
    pyplot.scatter(x_fake[:, 0], x_fake[:, 1], color='blue')
    # save plot to file
    filename = os.path.join(out_dir, 'generated_plot_e%03d.png' % (epoch + 1))
    pyplot.savefig(filename)
    pyplot.close(fig)
    return acc_real, acc_fake, filename


# train the generator and discriminator
def train(g_model, d_model, gan_model, latent_dim, n_epochs=10000, n_batch=128, n_eval=2000, *, out_dir=".",
          max_steps=None, max_seconds=None, resume=None, checkpoint_every=None, progress=False, log=print,
          monitor=True, on_nan="stop"):
    """Listing 6.28. ``n_epochs`` is the number of iterations (the book calls each one an epoch).

    Extras (keyword-only): ``out_dir`` for every file; ``max_steps``/``max_seconds`` budgets; ``resume``
    (checkpoint path, or True for ``out_dir/checkpoint.npz``); ``checkpoint_every`` steps; ``progress`` bar;
    ``log`` (``print``; None for silence); ``monitor`` (failure detectors); ``on_nan`` ('stop' at the first NaN
    loss, or 'continue'). Returns the session's result dict
    plus ``error`` (:func:`error_report` on 1,000 points at the end).
    """
    from tinygan.training.diagnostics import TrainingSession
    # determine half the size of one batch, for updating the discriminator
    half_batch = int(n_batch / 2)
    models = {"d_model": d_model, "g_model": g_model, "gan_model": gan_model}
    run = TrainingSession(models, n_epochs, out_dir=out_dir, desc="gan1d", resume=resume,
                          checkpoint_every=checkpoint_every, max_steps=max_steps, max_seconds=max_seconds,
                          progress=progress, log=log, monitor=monitor, on_nan=on_nan,
                          extra={"chapter": 6, "latent_dim": latent_dim, "n_batch": n_batch, "n_eval": n_eval})
    with run:
        # manually enumerate epochs
        for i in range(run.start, run.end):
            # prepare real samples
            x_real, y_real = generate_real_samples(half_batch)
            # prepare fake examples
            x_fake, y_fake = generate_fake_samples(g_model, latent_dim, half_batch)
            # update discriminator
            d_loss1, d_acc1 = d_model.train_on_batch(x_real, y_real)
            d_loss2, d_acc2 = d_model.train_on_batch(x_fake, y_fake)
            # prepare points in latent space as input for the generator
            x_gan = generate_latent_points(latent_dim, n_batch)
            # create inverted labels for the fake samples
            y_gan = ones((n_batch, 1))
            # update the generator via the discriminator's error
            g_loss = gan_model.train_on_batch(x_gan, y_gan)
            # evaluate the model every n_eval epochs
            if (i + 1) % n_eval == 0:
                summarize_performance(i, g_model, d_model, latent_dim, out_dir=out_dir, log=run.write, run=run)
            if not run.record(i + 1, d1=_f(d_loss1), d2=_f(d_loss2), g=_f(g_loss), a1=_f(d_acc1), a2=_f(d_acc2)):
                break
    return run.result(error=error_report(g_model, latent_dim))


def main(latent_dim=5, **train_kwargs):
    """The complete example (Listing 6.29): build the three models and train."""
    # create the discriminator
    discriminator = define_discriminator()
    # create the generator
    generator = define_generator(latent_dim)
    # create the gan
    gan_model = define_gan(generator, discriminator)
    # train model
    result = train(generator, discriminator, gan_model, latent_dim, **train_kwargs)
    return generator, discriminator, gan_model, result
