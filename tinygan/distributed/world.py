"""The process group: who am I (rank), how many are we (size), and the collectives, each with a deadline.

A process belongs to a group of several when an MPI launcher started it (``mpiexec -n N``): MPICH/Hydra and
Intel MPI set ``PMI_SIZE``, Open MPI ``OMPI_COMM_WORLD_SIZE``. Only then is ``mpi4py`` imported (it is the
optional extra ``tinygan[mpi]``), so a plain ``tinygan`` run never touches MPI. ``TINYGAN_DISTRIBUTED=0``
opts out under a launcher (each rank then trains alone).

MPI's collectives wait forever for a rank that died or hangs. Every collective here runs under a deadline
(``TINYGAN_COLLECTIVE_TIMEOUT``, default 300 s, generous for a slow step on a busy machine): a watchdog thread
that sleeps while nothing is pending sees a collective past it, prints one line naming the collective and ends
the whole job with ``MPI_Abort``, so a killed or hung rank ends the others with that message instead of a hang.
The collectives themselves block (mpi4py releases the GIL), which keeps MPI progressing them: MPICH moves a
non-blocking collective only inside MPI calls, so polling one with sleeps in between would pause the transfer.
The gradient all-reduces started during the backward (:mod:`.buckets`) are moved along by a ``test`` at each
gradient the backward completes, and waited for under the same deadline.
"""
import contextlib
import os
import sys
import threading
import time

import numpy

LAUNCHER_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS")
DEFAULT_TIMEOUT_S = 300.0


class DistributedError(RuntimeError):
    """A collective failed or timed out, or the MPI extra is missing under a launcher."""


def launched_size():
    """The number of processes the launcher says it started (1 without a launcher or with the opt-out)."""
    if os.environ.get("TINYGAN_DISTRIBUTED", "1") == "0":
        return 1
    for name in LAUNCHER_SIZE_VARIABLES:
        value = os.environ.get(name)
        if value and value.isdigit():
            return int(value)
    return 1


def collective_timeout():
    """Seconds a collective may wait for the other ranks (``TINYGAN_COLLECTIVE_TIMEOUT``)."""
    value = os.environ.get("TINYGAN_COLLECTIVE_TIMEOUT")
    try:
        return float(value) if value else DEFAULT_TIMEOUT_S
    except ValueError:
        raise DistributedError(f"TINYGAN_COLLECTIVE_TIMEOUT must be a number of seconds, got {value!r}") from None


class SingleProcess:
    """The group of one: every collective is the identity."""

    rank, size = 0, 1

    def allreduce_sum(self, arrays, what="all-reduce"):
        return arrays

    def allreduce_max(self, array, what="all-reduce"):
        return array

    def broadcast(self, arrays, what="broadcast"):
        return arrays

    def broadcast_object(self, obj):
        return obj

    def allgather_object(self, obj):
        return [obj]


