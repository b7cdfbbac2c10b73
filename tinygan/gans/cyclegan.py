"""CycleGAN (chapters 24-26): the PatchGAN discriminator, the ResNet generator, the composite models, the image
pool and the book's training loop, on tinygan.keras.

The functions read like the book's Listing 26.17. What is added keeps the book's behaviour by default:

* :func:`define_generator` takes ``ngf`` (64 = the book) so a small generator fits a CPU demo; the book's residual
  blocks *concatenate* their input (the channel count grows by ``4 * ngf`` per block: 2,560 channels after 9
  blocks, 35,276,553 parameters at 256 px), which is kept.
* :func:`define_composite_model` takes the learning rate and the identity and cycle weights (the book: 5 and 10).
* :func:`train` is the book's loop (fakes of both generators, the image pools, then c_model_BtoA, d_model_A,
  c_model_AtoB, d_model_B; the line ``>%d, dA[%.3f,%.3f] dB[%.3f,%.3f] g[%.3f,%.3f]``; the A->B and B->A plots
  every epoch and both generators saved every 5 epochs under the book's names) run by the shared
  :class:`~tinygan.training.TrainingLoop`: progress bar, CSV + PNG of every loss, full-state checkpoints (all four
  models, all six optimizers, both image pools, the random streams, the step) that resume exactly, Ctrl-C saves.
  Beyond the book, as options: a linear learning-rate decay to 0 over the last part of the run (the paper's), and
  the held-out cycle-consistency L1 at each summary.
"""
import os
import random as py_random
from random import random

import numpy as np
from numpy import asarray, load, ones, zeros
from numpy.random import randint

from tinygan.keras.initializers import RandomNormal
from tinygan.keras.layers import Activation, Concatenate, Conv2D, Conv2DTranspose, Input, InstanceNormalization, LeakyReLU
from tinygan.keras.models import Model
from tinygan.keras.optimizers import Adam

from .pix2pix import plot_images
from .pix2pix_data import _pyplot, unscale_images

LOG_FORMAT = ">%d, dA[%.3f,%.3f] dB[%.3f,%.3f] g[%.3f,%.3f]"
PLOT_NAME = "%s_generated_plot_%06d.png"
CYCLE_PLOT_NAME = "%s_cycle_plot_%06d.png"
MODEL_NAME = "g_model_%s_%06d.h5"
LOSS_FIELDS = ("dA1", "dA2", "dB1", "dB2", "g_AtoB", "g_BtoA",
               "g_AtoB_adv", "g_AtoB_id", "g_AtoB_fwd", "g_AtoB_bwd",
               "g_BtoA_adv", "g_BtoA_id", "g_BtoA_fwd", "g_BtoA_bwd")


# ---- the models -----------------------------------------------------------------------------------------------
def define_discriminator(image_shape, ndf=64, lr=0.0002, beta_1=0.5):
    """The 70x70 PatchGAN of chapter 25: C64 (no norm)-C128-C256-C512, C512 stride 1, a linear 1-channel patch
    map, InstanceNormalization, least-squares loss weighted 0.5 (6,962,369 parameters at 256 px)."""
    # weight initialization
    init = RandomNormal(stddev=0.02)
    # source image input
    in_image = Input(shape=image_shape)
    # C64
    d = Conv2D(ndf, (4, 4), strides=(2, 2), padding='same', kernel_initializer=init)(in_image)
    d = LeakyReLU(alpha=0.2)(d)
    # C128, C256, C512
    for mult in (2, 4, 8):
        d = Conv2D(ndf * mult, (4, 4), strides=(2, 2), padding='same', kernel_initializer=init)(d)
        d = InstanceNormalization(axis=-1)(d)
        d = LeakyReLU(alpha=0.2)(d)
    # second last output layer
    d = Conv2D(ndf * 8, (4, 4), padding='same', kernel_initializer=init)(d)
    d = InstanceNormalization(axis=-1)(d)
    d = LeakyReLU(alpha=0.2)(d)
    # patch output
    patch_out = Conv2D(1, (4, 4), padding='same', kernel_initializer=init)(d)
    # define model
    model = Model(in_image, patch_out)
    # compile model
    model.compile(loss='mse', optimizer=Adam(lr=lr, beta_1=beta_1), loss_weights=[0.5])
    return model


