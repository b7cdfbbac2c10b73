"""Chapter 19: the auxiliary classifier GAN (AC-GAN) (Listings 19.7-19.20), for Fashion-MNIST in the book, digits here.

* :func:`define_discriminator`: four 3x3 convs (32, 64, 128, 256; strides 2, 1, 2, 1) with BatchNorm from the
  second on, LeakyReLU(0.2) and Dropout(0.5); two heads, sigmoid real/fake and softmax class, compiled with
  binary + sparse categorical cross-entropy (527,627 params, 896 non-trainable);
* :func:`define_generator`: the label through Embedding(10, 50) and Dense(49) as a 7x7 channel next to 384 latent
  maps, a 5x5 transposed conv to 192 maps with BatchNorm and ReLU, a 5x5 transposed conv to the tanh image
  (3,757,176 params, 384 non-trainable);
* :func:`define_gan`: the frozen discriminator's two outputs on the generator's image; the generator is trained
  to be called real *and* to be classified as the class it was asked for;
* :func:`train`: ``>%d, dr[%.3f,%.3f], df[%.3f,%.3f], g[%.3f,%.3f]``; every 10 epochs a grid (one class per
  column) ``generated_plot_%04d.png`` and ``model_%04d.h5``.
"""
from numpy import ones

from tinygan.keras.initializers import RandomNormal
from tinygan.keras.layers import (Activation, BatchNormalization, Concatenate, Conv2D, Conv2DTranspose, Dense, Dropout,
                                  Flatten, Input, LeakyReLU, Reshape)
from tinygan.keras.models import Model
from tinygan.keras.optimizers import Adam

from .cgan import label_channel
from .conditional import (composite, fake_samples, generate_real_samples, latent_points, run_training, scalar,
                          summarize_conditional)

PLOT_LABELS = {"dr1": "d_real", "dr2": "d_real_class", "df1": "d_fake", "df2": "d_fake_class", "g1": "g",
               "g2": "g_class"}


# define the standalone discriminator model
def define_discriminator(in_shape=(28, 28, 1), n_classes=10):
    # weight initialization
    init = RandomNormal(stddev=0.02)
    # image input
    in_image = Input(shape=in_shape)
    fe = in_image
    # downsample to 14x14, normal, downsample to 7x7, normal
    for filters, stride in ((32, 2), (64, 1), (128, 2), (256, 1)):
        fe = Conv2D(filters, (3, 3), strides=(stride, stride), padding='same', kernel_initializer=init)(fe)
        if filters > 32:
            fe = BatchNormalization()(fe)
        fe = LeakyReLU(alpha=0.2)(fe)
        fe = Dropout(0.5)(fe)
    # flatten feature maps
    fe = Flatten()(fe)
    # real/fake output
    out1 = Dense(1, activation='sigmoid')(fe)
    # class label output
    out2 = Dense(n_classes, activation='softmax')(fe)
    # define model
    model = Model(in_image, [out1, out2])
    # compile model
    opt = Adam(lr=0.0002, beta_1=0.5)
    model.compile(loss=['binary_crossentropy', 'sparse_categorical_crossentropy'], optimizer=opt)
    return model


# define the standalone generator model
def define_generator(latent_dim, n_classes=10):
    # weight initialization
    init = RandomNormal(stddev=0.02)
    # label input
    in_label = Input(shape=(1,))
    li = label_channel(in_label, n_classes, 7, 7, init=init)
    # image generator input
    in_lat = Input(shape=(latent_dim,))
    # foundation for 7x7 image
    n_nodes = 384 * 7 * 7
    gen = Dense(n_nodes, kernel_initializer=init)(in_lat)
    gen = Activation('relu')(gen)
    gen = Reshape((7, 7, 384))(gen)
    # merge image gen and label input
    merge = Concatenate()([gen, li])
    # upsample to 14x14
    gen = Conv2DTranspose(192, (5, 5), strides=(2, 2), padding='same', kernel_initializer=init)(merge)
    gen = BatchNormalization()(gen)
    gen = Activation('relu')(gen)
    # upsample to 28x28
    gen = Conv2DTranspose(1, (5, 5), strides=(2, 2), padding='same', kernel_initializer=init)(gen)
    out_layer = Activation('tanh')(gen)
    # define model
    model = Model([in_lat, in_label], out_layer)
    return model


# define the combined generator and discriminator model, for updating the generator
def define_gan(g_model, d_model):
    """Listing 19.14: the frozen discriminator's real/fake and class outputs on the generator's image."""
    return composite(g_model, d_model, ['binary_crossentropy', 'sparse_categorical_crossentropy'])


# use the generator to generate n fake examples, with class labels
def generate_fake_samples(generator, latent_dim, n_samples, n_classes=10):
    return fake_samples(generator, latent_dim, n_samples, n_classes)


# train the generator and discriminator
def train(g_model, d_model, gan_model, dataset, latent_dim, n_epochs=100, n_batch=64, *, n_classes=10,
          save_every=None, out_dir=".", log=print, **session):
    """Listing 19.20 on ``dataset = [images, labels]``; ``session``: the options of
    :func:`tinygan.gans.conditional.run_training`."""
    # calculate the number of batches per training epoch
    bat_per_epo = int(dataset[0].shape[0] / n_batch)
    # calculate the number of training iterations
    n_steps = bat_per_epo * n_epochs
    # calculate the size of half a batch of samples
    half_batch = int(n_batch / 2)

    def step(i):
        # get randomly selected 'real' samples
        [X_real, labels_real], y_real = generate_real_samples(dataset, half_batch)
        # update discriminator model weights
        _, d_r1, d_r2 = d_model.train_on_batch(X_real, [y_real, labels_real])
        # generate 'fake' examples
        [X_fake, labels_fake], y_fake = generate_fake_samples(g_model, latent_dim, half_batch, n_classes)
        # update discriminator model weights
        _, d_f, d_f2 = d_model.train_on_batch(X_fake, [y_fake, labels_fake])
        # prepare points in latent space as input for the generator
        [z_input, z_labels] = latent_points(latent_dim, n_batch, n_classes)
        # create inverted labels for the fake samples
        y_gan = ones((n_batch, 1))
        # update the generator via the discriminator's error
        _, g_1, g_2 = gan_model.train_on_batch([z_input, z_labels], [y_gan, z_labels])
        return {"dr1": scalar(d_r1), "dr2": scalar(d_r2), "df1": scalar(d_f), "df2": scalar(d_f2),
                "g1": scalar(g_1), "g2": scalar(g_2)}

    return run_training(
        {"d_model": d_model, "g_model": g_model, "gan_model": gan_model}, n_steps, step,
        lambda i, v: '>%d, dr[%.3f,%.3f], df[%.3f,%.3f], g[%.3f,%.3f]' % (
            i + 1, v["dr1"], v["dr2"], v["df1"], v["df2"], v["g1"], v["g2"]),
        fields=tuple(PLOT_LABELS), plot_labels=PLOT_LABELS, desc="acgan", save_every=save_every or 10 * bat_per_epo,
        summarize=lambda i, write: summarize_conditional(i, g_model, latent_dim, n_classes, out_dir, write),
        samples=lambda: (generate_fake_samples(g_model, latent_dim, 100, n_classes)[0][0],
                         generate_real_samples(dataset, 100)[0][0]),
        out_dir=out_dir, log=log, extra={"chapter": 19, "latent_dim": latent_dim, "n_batch": n_batch}, **session)