class MPIGroup:
    """``MPI.COMM_WORLD`` with deadline-bounded collectives on NumPy arrays (CuPy arrays go to NCCL)."""

    def __init__(self):
        try:
            from mpi4py import MPI
        except ImportError:
            raise DistributedError(
                f"this process was started by an MPI launcher with {launched_size()} ranks but mpi4py is not "
                "installed: pip install 'tinygan[mpi]' (mpi4py and the mpich wheel), or set TINYGAN_DISTRIBUTED=0 "
                "to train each rank alone") from None
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.timeout = collective_timeout()
        self._nccl = None
        self._pending = None  # (what, start time) of the collective in progress
        self._on_abort = []   # called before MPI_Abort (the NCCL communicator's abort)
        self._watchdog = None

    # ---- waiting with a deadline ------------------------------------------------------------------------
    @contextlib.contextmanager
    def deadline(self, what):
        """Run a blocking collective; the watchdog aborts the job if it is still running after the timeout."""
        if self._watchdog is None:
            self._watchdog = threading.Thread(target=self._watch, name="tinygan-collective-watchdog", daemon=True)
            self._watchdog.start()
        self._pending = (what, time.monotonic())
        try:
            yield
        finally:
            self._pending = None

    def _watch(self):
        tick = min(1.0, self.timeout / 10)
        while True:
            time.sleep(tick)
            pending = self._pending
            if pending is not None and time.monotonic() - pending[1] > self.timeout:
                self.abort(f"{pending[0]} did not complete within {self.timeout:g} s: another rank has died, hangs "
                           "or runs different code (TINYGAN_COLLECTIVE_TIMEOUT sets the limit)")

    def wait(self, requests, what):
        with self.deadline(what):
            self.MPI.Request.Waitall(requests)

    def abort(self, message):
        """Say why on stderr, then end every rank of the job (MPI_Abort): the one clean exit from a lost peer."""
        print(f"tinygan.distributed: rank {self.rank} of {self.size}: {message}; aborting all ranks.",
              file=sys.stderr, flush=True)
        for hook in self._on_abort:
            hook()
        self.comm.Abort(3)

    # ---- collectives -----------------------------------------------------------------------------------
    def _gpu(self, arrays):
        if arrays and not isinstance(arrays[0], numpy.ndarray):
            if self._nccl is None:
                from .nccl import NCCLGroup
                self._nccl = NCCLGroup(self)
            return self._nccl
        return None

    def allreduce_sum(self, arrays, what="all-reduce"):
        """Sum each contiguous array over the ranks, in place."""
        gpu = self._gpu(arrays)
        if gpu is not None:
            return gpu.allreduce_sum(arrays, what)
        self.wait(self.start_allreduce_sum(arrays), what)
        return arrays

    def start_allreduce_sum(self, arrays):
        """Start summing each contiguous NumPy array over the ranks, in place; the requests to ``wait`` for
        (the arrays must not be touched before)."""
        return [self.comm.Iallreduce(self.MPI.IN_PLACE, a, op=self.MPI.SUM) for a in arrays]

    def test(self, requests):
        """Let MPI move started collectives along (MPICH progresses them only inside MPI calls)."""
        return self.MPI.Request.Testall(requests)

    def allreduce_max(self, array, what="all-reduce"):
        request = self.comm.Iallreduce(self.MPI.IN_PLACE, array, op=self.MPI.MAX)
        self.wait([request], what)
        return array

    def broadcast(self, arrays, what="broadcast"):
        """Rank 0's values of each contiguous array, in place on every rank."""
        gpu = self._gpu(arrays)
        if gpu is not None:
            return gpu.broadcast(arrays, what)
        self.wait([self.comm.Ibcast(a, root=0) for a in arrays], what)
        return arrays

    def broadcast_object(self, obj):
        """Rank 0's picklable ``obj`` (small things: a path, settings); its size goes first, then its bytes."""
        import pickle
        data = numpy.frombuffer(pickle.dumps(obj), dtype=numpy.uint8) if self.rank == 0 else None
        n = numpy.array([0 if data is None else data.size], dtype=numpy.int64)
        self.broadcast([n], "broadcast of a setting")
        buf = data.copy() if data is not None else numpy.empty(int(n[0]), dtype=numpy.uint8)
        self.broadcast([buf], "broadcast of a setting")
        return obj if self.rank == 0 else pickle.loads(buf.tobytes())  # bytes this job's rank 0 made

    def allgather_object(self, obj):
        """Every rank's picklable ``obj``, in rank order (the per-rank RNG states of a checkpoint)."""
        import pickle
        data = numpy.frombuffer(pickle.dumps(obj), dtype=numpy.uint8)
        sizes = numpy.zeros(self.size, dtype=numpy.int64)
        sizes[self.rank] = data.size
        self.allreduce_sum([sizes], "gather of the RNG states")
        out = numpy.zeros(int(sizes.sum()), dtype=numpy.uint8)
        start = int(sizes[:self.rank].sum())
        out[start:start + data.size] = data
        self.allreduce_sum([out], "gather of the RNG states")
        bounds = numpy.concatenate([[0], numpy.cumsum(sizes)])
        return [pickle.loads(out[bounds[i]:bounds[i + 1]].tobytes()) for i in range(self.size)]


_group = None


def group():
    """The process group of this process (made once: MPI is initialised on first use under a launcher)."""
    global _group
    if _group is None:
        _group = MPIGroup() if launched_size() > 1 else SingleProcess()
    return _group
