"""Data-parallel training under ``mpiexec -n 2`` on this machine (loopback only), against one process.

Each test launches ``tests/mpi_program.py`` through the mpich wheel's ``mpiexec`` (next to this Python); they
are skipped, with the reason, when mpi4py or mpiexec is missing (``pip install '.[mpi]'``).
"""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("mpi4py", reason="mpi4py is not installed (pip install '.[mpi]')")

PROGRAM = os.path.join(os.path.dirname(__file__), "mpi_program.py")
MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec (pip install '.[mpi]' brings mpich's)")
# one machine, processes forked locally, the launcher's control traffic on the loopback interface
LOCAL = ["-launcher", "fork", "-hosts", "localhost", "-iface", "lo"]
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "TINYGAN_COLLECTIVE_TIMEOUT": "60"}


def run(ranks, *args, env=None, timeout=120):
    """The program on ``ranks`` processes (0: alone, without a launcher); the CompletedProcess."""
    cmd = [sys.executable, PROGRAM, *map(str, args)]
    if ranks:
        cmd = [MPIEXEC, *LOCAL, "-n", str(ranks)] + cmd
    return subprocess.run(cmd, env={**ENV, **(env or {})}, capture_output=True, text=True, timeout=timeout)


def results(ranks, tmp_path, name, *args, env=None):
    out = tmp_path / f"{name}.npz"
    proc = run(ranks, args[0], out, *args[1:], env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return dict(np.load(out))


def max_difference(a, b):
    return max(float(np.abs(a[k] - b[k]).max()) for k in a if k.startswith("w") or k == "losses")


@pytest.mark.parametrize("bn", [None, "sync"])
def test_two_ranks_with_half_batches_match_one_process(tmp_path, bn):
    extra = ("--bn", bn) if bn else ()
    alone = results(0, tmp_path, "alone", "steps", "--steps", 4, *extra)
    two = results(2, tmp_path, "two", "steps", "--steps", 4, *extra)
    assert float(two["spread_at_compile"]) == 0.0  # compile gave rank 1 rank 0's initial weights
    assert max_difference(alone, two) < 2e-6  # weights of size ~0.5: float32 rounding of a different sum order


def test_all_reduces_overlapped_with_the_backward_give_the_same_bits_as_after_it(tmp_path):
    """Buckets of 64 bytes: each gradient its own all-reduce, the last layer's started before the synchronized
    BatchNorm's backward makes its own (blocking) all-reduce, and the first layer's last."""
    args = ("steps", "--steps", 3, "--bn", "sync", "--bucket-bytes", 64)
    overlapped = results(2, tmp_path, "overlapped", *args)
    after = results(2, tmp_path, "after", *args, env={"TINYGAN_OVERLAP": "0"})
    assert int(overlapped["early_buckets"]) == 3 * 5 and int(after["early_buckets"]) == 0
    for k in (k for k in after if k.startswith("w") or k == "losses"):
        np.testing.assert_array_equal(overlapped[k], after[k])


def test_per_rank_batchnorm_statistics_differ_from_one_process(tmp_path):
    """The control for the synchronized case: BatchNorm with per-rank statistics is another model."""
    alone = results(0, tmp_path, "alone", "steps", "--steps", 4, "--bn", "local")
    two = results(2, tmp_path, "two", "steps", "--steps", 4, "--bn", "local")
    assert max_difference(alone, two) > 1e-3


def test_checkpoint_of_two_ranks_resumes_on_two_exactly_and_on_one(tmp_path):
    full = results(2, tmp_path, "full", "resume", "--steps", 6, "--ckpt", tmp_path / "full_ckpt.npz")
    ckpt = tmp_path / "ckpt.npz"
    first = results(2, tmp_path, "first", "resume", "--steps", 3, "--ckpt", ckpt)
    shutil.copy(ckpt, tmp_path / "ckpt_for_one.npz")
    again = results(2, tmp_path, "again", "resume", "--steps", 3, "--ckpt", ckpt, "--resume")
    assert int(again["start"]) == 3 and float(again["spread"]) == 0.0  # every rank holds rank 0's weights
    # each rank continued its own random stream and shard: the uninterrupted run, bit for bit
    np.testing.assert_array_equal(np.concatenate([first["losses"], again["losses"]]), full["losses"])
    for k in (k for k in full if k.startswith("w")):
        np.testing.assert_array_equal(again[k], full[k])
    one = results(0, tmp_path, "one", "resume", "--steps", 3, "--ckpt", tmp_path / "ckpt_for_one.npz", "--resume")
    assert int(one["start"]) == 3 and int(one["size"]) == 1
    for k in (k for k in first if k.startswith("w")):
        np.testing.assert_array_equal(one["loaded" + k[1:]], first[k])
    assert np.isfinite(one["losses"]).all() and max_difference(one, first) > 0  # it trained on from there


def test_a_killed_rank_ends_the_job(tmp_path):
    proc = run(2, "lost", tmp_path / "x.npz", "--how", "kill", "--deadline", 30)  # mpiexec acts first
    assert proc.returncode != 0
    assert "Killed (signal 9)" in proc.stdout + proc.stderr  # mpiexec reports the lost rank and ends the rest


def test_a_hung_rank_ends_the_job_at_the_collective_deadline(tmp_path):
    """The launch's deadline (60 s) covers a slow start on a loaded machine; the 3 s one starts only once both
    ranks have trained 3 steps together, so the collective it ends is the one rank 1 never joins."""
    proc = run(2, "lost", tmp_path / "x.npz", "--how", "stop", "--deadline", 3)
    assert proc.returncode != 0
    assert "rank 0 of 2: gradient all-reduce (1 bucket) did not complete within 3 s" in proc.stderr
