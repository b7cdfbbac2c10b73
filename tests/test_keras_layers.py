"""Layers one by one: names, weight layouts, output shapes and numbers (the book's chapter 3 demos)."""
import numpy as np
import pytest

import tinygan.random
from tinygan.keras import backend as K
from tinygan.keras.engine.base_layer import reset_uids
from tinygan.keras.layers import (Activation, BatchNormalization, Concatenate, Conv2D, Conv2DTranspose, Dense, Dropout,
                                  Embedding, Flatten, Input, InstanceNormalization, Lambda, LeakyReLU, MaxPooling2D,
                                  Reshape, UpSampling2D, concatenate)
from tinygan.keras.models import Model, Sequential


@pytest.fixture(autouse=True)
def fresh_session():
    reset_uids()
    tinygan.random.seed(0)


def run(layer, x, training=False):
    return layer(np.asarray(x, dtype=np.float32), training=training).numpy()


def test_auto_names_and_weight_names_follow_keras_counters():
    first, second = Dense(2), Dense(3)
    assert (first.name, second.name) == ("dense_1", "dense_2")
    assert [LeakyReLU().name, UpSampling2D().name, Conv2DTranspose(1, 1).name, BatchNormalization().name] == \
        ["leaky_re_lu_1", "up_sampling2d_1", "conv2d_transpose_1", "batch_normalization_1"]
    model = Sequential([Dense(4, input_dim=3, name="hidden")])
    assert model.name == "sequential_1" and model.inputs[0]._keras_history[0].name == "hidden_input"
    assert [w.name for w in model.weights] == ["hidden/kernel:0", "hidden/bias:0"]
    inp = Input(shape=(2,))
    assert inp._keras_history[0].name == "input_1"  # the Sequential's own input used no counter
    assert (Model(inp, Dense(1)(inp)).name, Sequential().name) == ("model_1", "sequential_2")


