"""Elementwise ops: forward against NumPy, backward by float64 gradient checks (with broadcasting),
dtype rules, errors and second order."""
import numpy as np
import pytest

import tinygan as tg
from tinygan import ops

rng = np.random.default_rng(0)
BROADCAST_PAIRS = [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 4)), ((), (2, 3))]


def positive(shape):
    return rng.uniform(0.5, 2.0, shape)


@pytest.mark.parametrize("shapes", BROADCAST_PAIRS)
@pytest.mark.parametrize("op, ref", [(ops.add, np.add), (ops.sub, np.subtract), (ops.mul, np.multiply),
                                     (ops.div, np.divide), (ops.pow, np.power)])
def test_binary_ops_forward_and_gradcheck_with_broadcasting(op, ref, shapes):
    a, b = positive(shapes[0]), positive(shapes[1])  # positive: pow's exponent gradient needs log(a)
    np.testing.assert_allclose(op(tg.Tensor(a), tg.Tensor(b)).numpy(), ref(a, b), rtol=1e-12)
    tg.gradcheck(op, [a, b])


@pytest.mark.parametrize("op, ref", [(ops.maximum, np.maximum), (ops.minimum, np.minimum)])
def test_maximum_minimum_forward_and_gradcheck(op, ref):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4,))
    np.testing.assert_array_equal(op(tg.Tensor(a), tg.Tensor(b)).numpy(), ref(a, b))
    tg.gradcheck(op, [a, b])


def test_maximum_tie_sends_gradient_to_first_operand():
    a = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = tg.Tensor(np.array([1.0, 3.0]), requires_grad=True)
    ga, gb = tg.grad(ops.sum(ops.maximum(a, b)), [a, b])
    np.testing.assert_array_equal(ga.numpy(), [1.0, 0.0])
    np.testing.assert_array_equal(gb.numpy(), [0.0, 1.0])


def test_where_forward_and_gradcheck_with_broadcast_condition():
    cond = np.array([True, False, True, False])
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 1))
    np.testing.assert_array_equal(ops.where(cond, tg.Tensor(a), tg.Tensor(b)).numpy(), np.where(cond, a, b))
    tg.gradcheck(lambda x, y: ops.where(cond, x, y), [a, b])


def test_pow_with_scalar_exponent_and_exponent_gradient_zero_for_nonpositive_base():
    x = rng.standard_normal((2, 3))
    np.testing.assert_allclose((tg.Tensor(x) ** 3).numpy(), x ** 3)
    tg.gradcheck(lambda t: t ** 3, [x])
    a = tg.Tensor(np.array([0.0, -2.0, 2.0]))
    b = tg.Tensor(np.array(2.0), requires_grad=True)
    gb = tg.grad(ops.sum(ops.pow(a, b)), b)
    assert gb.item() == pytest.approx(4.0 * np.log(2.0))


UNARY = [
    (ops.exp, np.exp, lambda s: rng.standard_normal(s)),
    (ops.log, np.log, positive),
    (ops.sqrt, np.sqrt, positive),
    (ops.square, np.square, lambda s: rng.standard_normal(s)),
    (ops.neg, np.negative, lambda s: rng.standard_normal(s)),
    (ops.abs, np.abs, positive),
    (lambda x: ops.abs(ops.neg(x)), np.abs, positive),
    (lambda x: ops.clip(x, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5),
     lambda s: np.array([-1.2, -0.3, 0.1, 0.4, 0.9, 2.0]).reshape(s)),
]


@pytest.mark.parametrize("op, ref, make", UNARY)
def test_unary_ops_forward_and_gradcheck(op, ref, make):
    x = make((2, 3))
    np.testing.assert_allclose(op(tg.Tensor(x)).numpy(), ref(x), rtol=1e-12)
    tg.gradcheck(op, [x])


