#!/usr/bin/env python3
"""Make ``tests/fixtures/inception_v3_tfkeras.npz``: real Keras's InceptionV3 outputs on seeded weights.

Run once by hand in a venv with tensorflow-cpu and tf-keras (never needed by tinygan or its tests):

    /work/tfvenv/bin/python scripts/make_inception_fixture.py

It builds ``tf_keras.applications.InceptionV3(weights=None, input_shape=(SIZE, SIZE, 3))``, sets every weight
with ``tinygan/keras/applications/seeded_weights.py`` (the rule ``tests/test_inception_v3.py`` applies to
tinygan's model; seed ``SEED``), runs ``preprocess_input`` and the model on two seeded uint8 images and saves the images, the 2,048
``avg_pool`` features, the logits (``avg_pool @ kernel + bias``) and the softmax ``predictions``.
The order of weighted layers is the same in both (tf-keras and tinygan sort ``model.layers`` as Keras 2 does).
"""
import importlib.util
import os
import sys

import numpy

SEED, SIZE, N_IMAGES = 2026, 107, 2
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(REPO, "tests", "fixtures", "inception_v3_tfkeras.npz")


def _seeded_weights_module():
    """tinygan's weight rule, loaded from its file (NumPy only), so this runs in a venv without tinygan."""
    path = os.path.join(REPO, "tinygan", "keras", "applications", "seeded_weights.py")
    spec = importlib.util.spec_from_file_location("seeded_weights", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    model.set_weights(_seeded_weights_module().seeded_weights(named, SEED))
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
