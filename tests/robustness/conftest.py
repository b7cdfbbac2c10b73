import numpy as np
import pytest

from robust_helpers import toy_pairs_uint8


@pytest.fixture
def toy_npz(tmp_path):
    path = tmp_path / "toy.npz"
    np.savez_compressed(path, *toy_pairs_uint8())
    return path


@pytest.fixture(scope="session")
def pix2pix_run(tmp_path_factory):
    """A finished two-step Pix2Pix run on 32x32 pairs (its folder: checkpoint.npz, model_*.h5, ...)."""
    from tinygan.cli import main
    folder = tmp_path_factory.mktemp("p2p")
    np.savez_compressed(folder / "toy.npz", *toy_pairs_uint8())
    out = folder / "run"
    assert main(["pix2pix", "train", "--data", str(folder / "toy.npz"), "--out", str(out), "--epochs", "1",
                 "--save-every", "1", "--max-steps", "2", "--ngf", "4", "--ndf", "4", "--no-progress",
                 "--log-every", "0"]) == 0
    return out
