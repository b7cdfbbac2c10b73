"""The passes batch and instance normalisation are made of, as Numba kernels with NumPy references.

Both norms see their input as ``(G, M, C)``: G groups with statistics of their own (1 for batch
norm, one per sample for instance norm), M positions reduced over, C channels. A forward is then one
reduction pass (``centered_sums`` for the moments) and one fused pass (``channel_affine``); a
backward is one reduction pass (``centered_sums`` again, for sum(g) and sum(g * (x - mean))) and one
fused pass for dx (``channel_affine2``, since dx is linear in g and x with per-channel coefficients).
The per-channel coefficients in between live in ``tinygan/ops/norm.py``.

References use only array methods and NumPy functions that CuPy also dispatches, so they are the
CUDA path too.
"""
import numpy as np
from numba import prange

from .parallel import parallel_kernel


def _blocks(m):
    """How many chunks each group's M rows are split into for the parallel reduction. It depends on
    M alone, so the rounding of the sums does not change with the thread count."""
    return max(1, min(64, m // 1024))


@parallel_kernel(work=lambda u, *_: u.size)
def _centered_sums(u, v, su, sv, nblk, s1, s2):
    g_n, m, c_n = u.shape
    for t in prange(g_n * nblk):
        gi, b = t // nblk, t % nblk
        for i in range(b * m // nblk, (b + 1) * m // nblk):
            for c in range(c_n):
                du = u[gi, i, c] - su[gi, c]
                s1[gi, b, c] += du
                s2[gi, b, c] += du * (v[gi, i, c] - sv[gi, c])


def centered_sums(u, v, su, sv):
    """Per (group, channel) over M: ``sum(u - su)`` and ``sum((u - su) * (v - sv))``, in float64.

    ``su``/``sv`` are (G, C). With u = v = x and su = sv = a sample of x this gives the moments in one
    pass without the cancellation of sum(x**2) - sum(x)**2; with u = g, su = 0, v = x, sv = mean it
    gives the two sums a norm's backward needs.
    """
    u, v = np.ascontiguousarray(u), np.ascontiguousarray(v)
    nblk = _blocks(u.shape[1])
    s1 = np.zeros((u.shape[0], nblk, u.shape[2]))
    s2 = np.zeros_like(s1)
    _centered_sums(u, v, np.ascontiguousarray(su, np.float64), np.ascontiguousarray(sv, np.float64), nblk, s1, s2)
    return s1.sum(axis=1), s2.sum(axis=1)


def centered_sums_reference(u, v, su, sv):
    du = u.astype(np.float64) - su[:, None, :]
    return du.sum(axis=1), (du * (v - sv[:, None, :])).sum(axis=1)


@parallel_kernel(work=lambda x, *_: x.size)
def _channel_affine(x, a, b, out):
    g_n, m, c_n = x.shape
    for t in prange(g_n * m):
        gi, i = t // m, t % m
        for c in range(c_n):
            out[gi, i, c] = x[gi, i, c] * a[gi, c] + b[gi, c]


def channel_affine(x, a, b):
    """``x * a + b`` with a, b per (group, channel), in x's dtype: the fused normalise pass."""
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    _channel_affine(x, _coef(a, x), _coef(b, x), out)
    return out


def channel_affine_reference(x, a, b):
    return x * _coef(a, x)[:, None, :] + _coef(b, x)[:, None, :]


@parallel_kernel(work=lambda g, *_: g.size)
def _channel_affine2(g, p, x, q, r, out):
    g_n, m, c_n = x.shape
    for t in prange(g_n * m):
        gi, i = t // m, t % m
        for c in range(c_n):
            out[gi, i, c] = g[gi, i, c] * p[gi, c] + x[gi, i, c] * q[gi, c] + r[gi, c]


def channel_affine2(g, p, x, q, r):
    """``g * p + x * q + r`` with p, q, r per (group, channel), in x's dtype: the fused dx pass."""
    g, x = np.ascontiguousarray(g), np.ascontiguousarray(x)
    out = np.empty_like(x)
    _channel_affine2(g, _coef(p, x), x, _coef(q, x), _coef(r, x), out)
    return out


def channel_affine2_reference(g, p, x, q, r):
    return g * _coef(p, x)[:, None, :] + x * _coef(q, x)[:, None, :] + _coef(r, x)[:, None, :]


def _coef(a, x):
    """A (G, C) coefficient in x's dtype, so float32 data is computed in float32."""
    return a.astype(x.dtype, copy=False)
