"""Host memory policy: keep freed memory for reuse instead of handing it back to the OS.

A train step allocates the same large arrays every time (activations, their gradients, im2col
bands). glibc serves every block over its mmap threshold (128 KiB, rising at most to 32 MiB) with a
fresh ``mmap`` and unmaps it at ``free``, so each step page-faults all of that memory in again: at
batch 128 a CIFAR-10 DCGAN activation is 64 MiB, and those faults cost the step a good part of its time
(the README's measured notes). With the mmap and trim thresholds raised, glibc keeps freed blocks in
its heap and the next step reuses them without a fault. The price: the process keeps its high-water
memory between steps rather than shrinking (its peak does not grow).

Applied by ``tinygan.configure_cpu()`` (the ``tinygan`` command calls it; importing tinygan does not), on
glibc only. It is left alone when the user tuned malloc already (``MALLOC_*_`` variables or ``glibc.malloc``
tunables) or set ``TINYGAN_HOST_MEMORY=system``.
"""
import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD = -1     # mallopt parameter numbers from glibc's malloc.h
M_MMAP_THRESHOLD = -3
KEEP_BYTES = 1 << 30      # blocks up to 1 GiB come from the heap; up to 1 GiB of free heap top is kept

_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")


def user_tuned_malloc(environ=os.environ):
    """True when the environment already says how malloc should behave (then tinygan does not touch it)."""
    return any(k in environ for k in _USER_SETTINGS) or "glibc.malloc" in environ.get("GLIBC_TUNABLES", "")


def keep_freed_memory(environ=os.environ):
    """Raise glibc's mmap and trim thresholds to KEEP_BYTES; returns a line saying what the policy is."""
    if environ.get("TINYGAN_HOST_MEMORY", "").lower() == "system":
        return "system malloc (TINYGAN_HOST_MEMORY=system)"
    if user_tuned_malloc(environ):
        return "system malloc (tuned by the environment)"
    path = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(path) if path else None
        mallopt = libc.mallopt if libc is not None else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        return "system malloc (no glibc mallopt)"
    ok = mallopt(M_MMAP_THRESHOLD, ctypes.c_int(KEEP_BYTES)) and mallopt(M_TRIM_THRESHOLD, ctypes.c_int(KEEP_BYTES))
    return f"freed blocks up to {KEEP_BYTES >> 20} MiB kept for reuse" if ok else "system malloc (mallopt refused)"


POLICY = "system malloc (tinygan.configure_cpu() not called)"  # this process's policy; configure_cpu() sets it
