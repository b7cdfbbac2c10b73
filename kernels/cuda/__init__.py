"""CUDA kernels (Numba ``@cuda.jit``) for the GPU path, one module per topic.

Each public function here takes *device arrays* -- CuPy arrays on a real GPU (Numba reads them
through ``__cuda_array_interface__``, no copy), NumPy arrays under the Numba CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``, what the tests use) -- allocates its outputs with the same array module
as its inputs, launches on the current CuPy stream and returns without synchronising.

Nothing here is imported on the CPU path: ``kernels.dispatch`` imports this package the first time a
GPU array reaches a hot kernel, then calls :func:`available` once, which compiles and runs a trivial
kernel. If that fails (no NVVM/toolkit for Numba: ``pip install numba-cuda[cu12]``), the dispatcher
warns once and uses the CuPy array-code references instead.

Which kernels are CUDA and which stay CuPy array code, and why:

=========================  ========  ==================================================================
kernel                     path      why
=========================  ========  ==================================================================
im2col / col2im            CUDA      the references loop over kh*kw taps (one strided CuPy launch and
                                     one temporary each); one gather kernel does it in one pass, and
                                     col2im as a gather over input pixels has no write races
batch/instance norm        CUDA      the three passes ``tinygan/ops/norm.py`` builds both norms from:
passes (fwd and bwd)                 ``centered_sums`` (the CuPy reference makes float64 copies of the
                                     whole activation and ~6 launches; here a two-stage deterministic
                                     per-channel reduction with float64 accumulators and no
                                     temporaries), ``channel_affine`` and ``channel_affine2`` (one
                                     fused pass each instead of 2-4 launches and temporaries)
leaky_relu fwd/bwd         CUDA      one pass instead of where/multiply/compare temporaries
dropout apply fwd/bwd      CUDA      one fused multiply by mask*scale (the mask itself is drawn with
                                     CuPy's generator by ``tinygan.random``; drawing stays CuPy)
Adam update                CUDA      in place, one pass over p, m, v, g instead of ~10 CuPy launches
                                     and their temporaries per parameter
BCE (Keras clip) fwd/bwd   CUDA      clip, logit and the stable log-sigmoid form fused per element
MSE / MAE row means        CUDA      one pass over (rows, last axis) with no (y_pred - y_true)
                                     temporary; forward only (the backward is plain broadcasting)
GEMM (conv, dense)         CuPy      ``xp.matmul`` goes to cuBLAS; a hand kernel would be slower
sums, means, elementwise   CuPy      CuPy's own kernels are already single-launch and fused enough
max-pool, upsampling,      CuPy      array code on strided views; not hot in the book's GANs
embedding, softmax
random draws               CuPy      ``cupy.random``; a seed reproduces runs per device, not across devices
=========================  ========  ==================================================================
"""
import math

import numpy

if not hasattr(numpy, "row_stack"):
    # numba-cuda (0.2x with Numba 0.68, as on the device image this was first run on) still looks up
    # numpy.row_stack, which NumPy 2.4 removed, when it compiles its first kernel; row_stack was vstack.
    numpy.row_stack = numpy.vstack

from numba import cuda  # noqa: E402  after the alias above
from numba.core import config as _numba_config

SIMULATOR = bool(_numba_config.ENABLE_CUDASIM)

# Threads per block for 1-D elementwise launches. The simulator runs each thread as a Python thread,
# so it gets small blocks to stay fast; a real GPU gets 256.
TPB = 32 if SIMULATOR else 256
# Tile of the per-channel reductions: TILE_C channels across threadIdx.x (coalesced reads of NHWC
# rows), TILE_R rows across threadIdx.y.
TILE_C = 8 if SIMULATOR else 32
TILE_R = 4 if SIMULATOR else 8
MAX_BLOCKS = 4 if SIMULATOR else 65535  # 1-D kernels use grid-stride loops beyond this
# Stage-1 row groups of a per-channel reduction: 1024 fills an H200's 132 multiprocessors at 64 channels
# (tests/test_gpu_launch.py checks every book shape).
MAX_ROW_GROUPS = 3 if SIMULATOR else 1024

_probe = {}


def array_module(a):
    """numpy for NumPy arrays (the simulator), cupy for CuPy arrays."""
    if isinstance(a, numpy.ndarray):
        return numpy
    import cupy
    return cupy


def contiguous(a):
    """``a`` as a C-contiguous array of its own module (no copy when it already is)."""
    return array_module(a).ascontiguousarray(a)


def scalar(value, dtype):
    """A Python number as a NumPy scalar of ``dtype``, so float32 kernels do float32 arithmetic."""
    return numpy.dtype(dtype).type(value)


def blocks_1d(n, tpb=None):
    """Blocks for a grid-stride 1-D launch over ``n`` items."""
    tpb = tpb or TPB
    return max(1, min(MAX_BLOCKS, math.ceil(n / tpb)))


def row_groups(m, tile_r=None):
    """How many row groups stage 1 of a per-channel reduction splits ``m`` rows into."""
    tile_r = tile_r or TILE_R
    # Aim for ~16 rows per thread so each thread does some work before the shared-memory tree.
    return max(1, min(MAX_ROW_GROUPS, math.ceil(m / (tile_r * 16))))


def device_args(*arrays):
    """The arrays as Numba sees them: on a real GPU, CuPy arrays wrapped without the stream sync that a
    plain kernel argument would do (we launch on CuPy's stream instead); under the simulator, unchanged."""
    if SIMULATOR:
        return arrays
    return tuple(cuda.as_cuda_array(a, sync=False) if hasattr(a, "__cuda_array_interface__") else a
                 for a in arrays)


_streams = {}


def stream():
    """The Numba stream to launch on: CuPy's current stream (0, the legacy default stream, when CuPy
    uses its null stream, which is what Numba's default launch uses too)."""
    if SIMULATOR:
        return 0
    try:
        import cupy
    except ImportError:
        return 0
    ptr = cupy.cuda.get_current_stream().ptr
    if not ptr:
        return 0
    s = _streams.get(ptr)
    if s is None:
        s = _streams[ptr] = cuda.external_stream(ptr)
    return s


def launch(kernel, grid, block, *args):
    """``kernel[grid, block, stream](*args)`` with arrays wrapped by :func:`device_args`."""
    kernel[grid, block, stream()](*device_args(*args))


@cuda.jit
def _probe_kernel(a):
    i = cuda.grid(1)
    if i < a.size:
        a[i] = i * 2


def available():
    """True when Numba can compile and run a CUDA kernel here (cached). Never raises."""
    if "ok" not in _probe:
        try:
            if not SIMULATOR and not cuda.is_available():
                raise RuntimeError("numba.cuda.is_available() is False")
            mod = numpy
            if not SIMULATOR:
                import cupy as mod
            a = mod.zeros(4, numpy.int32)
            launch(_probe_kernel, 1, 32, a)
            ok = [int(v) for v in (a if SIMULATOR else a.get())] == [0, 2, 4, 6]
            _probe.update(ok=ok, reason=None if ok else "probe kernel gave wrong values")
        except Exception as exc:  # NVVM missing, driver too old, no device...: fall back, say why
            _probe.update(ok=False, reason=f"{type(exc).__name__}: {exc}")
    return _probe["ok"]


def unavailable_reason():
    available()
    return _probe.get("reason")
