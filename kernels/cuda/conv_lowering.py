"""im2col / col2im as CUDA kernels: same signatures and layout as ``kernels.conv_lowering``.

``cols`` is (N*OH*OW, kh*kw*C), each row one output pixel's receptive field ordered (kh, kw, C), so a
Keras kernel reshaped to (kh*kw*C, Cout) multiplies it directly (that GEMM is cuBLAS's, via ``xp.matmul``).

* ``im2col``: one thread per element of ``cols`` (consecutive threads write consecutive columns and
  read consecutive channels: both coalesced); taps in the padding write 0.
* ``col2im``: one thread per *input* pixel-channel, gathering every (row, tap) that read it, so no two
  threads write the same element (no atomics, deterministic). Taps are summed in (i, j) order from 0,
  the order of the reference, so float32 results match it exactly.
"""
from numba import cuda

from ..conv_lowering import out_size
from . import array_module, blocks_1d, contiguous, launch, scalar, TPB


@cuda.jit
def _im2col_kernel(x, cols, kh, kw, sh, sw, pad_t, pad_l, oh, ow):
    h = x.shape[1]
    w = x.shape[2]
    c = x.shape[3]
    k_len = cols.shape[1]
    total = cols.shape[0] * k_len
    for idx in range(cuda.grid(1), total, cuda.gridsize(1)):
        row = idx // k_len
        k = idx - row * k_len
        tap = k // c
        ch = k - tap * c
        i = tap // kw
        j = tap - i * kw
        r = row // ow
        ox = row - r * ow
        n = r // oh
        y = r - n * oh
        iy = y * sh - pad_t + i
        ix = ox * sw - pad_l + j
        if iy >= 0 and iy < h and ix >= 0 and ix < w:
            cols[row, k] = x[n, iy, ix, ch]
        else:
            cols[row, k] = 0


@cuda.jit
def _col2im_kernel(cols, x, kh, kw, sh, sw, pad_t, pad_l, oh, ow, zero):
    h = x.shape[1]
    w = x.shape[2]
    c = x.shape[3]
    total = x.shape[0] * h * w * c
    for idx in range(cuda.grid(1), total, cuda.gridsize(1)):
        p = idx // c
        ch = idx - p * c
        q = p // w
        ix = p - q * w
        n = q // h
        iy = q - n * h
        acc = zero
        for i in range(kh):
            t = iy + pad_t - i
            if t < 0 or t % sh != 0:
                continue
            oy = t // sh
            if oy >= oh:
                continue
            for j in range(kw):
                u = ix + pad_l - j
                if u < 0 or u % sw != 0:
                    continue
                ox = u // sw
                if ox >= ow:
                    continue
                acc += cols[(n * oh + oy) * ow + ox, (i * kw + j) * c + ch]
        x[n, iy, ix, ch] = acc


def _out_hw(h, w, kh, kw, sh, sw, pad_t, pad_b, pad_l, pad_r):
    oh, ow = out_size(h, kh, sh, pad_t, pad_b), out_size(w, kw, sw, pad_l, pad_r)
    if oh < 1 or ow < 1:
        raise ValueError(f"im2col: a {kh}x{kw} window with strides ({sh}, {sw}) and padding "
                         f"(({pad_t}, {pad_b}), ({pad_l}, {pad_r})) does not fit an input of {h}x{w}")
    return oh, ow


def im2col(x, kh, kw, sh, sw, pad_t, pad_b, pad_l, pad_r):
    """x (N, H, W, C) -> cols (N*OH*OW, kh*kw*C), on the device of ``x``."""
    x = contiguous(x)
    n, h, w, c = x.shape
    oh, ow = _out_hw(h, w, kh, kw, sh, sw, pad_t, pad_b, pad_l, pad_r)
    cols = array_module(x).empty((n * oh * ow, kh * kw * c), x.dtype)
    if cols.size:
        launch(_im2col_kernel, blocks_1d(cols.size), TPB, x, cols, kh, kw, sh, sw, pad_t, pad_l, oh, ow)
    return cols


def col2im(cols, x_shape, kh, kw, sh, sw, pads):
    """cols (N*OH*OW, kh*kw*C) -> x of ``x_shape`` (N, H, W, C), every tap summed onto the pixel it read."""
    cols = contiguous(cols)
    n, h, w, c = (int(v) for v in x_shape)
    pad_t, pad_b, pad_l, pad_r = (int(v) for v in pads)
    oh, ow = _out_hw(h, w, kh, kw, sh, sw, pad_t, pad_b, pad_l, pad_r)
    if tuple(cols.shape) != (n * oh * ow, kh * kw * c):
        raise ValueError(f"col2im: cols has shape {tuple(cols.shape)}, expected {(n * oh * ow, kh * kw * c)} "
                         f"for x_shape {tuple(x_shape)}")
    x = array_module(cols).empty((n, h, w, c), cols.dtype)
    if x.size:
        launch(_col2im_kernel, blocks_1d(x.size), TPB, cols, x, kh, kw, sh, sw, pad_t, pad_l, oh, ow,
               scalar(0, cols.dtype))
    return x
