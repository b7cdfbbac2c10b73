"""Pix2Pix training (chapter 23) at a tiny size: the loop's outputs, checkpoint/resume equality, Ctrl-C, translate,
and the command line."""
import json
import os
import re

import numpy as np
import pytest
from PIL import Image

from tinygan import random as tg_random
from tinygan.gans.pix2pix import LOG_FORMAT, define_models, evaluate_l1, identity_l1, train
from tinygan.training import checkpoint_extra, read_csv

# Keras 2 warns about the book's freeze pattern (D compiled, then frozen in the composite); that is intended
pytestmark = pytest.mark.filterwarnings("ignore:Discrepancy between trainable weights")

SIZE = 32
SHAPE = (SIZE, SIZE, 3)
SMALL = dict(ngf=4, ndf=4)


def toy_pairs(n=12, seed=0):
    """A learnable toy translation: the target is the source with its colour channels reversed and darkened."""
    rng = np.random.default_rng(seed)
    coarse = rng.normal(0, 0.6, (n, SIZE // 8, SIZE // 8, 3))
    src = np.clip(coarse.repeat(8, axis=1).repeat(8, axis=2), -1, 1).astype(np.float32)  # smooth 8x8 blocks
    tar = (0.5 * src[..., ::-1] - 0.2).astype(np.float32)
    return [src, tar]


def build(seed=0):
    tg_random.seed(seed)
    return define_models(SHAPE, **SMALL)


def run(models, dataset, out_dir, **kw):
    d, g, gan = models
    opts = dict(n_epochs=2, n_batch=1, summary_every=1, out_dir=str(out_dir), progress=False, log=None)
    opts.update(kw)
    return train(d, g, gan, dataset, **opts)


def test_train_writes_the_books_outputs(tmp_path, capsys):
    dataset = toy_pairs(10)
    val = toy_pairs(4, seed=1)
    result = run(build(), dataset, tmp_path, val_dataset=val, log=print, log_every=1)
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith(">") and "d1[" in line]
    assert len(lines) == 20 and lines[0].startswith(">1, d1[") and lines[-1].startswith(">20, ")
    assert all(re.fullmatch(r">\d+, d1\[\d+\.\d{3}\] d2\[\d+\.\d{3}\] g\[\d+\.\d{3}\]", s) for s in lines)
    assert ">Saved: %s and %s" % (tmp_path / "plot_000010.png", tmp_path / "model_000010.h5") in out
    assert ">val_l1[" in out
    names = sorted(os.listdir(tmp_path))
    for name in ["plot_000010.png", "plot_000020.png", "model_000010.h5", "model_000020.h5", "losses.csv",
                 "losses.png", "checkpoint.npz"]:
        assert name in names
    rows = read_csv(tmp_path / "losses.csv")
    assert [r["step"] for r in rows] == list(range(1, 21))
    assert rows[9]["val_l1"] is not None and rows[0]["val_l1"] is None
    first = rows[0]
    # g = bce + 100 * mae, the book's weights; d losses include the 0.5 weight
    assert first["g"] == pytest.approx(first["g_bce"] + 100 * first["g_l1"], rel=1e-4)
    assert 20 < first["g"] < 200 and 0 < first["d1"] < 2
    assert result["step"] == 20 and result["n_steps"] == 20 and not result["interrupted"]
    assert checkpoint_extra(tmp_path / "checkpoint.npz")[0] == 20
    assert LOG_FORMAT % (1, 0.5, 0.25, 80.0) == ">1, d1[0.500] d2[0.250] g[80.000]"


def test_zero_discriminator_loss_warning(tmp_path, capsys):
    run(build(), toy_pairs(6), tmp_path, n_epochs=1, summary_every=0, log=print, log_every=0,
        zero_loss_window=3, zero_loss_threshold=100.0)  # a threshold every loss is below: "stuck at zero"
    out = capsys.readouterr().out
    assert out.count("re-starting the training run") == 1 and "for 3 steps (step 3)" in out


def _weights(models):
    return [w for m in models[:2] for w in m.get_weights()]


def test_resume_continues_the_same_loss_trajectory(tmp_path):
    dataset = toy_pairs(8)
    # straight: 3 epochs of 8 steps, summaries every epoch
    straight = build(0)
    res = run(straight, dataset, tmp_path / "a", n_epochs=3)
    losses_straight = [(r["d1"], r["d2"], r["g"]) for r in res["history"]]

    # 12 steps, checkpoint at 12 (mid-epoch, by max_steps), then a fresh process-like restart from other weights
    first = build(0)
    res1 = run(first, dataset, tmp_path / "b", n_epochs=3, max_steps=12)
    assert res1["step"] == 12
    second = build(123)
    res2 = run(second, dataset, tmp_path / "b", n_epochs=3, resume_from=str(tmp_path / "b" / "checkpoint.npz"))
    losses_resumed = [(r["d1"], r["d2"], r["g"]) for r in res1["history"] + res2["history"]]
    assert [r["step"] for r in res2["history"]] == list(range(13, 25))
    assert losses_resumed == losses_straight
    for a, b in zip(_weights(straight), _weights(second)):
        np.testing.assert_array_equal(a, b)
    # the CSV is the whole trajectory, once
    rows = read_csv(tmp_path / "b" / "losses.csv")
    assert [r["step"] for r in rows] == list(range(1, 25))
    assert [(r["d1"], r["d2"], r["g"]) for r in rows] == losses_straight


class StopAt:
    """Stands in for Ctrl-C: GracefulInterrupt sets .requested from the signal handler."""

    def __init__(self, step):
        self.step = step
        self.requested = False

    def __call__(self, step, row):
        if step == self.step:
            self.requested = True


def test_ctrl_c_saves_a_checkpoint_and_resume_matches(tmp_path):
    dataset = toy_pairs(6)
    straight = build(0)
    res = run(straight, dataset, tmp_path / "a", n_epochs=2, summary_every=0)
    stop = StopAt(5)
    first = build(0)
    res1 = run(first, dataset, tmp_path / "b", n_epochs=2, summary_every=0, stop=stop, callback=stop)
    assert res1["interrupted"] and res1["step"] == 5
    assert checkpoint_extra(tmp_path / "b" / "checkpoint.npz")[0] == 5
    second = build(7)
    res2 = run(second, dataset, tmp_path / "b", n_epochs=2, summary_every=0,
               resume_from=str(tmp_path / "b" / "checkpoint.npz"))
    assert [r["g"] for r in res1["history"] + res2["history"]] == [r["g"] for r in res["history"]]


def test_training_learns_the_toy_translation(tmp_path):
    dataset = toy_pairs(16)
    tg_random.seed(0)
    d, g, gan = define_models(SHAPE, ngf=8, ndf=4)
    before = evaluate_l1(g, dataset[0], dataset[1])
    run((d, g, gan), dataset, tmp_path, n_epochs=10, summary_every=0, save_models=False)
    after = evaluate_l1(g, dataset[0], dataset[1])
    assert after < 0.6 * before
    assert identity_l1(dataset[0], dataset[0]) == 0.0


def test_cli_train_translate_and_resume(tmp_path, capsys):
    from tinygan.cli import main
    src, tar = toy_pairs(8)
    to8 = lambda x: np.round((x + 1) * 127.5).astype(np.uint8)  # noqa: E731
    np.savez_compressed(tmp_path / "toy.npz", to8(src), to8(tar))
    out = tmp_path / "run"
    argv = ["pix2pix", "train", "--data", str(tmp_path / "toy.npz"), "--val-data", str(tmp_path / "toy.npz"),
            "--out", str(out), "--ngf", "4", "--ndf", "4", "--epochs", "2", "--save-every", "1", "--no-progress",
            "--log-every", "4", "--max-steps", "10"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert ">4, d1[" in text and "Validation L1 before training" in text and f"Run folder: {out}" in text
    metrics = json.load(open(out / "metrics.json"))
    assert metrics["step"] == 10 and metrics["val_l1_trained"] > 0 and metrics["val_l1_identity"] > 0
    # a second start in the same folder is refused; --resume continues to the end
    assert main(argv) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main(["pix2pix", "train", "--out", str(out), "--resume", "--max-steps", "16", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "Resumed from" in text and "at step 10" in text
    assert [r["step"] for r in read_csv(out / "losses.csv")] == list(range(1, 17))
    assert "model_000016.h5" in os.listdir(out)

    # translate: a run folder and a single image file -> generated image (no target)
    Image.fromarray(to8(src[0])).save(tmp_path / "in.png")
    Image.fromarray(to8(tar[0])).save(tmp_path / "target.png")
    res = tmp_path / "res"
    assert main(["pix2pix", "translate", str(out), str(tmp_path / "in.png"), "-o", str(res), "--seed", "1"]) == 0
    assert (res / "in_generated.png").exists() and not (res / "in_figure.png").exists()
    img = np.asarray(Image.open(res / "in_generated.png"))
    assert img.shape == (SIZE, SIZE, 3) and img.dtype == np.uint8
    # with a target: the book's Source / Generated / Expected figure and the L1 error
    assert main(["pix2pix", "translate", str(out / "model_000008.h5"), str(tmp_path / "in.png"), "--target",
                 str(tmp_path / "target.png"), "-o", str(res)]) == 0
    assert (res / "in_figure.png").exists() and "L1" in capsys.readouterr().out
    # a folder (with a broken file, reported and skipped), an npz, a checkpoint
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(to8(src[i])).resize((48, 48)).save(folder / f"p{i}.jpg")
    (folder / "bad.png").write_bytes(b"junk")
    assert main(["pix2pix", "translate", str(out / "checkpoint.npz"), str(folder), "-o", str(res)]) == 0
    text = capsys.readouterr().out
    assert "Skipped" in text and "bad.png" in text
    assert (res / "p0_generated.png").exists() and (res / "p1_generated.png").exists()
    assert main(["pix2pix", "translate", str(out), str(tmp_path / "toy.npz"), "-n", "3", "-o", str(res)]) == 0
    assert (res / "toy_00002_figure.png").exists()


@pytest.mark.parametrize("group", ["pix2pix", "cyclegan"])
def test_cli_help_explains_every_option(capsys, group):
    from tinygan.cli import main
    for cmd in ("prepare", "train", "translate"):
        with pytest.raises(SystemExit) as exc:
            main([group, cmd, "--help"])
        assert exc.value.code == 0
        text = capsys.readouterr().out
        assert "examples:" in text
        options = re.findall(r"^\s+(--[a-z0-9-]+)", text, re.M)
        assert options
        for block in re.split(r"\n(?=\s+-)", text):
            if block.strip().startswith("--") and not block.strip().startswith("--help"):
                assert len(block.split(None, 1)) > 1 and len(block) > 30, block


def test_ctrl_c_in_a_real_process_saves_and_exits(tmp_path):
    """SIGINT to `tinygan pix2pix train`: the step finishes, a checkpoint is written, the exit code is 130."""
    import signal
    import subprocess
    import sys
    import time

    src, tar = toy_pairs(8)
    to8 = lambda x: np.round((x + 1) * 127.5).astype(np.uint8)  # noqa: E731
    np.savez_compressed(tmp_path / "toy.npz", to8(src), to8(tar))
    out = tmp_path / "run"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "tinygan", "pix2pix", "train", "--data", str(tmp_path / "toy.npz"),
                             "--out", str(out), "--ngf", "4", "--ndf", "4", "--epochs", "1000", "--log-every", "1",
                             "--no-progress", "--save-every", "1000"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=root)
    lines = []
    deadline = time.time() + 120
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith(">3, d1["):
                proc.send_signal(signal.SIGINT)
                break
            assert time.time() < deadline, "".join(lines)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = "".join(lines) + rest
    assert proc.returncode == 130, text
    assert "Interrupted at step" in text and "checkpoint saved" in text
    step = checkpoint_extra(out / "checkpoint.npz")[0]
    assert step >= 3
    assert [r["step"] for r in read_csv(out / "losses.csv")] == list(range(1, step + 1))
