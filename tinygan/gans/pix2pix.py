"""Pix2Pix (chapters 21-23): the 70x70 PatchGAN discriminator, the U-Net generator, the composite model and the
book's training loop, on tinygan.keras.

The functions read like the book's Listings 22.x/23.x. What is added keeps the book's behaviour by default:

* :func:`define_generator` takes the image size: the U-Net has one stride-2 step per halving down to a 1x1
  bottleneck (8 at 256 px, the book's model, 6 at 64 px), encoder filters ``64, 128, 256, 512, 512, ...`` and the
  mirrored decoder, dropout on the three deepest decoder blocks. ``ngf``/``ndf`` scale the filter counts
  (64 = the book).
* :func:`define_gan` can use the book's Keras-2 freeze (``d_model.trainable = False``, the default; 54,419,459
  trainable parameters at 256 px) or the BN-aware freeze of the 2021 revision (``freeze='layers_except_bn'``).
* :func:`train` is the book's loop (one real-pair and one fake-pair update of D, each weighted 0.5, one composite
  update of G per step, the line ``>%d, d1[%.3f] d2[%.3f] g[%.3f]``, :func:`summarize_performance` every N epochs)
  plus a progress bar, a CSV loss log and loss-curve PNG, resumable atomic checkpoints, Ctrl-C that saves first,
  the validation L1 error, and a warning when the discriminator loss sits at zero.

The generator keeps BatchNorm and Dropout in training mode at inference (``training=True``, as in the book), so a
translation is stochastic and uses the statistics of the batch it is given; translate one image at a time
(``batch_size=1``) to match training with ``n_batch=1``.
"""
import math
import os

import numpy as np
from numpy import ones, zeros
from numpy.random import randint

from tinygan.keras.initializers import RandomNormal
from tinygan.keras.layers import (Activation, BatchNormalization, Concatenate, Conv2D, Conv2DTranspose, Dropout,
                                  Input, LeakyReLU)
from tinygan.keras.models import Model
from tinygan.keras.optimizers import Adam
from tinygan.training.loop import rng_isolated  # noqa: F401 - re-exported for the CLI

from ..errors import UserInputError
from .pix2pix_data import _pyplot, load_real_samples, unscale_images  # noqa: F401 - load_real_samples: the book's loader

LOG_FORMAT = ">%d, d1[%.3f] d2[%.3f] g[%.3f]"
PLOT_NAME = "plot_%06d.png"
VAL_PLOT_NAME = "val_plot_%06d.png"
MODEL_NAME = "model_%06d.h5"
CHECKPOINT_NAME = "checkpoint.npz"
FREEZE_RULES = ("model", "layers_except_bn")


# ---- chapter 22: receptive field of the PatchGAN (Listing 22.1) ------------------------------------------------
def receptive_field(output_size, kernel_size, stride_size):
    return (output_size - 1) * stride_size + kernel_size


def patchgan_receptive_fields():
    """The book's printout: 4, 7, 16, 34, 70 (output layer, second-last layer, then C512, C256, C128... back)."""
    rf = receptive_field(1, 4, 1)
    out = [rf]
    rf = receptive_field(rf, 4, 1)
    out.append(rf)
    for _ in range(3):
        rf = receptive_field(rf, 4, 2)
        out.append(rf)
    return out


