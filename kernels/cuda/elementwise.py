"""Elementwise CUDA kernels: LeakyReLU forward/backward and dropout's mask application.

One thread per element with a grid-stride loop, computed in the input's dtype (scalars are passed as
NumPy scalars of that dtype, so float32 stays float32). Same conventions as the CPU kernels:

* ``leaky_relu_forward(x, alpha)``: x where x > 0, else alpha * x.
* ``leaky_relu_backward(x, g, alpha)``: g where x > 0, else alpha * g (slope alpha at exactly 0,
  TensorFlow's LeakyReluGrad convention, as ``kernels.activation``).
* ``dropout_apply(x, mask, scale=1)``: ``x * (mask * scale)`` for a mask of x's shape, bool/integer
  (nonzero keeps) or float (possibly pre-scaled). Inverted dropout's forward is
  ``dropout_apply(x, keep, 1/(1-rate))`` and its backward is the same call on the incoming gradient
  (the op is linear in x). The mask is drawn by ``tinygan.random`` with CuPy's generator -- only the
  application is a kernel.
"""
from numba import cuda

from . import TPB, array_module, blocks_1d, contiguous, launch, scalar


@cuda.jit
def _leaky_relu_forward_kernel(x, alpha, out):
    for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        v = x[i]
        out[i] = v if v > 0 else v * alpha


@cuda.jit
def _leaky_relu_backward_kernel(x, g, alpha, out):
    for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        out[i] = g[i] if x[i] > 0 else g[i] * alpha


@cuda.jit
def _dropout_apply_kernel(x, mask, scale, zero, out):
    # bool/integer mask: x * scale where kept, x * 0 where dropped (so NaN stays NaN and -x gives -0,
    # exactly what x * (mask * scale) gives).
    for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        out[i] = x[i] * scale if mask[i] != 0 else x[i] * zero


@cuda.jit
def _dropout_apply_float_kernel(x, mask, scale, out):
    # float mask (already in x's dtype, possibly pre-scaled): x * (mask * scale)
    for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        out[i] = x[i] * (mask[i] * scale)


def _flat_launch(kernel, out, *args):
    if out.size:
        launch(kernel, blocks_1d(out.size), TPB, *args)
    return out


def leaky_relu_forward(x, alpha):
    x = contiguous(x)
    out = array_module(x).empty_like(x)
    return _flat_launch(_leaky_relu_forward_kernel, out, x.reshape(-1), scalar(alpha, x.dtype), out.reshape(-1))


def leaky_relu_backward(x, g, alpha):
    x = contiguous(x)
    mod = array_module(x)
    g = mod.ascontiguousarray(g, dtype=x.dtype)
    if g.shape != x.shape:
        raise ValueError(f"leaky_relu_backward: g {tuple(g.shape)} and x {tuple(x.shape)} differ in shape")
    out = mod.empty_like(g)
    return _flat_launch(_leaky_relu_backward_kernel, out, x.reshape(-1), g.reshape(-1), scalar(alpha, x.dtype),
                        out.reshape(-1))


def dropout_apply(x, mask, scale=1.0):
    """``x * (mask * scale)`` for a mask of x's shape: bool/integer (nonzero keeps) or float (a float mask
    may already hold the 1/(1-rate) scale; then leave ``scale`` at 1)."""
    x = contiguous(x)
    mod = array_module(x)
    mask = mod.ascontiguousarray(mask)
    if mask.shape != x.shape:
        raise ValueError(f"dropout_apply: mask {tuple(mask.shape)} and x {tuple(x.shape)} differ in shape "
                         "(broadcast masks go through the array-code path)")
    out = mod.empty_like(x)
    if mask.dtype.kind == "f":
        mask = mask.astype(x.dtype, copy=False)
        return _flat_launch(_dropout_apply_float_kernel, out, x.reshape(-1), mask.reshape(-1),
                            scalar(scale, x.dtype), out.reshape(-1))
    if mask.dtype == bool:
        mask = mask.view("uint8")  # same bytes, a type every Numba version reads from device memory
    return _flat_launch(_dropout_apply_kernel, out, x.reshape(-1), mask.reshape(-1), scalar(scale, x.dtype),
                        scalar(0, x.dtype), out.reshape(-1))
