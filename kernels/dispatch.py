"""One entry point per hot kernel: the op calls ``dispatch.im2col(...)`` and this module picks the code.

Three implementations exist for most kernels, and the *array type* picks among them (it is what the
code can physically read; ``backend.get_device()`` decides which type the arrays have in the first
place):

* NumPy array -> the Numba CPU kernel (``kernels.<topic>``); for kernels that have no CPU kernel
  (dropout_apply, the loss kernels) the NumPy reference below.
* CuPy array (anything with ``__cuda_array_interface__``) -> the Numba CUDA kernel
  (``kernels.cuda.<topic>``) when Numba can compile for this GPU, else the ``*_reference`` array code,
  which CuPy runs. The first GPU call checks once (``kernels.cuda.available()``); if CUDA kernels cannot
  be built (most often: CuPy installed from a wheel without the NVVM compiler Numba needs --
  ``pip install tinygan[cuda12]`` pulls ``numba-cuda[cu12]`` which brings it), a RuntimeWarning says so
  once and every GPU kernel uses the CuPy reference; results are the same, only slower.
* float16 or other odd dtypes, non-matching shapes (broadcast masks) -> the reference.

``TINYGAN_KERNELS`` (or :func:`set_mode` / :func:`use`) overrides the choice for debugging and tests:

* ``auto`` (default): as above.
* ``reference``: array-code references everywhere (the ground truth when a kernel is suspected).
* ``cuda``: CUDA kernels even for NumPy arrays -- only meaningful under the Numba CUDA simulator
  (``NUMBA_ENABLE_CUDASIM=1``), where NumPy arrays *are* the device arrays; that is how
  ``tests/test_cuda_kernels_sim.py`` runs the ops' wiring through the CUDA kernels without a GPU.

:func:`route` says which implementation a call would take, without running it.

API (the same signatures as ``kernels.<topic>``; every function returns new arrays except
``adam_update``, which updates p, m, v in place and returns None):

=============================================================  ========================================
``conv2d_forward(x, w, sh, sw, pads, b=None)``                 y = im2col(x) @ w2d (+ b); pads = (t, b, l, r)
``conv2d_grad_input(g, w, x_shape, sh, sw, pads, b=None)``     col2im(g2d @ w2d.T) (+ b)
``conv2d_grad_weight(x, g, kh, kw, sh, sw, pads)``             im2col(x).T @ g2d
``conv2d_forward_and_grad_weight(x, w, g, sh, sw, pads)``      both of the above from one im2col of x
``im2col(x, kh, kw, sh, sw, pad_t, pad_b, pad_l, pad_r)``      (N,H,W,C) -> (N*OH*OW, kh*kw*C)
``col2im(cols, x_shape, kh, kw, sh, sw, pads)``                its adjoint; pads = (t, b, l, r)
``centered_sums(u, v, su, sv)``                                (G,M,C) -> two float64 (G,C) sums
``channel_affine(x, a, b)``                                    x*a + b, a and b per (G,C)
``channel_affine2(g, p, x, q, r)``                             g*p + x*q + r, per (G,C)
``leaky_relu_forward(x, alpha)``                               where(x > 0, x, alpha*x)
``leaky_relu_backward(x, g, alpha)``                           where(x > 0, g, alpha*g)
``dropout_apply(x, mask, scale=1.0)``                          x * (mask * scale); fwd and bwd
``adam_update(p, g, m, v, lr_t, b1, b2, eps)``                 Keras 2 Adam, in place
``binary_crossentropy(y_true, y_pred, eps=1e-7)``              per-element Keras BCE
``binary_crossentropy_grad(y_true, y_pred, g, eps=1e-7)``      g * d(BCE)/d(y_pred)
``mean_squared_error_rows(y_true, y_pred)``                    mean((p - t)**2, axis=-1)
``mean_absolute_error_rows(y_true, y_pred)``                   mean(|p - t|, axis=-1)
=============================================================  ========================================
"""
import contextlib
import importlib
import os
import warnings

import numpy