# ---- the models -----------------------------------------------------------------------------------------------
def define_discriminator(image_shape, ndf=64, lr=0.0002, beta_1=0.5):
    """The 70x70 PatchGAN (Listing 22.2): C64-C128-C256-C512, C512 (stride 1), a 1-channel sigmoid patch map."""
    # weight initialization
    init = RandomNormal(stddev=0.02)
    # source image input
    in_src_image = Input(shape=image_shape)
    # target image input
    in_target_image = Input(shape=image_shape)
    # concatenate images channel-wise
    merged = Concatenate()([in_src_image, in_target_image])
    # C64
    d = Conv2D(ndf, (4, 4), strides=(2, 2), padding='same', kernel_initializer=init)(merged)
    d = LeakyReLU(alpha=0.2)(d)
    # C128
    d = Conv2D(ndf * 2, (4, 4), strides=(2, 2), padding='same', kernel_initializer=init)(d)
    d = BatchNormalization()(d)
    d = LeakyReLU(alpha=0.2)(d)
    # C256
    d = Conv2D(ndf * 4, (4, 4), strides=(2, 2), padding='same', kernel_initializer=init)(d)
    d = BatchNormalization()(d)
    d = LeakyReLU(alpha=0.2)(d)
    # C512
    d = Conv2D(ndf * 8, (4, 4), strides=(2, 2), padding='same', kernel_initializer=init)(d)
    d = BatchNormalization()(d)
    d = LeakyReLU(alpha=0.2)(d)
    # second last output layer
    d = Conv2D(ndf * 8, (4, 4), padding='same', kernel_initializer=init)(d)
    d = BatchNormalization()(d)
    d = LeakyReLU(alpha=0.2)(d)
    # patch output
    d = Conv2D(1, (4, 4), padding='same', kernel_initializer=init)(d)
    patch_out = Activation('sigmoid')(d)
    # define model
    model = Model([in_src_image, in_target_image], patch_out)
    # compile model
    opt = Adam(lr=lr, beta_1=beta_1)
    model.compile(loss='binary_crossentropy', optimizer=opt, loss_weights=[0.5])
    return model


def define_encoder_block(layer_in, n_filters, batchnorm=True):
    """Conv2D 4x4 stride 2 -> BatchNorm (training=True) -> LeakyReLU(0.2) (Listing 22.4)."""
    # weight initialization
    init = RandomNormal(stddev=0.02)
    # add downsampling layer
    g = Conv2D(n_filters, (4, 4), strides=(2, 2), padding='same', kernel_initializer=init)(layer_in)
    # conditionally add batch normalization
    if batchnorm:
        g = BatchNormalization()(g, training=True)
    # leaky relu activation
    g = LeakyReLU(alpha=0.2)(g)
    return g


def decoder_block(layer_in, skip_in, n_filters, dropout=True):
    """Conv2DTranspose 4x4 stride 2 -> BatchNorm (training=True) -> Dropout(0.5, training=True) -> skip -> ReLU."""
    # weight initialization
    init = RandomNormal(stddev=0.02)
    # add upsampling layer
    g = Conv2DTranspose(n_filters, (4, 4), strides=(2, 2), padding='same', kernel_initializer=init)(layer_in)
    # add batch normalization
    g = BatchNormalization()(g, training=True)
    # conditionally add dropout
    if dropout:
        g = Dropout(0.5)(g, training=True)
    # merge with skip connection
    g = Concatenate()([g, skip_in])
    # relu activation
    g = Activation('relu')(g)
    return g


def unet_depth(image_shape):
    """Number of stride-2 steps down to a 1x1 bottleneck: log2 of the side (8 for the book's 256 px)."""
    h, w = image_shape[0], image_shape[1]
    if h != w or h < 8 or h & (h - 1):
        raise UserInputError(f"the U-Net generator needs a square image whose side is a power of two >= 8 "
                              f"(8, 16, 32, 64, 128, 256, 512, ...), got {h}x{w}: resize or crop the images "
                              "(tinygan pix2pix prepare --size)")
    return int(math.log2(h))


def unet_filters(image_shape, ngf=64):
    """Encoder filter counts (the decoder mirrors them): ``ngf * min(2**i, 8)``; the book's 64..512 at ngf=64."""
    n_enc = unet_depth(image_shape) - 1  # the last stride-2 conv is the bottleneck
    return [ngf * min(2 ** i, 8) for i in range(n_enc)], ngf * 8


