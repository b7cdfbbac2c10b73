"""Timing primitives: thread settings, per-call timing, the alternating median, the wait for a quiet machine,
and the GEMM rates that set the ``floor`` column (``np.matmul``, ``torch.mm``).

Imports only NumPy and ``tinygan.kernels.blas``; the rest of the package builds on it.
"""
import time

import numpy as np

from ..kernels import blas


def torch_or_none():
    """``torch`` when it is importable, else None (every bench runs without it and omits the ratio)."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def set_threads(n, use_torch=True, blas_threads=None):
    """Use ``n`` threads in Numba, NumPy's OpenBLAS (``blas_threads`` if given: an experiment knob; the comparison with
    PyTorch is only like for like with the default) and (when installed and wanted) PyTorch; returns what each
    now uses."""
    import numba
    n = max(1, int(n))
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    info = {"requested": n, "numba": numba.get_num_threads(), "blas": None, "torch": None}
    lib = blas.numpy_openblas()
    if lib is not None:
        info["blas"] = blas.set_threads(lib, blas_threads or n)
    torch = torch_or_none() if use_torch else None
    if torch is not None:
        torch.set_num_threads(n)
        info["torch"] = torch.get_num_threads()
    return info


def timed(fn, inner=1):
    """Seconds per call of ``fn`` over ``inner`` back-to-back calls."""
    t0 = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - t0) / inner


def calibrate_inner(seconds, target=0.02, cap=50):
    """Calls per sample so that one sample of a fast op lasts about ``target`` seconds."""
    if seconds <= 0:
        return cap
    return int(min(cap, max(1, target // seconds)))


def alternating_median(samplers, repeat, warmup=1, inner=None, pause=lambda: 0.0):
    """Time the frameworks in ``samplers`` (name -> ``sample(inner)`` returning seconds per call) alternately:
    a, b, a, b, ... ``repeat`` rounds after ``warmup`` rounds of one call each. ``inner`` (calls per sample, the
    same for all) defaults to :func:`calibrate_inner` of the fastest warm-up call. ``pause()`` runs before every
    call and returns the seconds it waited (see :func:`quiet_pause`).

    Returns ``({name: [seconds per call, ...]}, inner, [seconds paused before each sample])``; take medians."""
    warm = {}
    for _ in range(max(1, warmup)):
        for name, sample in samplers.items():
            pause()
            warm[name] = sample(1)
    if inner is None:
        inner = calibrate_inner(min(warm.values()))
    samples, waits = {name: [] for name in samplers}, []
    for _ in range(repeat):
        for name, sample in samplers.items():
            waits.append(pause())
            samples[name].append(sample(inner))
    return samples, inner, waits


QUIET_BUSY = 0.10     # a machine is quiet when less than this fraction of its CPU time is busy
QUIET_CAP = 1.0       # seconds: the longest wait for it before a sample


def _cpu_jiffies():
    """(busy, total) CPU time of all CPUs so far, from /proc/stat's aggregate line; None where it cannot be read."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    total = sum(fields)                 # user nice system idle iowait irq softirq steal (guest is inside user)
    return total - fields[3] - fields[4], total


def wait_quiet(max_seconds=QUIET_CAP, busy_below=QUIET_BUSY, window=0.015):
    """Wait until the machine is quiet: a ``window`` in which less than ``busy_below`` of all CPUs' time was
    busy, or ``max_seconds``. Returns the seconds waited.

    Worker threads keep spinning after a parallel region (OpenBLAS up to ~2**28 cycles, ~80 ms; OpenMP its spin
    count), and on a 2-core machine the spinning pool of the framework that just ran would slow down the one
    timed next; any other process's load counts the same."""
    t0 = time.perf_counter()
    before = _cpu_jiffies()
    while before is not None and time.perf_counter() - t0 < max_seconds:
        time.sleep(window)
        now = _cpu_jiffies()
        busy, total = now[0] - before[0], now[1] - before[1]
        if total > 0 and busy < busy_below * total:
            break
        before = now
    return time.perf_counter() - t0


def quiet_pause(gap=0.0, max_seconds=QUIET_CAP):
    """The pause before a timed sample: ``gap`` seconds of idle time at least, then :func:`wait_quiet`; returns
    the seconds ``wait_quiet`` took."""
    time.sleep(gap)
    return wait_quiet(max_seconds)


def gemm_rate(n=2048, repeat=7):
    """Float32 ``np.matmul`` rate of two n x n matrices in GFLOP/s: per-sample rates (median is the rate)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), np.float32)
    np.matmul(a, b, out=out)
    return [2.0 * n ** 3 / timed(lambda: np.matmul(a, b, out=out)) / 1e9 for _ in range(repeat)]


def torch_gemm_rate(n=2048, repeat=7):
    """The same for ``torch.mm`` (an empty list without torch)."""
    torch = torch_or_none()
    if torch is None:
        return []
    a, b = torch.randn(n, n), torch.randn(n, n)
    out = torch.empty(n, n)
    torch.mm(a, b, out=out)
    return [2.0 * n ** 3 / timed(lambda: torch.mm(a, b, out=out)) / 1e9 for _ in range(repeat)]
