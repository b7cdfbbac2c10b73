"""Reductions and matmul: forward against NumPy, float64 gradient checks, ties, errors, second order."""
import numpy as np
import pytest

import tinygan as tg
from tinygan import ops

rng = np.random.default_rng(2)
AXES = [None, 0, -1, (0, 2), ()]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("op, ref", [(ops.sum, np.sum), (ops.mean, np.mean), (ops.max, np.max), (ops.min, np.min),
                                     (ops.var, np.var), (ops.std, np.std)])
def test_reductions_forward_and_gradcheck(op, ref, axis, keepdims):
    x = rng.standard_normal((2, 3, 4))  # distinct values: max/min are differentiable
    np.testing.assert_allclose(op(tg.Tensor(x), axis, keepdims).numpy(), ref(x, axis=axis, keepdims=keepdims),
                               rtol=1e-12, atol=1e-15)
    if not (op is ops.std and axis == ()):  # std over no axes is sqrt(0): no derivative
        tg.gradcheck(lambda t: op(t, axis, keepdims), [x])


def test_reductions_keep_float32():
    x = tg.Tensor(np.ones((2, 3), np.float32))
    assert {op(x, 1).dtype for op in (ops.sum, ops.mean, ops.max, ops.min, ops.var, ops.std)} == {np.dtype(np.float32)}


def test_max_and_min_split_gradient_among_ties():
    x = tg.Tensor(np.array([[1.0, 3.0, 3.0, 3.0], [2.0, 2.0, 0.0, 5.0]]), requires_grad=True)
    np.testing.assert_allclose(tg.grad(ops.sum(ops.max(x, axis=1)), x).numpy(),
                               [[0, 1 / 3, 1 / 3, 1 / 3], [0, 0, 0, 1]])
    np.testing.assert_allclose(tg.grad(ops.sum(ops.min(x, axis=1)), x).numpy(), [[1, 0, 0, 0], [0, 0, 1, 0]])
    np.testing.assert_allclose(tg.grad(ops.max(x), x).numpy(), [[0, 0, 0, 0], [0, 0, 0, 1]])


def test_var_is_biased():
    x = np.array([1.0, 2.0, 3.0, 6.0])
    assert ops.var(tg.Tensor(x)).item() == pytest.approx(3.5)
    assert ops.std(tg.Tensor(x)).item() == pytest.approx(np.sqrt(3.5))


def test_reduction_errors():
    t = tg.Tensor(np.ones((2, 3)))
    with pytest.raises(tg.OpError, match=r"sum: axis 2 is out of range .* \[-2, 1\]"):
        ops.sum(t, 2)
    with pytest.raises(tg.OpError, match="mean: repeated axis"):
        ops.mean(t, (1, -1))
    with pytest.raises(tg.OpError, match="max: cannot take the max over an empty axis"):
        ops.max(tg.Tensor(np.ones((0, 3))), 0)


MATMUL_SHAPES = [((3, 4), (4, 2)), ((5, 3, 4), (5, 4, 2)), ((2, 1, 3, 4), (5, 4, 2)), ((3, 4), (2, 4, 5)),
                 ((2, 6, 4), (4, 3)), ((4,), (4, 2)), ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (4,))]


@pytest.mark.parametrize("sa, sb", MATMUL_SHAPES)
def test_matmul_forward_and_gradcheck(sa, sb):
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    out = ops.matmul(tg.Tensor(a), tg.Tensor(b))
    expected = np.matmul(a, b)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    tg.gradcheck(ops.matmul, [a, b])


def test_dense_on_3d_input_keeps_float32_and_matches_per_step_product():
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)
    w = tg.Tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    y = tg.Tensor(x) @ w
    assert y.dtype == np.float32 and y.shape == (2, 5, 4)
    np.testing.assert_allclose(y.numpy(), np.einsum("nti,io->nto", x, w.numpy()), rtol=1e-5)
    gw = tg.grad(ops.sum(y), w)
    assert gw.dtype == np.float32
    np.testing.assert_allclose(gw.numpy(), np.broadcast_to(x.sum(axis=(0, 1))[:, None], (3, 4)), rtol=1e-5)


def test_matmul_errors_name_shapes_and_fix():
    with pytest.raises(tg.OpError, match=r"matmul: shapes \(2, 3\) @ \(4, 5\) have inner dimensions 3 != 4"):
        ops.matmul(tg.Tensor(np.ones((2, 3))), tg.Tensor(np.ones((4, 5))))
    with pytest.raises(tg.OpError, match=r"matmul \(2, 3, 4\) @ \(5, 4, 2\), leading \(batch\) dims: shapes \(2,\) and \(5,\) cannot"):
        ops.matmul(tg.Tensor(np.ones((2, 3, 4))), tg.Tensor(np.ones((5, 4, 2))))
    with pytest.raises(tg.OpError, match="use mul to scale"):
        ops.matmul(tg.Tensor(np.ones(3)), 2.0)


def test_matmul_quadratic_form_second_order():
    a = rng.standard_normal((3, 3))
    x = tg.Tensor(rng.standard_normal(3), requires_grad=True)
    v = rng.standard_normal(3)
    f = x @ (tg.Tensor(a) @ x)  # x^T A x
    g = tg.grad(f, x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), (a + a.T) @ x.numpy())
    hv = tg.grad(ops.sum(g * tg.Tensor(v)), x)  # Hessian-vector product: (A + A^T) v
    np.testing.assert_allclose(hv.numpy(), (a + a.T) @ v)


def test_second_order_through_reductions_by_gradcheck_of_the_gradient():
    x = rng.standard_normal((3, 4))
    for f in (lambda t: ops.std(t, 1), lambda t: ops.mean(t * t, 0), lambda t: ops.max(t, 1) * ops.sum(t, 1)):
        tg.gradcheck(lambda t: tg.grad(ops.sum(f(t) ** 2), t, create_graph=True), [x])