def define_generator(image_shape=(256, 256, 3), ngf=64, out_channels=3, n_dropout=3):
    """The U-Net generator (Listing 22.5). At 256x256x3 and ngf=64 it is exactly the book's model:
    e1..e7 = C64-C128-C256-C512-C512-C512-C512, a 512 bottleneck (ReLU, no BN), d1..d7 =
    CD512-CD512-CD512-C512-C256-C128-C64 with skips to e7..e1, and a 3-channel tanh output."""
    # weight initialization
    init = RandomNormal(stddev=0.02)
    # image input
    in_image = Input(shape=image_shape)
    # encoder model: e1 (no batch norm), e2, ...
    enc_filters, bottleneck_filters = unet_filters(image_shape, ngf)
    skips = []
    g = in_image
    for i, n_filters in enumerate(enc_filters):
        g = define_encoder_block(g, n_filters, batchnorm=i > 0)
        skips.append(g)
    # bottleneck, no batch norm and relu
    b = Conv2D(bottleneck_filters, (4, 4), strides=(2, 2), padding='same', kernel_initializer=init)(g)
    b = Activation('relu')(b)
    # decoder model: the mirror of the encoder, dropout in the deepest n_dropout blocks
    d = b
    for i, (skip, n_filters) in enumerate(zip(reversed(skips), reversed(enc_filters))):
        d = decoder_block(d, skip, n_filters, dropout=i < n_dropout)
    # output
    g = Conv2DTranspose(out_channels, (4, 4), strides=(2, 2), padding='same', kernel_initializer=init)(d)
    out_image = Activation('tanh')(g)
    # define model
    model = Model(in_image, out_image)
    return model


def define_gan(g_model, d_model, image_shape, lr=0.0002, beta_1=0.5, l1_weight=100, freeze="model"):
    """The composite model that updates the generator (Listing 22.7): source -> [D(source, G(source)), G(source)],
    losses binary cross-entropy + mae with weights 1 and 100.

    ``freeze='model'`` is the book's ``d_model.trainable = False`` (Keras-2: D keeps training through its own
    compiled ``train_on_batch`` and is frozen inside the composite). ``freeze='layers_except_bn'`` is the 2021
    revision's rule: every D layer except BatchNormalization is frozen.
    """
    # make weights in the discriminator not trainable
    if freeze == "model":
        d_model.trainable = False
    elif freeze == "layers_except_bn":
        for layer in d_model.layers:
            if not isinstance(layer, BatchNormalization):
                layer.trainable = False
    else:
        raise UserInputError(f"freeze must be one of {FREEZE_RULES}, got {freeze!r}")
    # define the source image
    in_src = Input(shape=image_shape)
    # connect the source image to the generator input
    gen_out = g_model(in_src)
    # connect the source input and generator output to the discriminator input
    dis_out = d_model([in_src, gen_out])
    # src image as input, generated image and classification output
    model = Model(in_src, [dis_out, gen_out])
    # compile model
    opt = Adam(lr=lr, beta_1=beta_1)
    model.compile(loss=['binary_crossentropy', 'mae'], optimizer=opt, loss_weights=[1, l1_weight])
    return model


def define_models(image_shape, ngf=64, ndf=64, lr=0.0002, beta_1=0.5, l1_weight=100, freeze="model"):
    """``(d_model, g_model, gan_model)`` as the book's main script builds them."""
    d_model = define_discriminator(image_shape, ndf=ndf, lr=lr, beta_1=beta_1)
    g_model = define_generator(image_shape, ngf=ngf, out_channels=image_shape[-1])
    gan_model = define_gan(g_model, d_model, image_shape, lr=lr, beta_1=beta_1, l1_weight=l1_weight, freeze=freeze)
    return d_model, g_model, gan_model


# ---- samples --------------------------------------------------------------------------------------------------
def generate_real_samples(dataset, n_samples, patch_shape):
    """A batch of random real pairs (drawn with replacement, as the book does) and their 'real' patch labels (1)."""
    # unpack dataset
    trainA, trainB = dataset
    # choose random instances
    ix = randint(0, trainA.shape[0], n_samples)
    # retrieve selected images
    X1, X2 = trainA[ix], trainB[ix]
    # generate 'real' class labels (1)
    y = ones((n_samples, patch_shape, patch_shape, 1), dtype=trainA.dtype)
    return [X1, X2], y


