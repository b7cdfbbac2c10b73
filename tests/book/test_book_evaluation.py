"""Chapters 12-13: the book's Inception Score and FID programs (Listings 12.16, 12.22, 13.15, 13.19), ported by
import substitution only, run on tinygan's InceptionV3.

Offline the ImageNet weights are absent, so the default tests make ``InceptionV3`` build with ``weights=None``
(the one change, made by patching the module the program imports it from, never the program) and run the
programs' own functions on small inputs: any classifier gives IS 1.0 +- 0.0 on identical images and FID 0 for a
set against itself. The complete programs run in the slow tests: with Keras's weights file in
``~/.keras/models`` (and CIFAR-10 in the Keras cache for 12.22 / 13.19) they must print the book's figures
(spec book_part3_5.md R1-R3); without it the 12.16 and 13.15 programs run with ``weights=None`` (13.15 then
with seeded weights, see ``no_weights``) and print the book's lines with other numbers.
"""
import functools
import re

import numpy
import pytest

from book_harness import expected, normalize
from tinygan.keras.applications import inception_v3
from tinygan.keras.applications.seeded_weights import set_seeded_weights
from tinygan.metrics import resize
from tinygan.metrics.features import inception_weights_present


@pytest.fixture
def no_weights(monkeypatch):
    """``InceptionV3(...)`` in a program builds with ``weights=None`` (and, given ``input_shape``, that size);
    ``seeded=True`` then gives it He-scaled seeded weights: Keras's own initial weights shrink the activations
    through 94 conv layers until the pool features of any two images agree to 3 decimals (FID 0.000)."""
    def patch(seeded=False, **overrides):
        build = functools.partial(inception_v3.InceptionV3, **{"weights": None, **overrides})
        monkeypatch.setattr(inception_v3, "InceptionV3",
                            (lambda *a, **k: set_seeded_weights(build(*a, **k), 1)) if seeded else build)
    return patch


def test_inception_score_program_functions(listing, no_weights):
    """Listing 12.16's calculate_inception_score on 10 identical images (75 px; the book: 50 at 299) in 5 splits:
    IS 1.0, std 0.0 (spec T3, float32 tolerance)."""
    no_weights(input_shape=(75, 75, 3))
    ns, _ = listing("ch12_inception_score", defs_only=True)
    is_avg, is_std = ns["calculate_inception_score"](numpy.ones((10, 75, 75, 3)), n_split=5)
    assert abs(is_avg - 1.0) < 1e-6 and is_std < 1e-6


def test_inception_score_cifar10_program_functions(listing, no_weights):
    """Listing 12.22's scale_images (skimage's nearest resize) and its per-split IS on 4 random 32 px images."""
    no_weights()
    ns, _ = listing("ch12_inception_score_cifar10", defs_only=True)
    images = numpy.random.randint(0, 256, (4, 32, 32, 3)).astype("uint8")
    scaled = ns["scale_images"](images[:2].astype("float32"), (299, 299, 3))
    src = numpy.floor((numpy.arange(299) + 0.5) * 32 / 299).astype(int)
    assert scaled.shape == (2, 299, 299, 3) and scaled.dtype == numpy.float64
    numpy.testing.assert_array_equal(scaled, images[:2][:, src][:, :, src])
    is_avg, is_std = ns["calculate_inception_score"](images, n_split=2)
    assert 1.0 <= is_avg < 2.0 and 0.0 <= is_std < 1.0  # 2 images per split: IS is at most 2


def test_fid_program_functions(listing, no_weights):
    """Listing 13.15's calculate_fid (sqrtm of C1 C2, imaginary part dropped) with a small 8-output InceptionV3:
    0 for a set against itself, positive for two random sets."""
    no_weights()
    ns, _ = listing("ch13_fid_random_images", defs_only=True)
    model = ns["InceptionV3"](include_top=True, classes=8, input_shape=(75, 75, 3))
    images1 = ns["preprocess_input"](ns["scale_images"](numpy.random.randint(0, 255, (6, 32, 32, 3)).astype("float32"),
                                                        (75, 75, 3)))
    images2 = ns["preprocess_input"](numpy.random.randint(0, 255, (6, 75, 75, 3)).astype("float32"))
    assert images1.min() >= -1.0 and images1.max() <= 1.0
    assert abs(ns["calculate_fid"](model, images1, images1)) < 1e-6
    assert ns["calculate_fid"](model, images1, images2) > 0


class _Features:
    """A stand-in feature model: ``predict`` returns the rows it is given."""

    def predict(self, x):
        return numpy.asarray(x, dtype=numpy.float64)


