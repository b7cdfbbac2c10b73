"""Initializers (Keras fans, limits, spreads, seeds), constraints (incl. the book's ClipConstraint) and
the ``keras.backend`` functions on Tensors, with gradients."""
import math

import numpy as np
import pytest

import tinygan as tg
from tinygan import random as tg_random
from tinygan.keras import backend
from tinygan.keras import backend as K
from tinygan.keras import constraints, initializers, losses
from tinygan.keras.constraints import Constraint


# ---- initializers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, fan_in, fan_out", [
    ((100, 50), 100, 50),              # Dense kernel (in, out)
    ((5, 5, 3, 64), 75, 1600),         # Conv2D kernel (kh, kw, in, out)
    ((4, 4, 128, 64), 2048, 1024),     # Conv2DTranspose kernel (kh, kw, out, in): Keras' fans as written
])
def test_glorot_and_he_uniform_limits(shape, fan_in, fan_out):
    w = initializers.get("glorot_uniform")(shape)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    assert w.shape == shape and w.dtype == np.float32
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.95 * limit
    assert w.std() == pytest.approx(limit / math.sqrt(3.0), rel=0.06)
    h = initializers.get("he_uniform")(shape)
    assert np.abs(h).max() <= math.sqrt(6.0 / fan_in) and np.abs(h).max() > 0.95 * math.sqrt(6.0 / fan_in)


def test_glorot_normal_std_is_corrected_for_truncation():
    w = initializers.glorot_normal()((400, 200))
    assert w.std() == pytest.approx(math.sqrt(2.0 / 600), rel=0.03)
    assert np.abs(w).max() <= 2 * math.sqrt(2.0 / 600) / 0.87962566103423978


def test_random_normal_002_spread_and_seed():
    w = initializers.RandomNormal(mean=0.0, stddev=0.02)((200, 500))
    assert w.std() == pytest.approx(0.02, rel=0.02) and abs(w.mean()) < 1e-3
    seeded = initializers.RandomNormal(stddev=0.02, seed=7)
    np.testing.assert_array_equal(seeded((3, 3)), seeded((3, 3)))
    tg_random.seed(5)
    a = initializers.get("glorot_uniform")((4, 4))
    tg_random.seed(5)
    np.testing.assert_array_equal(a, initializers.get("glorot_uniform")((4, 4)))
    assert not np.array_equal(a, initializers.get("glorot_uniform")((4, 4)))


def test_truncated_uniform_constant_and_dtype():
    t = initializers.TruncatedNormal(mean=1.0, stddev=0.5)((1000,))
    assert t.min() >= 0.0 and t.max() <= 2.0
    u = initializers.get("random_uniform")((1000,), dtype="float64")
    assert u.dtype == np.float64 and -0.05 <= u.min() and u.max() <= 0.05
    np.testing.assert_array_equal(initializers.Constant(3)((2,)), [3, 3])
    np.testing.assert_array_equal(initializers.get("zeros")((2,)), [0, 0])
    np.testing.assert_array_equal(initializers.get("ones")((2,)), [1, 1])
    q = initializers.Orthogonal()((3, 3, 4, 8)).reshape(-1, 8)
    np.testing.assert_allclose(q.T @ q, np.eye(8), atol=1e-5)


def test_initializer_config_round_trip():
    init = initializers.deserialize(initializers.serialize(initializers.RandomNormal(0.0, 0.02, seed=1)))
    assert isinstance(init, initializers.RandomNormal) and init.stddev == 0.02 and init.seed == 1
    g = initializers.get(initializers.serialize(initializers.get("glorot_uniform")))
    assert (g.mode, g.distribution, g.scale) == ("fan_avg", "uniform", 1.0)
    assert initializers.get(None) is None
    with pytest.raises(ValueError, match="unknown initializer"):
        initializers.get("xavier")


# ---- constraints ----------------------------------------------------------------------------------

# clip model weights to a given hypercube (the book, chapter 16, Listing 16.6)
class ClipConstraint(Constraint):
    # set clip value when initialized
    def __init__(self, clip_value):
        self.clip_value = clip_value

    # clip model weights to hypercube
    def __call__(self, weights):
        return backend.clip(weights, -self.clip_value, self.clip_value)

    # get the config
    def get_config(self):
        return {'clip_value': self.clip_value}


