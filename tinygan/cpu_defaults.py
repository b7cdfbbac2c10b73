"""The ``tinygan`` command's speed defaults, as one explicit call: ``tinygan.configure_cpu()``.

Importing tinygan changes nothing in the process. The command (and the benchmark's tinygan worker) calls
``configure_cpu()`` first thing, before NumPy loads; a script gets the same defaults with

    import tinygan
    tinygan.configure_cpu()     # before `import numpy` (OpenBLAS reads its setting as NumPy loads it)
    import numpy as np

A conv step alternates Numba kernels (im2col, col2im, norm passes) with OpenBLAS GEMMs, and on a machine with
few cores the two thread pools must hand the cores over quickly instead of spinning against each other. Each
default yields to the user's own setting:

* ``OMP_WAIT_POLICY=passive``: Numba's OpenMP workers sleep after each parallel kernel instead of spinning
  against the GEMM that follows. Read at the first parallel kernel.
* ``OPENBLAS_THREAD_TIMEOUT=4``: OpenBLAS's workers sleep after 2**4 cycles instead of spinning 2**28 (about
  80 ms) after every GEMM, through the im2col band that follows it. OpenBLAS reads it once, when NumPy loads
  it, so it is set only while NumPy is not loaded yet.
* Host memory (``tinygan/host_memory.py``): glibc keeps freed blocks for reuse, so a step does not page-fault
  its large arrays in again (``TINYGAN_HOST_MEMORY=system`` or any ``MALLOC_*_`` setting opts out).

The README's measured notes give the effect of each.
"""
import os
import sys

from . import host_memory

APPLIED = None  # what configure_cpu() did, once called: {"environ": {name: value set}, "host_memory": policy line}


def configure_cpu():
    """Apply the speed defaults to this process (once; later calls return the first result)."""
    global APPLIED
    if APPLIED is not None:
        return APPLIED
    set_here = {}
    if "OMP_WAIT_POLICY" not in os.environ:
        set_here["OMP_WAIT_POLICY"] = "passive"
    if "numpy" not in sys.modules and "OPENBLAS_THREAD_TIMEOUT" not in os.environ:
        set_here["OPENBLAS_THREAD_TIMEOUT"] = "4"
    os.environ.update(set_here)
    host_memory.POLICY = host_memory.keep_freed_memory()
    APPLIED = {"environ": set_here, "host_memory": host_memory.POLICY}
    return APPLIED
