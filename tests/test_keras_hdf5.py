"""Keras 2's HDF5 layout: weights files (save_weights / load_weights, by position and by name), damaged files."""
import h5py
import numpy as np
import pytest

import tinygan.random
from tinygan.keras.engine.base_layer import reset_uids
from tinygan.keras.layers import BatchNormalization, Conv2D, Dense, Flatten, LeakyReLU
from tinygan.keras.models import Sequential, load_model


@pytest.fixture(autouse=True)
def fresh_session():
    reset_uids()
    tinygan.random.seed(0)


def small_discriminator(filters=4):
    return Sequential([Conv2D(filters, (3, 3), padding="same", input_shape=(8, 8, 1)), BatchNormalization(),
                       LeakyReLU(0.2), Flatten(), Dense(1, activation="sigmoid")])


def test_save_weights_writes_keras_layout_and_reads_back_bit_exact(tmp_path):
    model = small_discriminator()
    model.layers[1].set_weights([np.arange(4.0) + k for k in range(4)])
    path = str(tmp_path / "w.h5")
    model.save_weights(path)
    with h5py.File(path, "r") as f:
        assert [n.decode() for n in f.attrs["layer_names"]] == [l.name for l in model.layers]
        assert f.attrs["keras_version"] == "2.2.4" and f.attrs["backend"] == "tensorflow"
        bn = f["batch_normalization_1"]
        names = [n.decode() for n in bn.attrs["weight_names"]]
        assert names == [f"batch_normalization_1/{w}:0" for w in ("gamma", "beta", "moving_mean", "moving_variance")]
        np.testing.assert_array_equal(bn[names[2]][()], np.arange(4.0) + 2)
        assert list(f["flatten_1"].attrs["weight_names"]) == []
    other = small_discriminator()
    other.load_weights(path)
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_weights_only_file_as_keras_applications_ship_them(tmp_path):
    """The layout of inception_v3_weights_tf_dim_ordering_tf_kernels.h5 (written here with h5py as Keras does)."""
    model = small_discriminator()
    rng = np.random.default_rng(0)
    values = {l.name: [rng.standard_normal(w.shape).astype("float32") for w in l.weights] for l in model.layers}
    path = str(tmp_path / "keras_weights.h5")
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([l.name.encode() for l in model.layers])
        f.attrs["backend"], f.attrs["keras_version"] = b"tensorflow", b"2.1.2"
        for layer in model.layers:
            g = f.create_group(layer.name)
            g.attrs["weight_names"] = np.array([w.name.encode() for w in layer.weights], dtype="S64")
            for w, v in zip(layer.weights, values[layer.name]):
                g.create_dataset(w.name, data=v)
    small_discriminator().load_weights(path)  # other layer names: matched by position, as Keras does
    reset_uids()
    same = small_discriminator()
    same.load_weights(path)
    for layer in same.layers:
        for a, b in zip(layer.get_weights(), values[layer.name]):
            np.testing.assert_array_equal(a, b)


def test_mismatched_layers_are_one_line_naming_layers_and_shapes(tmp_path):
    path = str(tmp_path / "w.h5")
    small_discriminator().save_weights(path)
    with pytest.raises(ValueError) as info:
        small_discriminator(filters=5).load_weights(path)
    message = str(info.value)
    assert "\n" not in message and "conv2d_1 [(3, 3, 1, 4), (4,)]" in message and "conv2d_2 [(3, 3, 1, 5), (5,)]" in \
        message and "by_name=True" in message
    fewer = Sequential([Dense(3, input_dim=2)])
    with pytest.raises(ValueError, match="the file has 3 layers with weights, the model 1"):
        fewer.load_weights(path)


def test_by_name_loads_matching_layers_and_reports_shape_clashes(tmp_path):
    path = str(tmp_path / "w.h5")
    source = small_discriminator()
    source.save_weights(path)
    reset_uids()
    target = Sequential([Conv2D(4, (3, 3), padding="same", input_shape=(8, 8, 1)), Flatten(), Dense(7, name="dense_1")])
    before = target.layers[2].get_weights()
    with pytest.raises(ValueError, match=r"dense_1 \[\(256, 1\), \(1,\)\] vs model dense_1 \[\(256, 7\), \(7,\)\]"):
        target.load_weights(path, by_name=True)
    with pytest.warns(UserWarning, match="skipped"):
        target.load_weights(path, by_name=True, skip_mismatch=True)
    np.testing.assert_array_equal(target.layers[0].get_weights()[0], source.layers[0].get_weights()[0])
    np.testing.assert_array_equal(target.layers[2].get_weights()[0], before[0])


@pytest.mark.parametrize("damage", ["truncated", "garbage", "no_keras_attrs", "missing_group"])
def test_damaged_files_get_one_clear_line(tmp_path, damage):
    path = tmp_path / "w.h5"
    small_discriminator().save_weights(str(path))
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:2000])
    elif damage == "garbage":
        path.write_bytes(b"<html>404 not found</html>")
    elif damage == "no_keras_attrs":
        with h5py.File(path, "w") as f:
            f.create_dataset("x", data=np.zeros(3))
    else:
        with h5py.File(path, "a") as f:
            del f["dense_1"]
    with pytest.raises(ValueError) as info:
        small_discriminator().load_weights(str(path))
    assert "\n" not in str(info.value) and str(path) in str(info.value)
    with pytest.raises(ValueError) as info:
        load_model(str(path))
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_layers_listed_in_another_order_load_by_their_names(tmp_path):
    """tf.keras may list a functional model's layers in another order than Keras 2.2 (and tinygan) sort them."""
    model = small_discriminator()
    path = str(tmp_path / "w.h5")
    model.save_weights(path)
    with h5py.File(path, "a") as f:
        names = list(f.attrs["layer_names"])
        f.attrs["layer_names"] = np.array(names[::-1])
    reset_uids()
    again = small_discriminator()
    again.load_weights(path)
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_keras_2_2_optimizer_weights_match_by_position():
    """Keras 2.2.4 names slots training/Adam/Variable_N:0 and adds one (1,) vhat per parameter."""
    from tinygan.keras.engine import hdf5_format
    from tinygan.keras.optimizers import Adam
    params = small_discriminator().trainable_weights
    ms = [np.full(p.shape, 1.0, np.float32) for p in params]
    vs = [np.full(p.shape, 2.0, np.float32) for p in params]
    vhats = [np.zeros(1, np.float32) for _ in params]
    entries = [("Adam/iterations:0", np.array(7))] + [(f"training/Adam/Variable_{i}:0", a)
                                                      for i, a in enumerate(ms + vs + vhats)]
    state = hdf5_format.optimizer_state(Adam(), params, entries)
    assert int(state["iterations"]) == 7 and all((state[f"m:{i}"] == 1).all() and (state[f"v:{i}"] == 2).all()
                                                 for i in range(len(params)))
    assert hdf5_format.optimizer_state(Adam(), params, entries[:-len(params) - 1]) is None  # one slot short


@pytest.mark.parametrize("config", ['{"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense"}]}}',
                                    '{"class_name": "Model", "config": {"layers": [], "input_layers": [["x", 0, 0]]}}',
                                    '{"class_name": "Sequential", "config": 7}', "{not json",
                                    '[' * 100000 + ']' * 100000])
def test_malformed_model_config_is_one_line(tmp_path, config):
    path = str(tmp_path / "m.h5")
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = config.encode()
        f.create_group("model_weights").attrs["layer_names"] = np.array([], dtype="S1")
    with pytest.raises(ValueError) as info:
        load_model(path)
    assert "\n" not in str(info.value) and path in str(info.value)
