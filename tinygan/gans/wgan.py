"""Chapter 16: the Wasserstein GAN (WGAN) for one MNIST digit (Listings 16.4-16.22), plus WGAN-GP.

The book's WGAN, on ``tinygan.keras``:

* :class:`ClipConstraint` and :func:`wasserstein_loss` (``mean(y_true * y_pred)``, labels -1 real / +1 fake);
* :func:`define_critic`: two strided 4x4 convs whose kernels are clipped to [-0.01, 0.01] after every update,
  BatchNorm, LeakyReLU(0.2), a linear Dense(1); RMSprop(lr=0.00005) (70,337 params, 256 non-trainable);
* :func:`define_generator`: chapter 10's generator (:func:`tinygan.gans.dcgan_mnist.define_generator_ch10`, the same
  layers: 851,713 params at latent_dim 50);
* :func:`train`: per step ``n_critic`` (5) rounds of a real half batch (target -1) and a fake half batch (target
  +1), then one generator update with target -1, printed as ``>%d, c1=%.3f, c2=%.3f g=%.3f`` (c1/c2: the means
  over the rounds); every epoch ``generated_plot_%04d.png`` and ``model_%04d.h5``; the loss plot (``crit_real``,
  ``crit_fake``, ``gen``) at the end.

WGAN-GP (Gulrajani et al. 2017, not in the book), ``train(..., gp_weight=10)``: instead of clipping, each critic
round takes one step on ``mean(C(fake)) - mean(C(real)) + gp_weight * mean((||grad_x C(x_hat)|| - 1)^2)`` with
``x_hat`` a random interpolate of a real and a fake image per sample. The penalty's gradient in the critic's
weights is a second derivative, taken by tinygan's autograd (``tinygan.grad(..., create_graph=True)``). As the
paper recommends, the GP critic (:func:`define_critic` with ``gp=True``) has no BatchNorm (the penalty is per
sample; tinygan also has no double backward through a norm) and no clipping, and both models use
``Adam(lr=0.0001, beta_1=0.0, beta_2=0.9)``. The log line gains ``gp=%.3f`` and c1/c2 are the critic's
Wasserstein losses on the real and fake half batches, as in the book.
"""
import numpy as np
from numpy import mean, ones
from numpy.random import rand

from tinygan.keras import backend
from tinygan.keras.constraints import Constraint
from tinygan.keras.initializers import RandomNormal
from tinygan.keras.layers import BatchNormalization, Conv2D, Dense, Flatten, LeakyReLU
from tinygan.keras.models import Sequential
from tinygan.keras.optimizers import Adam, RMSprop

from .conditional import (composite, fake_samples, generate_real_samples, latent_points, run_training,
                          save_plot_and_model, scalar)
from .dcgan_mnist import define_generator_ch10

PLOT_LABELS = {"c1": "crit_real", "c2": "crit_fake", "g": "gen", "gp": "gp"}


# clip model weights to a given hypercube
class ClipConstraint(Constraint):
    # set clip value when initialized
    def __init__(self, clip_value):
        self.clip_value = clip_value

    # clip model weights to hypercube
    def __call__(self, weights):
        return backend.clip(weights, -self.clip_value, self.clip_value)

    # get the config
    def get_config(self):
        return {'clip_value': self.clip_value}


# calculate wasserstein loss
def wasserstein_loss(y_true, y_pred):
    return backend.mean(y_true * y_pred)


def gp_optimizer():
    """WGAN-GP's optimizer (the paper's Algorithm 1): Adam(1e-4, beta_1=0.0, beta_2=0.9)."""
    return Adam(lr=0.0001, beta_1=0.0, beta_2=0.9)


# define the standalone critic model
def define_critic(in_shape=(28, 28, 1), gp=False):
    """Listing 16.11; ``gp=True``: the WGAN-GP critic (no clipping, no BatchNorm, Adam)."""
    # weight initialization
    init = RandomNormal(stddev=0.02)
    # weight constraint
    const = None if gp else ClipConstraint(0.01)
    # define model
    model = Sequential()
    # downsample to 14x14, then to 7x7
    for first in (True, False):
        model.add(Conv2D(64, (4, 4), strides=(2, 2), padding='same', kernel_initializer=init, kernel_constraint=const,
                         **({"input_shape": in_shape} if first else {})))
        if not gp:
            model.add(BatchNormalization())
        model.add(LeakyReLU(alpha=0.2))
    # scoring, linear activation
    model.add(Flatten())
    model.add(Dense(1))
    # compile model
    opt = gp_optimizer() if gp else RMSprop(lr=0.00005)
    model.compile(loss=wasserstein_loss, optimizer=opt)
    return model


# define the standalone generator model (the same layers as chapter 10's)
def define_generator(latent_dim):
    return define_generator_ch10(latent_dim)


# define the combined generator and critic model, for updating the generator
def define_gan(generator, critic, opt=None):
    """Listing 16.13 (``opt``: the composite's optimizer, RMSprop(lr=0.00005) as the book; Adam for WGAN-GP)."""
    return composite(generator, critic, wasserstein_loss, opt or RMSprop(lr=0.00005))


# use the generator to generate n fake examples, with class labels
def generate_fake_samples(generator, latent_dim, n_samples):
    # create class labels with 1.0 for 'fake'
    return fake_samples(generator, latent_dim, n_samples, label=1.0)


