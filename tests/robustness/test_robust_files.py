"""Files users get wrong: missing or empty paths, non-images, odd image sizes and modes, truncated and corrupt
files, npz arrays of the wrong names/shapes/dtypes/ranges, model files and checkpoints that are not what the
command needs. Each ends in one line (no traceback) and leaves nothing half-written."""
import os
import pickle

import numpy as np
import pytest
from PIL import Image

from tinygan.gans.pix2pix_data import load_real_samples
from tinygan.training import guards

from robust_helpers import PIX2PIX_SMALL, SIZE, fails_cleanly, toy_pairs_uint8

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def train_on(path, tmp_path, capsys, *needles):
    return fails_cleanly(["pix2pix", "train", "--data", path, "--out", tmp_path / "run", "--max-steps", "1",
                          *PIX2PIX_SMALL], capsys, *needles)


# ---- paths ----------------------------------------------------------------------------------------------------
def test_missing_data_path(tmp_path, capsys):
    train_on(tmp_path / "nope.npz", tmp_path, capsys, "no such file or folder")
    assert not (tmp_path / "run").exists()


def test_empty_folder(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    train_on(tmp_path / "empty", tmp_path, capsys, "no usable side-by-side image")
    fails_cleanly(["pix2pix", "prepare", tmp_path / "empty", "-o", tmp_path / "x.npz"], capsys, "no usable")
    assert not (tmp_path / "x.npz").exists()


def test_folder_of_non_images(tmp_path, capsys):
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    (folder / "fake.jpg").write_bytes(b"\xff\xd8\xff" + os.urandom(100))
    line = fails_cleanly(["pix2pix", "prepare", folder, "-o", tmp_path / "x.npz"], capsys, "2 file(s) skipped")
    assert "junk" in line


def test_prepare_missing_folder_and_output_is_a_folder(tmp_path, capsys):
    fails_cleanly(["pix2pix", "prepare", tmp_path / "none"], capsys, "no such folder")
    fails_cleanly(["pix2pix", "prepare", tmp_path, "-o", tmp_path], capsys, "is a folder")


# ---- odd images ---------------------------------------------------------------------------------------------------
def odd_images(folder):
    """Side-by-side pairs in every mode PIL writes, and images that are not pairs at all."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (20, 40, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(folder / "rgb.png")
    Image.fromarray(rgb).convert("L").save(folder / "gray.png")
    Image.fromarray(rgb).convert("RGBA").save(folder / "rgba.png")
    Image.fromarray(rgb).convert("P").save(folder / "palette.png")
    Image.fromarray((rng.integers(0, 65535, (20, 40))).astype(np.uint16)).save(folder / "sixteen.png")
    Image.fromarray(rgb).convert("CMYK").save(folder / "cmyk.jpg")
    Image.new("RGB", (1, 1)).save(folder / "one.png")
    Image.new("RGB", (5000, 100)).save(folder / "wide.png")
    Image.new("RGB", (2, 1)).save(folder / "tiny_pair.png")
    data = (folder / "rgb.png").read_bytes()
    (folder / "truncated.png").write_bytes(data[: len(data) // 2])
    (folder / "empty.jpg").write_bytes(b"")


def test_prepare_takes_every_image_mode_and_skips_the_rest_by_name(tmp_path, capsys):
    folder = tmp_path / "odd"
    folder.mkdir()
    odd_images(folder)
    out = tmp_path / "odd.npz"
    from tinygan.cli import main
    assert main(["pix2pix", "prepare", str(folder), "-o", str(out), "--size", "8"]) == 0
    text = capsys.readouterr()
    assert "Traceback" not in text.out + text.err
    skipped = {line.split(":")[0].replace("Skipped ", "") for line in text.out.splitlines()
               if line.startswith("Skipped ") and ":" in line}
    assert {"one.png", "wide.png", "truncated.png", "empty.jpg"} <= skipped
    with np.load(out) as data:
        src = data["arr_0"]
    # rgb, gray, rgba, palette, 16-bit, cmyk and the 2x1 pair: all RGB uint8 8x8 now
    assert src.shape == (7, 8, 8, 3) and src.dtype == np.uint8


def test_translate_a_single_broken_image(tmp_path, capsys, pix2pix_run):
    (tmp_path / "bad.png").write_bytes(b"junk")
    fails_cleanly(["pix2pix", "translate", pix2pix_run, tmp_path / "bad.png", "-o", tmp_path / "o"], capsys,
                  "nothing to translate")


def test_translate_odd_modes_and_sizes(tmp_path, capsys, pix2pix_run):
    folder = tmp_path / "odd"
    folder.mkdir()
    odd_images(folder)
    from tinygan.cli import main
    assert main(["pix2pix", "translate", str(pix2pix_run), str(folder), "-o", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "Skipped" in out and "truncated.png" in out
    img = np.asarray(Image.open(tmp_path / "o" / "sixteen_generated.png"))
    assert img.shape == (SIZE, SIZE, 3)


# ---- npz files ------------------------------------------------------------------------------------------------
def test_truncated_npz(tmp_path, capsys, toy_npz):
    data = toy_npz.read_bytes()
    bad = tmp_path / "trunc.npz"
    bad.write_bytes(data[: len(data) // 2])
    train_on(bad, tmp_path, capsys, "truncated or corrupt", "trunc.npz")


def test_random_bytes_npz(tmp_path, capsys):
    bad = tmp_path / "noise.npz"
    bad.write_bytes(os.urandom(3000))
    train_on(bad, tmp_path, capsys, "noise.npz")


def test_pickled_npz_is_refused_not_loaded(tmp_path, capsys):
    """An object array in an npz would need pickle, which can run code: refused."""
    bad = tmp_path / "objects.npz"
    np.savez(bad, arr_0=np.array([{"a": 1}], dtype=object), arr_1=np.zeros(1))
    train_on(bad, tmp_path, capsys, "pickled", "never loads")

    class Boom:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))
    (tmp_path / "evil.npz").write_bytes(pickle.dumps(Boom()))
    train_on(tmp_path / "evil.npz", tmp_path, capsys, "evil.npz")
    assert not (tmp_path / "pwned").exists()


def test_wrong_array_names(tmp_path, capsys):
    np.savez(tmp_path / "names.npz", x=np.zeros((2, 8, 8, 3), np.uint8))
    train_on(tmp_path / "names.npz", tmp_path, capsys, "no arr_0/arr_1", "['x']")


@pytest.mark.parametrize("a0,a1,needle", [
    (np.zeros((4, 8, 8, 3), np.uint8), np.zeros((3, 8, 8, 3), np.uint8), "of the same shape"),
    (np.zeros((4, 8, 8), np.uint8), np.zeros((4, 8, 8), np.uint8), "of the same shape"),
    (np.zeros((4, 8, 8, 7), np.uint8), np.zeros((4, 8, 8, 7), np.uint8), "(n, h, w, channels)"),
    (np.zeros((4, 8, 8, 3), bool), np.zeros((4, 8, 8, 3), bool), "boolean"),
    (np.full((4, 8, 8, 3), 1000, np.int64), np.zeros((4, 8, 8, 3), np.int64), "from 1000 to 1000"),
    (np.full((4, 8, 8, 3), np.nan, np.float32), np.zeros((4, 8, 8, 3), np.float32), "NaN or infinite"),
    (np.full((4, 8, 8, 3), np.inf), np.zeros((4, 8, 8, 3)), "NaN or infinite"),
    (np.full((4, 8, 8, 3), -3.0), np.zeros((4, 8, 8, 3)), "none of 0..255"),
    (np.full((4, 8, 8, 3), "a"), np.full((4, 8, 8, 3), "a"), "dtype <U1"),
])
def test_wrong_arrays_are_refused(tmp_path, capsys, a0, a1, needle):
    np.savez(tmp_path / "bad.npz", a0, a1)
    train_on(tmp_path / "bad.npz", tmp_path, capsys, needle)


@pytest.mark.parametrize("kind", ["uint8", "int64", "float64_0_255", "float_0_1", "float_-1_1"])
def test_unambiguous_ranges_are_rescaled(tmp_path, kind):
    src, tar = toy_pairs_uint8(4)
    expected = load_real_samples_from(tmp_path, src, tar)
    conv = {"uint8": lambda x: x, "int64": lambda x: x.astype(np.int64),
            "float64_0_255": lambda x: x.astype(np.float64), "float_0_1": lambda x: x / np.float32(255),
            "float_-1_1": lambda x: (x.astype(np.float32) - 127.5) / 127.5}[kind]
    got = load_real_samples_from(tmp_path, conv(src), conv(tar))
    np.testing.assert_allclose(got[0], expected[0], atol=1e-6)
    assert got[0].dtype == np.float32 and got[0].min() >= -1 and got[0].max() <= 1


def load_real_samples_from(tmp_path, a0, a1):
    np.savez(tmp_path / "d.npz", a0, a1)
    return load_real_samples(str(tmp_path / "d.npz"))


def test_book_scaling_is_bit_exact():
    x = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    from tinygan.gans.pix2pix_data import scale_images
    assert np.array_equal(guards.as_images(x, "x"), scale_images(x))


def test_dcgan_npz_checks(tmp_path, capsys):
    np.savez(tmp_path / "faces.npz", np.full((4, 80, 80, 3), np.nan, np.float32))
    fails_cleanly(["dcgan", "train", "--dataset", tmp_path / "faces.npz", "--out", tmp_path / "r"], capsys, "NaN")
    np.savez(tmp_path / "odd.npz", np.zeros((4, 50, 50, 3), np.uint8))
    fails_cleanly(["dcgan", "train", "--dataset", tmp_path / "odd.npz", "--out", tmp_path / "r"], capsys,
                  "fit none of the book's models")
    np.savez(tmp_path / "flat.npz", np.zeros((4, 10), np.uint8))
    fails_cleanly(["dcgan", "train", "--dataset", tmp_path / "flat.npz", "--out", tmp_path / "r"], capsys,
                  "expected images")
    (tmp_path / "t.npz").write_bytes(b"PK\x03\x04" + b"\0" * 40)
    fails_cleanly(["dcgan", "train", "--dataset", tmp_path / "t.npz", "--out", tmp_path / "r"], capsys,
                  "truncated or corrupt")
    assert not (tmp_path / "r").exists()


def test_dcgan_float_0_1_mnist_is_taken_as_is(tmp_path):
    from tinygan.gans.part1_cli import _load_dcgan_data
    x = np.random.default_rng(0).random((3, 28, 28)).astype(np.float32)
    np.savez(tmp_path / "m.npz", x)
    X, kind, _ = _load_dcgan_data(str(tmp_path / "m.npz"), "auto")
    assert kind == "mnist" and np.array_equal(X[..., 0], x)


def test_cifar10_offline_is_one_line(tmp_path, capsys, monkeypatch):
    from tinygan.keras.datasets import _download, cifar10

    def offline():
        raise _download.DatasetUnavailableError("cifar-10-python.tar.gz is not in ~/.keras/datasets and could "
                                                "not be downloaded (no network); place it there by hand")
    monkeypatch.setattr(cifar10, "load_data", offline)
    fails_cleanly(["dcgan", "train", "--dataset", "cifar10", "--out", tmp_path / "r"], capsys, "could not be "
                  "downloaded")


# ---- model files and checkpoints --------------------------------------------------------------------------------
def test_latent_tools_on_a_pix2pix_run(pix2pix_run, tmp_path, capsys):
    for argv in (["sample", pix2pix_run, "-o", tmp_path / "s.png"], ["dcgan", "score", pix2pix_run],
                 ["latent", "interpolate", pix2pix_run, "-o", tmp_path / "i.png"],
                 ["latent", "arithmetic", pix2pix_run, "--points", tmp_path / "p.npz"]):
        fails_cleanly(argv, capsys, "not latent vectors", "pix2pix translate")
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("content", [b"", b"junk" * 100, b"PK\x03\x04" + b"\0" * 100])
def test_broken_model_file(tmp_path, capsys, pix2pix_run, content):
    (tmp_path / "model_000001.h5").write_bytes(content)
    fails_cleanly(["pix2pix", "translate", tmp_path / "model_000001.h5", tmp_path, "-o", tmp_path / "o"], capsys,
                  "model_000001.h5")
    fails_cleanly(["sample", tmp_path / "model_000001.h5", "-o", tmp_path / "s.png"], capsys, "model_000001.h5")


def test_truncated_model_file(tmp_path, capsys, pix2pix_run):
    models = sorted(f for f in os.listdir(pix2pix_run) if f.endswith(".h5"))
    data = (pix2pix_run / models[-1]).read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[: len(data) // 3])
    fails_cleanly(["pix2pix", "translate", tmp_path / "cut.h5", tmp_path, "-o", tmp_path / "o"], capsys, "cut.h5")


def test_checkpoint_from_another_model(tmp_path, capsys, pix2pix_run):
    """A gan1d checkpoint handed to pix2pix translate, and a pix2pix run resumed at another --ngf."""
    from tinygan.cli import main
    gan = tmp_path / "g"
    assert main(["gan1d", "train", "--iterations", "3", "--eval-every", "3", "--out", str(gan), "--no-progress",
                 "--quiet"]) == 0
    capsys.readouterr()
    fails_cleanly(["pix2pix", "translate", gan / "checkpoint.npz", tmp_path, "-o", tmp_path / "o"], capsys,
                  "not a pix2pix training checkpoint")
    fails_cleanly(["pix2pix", "train", "--resume", "--out", gan, "--no-progress"], capsys,
                  "not a pix2pix training checkpoint")


def test_corrupt_checkpoint_on_resume(tmp_path, capsys):
    from tinygan.cli import main
    out = tmp_path / "g"
    assert main(["gan1d", "train", "--iterations", "3", "--eval-every", "3", "--out", str(out), "--no-progress",
                 "--quiet"]) == 0
    data = (out / "checkpoint.npz").read_bytes()
    (out / "checkpoint.npz").write_bytes(data[: len(data) // 2])
    fails_cleanly(["gan1d", "train", "--iterations", "6", "--out", out, "--resume", "--no-progress"], capsys,
                  "not a readable checkpoint")


def test_checkpoint_into_a_model_of_another_size(tmp_path):
    from tinygan.gans import gan1d
    from tinygan.training import CheckpointError, load_checkpoint, save_checkpoint
    d = gan1d.define_discriminator()
    save_checkpoint(tmp_path / "c.npz", {"d_model": d}, step=1)
    with pytest.raises(CheckpointError, match="weight shapes"):
        load_checkpoint(tmp_path / "c.npz", {"d_model": gan1d.define_generator(5)})
