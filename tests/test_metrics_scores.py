"""tinygan.metrics: the book's IS and FID (spec book_part3_5.md §3 vectors T1-T3, T13-T14, D1-D14, D18) and KID."""
import numpy as np
import pytest
from scipy.linalg import sqrtm

from tinygan.metrics import (MetricError, frechet_distance, group_inception_score, inception_score,
                             kernel_inception_distance, polynomial_mmd2_unbiased)
from tinygan.metrics.features import resize


def book_fid(act1, act2):
    """Listing 13.1 verbatim: the reference the fast form is held to."""
    mu1, sigma1 = act1.mean(axis=0), np.cov(act1, rowvar=False)
    mu2, sigma2 = act2.mean(axis=0), np.cov(act2, rowvar=False)
    ssdiff = np.sum((mu1 - mu2) ** 2.0)
    covmean = sqrtm(sigma1.dot(sigma2))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return ssdiff + np.trace(sigma1 + sigma2 - 2.0 * covmean)


# ---------------------------------------------------------------------------------------------------- IS

@pytest.mark.parametrize("p_yx, expected", [
    (np.eye(3), 2.999999999999999),                                                    # T1 (bit-exact repr)
    ([[0.33, 0.33, 0.33]] * 3, 1.0),                                                   # T2
    (np.eye(10), 9.999999999999984),                                                   # D1
    ([[1, 0], [1, 0]], 1.0),                                                           # D2
    ([[0.5, 0.5], [1, 0]], 1.2408064788027993),                                        # D3
    ([[0.9, 0.1], [0.1, 0.9]], 1.4449348111684153),                                    # D4
    ([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.3, 0.3, 0.4]], 1.251414937192598),  # D5
])
def test_inception_score_of_one_group_is_the_books(p_yx, expected):
    assert group_inception_score(np.array(p_yx, dtype=float)) == expected
    assert inception_score(np.array(p_yx, dtype=float), n_split=1) == (expected, 0.0)


@pytest.mark.parametrize("p_yx, n_split, expected", [
    ([[1, 0], [0, 1], [1, 0], [1, 0]], 2, (1.4999999999999998, 0.4999999999999998)),           # D6
    ([[1, 0], [0, 1], [1, 0], [1, 0], [0, 1]], 2, (1.4999999999999998, 0.4999999999999998)),   # D7 leftover ignored
    ([[.9, .1], [.1, .9], [.5, .5], [.5, .5], [1, 0], [0, 1]], 3, (1.481644937056138, 0.40907271155384195)),  # D8
    (np.tile(np.eye(5), (4, 1)), 10, (1.9999999999999996, 0.0)),                               # D9
])
def test_split_inception_score_is_the_books(p_yx, n_split, expected):
    assert inception_score(np.array(p_yx, dtype=float), n_split) == expected


def test_identical_float32_probabilities_score_one():
    """T3: 50 identical images through any classifier: 1.0 +- 0.0 (float32: within 1e-6)."""
    p = np.random.default_rng(0).dirichlet(np.ones(1000)).astype(np.float32)
    mean, std = inception_score(np.tile(p, (50, 1)), 10)
    assert abs(mean - 1.0) < 1e-6 and std < 1e-6


# ---------------------------------------------------------------------------------------------------- FID

A1, A2 = np.array([[1, 2], [3, 4], [5, 7]], float), np.array([[2, 1], [0, 3], [4, 4]], float)
B1 = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], float)
C1 = np.array([[1, 0, 2], [0, 1, 1], [2, 2, 0], [1, 3, 1], [0, 0, 0]], float)
C2 = np.array([[.5, 1, 1], [2, 0, 1], [1, 1, 1], [0, 2, 3], [1, 0, 2]], float)


@pytest.mark.parametrize("act1, act2, expected", [
    (A2, A1, 7.161205214330256), (A1, A2, 7.161205214330256),   # D11
    (B1, 2 * B1 + 1, 5.166666666666666),                        # D12
    (B1, B1 + 3, 18.0),                                         # D13
    (C1, C2, 2.16879698386078),                                 # D14
])
@pytest.mark.parametrize("method", ["sqrtm", "eig"])
def test_frechet_distance_is_the_books(act1, act2, expected, method):
    assert frechet_distance(act1, act2, method=method) == pytest.approx(expected, rel=1e-9)


def test_fid_of_a_set_with_itself_is_zero():
    """D10 (book code: -1.3e-13) and T13 (10 x 2048 uniform: book prints -0.000)."""
    assert abs(frechet_distance(A1, A1, method="sqrtm")) < 1e-12
    act = np.random.default_rng(0).random((10, 2048))
    assert abs(frechet_distance(act, act)) < 1e-3


