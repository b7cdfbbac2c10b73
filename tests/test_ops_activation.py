"""Activations: forward against NumPy references (including extreme inputs), gradient checks, second order."""
import numpy as np
import pytest

import tinygan as tg
from tinygan import ops

rng = np.random.default_rng(3)


def np_log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


ACTIVATIONS = [
    (ops.relu, lambda x: np.maximum(x, 0)),
    (ops.leaky_relu, lambda x: np.where(x > 0, x, 0.3 * x)),
    (lambda x: ops.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    (ops.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    (ops.tanh, np.tanh),
    (ops.softplus, lambda x: np.log1p(np.exp(x))),
    (ops.softmax, lambda x: np.exp(np_log_softmax(x, -1))),
    (lambda x: ops.softmax(x, axis=0), lambda x: np.exp(np_log_softmax(x, 0))),
    (ops.log_softmax, lambda x: np_log_softmax(x, -1)),
    (lambda x: ops.log_softmax(x, 1), lambda x: np_log_softmax(x, 1)),
]


@pytest.mark.parametrize("op, ref", ACTIVATIONS)
def test_activation_forward_and_gradcheck(op, ref):
    x = rng.standard_normal((3, 4, 2))
    x[np.abs(x) < 0.05] = 0.5  # keep relu's kink out of the finite differences
    np.testing.assert_allclose(op(tg.Tensor(x)).numpy(), ref(x), rtol=1e-12)
    tg.gradcheck(op, [x])


def test_extreme_inputs_give_exact_finite_values_without_warnings():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], np.float32)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        s = ops.sigmoid(tg.Tensor(x)).numpy()
        sp = ops.softplus(tg.Tensor(x)).numpy()
        lsm = ops.log_softmax(tg.Tensor(x)).numpy()
    assert s.dtype == sp.dtype == lsm.dtype == np.float32
    np.testing.assert_array_equal(s[[0, 2, 4]], [0.0, 0.5, 1.0])
    assert 0 < s[1] < 1e-20
    np.testing.assert_array_equal(sp[[0, 4]], [0.0, 1000.0])
    np.testing.assert_array_equal(lsm, x - 1000.0)


def test_activations_keep_float32():
    x = tg.Tensor(rng.standard_normal((2, 3)).astype(np.float32), requires_grad=True)
    for op in (ops.relu, ops.leaky_relu, ops.sigmoid, ops.tanh, ops.softmax, ops.log_softmax, ops.softplus):
        y = op(x)
        assert y.dtype == np.float32 and tg.grad(ops.sum(y * y), x).dtype == np.float32


def test_second_derivatives_of_sigmoid_and_tanh():
    x = tg.Tensor(np.array([-2.0, -0.3, 0.0, 1.5]), requires_grad=True)
    s, t = 1 / (1 + np.exp(-x.numpy())), np.tanh(x.numpy())
    for op, second in ((ops.sigmoid, s * (1 - s) * (1 - 2 * s)), (ops.tanh, -2 * t * (1 - t * t))):
        g = tg.grad(ops.sum(op(x)), x, create_graph=True)
        np.testing.assert_allclose(tg.grad(ops.sum(g), x).numpy(), second, rtol=1e-12)


def test_leaky_relu_chain_second_derivative():
    x = tg.Tensor(np.array([-2.0, -0.5, 0.7, 3.0]), requires_grad=True)
    y = ops.leaky_relu(x, 0.2)
    g = tg.grad(ops.sum(y * y * y), x, create_graph=True)  # 3 y^2 slope
    slope = np.where(x.numpy() > 0, 1.0, 0.2)
    np.testing.assert_allclose(g.numpy(), 3 * y.numpy() ** 2 * slope)
    np.testing.assert_allclose(tg.grad(ops.sum(g), x).numpy(), 6 * y.numpy() * slope ** 2)


@pytest.mark.parametrize("op", [ops.softmax, ops.log_softmax, ops.softplus, ops.sigmoid])
def test_second_order_by_gradcheck_of_the_gradient(op):
    x = rng.standard_normal((2, 3))
    w = tg.Tensor(rng.standard_normal((2, 3)))
    tg.gradcheck(lambda t: tg.grad(ops.sum(op(t) * w), t, create_graph=True), [x])


def test_softmax_errors():
    with pytest.raises(tg.OpError, match="softmax: got a scalar"):
        ops.softmax(tg.Tensor(np.array(1.0)))
    with pytest.raises(tg.OpError, match="log_softmax: axis 2 is out of range"):
        ops.log_softmax(tg.Tensor(np.ones((2, 3))), axis=2)
