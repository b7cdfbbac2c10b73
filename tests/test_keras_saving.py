"""save / load_model: identical predictions, training that resumes exactly, shared weights, custom objects."""
import os
import zipfile

import h5py
import numpy as np
import pytest

import tinygan.random
from tinygan.keras import backend as K
from tinygan.keras.constraints import Constraint
from tinygan.keras.engine.base_layer import reset_uids
from tinygan.keras.layers import (BatchNormalization, Concatenate, Conv2D, Conv2DTranspose, Dense, Dropout, Embedding,
                                  Flatten, Input, InstanceNormalization, Lambda, LeakyReLU, Reshape)
from tinygan.keras.models import Model, Sequential, load_model
from tinygan.keras.optimizers import Adam, RMSprop


@pytest.fixture(autouse=True, params=[".h5", ".tgm"])
def fresh_session(request):
    """Every test runs on Keras' HDF5 layout (.h5 names) and on tinygan's zip (any other name)."""
    global SUFFIX
    SUFFIX = request.param
    reset_uids()
    tinygan.random.seed(0)


def at(folder, stem):
    return str(folder / (stem + SUFFIX))


def small_generator():
    model = Sequential()
    model.add(Dense(4 * 4 * 8, input_dim=5))
    model.add(LeakyReLU(alpha=0.2))
    model.add(Reshape((4, 4, 8)))
    model.add(Conv2DTranspose(8, (4, 4), strides=(2, 2), padding="same"))
    model.add(BatchNormalization())
    model.add(Conv2D(1, (3, 3), activation="tanh", padding="same"))
    return model


