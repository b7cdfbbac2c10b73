"""Chapter 15: the least squares GAN (LSGAN) for MNIST digits (Listings 15.1-15.10) on ``tinygan.keras``.

* :func:`define_discriminator`: strided 4x4 convs with BatchNorm and LeakyReLU(0.2), a *linear* Dense(1) output,
  ``loss='mse'`` (139,329 params, 384 non-trainable);
* :func:`define_generator`: Dense(12544) + BatchNorm + ReLU, two 4x4 transposed convs, a 7x7 conv and tanh
  (1,976,577 params, 25,472 non-trainable);
* :func:`define_gan`: the frozen discriminator behind the generator, also ``mse`` (targets 1 for the fakes);
* :func:`train`: per step, two separate discriminator updates (32 real with target 1, 32 fake with target 0) and
  one generator update on 64 latent points, printed as ``>%d, d1=%.3f, d2=%.3f g=%.3f``; once per epoch
  :func:`summarize_performance` saves ``generated_plot_%06d.png`` and ``model_%06d.h5``; at the end the loss plot
  (``dloss1``, ``dloss2``, ``gloss``) goes to ``plot_line_plot_loss.png``.
"""
from numpy import ones

from tinygan.keras.initializers import RandomNormal
from tinygan.keras.layers import (Activation, BatchNormalization, Conv2D, Conv2DTranspose, Dense, Flatten, LeakyReLU,
                                  Reshape)
from tinygan.keras.models import Sequential
from tinygan.keras.optimizers import Adam

from .conditional import (composite, fake_samples, generate_real_samples, latent_points, run_training,
                          save_plot_and_model, scalar)

PLOT_LABELS = {"d1": "dloss1", "d2": "dloss2", "g": "gloss"}


# define the standalone discriminator model
def define_discriminator(in_image=(28, 28, 1)):
    # weight initialization
    init = RandomNormal(stddev=0.02)
    # define model
    model = Sequential()
    # downsample to 14x14, then to 7x7
    for filters in (64, 128):
        model.add(Conv2D(filters, (4, 4), strides=(2, 2), padding='same', kernel_initializer=init,
                         **({"input_shape": in_image} if filters == 64 else {})))
        model.add(BatchNormalization())
        model.add(LeakyReLU(alpha=0.2))
    # classifier
    model.add(Flatten())
    model.add(Dense(1, activation='linear', kernel_initializer=init))
    # define model
    model.compile(loss='mse', optimizer=Adam(lr=0.0002, beta_1=0.5))
    return model


# define the standalone generator model
def define_generator(latent_dim):
    # weight initialization
    init = RandomNormal(stddev=0.02)
    # define model, starting with the foundation for 7x7 image
    model = Sequential([Dense(256 * 7 * 7, kernel_initializer=init, input_dim=latent_dim), BatchNormalization(),
                        Activation('relu'), Reshape((7, 7, 256))])
    # upsample to 14x14, then to 28x28
    for filters in (128, 64):
        model.add(Conv2DTranspose(filters, (4, 4), strides=(2, 2), padding='same', kernel_initializer=init))
        model.add(BatchNormalization())
        model.add(Activation('relu'))
    # output 28x28x1
    model.add(Conv2D(1, (7, 7), padding='same', kernel_initializer=init))
    model.add(Activation('tanh'))
    return model


# define the combined generator and discriminator model, for updating the generator
def define_gan(generator, discriminator):
    """Listing 15.3: the composite, compiled with L2 loss (``mse``)."""
    return composite(generator, discriminator, 'mse')


# use the generator to generate n fake examples, with class labels
def generate_fake_samples(generator, latent_dim, n_samples):
    return fake_samples(generator, latent_dim, n_samples)


# generate samples and save as a plot and save the model
def summarize_performance(step, g_model, latent_dim, n_samples=100, out_dir=".", log=print):
    # prepare fake examples
    X, _ = generate_fake_samples(g_model, latent_dim, n_samples)
    # save plot to file and the generator model
    return save_plot_and_model(step, X, g_model, out_dir, log, width=6, message='Saved %s and %s')


# train the generator and discriminator
def train(g_model, d_model, gan_model, dataset, latent_dim, n_epochs=20, n_batch=64, *, save_every=None, out_dir=".",
          log=print, **session):
    """Listing 15.10. ``save_every``: steps between summaries (default: one epoch, as the book); ``session``:
    the keyword options of :func:`tinygan.gans.conditional.run_training` (budgets, resume, progress, ...)."""
    # calculate the number of batches per training epoch
    bat_per_epo = int(dataset.shape[0] / n_batch)
    # calculate the number of training iterations
    n_steps = bat_per_epo * n_epochs
    # calculate the size of half a batch of samples
    half_batch = int(n_batch / 2)

    def step(i):
        # prepare real and fake samples
        X_real, y_real = generate_real_samples(dataset, half_batch)
        X_fake, y_fake = generate_fake_samples(g_model, latent_dim, half_batch)
        # update discriminator model
        d_loss1 = d_model.train_on_batch(X_real, y_real)
        d_loss2 = d_model.train_on_batch(X_fake, y_fake)
        # update the generator via the discriminator's error
        z_input = latent_points(latent_dim, n_batch)
        y_real2 = ones((n_batch, 1))
        g_loss = gan_model.train_on_batch(z_input, y_real2)
        return {"d1": scalar(d_loss1), "d2": scalar(d_loss2), "g": scalar(g_loss)}

    return run_training(
        {"d_model": d_model, "g_model": g_model, "gan_model": gan_model}, n_steps, step,
        lambda i, v: '>%d, d1=%.3f, d2=%.3f g=%.3f' % (i + 1, v["d1"], v["d2"], v["g"]),
        fields=("d1", "d2", "g"), plot_labels=PLOT_LABELS, desc="lsgan", save_every=save_every or bat_per_epo,
        summarize=lambda i, write: summarize_performance(i, g_model, latent_dim, out_dir=out_dir, log=write),
        samples=lambda: (generate_fake_samples(g_model, latent_dim, 100)[0], generate_real_samples(dataset, 100)[0]),
        out_dir=out_dir, log=log, extra={"chapter": 15, "latent_dim": latent_dim, "n_batch": n_batch}, **session)
