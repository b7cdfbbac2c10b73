"""Chapter 5 hacks: scaling, Gaussian latent points, label smoothing, noisy labels (the book's numeric demos)."""
import numpy as np
import pytest

from tinygan.gans.hacks import (generate_latent_points, noisy_labels, one_sided_smoothing, scale_images,
                                smooth_negative_labels, smooth_positive_labels, unscale_images)


def test_scale_images_listing_5_11():
    # the book prints "0 255" then "-1.0 1.0"
    images = np.array([0, 255, 127, 128, 3], dtype=np.uint8).reshape(1, 1, 5, 1)
    scaled = scale_images(images)
    assert scaled.dtype == np.float32
    assert scaled.min() == -1.0 and scaled.max() == 1.0
    np.testing.assert_allclose(unscale_images(scaled) * 255, images.astype(np.float64), atol=1e-4)


def test_latent_points_listing_5_13():
    rng = np.random.RandomState(0)
    z = generate_latent_points(100, 500, rng=rng)
    assert z.shape == (500, 100)
    # the book: mean -0.0048, std 0.9977
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02
    # the same stream as the book's randn(latent_dim * n).reshape(n, latent_dim)
    np.testing.assert_array_equal(z, np.random.RandomState(0).randn(100 * 500).reshape(500, 100))


def test_latent_points_global_rng_and_generator():
    np.random.seed(3)
    a = generate_latent_points(5, 4)
    np.random.seed(3)
    np.testing.assert_array_equal(a, np.random.randn(20).reshape(4, 5))
    b = generate_latent_points(5, 4, rng=np.random.default_rng(0))
    assert b.shape == (4, 5)


def test_smooth_positive_labels_listing_5_16():
    y = smooth_positive_labels(np.ones((1000, 1)), rng=np.random.RandomState(1))
    assert y.shape == (1000, 1)
    # the book: 0.7003 ... 1.1998
    assert 0.7 <= y.min() < 0.72 and 1.18 < y.max() <= 1.2


def test_smooth_negative_labels_listing_5_18():
    y = smooth_negative_labels(np.zeros((1000, 1)), rng=np.random.RandomState(1))
    assert y.shape == (1000, 1)
    # the book: 0.0002 ... 0.2998
    assert 0.0 <= y.min() < 0.01 and 0.29 < y.max() <= 0.3


def test_one_sided_smoothing():
    np.testing.assert_allclose(one_sided_smoothing(np.ones((4, 1))), 0.9)
    y = one_sided_smoothing(np.ones((100, 1)), noise=0.1, rng=np.random.RandomState(0))
    assert 0.9 <= y.min() and y.max() <= 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_noisy_labels_listing_5_20(seed):
    rng = np.random.RandomState(seed)
    y = np.ones((1000, 1))
    out = noisy_labels(y, 0.05, rng=rng)
    assert out is y                         # in place, as the book
    flipped = int(1000 - out.sum())
    # int(0.05 * 1000) = 50 indices drawn with replacement: at most 50 distinct flips (the book: 49)
    assert 40 <= flipped <= 50
    assert set(np.unique(out)) <= {0.0, 1.0}
    z = noisy_labels(np.zeros((1000, 1)), 0.05, rng=np.random.RandomState(seed))
    assert int(z.sum()) == flipped          # the same draws flip the same count of zeros


def test_noisy_labels_zero_probability():
    y = np.ones((10, 1))
    assert noisy_labels(y, 0.0).sum() == 10