def generate_fake_samples(g_model, samples, patch_shape):
    """Translations of ``samples`` by the generator and their 'fake' patch labels (0)."""
    # generate fake instance
    X = g_model.predict(samples)
    # create 'fake' class labels (0)
    y = zeros((len(X), patch_shape, patch_shape, 1), dtype=X.dtype)
    return X, y


def translate(g_model, images, batch_size=1):
    """Translate ``images`` (n, h, w, c) in [-1,1]; ``batch_size=1`` gives each image its own BatchNorm statistics,
    as in training with ``n_batch=1``."""
    images = np.asarray(images)
    out = [g_model.predict(images[i:i + batch_size]) for i in range(0, len(images), batch_size)]
    return np.concatenate(out) if out else images[:0].copy()


def evaluate_l1(g_model, src, tar, batch_size=1, max_images=None):
    """Mean absolute error between translations of ``src`` and ``tar``, in the [-1,1] pixel scale of training."""
    if max_images is not None:
        src, tar = src[:max_images], tar[:max_images]
    return float(np.mean(np.abs(translate(g_model, src, batch_size) - tar)))


def identity_l1(src, tar):
    """The L1 error of returning the input unchanged (a baseline for :func:`evaluate_l1`)."""
    return float(np.mean(np.abs(np.asarray(src, dtype=np.float64) - tar)))


# ---- plots and saving -----------------------------------------------------------------------------------------
def summarize_performance(step, g_model, dataset, n_samples=3, out_dir=".", save_model=True, log=print):
    """The book's checkpoint (Listing 23.13): a 3 x n_samples plot (source, generated, target rows) saved as
    ``plot_%06d.png`` and the generator saved as ``model_%06d.h5`` (step+1), in ``out_dir``."""
    pyplot = _pyplot()
    # select a sample of input images
    [X_realA, X_realB], _ = generate_real_samples(dataset, n_samples, 1)
    # generate a batch of fake samples (one at a time: the batch statistics of training with n_batch=1)
    X_fakeB = translate(g_model, X_realA, batch_size=1)
    # scale all pixels from [-1,1] to [0,1]
    X_realA = unscale_images(X_realA)
    X_realB = unscale_images(X_realB)
    X_fakeB = unscale_images(X_fakeB)
    # plot real source images
    for i in range(n_samples):
        pyplot.subplot(3, n_samples, 1 + i)
        pyplot.axis('off')
        pyplot.imshow(X_realA[i])
    # plot generated target image
    for i in range(n_samples):
        pyplot.subplot(3, n_samples, 1 + n_samples + i)
        pyplot.axis('off')
        pyplot.imshow(X_fakeB[i])
    # plot real target image
    for i in range(n_samples):
        pyplot.subplot(3, n_samples, 1 + n_samples * 2 + i)
        pyplot.axis('off')
        pyplot.imshow(X_realB[i])
    pyplot.suptitle("step %d: source / generated / target" % (step + 1), fontsize=9)
    # save plot to file
    filename1 = os.path.join(out_dir, PLOT_NAME % (step + 1))
    pyplot.savefig(filename1)
    pyplot.close()
    # save the generator model
    filename2 = os.path.join(out_dir, MODEL_NAME % (step + 1))
    if save_model:
        g_model.save(filename2)
    if log:
        log('>Saved: %s and %s' % (filename1, filename2) if save_model else '>Saved: %s' % filename1)
    return filename1, (filename2 if save_model else None)


def plot_translations(X_realA, X_fakeB, X_realB, filename, title=None):
    """The summarize_performance layout for given images: sources, translations and targets in three rows."""
    pyplot = _pyplot()
    n = len(X_realA)
    for row, images in enumerate((X_realA, X_fakeB, X_realB)):
        images = unscale_images(images)
        for i in range(n):
            pyplot.subplot(3, n, 1 + row * n + i)
            pyplot.axis('off')
            pyplot.imshow(images[i])
    if title:
        pyplot.suptitle(title, fontsize=9)
    pyplot.savefig(filename)
    pyplot.close()
    return filename


