"""Files written by real Keras (tf-keras 2.21, tests/fixtures/keras_h5/, made by scripts/make_keras_h5_fixtures.py):
tinygan opens them, reproduces tf-keras's outputs, and writes them back with every weight bit-exact."""
import os

import h5py
import numpy as np
import pytest

from tinygan.keras import backend as K
from tinygan.keras.engine.base_layer import reset_uids
from tinygan.keras.layers import (BatchNormalization, Concatenate, Conv2D, Conv2DTranspose, Dense, Flatten, Input,
                                  InstanceNormalization, LeakyReLU, Reshape)
from tinygan.keras.models import Model, load_model

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "keras_h5")
EXPECTED = np.load(os.path.join(FIXTURES, "expected.npz"), allow_pickle=False)


def fixture(name):
    return os.path.join(FIXTURES, name + ".h5")


def custom_activation(output):
    logexpsum = K.sum(K.exp(output), axis=-1, keepdims=True)
    return logexpsum / (logexpsum + 1.0)


CUSTOM = {"dcgan_discriminator": {}, "functional_bn_concat": {},
          "instance_norm": {"InstanceNormalization": InstanceNormalization},
          "sgan_lambda": {"lambda": custom_activation},  # a Lambda stored as bytecode is given by its layer's name
          "many_layers": {}, "sequential_sgd": {}}
INPUTS = {"functional_bn_concat": ("image", "code"), "many_layers": ("z", "label", "image")}
OUTPUTS = {"functional_bn_concat": ("up", "score"), "many_layers": ("score", "out")}


def predict(model, name):
    if name in INPUTS:
        return model.predict([EXPECTED[f"{name}/{i}"] for i in INPUTS[name]])
    return [model.predict(EXPECTED[f"{name}/x"])]


def expected(name):
    return [EXPECTED[f"{name}/{o}"] for o in OUTPUTS.get(name, ["y"])]


def file_weights(path):
    """{dataset path: array} of every weight in a file's model_weights group."""
    out = {}
    with h5py.File(path, "r") as f:
        f["model_weights"].visititems(lambda k, v: out.__setitem__(k, v[()]) if isinstance(v, h5py.Dataset) else None)
    return out