def resnet_block(n_filters, input_layer):
    """Conv 3x3 -> IN -> ReLU -> Conv 3x3 -> IN, then *concatenated* with the input (the book's block)."""
    # weight initialization
    init = RandomNormal(stddev=0.02)
    # first layer convolutional layer
    g = Conv2D(n_filters, (3, 3), padding='same', kernel_initializer=init)(input_layer)
    g = InstanceNormalization(axis=-1)(g)
    g = Activation('relu')(g)
    # second convolutional layer
    g = Conv2D(n_filters, (3, 3), padding='same', kernel_initializer=init)(g)
    g = InstanceNormalization(axis=-1)(g)
    # concatenate merge channel-wise with input layer
    g = Concatenate()([g, input_layer])
    return g


def define_generator(image_shape, n_resnet=9, ngf=64):
    """The ResNet encoder-decoder: c7s1-64, d128, d256, ``n_resnet`` x R256, u128, u64, c7s1-3 (IN before the
    tanh). ``ngf`` scales every filter count (64 = the book)."""
    # weight initialization
    init = RandomNormal(stddev=0.02)
    # image input
    in_image = Input(shape=image_shape)
    # c7s1-64
    g = Conv2D(ngf, (7, 7), padding='same', kernel_initializer=init)(in_image)
    g = InstanceNormalization(axis=-1)(g)
    g = Activation('relu')(g)
    # d128
    g = Conv2D(ngf * 2, (3, 3), strides=(2, 2), padding='same', kernel_initializer=init)(g)
    g = InstanceNormalization(axis=-1)(g)
    g = Activation('relu')(g)
    # d256
    g = Conv2D(ngf * 4, (3, 3), strides=(2, 2), padding='same', kernel_initializer=init)(g)
    g = InstanceNormalization(axis=-1)(g)
    g = Activation('relu')(g)
    # R256
    for _ in range(n_resnet):
        g = resnet_block(ngf * 4, g)
    # u128
    g = Conv2DTranspose(ngf * 2, (3, 3), strides=(2, 2), padding='same', kernel_initializer=init)(g)
    g = InstanceNormalization(axis=-1)(g)
    g = Activation('relu')(g)
    # u64
    g = Conv2DTranspose(ngf, (3, 3), strides=(2, 2), padding='same', kernel_initializer=init)(g)
    g = InstanceNormalization(axis=-1)(g)
    g = Activation('relu')(g)
    # c7s1-3
    g = Conv2D(image_shape[-1], (7, 7), padding='same', kernel_initializer=init)(g)
    g = InstanceNormalization(axis=-1)(g)
    out_image = Activation('tanh')(g)
    # define model
    model = Model(in_image, out_image)
    return model


def define_composite_model(g_model_1, d_model, g_model_2, image_shape, lr=0.0002, beta_1=0.5, identity_weight=5,
                           cycle_weight=10):
    """The composite that updates ``g_model_1`` (chapter 25): [real source, real target] -> [D(G1(source)),
    G1(target) (identity), G2(G1(source)) (forward cycle), G1(G2(target)) (backward cycle)], losses
    mse/mae/mae/mae weighted 1/5/10/10 (``identity_weight``, ``cycle_weight``); D and G2 frozen."""
    # ensure the model we're updating is trainable
    g_model_1.trainable = True
    # mark discriminator as not trainable
    d_model.trainable = False
    # mark other generator model as not trainable
    g_model_2.trainable = False
    # discriminator element
    input_gen = Input(shape=image_shape)
    gen1_out = g_model_1(input_gen)
    output_d = d_model(gen1_out)
    # identity element
    input_id = Input(shape=image_shape)
    output_id = g_model_1(input_id)
    # forward cycle
    output_f = g_model_2(gen1_out)
    # backward cycle
    gen2_out = g_model_2(input_id)
    output_b = g_model_1(gen2_out)
    # define model graph
    model = Model([input_gen, input_id], [output_d, output_id, output_f, output_b])
    # define optimization algorithm configuration
    opt = Adam(lr=lr, beta_1=beta_1)
    # compile model with weighting of least squares loss and L1 loss
    model.compile(loss=['mse', 'mae', 'mae', 'mae'], loss_weights=[1, identity_weight, cycle_weight, cycle_weight],
                  optimizer=opt)
    return model


