"""im2col / col2im: the lowering that turns an NHWC convolution into one GEMM.

``im2col`` lays every output pixel's receptive field out as one row ordered (kh, kw, C), which
matches ``w.reshape(kh*kw*C, Cout)`` for a Keras kernel, so ``conv = im2col(x) @ w2d``.
``col2im`` is its adjoint: it adds every row back onto the pixels it was read from.
Zero padding is folded into the index arithmetic, so no padded copy of the input is made.

Each Numba kernel has a ``*_reference`` twin in plain array code (NumPy or CuPy, whichever the
argument is) that the GPU path uses and the tests compare against.
"""
import threading

import numpy
from numba import prange

from . import winograd
from .parallel import parallel_kernel


def out_size(n, k, s, before, after):
    """Output length of a window of size ``k`` and stride ``s`` sliding over ``n`` padded by (before, after)."""
    return (n + before + after - k) // s + 1


def _lowering_work(image, kh, kw, sh, sw):
    """parallel_kernel work of im2col/col2im: the whole product's columns (about kh*kw/(sh*sw) per element of the
    full image, counted 1/2 each), not the band's, so that every band of one product runs alike."""
    return image.size * kh * kw // (2 * sh * sw)


@parallel_kernel(work=lambda x, kh, kw, sh, sw, *_: _lowering_work(x, kh, kw, sh, sw))
def _im2col_rows(x, kh, kw, sh, sw, pad_t, pad_l, oh, ow, r0, r1, cols):
    """Output rows r0..r1 of the N*OH output rows (r = n*OH + oy) of im2col(x), into ``cols``
    ((r1 - r0)*OW, kh*kw*C); taps that fall in the padding read 0."""
    _, h, w, c = x.shape
    for rr in prange(r1 - r0):  # one output row of one image per iteration
        r = r0 + rr
        n, y = r // oh, r % oh
        for ox in range(ow):
            row = rr * ow + ox
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


def im2col(x, kh, kw, sh, sw, pad_t, pad_b, pad_l, pad_r):
    """x (N, H, W, C) -> cols (N*OH*OW, kh*kw*C); taps that fall in the padding read 0."""
    x = numpy.ascontiguousarray(x)
    n_img, h, w, c = x.shape
    oh, ow = out_size(h, kh, sh, pad_t, pad_b), out_size(w, kw, sw, pad_l, pad_r)
    cols = numpy.empty((n_img * oh * ow, kh * kw * c), x.dtype)
    _im2col_rows(x, kh, kw, sh, sw, pad_t, pad_l, oh, ow, 0, n_img * oh, cols)
    return cols


@parallel_kernel(work=lambda cols, kh, kw, sh, sw, *args: _lowering_work(args[-1], kh, kw, sh, sw))
def _col2im_rows(cols, kh, kw, sh, sw, pad_t, pad_l, oh, ow, r0, r1, x):
    """Add the rows of output rows r0..r1 (``cols`` holds exactly those, as im2col lays them out) onto
    the pixels of ``x`` (N, H, W, C) they were read from.

    Each parallel iteration owns one input row (n, iy) and gathers into it, so no two threads write
    the same pixel. Taps are added in (i, j) order, the same order as the reference.
    """
    _, h, w, c = x.shape
    n0, n1 = r0 // oh, (r1 - 1) // oh + 1  # the images these output rows belong to
    for q in prange((n1 - n0) * h):
        n, iy = n0 + q // h, q % h
        for i in range(kh):
            t = iy + pad_t - i
            if t < 0 or t % sh != 0 or t // sh >= oh:
                continue
            r = n * oh + t // sh
            if r < r0 or r >= r1:
                continue
            row0 = (r - r0) * ow
            for j in range(kw):
                base = (i * kw + j) * c
                for ox in range(ow):
                    ix = ox * sw - pad_l + j
                    if 0 <= ix < w:
                        for ch in range(c):
                            x[n, iy, ix, ch] += cols[row0 + ox, base + ch]


def col2im(cols, x_shape, kh, kw, sh, sw, pads):
    """cols (N*OH*OW, kh*kw*C) -> x (N, H, W, C), summing every tap onto the pixel it came from."""
    n_img, h, w, c = x_shape
    pad_t, pad_b, pad_l, pad_r = pads
    oh, ow = out_size(h, kh, sh, pad_t, pad_b), out_size(w, kw, sw, pad_l, pad_r)
    x = numpy.zeros((n_img, h, w, c), cols.dtype)
    _col2im_rows(numpy.ascontiguousarray(cols), kh, kw, sh, sw, pad_t, pad_l, oh, ow, 0, n_img * oh, x)
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


