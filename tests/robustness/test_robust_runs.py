"""Run folders: every training command refuses to overwrite a run without --overwrite, refuses --resume without
a run, refuses an --out that is a file; --overwrite leaves nothing of the old run; stale temporaries go; data
paths are stored absolute and --data/--dataset may point at moved data on resume (same shape only)."""
import os
import shutil
import time

import numpy as np
import pytest

from tinygan.cli import main
from tinygan.training import checkpoint_extra, read_checkpoint

from robust_helpers import PIX2PIX_SMALL, fails_cleanly, toy_pairs_uint8

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

GAN1D = ["gan1d", "train", "--iterations", "4", "--eval-every", "4", "--no-progress", "--quiet"]
DCGAN = ["dcgan", "train", "--max-steps", "2", "--batch-size", "8", "--epochs", "1", "--eval-every", "1",
         "--eval-samples", "4", "--no-progress", "--quiet"]


def snapshot(folder):
    return {n: (folder / n).read_bytes() for n in sorted(os.listdir(folder)) if (folder / n).is_file()}


@pytest.mark.parametrize("argv", [GAN1D, DCGAN], ids=["gan1d", "dcgan"])
def test_part1_existing_run_resume_and_out_file(argv, tmp_path, capsys):
    out = tmp_path / "run"
    fails_cleanly(argv + ["--out", out, "--resume"], capsys, "--resume: no checkpoint at", "leave out --resume")
    assert not out.exists()  # nothing started
    assert main(argv + ["--out", str(out)]) == 0
    capsys.readouterr()
    before = snapshot(out)
    fails_cleanly(argv + ["--out", out], capsys, "already holds a run", "--resume", "--overwrite")
    assert snapshot(out) == before  # nothing overwritten
    (tmp_path / "file").write_text("x")
    fails_cleanly(argv + ["--out", tmp_path / "file"], capsys, "is a file, not a folder")
    assert main(argv + ["--out", str(out), "--overwrite"]) == 0


def test_part1_resume_without_out_and_without_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fails_cleanly(GAN1D + ["--resume"], capsys, "no checkpoint at", "runs/gan1d")
    assert not (tmp_path / "runs").exists()


def test_pix2pix_overwrite_removes_the_old_runs_files(tmp_path, capsys, toy_npz):
    out = tmp_path / "run"
    base = ["pix2pix", "train", "--data", str(toy_npz), "--out", str(out), "--epochs", "1", "--save-every", "1",
            *PIX2PIX_SMALL]
    assert main(base + ["--max-steps", "3"]) == 0
    assert "model_000003.h5" in os.listdir(out)
    capsys.readouterr()
    assert main(base + ["--max-steps", "2", "--overwrite"]) == 0
    text = capsys.readouterr().out
    assert "model_000003.h5" not in os.listdir(out) and "model_000002.h5" in os.listdir(out)
    assert f"Generator: {out}/model_000002.h5" in text
    assert "plot_000003.png" not in os.listdir(out)


