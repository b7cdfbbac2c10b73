"""compile / train_on_batch / evaluate / fit with Keras 2.2 semantics, the GAN freeze rule above all."""
import warnings

import numpy as np
import pytest

import tinygan.random
from tinygan.keras import backend as K
from tinygan.keras.constraints import Constraint
from tinygan.keras.engine.base_layer import reset_uids
from tinygan.keras.layers import BatchNormalization, Dense, Dropout, Input
from tinygan.keras.models import Model, Sequential
from tinygan.keras.optimizers import SGD, Adam


@pytest.fixture(autouse=True)
def fresh_session():
    reset_uids()
    tinygan.random.seed(0)


def weights(model):
    return [w.copy() for w in model.get_weights()]


def changed(before, after):
    return [not np.array_equal(a, b) for a, b in zip(before, after)]


def test_sgd_step_matches_hand_computed_gradient():
    model = Sequential([Dense(1, input_dim=2)])
    model.compile(optimizer=SGD(lr=0.1), loss="mean_squared_error")
    w, b = np.array([[0.5], [-1.0]], dtype=np.float32), np.array([0.25], dtype=np.float32)
    model.set_weights([w, b])
    x = np.array([[1.0, 2.0], [3.0, -1.0], [0.0, 1.0]])
    y = np.array([[1.0], [0.0], [2.0]])
    err = x @ w + b - y
    loss = model.train_on_batch(x, y)
    assert isinstance(loss, np.float32) and loss == pytest.approx((err ** 2).mean(), rel=1e-6)
    new_w, new_b = model.get_weights()
    np.testing.assert_allclose(new_w, w - 0.1 * 2 * x.T @ err / 3, rtol=1e-5)
    np.testing.assert_allclose(new_b, b - 0.1 * 2 * err.mean(axis=0), rtol=1e-5)


def build_gan():
    d = Sequential([Dense(4, input_dim=3), BatchNormalization(), Dense(1, activation="sigmoid")])
    d.compile(loss="binary_crossentropy", optimizer=Adam(lr=0.01, beta_1=0.5), metrics=["accuracy"])
    g = Sequential([Dense(3, input_dim=2), BatchNormalization()])
    d.trainable = False
    gan = Sequential([g, d])
    gan.compile(loss="binary_crossentropy", optimizer=Adam(lr=0.01, beta_1=0.5))
    return g, d, gan


def test_frozen_discriminator_stays_fixed_in_composite_but_trains_alone():
    g, d, gan = build_gan()
    z, ones = np.random.default_rng(0).standard_normal((16, 2)), np.ones((16, 1))
    d_before, g_before = weights(d), weights(g)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the composite was compiled after the freeze: no discrepancy
        gan.train_on_batch(z, ones)
    assert not any(changed(d_before, weights(d)))  # kernels, BN gamma/beta and moving statistics
    assert all(changed(g_before, weights(g)))  # G's Dense, BN gamma/beta and BN moving statistics
    x = np.random.default_rng(1).standard_normal((16, 3))
    with pytest.warns(UserWarning, match="Discrepancy between trainable weights"):
        d.train_on_batch(x, ones)
    assert all(changed(d_before, weights(d)))


def test_frozen_discriminator_normalises_with_batch_statistics_in_composite():
    g, d, gan = build_gan()
    d.set_weights([w + 0.3 for w in d.get_weights()])  # moving statistics far from the batch's
    z, ones = np.random.default_rng(2).standard_normal((8, 2)), np.ones((8, 1))
    p = np.clip(d(g(z.astype(np.float32), training=True), training=True).numpy(), 1e-7, 1 - 1e-7)
    assert gan.train_on_batch(z, ones) == pytest.approx(-np.log(p).mean(), rel=1e-5)
    p_inference = gan.predict(z)
    assert not np.allclose(p_inference, p)


def test_batch_norm_moving_update_follows_keras_2_2_4():
    """Unbiased variance correction n/(n - 1.001), then TF1's zero-debiased moving average."""
    model = Sequential([BatchNormalization(input_shape=(2, 2, 3))])
    model.compile(optimizer=SGD(lr=0.0), loss="mse")
    gamma, beta, _, _ = model.get_weights()
    model.set_weights([gamma, beta, np.full(3, 5.0), np.full(3, 7.0)])  # overwritten by the first update
    rng, n = np.random.default_rng(3), 5 * 2 * 2
    batches = [rng.normal(2.0, 3.0, (5, 2, 2, 3)).astype(np.float32) for _ in range(2)]
    for x in batches:
        model.train_on_batch(x, np.zeros_like(x))
    means = [x.mean(axis=(0, 1, 2)) for x in batches]
    variances = [x.var(axis=(0, 1, 2)) * n / (n - 1.001) for x in batches]
    _, _, moving_mean, moving_var = model.get_weights()
    np.testing.assert_allclose(moving_mean, (0.99 * 0.01 * means[0] + 0.01 * means[1]) / (1 - 0.99 ** 2), rtol=1e-4)
    np.testing.assert_allclose(moving_var, (0.99 * 0.01 * variances[0] + 0.01 * variances[1]) / (1 - 0.99 ** 2),
                               rtol=1e-4)