def small_discriminator():
    model = Sequential([Conv2D(4, (3, 3), strides=(2, 2), padding="same", input_shape=(8, 8, 1)),
                        BatchNormalization(), LeakyReLU(alpha=0.2), Dropout(0.4), Flatten(),
                        Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer=Adam(lr=0.0002, beta_1=0.5), metrics=["accuracy"])
    return model


def test_generator_round_trip_predicts_identically(tmp_path):
    g = small_generator()
    path = at(tmp_path, "generator_model_010")
    g.save(path)
    assert (h5py.is_hdf5(path) if SUFFIX == ".h5" else zipfile.is_zipfile(path))
    assert os.listdir(tmp_path) == [os.path.basename(path)]  # no temp file left
    loaded = load_model(path)
    z = np.random.default_rng(0).standard_normal((6, 5))
    np.testing.assert_array_equal(loaded.predict(z), g.predict(z))
    assert [l.name for l in loaded.layers] == [l.name for l in g.layers] and loaded.name == g.name
    assert loaded.count_params() == g.count_params()
    assert [w.name for w in loaded.weights] == [w.name for w in g.weights]


def test_compiled_model_resumes_training_identically(tmp_path):
    d = small_discriminator()
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((8, 8, 8, 1)), rng.integers(0, 2, (8, 1))
    for _ in range(3):
        d.train_on_batch(x, y)
    d.save(at(tmp_path, "model_003"))
    loaded = load_model(at(tmp_path, "model_003"))
    assert loaded.optimizer.iterations == d.optimizer.iterations == 3
    for _ in range(2):
        tinygan.random.seed(7)  # same dropout masks in both
        a = d.train_on_batch(x, y)
        tinygan.random.seed(7)
        b = loaded.train_on_batch(x, y)
        np.testing.assert_array_equal(a, b)
    for wa, wb in zip(d.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert loaded.evaluate(x, y, verbose=0) == d.evaluate(x, y, verbose=0)


def test_composite_keeps_freeze_snapshot_and_shared_weights(tmp_path):
    g, d = small_generator(), small_discriminator()
    d.trainable = False
    gan = Sequential([g, d])
    gan.compile(loss="binary_crossentropy", optimizer=Adam(lr=0.0002, beta_1=0.5))
    d.trainable = True  # the snapshot was taken at compile time; the saved file must keep it
    gan.save(at(tmp_path, "gan"))
    loaded = load_model(at(tmp_path, "gan"))
    lg, ld = loaded.layers
    before_d, before_g = ld.get_weights(), lg.get_weights()
    z = np.random.default_rng(2).standard_normal((4, 5))
    with pytest.warns(UserWarning, match="Discrepancy"):  # D is trainable again, as Keras warns
        loaded.train_on_batch(z, np.ones((4, 1)))
    assert all(np.array_equal(a, b) for a, b in zip(before_d, ld.get_weights()))
    assert not np.array_equal(before_g[0], lg.get_weights()[0])
    np.testing.assert_array_equal(lg.predict(z), loaded.layers[0].predict(z))


def test_models_sharing_layers_stay_shared_after_loading(tmp_path):
    """InfoGAN: D and Q share a trunk and both sit in the composite."""
    composite, (x,) = infogan_composite()
    composite.save(at(tmp_path, "gan_model"))
    loaded = load_model(at(tmp_path, "gan_model"))
    ld, lq = [layer for layer in loaded.layers if isinstance(layer, Model)]
    assert ld.layers[1] is lq.layers[1]  # one trunk Dense, not two copies
    for a, b in zip(composite.predict(x), loaded.predict(x)):
        np.testing.assert_array_equal(a, b)


def test_multi_input_conditional_generator_round_trip(tmp_path):
    in_label, in_lat = Input(shape=(1,)), Input(shape=(6,))
    li = Reshape((2, 2, 1))(Dense(4)(Embedding(10, 5)(in_label)))
    gen = Reshape((2, 2, 3))(LeakyReLU(0.2)(Dense(12)(in_lat)))
    out = Conv2D(1, (3, 3), activation="tanh", padding="same")(Concatenate()([gen, li]))
    model = Model([in_lat, in_label], out)
    model.save(at(tmp_path, "cgan_generator"))
    loaded = load_model(at(tmp_path, "cgan_generator"))
    args = [np.random.default_rng(4).standard_normal((5, 6)), np.arange(5)]
    np.testing.assert_array_equal(loaded.predict(args), model.predict(args))


def test_forced_training_calls_survive_loading(tmp_path):
    inp = Input(shape=(50,))
    model = Model(inp, Dropout(0.5)(BatchNormalization()(inp, training=True), training=True))
    model.save(at(tmp_path, "model_000001"))
    loaded = load_model(at(tmp_path, "model_000001"))
    y = loaded.predict(np.random.default_rng(5).standard_normal((40, 50)))
    assert (y == 0).mean() > 0.3


def test_custom_objects_by_name(tmp_path):
    class ClipConstraint(Constraint):
        def __init__(self, clip_value):
            self.clip_value = clip_value

        def __call__(self, weights):
            return K.clip(weights, -self.clip_value, self.clip_value)

        def get_config(self):
            return {"clip_value": self.clip_value}

    def wasserstein_loss(y_true, y_pred):
        return K.mean(y_true * y_pred)

    critic = Sequential([Dense(3, input_dim=2, kernel_constraint=ClipConstraint(0.01)), InstanceNormalization(axis=-1),
                         Lambda(custom_activation), Dense(1)])
    critic.compile(loss=wasserstein_loss, optimizer=RMSprop(lr=0.00005))
    critic.save(at(tmp_path, "critic"))
    with pytest.raises(ValueError, match="ClipConstraint"):
        load_model(at(tmp_path, "critic"))
    with pytest.raises(ValueError, match="custom_objects={'custom_activation': custom_activation}"):
        load_model(at(tmp_path, "critic"), custom_objects={"ClipConstraint": ClipConstraint})
    with pytest.raises(ValueError, match="wasserstein_loss"):
        load_model(at(tmp_path, "critic"), custom_objects={"ClipConstraint": ClipConstraint,
                                                            "custom_activation": custom_activation})
    loaded = load_model(at(tmp_path, "critic"), custom_objects={
        "ClipConstraint": ClipConstraint, "wasserstein_loss": wasserstein_loss, "custom_activation": custom_activation,
        "InstanceNormalization": InstanceNormalization})
    assert loaded.layers[0].kernel.constraint.clip_value == 0.01
    x = np.random.default_rng(6).standard_normal((4, 2))
    np.testing.assert_array_equal(loaded.predict(x), critic.predict(x))
    assert loaded.train_on_batch(x, -np.ones((4, 1))) == critic.train_on_batch(x, -np.ones((4, 1)))


def custom_activation(output):
    logexpsum = K.sum(K.exp(output), axis=-1, keepdims=True)
    return logexpsum / (logexpsum + 1.0)


def test_weights_only_round_trip_and_foreign_files(tmp_path):
    g = small_generator()
    g.save_weights(at(tmp_path, "w"))
    other = small_generator()
    other.load_weights(at(tmp_path, "w"))
    for a, b in zip(g.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    g.save_weights(str(tmp_path / "w.weights"))  # other names keep tinygan's zip
    assert zipfile.is_zipfile(tmp_path / "w.weights")
    other.load_weights(str(tmp_path / "w.weights"))


def test_model_state_carries_batch_norm_debiasing_for_checkpoints():
    """What a checkpoint needs besides get_weights() to resume BatchNormalization's moving averages exactly."""
    inner = Sequential([Dense(3, input_dim=2), BatchNormalization()])
    outer = Sequential([inner, Dense(1)])
    outer.compile(optimizer="sgd", loss="mse")
    twin = Sequential([Sequential([Dense(3, input_dim=2), BatchNormalization()]), Dense(1)])
    twin.compile(optimizer="sgd", loss="mse")
    x, y = np.random.default_rng(8).standard_normal((6, 2)), np.ones((6, 1))
    outer.train_on_batch(x, y)
    state = outer.get_state()
    assert sorted(state) == [f"{inner.name}/batch_normalization_1/{k}" for k in ("biased_mean", "biased_variance",
                                                                                 "steps")]
    twin.set_weights(outer.get_weights())
    twin.layers[0].layers[1].set_state({k.split("/", 2)[2]: v for k, v in state.items()})
    outer.train_on_batch(x * 2, y)
    twin.train_on_batch(x * 2, y)
    for a, b in zip(outer.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)


def infogan_composite():
    in_image = Input(shape=(4,))
    trunk = Dense(3, activation="relu")(in_image)
    d_model = Model(in_image, Dense(1, activation="sigmoid")(trunk))
    q_model = Model(in_image, Dense(2, activation="softmax")(trunk))
    z = Input(shape=(2,))
    fake = Dense(4)(z)
    return Model(z, [d_model(fake), q_model(fake)]), [np.random.default_rng(3).standard_normal((3, 2))]


def cgan_generator():
    in_label, in_lat = Input(shape=(1,)), Input(shape=(6,))
    li = Reshape((2, 2, 1))(Dense(4)(Embedding(10, 5)(in_label)))
    gen = Reshape((2, 2, 3))(LeakyReLU(0.2)(Dense(12)(in_lat)))
    out = Conv2D(1, (3, 3), activation="tanh", padding="same")(Concatenate()([gen, li]))
    return Model([in_lat, in_label], out), [np.random.default_rng(4).standard_normal((5, 6)), np.arange(5)]


def gan_composite():
    g, d = small_generator(), small_discriminator()
    d.trainable = False
    gan = Sequential([g, d])
    gan.compile(loss="binary_crossentropy", optimizer=Adam(lr=0.0002, beta_1=0.5))
    return gan, [np.random.default_rng(2).standard_normal((4, 5))]


@pytest.mark.parametrize("build", [infogan_composite, cgan_generator, gan_composite,
                                   lambda: (small_generator(), [np.random.default_rng(0).standard_normal((6, 5))])],
                         ids=["infogan", "cgan", "gan", "generator"])
def test_what_keras_reads_of_a_tinygan_file_rebuilds_the_model(tmp_path, build):
    """The Keras description alone (model_config, training_config, weights: what Keras reads) gives the same model;
    layers shared by two nested models become copies, as in Keras."""
    if SUFFIX != ".h5":
        pytest.skip("Keras' description exists in HDF5 files only")
    model, inputs = build()
    path = at(tmp_path, "model")
    model.save(path)
    with h5py.File(path, "a") as f:
        del f.attrs["tinygan_config"]
    loaded = load_model(path)
    got, want = loaded.predict(inputs), model.predict(inputs)
    for a, b in zip(got if isinstance(got, list) else [got], want if isinstance(want, list) else [want]):
        np.testing.assert_array_equal(a, b)
    if model.optimizer is not None:
        assert [w.name for w in loaded._train_weights] == [w.name for w in model._train_weights]
