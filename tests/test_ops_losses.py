"""Keras 2.2 losses: hand-computed values (TensorFlow float32 numerics), gradient checks, dtypes, errors."""
import numpy as np
import pytest

import tinygan as tg
from tinygan import ops

rng = np.random.default_rng(4)
f32 = np.float32


def t32(x):
    return tg.Tensor(np.asarray(x, f32))


def test_bce_of_known_probabilities():
    loss = ops.binary_crossentropy(t32([[1.0, 0.0], [0.0, 1.0]]), t32([[0.9, 0.2], [0.5, 0.5]]))
    assert loss.shape == (2,) and loss.dtype == f32
    np.testing.assert_allclose(loss.numpy(), [(-np.log(0.9) - np.log(0.8)) / 2, np.log(2.0)], rtol=1e-6)


def test_bce_caps_at_keras_clip_values():
    # p=1 is clipped to float32(1 - 1e-7) = 1 - 2**-23, so the logit is log(2**23 - 1): the book's d2 = 15.942.
    loss = ops.binary_crossentropy(t32([[0.0], [1.0]]), t32([[1.0], [0.0]]))
    np.testing.assert_array_equal(loss.numpy(), np.array([15.942385, 16.118095], f32))
    loss64 = ops.binary_crossentropy(tg.Tensor(np.array([[0.0]])), tg.Tensor(np.array([[1.0]])))
    assert loss64.dtype == np.float64 and loss64.item() == pytest.approx(-np.log(1e-7), rel=1e-9)


def test_bce_from_logits_is_stable_for_large_logits():
    loss = ops.binary_crossentropy(t32([[1.0, 0.5, 0.0]]), t32([[-30.0, 0.0, 40.0]]), from_logits=True)
    np.testing.assert_allclose(loss.numpy(), [(30.0 + np.log(2.0) + 40.0) / 3], rtol=1e-6)


def test_cce_renormalises_probabilities_and_sums_over_classes():
    y_pred = t32([[2.0, 1.0, 1.0], [1.0, 1.0, 2.0]])
    loss = ops.categorical_crossentropy(t32([[1, 0, 0], [0, 1, 0]]), y_pred)
    assert loss.dtype == f32
    np.testing.assert_allclose(loss.numpy(), [np.log(2.0), np.log(4.0)], rtol=1e-6)


def test_cce_from_logits_matches_log_softmax():
    logits, target = rng.standard_normal((4, 5)), rng.dirichlet(np.ones(5), 4)
    m = logits.max(-1, keepdims=True)
    expected = -(target * (logits - m - np.log(np.exp(logits - m).sum(-1, keepdims=True)))).sum(-1)
    np.testing.assert_allclose(ops.categorical_crossentropy(target, tg.Tensor(logits), from_logits=True).numpy(),
                               expected, rtol=1e-12)


@pytest.mark.parametrize("labels", [[[0], [1]], [0, 1]])
def test_sparse_cce_with_column_or_flat_labels(labels):
    y_pred = t32([[0.5, 0.25, 0.25], [0.25, 0.25, 0.5]])
    loss = ops.sparse_categorical_crossentropy(np.array(labels), y_pred)
    assert loss.shape == (2,) and loss.dtype == f32
    np.testing.assert_allclose(loss.numpy(), [np.log(2.0), np.log(4.0)], rtol=1e-6)


def test_sparse_cce_renormalises_and_handles_sequences_and_float_labels():
    loss = ops.sparse_categorical_crossentropy(np.array([[0.0]]), t32([[0.2, 0.1, 0.1]]))
    np.testing.assert_allclose(loss.numpy(), [np.log(2.0)], rtol=1e-6)
    probs = rng.dirichlet(np.ones(4), (2, 3))
    labels = rng.integers(0, 4, (2, 3))
    loss = ops.sparse_categorical_crossentropy(labels, tg.Tensor(probs))
    assert loss.shape == (2, 3)
    np.testing.assert_allclose(loss.numpy(), ops.categorical_crossentropy(np.eye(4)[labels], tg.Tensor(probs)).numpy(),
                               rtol=1e-10)
    logits = rng.standard_normal((3, 4))
    np.testing.assert_allclose(ops.sparse_categorical_crossentropy(labels[0], tg.Tensor(logits), from_logits=True).numpy(),
                               ops.categorical_crossentropy(np.eye(4)[labels[0]], tg.Tensor(logits), from_logits=True).numpy(),
                               rtol=1e-12)


