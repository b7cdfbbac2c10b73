"""tinygan.distributed without MPI: bucketing, averaging, per-rank seeds, the NCCL path on a stub of
cupy.cuda.nccl (no GPU here), and that a process without a launcher is a group of one."""
import ctypes
import sys
import types

import numpy as np
import pytest

from tinygan import distributed
from tinygan.distributed import buckets, nccl, rng


class PairGroup:
    """A stand-in for 2 ranks whose other rank holds ``other`` times this rank's values."""

    size, rank = 2, 0

    def __init__(self, other=3.0):
        self.other, self.calls = other, []

    def allreduce_sum(self, arrays, what=""):
        self.calls.append([a.size for a in arrays])
        for a in arrays:
            a *= (1 + self.other)
        return arrays


def test_alone_everything_is_the_identity(monkeypatch):
    monkeypatch.delenv("PMI_SIZE", raising=False)
    monkeypatch.delenv("OMPI_COMM_WORLD_SIZE", raising=False)
    monkeypatch.delenv("MPI_LOCALNRANKS", raising=False)
    grads = [np.ones(3)]
    assert not distributed.active() and distributed.size() == 1 and distributed.is_root()
    assert distributed.mean_gradients(grads) is grads and distributed.describe(1) is None
    assert distributed.shard([np.arange(5)])[0].tolist() == [0, 1, 2, 3, 4]
    assert distributed.any_rank(True) is True and rng.rank_seed(7) == 7


def test_small_gradients_share_buckets_and_big_ones_go_alone():
    arrays = [np.zeros(10, np.float32), np.zeros(20, np.float32), np.zeros(1000, np.float32),
              np.zeros(5, np.float64), np.zeros(75, np.float32)]
    assert buckets.plan(arrays, bucket_bytes=400) == [[0, 1], [2], [3], [4]]
    assert buckets.plan(arrays, bucket_bytes=1 << 20) == [[0, 1, 2, 4], [3]]


def test_allreduce_mean_averages_every_array_in_few_calls():
    rs = np.random.RandomState(0)
    arrays = [rs.normal(size=s).astype(np.float32) for s in [(3, 4), (7,), (2, 2, 2)]]
    group = PairGroup(other=3.0)  # the other rank: 3x these values, so the mean is 2x
    out = buckets.allreduce_mean(group, arrays)
    assert group.calls == [[12 + 7 + 8]]  # one bucket
    for a, m in zip(arrays, out):
        assert m.shape == a.shape and m.dtype == a.dtype
        np.testing.assert_allclose(m, 2 * a, rtol=1e-6)


class OverlapGroup(PairGroup):
    """PairGroup with MPI's non-blocking calls, logging when each bucket starts and when the step waits."""

    def __init__(self):
        super().__init__()
        self.log = []

    def start_allreduce_sum(self, arrays):
        self.log.append("start")
        self.allreduce_sum(arrays)
        return [object() for _ in arrays]

    def test(self, requests):
        self.log.append("test")

    def wait(self, requests, what):
        self.log.append(f"wait {len(requests)}")


def test_buckets_start_during_the_backward_and_average_bit_for_bit_as_after_it(monkeypatch):
    import tinygan as tg
    from tinygan import ops
    monkeypatch.setattr(buckets, "BUCKET_BYTES", 64)  # a few buckets for this small net
    rs = np.random.RandomState(1)
    x = tg.Tensor(rs.normal(size=(4, 3)).astype(np.float32))
    params = [tg.Tensor(rs.normal(size=s).astype(np.float32), requires_grad=True) for s in [(3, 8), (8,), (8, 2), (2,)]]
    loss = ops.sum(ops.tanh(x @ params[0] + params[1]) @ params[2] + params[3])
    group = OverlapGroup()
    mean = buckets.BucketedMean(group, [p.data for p in params], overlap=True)
    handed_in = []
    grads = tg.grad(loss, params, on_final=lambda i, g: (handed_in.append(i), mean.gradient_done(i, g)))
    group.log.append(f"backward done, {len(handed_in)} gradients handed in")
    out = mean.result([g.data for g in grads])
    assert buckets.plan([p.data for p in params]) == [[0], [1, 3], [2]]
    # w2 (alone) starts first, then b1 completes the bucket of b1 and b2, then w1; each hand-in moves MPI along
    assert group.log == ["start", "test", "start", "test", "start", "test", "backward done, 4 gradients handed in",
                         "wait 3"]
    plain = buckets.allreduce_mean(PairGroup(), [g.data for g in grads])  # all buckets after the backward
    for a, b, g in zip(out, plain, grads):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, 2 * g.data, rtol=1e-6)


