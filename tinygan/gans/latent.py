"""Chapter 9: exploring the latent space, plus the grid plots every chapter uses.

NumPy only; a "model" is anything with ``predict(x)`` (a ``tinygan.keras`` generator).

* :func:`interpolate_points`: ``n_steps`` vectors from ``p1`` to ``p2``, endpoints included (Listing 9.29), linear or
  spherical (``method='slerp'``, Listing 9.33).
* :func:`slerp`: spherical linear interpolation with the book's ``so == 0`` LERP fallback (Listing 9.32).
* :func:`average_points`: the chosen points (1-based indices, as read off a plotted grid) plus their mean
  (Listing 9.36).
* :func:`vector_arithmetic`: ``a[-1] - b[-1] + c[-1]`` on averaged groups ("smiling woman - neutral woman +
  neutral man = smiling man", Listing 9.38).
* :func:`plot_generated` / :func:`plot_grid`: ``rows x cols`` image grids with axes off, saved or shown.
* :func:`interpolation_grid`, :func:`arithmetic_grid`: the book's complete examples (Listings 9.31/9.33 and 9.39)
  as functions that return the images and write the plots.
"""
import numpy as np
from numpy import arccos, asarray, clip, dot, linspace, mean, sin, vstack
from numpy.linalg import norm

from ..errors import UserInputError

from .hacks import generate_latent_points, unscale_images


# spherical linear interpolation (slerp)
def slerp(val, low, high):
    """Slerp between ``low`` and ``high`` at ``val`` in [0, 1] (dcgan.torch issue #14, Listing 9.32).

    The angle is measured between the normalised vectors; when it is zero (parallel vectors, ``sin(omega) == 0``)
    the book falls back to linear interpolation. Antiparallel vectors (omega = pi) also have ``sin(omega)`` of
    (numerically) zero and take the same fallback.
    """
    low, high = asarray(low, dtype=np.float64), asarray(high, dtype=np.float64)
    omega = arccos(clip(dot(low / norm(low), high / norm(high)), -1, 1))
    so = sin(omega)
    if so == 0 or abs(so) < 1e-12:
        # L'Hopital's rule/LERP
        return (1.0 - val) * low + val * high
    return sin((1.0 - val) * omega) / so * low + sin(val * omega) / so * high


# uniform interpolation between two points in latent space
def interpolate_points(p1, p2, n_steps=10, method="linear"):
    """``n_steps`` vectors from ``p1`` to ``p2`` inclusive, shape ``(n_steps, latent_dim)``."""
    if method not in ("linear", "slerp"):
        raise UserInputError(f"method must be 'linear' or 'slerp', got {method!r}")
    # interpolate ratios between the points
    ratios = linspace(0, 1, num=n_steps)
    vectors = list()
    for ratio in ratios:
        if method == "slerp":
            v = slerp(ratio, p1, p2)
        else:
            v = (1.0 - ratio) * asarray(p1) + ratio * asarray(p2)
        vectors.append(v)
    return asarray(vectors)


# average list of latent space vectors
def average_points(points, ix):
    """Rows ``ix`` (1-based, as the book numbers faces in a grid) of ``points`` followed by their mean.

    Returns ``len(ix) + 1`` vectors; the last is the average.
    """
    points = asarray(points)
    zero_ix = [i - 1 for i in ix]
    if any(i < 0 or i >= len(points) for i in zero_ix):
        raise IndexError(f"indices {list(ix)} are 1-based and must lie in 1..{len(points)}")
    vectors = points[zero_ix]
    avg_vector = mean(vectors, axis=0)
    return vstack((vectors, avg_vector))


def vector_arithmetic(a, b, c):
    """``a[-1] - b[-1] + c[-1]``: the averaged vectors of three :func:`average_points` groups, as a 1-row batch."""
    result_vector = asarray(a)[-1] - asarray(b)[-1] + asarray(c)[-1]
    return np.expand_dims(result_vector, 0)


def parse_indices(text):
    """``"92,98,99"`` -> ``[92, 98, 99]`` (for the command line)."""
    return [int(t) for t in str(text).replace(" ", "").split(",") if t]


# ----------------------------------------------------------------------------------------------------- plots
def _pyplot():
    from matplotlib import pyplot
    return pyplot


