"""Graph models: functional and Sequential construction, nested and shared models, forced training
mode, and the checks on the data fed in."""
import numpy as np
import pytest

import tinygan.random
from tinygan import Tensor
from tinygan.keras.engine.base_layer import reset_uids
from tinygan.keras.layers import (BatchNormalization, Concatenate, Dense, Dropout, Embedding, Flatten, Input,
                                  InputLayer)
from tinygan.keras.models import Model, Sequential
from tinygan.keras.optimizers import SGD


@pytest.fixture(autouse=True)
def fresh_session():
    reset_uids()
    tinygan.random.seed(0)


def test_functional_multi_input_multi_output():
    in_lat, in_label = Input(shape=(5,)), Input(shape=(1,))
    li = Flatten()(Embedding(10, 4)(in_label))
    merged = Concatenate()([Dense(3)(in_lat), li])
    out1, out2 = Dense(1, activation="sigmoid")(merged), Dense(10, activation="softmax")(merged)
    model = Model([in_lat, in_label], [out1, out2])
    # Keras orders layers by depth: the label input sits deeper (embedding, flatten) so it comes first.
    assert [layer.name for layer in model.layers][:3] == ["input_2", "input_1", "embedding_1"]
    assert model.input_shape == [(None, 5), (None, 1)] and model.output_shape == [(None, 1), (None, 10)]
    assert model.get_layer("dense_2") is out1._keras_history[0]
    gen_noise, gen_label = model.input
    assert gen_noise is in_lat and model.output == [out1, out2]
    p1, p2 = model.predict([np.zeros((3, 5)), np.array([1, 2, 3])])
    assert p1.shape == (3, 1) and p2.shape == (3, 10)
    np.testing.assert_allclose(p2.sum(axis=1), 1, rtol=1e-5)


def test_sequential_layers_omit_auto_input_and_nest_models():
    g = Sequential([Dense(4, input_dim=3, activation="relu"), Dense(2)])
    d = Sequential([Dense(3, input_dim=2, activation="relu"), Dense(1)])
    assert not any(isinstance(layer, InputLayer) for layer in g.layers)
    gan = Sequential([g, d])
    assert gan.layers == [g, d] and gan.output_shape == (None, 1)
    x = np.random.default_rng(0).standard_normal((5, 3))
    np.testing.assert_allclose(gan.predict(x), d.predict(g.predict(x)), rtol=1e-6)