def plot_images(src_img, gen_img, tar_img=None, filename=None, titles=('Source', 'Generated', 'Expected')):
    """The book's Source / Generated / Expected figure (Listing 23.24); without a target, Source / Generated.
    Saved to ``filename`` (or shown when None). CycleGAN's Real / Generated / Reconstructed figure is the same."""
    pyplot = _pyplot()
    parts = [src_img, gen_img] + ([tar_img] if tar_img is not None else [])
    images = np.vstack(parts)
    # scale from [-1,1] to [0,1]
    images = unscale_images(images)
    titles = list(titles)[:len(images)]
    # plot images row by row
    for i in range(len(images)):
        # define subplot
        pyplot.subplot(1, len(images), 1 + i)
        # turn off axis
        pyplot.axis('off')
        # plot raw pixel data
        pyplot.imshow(images[i])
        # show title
        pyplot.title(titles[i])
    if filename:
        pyplot.savefig(filename, bbox_inches="tight")
        pyplot.close()
    else:
        pyplot.show()
    return filename


# ---- training ---------------------------------------------------------------------------------------------------
def _scalar(v):
    if isinstance(v, (list, tuple)):
        v = v[0]
    return float(np.asarray(v).reshape(-1)[0])


def train(d_model, g_model, gan_model, dataset, n_epochs=100, n_batch=1, *, summary_every=10, out_dir=".",
          val_dataset=None, val_images=64, val_plot_samples=6, log_every=1, progress=True, checkpoint_every=None,
          checkpoint_path=None, resume_from=None, max_steps=None, extra=None, zero_loss_window=200,
          zero_loss_threshold=1e-3,
          stop=None, callback=None, save_models=True, log=print, on_nan="stop", evaluation=None):
    """Train Pix2Pix as the book does (Listing 23.14), with what a user expects around it.

    Per step: a random real pair, its translation by G, ``d_model.train_on_batch`` on the real pair (label 1) and
    on the fake pair (label 0), then ``gan_model.train_on_batch(X_realA, [y_real, X_realB])``; the book's line
    ``>%d, d1[%.3f] d2[%.3f] g[%.3f]`` every ``log_every`` steps (0: never).

    Every ``summary_every`` epochs (the book: 10) and at the end: :func:`summarize_performance` (``plot_%06d.png``,
    ``model_%06d.h5``), with ``val_dataset``: the same figure for its first ``val_plot_samples`` pairs
    (``val_plot_%06d.png``) and the validation L1 on up to ``val_images`` pairs, the loss-curve PNG and a checkpoint.
    ``checkpoint_every`` steps: a checkpoint too. ``resume_from``: a checkpoint to continue from (the same loss
    trajectory as an uninterrupted run). ``stop``: an object with ``.requested`` (e.g. a
    :class:`~tinygan.training.GracefulInterrupt`; one is installed when None) checked after each step: the loop
    saves a checkpoint and returns. ``max_steps`` stops early (before the n_epochs total) like a stop request.
    When both discriminator losses stay below ``zero_loss_threshold`` for ``zero_loss_window`` steps, a warning
    repeats the book's advice to restart the run (0 disables the watch). A NaN or infinite loss stops the run at
    that step without saving (``on_nan='continue'`` goes on); the result's ``nan_step`` says where.
    ``evaluation``: FID/KID columns every N steps (:class:`tinygan.metrics.during_training.Evaluation`).

    Files in ``out_dir``: ``losses.csv``, ``losses.png``, ``checkpoint.npz``, ``plot_*.png``, ``model_*.h5``,
    ``val_plot_*.png``, and the run page ``index.html`` (rewritten at each summary).
    Returns a dict: ``step``, ``n_steps``, ``history`` (rows of this call), ``interrupted``, ``val_l1`` (last),
    ``steps_per_s``, ``checkpoint``.
    """
    from tinygan.training import TrainingLoop, ZeroLossMonitor

    # determine the output square shape of the discriminator
    n_patch = d_model.output_shape[1]
    # unpack dataset
    trainA, trainB = dataset
    # calculate the number of batches per training epoch
    bat_per_epo = int(len(trainA) / n_batch)
    if bat_per_epo < 1:
        raise UserInputError(f"the dataset has {len(trainA)} pairs, fewer than one batch of {n_batch}")
    # calculate the number of training iterations
    n_steps = bat_per_epo * n_epochs
    models = {"d_model": d_model, "g_model": g_model, "gan_model": gan_model}
    loop = TrainingLoop("pix2pix", out_dir, models, ["d1", "d2", "g", "g_bce", "g_l1", "val_l1"], n_steps,
                        bat_per_epo, summary_every=summary_every, checkpoint_every=checkpoint_every,
                        checkpoint_path=checkpoint_path, resume_from=resume_from, max_steps=max_steps, extra=extra,
                        stop=stop, callback=callback, progress=progress, log=log, log_every=log_every,
                        log_line=lambda i, r: LOG_FORMAT % (i, r["d1"], r["d2"], r["g"]),
                        postfix=lambda r: {"d1": "%.3f" % r["d1"], "d2": "%.3f" % r["d2"], "g": "%.2f" % r["g"]},
                        optimizer_only=("gan_model",), plot_groups=[["d1", "d2"], ["g"], ["g_l1", "val_l1"]],
                        monitor=ZeroLossMonitor(zero_loss_window, zero_loss_threshold) if zero_loss_window else None,
                        monitor_keys=("d1", "d2"), on_nan=on_nan, evaluation=evaluation, page_metrics=lambda row: {
                            "validation L1 (latest)": "-" if state["val_l1"] is None else state["val_l1"],
                            **{k: row[k] for k in ("d1", "d2", "g", "g_l1")}})
    state = {"val_l1": loop.saved.get("val_l1") if loop.saved else None}

    def step(i):
        # select a batch of real samples
        [X_realA, X_realB], y_real = generate_real_samples(dataset, n_batch, n_patch)
        # generate a batch of fake samples
        X_fakeB, y_fake = generate_fake_samples(g_model, X_realA, n_patch)
        # update discriminator for real samples
        d_loss1 = _scalar(d_model.train_on_batch([X_realA, X_realB], y_real))
        # update discriminator for generated samples
        d_loss2 = _scalar(d_model.train_on_batch([X_realA, X_fakeB], y_fake))
        # update the generator
        g_loss, g_bce, g_l1 = [float(v) for v in gan_model.train_on_batch(X_realA, [y_real, X_realB])]
        return {"d1": d_loss1, "d2": d_loss2, "g": g_loss, "g_bce": g_bce, "g_l1": g_l1}

    def summarize(i, write, last):
        with rng_isolated():
            summarize_performance(i, g_model, dataset, out_dir=out_dir, save_model=save_models, log=write)
            if val_dataset is not None:
                n = min(val_plot_samples, len(val_dataset[0]))
                X_fakeB = translate(g_model, val_dataset[0][:n])
                plot_translations(val_dataset[0][:n], X_fakeB, val_dataset[1][:n],
                                  os.path.join(out_dir, VAL_PLOT_NAME % (i + 1)),
                                  "step %d, validation pairs: source / generated / target" % (i + 1))
                state["val_l1"] = evaluate_l1(g_model, val_dataset[0], val_dataset[1], max_images=val_images)
                write(">val_l1[%.4f] (mean |G(source) - target| on %d validation pairs, [-1,1] scale)"
                      % (state["val_l1"], min(len(val_dataset[0]), val_images)))
        return {"val_l1": state["val_l1"]}

    result = loop.run(step, summarize, lambda: {"n_batch": n_batch, "n_epochs": n_epochs, "val_l1": state["val_l1"]})
    result["val_l1"] = state["val_l1"]
    return result