def test_upsampling_demo_of_chapter_3():
    model = Sequential()
    model.add(UpSampling2D(input_shape=(2, 2, 1)))
    yhat = model.predict(np.asarray([[1, 2], [3, 4]]).reshape((1, 2, 2, 1)))
    np.testing.assert_array_equal(yhat.reshape((4, 4)), [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    assert UpSampling2D(size=(2, 3)).compute_output_shape((None, 2, 2, 1)) == (None, 4, 6, 1)
    bilinear = run(UpSampling2D(interpolation="bilinear"), np.arange(4.0).reshape(1, 2, 2, 1))
    np.testing.assert_allclose(bilinear[0, 0, :, 0], [0, 0.5, 1, 1])  # TF1 resize, align_corners=False


def test_conv2d_transpose_demo_of_chapter_3():
    model = Sequential()
    model.add(Conv2DTranspose(1, (1, 1), strides=(2, 2), input_shape=(2, 2, 1)))
    model.set_weights([np.asarray([[[[1]]]]), np.asarray([0])])
    yhat = model.predict(np.asarray([[1, 2], [3, 4]]).reshape((1, 2, 2, 1)))
    np.testing.assert_array_equal(yhat.reshape((4, 4)), [[1, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]])


@pytest.mark.parametrize("layer, in_shape, out_shape, kernel", [
    (Conv2D(64, (3, 3), strides=(2, 2), padding="same"), (None, 28, 28, 1), (None, 14, 14, 64), (3, 3, 1, 64)),
    (Conv2D(128, (3, 3), strides=(2, 2), padding="same"), (None, 7, 7, 3), (None, 4, 4, 128), (3, 3, 3, 128)),
    (Conv2D(32, (4, 4)), (None, 64, 64, 1), (None, 61, 61, 32), (4, 4, 1, 32)),
    (Conv2DTranspose(128, (4, 4), strides=(2, 2), padding="same"), (None, 7, 7, 128), (None, 14, 14, 128),
     (4, 4, 128, 128)),
    (Conv2DTranspose(1, (3, 3), strides=(2, 2)), (None, 5, 5, 128), (None, 11, 11, 1), (3, 3, 1, 128)),
    (Conv2DTranspose(8, (5, 5), strides=(2, 2), padding="same"), (None, 7, 7, 4), (None, 14, 14, 8), (5, 5, 8, 4)),
])
def test_conv_shapes_and_kernel_layouts(layer, in_shape, out_shape, kernel):
    out = layer(Input(batch_shape=in_shape))
    assert out.shape == out_shape and layer.kernel.shape == kernel
    assert run(layer, np.zeros((2,) + in_shape[1:])).shape == (2,) + out_shape[1:]


def test_max_pooling_floors():
    assert MaxPooling2D()(Input(shape=(61, 61, 2))).shape == (None, 30, 30, 2)
    np.testing.assert_array_equal(run(MaxPooling2D(), np.arange(16.0).reshape(1, 4, 4, 1))[0, :, :, 0],
                                  [[5, 7], [13, 15]])


def test_dense_on_3d_input_acts_on_last_axis():
    dense = Dense(784)
    out = dense(Input(shape=(1, 50)))
    assert out.shape == (None, 1, 784)
    x = np.random.default_rng(1).standard_normal((4, 1, 50)).astype(np.float32)
    kernel, bias = dense.get_weights()
    np.testing.assert_allclose(run(dense, x), x @ kernel + bias, rtol=1e-5, atol=1e-5)


def test_dense_defaults_glorot_uniform_and_zero_bias():
    dense = Dense(200)
    dense(Input(shape=(300,)))
    kernel, bias = dense.get_weights()
    limit = np.sqrt(6 / 500)
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
    assert not bias.any()


def test_activations_by_name_and_callable():
    x = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_allclose(run(Activation("relu"), x), [[0, 0, 3]])
    np.testing.assert_allclose(run(Activation("sigmoid"), x), 1 / (1 + np.exp(-x)), rtol=1e-6)
    np.testing.assert_allclose(run(Activation("tanh"), x), np.tanh(x), rtol=1e-6)
    np.testing.assert_allclose(run(Activation("softmax"), x), np.exp(x) / np.exp(x).sum(), rtol=1e-6)
    np.testing.assert_allclose(run(Activation("linear"), x), x)
    np.testing.assert_allclose(run(Activation(K.square), x), x ** 2)
    np.testing.assert_allclose(run(LeakyReLU(), x), [[-0.6, 0, 3]], rtol=1e-6)  # Keras default alpha 0.3
    np.testing.assert_allclose(run(LeakyReLU(0.2), x), [[-0.4, 0, 3]], rtol=1e-6)
    with pytest.raises(ValueError, match="Unknown activation"):
        Activation("nope")


def test_dropout_only_in_training_and_inverted():
    x = np.ones((200, 50))
    np.testing.assert_array_equal(run(Dropout(0.4), x), x)
    y = run(Dropout(0.4), x, training=True)
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.6)}
    assert 0.35 < (y == 0).mean() < 0.45


def test_flatten_reshape_concatenate_embedding_shapes():
    assert Flatten()(Input(shape=(7, 7, 64))).shape == (None, 3136)
    with pytest.raises(ValueError, match="not fully defined"):
        Flatten()(Input(shape=(None, 3)))
    assert Reshape((7, 7, -1))(Input(shape=(49 * 3,))).shape == (None, 7, 7, 3)
    with pytest.raises(ValueError, match="unchanged"):
        Reshape((5, 5))(Input(shape=(24,)))
    x = np.arange(6.0).reshape(1, 6)
    np.testing.assert_array_equal(run(Reshape((3, 2)), x)[0], x.reshape(3, 2))
    a, b = Input(shape=(4, 4, 3)), Input(shape=(4, 4, 5))
    assert Concatenate()([a, b]).shape == (None, 4, 4, 8)
    assert concatenate([a, Input(shape=(2, 4, 3))], axis=1).shape == (None, 6, 4, 3)
    with pytest.raises(ValueError, match="matching shapes"):
        Concatenate()([Input(shape=(4, 4, 3)), Input(shape=(2, 2, 3))])
    emb = Embedding(10, 50)
    assert emb(Input(shape=(1,))).shape == (None, 1, 50)
    out = run(emb, np.array([[3.0], [7.0]]))
    np.testing.assert_array_equal(out[:, 0], emb.get_weights()[0][[3, 7]])
    assert np.abs(emb.get_weights()[0]).max() <= 0.05