# ------------------------------------------------------------------------------------------------- WGAN-GP
def gradient_penalty(critic, x_real, x_fake, eps):
    """``mean((||d critic(x_hat) / d x_hat|| - 1)^2)`` with ``x_hat = eps * x_real + (1 - eps) * x_fake``.

    ``critic`` maps a Tensor batch to scores; the result is a Tensor whose gradient in the critic's weights (a
    second derivative) flows because the input gradient is taken with ``create_graph=True``.
    """
    from tinygan import grad, ops
    from tinygan.autograd import Tensor
    x_hat = x_real * eps + x_fake * (1.0 - eps)
    x_hat = x_hat if isinstance(x_hat, Tensor) else Tensor(x_hat)
    x_hat = Tensor(x_hat.data, requires_grad=True) if x_hat._node is None else x_hat
    g = grad(ops.sum(critic(x_hat)), x_hat, create_graph=True)
    norms = ops.sqrt(ops.sum(g * g, axis=(1, 2, 3)) + 1e-12)
    return ops.mean(ops.square(norms - 1.0))


def train_critic_gp(c_model, X_real, X_fake, gp_weight):
    """One WGAN-GP critic step; returns ``(loss on real, loss on fake, penalty)`` in the book's sign convention
    (``-mean(C(real))``, ``mean(C(fake))``), measured before the step."""
    from tinygan import grad, ops
    from tinygan.autograd import Tensor
    from tinygan.keras.engine.base_layer import Run
    run = Run(True, c_model._snapshot)

    def critic(x):
        return c_model._execute(x, True, run)
    dtype = backend.floatx()
    x_real, x_fake = Tensor(np.asarray(X_real, dtype)), Tensor(np.asarray(X_fake, dtype))
    eps = Tensor(rand(len(X_real), 1, 1, 1).astype(dtype))
    loss_real = -ops.mean(critic(x_real))
    loss_fake = ops.mean(critic(x_fake))
    penalty = gradient_penalty(critic, x_real, x_fake, eps)
    total = loss_real + loss_fake + penalty * gp_weight
    params = c_model._train_weights
    grads = grad(total, params)
    c_model.optimizer.apply_gradients(params, [g.data for g in grads])
    run.apply_updates()
    return tuple(float(backend.get_value(t)) for t in (loss_real, loss_fake, penalty))


# ------------------------------------------------------------------------------------------------- training
# generate samples and save as a plot and save the model
def summarize_performance(step, g_model, latent_dim, n_samples=100, out_dir=".", log=print):
    # prepare fake examples
    X, _ = generate_fake_samples(g_model, latent_dim, n_samples)
    # save plot to file and the generator model
    return save_plot_and_model(step, X, g_model, out_dir, log)


# train the generator and critic
def train(g_model, c_model, gan_model, dataset, latent_dim, n_epochs=10, n_batch=64, n_critic=5, *, gp_weight=None,
          save_every=None, out_dir=".", log=print, **session):
    """Listing 16.20; ``gp_weight``: WGAN-GP with this penalty weight (the paper: 10) instead of the book's
    clipped critic. ``session``: the options of :func:`tinygan.gans.conditional.run_training`."""
    # calculate the number of batches per training epoch
    bat_per_epo = int(dataset.shape[0] / n_batch)
    # calculate the number of training iterations
    n_steps = bat_per_epo * n_epochs
    # calculate the size of half a batch of samples
    half_batch = int(n_batch / 2)

    def step(i):
        # update the critic more than the generator
        c1_tmp, c2_tmp, gp_tmp = list(), list(), list()
        for _ in range(n_critic):
            # get randomly selected 'real' samples
            X_real, y_real = generate_real_samples(dataset, half_batch, label=-1.0)
            # generate 'fake' examples
            X_fake, y_fake = generate_fake_samples(g_model, latent_dim, half_batch)
            if gp_weight:
                c_loss1, c_loss2, gp = train_critic_gp(c_model, X_real, X_fake, gp_weight)
                gp_tmp.append(gp)
            else:
                # update critic model weights
                c_loss1 = c_model.train_on_batch(X_real, y_real)
                c_loss2 = c_model.train_on_batch(X_fake, y_fake)
            c1_tmp.append(scalar(c_loss1))
            c2_tmp.append(scalar(c_loss2))
        # prepare points in latent space as input for the generator
        X_gan = latent_points(latent_dim, n_batch)
        # create inverted labels for the fake samples
        y_gan = -ones((n_batch, 1))
        # update the generator via the critic's error
        g_loss = gan_model.train_on_batch(X_gan, y_gan)
        values = {"c1": float(mean(c1_tmp)), "c2": float(mean(c2_tmp)), "g": scalar(g_loss)}
        if gp_weight:
            values["gp"] = float(mean(gp_tmp))
        return values

    def line(i, v):
        text = '>%d, c1=%.3f, c2=%.3f g=%.3f' % (i + 1, v["c1"], v["c2"], v["g"])
        return text + (', gp=%.3f' % v["gp"] if gp_weight else '')

    return run_training(
        {"d_model": c_model, "g_model": g_model, "gan_model": gan_model}, n_steps, step, line,
        fields=("c1", "c2", "g") + (("gp",) if gp_weight else ()), plot_labels=PLOT_LABELS,
        desc="wgan-gp" if gp_weight else "wgan", save_every=save_every or bat_per_epo,
        summarize=lambda i, write: summarize_performance(i, g_model, latent_dim, out_dir=out_dir, log=write),
        samples=lambda: (generate_fake_samples(g_model, latent_dim, 100)[0], generate_real_samples(dataset, 100)[0]),
        out_dir=out_dir, log=log, extra={"chapter": 16, "latent_dim": latent_dim, "n_batch": n_batch,
                                         "n_critic": n_critic, "gp_weight": gp_weight}, **session)
