"""Inception Score, Frechet distance and Kernel Inception Distance on arrays (book chapters 12-13).

The formulas are the book's own code: Listing 12.1 / 12.14 for the Inception Score (eps 1e-16 inside both logs,
splits of ``floor(N / n_split)`` images with the leftover ignored, mean and ddof-0 std over the splits) and
Listing 13.1 for the FID (``numpy.cov`` with ddof 1, ``sqrtm(sigma1 . sigma2)`` with its imaginary part dropped).
KID is Binkowski et al. 2018 ("Demystifying MMD GANs"): the unbiased MMD^2 estimate with the cubic polynomial
kernel ``k(x, y) = (x . y / d + 1) ** 3``, averaged over random subsets.

Every function checks its input and raises :class:`MetricError`, one line naming the problem and the fix.
"""
import math

import numpy

from ..errors import UserInputError

__all__ = ["MetricError", "inception_score", "group_inception_score", "frechet_distance", "feature_statistics",
           "kernel_inception_distance", "polynomial_mmd2_unbiased"]


class MetricError(UserInputError):
    """Input a metric cannot be computed on (too few samples, mismatched sizes, NaN/inf)."""


def _check_matrix(name, a, min_rows=2):
    a = numpy.asarray(a, dtype=numpy.float64)
    if a.ndim != 2:
        raise MetricError(f"{name}: expected a 2-D array (samples, features), got shape {a.shape}")
    if a.shape[0] < min_rows:
        raise MetricError(f"{name}: {a.shape[0]} sample(s) of {a.shape[1]} features; at least {min_rows} are needed "
                          "(a covariance or a spread needs two)")
    bad = ~numpy.isfinite(a)
    if bad.any():
        rows = numpy.unique(numpy.nonzero(bad)[0])
        raise MetricError(f"{name}: {bad.sum()} NaN/inf value(s) in {len(rows)} sample(s) (first: row {rows[0]}); "
                          "the model or the images produced non-finite numbers: check them before scoring")
    return a


def _check_pair(name, a, b, min_rows=2):
    a, b = _check_matrix(f"{name} (first set)", a, min_rows), _check_matrix(f"{name} (second set)", b, min_rows)
    if a.shape[1] != b.shape[1]:
        raise MetricError(f"{name}: the two sets have different feature sizes, {a.shape[1]} and {b.shape[1]}; "
                          "extract both with the same model")
    return a, b


# ---------------------------------------------------------------------------------------------------- IS

def group_inception_score(p_yx, eps=1e-16):
    """Listing 12.1, one group of images: ``exp(mean over images of sum over classes of p(y|x) (log p(y|x) - log p(y)))``."""
    p_yx = _check_probabilities("group_inception_score", p_yx, min_rows=1)
    p_y = numpy.expand_dims(p_yx.mean(axis=0), 0)
    kl_d = p_yx * (numpy.log(p_yx + eps) - numpy.log(p_y + eps))
    return float(numpy.exp(numpy.mean(kl_d.sum(axis=1))))


def inception_score(p_yx, n_split=10, eps=1e-16):
    """Listing 12.14: (mean, std) of :func:`group_inception_score` over ``n_split`` consecutive groups of
    ``floor(N / n_split)`` images (the leftover images are ignored); std with ddof 0."""
    p_yx = _check_probabilities("inception_score", p_yx, min_rows=1)
    if not isinstance(n_split, (int, numpy.integer)) or n_split < 1:
        raise MetricError(f"inception_score: n_split must be a positive integer, got {n_split!r}")
    n_part = math.floor(p_yx.shape[0] / n_split)
    if n_part < 1:
        raise MetricError(f"inception_score: {p_yx.shape[0]} images cannot make {n_split} splits; "
                          f"use n_split <= {p_yx.shape[0]} or more images")
    scores = [group_inception_score(p_yx[i * n_part:i * n_part + n_part], eps) for i in range(n_split)]
    return float(numpy.mean(scores)), float(numpy.std(scores))


def _check_probabilities(name, p, min_rows):
    """Rows of class probabilities; only negatives are refused (the book's own example rows sum to 0.99)."""
    p = _check_matrix(name, p, min_rows)
    if p.min() < 0:
        raise MetricError(f"{name}: class probabilities cannot be negative (minimum {p.min():.4g}); use a model "
                          "whose output is a softmax")
    return p


# ---------------------------------------------------------------------------------------------------- FID

def feature_statistics(act):
    """(mean, covariance with ddof 1) of a (samples, features) array, as Listing 13.1 computes them."""
    act = _check_matrix("feature_statistics", act)
    return act.mean(axis=0), numpy.cov(act, rowvar=False)


