"""Chapter 26's complete CycleGAN program (Listing 26.17) and its two translate programs (26.28, 26.32).

The training program runs with its imports changed (by the extraction) and one literal edited: ``n_epochs``
100 -> 5. Its data is a horse2zebra-format ``horse2zebra_256.npz`` (``arr_0`` horses, ``arr_1`` zebras, float32
pixels in [0, 255], as Listing 26.2 saves it) with 1 horse and 2 zebras (the book samples the domains
independently, so their sizes may differ): one horse makes an epoch one step, so the 5 epochs are 5 steps, a
plot pair every step and both generators saved after the fifth, under the book's names. The image size comes
from the data, which is the only size the program has: 32 px by default (the book's 35.3 M-parameter generators
all the same), 256 px (the book's) in the ``slow`` test.

Then Listing 26.28 loads what the training saved (linked to the name the book loads, ``g_model_*_089025.h5``,
the book's epoch 75) and translates A -> B -> A and B -> A -> B, and Listing 26.32 translates one photograph
(``horse2zebra/trainA/n02381460_541.jpg``) with ``g_model_AtoB_100895.h5``; at 32 px its ``load_image`` default
size ``(256,256)`` is edited to the size the generators were trained on.
"""
import os
import re

import numpy
import pytest
from PIL import Image

from book_harness import run_listing

pytestmark = pytest.mark.filterwarnings("ignore:Discrepancy between trainable weights:UserWarning",
                                        "ignore:.*non-interactive.*:UserWarning")

TRAIN_EDITS = {"n_epochs, n_batch, = 100, 1": "n_epochs, n_batch, = 5, 1"}
LOG_LINE = re.compile(r"^>(\d+), dA\[(\S+),(\S+)\] dB\[(\S+),(\S+)\] g\[(\S+),(\S+)\]$")
PHOTO = "horse2zebra/trainA/n02381460_541.jpg"


def write_horse2zebra(workdir, size, n_horses=1, n_zebras=2, seed=0):
    """Smooth random colour images in Listing 26.2's format, and the photograph Listing 26.32 opens."""
    rng = numpy.random.default_rng(seed)

    def images(n):
        coarse = rng.uniform(0, 255, (n, 4, 4, 3))
        return numpy.repeat(numpy.repeat(coarse, size // 4, axis=1), size // 4, axis=2).astype(numpy.float32)

    horses, zebras = images(n_horses), images(n_zebras)
    numpy.savez_compressed(workdir / "horse2zebra_256.npz", horses, zebras)
    (workdir / PHOTO).parent.mkdir(parents=True)
    Image.fromarray(horses[0].astype(numpy.uint8)).save(workdir / PHOTO, quality=95, subsampling=0)
    return horses, zebras


def run_chapter_26(workdir, size):
    """Listing 26.17 for 5 steps on ``size`` px images, then 26.28 and 26.32 on what it saved; returns the three
    (namespace, stdout) pairs."""
    horses, zebras = write_horse2zebra(workdir, size)
    train_ns, train_out = run_listing("ch26_cyclegan", workdir, edits=TRAIN_EDITS)

    lines = train_out.splitlines()
    assert lines[0] == f"Loaded ({len(horses)}, {size}, {size}, 3) ({len(zebras)}, {size}, {size}, 3)"
    steps = [LOG_LINE.match(line) for line in lines[1:-1]]
    assert all(steps) and [int(m.group(1)) for m in steps] == [1, 2, 3, 4, 5], lines
    assert all(numpy.isfinite(float(v)) for m in steps for v in m.groups()[1:])
    assert lines[-1] == ">Saved: g_model_AtoB_000005.h5 and g_model_BtoA_000005.h5"
    written = sorted(p.name for p in workdir.iterdir() if p.is_file())
    plots = [f"{d}_generated_plot_{s:06d}.png" for d in ("AtoB", "BtoA") for s in range(1, 6)]
    assert written == sorted(plots + ["g_model_AtoB_000005.h5", "g_model_BtoA_000005.h5", "horse2zebra_256.npz"])

    for direction in ("AtoB", "BtoA"):
        os.link(workdir / f"g_model_{direction}_000005.h5", workdir / f"g_model_{direction}_089025.h5")
    os.link(workdir / "g_model_AtoB_000005.h5", workdir / "g_model_AtoB_100895.h5")
    translate_ns, translate_out = run_listing("ch26_translate", workdir, seed=2)
    assert translate_out.splitlines() == [f"Loaded ({len(horses)}, {size}, {size}, 3) ({len(zebras)}, {size}, {size}, 3)"]
    photo_edits = {} if size == 256 else {"size=(256,256)": f"size=({size},{size})"}
    photo_ns, photo_out = run_listing("ch26_translate_photo", workdir, seed=3, edits=photo_edits)
    assert photo_out == ""

    # what the translate programs loaded is what the training program saved, and translates the same
    for direction in ("AtoB", "BtoA"):
        trained, loaded = train_ns[f"g_model_{direction}"], translate_ns[f"model_{direction}"]
        assert [w.shape for w in loaded.get_weights()] == [w.shape for w in trained.get_weights()]
        assert all(numpy.array_equal(a, b) for a, b in zip(loaded.get_weights(), trained.get_weights()))
    a_real = translate_ns["A_real"]
    numpy.testing.assert_array_equal(translate_ns["B_generated"], train_ns["g_model_AtoB"].predict(a_real))
    numpy.testing.assert_array_equal(translate_ns["A_reconstructed"],
                                     train_ns["g_model_BtoA"].predict(translate_ns["B_generated"]))
    assert translate_ns["A_generated"].shape == (1, size, size, 3)
    src = photo_ns["image_src"]
    assert src.shape == (1, size, size, 3) and numpy.abs(src[0] - (horses[0] - 127.5) / 127.5).mean() < 0.02  # JPEG
    numpy.testing.assert_array_equal(photo_ns["image_tar"], (train_ns["g_model_AtoB"].predict(src) + 1) / 2.0)
    return (train_ns, train_out), (translate_ns, translate_out), (photo_ns, photo_out)


def test_listing_26_17_trains_saves_and_the_translate_programs_load_it(tmp_path):
    run_chapter_26(tmp_path, 32)


@pytest.mark.slow
def test_listing_26_17_at_the_books_256_px(tmp_path):
    """The book's size: 5 steps of the 35.3 M-parameter generators on 256 x 256 images (minutes on 2 cores)."""
    run_chapter_26(tmp_path, 256)
