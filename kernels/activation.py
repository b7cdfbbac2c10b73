"""LeakyReLU as parallel elementwise Numba kernels, computed in the input's dtype, with NumPy references.

The gradient at exactly 0 is ``alpha`` (TensorFlow's LeakyReluGrad convention: slope 1 only where x > 0).
"""
import numpy as np
from numba import prange

from .parallel import parallel_kernel


@parallel_kernel(work=lambda x, alpha, out: x.size)
def _leaky_relu_forward(x, alpha, out):
    for i in prange(x.size):
        v = x[i]
        out[i] = v if v > 0 else v * alpha


@parallel_kernel(work=lambda x, g, alpha, out: x.size)
def _leaky_relu_backward(x, g, alpha, out):
    for i in prange(x.size):
        out[i] = g[i] if x[i] > 0 else g[i] * alpha


def leaky_relu_forward(x, alpha):
    """``x`` where x > 0, else ``alpha * x``; same shape and dtype as x."""
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    _leaky_relu_forward(x.reshape(-1), x.dtype.type(alpha), out.reshape(-1))
    return out


def leaky_relu_backward(x, g, alpha):
    """The input gradient: ``g`` where x > 0, else ``alpha * g``."""
    x, g = np.ascontiguousarray(x), np.ascontiguousarray(g, dtype=x.dtype)
    out = np.empty_like(g)
    _leaky_relu_backward(x.reshape(-1), g.reshape(-1), x.dtype.type(alpha), out.reshape(-1))
    return out


def leaky_relu_forward_reference(x, alpha):
    return np.where(x > 0, x, x * x.dtype.type(alpha))


def leaky_relu_backward_reference(x, g, alpha):
    return np.where(x > 0, g, g * x.dtype.type(alpha)).astype(x.dtype, copy=False)