# ---- the textbook convolution: one im2col (or col2im) and one GEMM -----------------------------------
#
# The readable path, and the reference of the blocked CPU products below: each whole product lowered at once.
# kernels/dispatch.py runs these for CuPy arrays (passing its own im2col/col2im, which pick the CUDA kernels)
# and in the 'reference' kernel mode; a reader can step through them with NumPy arrays as they are.

def _matmul(a, b):
    """``a @ b``; CuPy matrices go through ``kernels/cublas_gemm.py``, whose cuBLAS call a CUDA graph can record."""
    if isinstance(a, numpy.ndarray):
        return a @ b
    from .dispatch import matmul
    return matmul(a, b)


def conv2d_forward_reference(x, w, sh, sw, pads, b=None, im2col=im2col_reference):
    """y (N, OH, OW, Cout) = im2col(x) @ w.reshape(kh*kw*Cin, Cout) (+ b): every output pixel's receptive field
    is one row of im2col(x), so the convolution is a single GEMM over all output pixels."""
    n, h, wd, _ = x.shape
    kh, kw, _, cout = w.shape
    oh, ow = out_size(h, kh, sh, *pads[:2]), out_size(wd, kw, sw, *pads[2:])
    y = _matmul(im2col(x, kh, kw, sh, sw, *pads), w.reshape(-1, cout)).reshape(n, oh, ow, cout)
    if b is not None:
        y += b
    return y


def conv2d_grad_input_reference(g, w, x_shape, sh, sw, pads, b=None, col2im=col2im_reference):
    """dx (x_shape) = col2im(g2d @ w2d.T) (+ b): the adjoint of the forward in x, which is also
    conv_transpose2d's forward. Each row of g2d @ w2d.T is one pixel's receptive field of gradient, and col2im
    adds it back onto the pixels it was read from."""
    kh, kw, _, cout = w.shape
    x = col2im(_matmul(g.reshape(-1, cout), w.reshape(-1, cout).T), x_shape, kh, kw, sh, sw, pads)
    if b is not None:
        x += b
    return x


def conv2d_grad_weight_reference(x, g, kh, kw, sh, sw, pads, im2col=im2col_reference):
    """dw (kh, kw, Cin, Cout) = im2col(x).T @ g2d: the adjoint of the forward in w."""
    cout = g.shape[-1]
    return _matmul(im2col(x, kh, kw, sh, sw, *pads).T, g.reshape(-1, cout)).reshape(kh, kw, x.shape[-1], cout)


# ---- the CPU convolution: a blocked lowering onto BLAS ---------------------------------------------
#
# The three convolution products, on NumPy arrays (kernels/dispatch.py routes NumPy arrays here; the textbook
# versions above are what they compute):
#
#   conv2d_forward      y  = im2col(x) @ w2d (+ b)        w2d = w.reshape(kh*kw*Cin, Cout)
#   conv2d_grad_input   dx = col2im(g2d @ w2d.T) (+ b)    (conv_transpose2d's forward)
#   conv2d_grad_weight  dw = im2col(x).T @ g2d
#
# Two things keep them fast and small:
#
# * Blocking. The im2col matrix is built ``CHUNK_BYTES`` at a time (a band of output rows) into one reused
#   scratch buffer and consumed by its GEMM while it is still in cache, instead of materialising all of it
#   (kh*kw times the input: 5 GB for DCGAN-MNIST's 7x7 output conv at batch 256) and page-faulting it in.
# * Choosing the narrow side. With stride 1 a convolution is also a transposed convolution with the kernel
#   flipped and its channel axes swapped (and the padding mirrored, k-1-p), and each product can be lowered
#   through either channel count: im2col of the Cin side (width kh*kw*Cin) or col2im of the Cout side
#   (width kh*kw*Cout). The lowering takes the narrower one, so a Cin=128 -> Cout=1 7x7 conv moves
#   kh*kw*1 columns per pixel, not kh*kw*128.

CHUNK_BYTES = 8 << 20       # target size of one block of the im2col / col2im matrix
MIN_CHUNK_PIXELS = 512      # but at least this many output pixels per block (GEMM efficiency)

_scratch_local = threading.local()


