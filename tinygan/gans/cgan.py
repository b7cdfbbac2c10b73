"""Chapter 17: the conditional GAN (cGAN) (Listings 17.18-17.24), for Fashion-MNIST in the book, digits here.

* :func:`define_discriminator`: the class label through Embedding(10, 50) and Dense(784) becomes a second image
  channel; two strided 3x3 convs with LeakyReLU(0.2), Dropout(0.4), a sigmoid Dense(1); binary cross-entropy with
  accuracy (196,773 params);
* :func:`define_generator`: the label through Embedding and Dense(49) becomes a 7x7 channel next to the 128
  latent feature maps, then two 4x4 transposed convs and a 7x7 tanh conv (1,169,336 params);
* :func:`define_gan`: the frozen discriminator sees the generator's image with the same label;
* :func:`train`: the book's nested epoch/batch loop as one step counter, printed as
  ``>%d, %d/%d, d1=%.3f, d2=%.3f g=%.3f``. The book saves ``cgan_generator.h5`` at the end only; here every
  ``save_every`` steps (default 10 epochs) and at the end :func:`summarize_performance` writes a 10x10 grid with
  one class per column (Listing 17.25's labels) to ``generated_plot_%04d.png``, ``model_%04d.h5`` and
  ``cgan_generator.h5`` (the latest).

:func:`upsample_to_image`, :func:`latent_foundation` and :func:`downsample` are the layer stacks chapter 17's
models share with chapter 20's (SGAN).
"""
from numpy import ones

from tinygan.keras.layers import (Concatenate, Conv2D, Conv2DTranspose, Dense, Dropout, Embedding, Flatten, Input,
                                  LeakyReLU, Reshape)
from tinygan.keras.models import Model
from tinygan.keras.optimizers import Adam

from .conditional import fake_samples, generate_real_samples, latent_points, run_training, scalar, summarize_conditional

PLOT_LABELS = {"d1": "d1", "d2": "d2", "g": "g"}


def downsample(fe, n_layers=2):
    """``n_layers`` x [Conv2D(128, 3x3, stride 2, 'same') -> LeakyReLU(0.2)], then Flatten and Dropout(0.4)."""
    for _ in range(n_layers):
        # downsample
        fe = Conv2D(128, (3, 3), strides=(2, 2), padding='same')(fe)
        fe = LeakyReLU(alpha=0.2)(fe)
    # flatten feature maps
    fe = Flatten()(fe)
    # dropout
    return Dropout(0.4)(fe)


def latent_foundation(in_lat):
    """Dense(128 * 7 * 7) -> LeakyReLU(0.2) -> Reshape((7, 7, 128)): the foundation for a 7x7 image."""
    n_nodes = 128 * 7 * 7
    gen = Dense(n_nodes)(in_lat)
    gen = LeakyReLU(alpha=0.2)(gen)
    return Reshape((7, 7, 128))(gen)


def upsample_to_image(gen):
    """Two Conv2DTranspose(128, 4x4, stride 2) + LeakyReLU(0.2) (7x7 -> 28x28), then a 7x7 tanh Conv2D."""
    # upsample to 14x14
    gen = Conv2DTranspose(128, (4, 4), strides=(2, 2), padding='same')(gen)
    gen = LeakyReLU(alpha=0.2)(gen)
    # upsample to 28x28
    gen = Conv2DTranspose(128, (4, 4), strides=(2, 2), padding='same')(gen)
    gen = LeakyReLU(alpha=0.2)(gen)
    # output
    return Conv2D(1, (7, 7), activation='tanh', padding='same')(gen)


def label_channel(in_label, n_classes, height, width, init=None):
    """Embedding(n_classes, 50) -> Dense(height * width) -> Reshape((height, width, 1)): a label as an image channel
    (``init``: the Dense kernel initializer, AC-GAN's RandomNormal; default glorot_uniform as chapter 17)."""
    # embedding for categorical input
    li = Embedding(n_classes, 50)(in_label)
    # scale up to image dimensions with linear activation
    li = Dense(height * width, **({} if init is None else {"kernel_initializer": init}))(li)
    # reshape to additional channel
    return Reshape((height, width, 1))(li)


