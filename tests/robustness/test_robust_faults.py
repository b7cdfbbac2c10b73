"""Faults: kill -9 at random moments (the previous checkpoint always loads and --resume continues), SIGTERM saves
and resumes exactly, a full disk fails with one line and keeps the last checkpoint, a NaN loss stops the run
naming the step."""
import errno
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tinygan.cli import main
from tinygan.training import read_checkpoint, read_csv

from robust_helpers import ROOT, child_env, fails_cleanly, toy_pairs_uint8

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

LONG_GAN1D = [sys.executable, "-m", "tinygan", "gan1d", "train", "--iterations", "1000000", "--eval-every",
              "1000000", "--checkpoint-every", "2", "--no-progress", "--quiet"]


def _wait_for(predicate, timeout, proc=None):
    deadline = time.time() + timeout
    while not predicate():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the child ended early: {proc.communicate()}")
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def _step(path):
    try:
        return read_checkpoint(path)["step"]
    except Exception:
        return -1


def kill_loop(tmp_path, kills, seed=0):
    """Start gan1d (checkpoint every 2 steps), kill -9 it at a random moment once a new checkpoint is on disk, check
    the checkpoint loads, resume; ``kills`` times. Returns the steps seen after each kill."""
    rng = random.Random(seed)
    out = tmp_path / "run"
    ckpt = out / "checkpoint.npz"
    steps = []
    for k in range(kills):
        before = _step(ckpt)
        proc = subprocess.Popen(LONG_GAN1D + ["--out", str(out)] + (["--resume"] if k else []), cwd=ROOT,
                                env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            _wait_for(lambda: _step(ckpt) > before, 120, proc)
            time.sleep(rng.uniform(0, 0.3))  # in a step or in the middle of a checkpoint write
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
        step = read_checkpoint(ckpt)["step"]  # always loads
        assert step > before and step % 2 == 0
        steps.append(step)
        # a killed process leaves at most its own unfinished temporary; the next start removes it
        assert len([n for n in os.listdir(out) if ".tmp-" in n]) <= 1
    target = steps[-1] + 4
    proc = subprocess.run(LONG_GAN1D + ["--out", str(out), "--resume", "--max-steps", str(target)], cwd=ROOT,
                          env=child_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert read_checkpoint(ckpt)["step"] == target
    assert not [n for n in os.listdir(out) if ".tmp-" in n]
    rows = read_csv(out / "history.csv")
    assert [r["step"] for r in rows] == list(range(1, target + 1))  # the log matches the trajectory
    return steps


def test_kill_9_a_few_times(tmp_path):
    assert len(kill_loop(tmp_path, kills=3)) == 3


@pytest.mark.slow
def test_kill_9_twenty_times(tmp_path):
    assert len(kill_loop(tmp_path, kills=20, seed=1)) == 20


def test_sigterm_saves_and_resumes_exactly(tmp_path):
    """SIGTERM (what schedulers send) stops after the step with a checkpoint; --resume then gives the same losses
    and weights as a run that never stopped."""
    n = 300
    base = ["gan1d", "train", "--iterations", str(n), "--eval-every", str(n), "--no-progress", "--quiet"]
    assert main(base + ["--out", str(tmp_path / "a")]) == 0
    out = tmp_path / "b"
    proc = subprocess.Popen([sys.executable, "-m", "tinygan", *base[:2], "--iterations", "100000", "--eval-every",
                             "100000", "--no-progress", "--quiet", "--out", str(out)], cwd=ROOT, env=child_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(lambda: (out / "history.csv").exists(), 120, proc)
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        text, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, text
    assert "SIGTERM: finishing this step" in text and "Traceback" not in text
    stopped = read_checkpoint(out / "checkpoint.npz")["step"]
    assert 0 < stopped < n, f"stopped at {stopped}: the run must be stopped before step {n} for this test"
    assert main(base + ["--out", str(out), "--resume"]) == 0
    a, b = read_checkpoint(tmp_path / "a" / "checkpoint.npz"), read_checkpoint(out / "checkpoint.npz")
    assert a["step"] == b["step"] == n
    for name in ("d_model", "g_model"):
        for wa, wb in zip(a["models"][name]["weights"], b["models"][name]["weights"]):
            assert np.array_equal(wa, wb)
    assert read_csv(tmp_path / "a" / "history.csv") == [
        {**r, "step": r["step"]} for r in read_csv(out / "history.csv")]


def test_sigterm_stops_pix2pix_with_a_checkpoint(tmp_path):
    np.savez_compressed(tmp_path / "toy.npz", *toy_pairs_uint8())
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "tinygan", "pix2pix", "train", "--data", str(tmp_path / "toy.npz"),
                             "--out", str(out), "--ngf", "4", "--ndf", "4", "--epochs", "1000", "--log-every", "1",
                             "--no-progress", "--save-every", "1000"], cwd=ROOT, env=child_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in proc.stdout:
            if line.startswith(">2, d1["):
                proc.send_signal(signal.SIGTERM)
                break
        text, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "Interrupted at step" in text, text
    assert read_checkpoint(out / "checkpoint.npz")["step"] >= 2


# ---- a full disk ------------------------------------------------------------------------------------------------
GAN1D = ["gan1d", "train", "--eval-every", "1000", "--no-progress", "--quiet"]


def test_full_disk_simulated(tmp_path, capsys, monkeypatch):
    """The checkpoint writer fails with ENOSPC half-way (simulated: numpy.savez writes, then raises)."""
    out = tmp_path / "run"
    assert main(GAN1D + ["--iterations", "10", "--out", str(out)]) == 0
    good = (out / "checkpoint.npz").read_bytes()

    def full(f, **arrays):
        f.write(b"\0" * 1000)
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(np, "savez", full)
    capsys.readouterr()
    fails_cleanly(GAN1D + ["--iterations", "20", "--checkpoint-every", "5", "--out", out, "--resume"], capsys,
                  "the disk is full", "--resume")
    assert (out / "checkpoint.npz").read_bytes() == good and read_checkpoint(out / "checkpoint.npz")["step"] == 10
    assert not [n for n in os.listdir(out) if ".tmp-" in n]


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 512 KiB tmpfs (needs root and a kernel that lets this process mount; skipped otherwise)."""
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; test_full_disk_simulated covers the same path")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mnt)], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip()}); test_full_disk_simulated covers it")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_full_disk_real_tmpfs(tiny_tmpfs, capsys):
    out = tiny_tmpfs / "run"
    assert main(GAN1D + ["--iterations", "10", "--out", str(out)]) == 0
    with open(tiny_tmpfs / "filler", "wb", buffering=0) as f:  # fill the disk to the last byte
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    capsys.readouterr()
    fails_cleanly(GAN1D + ["--iterations", "20", "--checkpoint-every", "5", "--out", out, "--resume"], capsys,
                  "the disk is full")
    assert read_checkpoint(out / "checkpoint.npz")["step"] == 10  # the last good checkpoint
    assert not [n for n in os.listdir(out) if ".tmp-" in n]


# ---- NaN losses -------------------------------------------------------------------------------------------------
def _nan_after(model, step, calls_per_step=1):
    """Make ``model.train_on_batch`` report a NaN loss from training step ``step`` on."""
    real = model.train_on_batch
    calls = []

    def patched(*a, **k):
        calls.append(1)
        out = real(*a, **k)
        if len(calls) > (step - 1) * calls_per_step:
            return [float("nan")] + list(out[1:]) if isinstance(out, list) else float("nan")
        return out
    model.train_on_batch = patched


@pytest.mark.parametrize("on_nan", ["stop", "continue"])
def test_nan_loss_in_a_session_loop(tmp_path, capsys, on_nan):
    from tinygan import random as tg_random
    from tinygan.gans import gan1d
    tg_random.seed(1)
    d, g = gan1d.define_discriminator(), gan1d.define_generator(5)
    gan = gan1d.define_gan(g, d)
    _nan_after(gan, 7)
    res = gan1d.train(g, d, gan, 5, n_epochs=12, n_eval=1000, out_dir=str(tmp_path), checkpoint_every=5,
                      on_nan=on_nan)
    text = capsys.readouterr().out
    if on_nan == "stop":
        assert res["stopped"] == "nan" and res["step"] == 7
        assert "Stopped at step 7: the loss is not finite (g=nan)" in text and "step 5) is kept" in text
        assert read_checkpoint(tmp_path / "checkpoint.npz")["step"] == 5  # the NaN weights were not saved
    else:
        assert res["stopped"] is None and res["step"] == 12 and "not finite" not in text


def test_nan_loss_in_pix2pix(tmp_path, capsys):
    from tinygan import random as tg_random
    from tinygan.gans.pix2pix import define_models, train
    tg_random.seed(0)
    d, g, gan = define_models((32, 32, 3), ngf=4, ndf=4)
    _nan_after(d, 3, calls_per_step=2)
    src, tar = toy_pairs_uint8(4)
    data = [(x.astype(np.float32) - 127.5) / 127.5 for x in (src, tar)]
    res = train(d, g, gan, data, n_epochs=2, summary_every=0.5, out_dir=str(tmp_path), progress=False, log=print)
    text = capsys.readouterr().out
    assert res["nan_step"] == 3 and res["step"] == 2
    assert "Stopped at step 3: the loss is not finite (d1=nan)" in text and "(step 2) is kept" in text
    assert read_checkpoint(tmp_path / "checkpoint.npz")["step"] == 2


def test_nan_loss_exit_code_from_the_command(tmp_path, capsys, monkeypatch):
    from tinygan.gans import gan1d
    define = gan1d.define_gan

    def nan_gan(g, d):
        gan = define(g, d)
        _nan_after(gan, 4)
        return gan
    monkeypatch.setattr(gan1d, "define_gan", nan_gan)
    assert main(GAN1D + ["--iterations", "10", "--out", str(tmp_path / "r")]) == 3
    assert "Stopped at step 4" in capsys.readouterr().err  # said even with --quiet
    assert not (tmp_path / "r" / "checkpoint.npz").exists()
