"""--eval-every, --eval-samples and --features of the training commands: bad values are one clear line."""
import numpy as np
import pytest

from robust_helpers import fails_cleanly

BAD = [
    (["lsgan", "train", "--eval-every", "0"], "--eval-every", "must be at least 1"),
    (["pix2pix", "train", "--eval-every", "-2"], "--eval-every", "must be at least 1"),
    (["cyclegan", "train", "--eval-samples", "1"], "--eval-samples", "must be at least 2"),
    (["wgan", "train", "--eval-every", "5", "--features", "nonsense"], "--features",
     "must be auto, inception, digits or an existing Keras model file (MODEL.h5), got 'nonsense'"),
    (["pix2pix", "train", "--eval-every", "5", "--features", "missing.h5"], "--features", "'missing.h5': no such file"),
    (["dcgan", "train", "--features", "nonsense"], "--features", "must be auto, inception, digits"),
]


@pytest.mark.parametrize("argv,option,message", BAD, ids=[" ".join(a) for a, _, _ in BAD])
def test_bad_evaluation_option_is_refused_by_the_parser(argv, option, message, capsys):
    fails_cleanly(argv, capsys, "error: argument " + option, message)


def test_eval_every_without_held_out_pairs(tmp_path, capsys):
    data = str(tmp_path / "pairs.npz")
    src = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    np.savez_compressed(data, arr_0=src, arr_1=src)
    fails_cleanly(["pix2pix", "train", "--data", data, "--out", tmp_path / "run", "--eval-every", "2", "--ngf", "4",
                   "--ndf", "4", "--no-progress"], capsys, "--eval-every needs held-out pairs: give --val-data")


def test_a_features_file_that_is_not_a_model(tmp_path, capsys):
    bad = tmp_path / "broken.h5"
    bad.write_bytes(b"not an HDF5 file")
    fails_cleanly(["lsgan", "train", "--out", tmp_path / "run", "--max-steps", "1", "--eval-every", "1",
                   "--features", bad, "--no-progress"], capsys, "broken.h5")
