"""batch_norm and instance_norm: forward against NumPy formulas, gradchecks, inference path, errors."""
import numpy as np
import pytest

import tinygan as tg
from tinygan import ops
from tinygan.kernels import dispatch
from tinygan.ops.norm import batch_norm, instance_norm

EPS = 1e-3
SHAPES = [(5, 3), (2, 3, 3, 4), (1, 2, 2, 3)]  # dense, conv, pix2pix bottleneck (batch 1, 2x2)


def _inputs(shape, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    c = shape[-1]
    return (rng.standard_normal(shape).astype(dtype) * 2 + 1, rng.standard_normal(c).astype(dtype),
            rng.standard_normal(c).astype(dtype))


def _bn_reference(x, gamma, beta):
    axes = tuple(range(x.ndim - 1))
    mean, var = x.mean(axes), x.var(axes)  # biased
    return (x - mean) / np.sqrt(var + EPS) * gamma + beta, mean, var


def _in_reference(x, gamma, beta):
    axes = tuple(range(1, x.ndim - 1))
    mean, std = x.mean(axes, keepdims=True), x.std(axes, keepdims=True)
    return (x - mean) / (std + EPS) * gamma + beta


@pytest.mark.parametrize("shape", SHAPES)
def test_batch_norm_training_forward(shape):
    x, gamma, beta = _inputs(shape)
    y, mean, var = batch_norm(x, gamma, beta)
    want, want_mean, want_var = _bn_reference(x, gamma, beta)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(mean, want_mean, rtol=1e-12)
    np.testing.assert_allclose(var, want_var, rtol=1e-10)


def test_batch_norm_float32_stays_float32_and_matches():
    x, gamma, beta = _inputs((8, 4, 4, 6), dtype=np.float32)
    y, mean, var = batch_norm(tg.Tensor(x), tg.Tensor(gamma), tg.Tensor(beta))
    assert y.dtype == mean.dtype == var.dtype == np.float32
    want = _bn_reference(x.astype(np.float64), gamma, beta)[0]
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-4, atol=1e-5)