def test_abs_and_sign_have_zero_gradient_at_zero_and_clip_none_where_clipped():
    x = tg.Tensor(np.array([-2.0, 0.0, 3.0]), requires_grad=True)
    np.testing.assert_array_equal(tg.grad(ops.sum(ops.abs(x)), x).numpy(), [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(ops.sign(x).numpy(), [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(tg.grad(ops.sum(ops.sign(x)), x).numpy(), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(tg.grad(ops.sum(ops.clip(x, -1.0, 3.0)), x).numpy(), [0.0, 1.0, 1.0])


def test_python_scalars_and_float64_constants_never_upcast_float32():
    x = tg.Tensor(np.ones((2, 2), np.float32), requires_grad=True)
    for y in (x + 1.5, 2 * x, x / 3, 1 - x, x ** 2, x - np.float64(0.5), x * np.ones(2),
              ops.maximum(x, 0.0), ops.where(np.eye(2, dtype=bool), x, 0.0), ops.clip(x, np.float64(0.1), 0.9),
              ops.exp(x), ops.sqrt(x)):
        assert y.dtype == np.float32


def test_integer_operands_take_the_float_dtype_and_int_tensor_times_float_is_float():
    x = tg.Tensor(np.ones(3, np.float32), requires_grad=True)
    labels = tg.Tensor(np.array([0, 1, 2]))
    y = x * labels
    assert y.dtype == np.float32
    np.testing.assert_array_equal(tg.grad(ops.sum(y), x).numpy(), [0.0, 1.0, 2.0])
    np.testing.assert_allclose((labels * 0.5).numpy(), [0.0, 0.5, 1.0])


def test_mixed_precision_gradient_keeps_each_input_dtype():
    a = tg.Tensor(np.ones(3, np.float32), requires_grad=True)
    b = tg.Tensor(np.ones((2, 3), np.float64), requires_grad=True)
    ga, gb = tg.grad(ops.sum(a * b), [a, b])
    assert ga.dtype == np.float32 and gb.dtype == np.float64
    np.testing.assert_array_equal(ga.numpy(), [2.0, 2.0, 2.0])


def test_cast_forward_and_backward():
    x = tg.Tensor(np.array([1.5, -2.25]), requires_grad=True)
    y = ops.cast(x, "float32")
    assert y.dtype == np.float32 and x.astype(np.float64) is x
    g = tg.grad(ops.sum(y * y), x)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g.numpy(), [3.0, -4.5])
    tg.gradcheck(lambda t: ops.cast(t, np.float64) * 2.0, [np.array([1.0, 2.0])])


def test_exp_second_derivative_uses_output():
    x = tg.Tensor(np.array([-1.0, 0.5, 2.0]), requires_grad=True)
    gx = tg.grad(ops.sum(ops.exp(x)), x, create_graph=True)
    np.testing.assert_allclose(tg.grad(ops.sum(gx), x).numpy(), np.exp(x.numpy()))


def test_second_order_of_div_pow_and_log_by_gradcheck_of_the_gradient():
    def grad_of(f):
        return lambda a, b: tg.grad(ops.sum(f(a, b)), [a, b], create_graph=True)[0]
    a, b = positive((2, 3)), positive((3,))
    for f in (ops.div, ops.pow, lambda p, q: ops.log(p * q), lambda p, q: ops.sqrt(p) * ops.square(q)):
        tg.gradcheck(grad_of(f), [a, b])


def test_shape_mistakes_raise_op_error_naming_op_and_shapes():
    with pytest.raises(tg.OpError, match=r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        ops.add(tg.Tensor(np.ones((2, 3))), tg.Tensor(np.ones(4)))
    with pytest.raises(tg.OpError, match=r"maximum: shapes"):
        ops.maximum(tg.Tensor(np.ones((2, 3))), np.ones(2))
    with pytest.raises(tg.OpError, match=r"where: shapes \(3,\)"):
        ops.where(np.ones(3, bool), tg.Tensor(np.ones(2)), 0.0)
    with pytest.raises(tg.OpError, match="clip: lower bound"):
        ops.clip(tg.Tensor(np.ones(2)), 1.0, 0.0)