def test_multi_output_returns_total_then_unweighted_losses_then_metrics():
    inp = Input(shape=(4,))
    out1, out2 = Dense(1, activation="sigmoid")(inp), Dense(3, activation="softmax")(inp)
    model = Model(inp, [out1, out2])
    model.compile(optimizer=Adam(lr=0.0002, beta_1=0.5),
                  loss=["binary_crossentropy", "sparse_categorical_crossentropy"],
                  loss_weights=[1.0, 100.0], metrics=["accuracy"])
    assert model.metrics_names == ["loss", "dense_1_loss", "dense_2_loss", "dense_1_acc", "dense_2_acc"]
    rng = np.random.default_rng(4)
    x, y1, y2 = rng.standard_normal((10, 4)), rng.integers(0, 2, (10, 1)), rng.integers(0, 3, 10)
    expected = model.test_on_batch(x, [y1, y2])
    total, l1, l2, a1, a2 = model.train_on_batch(x, [y1, y2])
    assert total == pytest.approx(l1 + 100 * l2, rel=1e-5)
    np.testing.assert_allclose([total, l1, l2, a1, a2], expected, rtol=1e-5)  # metrics come before the update


def test_evaluate_averages_batches_and_returns_python_floats():
    model = Sequential([Dense(1, input_dim=2, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((100, 2)), (rng.random((100, 1)) > 0.5).astype("float32")
    loss, acc = model.evaluate(x, y, verbose=0)
    assert type(loss) is float and type(acc) is float
    whole = model.test_on_batch(x, y)
    assert loss == pytest.approx(float(whole[0]), rel=1e-5)
    assert acc * 100 == pytest.approx(round(acc * 100))  # counts / 100 exactly, printed like 0.45


def test_fit_returns_history_and_trains(capsys):
    model = Sequential([Dense(8, input_dim=2, activation="relu"), Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(6)
    x = rng.standard_normal((200, 2))
    y = (x[:, :1] > 0).astype("float32")
    history = model.fit(x, y, batch_size=10, epochs=15, verbose=0)
    assert set(history.history) == {"loss", "acc"} and len(history.history["loss"]) == 15
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.evaluate(x, y, verbose=0)[1] > 0.9
    assert model.predict_classes(x[:3]).dtype == np.int32
    assert capsys.readouterr().out == ""  # verbose=0 prints nothing
    model.fit(x, y, batch_size=100, epochs=2, verbose=2)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "Epoch 1/2" and printed[1].startswith(" - ") and "loss: " in printed[1]


def test_kernel_constraint_applied_after_each_update():
    class ClipConstraint(Constraint):
        def __init__(self, clip_value):
            self.clip_value = clip_value

        def __call__(self, weights):
            return K.clip(weights, -self.clip_value, self.clip_value)

        def get_config(self):
            return {"clip_value": self.clip_value}

    def wasserstein_loss(y_true, y_pred):
        return K.mean(y_true * y_pred)

    model = Sequential([Dense(4, input_dim=3, kernel_constraint=ClipConstraint(0.01), kernel_initializer="ones",
                              bias_initializer="ones")])
    model.compile(optimizer=SGD(lr=0.0), loss=wasserstein_loss)
    assert model.get_weights()[0].max() == 1.0  # constraints do not run at initialisation
    loss = model.train_on_batch(np.ones((2, 3)), -np.ones((2, 4)))
    kernel, bias = model.get_weights()
    assert loss == pytest.approx(-4.0) and kernel.max() == pytest.approx(0.01) and bias.max() == 1.0


def test_inputs_of_any_float_dtype_become_float32_and_labels_may_be_1d():
    model = Sequential([Dense(3, input_dim=2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    loss, acc = model.train_on_batch(np.ones((4, 2), dtype=np.float64), np.array([0, 1, 2, 1]))
    assert model.get_weights()[0].dtype == np.float32 and np.isfinite(loss)


def test_dropout_active_in_train_on_batch_only():
    model = Sequential([Dropout(0.5, input_shape=(100,))])
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((20, 100))
    assert model.train_on_batch(x, x) == pytest.approx(1.0, abs=0.15)  # half the units zeroed, others doubled
    assert model.test_on_batch(x, x) == 0.0


def test_uncompiled_model_refuses_to_train():
    model = Sequential([Dense(1, input_dim=2)])
    with pytest.raises(RuntimeError, match="must compile"):
        model.train_on_batch(np.ones((1, 2)), np.ones((1, 1)))


def test_early_stopping_and_checkpoint_callbacks(tmp_path):
    from tinygan.keras.callbacks import EarlyStopping, ModelCheckpoint
    from tinygan.keras.models import load_model
    model = Sequential([Dense(1, input_dim=2)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.zeros((8, 2), "float32")
    y = np.zeros((8, 1), "float32")  # already solved when the bias starts at 0: loss never improves
    stop = EarlyStopping(monitor="loss", patience=2)
    history = model.fit(x, y, epochs=50, verbose=0,
                        callbacks=[stop, ModelCheckpoint(str(tmp_path / "m_{epoch:02d}.h5"), monitor="loss")])
    assert len(history.history["loss"]) == 3 and stop.stopped_epoch == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m_01.h5", "m_02.h5", "m_03.h5"]
    np.testing.assert_array_equal(load_model(str(tmp_path / "m_03.h5")).predict(x), model.predict(x))