def test_sequential_without_input_shape_builds_on_first_data():
    model = Sequential([Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    assert not model.built
    loss = model.train_on_batch(np.ones((4, 3)), np.zeros((4, 2)))
    assert model.built and model.input_shape == (None, 3) and np.isfinite(loss)


def test_model_called_eagerly_on_arrays_and_tensors():
    model = Sequential([Dense(2, input_dim=3)])
    x = np.ones((2, 3), dtype=np.float32)
    out = model(x)
    assert isinstance(out, Tensor)
    np.testing.assert_allclose(out.numpy(), model.predict(x))


def test_shared_model_called_twice_gets_gradient_of_both_paths():
    """CycleGAN calls one generator several times: one SGD step must equal the finite-difference gradient."""
    inner_in = Input(shape=(2,))
    inner = Model(inner_in, Dense(2, use_bias=False)(inner_in))
    a = Input(shape=(2,))
    once = inner(a)
    twice = inner(once)
    model = Model(a, [once, twice])
    model.compile(optimizer=SGD(lr=0.1), loss=["mse", "mse"], loss_weights=[1.0, 0.5])
    rng = np.random.default_rng(1)
    x, y1, y2 = (rng.standard_normal((4, 2)) for _ in range(3))
    w = inner.get_weights()[0].astype(np.float64)

    def loss(w):
        return ((x @ w - y1) ** 2).mean() + 0.5 * ((x @ w @ w - y2) ** 2).mean()

    eps, grad = 1e-6, np.zeros_like(w)
    for idx in np.ndindex(*w.shape):
        step = np.zeros_like(w)
        step[idx] = eps
        grad[idx] = (loss(w + step) - loss(w - step)) / (2 * eps)
    total, l1, l2 = model.train_on_batch(x, [y1, y2])
    assert total == pytest.approx(loss(w), rel=1e-5)
    np.testing.assert_allclose(inner.get_weights()[0], w - 0.1 * grad, rtol=1e-4, atol=1e-6)
    assert len(inner._inbound_nodes) == 3 and twice._keras_history[1] == 2


def test_training_true_override_survives_predict():
    inp = Input(shape=(20,))
    forced_drop = Model(inp, Dropout(0.5)(inp, training=True))
    x = np.ones((50, 20))
    y = forced_drop.predict(x)
    assert set(np.unique(y)) == {0.0, 2.0}
    plain = Model(inp, Dropout(0.5)(inp))
    np.testing.assert_array_equal(plain.predict(x), x)

    bn_in = Input(shape=(3,))
    forced_bn = Model(bn_in, BatchNormalization()(bn_in, training=True))
    plain_bn = Model(bn_in, BatchNormalization()(bn_in))
    data = np.random.default_rng(2).normal(5.0, 3.0, (64, 3))
    np.testing.assert_allclose(forced_bn.predict(data, batch_size=64).mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(plain_bn.predict(data), data / np.sqrt(1 + 1e-3), rtol=1e-5)  # moving stats 0/1


def test_graph_errors_are_explicit():
    a, b = Input(shape=(2,)), Input(shape=(2,))
    out = Concatenate()([a, b])
    with pytest.raises(ValueError, match='Graph disconnected.*"input_2"'):
        Model(a, out)
    with pytest.raises(ValueError, match="must come from `Input\\(\\)`"):
        Model(Dense(2)(a), out)
    with pytest.raises(ValueError, match='name "dense_x" is used 2 times'):
        Model(a, Dense(1, name="dense_x")(Dense(2, name="dense_x")(a)))


def test_input_shape_errors_name_model_input_and_shapes():
    model = Sequential([Flatten(input_shape=(28, 28, 1)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"Error when checking input of model sequential_1: expected flatten_1_input "
                                         r"to have 4 dimensions, but got array with shape \(2, 28, 28\)"):
        model.predict(np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match=r"expected flatten_1_input to have shape \(28, 28, 1\) but got array with "
                                         r"shape \(28, 28, 3\)"):
        model.train_on_batch(np.zeros((2, 28, 28, 3)), np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"checking target of model sequential_1: expected dense_1 to have shape "
                                         r"\(1,\) but got array with shape \(2,\)"):
        model.train_on_batch(np.zeros((2, 28, 28, 1)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="same number of samples as target arrays"):
        model.train_on_batch(np.zeros((2, 28, 28, 1)), np.zeros((3, 1)))
    bad = np.zeros((2, 28, 28, 1))
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="flatten_1_input contains NaN or Inf"):
        model.predict(bad)


def test_multi_input_model_checks_array_count():
    a, b = Input(shape=(2,)), Input(shape=(3,))
    model = Model([a, b], Dense(1)(Concatenate()([a, b])))
    with pytest.raises(ValueError, match="Expected to see 2 array"):
        model.predict(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="same number of samples"):
        model.predict([np.zeros((4, 2)), np.zeros((5, 3))])


def test_deep_chain_builds_runs_and_trains_without_recursion():
    inp = Input(shape=(2,))
    x = inp
    for _ in range(1500):
        x = Dense(2, kernel_initializer="zeros", bias_initializer="ones")(x)
    model = Model(inp, x)
    model.compile(optimizer="sgd", loss="mse")
    assert len(model.layers) == 1501
    np.testing.assert_allclose(model.predict(np.zeros((1, 2))), [[1, 1]])
    assert np.isfinite(model.train_on_batch(np.zeros((1, 2)), np.zeros((1, 2))))