def plot_grid(examples, rows, cols=None, filename=None, cmap=None, figsize=None):
    """Plot ``rows * cols`` images (NHWC, values in [0,1] or uint8) in a grid with axes off.

    Single-channel images are drawn from channel 0 with ``cmap`` (``'gray_r'`` in chapters 7 and 10). Saves to
    ``filename`` when given (and closes the figure), otherwise returns the figure.
    """
    pyplot = _pyplot()
    cols = rows if cols is None else cols
    examples = asarray(examples)
    fig = pyplot.figure(figsize=figsize)
    for i in range(min(rows * cols, len(examples))):
        # define subplot
        pyplot.subplot(rows, cols, 1 + i)
        # turn off axis
        pyplot.axis("off")
        img = examples[i]
        if img.ndim == 3 and img.shape[-1] == 1:
            img = img[:, :, 0]
        if img.ndim == 2:
            pyplot.imshow(img, cmap=cmap or "gray")
        else:
            # plot raw pixel data (clipped: imshow warns on float RGB outside [0,1])
            pyplot.imshow(np.clip(img, 0, 1) if img.dtype.kind == "f" else img)
    if filename is None:
        return fig
    pyplot.savefig(filename)
    pyplot.close(fig)
    return filename


def plot_generated(examples, rows, cols=None, filename=None, cmap=None):
    """The book's ``plot_generated(examples, n)`` / ``(examples, rows, cols)``: an n x n or rows x cols grid."""
    return plot_grid(examples, rows, cols, filename=filename, cmap=cmap)


# ------------------------------------------------------------------------------------------ complete examples
def _to_display(images):
    """Generator output -> [0,1]: tanh outputs are rescaled with ``(X + 1) / 2``; sigmoid outputs kept."""
    images = asarray(images)
    return unscale_images(images) if images.min() < 0 else images


def interpolation_grid(model, latent_dim, n_pairs=10, n_steps=10, method="linear", filename=None, rng=None,
                       pts=None):
    """Listing 9.31 / 9.33: ``n_pairs`` random pairs, each interpolated in ``n_steps``, one row per pair.

    Returns ``(images, vectors)``: ``n_pairs * n_steps`` display images in [0,1] and the latent vectors used.
    """
    if pts is None:
        pts = generate_latent_points(latent_dim, 2 * n_pairs, rng=rng)
    vectors = vstack([interpolate_points(pts[i], pts[i + 1], n_steps, method) for i in range(0, 2 * n_pairs, 2)])
    images = _to_display(model.predict(vectors.astype("float32")))
    if filename:
        plot_grid(images, n_pairs, n_steps, filename=filename, cmap="gray_r" if images.shape[-1] == 1 else None)
    return images, vectors


def arithmetic_grid(model, points, a_ix, b_ix, c_ix, filename=None, result_filename=None):
    """Listing 9.39: the 3 x 4 grid of chosen faces and their averages, and the ``a - b + c`` result image.

    ``points`` are the saved latent points; ``a_ix``, ``b_ix``, ``c_ix`` are 1-based index lists
    (the book: smiling woman ``[92, 98, 99]``, neutral woman ``[9, 21, 79]``, neutral man ``[10, 30, 45]``).
    Returns ``(grid_images, result_image, result_vector)``.
    """
    a, b, c = (average_points(points, ix) for ix in (a_ix, b_ix, c_ix))
    if not len(a) == len(b) == len(c):
        raise UserInputError("the three groups need the same number of indices for the rows x cols grid")
    all_vectors = vstack((a, b, c))
    images = _to_display(model.predict(all_vectors.astype("float32")))
    cmap = "gray_r" if images.shape[-1] == 1 else None
    if filename:
        plot_grid(images, 3, len(a), filename=filename, cmap=cmap)
    result_vector = vector_arithmetic(a, b, c)
    result_image = _to_display(model.predict(result_vector.astype("float32")))
    if result_filename:
        plot_grid(result_image, 1, 1, filename=result_filename, cmap=cmap)
    return images, result_image[0], result_vector


def save_latent_points(filename, points):
    """``savez_compressed(filename, points)`` as Listing 9.34 does (key ``arr_0``)."""
    np.savez_compressed(filename, asarray(points))


def load_latent_points(filename):
    """``load(filename)['arr_0']`` (Listing 9.35)."""
    with np.load(filename, allow_pickle=False) as data:
        return data["arr_0"]
