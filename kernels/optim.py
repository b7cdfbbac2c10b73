"""Fused Adam parameter update: one pass over memory instead of the seven temporaries NumPy makes.

``adam_update`` (Numba, parallel over elements) and ``adam_update_reference`` (NumPy, also runs on
CuPy arrays) both do Keras 2.2's update in place, in the parameter's dtype::

    m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g*g;  p -= lr_t * m / (sqrt(v) + eps)

Every scalar is first cast to the parameter's dtype and both versions apply the operations in the
same order, so for float32 they agree bit for bit.
"""
import numba
import numpy

from .parallel import parallel_kernel


def _scalars(p, lr_t, b1, b2, eps):
    """The update's scalars in ``p``'s dtype (so float32 arithmetic stays float32 in both versions)."""
    t = p.dtype.type
    lr_t = lr_t if hasattr(lr_t, "__len__") else t(lr_t)  # the GPU path's one-element device array stays one
    return lr_t, t(b1), t(1.0 - b1), t(b2), t(1.0 - b2), t(eps)


def adam_update_reference(p, g, m, v, lr_t, b1, b2, eps):
    """The update with array operations; ``p``, ``m`` and ``v`` are changed in place."""
    lr_t, b1, c1, b2, c2, eps = _scalars(p, lr_t, b1, b2, eps)
    m *= b1
    m += c1 * g
    v *= b2
    v += c2 * (g * g)
    p -= lr_t * m / (v ** 0.5 + eps)


@parallel_kernel(work=lambda p, *_: 8 * p.size)  # four streams and a sqrt and a division per element
def _adam_flat(p, g, m, v, lr_t, b1, c1, b2, c2, eps):
    for i in numba.prange(p.size):
        gi = g[i]
        mi = b1 * m[i] + c1 * gi
        vi = b2 * v[i] + c2 * (gi * gi)
        m[i] = mi
        v[i] = vi
        p[i] -= lr_t * mi / (numpy.sqrt(vi) + eps)


def adam_update(p, g, m, v, lr_t, b1, b2, eps):
    """The fused update on C-contiguous NumPy arrays of one dtype (the optimizer's CPU path)."""
    arrays = (p, g, m, v)
    if any(not a.flags.c_contiguous or a.dtype != p.dtype or a.shape != p.shape for a in arrays):
        raise ValueError("adam_update needs C-contiguous arrays of one shape and dtype, got "
                         + ", ".join(f"{a.shape} {a.dtype}" for a in arrays))
    _adam_flat(*(a.reshape(-1) for a in arrays), *_scalars(p, lr_t, b1, b2, eps))