@pytest.mark.parametrize("name", sorted(CUSTOM))
def test_keras_files_open_and_reproduce_keras_outputs(name):
    model = load_model(fixture(name), custom_objects=CUSTOM[name])
    for got, want in zip(predict(model, name), expected(name)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("name", sorted(CUSTOM))
def test_keras_to_tinygan_to_file_keeps_every_weight_bit_exact(tmp_path, name):
    model = load_model(fixture(name), custom_objects=CUSTOM[name])
    out = str(tmp_path / "again.h5")
    model.save(out)
    original, written = file_weights(fixture(name)), file_weights(out)
    assert sorted(original) == sorted(written)
    for key, value in original.items():
        assert value.dtype == written[key].dtype
        np.testing.assert_array_equal(value, written[key])
    again = load_model(out, custom_objects={**CUSTOM[name], "custom_activation": custom_activation})
    for a, b in zip(predict(again, name), predict(model, name)):
        np.testing.assert_array_equal(a, b)


def test_compiled_keras_model_comes_back_compiled_with_its_optimizer_state():
    d = load_model(fixture("dcgan_discriminator"))
    assert type(d.optimizer).__name__ == "Adam" and d.optimizer.beta_1 == 0.5
    np.testing.assert_allclose(float(d.optimizer.lr), 0.0002, rtol=1e-6)
    assert d.optimizer.iterations == 1 and d.metrics_names == ["loss", "acc"]
    with h5py.File(fixture("dcgan_discriminator"), "r") as f:
        m_dense = f["optimizer_weights"]["Adam/dense/kernel/m:0"][()]
    np.testing.assert_array_equal(d.optimizer.get_state()["m:4"], m_dense)
    loss, acc = d.train_on_batch(EXPECTED["dcgan_discriminator/x"], np.ones((4, 1)))
    assert np.isfinite(loss) and d.optimizer.iterations == 2
    f = load_model(fixture("functional_bn_concat"))
    assert f._loss_weights == [100.0, 1.0] and [fn.__name__ for fn in f.loss_functions] == \
        ["mean_absolute_error", "binary_crossentropy"]
    bn = f.get_layer("batch_normalization")
    assert not np.allclose(bn.moving_mean.data, 0) and not np.allclose(bn.moving_variance.data, 1)
    assert load_model(fixture("dcgan_discriminator"), compile=False).optimizer is None
    many = load_model(fixture("many_layers"))
    assert type(many.optimizer).__name__ == "RMSprop" and many.optimizer.iterations == 1
    assert many.metrics_names == ["loss", "dense_6_loss", "dropout_2_loss", "dense_6_acc", "dropout_2_acc"]
    sgd = load_model(fixture("sequential_sgd"))
    assert sgd.optimizer.momentum == pytest.approx(0.9) and sgd.optimizer.iterations == 1
    for model in (many, sgd):  # every slot came from the file (tf.keras names: .../rms:0, .../momentum:0)
        state = model.optimizer.get_state()
        slots = [v for k, v in state.items() if ":" in k]
        assert len(slots) == len(model._train_weights) and all(np.abs(v).sum() > 0 for v in slots)


def test_weights_only_keras_file_loads_into_the_same_architecture_built_in_tinygan():
    reset_uids()
    image, code = Input(shape=(8, 8, 3), name="image"), Input(shape=(4,), name="code")
    x = LeakyReLU(0.2)(BatchNormalization()(Conv2D(6, (3, 3), strides=(2, 2), padding="same")(image)))
    x = Concatenate()([x, Reshape((4, 4, 1))(Dense(16)(code))])
    model = Model([image, code], [Conv2DTranspose(3, (4, 4), strides=(2, 2), padding="same", activation="tanh")(x),
                                  Dense(1, activation="sigmoid")(Flatten()(x))])
    model.load_weights(fixture("functional_weights"))  # other layer names (conv2d_1 vs conv2d_2): by position
    with pytest.raises(ValueError, match="holds weights only .*model.load_weights"):
        load_model(fixture("functional_weights"))
    for got, want in zip(predict(model, "functional_bn_concat"), expected("functional_bn_concat")):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-6)


def test_custom_layer_and_bytecode_lambda_are_refused_without_custom_objects(tmp_path):
    load_model(fixture("instance_norm"))  # keras-contrib's InstanceNormalization is also a tinygan layer
    renamed = tmp_path / "renamed.h5"
    renamed.write_bytes(open(fixture("instance_norm"), "rb").read())
    with h5py.File(renamed, "a") as f:
        f.attrs["model_config"] = f.attrs["model_config"].replace('"InstanceNormalization"', '"MyNorm"')
    with pytest.raises(ValueError, match=r"Unknown layer: MyNorm \(layer 'instance_normalization'\)\. .*"
                                         r"custom_objects={'MyNorm': MyNorm}"):
        load_model(str(renamed))
    load_model(str(renamed), custom_objects={"MyNorm": InstanceNormalization})
    with pytest.raises(ValueError, match="bytecode, which tinygan never runs .*custom_objects={'lambda'"):
        load_model(fixture("sgan_lambda"))
    with pytest.raises(ValueError, match="bytecode"):
        load_model(fixture("sgan_lambda"), safe_mode=False)


def test_tinygan_file_read_through_its_keras_description_alone(tmp_path):
    """What Keras sees of a tinygan-written file (model_config, training_config, weights) rebuilds the same model."""
    model = load_model(fixture("functional_bn_concat"))
    model.train_on_batch([EXPECTED["functional_bn_concat/image"], EXPECTED["functional_bn_concat/code"]],
                         [np.zeros((3, 8, 8, 3)), np.ones((3, 1))])
    path = str(tmp_path / "tinygan.h5")
    model.save(path)
    with h5py.File(path, "a") as f:
        del f.attrs["tinygan_config"]
    again = load_model(path)
    assert [l.name for l in again.layers] == [l.name for l in model.layers]
    for a, b in zip(predict(again, "functional_bn_concat"), predict(model, "functional_bn_concat")):
        np.testing.assert_array_equal(a, b)
    a, b = model.optimizer.get_state(), again.optimizer.get_state()
    assert sorted(a) == sorted(b) and all(np.array_equal(a[k], b[k]) for k in a)