def test_fid_cifar10_program_functions(listing):
    """Listing 13.19's calculate_fid is the book's formula: spec D11 and D14 through it."""
    ns, _ = listing("ch13_fid_cifar10", defs_only=True)
    assert ns["resize"] is resize
    a1, a2 = numpy.array([[1, 2], [3, 4], [5, 7]], float), numpy.array([[2, 1], [0, 3], [4, 4]], float)
    assert ns["calculate_fid"](_Features(), a1, a2) == pytest.approx(7.161205214330256, rel=1e-12)


# ---------------------------------------------------------------------------------------------------- complete

def _cifar10_present():
    import os
    from tinygan.keras.datasets import _download
    return os.path.exists(os.path.join(_download.cache_dir(), "cifar-10-python.tar.gz"))


@pytest.mark.slow
def test_inception_score_program_complete(listing, no_weights):
    """Listing 12.16 as printed: ``loaded (50, 299, 299, 3)`` / ``score 1.0 0.0`` (any weights: identical images)."""
    if not inception_weights_present(True):
        no_weights()
    _, out = listing("ch12_inception_score")
    lines = normalize(out)
    assert lines[0] == normalize(expected("ch12_inception_score"))[0]
    score, std = (float(v) for v in lines[1].split()[1:])
    assert abs(score - 1.0) < 1e-6 and std < 1e-6


@pytest.mark.slow
def test_fid_program_complete(listing, no_weights):
    """Listing 13.15 as printed, with seeded weights when the ImageNet weights are absent (the book's figures with
    them: ``test_book_figures_with_the_imagenet_weights[R2]``)."""
    weights = inception_weights_present(False)
    if not weights:
        no_weights(seeded=True)
    _, out = listing("ch13_fid_random_images")
    got, want = normalize(out), normalize(expected("ch13_fid_random_images"))
    assert got[:2] == want[:2]
    same = float(re.fullmatch(r"FID \(same\): (-?\d+\.\d{3})", got[2]).group(1))
    different = float(re.fullmatch(r"FID \(different\): (\d+\.\d{3})", got[3]).group(1))
    assert abs(same) < 1e-3 and different > 0


def _fid_random_images_matches_the_book(lines):
    """R2: ``FID (same): -0.000`` and ``FID (different): 35.495`` (random images: within 3)."""
    same = float(re.fullmatch(r"FID \(same\): (-?\d+\.\d{3})", lines[2]).group(1))
    different = float(re.fullmatch(r"FID \(different\): (\d+\.\d{3})", lines[3]).group(1))
    return abs(same) < 1e-3 and abs(different - 35.495) < 3.0


@pytest.mark.slow
@pytest.mark.parametrize("name, top, cifar10, shapes, check", [
    # R1: IS of the shuffled CIFAR-10 training set, book 11.317895 +- 0.14821531 (paper 11.24 +- 0.12)
    ("ch12_inception_score_cifar10", True, True, 1,
     lambda lines: abs(float(lines[1].split()[1]) - 11.317895) < 0.3 and 0.05 < float(lines[1].split()[2]) < 0.3),
    # R2: FID of two sets of 10 random-pixel images, book -0.000 (same) and 35.495 (different)
    ("ch13_fid_random_images", False, False, 2, _fid_random_images_matches_the_book),
    # R3: FID of 10,000 shuffled CIFAR-10 training images against the test set, book 5.492
    ("ch13_fid_cifar10", False, True, 2, lambda lines: abs(float(lines[2].split()[1]) - 5.492) < 0.5),
], ids=["R1", "R2", "R3"])
def test_book_figures_with_the_imagenet_weights(listing, name, top, cifar10, shapes, check):
    """Listings 12.22, 13.15 and 13.19 as the book runs them, on Keras's own ImageNet weights: the printed shapes
    (R4) and the book's figures (spec book_part3_5.md R1-R3). Skipped, saying what is missing, without the weights
    file in ~/.keras/models (no PyPI package ships it) or, for R1/R3, CIFAR-10 in ~/.keras/datasets."""
    missing = [f"{inception_v3.WEIGHTS_FILES[top]} in {inception_v3.models_dir()}"] * (not inception_weights_present(top))
    missing += ["cifar-10-python.tar.gz in ~/.keras/datasets"] * (cifar10 and not _cifar10_present())
    if missing:
        pytest.skip(f"{name} with the book's figures needs " + " and ".join(missing) + " (offline: put them there)")
    _, out = listing(name)
    lines = normalize(out)
    assert lines[:shapes] == normalize(expected(name))[:shapes]  # the printed shapes (R4)
    assert check(lines), lines
