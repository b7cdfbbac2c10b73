"""Synchronous data-parallel training over MPI (CPU, NumPy arrays) and NCCL (GPU, CuPy arrays).

Run any tinygan training program under an MPI launcher and it trains on all the ranks together::

    mpiexec -n 4 tinygan pix2pix train          # global batch = 4 x the per-rank batch

* every compiled model's ``train_on_batch`` averages its gradients over the ranks (bucketed all-reduce,
  :mod:`.buckets`, each bucket started during the backward as soon as its gradients are complete) before the
  optimizer step, so the weights stay identical on every rank;
* ``compile`` and the first ``train_on_batch`` of a model broadcast its weights, its layers' state and its
  optimizer's state from rank 0 (:func:`sync_model`), and the losses it returns are the averages over the ranks;
* ``tinygan.random.seed(n)`` gives rank 0 the stream of seed ``n`` (what a single process gets) and rank r > 0
  an independent stream derived from (n, r) (:mod:`.rng`); checkpoints keep every rank's stream;
* :func:`shard` gives each rank its part of a dataset, so an epoch of N ranks is 1/N of the steps;
* rank 0 alone writes checkpoints (``save_checkpoint`` is a no-op elsewhere); the CLIs point the other ranks'
  logs and samples at a temporary folder (:func:`run_folder`);
* BatchNormalization can use the statistics of the global batch (:mod:`.batchnorm`, off by default).

Without a launcher (or without mpi4py) all of this is the identity and nothing MPI is imported.

It sits beside layer 3: it imports ``tinygan.backend``, ``autograd``, ``ops`` and ``kernels`` (and mpi4py/CuPy on
use); the Keras engine (``train_on_batch``), ``tinygan.training``, the GAN commands and the tests import it.
"""
import os

import numpy

from . import buckets
from .world import DistributedError, collective_timeout, group, launched_size

__all__ = ["DistributedError", "active", "any_rank", "broadcast_object", "collective_timeout", "describe",
           "is_root", "launched_size", "mean_gradients", "mean_values", "overlapped_mean", "rank", "shard", "size",
           "sync_model"]


def rank():
    return group().rank


def size():
    return group().size


def is_root():
    return group().rank == 0


def active():
    """True when this process trains together with others."""
    return launched_size() > 1 and group().size > 1


def mean_gradients(grads):
    """Gradient arrays averaged over the ranks (the same list back when alone)."""
    return buckets.allreduce_mean(group(), grads) if active() else grads


def overlapped_mean(params):
    """What averages the gradients of ``params`` while the backward still runs, or None (alone, CuPy arrays, or
    ``TINYGAN_OVERLAP=0``): pass its ``gradient_done`` as ``grad(..., on_final=)`` and it as
    ``Optimizer.apply_gradients(..., averaging=)``, which then waits for the all-reduces instead of starting them."""
    if not active() or not params or not isinstance(params[0].data, numpy.ndarray) or not overlap_enabled():
        return None
    return buckets.BucketedMean(group(), [p.data for p in params], overlap=True)


def overlap_enabled():
    """``TINYGAN_OVERLAP=0`` starts every gradient all-reduce after the backward (same results, bit for bit)."""
    return os.environ.get("TINYGAN_OVERLAP", "1") != "0"


def mean_values(values):
    """Float32 scalars (a model's losses and metrics) averaged over the ranks."""
    if not active():
        return values
    arr = numpy.asarray(values, dtype=numpy.float64)
    group().allreduce_sum([arr], "all-reduce of the losses")
    return [numpy.float32(v / size()) for v in arr]


def any_rank(*flags):
    """Each flag, true when it is true on any rank: ranks agree to stop together (Ctrl-C, a time budget)."""
    if not active():
        return flags if len(flags) != 1 else flags[0]
    arr = numpy.asarray(flags, dtype=numpy.int32)
    group().allreduce_max(arr, "agreement to stop")
    out = tuple(bool(v) for v in arr)
    return out if len(out) != 1 else out[0]


def broadcast_object(obj):
    """Rank 0's ``obj`` on every rank (a resolved run folder, settings)."""
    return group().broadcast_object(obj) if active() else obj


def sync_model(model, once=False):
    """Broadcast rank 0's weights (trainable and not), layer state and optimizer state of ``model``, so every
    rank starts from the same point (fresh or resumed). ``compile`` calls it (a generator is then the same on
    every rank before its first ``predict``) and the first ``train_on_batch`` again with ``once=True`` (for
    weights set or loaded in between, or built by the first batch)."""
    if not active() or (once and getattr(model, "_distributed_synced", False)):
        return
    arrays = [w.data for w in model.weights]
    optimizer = getattr(model, "optimizer", None)
    slots = getattr(optimizer, "_slots", {})
    arrays += [a for name in sorted(slots) for a in slots[name]]
    arrays = [a for a in arrays if a.size]
    copies = [a if a.flags.c_contiguous else a.copy() for a in arrays]
    group().broadcast(copies, f"broadcast of {model.name}'s weights and optimizer state")
    for a, c in zip(arrays, copies):
        if c is not a:
            a[...] = c
    small = broadcast_object({"layers": model.get_state(),
                              "iterations": getattr(optimizer, "iterations", 0)})
    model.set_state(small["layers"])
    if optimizer is not None:
        optimizer.iterations = small["iterations"]
    model._distributed_synced = once


def shard(data):
    """This rank's part of ``data`` (an array, or a list/tuple of arrays sharded alike): samples
    ``rank, rank + N, rank + 2N, ...``; the whole of it when alone."""
    if isinstance(data, (list, tuple)):
        return type(data)(shard(a) for a in data)
    if not active():
        return data
    if len(data) < size():
        raise ValueError(f"cannot shard {len(data)} samples over {size()} ranks: each rank needs at least one; "
                         "use fewer ranks or more data")
    return numpy.ascontiguousarray(data[rank()::size()])


def describe(per_rank_batch):
    """The log header's line about the ranks, or None when alone."""
    if not active():
        return None
    from .. import backend as tg_backend
    g = group()
    backend = "NCCL" if tg_backend.get_device() == "cuda" else "MPI"
    return (f"distributed: {g.size} ranks ({backend}), global batch {g.size} x {per_rank_batch} = "
            f"{g.size * per_rank_batch} (each rank draws its batches from its 1/{g.size} shard of the data); "
            f"BatchNorm statistics {'synchronized' if _sync_bn_default() else 'per rank'}; "
            f"collective timeout {g.timeout:g} s")


def _sync_bn_default():
    from .batchnorm import default_synchronized
    return default_synchronized()
