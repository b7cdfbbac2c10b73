"""tinygan.distributed's NCCL path on a real GPU, with the one rank that a single device allows.

NCCL refuses two ranks on one GPU, so this builds a communicator of one: ``NCCLGroup`` over a stand-in for the MPI
group (no launcher, no mpi4py), everything else real: ``cupy.cuda.nccl``'s unique id and communicator, CuPy arrays
in device memory, the dtype codes, the bucketed gradient average, the broadcast, the synchronized BatchNorm's
all-reduces forward and backward, and the abort a timed-out rank makes. Results are checked against NumPy. With
one rank a sum is the rank's own values, so what two ranks add up is checked on a stub of NCCL
(test_distributed_units.py) and, for MPI, under ``mpiexec -n 2`` (test_distributed.py).

Marked ``gpu``: deselected by default, skipped without CuPy, a device or NCCL. On a GPU machine (a few seconds):
``python -m pytest -m gpu tests/test_distributed_gpu.py``.
"""
import contextlib
import importlib.util

import numpy as np
import pytest

import tinygan as tg
from tinygan import ops
from tinygan.distributed import batchnorm, buckets
from tinygan.distributed.nccl import NCCLGroup

pytestmark = pytest.mark.gpu


def _why_no_nccl():
    """Why NCCL cannot run here, or None. A CuPy that is installed but fails to import raises, not skips."""
    if importlib.util.find_spec("cupy") is None:
        return "needs CuPy (pip install '.[cuda12]')"
    import cupy
    if not cupy.cuda.is_available():
        return "no CUDA device"
    try:
        from cupy.cuda import nccl
    except ImportError as exc:
        return f"CuPy has no NCCL ({exc})"
    return None if getattr(nccl, "available", True) else "CuPy finds no NCCL library (pip install nvidia-nccl-cu13)"


if _why_no_nccl():
    pytestmark = [pytestmark, pytest.mark.skip(reason=_why_no_nccl())]


class OneRank:
    """What ``NCCLGroup`` takes from the MPI group, for a job of one process; it records the deadlines asked for."""

    rank, size, timeout = 0, 1, 60.0

    def __init__(self):
        self._on_abort, self.deadlines = [], []

    def broadcast_object(self, obj):
        return obj

    def deadline(self, what):
        self.deadlines.append(what)
        return contextlib.nullcontext()


@pytest.fixture
def nccl_group():
    tg.set_device("cuda")
    mpi = OneRank()
    try:
        yield NCCLGroup(mpi), mpi
    finally:
        tg.set_device("cpu")


def test_nccl_averages_gradient_buckets_and_broadcasts_device_arrays(nccl_group, monkeypatch):
    import cupy
    group, mpi = nccl_group
    assert group.comm.device_id() == cupy.cuda.runtime.getDevice()  # the rank's GPU (local rank 0: device 0)
    monkeypatch.setattr(buckets, "BUCKET_BYTES", 1024)  # two small gradients share a bucket, the big ones go alone
    rs = np.random.RandomState(0)
    host = [rs.normal(size=s).astype(np.float32) for s in [(4, 4, 3, 8), (8,), (64, 64), (5,)]]
    assert buckets.plan(host) == [[0], [1, 3], [2]]
    device = [cupy.asarray(a) for a in host]
    means = buckets.allreduce_mean(group, device)
    for mean, a, d in zip(means, host, device):
        assert isinstance(mean, cupy.ndarray) and mean.shape == a.shape and mean.flags.c_contiguous
        np.testing.assert_array_equal(cupy.asnumpy(mean), a)  # one rank: its own gradient, x 1.0
        np.testing.assert_array_equal(cupy.asnumpy(d), a)  # the inputs are left alone
    assert mpi.deadlines == ["NCCL gradient all-reduce (3 buckets)"]

    others = [cupy.asarray(rs.normal(size=7).astype(t)) for t in ("float16", "float64")]
    others += [cupy.arange(-3, 4, dtype=t) for t in ("int32", "int64")] + [cupy.arange(250, 256, dtype="uint8")]
    expected = [cupy.asnumpy(a) for a in others]
    group.allreduce_sum(others, "sums")
    group.broadcast(others, "weights")
    for a, e in zip(others, expected):
        np.testing.assert_array_equal(cupy.asnumpy(a), e)
    with pytest.raises(TypeError, match="NCCL collectives take"):
        group.allreduce_sum([cupy.zeros(2, cupy.complex64)])
    assert mpi.deadlines[1:] == ["NCCL sums", "NCCL weights"]
    mpi._on_abort[0]()  # what a rank past its deadline does before MPI_Abort: ncclCommAbort, without an error


def test_synchronized_batchnorm_reduces_its_statistics_and_gradients_through_nccl(nccl_group, monkeypatch):
    import cupy
    group, mpi = nccl_group
    monkeypatch.setattr(batchnorm, "group", lambda: group)
    rs = np.random.RandomState(1)
    x_np = (rs.normal(size=(4, 5, 5, 3)) * 2 + 1).astype(np.float32)
    gamma_np, beta_np = rs.uniform(0.5, 1.5, 3).astype(np.float32), rs.normal(size=3).astype(np.float32)
    upstream = rs.normal(size=x_np.shape).astype(np.float32)
    x, gamma, beta = (tg.Tensor(a, requires_grad=True) for a in (x_np, gamma_np, beta_np))
    y, mean, var, count = batchnorm.sync_batch_norm(x, gamma, beta, eps=1e-3)
    dx, dgamma, dbeta = tg.grad(ops.sum(y * tg.Tensor(upstream)), [x, gamma, beta])
    assert isinstance(y.data, cupy.ndarray) and isinstance(dx.data, cupy.ndarray)
    assert mpi.deadlines == ["NCCL all-reduce of BatchNorm's statistics", "NCCL all-reduce of BatchNorm's backward sums"]

    # NumPy, float64: batch statistics over (N, H, W) per channel, and the batch-norm backward
    x64, g64 = x_np.astype(np.float64).reshape(-1, 3), upstream.astype(np.float64).reshape(-1, 3)
    mu, sigma2 = x64.mean(0), x64.var(0)
    xhat = (x64 - mu) / np.sqrt(sigma2 + 1e-3)
    ref_dx = gamma_np / np.sqrt(sigma2 + 1e-3) * (g64 - g64.mean(0) - xhat * (g64 * xhat).mean(0))
    assert count == 100
    np.testing.assert_allclose(cupy.asnumpy(mean), mu, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cupy.asnumpy(var), sigma2, rtol=1e-5)
    np.testing.assert_allclose(y.numpy().reshape(-1, 3), gamma_np * xhat + beta_np, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dx.numpy().reshape(-1, 3), ref_dx, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(dgamma.numpy(), (g64 * xhat).sum(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dbeta.numpy(), g64.sum(0), rtol=1e-5, atol=1e-5)