def define_models(image_shape, n_resnet=9, ngf=64, ndf=64, lr=0.0002, beta_1=0.5, identity_weight=5,
                  cycle_weight=10):
    """The six models of the book's main script, as a dict: g_model_AtoB, g_model_BtoA, d_model_A, d_model_B,
    c_model_AtoB, c_model_BtoA (built in the book's order, so a seed gives the book's initial weights order)."""
    models = {"g_model_AtoB": define_generator(image_shape, n_resnet, ngf),
              "g_model_BtoA": define_generator(image_shape, n_resnet, ngf),
              "d_model_A": define_discriminator(image_shape, ndf, lr, beta_1),
              "d_model_B": define_discriminator(image_shape, ndf, lr, beta_1)}
    weights = dict(lr=lr, beta_1=beta_1, identity_weight=identity_weight, cycle_weight=cycle_weight)
    models["c_model_AtoB"] = define_composite_model(models["g_model_AtoB"], models["d_model_B"],
                                                    models["g_model_BtoA"], image_shape, **weights)
    models["c_model_BtoA"] = define_composite_model(models["g_model_BtoA"], models["d_model_A"],
                                                    models["g_model_AtoB"], image_shape, **weights)
    return models


# ---- data -----------------------------------------------------------------------------------------------------
def load_real_samples(filename):
    """The book's loader: ``arr_0`` (domain A) and ``arr_1`` (domain B) scaled from [0,255] to [-1,1] (float32;
    the two domains may hold different numbers of images)."""
    # load the dataset
    with load(filename) as data:
        # unpack arrays
        X1, X2 = data['arr_0'], data['arr_1']
    # scale from [0,255] to [-1,1]
    X1 = ((X1 - np.float32(127.5)) / np.float32(127.5)).astype(np.float32)
    X2 = ((X2 - np.float32(127.5)) / np.float32(127.5)).astype(np.float32)
    return [X1, X2]


def generate_real_samples(dataset, n_samples, patch_shape):
    """``n_samples`` random images of one domain (with replacement, as the book) and 'real' labels (1)."""
    # choose random instances
    ix = randint(0, dataset.shape[0], n_samples)
    # retrieve selected images
    X = dataset[ix]
    # generate 'real' class labels (1)
    y = ones((n_samples, patch_shape, patch_shape, 1), dtype=dataset.dtype)
    return X, y


def generate_fake_samples(g_model, dataset, patch_shape):
    """Translations of ``dataset`` by ``g_model`` and 'fake' labels (0)."""
    # generate fake instance
    X = g_model.predict(dataset)
    # create 'fake' class labels (0)
    y = zeros((len(X), patch_shape, patch_shape, 1), dtype=X.dtype)
    return X, y


def update_image_pool(pool, images, max_size=50):
    """The history of generated images (image_pool.lua): stock the pool up to ``max_size``; then each new image is
    used as it is with probability 0.5, else it replaces a random pooled image, which is used instead."""
    selected = list()
    for image in images:
        if len(pool) < max_size:
            # stock the pool
            pool.append(image)
            selected.append(image)
        elif random() < 0.5:
            # use image, but don't add it to the pool
            selected.append(image)
        else:
            # replace an existing image and use replaced image
            ix = randint(0, len(pool))
            selected.append(pool[ix])
            pool[ix] = image
    return asarray(selected)


def translate(g_model, images, batch_size=8):
    """``g_model`` applied to ``images`` (n, h, w, c) in [-1,1]; instance norm makes the result independent of
    the batch size."""
    images = np.asarray(images)
    out = [g_model.predict(images[i:i + batch_size]) for i in range(0, len(images), batch_size)]
    return np.concatenate(out) if out else images[:0].copy()


def cycle_l1(g_model_1, g_model_2, images, max_images=None):
    """Mean |G2(G1(x)) - x| over ``images`` (the cycle-consistency error, [-1,1] scale)."""
    if max_images is not None:
        images = images[:max_images]
    return float(np.mean(np.abs(translate(g_model_2, translate(g_model_1, images)) - images)))


