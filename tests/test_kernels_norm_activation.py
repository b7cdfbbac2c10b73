"""Numba kernels of kernels/norm.py and kernels/activation.py against their NumPy references."""
import numpy as np
import pytest

from tinygan.kernels import activation, norm

SHAPES = [(1, 5000, 3), (4, 7, 5), (3, 1, 2)]  # 5000 rows spans several parallel blocks


def _close(dtype):
    return dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-5)


def _data(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for _ in range(2)], \
           [rng.standard_normal((shape[0], shape[2])) for _ in range(3)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_centered_sums(shape, dtype):
    (u, v), (su, sv, _) = _data(shape, dtype, 0)
    got, want = norm.centered_sums(u, v, su, sv), norm.centered_sums_reference(u, v, su, sv)
    for g, w in zip(got, want):
        assert g.shape == (shape[0], shape[2])
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_channel_affine_passes(shape, dtype):
    (g, x), (p, q, r) = _data(shape, dtype, 1)
    y = norm.channel_affine(x, p, q)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, norm.channel_affine_reference(x, p, q), **_close(dtype))
    np.testing.assert_allclose(y, x * p[:, None] + q[:, None], **_close(dtype))
    dx = norm.channel_affine2(g, p, x, q, r)
    assert dx.dtype == dtype
    np.testing.assert_allclose(dx, norm.channel_affine2_reference(g, p, x, q, r), **_close(dtype))
    np.testing.assert_allclose(dx, g * p[:, None] + x * q[:, None] + r[:, None], **_close(dtype))


def test_centered_sums_give_accurate_variance_far_from_zero():
    # float32 data with mean 1e4 and std 1e-2: sum(x^2) - sum(x)^2 would lose every digit.
    x = (1e4 + 1e-2 * np.random.default_rng(2).standard_normal((1, 4000, 2))).astype(np.float32)
    shift = x[:, 0, :].astype(np.float64)
    s1, s2 = norm.centered_sums(x, x, shift, shift)
    d = s1 / 4000
    np.testing.assert_allclose(s2 / 4000 - d * d, x.astype(np.float64).var(axis=1), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_leaky_relu_kernels(dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 5, 4)).astype(dtype)[:, ::2]  # non-contiguous on purpose
    x[0, 0, 0] = 0.0
    g = rng.standard_normal(x.shape).astype(dtype)
    y, dx = activation.leaky_relu_forward(x, 0.2), activation.leaky_relu_backward(x, g, 0.2)
    assert y.dtype == dx.dtype == dtype and y.shape == x.shape
    np.testing.assert_allclose(y, activation.leaky_relu_forward_reference(x, 0.2), **_close(dtype))
    np.testing.assert_allclose(dx, activation.leaky_relu_backward_reference(x, g, 0.2), **_close(dtype))
    np.testing.assert_allclose(y, np.where(x > 0, x, 0.2 * x), rtol=1e-6)
    np.testing.assert_allclose(dx, np.where(x > 0, g, 0.2 * g), rtol=1e-6)
    assert dx[0, 0, 0] == pytest.approx(0.2 * g[0, 0, 0], rel=1e-6)