def test_rank_seeds_differ_per_rank_and_rank_0_keeps_the_run_seed():
    seeds = [rng.rank_seed(1, r) for r in range(4)]
    assert seeds[0] == 1 and len(set(seeds)) == 4 and rng.rank_seed(1, 2) == seeds[2]
    assert rng.rank_seed(None, 3) is None


def test_a_rank_the_checkpoint_did_not_have_gets_a_fresh_stream(monkeypatch):
    from tinygan import random as tg_random
    tg_random.seed(4)
    saved = tg_random.get_state()
    assert rng.own_state(saved, None) is saved  # rank 0 (alone here)
    monkeypatch.setattr(rng, "group", lambda: types.SimpleNamespace(rank=1, size=2))
    monkeypatch.setattr(rng, "launched_size", lambda: 2)
    other = rng.own_state(saved, [saved])
    assert other["generator"] != saved["generator"]
    assert rng.own_state(saved, [saved, "mine"]) == "mine"


# ---- NCCL on a stub of cupy (the real thing needs GPUs) -------------------------------------------------
class DeviceArray(np.ndarray):
    """A NumPy array that shows its address the way a CuPy array does (``a.data.ptr``)."""

    @property
    def data(self):
        return types.SimpleNamespace(ptr=self.ctypes.data)


def _at(ptr, count, code):
    ctype = {1: ctypes.c_float, 2: ctypes.c_double}[code]
    return np.ctypeslib.as_array((ctype * count).from_address(ptr))


class StubCommunicator:
    """NCCL's communicator for 2 ranks whose other rank holds 3x this one's values (sum: 4x) and whose
    rank 0 holds 7s (broadcast)."""

    def __init__(self, ndev, uid, rank):
        self.args, self.aborted = (ndev, uid, rank), False

    def allReduce(self, send, recv, count, dtype, op, stream):
        assert send == recv and op == 0 and stream == 99
        _at(recv, count, dtype)[...] *= 4

    def bcast(self, buff, count, dtype, root, stream):
        assert root == 0 and stream == 99
        _at(buff, count, dtype)[...] = 7

    def abort(self):
        self.aborted = True


@pytest.fixture
def stub_cupy(monkeypatch):
    stream = types.SimpleNamespace(ptr=99, synchronize=lambda: None)
    stub_nccl = types.SimpleNamespace(NCCL_FLOAT16=6, NCCL_FLOAT32=1, NCCL_FLOAT64=2, NCCL_INT32=3, NCCL_INT64=4,
                                      NCCL_UINT8=5, NCCL_SUM=0, get_unique_id=lambda: b"uid",
                                      NcclCommunicator=StubCommunicator)
    used = []
    cuda = types.SimpleNamespace(nccl=stub_nccl, get_current_stream=lambda: stream,
                                 runtime=types.SimpleNamespace(getDeviceCount=lambda: 2),
                                 Device=lambda i: types.SimpleNamespace(use=lambda: used.append(i)))
    cupy = types.SimpleNamespace(cuda=cuda)
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    monkeypatch.setitem(sys.modules, "cupy.cuda", cuda)
    monkeypatch.setitem(sys.modules, "cupy.cuda.nccl", stub_nccl)
    monkeypatch.setenv("MPI_LOCALRANKID", "3")
    return used