def evaluate_cycles(models, val_dataset, max_images=64):
    """{'cycle_A': |BtoA(AtoB(a)) - a|, 'cycle_B': |AtoB(BtoA(b)) - b|, 'cycle': their mean} on held-out images."""
    a = cycle_l1(models["g_model_AtoB"], models["g_model_BtoA"], val_dataset[0], max_images)
    b = cycle_l1(models["g_model_BtoA"], models["g_model_AtoB"], val_dataset[1], max_images)
    return {"cycle_A": a, "cycle_B": b, "cycle": 0.5 * (a + b)}


# ---- plots and saving -----------------------------------------------------------------------------------------
def save_models(step, g_model_AtoB, g_model_BtoA, out_dir=".", log=print):
    """Both generators as ``g_model_AtoB_%06d.h5`` / ``g_model_BtoA_%06d.h5`` (step+1), the book's names."""
    # save the first generator model
    filename1 = os.path.join(out_dir, MODEL_NAME % ("AtoB", step + 1))
    g_model_AtoB.save(filename1)
    # save the second generator model
    filename2 = os.path.join(out_dir, MODEL_NAME % ("BtoA", step + 1))
    g_model_BtoA.save(filename2)
    if log:
        log('>Saved: %s and %s' % (filename1, filename2))
    return filename1, filename2


def plot_rows(rows, filename, titles=None, suptitle=None):
    """A grid with one row per list of [-1,1] images (all rows the same length)."""
    pyplot = _pyplot()
    n = len(rows[0])
    for r, images in enumerate(rows):
        images = unscale_images(np.asarray(images))
        for i in range(n):
            ax = pyplot.subplot(len(rows), n, 1 + r * n + i)
            pyplot.axis('off')
            pyplot.imshow(images[i])
            if titles and i == 0:
                ax.set_title(titles[r], fontsize=8, loc="left")
    if suptitle:
        pyplot.suptitle(suptitle, fontsize=9)
    pyplot.savefig(filename)
    pyplot.close()
    return filename


def show_plot(imagesX, imagesY1, imagesY2, filename=None):
    """The book's figure of Listing 26.28: Real / Generated / Reconstructed side by side (one image each), saved
    to ``filename`` (or shown when None)."""
    return plot_images(imagesX, imagesY1, imagesY2, filename, titles=('Real', 'Generated', 'Reconstructed'))


def summarize_performance(step, g_model, trainX, name, n_samples=5, out_dir="."):
    """The book's plot (Listing 26.15): ``n_samples`` random inputs above their translations, saved as
    ``<name>_generated_plot_%06d.png`` (step+1)."""
    # select a sample of input images
    X_in, _ = generate_real_samples(trainX, n_samples, 0)
    # generate translated images
    X_out, _ = generate_fake_samples(g_model, X_in, 0)
    filename1 = os.path.join(out_dir, PLOT_NAME % (name, step + 1))
    return plot_rows([X_in, X_out], filename1)


def plot_cycles(step, g_model_1, g_model_2, images, name, out_dir="."):
    """Real / translated / reconstructed rows for ``images`` (e.g. A -> B -> A), as ``<name>_cycle_plot_%06d.png``."""
    fake = translate(g_model_1, images)
    back = translate(g_model_2, fake)
    a, b = name.split("to")
    return plot_rows([images, fake, back], os.path.join(out_dir, CYCLE_PLOT_NAME % (name, step + 1)),
                     titles=[f"real {a}", f"{a} -> {b}", f"{a} -> {b} -> {a}"],
                     suptitle="step %d: %s -> %s -> %s" % (step + 1, a, b, a))


# ---- training ---------------------------------------------------------------------------------------------------
def learning_rate(step, n_steps, lr=0.0002, decay_from=None):
    """The paper's schedule: ``lr`` until step ``decay_from`` (None: never), then linearly down to 0 at
    ``n_steps``."""
    if decay_from is None or step < decay_from:
        return lr
    return lr * max(0.0, 1.0 - (step - decay_from) / max(1, n_steps - decay_from))


def _set_lr(models, lr):
    from tinygan.keras import backend as K
    for name in ("d_model_A", "d_model_B", "c_model_AtoB", "c_model_BtoA"):
        K.set_value(models[name].optimizer.lr, lr)


