"""Fused Adam as a CUDA kernel: same signature and arithmetic as ``kernels.optim.adam_update``.

``adam_update(p, g, m, v, lr_t, b1, b2, eps)`` updates ``p``, ``m`` and ``v`` in place (Keras 2.2)::

    m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g*g;  p -= lr_t * m / (sqrt(v) + eps)

with ``lr_t = lr * sqrt(1 - b2**t) / (1 - b1**t)`` computed by the optimizer once per step and given as a
one-element device array of p's dtype that the kernel reads (a float is put into one): a CUDA graph that
recorded the update then reads each replay's lr_t instead of the one it was recorded with. One thread per element reads p, g, m, v once and writes p, m, v once: the CuPy reference makes
about ten launches and several temporaries per parameter. Scalars are cast to p's dtype first, as in
the CPU kernel, so float32 parameters are updated in float32 (the GPU may fuse a multiply-add, so
results can differ from the CPU kernel in the last bit).
"""
import math

from numba import cuda

from . import TPB, array_module, blocks_1d, launch, scalar


def _scalars(p, lr_t, b1, b2, eps):
    """The update's scalars in p's dtype, derived exactly as ``kernels.optim`` derives them; lr_t as an array."""
    if not hasattr(lr_t, "__len__"):
        lr_t = array_module(p).full(1, lr_t, p.dtype)
    return (lr_t, scalar(b1, p.dtype), scalar(1.0 - b1, p.dtype), scalar(b2, p.dtype),
            scalar(1.0 - b2, p.dtype), scalar(eps, p.dtype))


@cuda.jit
def _adam_kernel(p, g, m, v, lr_t_array, b1, c1, b2, c2, eps):
    lr_t = lr_t_array[0]
    for i in range(cuda.grid(1), p.size, cuda.gridsize(1)):
        gi = g[i]
        mi = b1 * m[i] + c1 * gi
        vi = b2 * v[i] + c2 * (gi * gi)
        m[i] = mi
        v[i] = vi
        p[i] -= lr_t * mi / (math.sqrt(vi) + eps)


def adam_update(p, g, m, v, lr_t, b1, b2, eps):
    """The fused update on C-contiguous device arrays of one shape and dtype; p, m, v change in place."""
    arrays = (p, g, m, v)
    if any(not a.flags.c_contiguous or a.dtype != p.dtype or a.shape != p.shape for a in arrays):
        raise ValueError("adam_update needs C-contiguous arrays of one shape and dtype, got "
                         + ", ".join(f"{tuple(a.shape)} {a.dtype}" for a in arrays))
    if p.size:
        launch(_adam_kernel, blocks_1d(p.size), TPB, *(a.reshape(-1) for a in arrays), *_scalars(p, lr_t, b1, b2, eps))
