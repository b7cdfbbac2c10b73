"""A reproducible set of weights for a Keras-layout model, from names and shapes alone (NumPy only).

Used where real Keras and tinygan must hold the same weights without a weights file: the tf-keras fixture of
``tests/test_inception_v3.py`` (``scripts/make_inception_fixture.py`` loads this file by path, in a venv without
tinygan) and the InceptionV3 row of ``tinygan bench`` (tinygan and PyTorch).
"""
import re

import numpy


def weight_role(name):
    """'kernel', 'bias', 'beta', 'gamma', 'moving_mean' or 'moving_variance' from a Keras or tf-keras weight name."""
    role = re.search(r"(kernel|bias|beta|gamma|moving_mean|moving_variance)(:\d+)?$", name)
    if role is None:
        raise ValueError(f"unexpected weight name {name!r}")
    return role.group(1)


def seeded_weights(named_shapes, seed):
    """float32 arrays for ``[(weight name, shape), ...]`` in model order, drawn from one seeded generator:
    kernels He-normal over their fan-in (so activations keep their scale through a deep conv+BN+ReLU stack),
    BN gammas U(0.8, 1.2), variances U(0.5, 1.5) (positive), biases, betas and means U(-0.1, 0.1)."""
    rng = numpy.random.default_rng(seed)
    out = []
    for name, shape in named_shapes:
        role = weight_role(name)
        if role == "kernel":
            w = rng.standard_normal(shape) * numpy.sqrt(2.0 / int(numpy.prod(shape[:-1])))
        elif role == "moving_variance":
            w = rng.uniform(0.5, 1.5, shape)
        elif role == "gamma":
            w = rng.uniform(0.8, 1.2, shape)
        else:
            w = rng.uniform(-0.1, 0.1, shape)
        out.append(w.astype(numpy.float32))
    return out


def set_seeded_weights(model, seed):
    """Give a tinygan model :func:`seeded_weights` in ``get_weights()`` order (layer by layer, as Keras files)."""
    model.set_weights(seeded_weights([(w.name, tuple(w.shape)) for layer in model.layers for w in layer.weights],
                                     seed))
    return model
