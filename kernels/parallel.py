"""Parallel Numba kernels that run serially when their work is small.

Starting a parallel Numba kernel wakes the sleeping OpenMP workers (``OMP_WAIT_POLICY=passive``, see
``tinygan/cpu_defaults.py``), a fixed cost whatever the size that is many times the work of a small kernel (the
README's measured notes give the numbers). A train step has hundreds of such calls on small tensors (the deep
U-Net layers, biases and BatchNorm parameters in Adam, all of the 64 px demo), so each kernel is compiled twice
and picks by the size of its work.
"""
import functools
import types

from numba import njit

# Work (about one float streamed per unit) under which the serial twin runs. Break-even points measured on 2 cores:
# LeakyReLU and the norms' affine passes 500k-1M elements, the norms' sums ~400k, Adam ~65k parameters (its
# work counts 8 per parameter), im2col ~1.2M columns (counted 1/2 each).
SERIAL_BELOW = 1 << 19


def _serial_twin(fn):
    """A copy of ``fn`` under another name, so Numba's on-disk cache keeps its serial build apart."""
    twin = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_serial", fn.__defaults__, fn.__closure__)
    twin.__qualname__ = fn.__qualname__ + "_serial"
    twin.__doc__ = fn.__doc__
    return twin


def parallel_kernel(work, fastmath=False):
    """Decorator: compile ``fn`` with ``parallel=True`` and as a serial twin; a call runs the parallel build when
    ``work(*args)`` is at least ``SERIAL_BELOW``, else the serial one.
    ``prange`` loops are plain loops in the serial build, so both compute the same values in the same order
    within each iteration. ``fastmath`` (Numba's flags, for both builds) lets a kernel's sums vectorize."""
    def wrap(fn):
        @functools.wraps(fn)
        def run(*args):
            return (run.parallel if work(*args) >= SERIAL_BELOW else run.serial)(*args)

        run.parallel = njit(parallel=True, cache=True, fastmath=fastmath)(fn)
        run.serial = njit(cache=True, fastmath=fastmath)(_serial_twin(fn))
        return run
    return wrap
