"""Model cases: one book train step in tinygan.keras (``make_tinygan_step``, the gans modules' own ``define_*``
functions) next to its PyTorch reference, and ``select_cases``, the list a run times.

Used by the benchmark run, :mod:`tinygan.gpu_bench` and :mod:`tinygan.distributed.bench`.
"""
import importlib
import warnings

import numpy as np

from .case import Case
from .model_specs import DCGAN_SPECS, model_label, model_sizes, step_flops
from .op_cases import op_cases
from .registry import MODEL_NAMES, OWN_MODULE
from .torch_reference import make_torch_step


def _keras_params(*models):
    """Every weight of the models (trainable or not, BN moving statistics included), as Keras count_params."""
    return sum(int(m.count_params()) for m in models)


def _quiet(step):
    """The step with the Keras-2 'trainable weights discrepancy' warning (expected: the book freezes D after
    compiling it) silenced."""
    def run():
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Discrepancy between trainable weights")
            step()
    return run


def make_tinygan_step(model, quick=False, sizes=None):
    """One book train step on tinygan.keras (the gans modules' own define_* functions); returns (step, n_params).

    ``sizes`` overrides :func:`model_sizes`. The step's fixed data and labels live on the current device (as
    the PyTorch reference's do); what ``g.predict`` returns is a NumPy array, as in Keras, and goes back to the
    device in the next ``train_on_batch``."""
    from tinygan import backend
    if model in OWN_MODULE:
        return importlib.import_module(OWN_MODULE[model]).make_tinygan_step(quick)
    rng = np.random.default_rng(0)
    sz = sizes or model_sizes(quick)[model]
    xp, put = backend.xp(), backend.asarray
    if model == "pix2pix":
        from tinygan.gans import pix2pix as p2p
        size, n = sz["size"], sz["batch"]
        shape = (size, size, 3)
        d = p2p.define_discriminator(shape)
        g = p2p.define_generator(shape)
        gan = p2p.define_gan(g, d, shape)
        a = put(rng.uniform(-1, 1, (n, *shape)).astype(np.float32))
        b = put(rng.uniform(-1, 1, (n, *shape)).astype(np.float32))
        patch = d.output_shape[1]
        y_real, y_fake = xp.ones((n, patch, patch, 1), np.float32), xp.zeros((n, patch, patch, 1), np.float32)

        def step():
            fake = g.predict(a)
            d.train_on_batch([a, b], y_real)
            d.train_on_batch([a, fake], y_fake)
            gan.train_on_batch(a, [y_real, b])

        return _quiet(step), _keras_params(d) + _keras_params(g)

    mod = importlib.import_module(f"tinygan.gans.{model}")
    n = sz["batch"]
    half = n // 2
    spec = DCGAN_SPECS[model]
    latent = spec["latent_dim"]
    d = mod.define_discriminator()
    g = mod.define_generator(latent)
    gan = mod.define_gan(g, d)
    x_real = put(rng.uniform(0 if model == "dcgan_mnist" else -1, 1, (half, *spec["in_shape"])).astype(np.float32))
    z_half = put(rng.standard_normal((half, latent)).astype(np.float32))
    z_full = put(rng.standard_normal((n, latent)).astype(np.float32))
    ones_half, zeros_half, ones_full = (xp.ones((half, 1), np.float32), xp.zeros((half, 1), np.float32),
                                        xp.ones((n, 1), np.float32))

    if model == "dcgan_mnist":
        y_stack = xp.vstack([ones_half, zeros_half])

        def step():
            fake = g.predict(z_half)
            d.train_on_batch(xp.vstack([x_real, put(fake)]), y_stack)
            gan.train_on_batch(z_full, ones_full)
    else:
        def step():
            d.train_on_batch(x_real, ones_half)
            fake = g.predict(z_half)
            d.train_on_batch(fake, zeros_half)
            gan.train_on_batch(z_full, ones_full)

    return _quiet(step), _keras_params(d) + _keras_params(g)


def model_cases(quick=False):
    cases = []
    for model in MODEL_NAMES:
        cases.append(Case(model_label(model, quick), "models", step_flops(model, quick),
                          lambda m=model: make_tinygan_step(m, quick)[0],
                          lambda m=model: make_torch_step(m, quick)[0], model=model))
    return cases


def select_cases(which="all", quick=False, pattern=None):
    cases = []
    if which in ("ops", "all"):
        cases += op_cases(quick)
    if which in ("models", "all"):
        cases += model_cases(quick) + [importlib.import_module("tinygan.bench_inception").case(quick)]
    if pattern:
        cases = [c for c in cases if pattern.lower() in c.name.lower()]
    return cases
