"""Inception v3 (tinygan.keras.applications) and the layers it added: AveragePooling2D, the global poolings.

The numbers are checked against real Keras: ``tests/fixtures/inception_v3_tfkeras.npz`` holds tf-keras's
avg_pool features, logits and softmax for two images with every weight drawn by the seeded rule of
``scripts/make_inception_fixture.py`` (run once by hand with TensorFlow); here the same rule sets tinygan's
weights. No weights file, no network.
"""
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from tinygan.keras import backend as K
from tinygan.keras.applications import inception_v3
from tinygan.keras.applications.inception_v3 import InceptionV3, preprocess_input
from tinygan.keras.applications.seeded_weights import seeded_weights
from tinygan.keras.layers import AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, Input
from tinygan.keras.models import Model, Sequential

REPO = Path(__file__).resolve().parents[1]


def _fixture_script():
    spec = importlib.util.spec_from_file_location("make_inception_fixture", REPO / "scripts" / "make_inception_fixture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------------------------------- layers

def test_average_pooling_layer_shapes_and_same_padding_divisor():
    model = Sequential([AveragePooling2D((3, 3), strides=(1, 1), padding="same", input_shape=(5, 5, 2))])
    assert model.output_shape == (None, 5, 5, 2)
    assert model.layers[0].name.startswith("average_pooling2d_")
    y = model.predict(np.ones((1, 5, 5, 2), np.float32))
    np.testing.assert_array_equal(y, 1.0)
    assert Sequential([AveragePooling2D(input_shape=(7, 6, 1))]).output_shape == (None, 3, 3, 1)


def test_global_poolings_reduce_height_and_width():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(np.float32)
    inp = Input((3, 4, 5))
    avg, mx = GlobalAveragePooling2D()(inp), GlobalMaxPooling2D()(inp)
    model = Model(inp, [avg, mx])
    assert model.output_shape == [(None, 5), (None, 5)]
    a, m = model.predict(x)
    np.testing.assert_allclose(a, x.mean(axis=(1, 2)), rtol=1e-6)
    np.testing.assert_array_equal(m, x.max(axis=(1, 2)))


# ---------------------------------------------------------------------------------------------------- architecture

def test_architecture_names_and_parameter_counts():
    K.clear_session()
    model = InceptionV3(weights=None)
    assert model.name == "inception_v3" and model.input_shape == (None, 299, 299, 3)
    assert model.count_params() == 23_851_784
    names = [layer.name for layer in model.layers]
    assert len(names) == 313
    assert names[:4] == ["input_1", "conv2d_1", "batch_normalization_1", "activation_1"]
    assert names[-5:] == ["concatenate_2", "activation_94", "mixed10", "avg_pool", "predictions"]
    assert [n for n in names if n.startswith("mixed")] == [
        "mixed0", "mixed1", "mixed2", "mixed3", "mixed4", "mixed5", "mixed6", "mixed7", "mixed8",
        "mixed9_0", "mixed9", "mixed9_1", "mixed10"]
    assert sum(n.startswith("conv2d_") for n in names) == 94
    bn = model.get_layer("batch_normalization_1")
    assert [w.name.split("/")[1].split(":")[0] for w in bn.weights] == ["beta", "moving_mean", "moving_variance"]
    assert model.get_layer("mixed10").output_shape == (None, 8, 8, 2048)
    assert model.output_shape == (None, 1000)


def test_without_top_pooling_and_input_shape():
    notop = InceptionV3(include_top=False, weights=None)
    assert notop.count_params() == 21_802_784 and notop.output_shape == (None, None, None, 2048)
    assert InceptionV3(include_top=False, weights=None, pooling="avg").output_shape == (None, 2048)
    assert InceptionV3(include_top=False, weights=None, pooling="max", input_shape=(75, 75, 3)).output_shape == (None, 2048)
    assert InceptionV3(weights=None, classes=10, input_shape=(139, 139, 3)).output_shape == (None, 10)


@pytest.mark.parametrize("kwargs, message", [
    (dict(weights=None, input_shape=(74, 120, 3)), "Input size must be at least 75x75"),
    (dict(weights="imagenet", input_shape=(150, 150, 3)), "should be \\(299, 299, 3\\)"),
    (dict(weights="imagenet", classes=10), "`classes` should be 1000"),
    (dict(weights="no_such_file.h5"), "no_such_file.h5"),
    (dict(weights=None, include_top=True, input_shape=(None, None, 3)), "static `input_shape`"),
])
def test_bad_arguments_get_keras_messages(kwargs, message):
    with pytest.raises(ValueError, match=message):
        InceptionV3(**kwargs)


def test_imagenet_weights_offline_and_absent_name_the_file_and_place(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("TINYGAN_DATASETS_URL", "http://127.0.0.1:9/")  # nothing listens: the download fails at once
    with pytest.raises(inception_v3.WeightsUnavailableError) as info:
        InceptionV3(include_top=False, weights="imagenet", pooling="avg")
    text = str(info.value)
    assert "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5" in text
    assert str(tmp_path / "models") in text and "bcbd6486424b2319ff4ef7d526e38f63" in text
    assert "\n" not in text and not os.listdir(tmp_path / "models")


def test_imagenet_weights_are_read_from_the_keras_cache(tmp_path, monkeypatch):
    """weights='imagenet' loads Keras's file name from $KERAS_HOME/models once its checksum matches (a stand-in
    file here, saved by tinygan, with its md5 swapped in; no network)."""
    from tinygan.keras.datasets import _download
    from tinygan.keras.applications.seeded_weights import set_seeded_weights
    source = set_seeded_weights(InceptionV3(include_top=False, weights=None, input_shape=(75, 75, 3)), 3)
    name = inception_v3.WEIGHTS_FILES[False]
    (tmp_path / "models").mkdir()
    source.save_weights(str(tmp_path / "models" / name))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("TINYGAN_DATASETS_URL", "http://127.0.0.1:9/")
    monkeypatch.setitem(_download.CHECKSUMS, name, _download.hashlib.md5((tmp_path / "models" / name).read_bytes()).hexdigest())
    loaded = InceptionV3(include_top=False, weights="imagenet", input_shape=(75, 75, 3))
    for a, b in zip(loaded.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_weights_path_is_loaded_with_load_weights(tmp_path, monkeypatch):
    """weights=PATH calls ``model.load_weights(PATH)`` on the built model, as Keras does."""
    seen = []
    monkeypatch.setattr(Model, "load_weights", lambda self, path, *a, **k: seen.append((self.name, path)))
    path = tmp_path / "weights.h5"
    path.write_bytes(b"")
    InceptionV3(include_top=False, weights=str(path), input_shape=(75, 75, 3))
    assert seen == [("inception_v3", str(path))]


def test_preprocess_input_is_tf_mode_in_place():
    x = np.array([0.0, 127.5, 255.0], np.float32)
    y = preprocess_input(x)
    assert y is x  # Keras scales float arrays in place
    np.testing.assert_array_equal(y, [-1.0, 0.0, 1.0])
    z = preprocess_input(np.array([[0, 255]], np.uint8))
    assert z.dtype == np.float32 and z.tolist() == [[-1.0, 1.0]]


# ---------------------------------------------------------------------------------------------------- numerics

def test_outputs_equal_tf_keras_on_the_same_weights():
    """avg_pool features, logits and softmax of tf-keras's InceptionV3 (fixture) within atol 1e-4 (measured:
    about 6e-6 on features up to 4.9 in magnitude, so no rtol is needed)."""
    script = _fixture_script()
    fixture = np.load(REPO / "tests" / "fixtures" / "inception_v3_tfkeras.npz")
    model = InceptionV3(weights=None, input_shape=(script.SIZE, script.SIZE, 3))
    named = [(w.name, tuple(w.shape)) for layer in model.layers for w in layer.weights]
    assert len(named) == int(fixture["n_weights"])
    model.set_weights(seeded_weights(named, script.SEED))
    np.testing.assert_array_equal(fixture["images"], script.seeded_images())
    x = preprocess_input(fixture["images"].astype("float32"))
    pool, probs = Model(model.input, [model.get_layer("avg_pool").output, model.output]).predict(x)
    kernel, bias = model.get_layer("predictions").get_weights()
    logits = pool.astype(np.float64) @ kernel + bias
    assert pool.shape == (2, 2048) and probs.shape == (2, 1000)
    np.testing.assert_allclose(pool, fixture["pool"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(logits, fixture["logits"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(probs, fixture["probs"], rtol=0, atol=1e-6)
    assert np.abs(fixture["logits"]).max() > 1.0  # the comparison is not of near-zero numbers
