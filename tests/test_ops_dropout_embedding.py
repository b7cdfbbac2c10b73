"""dropout (inverted, seeded from tinygan.random) and embedding (gather / scatter-add)."""
import numpy as np
import pytest

import tinygan as tg
from tinygan import random as tg_random
from tinygan.ops.embedding import embedding
from tinygan.ops.random import dropout


def test_dropout_keeps_one_minus_rate_and_scales_kept_values():
    x = np.random.default_rng(0).uniform(1, 2, size=(1000, 1000)).astype(np.float32)
    y = dropout(tg.Tensor(x), 0.3).numpy()
    assert y.dtype == np.float32
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.003
    np.testing.assert_allclose(y[kept], x[kept] / 0.7, rtol=1e-6)


def test_dropout_is_reproducible_under_seed():
    x = tg.Tensor(np.ones((50, 40)))
    tg_random.seed(11)
    a = dropout(x, 0.5).numpy()
    b = dropout(x, 0.5).numpy()
    tg_random.seed(11)
    np.testing.assert_array_equal(dropout(x, 0.5).numpy(), a)
    assert not np.array_equal(a, b)


def test_dropout_gradient_is_the_mask():
    x = tg.Tensor(np.random.default_rng(1).uniform(1, 2, size=(20, 30)), requires_grad=True)
    g = np.random.default_rng(2).standard_normal(x.shape)
    y = dropout(x, 0.4)
    y.backward(g)
    mask = y.numpy() / x.numpy()
    assert set(np.unique(np.round(mask, 12))) == {0.0, round(1 / 0.6, 12)}
    np.testing.assert_allclose(x.grad.numpy(), g * mask, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("noise_shape", [None, (None, 1, 5)])
def test_dropout_forward_and_backward_are_bitwise_the_numpy_formula(dtype, noise_shape):
    """The mask is ``random(shape) >= rate`` from the seeded generator, applied as ``x * (keep * scale)`` in x's
    dtype, forward and backward: the values dropout had before it went through kernels.dispatch."""
    rng = np.random.default_rng(5)
    x = tg.Tensor(rng.standard_normal((3, 4, 5)).astype(dtype), requires_grad=True)
    g = rng.standard_normal(x.shape).astype(dtype)
    tg_random.seed(21)
    y = dropout(x, 0.35, noise_shape=noise_shape)
    y.backward(tg.Tensor(g))
    keep = np.random.default_rng(21).random((3, 1, 5) if noise_shape else x.shape) >= 0.35
    mask = keep.astype(dtype) * dtype(1 / (1 - 0.35))
    assert y.dtype == x.grad.dtype == dtype
    np.testing.assert_array_equal(y.numpy(), x.numpy() * mask)
    np.testing.assert_array_equal(x.grad.numpy(), g * mask)


def _seeded_dropout(x):
    tg_random.seed(4)
    return dropout(x, 0.4)


def test_dropout_gradcheck_first_and_second_order():
    rng = np.random.default_rng(6)
    x, u = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    assert tg.gradcheck(_seeded_dropout, [x])
    assert tg.gradcheck(lambda u, x: tg.grad(_seeded_dropout(x), x, grad_outputs=u, create_graph=True), [u, x])


def test_dropout_off_is_identity():
    x = tg.Tensor(np.ones((3, 4)), requires_grad=True)
    assert dropout(x, 0.5, training=False) is x
    assert dropout(x, 0.0) is x


def test_dropout_noise_shape_shares_the_mask():
    y = dropout(tg.Tensor(np.ones((8, 5, 6))), 0.5, noise_shape=(None, 1, 6)).numpy()
    assert (y == y[:, :1, :]).all()
    with pytest.raises(tg.OpError, match="noise_shape"):
        dropout(tg.Tensor(np.ones((8, 5))), 0.5, noise_shape=(8, 3))
    with pytest.raises(tg.OpError, match="rate"):
        dropout(tg.Tensor(np.ones(3)), 1.0)


def test_embedding_gathers_rows():
    w = np.arange(12.0).reshape(4, 3)
    ids = np.array([[3, 0], [1, 1]])
    y = embedding(ids, tg.Tensor(w))
    assert y.shape == (2, 2, 3)
    np.testing.assert_array_equal(y.numpy(), w[ids])
    np.testing.assert_array_equal(embedding(tg.Tensor(np.array([[3.0, 0.0], [1.0, 1.0]])), w).numpy(), w[ids])


def test_embedding_gradient_scatter_adds_repeated_ids():
    w = tg.Tensor(np.zeros((4, 2)), requires_grad=True)
    embedding(np.array([1, 3, 1, 1]), w).backward(np.ones((4, 2)))
    np.testing.assert_array_equal(w.grad.numpy(), [[0, 0], [3, 3], [0, 0], [1, 1]])


def test_embedding_gradcheck_first_and_second_order():
    rng = np.random.default_rng(3)
    ids = np.array([[0, 2, 2], [4, 0, 1]])
    w = rng.standard_normal((5, 3))
    assert tg.gradcheck(lambda w: embedding(ids, w), [w])
    u = rng.standard_normal((2, 3, 3))
    assert tg.gradcheck(lambda u, w: tg.grad(embedding(ids, w), w, grad_outputs=u, create_graph=True), [u, w])


def test_embedding_bad_id_names_vocabulary_and_id():
    w = tg.Tensor(np.zeros((5, 2)))
    with pytest.raises(tg.OpError, match=r"id 7 is out of range for a vocabulary of size 5"):
        embedding(np.array([0, 7, 2]), w)
    with pytest.raises(tg.OpError, match=r"id -1 .*size 5"):
        embedding(np.array([-1]), w)
