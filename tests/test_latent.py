"""Chapter 9 latent-space tools: interpolation, slerp (endpoints, norms, fallback), averaging, arithmetic, grids."""
import os

import numpy as np
import pytest

from tinygan.gans.latent import (arithmetic_grid, average_points, interpolate_points, interpolation_grid,
                                 load_latent_points, parse_indices, plot_grid, save_latent_points, slerp,
                                 vector_arithmetic)


class TanhImages:
    """A stand-in generator: z (n, d) -> tanh(z @ W) as (n, 4, 4, c) images in [-1, 1]."""

    def __init__(self, latent_dim, channels=1, seed=0):
        self.w = np.random.RandomState(seed).randn(latent_dim, 16 * channels) / np.sqrt(latent_dim)
        self.channels = channels
        self.calls = []

    def predict(self, z, batch_size=None):
        z = np.asarray(z)
        self.calls.append(z.copy())
        return np.tanh(z @ self.w).reshape(len(z), 4, 4, self.channels).astype("float32")


def _angle(a, b):
    return np.arccos(np.clip(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b), -1, 1))


def test_linear_interpolation_endpoints_and_steps():
    p1, p2 = np.zeros(3), np.array([1.0, 2.0, 3.0])
    v = interpolate_points(p1, p2, n_steps=10)
    assert v.shape == (10, 3)
    np.testing.assert_allclose(v[0], p1)
    np.testing.assert_allclose(v[-1], p2)
    np.testing.assert_allclose(np.diff(v, axis=0), np.tile(p2 / 9, (9, 1)))   # uniform steps (linspace)


def test_slerp_endpoints():
    rng = np.random.RandomState(0)
    a, b = rng.randn(100), rng.randn(100)
    np.testing.assert_allclose(slerp(0.0, a, b), a, atol=1e-12)
    np.testing.assert_allclose(slerp(1.0, a, b), b, atol=1e-12)
    v = interpolate_points(a, b, 10, method="slerp")
    np.testing.assert_allclose(v[0], a, atol=1e-12)
    np.testing.assert_allclose(v[-1], b, atol=1e-12)


def test_slerp_keeps_the_norm_and_walks_the_angle_uniformly():
    rng = np.random.RandomState(1)
    a, b = rng.randn(50), rng.randn(50)
    b *= np.linalg.norm(a) / np.linalg.norm(b)                  # equal norms: slerp stays on the sphere
    v = interpolate_points(a, b, 11, method="slerp")
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), np.linalg.norm(a), rtol=1e-10)
    omega = _angle(a, b)
    np.testing.assert_allclose([_angle(a, x) for x in v], np.linspace(0, omega, 11), atol=1e-9)
    # linear interpolation cuts through the sphere: the midpoint is shorter
    mid = interpolate_points(a, b, 3)[1]
    assert np.linalg.norm(mid) < np.linalg.norm(a) * np.cos(omega / 2) + 1e-9


def test_slerp_unit_vectors_90_degrees():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    np.testing.assert_allclose(slerp(0.5, a, b), [np.sqrt(0.5), np.sqrt(0.5)])
    np.testing.assert_allclose(slerp(1 / 3, a, b), [np.cos(np.pi / 6), np.sin(np.pi / 6)])


def test_slerp_fallback_to_lerp_for_parallel_vectors():
    a = np.array([1.0, 2.0, 2.0])
    b = 3 * a                                                   # omega = 0, sin(omega) = 0
    np.testing.assert_allclose(slerp(0.25, a, b), 0.75 * a + 0.25 * b)
    np.testing.assert_allclose(slerp(0.5, a, a), a)
    c = -a                                                      # antiparallel: sin(pi) ~ 1e-16, same fallback
    out = slerp(0.5, a, c)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, 0.5 * a + 0.5 * c, atol=1e-12)


def test_interpolate_rejects_unknown_method():
    with pytest.raises(ValueError):
        interpolate_points(np.zeros(2), np.ones(2), method="cubic")


def test_average_points_is_one_based_and_appends_the_mean():
    points = np.arange(100 * 4, dtype=float).reshape(100, 4)
    out = average_points(points, [92, 98, 99])
    assert out.shape == (4, 4)
    np.testing.assert_array_equal(out[:3], points[[91, 97, 98]])
    np.testing.assert_allclose(out[3], points[[91, 97, 98]].mean(axis=0))
    with pytest.raises(IndexError):
        average_points(points, [0])
    with pytest.raises(IndexError):
        average_points(points, [101])


def test_vector_arithmetic_uses_the_averages():
    rng = np.random.RandomState(2)
    points = rng.randn(100, 8)
    sw, nw, nm = (average_points(points, ix) for ix in ([92, 98, 99], [9, 21, 79], [10, 30, 45]))
    r = vector_arithmetic(sw, nw, nm)
    assert r.shape == (1, 8)
    expected = points[[91, 97, 98]].mean(0) - points[[8, 20, 78]].mean(0) + points[[9, 29, 44]].mean(0)
    np.testing.assert_allclose(r[0], expected)
    # a - a + c = c
    np.testing.assert_allclose(vector_arithmetic(sw, sw, nm)[0], nm[-1])


def test_parse_indices():
    assert parse_indices("92, 98,99") == [92, 98, 99]


def test_save_and_load_latent_points(tmp_path):
    pts = np.random.RandomState(0).randn(100, 5)
    path = str(tmp_path / "latent_points.npz")
    save_latent_points(path, pts)
    with np.load(path) as data:
        assert data.files == ["arr_0"]                          # the book's key
    np.testing.assert_array_equal(load_latent_points(path), pts)


def test_plot_grid_writes_png(tmp_path):
    imgs = np.random.RandomState(0).rand(12, 4, 4, 3)
    f = plot_grid(imgs, 3, 4, filename=str(tmp_path / "g.png"))
    assert os.path.getsize(f) > 0
    f = plot_grid(imgs[:, :, :, :1], 2, filename=str(tmp_path / "gray.png"), cmap="gray_r")
    assert os.path.getsize(f) > 0


def test_interpolation_grid(tmp_path):
    model = TanhImages(6)
    out = str(tmp_path / "interp.png")
    images, vectors = interpolation_grid(model, 6, n_pairs=3, n_steps=5, method="slerp", filename=out,
                                         rng=np.random.RandomState(0))
    assert images.shape == (15, 4, 4, 1) and vectors.shape == (15, 6)
    assert images.min() >= 0 and images.max() <= 1            # rescaled from tanh
    pts = np.random.RandomState(0).randn(6 * 6).reshape(6, 6)
    np.testing.assert_allclose(vectors[0], pts[0])
    np.testing.assert_allclose(vectors[4], pts[1])
    np.testing.assert_allclose(vectors[5], pts[2])
    assert os.path.exists(out)


def test_arithmetic_grid(tmp_path):
    model = TanhImages(8, channels=3)
    points = np.random.RandomState(3).randn(100, 8)
    images, result, vec = arithmetic_grid(model, points, [92, 98, 99], [9, 21, 79], [10, 30, 45],
                                          filename=str(tmp_path / "a.png"), result_filename=str(tmp_path / "r.png"))
    assert images.shape == (12, 4, 4, 3) and result.shape == (4, 4, 3)
    np.testing.assert_allclose(model.calls[0][3], points[[91, 97, 98]].mean(0), rtol=1e-6)
    expected = np.tanh(vec @ model.w).reshape(4, 4, 3)
    np.testing.assert_allclose(result, (expected + 1) / 2, atol=1e-6)
    assert os.path.exists(tmp_path / "a.png") and os.path.exists(tmp_path / "r.png")