@pytest.mark.parametrize("seed, expected", [(0, 360.549), (1, 358.412)])
def test_fid_of_two_uniform_sets_is_near_the_books_359(seed, expected):
    """T14: two independent 10 x 2048 U[0,1) sets drawn as the book draws them (book: 358.927, unseeded); the
    book's code on seeds 0 and 1 gives 360.549 and 358.412 (spec §1, ch. 13)."""
    np.random.seed(seed)
    act1, act2 = np.random.random(10 * 2048).reshape((10, 2048)), np.random.random(10 * 2048).reshape((10, 2048))
    fid = frechet_distance(act1, act2)
    assert 355 < fid < 365 and round(fid, 3) == expected


@pytest.mark.parametrize("n, d", [(200, 20), (30, 64)])  # full rank, and singular covariances (n < d)
def test_fid_eigenvalue_form_agrees_with_scipy_sqrtm(n, d):
    rng = np.random.default_rng(n)
    act1 = rng.standard_normal((n, d)) @ rng.standard_normal((d, d)) * 0.3
    act2 = rng.standard_normal((n, d)) + 0.5
    reference = book_fid(act1, act2)
    assert frechet_distance(act1, act2, method="sqrtm") == pytest.approx(reference, rel=1e-12)
    assert frechet_distance(act1, act2, method="eig") == pytest.approx(reference, rel=1e-6)


# ---------------------------------------------------------------------------------------------------- KID

def test_mmd2_unbiased_by_hand():
    x, y = np.array([[1.0], [2.0]]), np.array([[0.0], [1.0], [3.0]])
    k = lambda a, b: (a * b + 1) ** 3  # noqa: E731  (d = 1)
    kxx = 2 * k(1, 2) / 2
    kyy = 2 * (k(0, 1) + k(0, 3) + k(1, 3)) / 6
    kxy = sum(k(a, b) for a in (1, 2) for b in (0, 1, 3)) / 6
    assert polynomial_mmd2_unbiased(x, y) == pytest.approx(kxx + kyy - 2 * kxy, rel=1e-12)


def test_kid_is_unbiased_on_two_samples_of_one_distribution():
    """Mean over subsets within 3 standard errors of 0; the biased (V-statistic) estimate is far above 0."""
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2000, 16)), rng.standard_normal((2000, 16))
    mean, std = kernel_inception_distance(a, b, n_subsets=200, subset_size=50, seed=0)
    assert abs(mean) < 3 * std / np.sqrt(200)
    x, y = a[:50], b[:50]
    biased = sum(((u @ v.T / 16 + 1) ** 3).mean() * s for u, v, s in ((x, x, 1), (y, y, 1), (x, y, -2)))
    assert biased > 10 * std / np.sqrt(200)


def test_kid_separates_shifted_distributions():
    rng = np.random.default_rng(2)
    same = kernel_inception_distance(rng.standard_normal((300, 8)), rng.standard_normal((300, 8)), 20, 100)[0]
    shifted = kernel_inception_distance(rng.standard_normal((300, 8)), rng.standard_normal((300, 8)) + 1, 20, 100)[0]
    assert shifted > 0.5 and abs(same) < 0.05


# ---------------------------------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("call, message", [
    (lambda: frechet_distance(np.ones((1, 4)), np.ones((5, 4))), "1 sample\\(s\\) of 4 features; at least 2"),
    (lambda: frechet_distance(np.ones((5, 4)), np.ones((5, 3))), "different feature sizes, 4 and 3"),
    (lambda: kernel_inception_distance(np.ones((5, 4)), np.ones((5, 3))), "different feature sizes"),
    (lambda: frechet_distance(np.array([[1, np.nan], [0, 1]]), np.ones((5, 2))), "1 NaN/inf value"),
    (lambda: kernel_inception_distance(np.ones((5, 2)), np.array([[np.inf, 1], [0, 1]])), "second set.*NaN/inf"),
    (lambda: inception_score(np.eye(3), n_split=4), "3 images cannot make 4 splits"),
    (lambda: inception_score([[-0.1, 1.1]], 1), "cannot be negative"),
    (lambda: frechet_distance(np.ones(5), np.ones(5)), "expected a 2-D array"),
])
def test_bad_input_is_one_clear_line(call, message):
    with pytest.raises(MetricError, match=message) as info:
        call()
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------------------------------------------- resize

def test_nearest_resize_32_to_299_is_skimage_order_0():
    """D18: source index floor((o + 0.5) * 32 / 299); each source row repeats 9 or 10 times (9,10,9,9,10,...)."""
    image = np.arange(32 * 32 * 3, dtype=np.float32).reshape(32, 32, 3)
    out = resize(image, (299, 299, 3), 0)
    assert out.shape == (299, 299, 3) and out.dtype == np.float64
    src = np.floor((np.arange(299) + 0.5) * 32 / 299).astype(int)
    np.testing.assert_array_equal(out, image[src][:, src])
    runs = np.bincount(src)
    assert set(runs) == {9, 10} and list(runs[:5]) == [9, 10, 9, 9, 10]
