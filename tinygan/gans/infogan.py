"""Chapter 18: the Information Maximizing GAN (InfoGAN) on MNIST (Listings 18.1-18.8) on ``tinygan.keras``.

* :func:`define_generator` (``gen_input_size`` = 62 latent + 10 code = 72): Dense(25088), ReLU then BatchNorm
  (the book's order), a 4x4 conv, two 4x4 transposed convs, tanh (3,113,409 params, 50,560 non-trainable);
* :func:`define_discriminator` returns ``d_model`` (670,913 params) and ``q_model`` (2,265,930 with the shared
  conv/BatchNorm trunk): LeakyReLU(0.1) throughout, D's sigmoid head compiled with binary cross-entropy, Q's head
  Dense(128) -> BatchNorm -> LeakyReLU(0.1) -> softmax over the ``n_cat`` codes, not compiled;
* :func:`define_gan`: the composite ``g -> [d, q]`` with binary + categorical cross-entropy (summed; the
  categorical term is the mutual-information loss with lambda 1);
* :func:`train`: ``>%d, d[%.3f,%.3f], g[%.3f] q[%.3f]``; every 10 epochs ``generated_plot_%04d.png``,
  ``model_%04d.h5`` and ``gan_model_%04d.h5``.

The book's ambiguities, settled as ``shared/spec/book_part3_5.md`` section 4 recommends:

* latent size 62, as every listing (the text says 64);
* freezing: the text means the composite to train only G and Q's own head (Dense, BatchNorm, Dense). In Keras 2.2
  ``d_model.trainable = False`` does not reach the trunk layers that ``q_model`` shares, so the book's own run
  also moved the trunk from the composite's loss. :func:`define_gan` follows the intent (also what tf.keras does);
  ``literal=True`` (``--keras22-literal``) keeps the Keras 2.2 behaviour.
"""
import os

from numpy import hstack, ones, zeros
from numpy.random import randint, randn

from tinygan.keras.initializers import RandomNormal
from tinygan.keras.layers import (Activation, BatchNormalization, Conv2D, Conv2DTranspose, Dense, Flatten, Input,
                                  LeakyReLU, Reshape)
from tinygan.keras.models import Model
from tinygan.keras.optimizers import Adam
from tinygan.keras.utils import to_categorical

from .conditional import generate_real_samples, run_training, save_grid, save_models, scalar

LATENT_DIM = 62
PLOT_LABELS = {"d1": "d1", "d2": "d2", "g": "g", "q": "q"}


# define the standalone generator model
def define_generator(gen_input_size):
    # weight initialization
    init = RandomNormal(stddev=0.02)
    # image generator input
    in_lat = Input(shape=(gen_input_size,))
    # foundation for 7x7 image
    n_nodes = 512 * 7 * 7
    gen = Dense(n_nodes, kernel_initializer=init)(in_lat)
    gen = Activation('relu')(gen)
    gen = BatchNormalization()(gen)
    gen = Reshape((7, 7, 512))(gen)
    # normal
    gen = Conv2D(128, (4, 4), padding='same', kernel_initializer=init)(gen)
    gen = Activation('relu')(gen)
    gen = BatchNormalization()(gen)
    # upsample to 14x14
    gen = Conv2DTranspose(64, (4, 4), strides=(2, 2), padding='same', kernel_initializer=init)(gen)
    gen = Activation('relu')(gen)
    gen = BatchNormalization()(gen)
    # upsample to 28x28
    gen = Conv2DTranspose(1, (4, 4), strides=(2, 2), padding='same', kernel_initializer=init)(gen)
    # tanh output
    out_layer = Activation('tanh')(gen)
    # define model
    model = Model(in_lat, out_layer)
    return model


# define the standalone discriminator model
def define_discriminator(n_cat, in_shape=(28, 28, 1)):
    # weight initialization
    init = RandomNormal(stddev=0.02)
    # image input
    in_image = Input(shape=in_shape)
    # downsample to 14x14
    d = Conv2D(64, (4, 4), strides=(2, 2), padding='same', kernel_initializer=init)(in_image)
    d = LeakyReLU(alpha=0.1)(d)
    # downsample to 7x7
    d = Conv2D(128, (4, 4), strides=(2, 2), padding='same', kernel_initializer=init)(d)
    d = LeakyReLU(alpha=0.1)(d)
    d = BatchNormalization()(d)
    # normal
    d = Conv2D(256, (4, 4), padding='same', kernel_initializer=init)(d)
    d = LeakyReLU(alpha=0.1)(d)
    d = BatchNormalization()(d)
    # flatten feature maps
    d = Flatten()(d)
    # real/fake output
    out_classifier = Dense(1, activation='sigmoid')(d)
    # define d model
    d_model = Model(in_image, out_classifier)
    # compile d model
    d_model.compile(loss='binary_crossentropy', optimizer=Adam(lr=0.0002, beta_1=0.5))
    # create q model layers
    q = Dense(128)(d)
    q = BatchNormalization()(q)
    q = LeakyReLU(alpha=0.1)(q)
    # q model output
    out_codes = Dense(n_cat, activation='softmax')(q)
    # define q model
    q_model = Model(in_image, out_codes)
    return d_model, q_model