def frechet_distance(act1, act2, method="eig"):
    """Listing 13.1: ``||mu1 - mu2||^2 + Tr(C1 + C2 - 2 sqrt(C1 C2))``.

    ``method='sqrtm'`` is the book's code to the letter (``scipy.linalg.sqrtm`` of ``C1 . C2``, imaginary part
    dropped); on 2,048 features it takes minutes. ``method='eig'`` (default) gets the same trace from eigenvalues
    in seconds: ``C1 C2`` has the eigenvalues of the symmetric PSD ``sqrt(C1) C2 sqrt(C1)``, so ``Tr sqrt(C1 C2)``
    is the sum of their square roots; with fewer samples than features it is the sum of the singular values of
    ``X1c X2c^T / sqrt((n1-1)(n2-1))`` (centred samples), the same numbers from a small matrix.
    """
    act1, act2 = _check_pair("frechet_distance", act1, act2)
    (mu1, sigma1), (mu2, sigma2) = feature_statistics(act1), feature_statistics(act2)
    ssdiff = numpy.sum((mu1 - mu2) ** 2.0)
    if method == "sqrtm":
        from scipy.linalg import sqrtm
        covmean = sqrtm(sigma1.dot(sigma2))
        if numpy.iscomplexobj(covmean):
            covmean = covmean.real
        tr_covmean = numpy.trace(covmean)
    elif method == "eig":
        tr_covmean = _trace_sqrt_product(act1 - mu1, act2 - mu2, sigma1, sigma2)
    else:
        raise MetricError(f"frechet_distance: method must be 'eig' or 'sqrtm', got {method!r}")
    return float(ssdiff + numpy.trace(sigma1) + numpy.trace(sigma2) - 2.0 * tr_covmean)


def _trace_sqrt_product(centred1, centred2, sigma1, sigma2):
    """Tr sqrt(sigma1 sigma2) of two sample covariances, from whichever of the sample or feature space is smaller."""
    (n1, d), n2 = centred1.shape, centred2.shape[0]
    if min(n1, n2) < d:
        cross = centred1 @ centred2.T / numpy.sqrt((n1 - 1) * (n2 - 1))
        return float(numpy.linalg.svd(cross, compute_uv=False).sum())
    w, v = numpy.linalg.eigh(sigma1)
    root1 = (v * numpy.sqrt(numpy.clip(w, 0, None))) @ v.T
    inner = root1 @ sigma2 @ root1
    return float(numpy.sqrt(numpy.clip(numpy.linalg.eigvalsh((inner + inner.T) / 2), 0, None)).sum())


# ---------------------------------------------------------------------------------------------------- KID

def polynomial_mmd2_unbiased(x, y, degree=3, coef0=1.0):
    """The unbiased MMD^2 of two samples with ``k(a, b) = (a . b / d + coef0) ** degree`` (the kernel's
    diagonal left out of the within-set means)."""
    m, n, d = x.shape[0], y.shape[0], x.shape[1]
    k_xx = (x @ x.T / d + coef0) ** degree
    k_yy = (y @ y.T / d + coef0) ** degree
    k_xy = (x @ y.T / d + coef0) ** degree
    within_x = (k_xx.sum() - numpy.trace(k_xx)) / (m * (m - 1))
    within_y = (k_yy.sum() - numpy.trace(k_yy)) / (n * (n - 1))
    return float(within_x + within_y - 2.0 * k_xy.mean())


def kernel_inception_distance(act1, act2, n_subsets=100, subset_size=1000, seed=0):
    """KID: (mean, std) of the unbiased polynomial MMD^2 over ``n_subsets`` pairs of random subsets of
    ``min(subset_size, N1, N2)`` samples each, drawn without replacement (Binkowski et al. 2018). Unbiased, so
    two samples of one distribution give a mean near 0 (it can be negative)."""
    act1, act2 = _check_pair("kernel_inception_distance", act1, act2)
    if n_subsets < 1:
        raise MetricError(f"kernel_inception_distance: n_subsets must be at least 1, got {n_subsets}")
    m = min(subset_size, act1.shape[0], act2.shape[0])
    rng = numpy.random.default_rng(seed)
    mmds = [polynomial_mmd2_unbiased(act1[rng.choice(act1.shape[0], m, replace=False)],
                                     act2[rng.choice(act2.shape[0], m, replace=False)]) for _ in range(n_subsets)]
    return float(numpy.mean(mmds)), float(numpy.std(mmds))