from . import activation as _cpu_activation
from . import conv_lowering as _cpu_conv
from . import norm as _cpu_norm
from . import optim as _cpu_optim

MODES = ("auto", "reference", "cuda")
_state = {"mode": os.environ.get("TINYGAN_KERNELS", "auto").strip().lower() or "auto", "warned": False}
if _state["mode"] not in MODES:
    raise ValueError(f"TINYGAN_KERNELS={_state['mode']!r} is not understood; use one of {', '.join(MODES)}")

_FLOATS = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))


def get_mode():
    return _state["mode"]


def set_mode(mode):
    """'auto' (default), 'reference' (array code everywhere) or 'cuda' (CUDA kernels on any array; simulator)."""
    mode = str(mode).lower()
    if mode not in MODES:
        raise ValueError(f"kernel mode {mode!r} is not understood; use one of {', '.join(MODES)}")
    _state["mode"] = mode


@contextlib.contextmanager
def use(mode):
    """``with dispatch.use('reference'): ...`` runs the block with another kernel mode."""
    old = _state["mode"]
    set_mode(mode)
    try:
        yield
    finally:
        _state["mode"] = old


def _cuda_module(topic):
    return importlib.import_module(f"{__package__}.cuda.{topic}")


def _cuda_ready():
    """Whether CUDA kernels can run; warns once (and remembers) when they cannot."""
    if "cuda_ok" not in _state:
        try:
            from . import cuda as _cuda
            _state["cuda_ok"] = _cuda.available()
            _state["cuda_reason"] = _cuda.unavailable_reason()
        except Exception as exc:  # a broken numba.cuda install must not take the GPU path down with it
            _state.update(cuda_ok=False, cuda_reason=f"importing numba.cuda failed: {type(exc).__name__}: {exc}")
    if _state["cuda_ok"]:
        return True
    if not _state["warned"]:
        _state["warned"] = True
        warnings.warn("tinygan: Numba cannot build CUDA kernels here (" + str(_state["cuda_reason"]) + "); "
                      "the GPU path uses CuPy array code instead (same results, slower). Install the toolkit "
                      "Numba needs with `pip install numba-cuda[cu12]` (or [cu13]), which `pip install "
                      "tinygan[cuda12]` includes.", RuntimeWarning, stacklevel=4)
    return False


def route(*arrays):
    """'numba', 'cuda' or 'reference': which implementation a kernel call on these arrays would use.

    A kernel without a Numba CPU version uses 'reference' where this says 'numba'.
    """
    mode = _state["mode"]
    if mode == "reference":
        return "reference"
    if any(getattr(a, "dtype", None) not in _FLOATS for a in arrays):
        return "reference"
    first = arrays[0]
    if mode == "cuda":
        return "cuda"
    if isinstance(first, numpy.ndarray):
        return "numba"
    if hasattr(first, "__cuda_array_interface__"):
        return "cuda" if _cuda_ready() else "reference"
    return "reference"


# Kernel families whose CUDA version loses to CuPy's array code on a real GPU (an H200, bench/test_bench_gpu.py,
# forward + backward at Pix2Pix shapes: LeakyReLU 579 vs 230 us, BatchNorm 3.1 vs 1.5 ms): launching a Numba
# kernel costs tens of microseconds of Python (each CuPy array wrapped for Numba, the call typed), more than these
# memory-bound passes take, while CuPy launches its own kernels in a few. In 'auto' mode CuPy arrays take the
# array code for them; 'cuda' mode still runs the CUDA kernels (what the simulator tests use). im2col/col2im (2.4x
# and 1.6x faster than array code there) and Adam (3.9x) keep their CUDA kernels.
ARRAY_CODE_ON_GPU = frozenset({"leaky_relu", "norm"})


def _gpu_choice(how, family):
    return "reference" if how == "cuda" and _state["mode"] == "auto" and family in ARRAY_CODE_ON_GPU else how


def _xp(a):
    if isinstance(a, numpy.ndarray):
        return numpy
    import cupy
    return cupy


# ---- conv lowering ------------------------------------------------------------------------------