class StubMPI:
    rank, size, timeout = 1, 2, 5.0

    def __init__(self):
        self._on_abort, self.deadlines = [], []

    def broadcast_object(self, obj):
        return b"uid from rank 0"

    def deadline(self, what):
        import contextlib
        self.deadlines.append(what)
        return contextlib.nullcontext()


def test_nccl_group_reduces_and_broadcasts_device_memory_in_place(stub_cupy):
    mpi = StubMPI()
    group = nccl.NCCLGroup(mpi)
    assert stub_cupy == [3 % 2]  # local rank 3 on a node of 2 GPUs
    assert group.comm.args == (2, b"uid from rank 0", 1)
    a = np.arange(6, dtype=np.float32).view(DeviceArray)
    b = np.ones((2, 3), dtype=np.float64).view(DeviceArray)
    group.allreduce_sum([a, b], "gradients")
    np.testing.assert_array_equal(a, 4 * np.arange(6)), np.testing.assert_array_equal(b, 4.0)
    group.broadcast([a], "weights")
    np.testing.assert_array_equal(a, 7)
    assert mpi.deadlines == ["NCCL gradients", "NCCL weights"]
    mpi._on_abort[0]()
    assert group.comm.aborted  # a timed-out rank aborts NCCL before MPI


def test_nccl_refuses_what_it_cannot_reduce(stub_cupy):
    group = nccl.NCCLGroup(StubMPI())
    with pytest.raises(TypeError, match="NCCL collectives take"):
        group.allreduce_sum([np.zeros(2, np.complex64).view(DeviceArray)])
    with pytest.raises(ValueError, match="contiguous"):
        group.allreduce_sum([np.zeros((4, 4), np.float32).view(DeviceArray)[:, ::2]])


def test_scaling_table_from_the_rank_jobs(monkeypatch):
    from tinygan.distributed import bench

    def fake_launch(ranks, models, quick, repeat):
        modes = {"alone": {"step_s": 1.0, "comm_s": 0.0, "comm_bytes": 0}} if ranks == 1 else {
            "during": {"step_s": 1.25, "comm_s": 0.2, "comm_bytes": 2e6},
            "after": {"step_s": 1.5, "comm_s": 0.2, "comm_bytes": 2e6}}
        out = {"ranks": ranks, "models": {name: {"params": 10, "per_rank_batch": 4, **modes} for name in models}}
        if ranks > 1:
            out.update(allreduce_s=0.064, bus_gbps=1.05, allreduce_bytes=64 << 20)
        return out

    monkeypatch.setattr(bench, "launch", fake_launch)
    _, text = bench.run(2, models=("pix2pix",), log=lambda m: None)
    assert "| pix2pix | 1 |  | 1 x 4 | 1000 ms | 0 ms | 0 | 4.0 | 1.00 |" in text
    assert "| pix2pix | 2 | during the backward | 2 x 4 | 1250 ms | 200 ms | 2 | 6.4 | 0.80 |" in text
    assert "| pix2pix | 2 | after the backward | 2 x 4 | 1500 ms | 200 ms | 2 | 5.3 | 0.67 |" in text
    assert "all-reduce of 64 MiB float32 on 2 ranks: 64.0 ms, bus bandwidth 1.05 GB/s" in text


def test_comm_clock_counts_the_all_reduces_it_wraps_once():
    from tinygan.distributed.bench import CommClock
    group = OverlapGroup()
    clock = CommClock(group)
    group.allreduce_sum([np.zeros(4, np.float32), np.zeros(2)])
    group.start_allreduce_sum([np.zeros(8, np.float32)])  # calls allreduce_sum inside: counted once
    group.wait([], "x")
    assert clock.bytes == 16 + 16 + 32 and clock.seconds >= 0 and group.calls == [[4, 2], [8]]
    assert group.log == ["start", "wait 0"]
    clock.remove()
    group.allreduce_sum([np.zeros(4, np.float32)])
    assert clock.bytes == 64 and "allreduce_sum" not in vars(group)