def test_mse_mae_and_aliases():
    y_true, y_pred = t32([[1.0, 2.0], [0.0, 0.0]]), t32([[2.0, 4.0], [-1.0, 0.0]])
    np.testing.assert_allclose(ops.mean_squared_error(y_true, y_pred).numpy(), [2.5, 0.5])
    np.testing.assert_allclose(ops.mean_absolute_error(y_true, y_pred).numpy(), [1.5, 0.5])
    assert ops.mse is ops.MSE is ops.mean_squared_error and ops.mae is ops.MAE is ops.mean_absolute_error
    assert ops.mse(y_true, y_pred).dtype == ops.mae(y_true, y_pred).dtype == f32


def test_float64_targets_do_not_upcast_float32_predictions():
    y_pred = t32(rng.uniform(0.1, 0.9, (3, 2)))
    y_true = rng.integers(0, 2, (3, 2)).astype(np.float64)
    for loss in (ops.binary_crossentropy, ops.categorical_crossentropy, ops.mse, ops.mae):
        assert loss(y_true, y_pred).dtype == f32


LOSSES = [
    (ops.binary_crossentropy, lambda s: rng.uniform(0.1, 0.9, s), lambda s: rng.uniform(0, 1, s)),
    (lambda t, p: ops.binary_crossentropy(t, p, from_logits=True), lambda s: 3 * rng.standard_normal(s),
     lambda s: rng.uniform(0, 1, s)),
    (ops.categorical_crossentropy, lambda s: rng.uniform(0.2, 1.0, s), lambda s: rng.dirichlet(np.ones(s[-1]), s[0])),
    (lambda t, p: ops.categorical_crossentropy(t, p, from_logits=True), lambda s: rng.standard_normal(s),
     lambda s: rng.dirichlet(np.ones(s[-1]), s[0])),
    (ops.mean_squared_error, lambda s: rng.standard_normal(s), lambda s: rng.standard_normal(s)),
    (ops.mean_absolute_error, lambda s: rng.standard_normal(s) + 3, lambda s: rng.standard_normal(s)),
]


@pytest.mark.parametrize("loss, make_pred, make_true", LOSSES)
def test_loss_gradients_wrt_prediction_and_target(loss, make_pred, make_true):
    tg.gradcheck(loss, [make_true((3, 4)), make_pred((3, 4))])


@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_cce_gradient(from_logits):
    y_pred = rng.standard_normal((3, 4)) if from_logits else rng.uniform(0.1, 0.9, (3, 4))
    labels = np.array([[2], [0], [2]])
    tg.gradcheck(lambda p: ops.sparse_categorical_crossentropy(labels, p, from_logits=from_logits), [y_pred])


def test_no_gradient_through_the_clip_and_none_from_mae_at_equality():
    p = tg.Tensor(np.array([[1.0, 0.5]]), requires_grad=True)
    g = tg.grad(ops.sum(ops.binary_crossentropy(np.array([[0.0, 0.0]]), p)), p)
    np.testing.assert_allclose(g.numpy(), [[0.0, 0.5 * 1 / 0.5]])  # d/dp of -log(1-p)/2 at 0.5 = 1
    q = tg.Tensor(np.array([[1.0, 2.0]]), requires_grad=True)
    g = tg.grad(ops.sum(ops.mae(np.array([[1.0, 0.0]]), q)), q)
    np.testing.assert_array_equal(g.numpy(), [[0.0, 0.5]])