def _scratch(n_items, dtype):
    """A reused 1-D work buffer of at least ``n_items`` of ``dtype`` (one per thread and dtype).

    Only the lowering's own temporaries live here: nothing handed back to a caller points into it."""
    key = numpy.dtype(dtype).str
    bufs = getattr(_scratch_local, "bufs", None)
    if bufs is None:
        bufs = _scratch_local.bufs = {}
    buf = bufs.get(key)
    if buf is None or buf.size < n_items:
        buf = bufs[key] = numpy.empty(max(n_items, 1), dtype)
    return buf[:n_items]


def _band_rows(n_rows, ow, width, itemsize):
    """How many of the ``n_rows`` output rows (of ``ow`` pixels, ``width`` columns each) go in one block."""
    row_bytes = ow * width * itemsize
    rows = max(CHUNK_BYTES // max(row_bytes, 1), -(-MIN_CHUNK_PIXELS // ow), 1)
    return int(min(rows, n_rows))


def _im2col_bands(x, kh, kw, sh, sw, pads, oh, ow):
    """(r0, r1, cols) for each band of output rows r0..r1 of im2col(x), built into the reused scratch buffer
    (each cols is overwritten by the next, so use it before asking for the next)."""
    n = x.shape[0]
    k = kh * kw * x.shape[3]
    band = _band_rows(n * oh, ow, k, x.itemsize)
    buf = _scratch(band * ow * k, x.dtype)
    for r0 in range(0, n * oh, band):
        r1 = min(r0 + band, n * oh)
        cols = buf[:(r1 - r0) * ow * k].reshape(-1, k)
        _im2col_rows(x, kh, kw, sh, sw, pads[0], pads[2], oh, ow, r0, r1, cols)
        yield r0, r1, cols


def _flip_t(w):
    """The kernel of the same stride-1 product seen from the other side: spatially flipped, in/out swapped."""
    return numpy.ascontiguousarray(w[::-1, ::-1].transpose(0, 1, 3, 2))


def _mirror_pads(kh, kw, pads):
    pad_t, pad_b, pad_l, pad_r = pads
    return kh - 1 - pad_t, kh - 1 - pad_b, kw - 1 - pad_l, kw - 1 - pad_r


def _narrow_side(x_shape, y_shape, kh, kw, sh, sw, pads):
    """True where the stride-1 product should be lowered through the Cout side (y's channels) instead of
    the Cin side (x's): that intermediate is less than half as big and the swap is legal (pads <= k - 1)."""
    if (sh, sw) != (1, 1) or min(_mirror_pads(kh, kw, pads)) < 0:
        return False
    m_in, m_out = x_shape[0] * x_shape[1] * x_shape[2], y_shape[0] * y_shape[1] * y_shape[2]
    return 2 * m_in * y_shape[3] < m_out * x_shape[3]


def _is_pointwise(kh, kw, sh, sw, pads):
    return kh == kw == sh == sw == 1 and not any(pads)


def _winograd(kh, kw, sh, sw, n, oh, ow, cin, cout):
    """4x4 stride-2 products big enough to go through Winograd F(2x2, 2x2) (kernels/winograd.py)."""
    return (kh, kw, sh, sw) == (4, 4, 2, 2) and winograd.worth_it(n, oh, ow, cin, cout)


def _winograd_input_grad(kh, kw, sh, sw, pads, x_shape, g_shape):
    """Likewise for the input gradient, whose phase split is only derived for 'same' on an even-sized input."""
    n, oh, ow, cout = g_shape
    return ((kh, kw, sh, sw) == (4, 4, 2, 2) and tuple(pads) == (1, 1, 1, 1)
            and tuple(x_shape[1:3]) == (2 * oh, 2 * ow)
            and winograd.worth_it(n, oh, ow, x_shape[3], cout, input_grad=True))


def conv2d_forward(x, w, sh, sw, pads, b=None):
    """y (N, OH, OW, Cout) = conv of x (N, H, W, Cin) with w (kh, kw, Cin, Cout), pads (t, b, l, r)."""
    x, w = numpy.ascontiguousarray(x), numpy.ascontiguousarray(w)
    n, h, wd, cin = x.shape
    kh, kw, _, cout = w.shape
    pad_t, pad_b, pad_l, pad_r = pads
    oh, ow = out_size(h, kh, sh, pad_t, pad_b), out_size(wd, kw, sw, pad_l, pad_r)
    y_shape = (n, oh, ow, cout)
    if _winograd(kh, kw, sh, sw, n, oh, ow, cin, cout):
        return winograd.conv_stride2(x, w, pads, oh, ow, _scratch, b)
    if _narrow_side(x.shape, y_shape, kh, kw, sh, sw, pads):
        return conv2d_grad_input(x, _flip_t(w), y_shape, 1, 1, _mirror_pads(kh, kw, pads), b)
    dtype = numpy.result_type(x, w)
    w2d = w.reshape(-1, cout).astype(dtype, copy=False)
    y = numpy.empty(y_shape, dtype)
    y2d = y.reshape(-1, cout)
    if _is_pointwise(kh, kw, sh, sw, pads):
        numpy.matmul(x.reshape(-1, cin).astype(dtype, copy=False), w2d, out=y2d)
    else:
        for r0, r1, cols in _im2col_bands(x, kh, kw, sh, sw, pads, oh, ow):
            out = y2d[r0 * ow:r1 * ow]
            numpy.matmul(cols, w2d, out=out)
            if b is not None:
                out += b
        return y
    if b is not None:
        y2d += b
    return y


def conv2d_grad_input(g, w, x_shape, sh, sw, pads, b=None):
    """dx (x_shape) = col2im(g2d @ w2d.T) (+ b) for g (N, OH, OW, Cout), w (kh, kw, Cin, Cout)."""
    g, w = numpy.ascontiguousarray(g), numpy.ascontiguousarray(w)
    kh, kw, cin, cout = w.shape
    n, oh, ow, _ = g.shape
    x_shape = tuple(int(v) for v in x_shape)
    if _winograd_input_grad(kh, kw, sh, sw, pads, x_shape, g.shape):
        return winograd.conv_stride2_grad_input(g, w, _scratch, b)
    if _narrow_side(x_shape, g.shape, kh, kw, sh, sw, pads):
        return conv2d_forward(g, _flip_t(w), 1, 1, _mirror_pads(kh, kw, pads), b)
    dtype = numpy.result_type(g, w)
    w2d = w.reshape(-1, cout).astype(dtype, copy=False)
    g2d = g.reshape(-1, cout).astype(dtype, copy=False)
    if _is_pointwise(kh, kw, sh, sw, pads):
        x = numpy.matmul(g2d, w2d.T).reshape(x_shape)
        if b is not None:
            x += b
        return x
    k = kh * kw * cin
    x = numpy.empty(x_shape, dtype)
    x[...] = 0 if b is None else b          # col2im adds onto the bias: one pass, not zeros and then += b
    band = _band_rows(n * oh, ow, k, x.itemsize)
    buf = _scratch(band * ow * k, dtype)
    for r0 in range(0, n * oh, band):
        r1 = min(r0 + band, n * oh)
        cols = buf[:(r1 - r0) * ow * k].reshape(-1, k)
        _times_transpose(g2d[r0 * ow:r1 * ow], w2d, cols)
        _col2im_rows(cols, kh, kw, sh, sw, pads[0], pads[2], oh, ow, r0, r1, x)
    return x


SMALL_M = 4  # at most this many output pixels: the products below replace BLAS (dw, and the input gradient's cols)


@parallel_kernel(work=lambda a, b, out: b.size, fastmath={"reassoc", "contract"})
def _rows_times_transpose(a, b, out):
    """out = a @ b.T for a few rows of ``a``: each row of ``b`` is read once, for all of them. OpenBLAS's sgemm
    packs all of ``b`` first, which for a few rows costs more than the product (a deep U-Net layer's transposed
    conv; the README's measured notes). The dot products may be reassociated, so that they vectorize."""
    m, k = a.shape
    for j in prange(b.shape[0]):
        row = b[j]
        for r in range(m):
            s = a.dtype.type(0)
            for q in range(k):
                s += a[r, q] * row[q]
            out[r, j] = s


def _times_transpose(a, b, out):
    """out = a @ b.T. A single row stays with BLAS: NumPy makes that a gemv, which streams b already."""
    if 2 <= a.shape[0] <= SMALL_M:
        _rows_times_transpose(a, b, out)
    else:
        numpy.matmul(a, b.T, out=out)


@parallel_kernel(work=lambda cols, g2d, out, accumulate: out.size * cols.shape[0])
def _outer_sum(cols, g2d, out, accumulate):
    """out (+)= cols.T @ g2d for a few rows: OpenBLAS's sgemm is many times slower for such a K (a deep U-Net
    layer's weight gradient, 8192 x 1 times 1 x 512; the README's measured notes)."""
    m, k = cols.shape
    for r in prange(k):
        if not accumulate:
            out[r, :] = 0
        for p in range(m):
            a = cols[p, r]
            for c in range(out.shape[1]):
                out[r, c] += a * g2d[p, c]


def _at_b(cols, g2d, out, part=None):
    """out = cols.T @ g2d, or out += cols.T @ g2d through the work buffer ``part`` when one is given;
    BLAS does it unless cols has only a few rows."""
    if cols.shape[0] <= SMALL_M:
        _outer_sum(cols, g2d, out, part is not None)
    elif part is None:
        numpy.matmul(cols.T, g2d, out=out)
    else:
        numpy.matmul(cols.T, g2d, out=part)
        out += part


def conv2d_grad_weight(x, g, kh, kw, sh, sw, pads):
    """dw (kh, kw, Cin, Cout) = im2col(x).T @ g2d for x (N, H, W, Cin), g (N, OH, OW, Cout)."""
    x, g = numpy.ascontiguousarray(x), numpy.ascontiguousarray(g)
    n, h, wd, cin = x.shape
    _, oh, ow, cout = g.shape
    if _winograd(kh, kw, sh, sw, n, oh, ow, cin, cout):
        return winograd.conv_stride2_grad_weight(x, g, pads, _scratch)
    if _narrow_side(x.shape, g.shape, kh, kw, sh, sw, pads):
        # dw[t, ci, co] = sum_o x[o - p + t, ci] g[o, co]: the same sum with g as the image and x as the
        # gradient, at the mirrored padding, gives the flipped, transposed kernel.
        return _flip_t(conv2d_grad_weight(g, x, kh, kw, 1, 1, _mirror_pads(kh, kw, pads)))
    dtype = numpy.result_type(x, g)
    g2d = g.reshape(-1, cout).astype(dtype, copy=False)
    k = kh * kw * cin
    if _is_pointwise(kh, kw, sh, sw, pads):
        return numpy.matmul(x.reshape(-1, cin).astype(dtype, copy=False).T, g2d).reshape(kh, kw, cin, cout)
    dw, part = numpy.empty((k, cout), dtype), numpy.empty((k, cout), dtype)
    for r0, r1, cols in _im2col_bands(x, kh, kw, sh, sw, pads, oh, ow):
        _at_b(cols, g2d[r0 * ow:r1 * ow], dw, part if r0 > 0 else None)
    return dw.reshape(kh, kw, cin, cout)


def conv2d_forward_and_grad_weight(x, w, g, sh, sw, pads):
    """(conv2d_forward(x, w), conv2d_grad_weight(x, g)) from one im2col of x: both products read the same
    im2col band, so it is built once and used by both GEMMs while it is still in cache.

    The backward of a transposed convolution needs exactly this pair (x its output gradient, g its input), and
    building the band is a third of the work outside the GEMMs there. Products that take the narrow side or are
    pointwise have no shared band and are computed separately.
    """
    x, w, g = numpy.ascontiguousarray(x), numpy.ascontiguousarray(w), numpy.ascontiguousarray(g)
    kh, kw, cin, cout = w.shape
    n, oh, ow, _ = g.shape
    if _winograd(kh, kw, sh, sw, n, oh, ow, cin, cout):
        return winograd.conv_stride2(x, w, pads, oh, ow, _scratch, g=g)
    if _is_pointwise(kh, kw, sh, sw, pads) or _narrow_side(x.shape, g.shape, kh, kw, sh, sw, pads):
        return conv2d_forward(x, w, sh, sw, pads), conv2d_grad_weight(x, g, kh, kw, sh, sw, pads)
    dtype = numpy.result_type(x, w, g)
    k = kh * kw * cin
    w2d = w.reshape(k, cout).astype(dtype, copy=False)
    g2d = g.reshape(-1, cout).astype(dtype, copy=False)
    y = numpy.empty((n, oh, ow, cout), dtype)
    y2d = y.reshape(-1, cout)
    dw, part = numpy.empty((k, cout), dtype), numpy.empty((k, cout), dtype)
    for r0, r1, cols in _im2col_bands(x, kh, kw, sh, sw, pads, oh, ow):
        numpy.matmul(cols, w2d, out=y2d[r0 * ow:r1 * ow])
        _at_b(cols, g2d[r0 * ow:r1 * ow], dw, part if r0 > 0 else None)
    return y, dw.reshape(kh, kw, cin, cout)