def test_stale_temporaries_are_removed_on_the_next_start(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(GAN1D + ["--out", str(out)]) == 0
    dead = 2 ** 22 + 12345  # above pid_max on most systems: no such process
    for name in (f".checkpoint.npz.tmp-{dead}", f".index.html.tmp-{dead}"):
        (out / name).write_bytes(b"x" * 1000)
    for name in (".tmp-k2j4_x9a.zip", "losses.png.tmp.png"):  # the model writer's and the loss plot's, an hour old
        (out / name).write_bytes(b"x")
        os.utime(out / name, (time.time() - 3600,) * 2)
    alive = out / f".checkpoint.npz.tmp-{os.getppid()}"  # a live writer's file is left alone
    alive.write_bytes(b"x")
    (out / ".tmp-fresh.zip").write_bytes(b"x")  # and so is a model being written right now
    capsys.readouterr()
    assert main(GAN1D[:2] + ["--iterations", "6", "--out", str(out), "--resume", "--no-progress", "--quiet"]) == 0
    assert "Removed 4 unfinished temporary file(s)" in capsys.readouterr().out
    assert sorted(n for n in os.listdir(out) if ".tmp" in n) == [alive.name, ".tmp-fresh.zip"]


def test_prepare_removes_stale_temporaries_and_writes_atomically(tmp_path, capsys):
    from PIL import Image
    folder = tmp_path / "pairs"
    folder.mkdir()
    Image.new("RGB", (16, 8), (10, 20, 30)).save(folder / "a.png")
    stale = tmp_path / f".d.npz.tmp-{2 ** 22 + 7}"
    stale.write_bytes(b"x")
    assert main(["pix2pix", "prepare", str(folder), "-o", str(tmp_path / "d.npz"), "--size", "4"]) == 0
    assert not stale.exists() and sorted(os.listdir(tmp_path)) == ["d.npz", "pairs"]


def test_pix2pix_resume_from_another_folder_and_moved_data(tmp_path, capsys, monkeypatch):
    (tmp_path / "a").mkdir()
    np.savez_compressed(tmp_path / "a" / "toy.npz", *toy_pairs_uint8())
    monkeypatch.chdir(tmp_path / "a")
    base = ["--epochs", "1", "--save-every", "1", *PIX2PIX_SMALL]
    assert main(["pix2pix", "train", "--data", "toy.npz", "--out", "run", "--max-steps", "2"] + base) == 0
    settings = checkpoint_extra("run/checkpoint.npz")[1]["settings"]
    assert settings["data"] == str(tmp_path / "a" / "toy.npz")
    # resume from another folder: the absolute path still works
    monkeypatch.chdir(tmp_path)
    assert main(["pix2pix", "train", "--out", "a/run", "--resume", "--max-steps", "3", "--no-progress"]) == 0
    # the data moved: --data points at the new place, and is what the checkpoint stores from then on
    shutil.move(str(tmp_path / "a" / "toy.npz"), str(tmp_path / "moved.npz"))
    capsys.readouterr()
    fails_cleanly(["pix2pix", "train", "--out", "a/run", "--resume", "--max-steps", "4", "--no-progress"], capsys,
                  "no such file or folder", "toy.npz")
    assert main(["pix2pix", "train", "--out", "a/run", "--resume", "--max-steps", "4", "--no-progress", "--data",
                 "moved.npz"]) == 0
    assert checkpoint_extra("a/run/checkpoint.npz")[1]["settings"]["data"] == str(tmp_path / "moved.npz")
    # data of another image size is refused, and the run is left as it was
    src, tar = toy_pairs_uint8()
    np.savez(tmp_path / "big.npz", np.tile(src, (1, 2, 2, 1)), np.tile(tar, (1, 2, 2, 1)))
    before = read_checkpoint("a/run/checkpoint.npz")["step"]
    fails_cleanly(["pix2pix", "train", "--out", "a/run", "--resume", "--max-steps", "5", "--no-progress", "--data",
                   "big.npz"], capsys, "(64, 64, 3)", "(32, 32, 3)", "--data")
    assert read_checkpoint("a/run/checkpoint.npz")["step"] == before == 4


def test_dcgan_resume_with_moved_dataset(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    x = np.random.default_rng(0).integers(0, 256, (16, 28, 28), dtype=np.uint8)
    np.savez("digits.npz", x)
    argv = DCGAN + ["--out", "r"]
    assert main(argv + ["--dataset", "digits.npz"]) == 0
    os.rename("digits.npz", "moved.npz")
    capsys.readouterr()
    fails_cleanly(argv[:2] + ["--out", "r", "--resume", "--max-steps", "3", "--no-progress"], capsys,
                  "digits.npz")
    assert main(argv[:2] + ["--out", "r", "--resume", "--max-steps", "3", "--no-progress", "--quiet", "--dataset",
                            "moved.npz"]) == 0
    np.savez("colour.npz", np.zeros((16, 32, 32, 3), np.uint8))
    fails_cleanly(argv[:2] + ["--out", "r", "--resume", "--max-steps", "4", "--dataset", "colour.npz"], capsys,
                  "mnist", "(32, 32, 3)")