def test_batch_norm_inference_uses_moving_stats():
    x, gamma, beta = _inputs((4, 3, 3, 2))
    mm, mv = np.array([0.5, -1.0]), np.array([2.0, 0.25])
    y = batch_norm(x, gamma, beta, training=False, moving_mean=tg.Tensor(mm), moving_var=mv)
    assert isinstance(y, tg.Tensor)
    np.testing.assert_allclose(y.numpy(), (x - mm) / np.sqrt(mv + EPS) * gamma + beta, rtol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
def test_batch_norm_training_gradcheck(shape):
    assert tg.gradcheck(lambda x, g, b: batch_norm(x, g, b)[0], list(_inputs(shape)))


def test_batch_norm_gradcheck_without_gamma_beta_and_inference():
    x, gamma, beta = _inputs((3, 2, 2, 3), seed=1)
    assert tg.gradcheck(lambda x: batch_norm(x, None, None)[0], [x])
    stats = dict(training=False, moving_mean=np.array([0.1, 0.2, 0.3]), moving_var=np.array([1.0, 2.0, 0.5]))
    assert tg.gradcheck(lambda x, g, b: batch_norm(x, g, b, **stats), [x, gamma, beta])


@pytest.mark.parametrize("shape", SHAPES[1:] + [(3, 5, 2)])
def test_instance_norm_forward(shape):
    x, gamma, beta = _inputs(shape, seed=2)
    np.testing.assert_allclose(instance_norm(x, gamma, beta).numpy(), _in_reference(x, gamma, beta),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(instance_norm(x, None, None).numpy(), _in_reference(x, 1.0, 0.0),
                               rtol=1e-10, atol=1e-10)


def test_instance_norm_puts_eps_outside_the_sqrt():
    x = np.random.default_rng(3).standard_normal((1, 2, 2, 1)) * 0.05  # small std makes the forms differ
    y = instance_norm(x, None, None).numpy()
    mean, var = x.mean(), x.var()
    np.testing.assert_allclose(y, (x - mean) / (np.sqrt(var) + EPS), rtol=1e-10)
    assert not np.allclose(y, (x - mean) / np.sqrt(var + EPS), rtol=1e-3)


@pytest.mark.parametrize("shape", [(2, 3, 3, 4), (1, 2, 2, 3), (2, 5, 3)])
def test_instance_norm_gradcheck(shape):
    assert tg.gradcheck(lambda x, g, b: instance_norm(x, g, b), list(_inputs(shape, seed=4)))


def test_instance_norm_gradcheck_small_std_without_params():
    x = np.random.default_rng(5).standard_normal((2, 3, 3, 2)) * 0.01  # std near eps: the kappa term matters
    assert tg.gradcheck(lambda x: instance_norm(x, None, None), [x], atol=1e-4)


def test_instance_norm_constant_sample_gives_beta_and_finite_grad():
    x = tg.Tensor(np.full((1, 2, 2, 2), 3.0), requires_grad=True)
    beta = np.array([0.5, -0.5])
    y = instance_norm(x, np.ones(2), beta)
    np.testing.assert_allclose(y.numpy(), np.broadcast_to(beta, (1, 2, 2, 2)))
    y.backward(np.random.default_rng(6).standard_normal(y.shape))
    assert np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("op", ["batch", "instance"])
def test_reference_path_matches_kernel_path(op):
    """The array-code references (the fallback off the CPU) agree with the Numba kernels."""
    x, gamma, beta = (tg.Tensor(a, requires_grad=True) for a in _inputs((2, 3, 3, 4), seed=7, dtype=np.float32))
    g = np.random.default_rng(8).standard_normal(x.shape).astype(np.float32)

    def run():
        y = batch_norm(x, gamma, beta)[0] if op == "batch" else instance_norm(x, gamma, beta)
        return [y.numpy()] + [d.numpy() for d in tg.grad(y, [x, gamma, beta], grad_outputs=tg.Tensor(g))]

    kernel = run()
    with dispatch.use("reference"):
        reference = run()
    for k, r in zip(kernel, reference):
        assert k.dtype == r.dtype == np.float32
        np.testing.assert_allclose(k, r, rtol=1e-4, atol=1e-5)


def test_double_backward_is_refused():
    x, gamma, beta = (tg.Tensor(a, requires_grad=True) for a in _inputs((4, 3)))
    w = tg.Tensor(np.random.default_rng(9).standard_normal((4, 3)))
    gx = tg.grad(batch_norm(x, gamma, beta)[0], x, grad_outputs=w, create_graph=True)
    with pytest.raises(NotImplementedError, match="double backward through batch_norm"):
        tg.ops.sum_to(gx * gx, ()).backward()


def test_shape_errors_name_op_and_shapes():
    x, gamma, beta = _inputs((2, 4, 4, 3))
    with pytest.raises(tg.OpError, match=r"batch_norm: gamma has shape \(4,\).*3 channels"):
        batch_norm(x, np.ones(4), beta)
    with pytest.raises(tg.OpError, match=r"instance_norm: beta has shape \(2, 3\)"):
        instance_norm(x, gamma, np.ones((2, 3)))
    with pytest.raises(tg.OpError, match=r"moving_var has shape \(2,\)"):
        batch_norm(x, gamma, beta, training=False, moving_mean=np.zeros(3), moving_var=np.ones(2))
    with pytest.raises(tg.OpError, match="needs moving_mean and moving_var"):
        batch_norm(x, gamma, beta, training=False)
    with pytest.raises(tg.OpError, match="channel axis"):
        batch_norm(np.ones(3), None, None)


@pytest.mark.parametrize("norm", ["batch_train", "batch_infer", "instance"])
def test_leaky_alpha_fuses_the_activation_without_changing_numbers(norm):
    """norm(..., leaky_alpha=a) == leaky_relu(norm(...), a) in value and in the gradients of x, gamma and beta;
    in training mode one graph node whose inputs are x, gamma, beta (the normalised values are not kept)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4, 5, 6))
    gamma, beta = rng.standard_normal(6), rng.standard_normal(6)
    mm, mv = rng.standard_normal(6), rng.uniform(0.5, 2, 6)

    def run(alpha):
        ts = [tg.Tensor(a, requires_grad=True) for a in (x, gamma, beta)]
        if norm == "instance":
            y = ops.instance_norm(*ts, leaky_alpha=alpha)
        else:
            out = ops.batch_norm(*ts, training=norm == "batch_train", moving_mean=mm, moving_var=mv,
                                 leaky_alpha=alpha)
            y = out[0] if norm == "batch_train" else out
        if alpha is None:
            y = ops.leaky_relu(y, 0.2)
        loss = ops.sum_to(ops.mul(y, tg.Tensor(np.cos(np.arange(y.size)).reshape(y.shape))), ())
        return y, [y.numpy(), *[t.numpy() for t in tg.grad(loss, ts)]]

    y, fused = run(0.2)
    for f, u in zip(fused, run(None)[1]):
        np.testing.assert_allclose(f, u, rtol=1e-12, atol=1e-12)
    if norm != "batch_infer":
        assert all(t._node is None for t in y._node.inputs) and len(y._node.inputs) == 3