def test_book_clip_constraint_clips_a_tensor():
    w = tg.Tensor(np.array([[-0.5, 0.005], [0.02, -0.01]], np.float32), requires_grad=True)
    out = ClipConstraint(0.01)(w)
    assert isinstance(out, tg.Tensor) and out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), [[-0.01, 0.005], [0.01, -0.01]])
    c = constraints.deserialize({"class_name": "ClipConstraint", "config": {"clip_value": 0.01}},
                                {"ClipConstraint": ClipConstraint})
    assert c.clip_value == 0.01 and constraints.get(c) is c


def test_norm_constraints():
    w = tg.Tensor(np.array([[3.0, 0.1], [4.0, -0.2]], np.float32))
    col_norms = lambda x: np.linalg.norm(x.numpy(), axis=0)  # noqa: E731
    np.testing.assert_allclose(col_norms(constraints.MaxNorm(2)(w)), [2.0, math.sqrt(0.05)], rtol=1e-5)
    np.testing.assert_allclose(col_norms(constraints.get("unit_norm")(w)), [1.0, 1.0], rtol=1e-5)
    np.testing.assert_allclose(col_norms(constraints.MinMaxNorm(1.0, 2.0)(w)), [2.0, 1.0], rtol=1e-5)
    np.testing.assert_array_equal(constraints.NonNeg()(w).numpy(), np.maximum(w.numpy(), 0))
    assert constraints.get(None) is None
    assert isinstance(constraints.get("max_norm"), constraints.MaxNorm)


# ---- backend --------------------------------------------------------------------------------------

def test_sgan_custom_activation_forward_and_gradcheck():
    def custom_activation(output):  # the book's chapter 20 Lambda function
        logexpsum = backend.sum(backend.exp(output), axis=-1, keepdims=True)
        result = logexpsum / (logexpsum + 1.0)
        return result

    x = np.random.default_rng(0).standard_normal((4, 10))
    out = custom_activation(tg.Tensor(x.astype(np.float32)))
    z = np.exp(x).sum(-1, keepdims=True)
    assert out.shape == (4, 1) and out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), z / (z + 1), rtol=1e-5)
    assert tg.gradcheck(custom_activation, [x])


def test_backend_functions_match_numpy():
    rng = np.random.default_rng(1)
    a = rng.uniform(0.5, 2.0, (2, 3, 4)).astype(np.float32)
    t = tg.Tensor(a)
    cases = [
        (K.mean(t, axis=1), a.mean(1)), (K.sum(t, axis=-1, keepdims=True), a.sum(-1, keepdims=True)),
        (K.max(t), a.max()), (K.min(t, axis=0), a.min(0)), (K.exp(t), np.exp(a)), (K.log(t), np.log(a)),
        (K.sqrt(t), np.sqrt(a)), (K.square(t), a ** 2), (K.abs(-t), a), (K.pow(t, 3), a ** 3),
        (K.clip(t, 0.8, 1.2), np.clip(a, 0.8, 1.2)), (K.sigmoid(t), 1 / (1 + np.exp(-a))),
        (K.tanh(t), np.tanh(a)), (K.relu(t - 1.0), np.maximum(a - 1, 0)),
        (K.relu(t - 1.0, alpha=0.2), np.where(a > 1, a - 1, 0.2 * (a - 1))),
        (K.softmax(t), np.exp(a) / np.exp(a).sum(-1, keepdims=True)),
        (K.concatenate([t, t]), np.concatenate([a, a], -1)), (K.reshape(t, (6, 4)), a.reshape(6, 4)),
        (K.expand_dims(t), a[..., None]), (K.squeeze(K.expand_dims(t, 0), 0), a),
        (K.stack([t, t], axis=1), np.stack([a, a], 1)), (K.flatten(t), a.ravel()),
        (K.batch_flatten(t), a.reshape(2, 12)), (K.transpose(t), a.T),
        (K.permute_dimensions(t, (0, 2, 1)), a.transpose(0, 2, 1)),
        (K.ones_like(t), np.ones_like(a)), (K.zeros_like(t), np.zeros_like(a)),
        (K.dot(t, np.ones((4, 5), np.float32)), a @ np.ones((4, 5))),
        (K.dot(K.reshape(t, (6, 4)), np.ones((3, 4, 5), np.float32)), np.dot(a.reshape(6, 4), np.ones((3, 4, 5)))),
        (K.logsumexp(t, axis=-1), np.log(np.exp(a).sum(-1))), (K.round(t), np.round(a)),
        (K.cast(K.greater(t, 1.0), "float32"), (a > 1).astype(np.float32)),
        (K.argmax(t), a.argmax(-1)), (K.l2_normalize(t, axis=-1), a / np.linalg.norm(a, axis=-1, keepdims=True)),
    ]
    for got, want in cases:
        assert isinstance(got, tg.Tensor)
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)