# define the combined discriminator, generator and q network model
def define_gan(g_model, d_model, q_model, literal=False):
    """Listing 18.3. ``literal=False``: the shared trunk is frozen in the composite too, so it trains G and Q's
    head only (the book's intent); ``literal=True``: Keras 2.2's behaviour (the trunk trains through Q)."""
    # make weights in the discriminator (some shared with the q model) as not trainable
    d_model.trainable = False
    q_ids = {id(layer) for layer in q_model.layers}
    shared = [] if literal else [layer for layer in d_model.layers if id(layer) in q_ids]
    for layer in shared:
        layer.trainable = False
    # connect g outputs to d inputs
    d_output = d_model(g_model.output)
    # connect g outputs to q inputs
    q_output = q_model(g_model.output)
    # define composite model
    model = Model(g_model.input, [d_output, q_output])
    # compile model (the trainable set is fixed here)
    opt = Adam(lr=0.0002, beta_1=0.5)
    model.compile(loss=['binary_crossentropy', 'categorical_crossentropy'], optimizer=opt)
    for layer in shared:
        layer.trainable = True   # d_model, compiled before, keeps training them
    # the compile-time snapshot differs from the layers' flags on purpose: no "did you compile?" warning
    model._warned_consistency = bool(shared)
    return model


# generate points in latent space as input for the generator
def generate_latent_points(latent_dim, n_cat, n_samples, codes=None):
    """``[z_input, cat_codes]`` (Listing 18.5); ``codes``: fixed code values instead of random ones (18.14)."""
    # generate points in the latent space
    z_latent = randn(latent_dim * n_samples)
    # reshape into a batch of inputs for the network
    z_latent = z_latent.reshape(n_samples, latent_dim)
    # generate categorical codes
    cat_codes = randint(0, n_cat, n_samples) if codes is None else codes
    # one hot encode
    cat_codes = to_categorical(cat_codes, num_classes=n_cat)
    # concatenate latent points and control codes
    z_input = hstack((z_latent, cat_codes))
    return [z_input, cat_codes]


# use the generator to generate n fake examples, with class labels
def generate_fake_samples(generator, latent_dim, n_cat, n_samples):
    # generate points in latent space and control codes
    z_input, _ = generate_latent_points(latent_dim, n_cat, n_samples)
    # predict outputs
    images = generator.predict(z_input)
    # create class labels
    y = zeros((n_samples, 1))
    return images, y


# generate samples and save as a plot and save the model
def summarize_performance(step, g_model, gan_model, latent_dim, n_cat, n_samples=100, out_dir=".", log=print):
    # prepare fake examples
    X, _ = generate_fake_samples(g_model, latent_dim, n_cat, n_samples)
    # save plot to file
    filename1 = os.path.join(out_dir, 'generated_plot_%04d.png' % (step + 1))
    save_grid(X, filename1)
    # save the generator and the gan model
    save_models(step, {'model_%04d.h5': g_model, 'gan_model_%04d.h5': gan_model}, filename1, out_dir, log)


# train the generator and discriminator
def train(g_model, d_model, gan_model, dataset, latent_dim, n_cat, n_epochs=100, n_batch=64, *, q_model=None,
          save_every=None, out_dir=".", log=print, **session):
    """Listing 18.8. ``q_model`` (optional) joins the checkpoint so its head's BatchNorm state resumes exactly;
    ``session``: the options of :func:`tinygan.gans.conditional.run_training`."""
    # calculate the number of batches per training epoch
    bat_per_epo = int(dataset.shape[0] / n_batch)
    # calculate the number of training iterations
    n_steps = bat_per_epo * n_epochs
    # calculate the size of half a batch of samples
    half_batch = int(n_batch / 2)

    def step(i):
        # get randomly selected 'real' samples
        X_real, y_real = generate_real_samples(dataset, half_batch)
        # update discriminator and q model weights
        d_loss1 = d_model.train_on_batch(X_real, y_real)
        # generate 'fake' examples
        X_fake, y_fake = generate_fake_samples(g_model, latent_dim, n_cat, half_batch)
        # update discriminator model weights
        d_loss2 = d_model.train_on_batch(X_fake, y_fake)
        # prepare points in latent space as input for the generator
        z_input, cat_codes = generate_latent_points(latent_dim, n_cat, n_batch)
        # create inverted labels for the fake samples
        y_gan = ones((n_batch, 1))
        # update the g via the d and q error
        _, g_1, g_2 = gan_model.train_on_batch(z_input, [y_gan, cat_codes])
        return {"d1": scalar(d_loss1), "d2": scalar(d_loss2), "g": scalar(g_1), "q": scalar(g_2)}

    models = {"d_model": d_model, "g_model": g_model, "gan_model": gan_model}
    if q_model is not None:
        models["q_model"] = q_model
    return run_training(
        models, n_steps, step, lambda i, v: '>%d, d[%.3f,%.3f], g[%.3f] q[%.3f]' % (i + 1, v["d1"], v["d2"], v["g"],
                                                                                    v["q"]),
        fields=("d1", "d2", "g", "q"), plot_labels=PLOT_LABELS, desc="infogan",
        save_every=save_every or 10 * bat_per_epo,
        summarize=lambda i, write: summarize_performance(i, g_model, gan_model, latent_dim, n_cat, out_dir=out_dir,
                                                         log=write),
        samples=lambda: (generate_fake_samples(g_model, latent_dim, n_cat, 100)[0],
                         generate_real_samples(dataset, 100)[0]),
        out_dir=out_dir, log=log, extra={"chapter": 18, "latent_dim": latent_dim, "n_cat": n_cat, "n_batch": n_batch},
        **session)
