"""im2col / col2im: the lowering that turns an NHWC convolution into one GEMM.

``im2col`` lays every output pixel's receptive field out as one row ordered (kh, kw, C), which
matches ``w.reshape(kh*kw*C, Cout)`` for a Keras kernel, so ``conv = im2col(x) @ w2d``.
``col2im`` is its adjoint: it adds every row back onto the pixels it was read from.
Zero padding is folded into the index arithmetic, so no padded copy of the input is made.

Each Numba kernel has a ``*_reference`` twin in plain array code (NumPy or CuPy, whichever the
argument is) that the GPU path uses and the tests compare against.
"""
import numpy
from numba import njit, prange


def out_size(n, k, s, before, after):
    """Output length of a window of size ``k`` and stride ``s`` sliding over ``n`` padded by (before, after)."""
    return (n + before + after - k) // s + 1


@njit(cache=True, parallel=True)
def im2col(x, kh, kw, sh, sw, pad_t, pad_b, pad_l, pad_r):
    """x (N, H, W, C) -> cols (N*OH*OW, kh*kw*C); taps that fall in the padding read 0."""
    n_img, h, w, c = x.shape
    oh = (h + pad_t + pad_b - kh) // sh + 1
    ow = (w + pad_l + pad_r - kw) // sw + 1
    cols = numpy.empty((n_img * oh * ow, kh * kw * c), x.dtype)
    for r in prange(n_img * oh):  # one output row of one image per iteration
        n, y = r // oh, r % oh
        for ox in range(ow):
            row = r * ow + ox
            for i in range(kh):
                iy = y * sh - pad_t + i
                for j in range(kw):
                    ix = ox * sw - pad_l + j
                    base = (i * kw + j) * c
                    if 0 <= iy < h and 0 <= ix < w:
                        for ch in range(c):
                            cols[row, base + ch] = x[n, iy, ix, ch]
                    else:
                        for ch in range(c):
                            cols[row, base + ch] = 0
    return cols


@njit(cache=True, parallel=True)
def col2im(cols, x_shape, kh, kw, sh, sw, pads):
    """cols (N*OH*OW, kh*kw*C) -> x (N, H, W, C), summing every tap onto the pixel it came from.

    Each parallel iteration owns one input row (n, iy) and gathers into it, so no two threads write
    the same pixel. Taps are added in (i, j) order, the same order as the reference.
    """
    n_img, h, w, c = x_shape
    pad_t, pad_b, pad_l, pad_r = pads
    oh = (h + pad_t + pad_b - kh) // sh + 1
    ow = (w + pad_l + pad_r - kw) // sw + 1
    x = numpy.zeros((n_img, h, w, c), cols.dtype)
    for r in prange(n_img * h):
        n, iy = r // h, r % h
        for i in range(kh):
            t = iy + pad_t - i
            if t < 0 or t % sh != 0 or t // sh >= oh:
                continue
            row0 = (n * oh + t // sh) * ow
            for j in range(kw):
                base = (i * kw + j) * c
                for ox in range(ow):
                    ix = ox * sw - pad_l + j
                    if 0 <= ix < w:
                        for ch in range(c):
                            x[n, iy, ix, ch] += cols[row0 + ox, base + ch]
    return x


def _array_module(a):
    """numpy for NumPy arrays, cupy for CuPy arrays (imported only when one is passed)."""
    if isinstance(a, numpy.ndarray):
        return numpy
    import cupy
    return cupy


def _tap_views(padded, kh, kw, sh, sw, oh, ow):
    """For each tap (i, j): the strided view of the padded image that tap reads at every output pixel."""
    for i in range(kh):
        for j in range(kw):
            yield i, j, padded[:, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]


def im2col_reference(x, kh, kw, sh, sw, pad_t, pad_b, pad_l, pad_r):
    """Array-code im2col: one strided copy per kernel tap."""
    mod = _array_module(x)
    n, h, w, c = x.shape
    oh, ow = out_size(h, kh, sh, pad_t, pad_b), out_size(w, kw, sw, pad_l, pad_r)
    padded = mod.zeros((n, h + pad_t + pad_b, w + pad_l + pad_r, c), x.dtype)
    padded[:, pad_t:pad_t + h, pad_l:pad_l + w] = x
    cols = mod.empty((n, oh, ow, kh, kw, c), x.dtype)
    for i, j, view in _tap_views(padded, kh, kw, sh, sw, oh, ow):
        cols[:, :, :, i, j] = view
    return cols.reshape(n * oh * ow, kh * kw * c)


def col2im_reference(cols, x_shape, kh, kw, sh, sw, pads):
    """Array-code col2im: one strided accumulate per kernel tap, then the padding is cropped off."""
    mod = _array_module(cols)
    n, h, w, c = x_shape
    pad_t, pad_b, pad_l, pad_r = pads
    oh, ow = out_size(h, kh, sh, pad_t, pad_b), out_size(w, kw, sw, pad_l, pad_r)
    padded = mod.zeros((n, h + pad_t + pad_b, w + pad_l + pad_r, c), cols.dtype)
    taps = cols.reshape(n, oh, ow, kh, kw, c)
    for i, j, view in _tap_views(padded, kh, kw, sh, sw, oh, ow):
        view += taps[:, :, :, i, j]
    return mod.ascontiguousarray(padded[:, pad_t:pad_t + h, pad_l:pad_l + w])