# define the standalone discriminator model
def define_discriminator(in_shape=(28, 28, 1), n_classes=10):
    # label input
    in_label = Input(shape=(1,))
    li = label_channel(in_label, n_classes, in_shape[0], in_shape[1])
    # image input
    in_image = Input(shape=in_shape)
    # concat label as a channel
    merge = Concatenate()([in_image, li])
    fe = downsample(merge)
    # output
    out_layer = Dense(1, activation='sigmoid')(fe)
    # define model
    model = Model([in_image, in_label], out_layer)
    # compile model
    opt = Adam(lr=0.0002, beta_1=0.5)
    model.compile(loss='binary_crossentropy', optimizer=opt, metrics=['accuracy'])
    return model


# define the standalone generator model
def define_generator(latent_dim, n_classes=10):
    # label input
    in_label = Input(shape=(1,))
    li = label_channel(in_label, n_classes, 7, 7)
    # image generator input
    in_lat = Input(shape=(latent_dim,))
    gen = latent_foundation(in_lat)
    # merge image gen and label input
    merge = Concatenate()([gen, li])
    out_layer = upsample_to_image(merge)
    # define model
    model = Model([in_lat, in_label], out_layer)
    return model


# define the combined generator and discriminator model, for updating the generator
def define_gan(g_model, d_model):
    # make weights in the discriminator not trainable
    d_model.trainable = False
    # get noise and label inputs from generator model
    gen_noise, gen_label = g_model.input
    # get image output from the generator model
    gen_output = g_model.output
    # connect image output and label input from generator as inputs to discriminator
    gan_output = d_model([gen_output, gen_label])
    # define gan model as taking noise and label and outputting a classification
    model = Model([gen_noise, gen_label], gan_output)
    # compile model
    opt = Adam(lr=0.0002, beta_1=0.5)
    model.compile(loss='binary_crossentropy', optimizer=opt)
    return model


# use the generator to generate n fake examples, with class labels
def generate_fake_samples(generator, latent_dim, n_samples, n_classes=10):
    return fake_samples(generator, latent_dim, n_samples, n_classes)


def summarize_performance(step, g_model, latent_dim, n_classes=10, out_dir=".", log=print):
    """A grid with one class per column, ``model_%04d.h5`` and the book's ``cgan_generator.h5`` (the latest)."""
    return summarize_conditional(step, g_model, latent_dim, n_classes, out_dir, log, copies=('cgan_generator.h5',))


# train the generator and discriminator
def train(g_model, d_model, gan_model, dataset, latent_dim, n_epochs=100, n_batch=128, *, n_classes=10,
          save_every=None, out_dir=".", log=print, **session):
    """Listing 17.23 on ``dataset = [images, labels]``; ``session``: the options of
    :func:`tinygan.gans.conditional.run_training`."""
    bat_per_epo = int(dataset[0].shape[0] / n_batch)
    half_batch = int(n_batch / 2)

    def step(k):
        # get randomly selected 'real' samples
        [X_real, labels_real], y_real = generate_real_samples(dataset, half_batch)
        # update discriminator model weights
        d_loss1, _ = d_model.train_on_batch([X_real, labels_real], y_real)
        # generate 'fake' examples
        [X_fake, labels], y_fake = generate_fake_samples(g_model, latent_dim, half_batch, n_classes)
        # update discriminator model weights
        d_loss2, _ = d_model.train_on_batch([X_fake, labels], y_fake)
        # prepare points in latent space as input for the generator
        [z_input, labels_input] = latent_points(latent_dim, n_batch, n_classes)
        # create inverted labels for the fake samples
        y_gan = ones((n_batch, 1))
        # update the generator via the discriminator's error
        g_loss = gan_model.train_on_batch([z_input, labels_input], y_gan)
        return {"d1": scalar(d_loss1), "d2": scalar(d_loss2), "g": scalar(g_loss)}

    def line(k, v):
        i, j = divmod(k, bat_per_epo)
        return '>%d, %d/%d, d1=%.3f, d2=%.3f g=%.3f' % (i + 1, j + 1, bat_per_epo, v["d1"], v["d2"], v["g"])

    return run_training(
        {"d_model": d_model, "g_model": g_model, "gan_model": gan_model}, bat_per_epo * n_epochs, step, line,
        fields=("d1", "d2", "g"), plot_labels=PLOT_LABELS, desc="cgan", save_every=save_every or 10 * bat_per_epo,
        summarize=lambda k, write: summarize_performance(k, g_model, latent_dim, n_classes, out_dir, write),
        samples=lambda: (generate_fake_samples(g_model, latent_dim, 100, n_classes)[0][0],
                         generate_real_samples(dataset, 100)[0][0]),
        out_dir=out_dir, log=log, extra={"chapter": 17, "latent_dim": latent_dim, "n_batch": n_batch}, **session)