def im2col(x, kh, kw, sh, sw, pad_t, pad_b, pad_l, pad_r):
    how = route(x)
    if how == "numba":
        return _cpu_conv.im2col(numpy.ascontiguousarray(x), kh, kw, sh, sw, pad_t, pad_b, pad_l, pad_r)
    if how == "cuda":
        return _cuda_module("conv_lowering").im2col(x, kh, kw, sh, sw, pad_t, pad_b, pad_l, pad_r)
    return _cpu_conv.im2col_reference(x, kh, kw, sh, sw, pad_t, pad_b, pad_l, pad_r)


def col2im(cols, x_shape, kh, kw, sh, sw, pads):
    x_shape, pads = tuple(int(v) for v in x_shape), tuple(int(v) for v in pads)
    how = route(cols)
    if how == "numba":
        return _cpu_conv.col2im(numpy.ascontiguousarray(cols), x_shape, kh, kw, sh, sw, pads)
    if how == "cuda":
        return _cuda_module("conv_lowering").col2im(cols, x_shape, kh, kw, sh, sw, pads)
    return _cpu_conv.col2im_reference(cols, x_shape, kh, kw, sh, sw, pads)


# ---- convolution products --------------------------------------------------------------------------
# NumPy floats: the blocked CPU lowering (kernels/conv_lowering.py: bands, narrow side, Winograd, Numba + BLAS).
# Anything else: the textbook lowering (conv_lowering.*_reference) with this module's im2col / col2im, which
# pick the CUDA kernels for CuPy arrays and the array-code references otherwise. It runs on a band of samples
# at a time, so that no im2col matrix takes more than GPU_BAND_BYTES: whole, the 7x7 output conv of the MNIST
# DCGAN at batch 256 would be a 5 GiB matrix (6.5 GiB peak on an H200 before the bands, 0.7 after).
GPU_BAND_BYTES = 256 * 2**20