def train_step(models, dataset, pools, n_batch, n_patch, pool_size=50):
    """One iteration of the book's loop; returns the row of losses (composites: total and the four terms)."""
    trainA, trainB = dataset
    poolA, poolB = pools
    d_model_A, d_model_B = models["d_model_A"], models["d_model_B"]
    # select a batch of real samples
    X_realA, y_realA = generate_real_samples(trainA, n_batch, n_patch)
    X_realB, y_realB = generate_real_samples(trainB, n_batch, n_patch)
    # generate a batch of fake samples
    X_fakeA, y_fakeA = generate_fake_samples(models["g_model_BtoA"], X_realB, n_patch)
    X_fakeB, y_fakeB = generate_fake_samples(models["g_model_AtoB"], X_realA, n_patch)
    # update fakes from pool
    X_fakeA = update_image_pool(poolA, X_fakeA, pool_size)
    X_fakeB = update_image_pool(poolB, X_fakeB, pool_size)
    # update generator B->A via adversarial and cycle loss
    g2 = models["c_model_BtoA"].train_on_batch([X_realB, X_realA], [y_realA, X_realA, X_realB, X_realA])
    # update discriminator for A -> [real/fake]
    dA_loss1 = d_model_A.train_on_batch(X_realA, y_realA)
    dA_loss2 = d_model_A.train_on_batch(X_fakeA, y_fakeA)
    # update generator A->B via adversarial and cycle loss
    g1 = models["c_model_AtoB"].train_on_batch([X_realA, X_realB], [y_realB, X_realB, X_realA, X_realB])
    # update discriminator for B -> [real/fake]
    dB_loss1 = d_model_B.train_on_batch(X_realB, y_realB)
    dB_loss2 = d_model_B.train_on_batch(X_fakeB, y_fakeB)
    row = dict(zip(LOSS_FIELDS, [float(v) for v in (dA_loss1, dA_loss2, dB_loss1, dB_loss2, g1[0], g2[0],
                                                    *g1[1:], *g2[1:])]))
    return row


def pool_state(pools):
    """Both image pools as arrays (n, h, w, c) for a checkpoint (an empty pool as None)."""
    return [np.stack(p) if p else None for p in pools]


def load_pools(state):
    return tuple([] if s is None else [np.array(img) for img in s] for s in state)