def test_lambda_infers_shape_and_computes_sgan_activation():
    def custom_activation(output):
        logexpsum = K.sum(K.exp(output), axis=-1, keepdims=True)
        return logexpsum / (logexpsum + 1.0)

    layer = Lambda(custom_activation)
    assert layer(Input(shape=(10,))).shape == (None, 1)
    x = np.array([[-10, -10, -10], [-1, -1, -1], [0, 0, 0], [1, 1, 1], [10, 10, 10]], dtype=np.float32)
    expected = [0.00013618124143106674, 0.5246331135813284, 0.75, 0.890768227426964, 0.9999848669190928]
    np.testing.assert_allclose(run(layer, x)[:, 0], expected, rtol=1e-5)


def test_batch_norm_weights_modes_and_inference_formula():
    bn = BatchNormalization()
    bn(Input(shape=(4, 4, 3)))
    assert [w.name.split("/")[1] for w in bn.weights] == ["gamma:0", "beta:0", "moving_mean:0", "moving_variance:0"]
    assert [len(bn.trainable_weights), len(bn.non_trainable_weights)] == [2, 2]
    x = np.random.default_rng(2).normal(3.0, 2.0, (8, 4, 4, 3)).astype(np.float32)
    train = run(bn, x, training=True)
    np.testing.assert_allclose(train.mean(axis=(0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(train.var(axis=(0, 1, 2)), x.var(axis=(0, 1, 2)) / (x.var(axis=(0, 1, 2)) + 1e-3),
                               rtol=1e-4)
    gamma, beta = np.array([1.0, 2.0, 0.5]), np.array([0.0, -1.0, 1.0])
    mean, var = np.array([0.5, 1.0, -1.0]), np.array([1.0, 4.0, 0.25])
    bn.set_weights([gamma, beta, mean, var])
    np.testing.assert_allclose(run(bn, x), (x - mean) / np.sqrt(var + 1e-3) * gamma + beta, rtol=1e-5, atol=1e-5)


def test_instance_normalization_matches_keras_contrib_formula():
    inorm = InstanceNormalization(axis=-1)
    inorm(Input(shape=(4, 4, 128)))
    assert inorm.count_params() == 256 and inorm.name == "instance_normalization_1"
    x = np.random.default_rng(3).normal(1.0, 3.0, (2, 4, 4, 128)).astype(np.float32)
    mean, std = x.mean(axis=(1, 2), keepdims=True), x.std(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(run(inorm, x), (x - mean) / (std + 1e-3), rtol=1e-4, atol=1e-4)
    whole = InstanceNormalization()
    mean, std = x.mean(axis=(1, 2, 3), keepdims=True), x.std(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(run(whole, x), (x - mean) / (std + 1e-3), rtol=1e-4, atol=1e-4)
    assert whole.count_params() == 2


def test_set_weights_checks_count_and_shapes():
    dense = Dense(3)
    dense(Input(shape=(2,)))
    with pytest.raises(ValueError, match="expecting 2 weights"):
        dense.set_weights([np.zeros((2, 3))])
    with pytest.raises(ValueError, match=r"\(2, 3\) not compatible with provided weight shape \(3, 2\)"):
        dense.set_weights([np.zeros((3, 2)), np.zeros(3)])
    with pytest.raises(ValueError, match="isn't built"):
        Dense(3).count_params()


def test_input_spec_rejects_wrong_feature_count():
    dense = Dense(3)
    dense(Input(shape=(10,)))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 10"):
        dense(Input(shape=(20,)))
    with pytest.raises(ValueError, match="expected ndim=4"):
        Conv2D(2, 3)(Input(shape=(8, 8)))