def sample_bands(x_shape, kh, kw, sh, sw, pads, itemsize):
    """Slices of the batch whose im2col matrices stay under GPU_BAND_BYTES (at least one sample each)."""
    n, h, w, c = x_shape
    per_sample = _cpu_conv.out_size(h, kh, sh, *pads[:2]) * _cpu_conv.out_size(w, kw, sw, *pads[2:]) \
        * kh * kw * c * itemsize
    step = max(1, GPU_BAND_BYTES // max(per_sample, 1))
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


def conv2d_forward(x, w, sh, sw, pads, b=None):
    if route(x, w) == "numba":
        return _cpu_conv.conv2d_forward(x, w, sh, sw, pads, b)
    parts = [_cpu_conv.conv2d_forward_reference(x[s], w, sh, sw, pads, b, im2col=im2col)
             for s in sample_bands(x.shape, *w.shape[:2], sh, sw, pads, x.dtype.itemsize)]
    return parts[0] if len(parts) == 1 else _xp(x).concatenate(parts)


def conv2d_grad_input(g, w, x_shape, sh, sw, pads, b=None):
    if route(g, w) == "numba":
        return _cpu_conv.conv2d_grad_input(g, w, x_shape, sh, sw, pads, b)
    parts = [_cpu_conv.conv2d_grad_input_reference(g[s], w, (s.stop - s.start, *x_shape[1:]), sh, sw, pads, b,
                                                   col2im=col2im)
             for s in sample_bands(x_shape, *w.shape[:2], sh, sw, pads, g.dtype.itemsize)]
    return parts[0] if len(parts) == 1 else _xp(g).concatenate(parts)


def conv2d_grad_weight(x, g, kh, kw, sh, sw, pads):
    if route(x, g) == "numba":
        return _cpu_conv.conv2d_grad_weight(x, g, kh, kw, sh, sw, pads)
    dw = None
    for s in sample_bands(x.shape, kh, kw, sh, sw, pads, x.dtype.itemsize):
        part = _cpu_conv.conv2d_grad_weight_reference(x[s], g[s], kh, kw, sh, sw, pads, im2col=im2col)
        dw = part if dw is None else dw + part
    return dw


def conv2d_forward_and_grad_weight(x, w, g, sh, sw, pads):
    """(conv2d_forward(x, w), conv2d_grad_weight(x, g)); on the CPU from one im2col of x."""
    if route(x, w, g) == "numba":
        return _cpu_conv.conv2d_forward_and_grad_weight(x, w, g, sh, sw, pads)
    return conv2d_forward(x, w, sh, sw, pads), conv2d_grad_weight(x, g, *w.shape[:2], sh, sw, pads)


# ---- normalisation passes -----------------------------------------------------------------------

def centered_sums(u, v, su, sv):
    how = _gpu_choice(route(u, v), "norm")
    if how == "numba":
        return _cpu_norm.centered_sums(u, v, su, sv)
    if how == "cuda":
        return _cuda_module("norm").centered_sums(u, v, su, sv)
    return _cpu_norm.centered_sums_reference(u, v, su, sv)


def channel_affine(x, a, b):
    how = _gpu_choice(route(x), "norm")
    if how == "numba":
        return _cpu_norm.channel_affine(x, a, b)
    if how == "cuda":
        return _cuda_module("norm").channel_affine(x, a, b)
    return _cpu_norm.channel_affine_reference(x, a, b)


def channel_affine2(g, p, x, q, r):
    how = _gpu_choice(route(x, g), "norm")
    if how == "numba":
        return _cpu_norm.channel_affine2(g, p, x, q, r)
    if how == "cuda":
        return _cuda_module("norm").channel_affine2(g, p, x, q, r)
    return _cpu_norm.channel_affine2_reference(g, p, x, q, r)


# ---- elementwise --------------------------------------------------------------------------------

def leaky_relu_forward(x, alpha):
    how = _gpu_choice(route(x), "leaky_relu")
    if how == "numba":
        return _cpu_activation.leaky_relu_forward(x, alpha)
    if how == "cuda":
        return _cuda_module("elementwise").leaky_relu_forward(x, alpha)
    return _cpu_activation.leaky_relu_forward_reference(x, alpha)


def leaky_relu_backward(x, g, alpha):
    how = _gpu_choice(route(x, g) if g.shape == x.shape else "reference", "leaky_relu")
    if how == "numba":
        return _cpu_activation.leaky_relu_backward(x, g, alpha)
    if how == "cuda":
        return _cuda_module("elementwise").leaky_relu_backward(x, g, alpha)
    return _cpu_activation.leaky_relu_backward_reference(x, g, alpha)


def dropout_apply_reference(x, mask, scale=1.0):
    """x * (mask * scale) in x's dtype; the mask may broadcast against x (Keras noise_shape)."""
    return x * (mask.astype(x.dtype) * x.dtype.type(scale))


def dropout_apply(x, mask, scale=1.0):
    """Inverted dropout applied with a given mask: forward ``dropout_apply(x, keep, 1/(1-rate))``,
    backward the same call on the incoming gradient. No CPU kernel: NumPy does it in one pass."""
    if mask.shape == x.shape and getattr(mask, "dtype", None) is not None and route(x) == "cuda":
        return _cuda_module("elementwise").dropout_apply(x, mask, scale)
    return dropout_apply_reference(x, mask, scale)


# ---- GEMM ---------------------------------------------------------------------------------------

def matmul(a, b):
    """``a @ b``. 2-D CuPy float matrices go through tinygan's own cuBLAS call (``kernels/cuda/gemm.py``),
    which a CUDA graph can record and CuPy's matmul cannot (it needs no Numba); everything else, and
    everything in 'reference' mode, is the array module's ``@``."""
    if not isinstance(a, numpy.ndarray) and hasattr(a, "__cuda_array_interface__") and _state["mode"] != "reference":
        from . import cublas_gemm
        out = cublas_gemm.matmul(a, b)
        if out is not None:
            return out
    return a @ b


# ---- optimizer ----------------------------------------------------------------------------------

def _adam_fusable(p, g, m, v):
    return all(a.shape == p.shape and a.dtype == p.dtype and a.flags.c_contiguous for a in (g, m, v)) \
        and p.flags.c_contiguous


def adam_update(p, g, m, v, lr_t, b1, b2, eps):
    """Keras 2 Adam in place on p, m, v (lr_t = lr * sqrt(1 - b2**t) / (1 - b1**t) from the caller)."""
    how = route(p, g, m, v) if _adam_fusable(p, g, m, v) else "reference"
    if how == "numba":
        return _cpu_optim.adam_update(p, g, m, v, lr_t, b1, b2, eps)
    if how == "cuda":
        return _cuda_module("optim").adam_update(p, g, m, v, lr_t, b1, b2, eps)
    return _cpu_optim.adam_update_reference(p, g, m, v, lr_t, b1, b2, eps)


# ---- losses -------------------------------------------------------------------------------------

def binary_crossentropy_reference(y_true, y_pred, eps=1e-7):
    """Keras 2.2 / TensorFlow: clip, back to logits z, then ``softplus(z) - z * t`` with softplus in TF's stable
    form ``max(z, 0) + log1p(exp(-|z|))``; per element, rounded step by step as ``ops.binary_crossentropy``."""
    mod, dt = _xp(y_pred), y_pred.dtype.type
    t = y_true.astype(y_pred.dtype, copy=False)
    lo = dt(eps)
    p = mod.clip(y_pred, lo, dt(1) - lo)
    z = mod.log(p / (dt(1) - p))
    return (mod.maximum(z, dt(0)) + mod.log1p(mod.exp(-mod.abs(z)))) - z * t


def binary_crossentropy_grad_reference(y_true, y_pred, g, eps=1e-7):
    """g * (p - t) / (p (1 - p)) inside [eps, 1 - eps], 0 where the clip clipped."""
    mod, dt = _xp(y_pred), y_pred.dtype.type
    t = y_true.astype(y_pred.dtype, copy=False)
    lo = dt(eps)
    hi = dt(1) - lo
    inside = (y_pred >= lo) & (y_pred <= hi)
    p = mod.where(inside, y_pred, dt(0.5))  # keeps the division finite where the result is masked anyway
    return mod.where(inside, g * (p - t) / (p * (dt(1) - p)), dt(0)).astype(y_pred.dtype, copy=False)


def mean_squared_error_rows_reference(y_true, y_pred):
    d = y_pred - y_true.astype(y_pred.dtype, copy=False)
    return (d * d).mean(axis=-1)


def mean_absolute_error_rows_reference(y_true, y_pred):
    return _xp(y_pred).abs(y_pred - y_true.astype(y_pred.dtype, copy=False)).mean(axis=-1)


def _loss_route(y_true, y_pred, *more):
    if y_true.shape != y_pred.shape or any(a.shape != y_pred.shape for a in more):
        return "reference"
    return route(y_pred, *more) if getattr(y_true, "dtype", None) is not None else "reference"


def binary_crossentropy(y_true, y_pred, eps=1e-7):
    if _loss_route(y_true, y_pred) == "cuda":
        return _cuda_module("reduce").binary_crossentropy(y_true, y_pred, eps)
    return binary_crossentropy_reference(y_true, y_pred, eps)


def binary_crossentropy_grad(y_true, y_pred, g, eps=1e-7):
    if _loss_route(y_true, y_pred, g) == "cuda":
        return _cuda_module("reduce").binary_crossentropy_grad(y_true, y_pred, g, eps)
    return binary_crossentropy_grad_reference(y_true, y_pred, g, eps)


def mean_squared_error_rows(y_true, y_pred):
    if y_pred.ndim and _loss_route(y_true, y_pred) == "cuda":
        return _cuda_module("reduce").mean_squared_error_rows(y_true, y_pred)
    return mean_squared_error_rows_reference(y_true, y_pred)


def mean_absolute_error_rows(y_true, y_pred):
    if y_pred.ndim and _loss_route(y_true, y_pred) == "cuda":
        return _cuda_module("reduce").mean_absolute_error_rows(y_true, y_pred)
    return mean_absolute_error_rows_reference(y_true, y_pred)
