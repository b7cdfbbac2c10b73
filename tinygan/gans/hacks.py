"""Chapter 5: GAN hacks as small NumPy utilities.

Each function is the book's listing, with a ``rng`` keyword added (default: NumPy's global generator, which is
what the book draws from) so tests and training loops can make them repeatable.

* :func:`scale_images` / :func:`unscale_images`: pixels [0,255] -> [-1,1] (pairs with a ``tanh`` generator) and back
  to [0,1] for display (Listing 5.11; the ``(X + 1) / 2.0`` of chapters 8-10).
* :func:`generate_latent_points`: Gaussian latent points (Listing 5.13).
* :func:`smooth_positive_labels`: real labels 1 -> [0.7, 1.2] (Listing 5.16).
* :func:`smooth_negative_labels`: fake labels 0 -> [0.0, 0.3] (Listing 5.18).
* :func:`one_sided_smoothing`: the chapters 7/8 extension, real labels 1.0 -> 0.9 (optionally with noise).
* :func:`noisy_labels`: flip a share of labels (Listing 5.20), with replacement as in the book.
"""
import numpy as np


def _rng(rng):
    """``None`` -> NumPy's global generator (the book's ``numpy.random``); else a ``RandomState`` or ``Generator``."""
    return np.random if rng is None else rng


def scale_images(images):
    """[0,255] -> [-1,1] as float32: ``(images - 127.5) / 127.5`` (Listing 5.11)."""
    images = np.asarray(images).astype("float32")
    return (images - 127.5) / 127.5


def unscale_images(images):
    """[-1,1] -> [0,1]: ``(images + 1) / 2.0``, for plotting ``tanh`` generator output."""
    return (np.asarray(images) + 1) / 2.0


def generate_latent_points(latent_dim, n_samples, rng=None):
    """``n_samples`` points of a standard Gaussian latent space, shape ``(n_samples, latent_dim)`` (Listing 5.13)."""
    x_input = _rng(rng).standard_normal(latent_dim * n_samples)   # == randn(latent_dim * n_samples)
    return x_input.reshape(n_samples, latent_dim)


def _uniform(rng, shape):
    return _rng(rng).random(shape)


def smooth_positive_labels(y, rng=None):
    """Real labels 1 -> uniform in [0.7, 1.2]: ``y - 0.3 + random(y.shape) * 0.5`` (Listing 5.16)."""
    y = np.asarray(y, dtype=np.float64)
    return y - 0.3 + (_uniform(rng, y.shape) * 0.5)


def smooth_negative_labels(y, rng=None):
    """Fake labels 0 -> uniform in [0.0, 0.3]: ``y + random(y.shape) * 0.3`` (Listing 5.18)."""
    y = np.asarray(y, dtype=np.float64)
    return y + _uniform(rng, y.shape) * 0.3


def one_sided_smoothing(y, target=0.9, noise=0.0, rng=None):
    """The chapters 7/8 extension: real labels 1.0 -> ``target`` (0.9), plus optional uniform noise in [0, noise]."""
    y = np.asarray(y, dtype=np.float64) * target
    if noise:
        y = y + _uniform(rng, y.shape) * noise
    return y


def noisy_labels(y, p_flip, rng=None):
    """Flip ``int(p_flip * len(y))`` randomly chosen labels, in place and returned (Listing 5.20).

    Like the book, the indices are drawn **with replacement** (``choice(..., size=n_select)``), so slightly
    fewer distinct labels may flip; an index drawn twice is flipped once (fancy-index assignment).
    """
    rng = _rng(rng)
    n_select = int(p_flip * y.shape[0])
    flip_ix = rng.choice([i for i in range(y.shape[0])], size=n_select)
    y[flip_ix] = 1 - y[flip_ix]
    return y