def train(d_model_A, d_model_B, g_model_AtoB, g_model_BtoA, c_model_AtoB, c_model_BtoA, dataset, n_epochs=100,
          n_batch=1, *, summary_every=1, save_every=5, out_dir=".", val_dataset=None, val_images=64, n_samples=5,
          pool_size=50, lr=0.0002, decay_from=None, log_every=1, progress=True, checkpoint_every=None,
          resume_from=None, max_steps=None, extra=None, stop=None, callback=None, save_models_files=True,
          log=print, evaluation=None):
    """Train CycleGAN as the book does (Listing 26.17), run by the shared training loop.

    Per step: a random image of each domain (domain B sampled independently, so the sizes may differ), both
    translations, both image pools, ``c_model_BtoA``, ``d_model_A`` (real, then pooled fake), ``c_model_AtoB``,
    ``d_model_B``; the book's line every ``log_every`` steps (0: never). Every ``summary_every`` epochs (the
    book: 1; epochs count ``len(trainA)`` steps): the book's ``AtoB_generated_plot_%06d.png`` and
    ``BtoA_generated_plot_%06d.png``, the cycle grids ``AtoB_cycle_plot_%06d.png`` (A -> B -> A) and
    ``BtoA_cycle_plot_%06d.png``, with ``val_dataset`` the held-out cycle L1, the loss plot and a checkpoint.
    Every ``save_every`` epochs (the book: 5) and at the end: ``g_model_AtoB_%06d.h5`` and ``g_model_BtoA_%06d.h5``.
    ``decay_from``: a step from which the learning rate of all six optimizers falls linearly to 0 at the last step
    (None: the book's constant ``lr``). ``evaluation``: FID/KID columns every N steps
    (:class:`tinygan.metrics.during_training.Evaluation`). The rest is :class:`~tinygan.training.TrainingLoop`'s.
    """
    from tinygan.training import TrainingLoop, checkpoint_extra, rng_isolated

    models = {"g_model_AtoB": g_model_AtoB, "g_model_BtoA": g_model_BtoA, "d_model_A": d_model_A,
              "d_model_B": d_model_B, "c_model_AtoB": c_model_AtoB, "c_model_BtoA": c_model_BtoA}
    n_patch = d_model_A.output_shape[1]
    trainA, trainB = dataset
    bat_per_epo = int(len(trainA) / n_batch)
    if bat_per_epo < 1 or len(trainB) < 1:
        raise ValueError(f"domain A has {len(trainA)} images and domain B {len(trainB)}: each needs at least one "
                         f"batch of {n_batch}")
    n_steps = bat_per_epo * n_epochs
    image_shape = [int(x) for x in trainA.shape[1:]]
    if resume_from:
        saved_shape = checkpoint_extra(resume_from)[1].get("image_shape")
        if saved_shape is not None and list(saved_shape) != image_shape:
            raise ValueError(f"{resume_from} was trained on {'x'.join(map(str, saved_shape))} images but the data "
                             f"is {'x'.join(map(str, image_shape))}: resume with the run's own data, or start a "
                             "new run (another --out)")
    loop = TrainingLoop("cyclegan", out_dir, models, LOSS_FIELDS + ("val_cycle_A", "val_cycle_B"), n_steps,
                        bat_per_epo, summary_every=summary_every, checkpoint_every=checkpoint_every,
                        resume_from=resume_from, max_steps=max_steps, extra=extra, stop=stop, callback=callback,
                        progress=progress, log=log, log_every=log_every, evaluation=evaluation,
                        log_line=lambda i, r: LOG_FORMAT % (i, r["dA1"], r["dA2"], r["dB1"], r["dB2"], r["g_AtoB"],
                                                            r["g_BtoA"]),
                        postfix=lambda r: {"g": "%.2f,%.2f" % (r["g_AtoB"], r["g_BtoA"])},
                        optimizer_only=("c_model_AtoB", "c_model_BtoA"),
                        plot_groups=[["dA1", "dA2", "dB1", "dB2"], ["g_AtoB", "g_BtoA"],
                                     ["g_AtoB_fwd", "g_AtoB_bwd", "g_BtoA_fwd", "g_BtoA_bwd", "val_cycle_A",
                                      "val_cycle_B"], ["g_AtoB_adv", "g_BtoA_adv", "g_AtoB_id", "g_BtoA_id"]])
    pools = ([], [])
    state = {"val": None}
    if loop.saved:
        pools = load_pools(loop.saved["pools"])
        py_random.setstate(_as_tuple(loop.saved["py_random"]))
        state["val"] = loop.saved.get("val")
    save_steps = max(1, int(round(bat_per_epo * save_every))) if save_every else None

    def step(i):
        if decay_from is not None:
            _set_lr(models, learning_rate(i, n_steps, lr, decay_from))
        return train_step(models, dataset, pools, n_batch, n_patch, pool_size)

    def summarize(i, write, last):
        row = {}
        with rng_isolated():
            summarize_performance(i, g_model_AtoB, trainA, 'AtoB', n_samples, out_dir)
            summarize_performance(i, g_model_BtoA, trainB, 'BtoA', n_samples, out_dir)
            cycles = val_dataset if val_dataset is not None else dataset
            plot_cycles(i, g_model_AtoB, g_model_BtoA, cycles[0][:n_samples], "AtoB", out_dir)
            plot_cycles(i, g_model_BtoA, g_model_AtoB, cycles[1][:n_samples], "BtoA", out_dir)
            if val_dataset is not None:
                state["val"] = evaluate_cycles(models, val_dataset, val_images)
                row = {"val_cycle_A": state["val"]["cycle_A"], "val_cycle_B": state["val"]["cycle_B"]}
                write(">val_cycle[A %.4f, B %.4f] (mean |G(F(x)) - x| on held-out images, [-1,1] scale)"
                      % (state["val"]["cycle_A"], state["val"]["cycle_B"]))
        if save_models_files and ((save_steps and (i + 1) % save_steps == 0) or last):
            save_models(i, g_model_AtoB, g_model_BtoA, out_dir, log=write)
        return row

    def checkpoint_state():
        return {"pools": pool_state(pools), "py_random": py_random.getstate(), "val": state["val"],
                "n_batch": n_batch, "n_epochs": n_epochs, "image_shape": image_shape}

    result = loop.run(step, summarize, checkpoint_state)
    result["val_cycle"] = state["val"]
    return result


def _as_tuple(x):
    """A JSON-decoded list back into the nested tuples of ``random.getstate()``."""
    return tuple(_as_tuple(v) for v in x) if isinstance(x, (list, tuple)) else x
