#!/usr/bin/env python3
"""Make ``tests/fixtures/inception_v3_tfkeras.npz``: real Keras's InceptionV3 outputs on seeded weights.

Run once by hand in a venv with tensorflow-cpu and tf-keras (never needed by tinygan or its tests):

    /work/tfvenv/bin/python scripts/make_inception_fixture.py

It builds ``tf_keras.applications.InceptionV3(weights=None, input_shape=(SIZE, SIZE, 3))``, sets every weight
with :func:`seeded_weights` (the rule ``tests/test_inception_v3.py`` applies to tinygan's model, imported from
this file), runs ``preprocess_input`` and the model on two seeded uint8 images and saves the images, the 2,048
``avg_pool`` features, the logits (``avg_pool @ kernel + bias``) and the softmax ``predictions``.
The order of weighted layers is the same in both (tf-keras and tinygan sort ``model.layers`` as Keras 2 does).
"""
import os
import re
import sys

import numpy

SEED, SIZE, N_IMAGES = 2026, 107, 2
FIXTURE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "fixtures",
                       "inception_v3_tfkeras.npz")


def weight_role(name):
    """'kernel', 'bias', 'beta', 'moving_mean' or 'moving_variance' from a weight name of either framework."""
    role = re.search(r"(kernel|bias|beta|gamma|moving_mean|moving_variance)(:\d+)?$", name)
    if role is None:
        raise ValueError(f"unexpected weight name {name!r}")
    return role.group(1)


def seeded_weights(named_shapes, seed=SEED):
    """float32 arrays for ``[(weight name, shape), ...]`` in model order, drawn from one seeded generator:
    kernels He-normal over their fan-in (so activations keep their scale through the 94 conv+BN+ReLU units),
    biases and BN betas / moving means U(-0.1, 0.1), moving variances U(0.5, 1.5) (positive)."""
    rng = numpy.random.default_rng(seed)
    out = []
    for name, shape in named_shapes:
        role = weight_role(name)
        if role == "kernel":
            fan_in = int(numpy.prod(shape[:-1]))
            w = rng.standard_normal(shape) * numpy.sqrt(2.0 / fan_in)
        elif role == "moving_variance":
            w = rng.uniform(0.5, 1.5, shape)
        elif role == "gamma":
            w = rng.uniform(0.8, 1.2, shape)
        else:
            w = rng.uniform(-0.1, 0.1, shape)
        out.append(w.astype(numpy.float32))
    return out


def seeded_images(seed=SEED, n=N_IMAGES, size=SIZE):
    """uint8 (n, size, size, 3): smooth random colour fields plus noise (structure for the convs to see)."""
    rng = numpy.random.default_rng(seed + 1)
    yy, xx = numpy.mgrid[0:size, 0:size] / size
    images = []
    for _ in range(n):
        f = rng.uniform(1, 6, (3, 2))
        phase = rng.uniform(0, 2 * numpy.pi, (3,))
        field = numpy.stack([numpy.sin(2 * numpy.pi * (f[c, 0] * xx + f[c, 1] * yy) + phase[c]) for c in range(3)], -1)
        images.append(numpy.clip(127.5 + 100 * field + rng.normal(0, 20, field.shape), 0, 255))
    return numpy.asarray(images).astype(numpy.uint8)


def main():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tf_keras as keras

    model = keras.applications.InceptionV3(weights=None, input_shape=(SIZE, SIZE, 3))
    named = [(w.name, tuple(w.shape)) for layer in model.layers for w in layer.weights]
    model.set_weights(seeded_weights(named))
    images = seeded_images()
    x = keras.applications.inception_v3.preprocess_input(images.astype("float32"))
    features = keras.Model(model.input, [model.get_layer("avg_pool").output, model.output])
    pool, probs = (numpy.asarray(a) for a in features.predict(x, verbose=0))
    kernel, bias = model.get_layer("predictions").get_weights()
    logits = pool.astype(numpy.float64) @ kernel + bias
    numpy.savez_compressed(FIXTURE, images=images, pool=pool, logits=logits.astype(numpy.float32), probs=probs,
                           n_weights=len(named), keras_version=keras.__version__)
    print(f"wrote {FIXTURE} ({os.path.getsize(FIXTURE)} bytes): tf-keras {keras.__version__}, {len(named)} weights, "
          f"pool {pool.shape} mean {pool.mean():.4f}, logits std {logits.std():.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