def test_backend_on_arrays_gives_float32_tensors():
    out = K.mean(np.array([1.0, 2.0, 4.0]))  # float64 array in, floatx out
    assert isinstance(out, tg.Tensor) and out.dtype == np.float32 and out.item() == pytest.approx(7 / 3)
    assert K.cast(np.array([1, 2]), "float32").dtype == np.float32


def test_backend_gradients_through_many_functions():
    def f(x):
        y = K.sqrt(K.square(x) + 1.0) * K.tanh(x) + K.clip(x, -0.5, 0.5) + K.pow(K.sigmoid(x), 2)
        return K.mean(K.concatenate([y, K.softmax(x)], axis=-1), axis=-1, keepdims=True)

    assert tg.gradcheck(f, [np.random.default_rng(2).standard_normal((3, 4)) * 0.9])


def test_backend_crossentropies_agree_with_losses():
    y = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    p = tg.Tensor(np.array([[0.7, 0.2], [1.0, 0.9]], np.float32))
    np.testing.assert_allclose(K.mean(K.binary_crossentropy(y, p), axis=-1).numpy(),
                               losses.binary_crossentropy(y, p).numpy(), rtol=1e-6)
    np.testing.assert_allclose(K.categorical_crossentropy(y, p).numpy(), losses.categorical_crossentropy(y, p).numpy())


def test_backend_config_variables_and_random():
    assert K.epsilon() == 1e-7 and K.floatx() == "float32" and K.image_data_format() == "channels_last"
    K.set_epsilon(1e-5)
    try:
        assert K.epsilon() == 1e-5
        # the fused loss ops clip with the new epsilon too
        assert losses.binary_crossentropy([[0.0]], tg.Tensor(np.ones((1, 1), np.float32))).item() == \
            pytest.approx(-np.log(1e-5), rel=1e-3)
    finally:
        K.set_epsilon(1e-7)
    v = K.variable([[1.0, 2.0]])
    assert v.requires_grad and K.int_shape(v) == (1, 2) and list(K.shape(v)) == [1, 2] and K.ndim(v) == 2
    K.set_value(v, [[3.0, 4.0]])
    np.testing.assert_array_equal(K.get_value(v), [[3.0, 4.0]])
    np.testing.assert_array_equal(K.get_value(K.constant(2.0, shape=(2,))), [2.0, 2.0])
    r = K.random_normal((20000,), mean=1.0, stddev=0.5, seed=3)
    assert r.dtype == np.float32 and r.numpy().std() == pytest.approx(0.5, rel=0.03)
    np.testing.assert_array_equal(r.numpy(), K.random_normal((20000,), mean=1.0, stddev=0.5, seed=3).numpy())
    u = K.random_uniform((1000,), -2.0, -1.0).numpy()
    assert u.min() >= -2.0 and u.max() <= -1.0
    with pytest.raises(ValueError, match="channels_last"):
        K.set_image_data_format("channels_first")


def test_backend_gradients_second_order():
    x = K.variable([1.0, 2.0])
    (g,) = K.gradients(K.sum(K.pow(x, 3)), [x])
    np.testing.assert_allclose(g.numpy(), [3.0, 12.0])
    (h,) = K.gradients(K.sum(g), [x])
    np.testing.assert_allclose(h.numpy(), [6.0, 12.0])