def _bce_inputs(dtype):
    """Probabilities at and beyond the clip bounds, hard and soft (label-smoothed) targets, weights g per row."""
    r = np.random.default_rng(7)
    p = r.uniform(0, 1, (4, 6)).astype(dtype)
    eps = dtype(1e-7)
    p[0] = [0.0, 1.0, eps, dtype(1) - eps, 1e-9, 1 - 1e-9]
    t = (r.random(p.shape) > 0.5).astype(dtype)
    t[1:3] = r.uniform(0, 1, (2, 6))
    return t, p, r.standard_normal(4).astype(dtype)


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-6), (np.float64, 1e-12)])
def test_bce_value_and_gradients_are_the_keras_formula(dtype, rtol):
    """Value: Keras' logit form step by step in the dtype, as the op computed it before it went through
    kernels.dispatch. Gradients: the exact derivative (evaluated in float64): g/n (q - t) / (q (1 - q)) in p,
    zero where the clip clipped and passing at the bounds, and -g/n * z in t."""
    t, p, g = _bce_inputs(dtype)
    one, lo = dtype(1), dtype(1e-7)
    q = np.clip(p, lo, one - lo)
    z = np.log(q / (one - q))
    want = ((np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))) - z * t).sum(-1) / dtype(p.shape[-1])
    tt, pt = tg.Tensor(t, requires_grad=True), tg.Tensor(p, requires_grad=True)
    loss = ops.binary_crossentropy(tt, pt)
    assert loss.dtype == dtype
    np.testing.assert_allclose(loss.numpy(), want, rtol=rtol)
    loss.backward(tg.Tensor(g))
    q64, t64, gn = q.astype(np.float64), t.astype(np.float64), g[:, None].astype(np.float64) / p.shape[-1]
    inside = (p >= lo) & (p <= one - lo)
    assert inside[0].tolist() == [False, False, True, True, False, False]
    np.testing.assert_allclose(pt.grad.numpy(), np.where(inside, gn * (q64 - t64) / (q64 * (1 - q64)), 0), rtol=rtol)
    np.testing.assert_allclose(tt.grad.numpy(), -gn * np.log(q64 / (1 - q64)), rtol=rtol)
    assert pt.grad.dtype == tt.grad.dtype == dtype


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-6), (np.float64, 1e-12)])
def test_mse_mae_values_and_gradients_are_the_numpy_formula(dtype, rtol):
    r = np.random.default_rng(8)
    p, t = r.standard_normal((2, 3, 5)).astype(dtype), r.standard_normal((2, 3, 5)).astype(dtype)
    t[0, 0, :2] = p[0, 0, :2]  # MAE's gradient is 0 where p == t
    g = r.standard_normal((2, 3)).astype(dtype)
    d = p - t
    for loss, value, slope in ((ops.mse, d * d, 2 * d), (ops.mae, np.abs(d), np.sign(d))):
        tt, pt = tg.Tensor(t, requires_grad=True), tg.Tensor(p, requires_grad=True)
        out = loss(tt, pt)
        np.testing.assert_allclose(out.numpy(), value.sum(-1) / dtype(5), rtol=rtol)
        out.backward(tg.Tensor(g))
        np.testing.assert_allclose(pt.grad.numpy(), g[..., None] / dtype(5) * slope, rtol=rtol)
        np.testing.assert_allclose(tt.grad.numpy(), -pt.grad.numpy(), rtol=0)
        assert out.dtype == pt.grad.dtype == dtype


SECOND_ORDER = [
    (ops.binary_crossentropy, lambda s: rng.uniform(0.1, 0.9, s), lambda s: rng.uniform(0, 1, s)),
    (ops.mean_squared_error, lambda s: rng.standard_normal(s), lambda s: rng.standard_normal(s)),
    (ops.mean_absolute_error, lambda s: rng.standard_normal(s) + 3, lambda s: rng.standard_normal(s)),
]


@pytest.mark.parametrize("wrt", [0, 1])
@pytest.mark.parametrize("loss, make_pred, make_true", SECOND_ORDER)
def test_loss_second_derivatives(loss, make_pred, make_true, wrt):
    """d/d(u, t, p) of the gradient (weighted by u) in t or p: what a gradient penalty differentiates."""
    def first(u, t, p):
        return tg.grad(loss(t, p), (t, p)[wrt], grad_outputs=u, create_graph=True)
    assert tg.gradcheck(first, [rng.standard_normal(3), make_true((3, 4)), make_pred((3, 4))])


def test_loss_shape_mistakes_raise_op_error():
    with pytest.raises(tg.OpError, match=r"binary_crossentropy: y_true has shape \(4,\) but y_pred has shape \(4, 1\)"):
        ops.binary_crossentropy(np.zeros(4), t32(np.full((4, 1), 0.5)))
    with pytest.raises(tg.OpError, match="mean_squared_error: y_true has shape"):
        ops.mse(np.zeros((2, 3)), t32(np.zeros((2, 4))))
    with pytest.raises(tg.OpError, match=r"sparse_categorical_crossentropy: y_true has shape \(2, 3\)"):
        ops.sparse_categorical_crossentropy(np.zeros((2, 3)), t32(np.full((2, 3), 1 / 3)))
    with pytest.raises(tg.OpError, match=r"ids must lie in \[0, 2\]"):
        ops.sparse_categorical_crossentropy(np.array([0, 3]), t32(np.full((2, 3), 1 / 3)))
