"""Max and average pooling and upsampling (NHWC), Keras 2.2 semantics.

Each op is a linear map once its data-dependent choice is fixed (which tap is the max), so each
comes as a pair of Functions that are one another's transpose; that gives gradients of any order.
"""
import numpy

from .. import backend
from ..autograd.tensor import Function, OpError, as_tensor
from .conv import int_pair, window_out_hw, window_pads

__all__ = ["max_pool2d", "avg_pool2d", "upsample_nearest", "upsample_bilinear"]


def _check_nhwc(op, x):
    if x.ndim != 4:
        raise OpError(f"{op}: x must be 4-D NHWC (N, H, W, C), got shape {x.shape}; add a batch axis or reshape first")


# ---- max pooling ----------------------------------------------------------------------------------

def _tap_views(padded, ksize, strides, out_hw):
    """(tap index, strided view of ``padded`` that tap sees at every output pixel) for each window tap."""
    (kh, kw), (sh, sw), (oh, ow) = ksize, strides, out_hw
    for i in range(kh):
        for j in range(kw):
            yield i * kw + j, padded[:, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]


def _padded(x, pads, value):
    if not any(pads):
        return x
    top, bottom, left, right = pads
    return backend.xp().pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


class PoolPick(Function):
    """y = x at the chosen tap (``self.taps``, one per output element) of each window."""

    def forward(self, x):
        mod = backend.xp()
        y = mod.zeros(self.taps.shape, x.dtype)
        for t, view in _tap_views(_padded(x, self.pads, 0), self.ksize, self.strides, self.taps.shape[1:3]):
            y = mod.where(self.taps == t, view, y)
        return y

    def backward(self, g):
        return PoolScatter.apply(g, taps=self.taps, ksize=self.ksize, strides=self.strides, pads=self.pads,
                                 x_shape=self.inputs[0].shape)


class PoolScatter(Function):
    """The transpose of PoolPick: each output gradient goes back to the pixel its tap picked."""

    def forward(self, g):
        mod = backend.xp()
        (n, h, w, c), (top, bottom, left, right) = self.x_shape, self.pads
        gx = mod.zeros((n, h + top + bottom, w + left + right, c), g.dtype)
        for t, view in _tap_views(gx, self.ksize, self.strides, g.shape[1:3]):
            view += mod.where(self.taps == t, g, 0)
        return gx[:, top:top + h, left:left + w]

    def backward(self, gg):
        return PoolPick.apply(gg, taps=self.taps, ksize=self.ksize, strides=self.strides, pads=self.pads)


class MaxPool2D(PoolPick):
    """Picks each window's first maximum (padding never wins), then differentiates as a PoolPick."""

    def forward(self, x):
        mod = backend.xp()
        best = None
        for t, view in _tap_views(_padded(x, self.pads, -numpy.inf), self.ksize, self.strides, self.out_hw):
            if best is None:
                best, self.taps = view.copy(), mod.zeros(view.shape, mod.int32)
            else:
                better = view > best  # strict, so ties keep the first tap
                mod.copyto(best, view, where=better)
                mod.copyto(self.taps, t, where=better)
        return best


def _window(op, x, pool_size, strides, padding):
    """(x as a Tensor, ksize, strides, pads, out_hw) of a pooling window, checked: strides default to pool_size."""
    x = as_tensor(x)
    _check_nhwc(op, x)
    ksize = int_pair(op, "pool_size", pool_size)
    strides = int_pair(op, "strides", ksize if strides is None else strides)
    if not isinstance(padding, str):
        raise OpError(f"{op}: padding must be 'valid' or 'same', got {padding!r}; "
                      "zero-pad explicitly with ops.pad first if you need more")
    pads = window_pads(op, x.shape, ksize, strides, padding)
    return x, ksize, strides, pads, window_out_hw(x.shape, ksize, strides, pads)


def max_pool2d(x, pool_size=(2, 2), strides=None, padding="valid"):
    """Keras MaxPooling2D: strides default to pool_size; 'valid' floors (61 -> 30), 'same' gives ceil(n/s)."""
    x, ksize, strides, pads, out_hw = _window("max_pool2d", x, pool_size, strides, padding)
    return MaxPool2D.apply(x, ksize=ksize, strides=strides, pads=pads, out_hw=out_hw)


# ---- average pooling -------------------------------------------------------------------------------

def _inverse_counts(x_shape, ksize, strides, pads, out_hw, dtype):
    """(1, OH, OW, 1): 1 / the number of real (unpadded) pixels under each window, TensorFlow's divisor."""
    mod, (_, h, w, _) = backend.xp(), x_shape
    ones = _padded(mod.ones((1, h, w, 1), dtype), pads, 0)
    counts = sum(view for _, view in _tap_views(ones, ksize, strides, out_hw))
    return 1 / counts


class AvgPool(Function):
    """y = the mean of each window's real pixels (padding is left out of the count, as in TensorFlow)."""

    def forward(self, x):
        taps = _tap_views(_padded(x, self.pads, 0), self.ksize, self.strides, self.inv_counts.shape[1:3])
        total = None
        for _, view in taps:
            if total is None:
                total = view.copy()
            else:
                total += view
        return total * self.inv_counts

    def backward(self, g):
        return AvgPoolSpread.apply(g, ksize=self.ksize, strides=self.strides, pads=self.pads,
                                   inv_counts=self.inv_counts, x_shape=self.inputs[0].shape)


class AvgPoolSpread(Function):
    """The transpose of AvgPool: each output gradient, divided by its count, goes to every pixel of its window."""

    def forward(self, g):
        (n, h, w, c), (top, bottom, left, right) = self.x_shape, self.pads
        gx = backend.xp().zeros((n, h + top + bottom, w + left + right, c), g.dtype)
        share = g * self.inv_counts
        for _, view in _tap_views(gx, self.ksize, self.strides, g.shape[1:3]):
            view += share
        return gx[:, top:top + h, left:left + w]

    def backward(self, gg):
        return AvgPool.apply(gg, ksize=self.ksize, strides=self.strides, pads=self.pads, inv_counts=self.inv_counts)


def avg_pool2d(x, pool_size=(2, 2), strides=None, padding="valid"):
    """Keras AveragePooling2D: strides default to pool_size; with 'same' the border windows average only
    their real pixels (TensorFlow's divisor), so a constant image stays constant."""
    x, ksize, strides, pads, out_hw = _window("avg_pool2d", x, pool_size, strides, padding)
    inv_counts = _inverse_counts(x.shape, ksize, strides, pads, out_hw, x.dtype)
    return AvgPool.apply(x, ksize=ksize, strides=strides, pads=pads, inv_counts=inv_counts)


# ---- nearest upsampling -----------------------------------------------------------------------------

class UpsampleNearest(Function):
    """Repeat each pixel into a size[0] x size[1] block."""

    def forward(self, x):
        (n, h, w, c), (sh, sw) = x.shape, self.size
        return backend.xp().broadcast_to(x[:, :, None, :, None], (n, h, sh, w, sw, c)).reshape(n, h * sh, w * sw, c)

    def backward(self, g):
        return BlockSum.apply(g, size=self.size)


class BlockSum(Function):
    """Sum each size[0] x size[1] block: the transpose of UpsampleNearest."""

    def forward(self, g):
        (n, h, w, c), (sh, sw) = g.shape, self.size
        return g.reshape(n, h // sh, sh, w // sw, sw, c).sum(axis=(2, 4))

    def backward(self, gg):
        return UpsampleNearest.apply(gg, size=self.size)


def upsample_nearest(x, size=(2, 2)):
    """Keras UpSampling2D(size): integer factor per axis, e.g. (2, 3)."""
    x = as_tensor(x)
    _check_nhwc("upsample_nearest", x)
    return UpsampleNearest.apply(x, size=int_pair("upsample_nearest", "size", size))


# ---- bilinear upsampling ----------------------------------------------------------------------------

def _bilinear_matrix(n_in, factor, dtype):
    """(n_in*factor, n_in) rows of TF1 resize_bilinear(align_corners=False): output o reads
    src = o / factor (no half-pixel offset) between floor(src) and floor(src)+1 clamped to the edge."""
    o = numpy.arange(n_in * factor)
    lo, frac = o // factor, (o % factor) / factor
    m = numpy.zeros((n_in * factor, n_in))
    numpy.add.at(m, (o, lo), 1 - frac)
    numpy.add.at(m, (o, numpy.minimum(lo + 1, n_in - 1)), frac)
    return backend.xp().asarray(m, dtype=dtype)


class Separable(Function):
    """y[n] = mh @ x[n] @ mw.T per channel: a linear map applied along H then W with two GEMMs."""

    def forward(self, x):
        mod, (n, h, w, c) = backend.xp(), x.shape
        rows = mod.matmul(self.mh, x.reshape(n, h, w * c))  # (n, OH, w*c)
        out = mod.matmul(self.mw, rows.reshape(n * self.mh.shape[0], w, c))  # (n*OH, OW, c)
        return out.reshape(n, self.mh.shape[0], self.mw.shape[0], c)

    def backward(self, g):
        return Separable.apply(g, mh=self.mh.T, mw=self.mw.T)


def upsample_bilinear(x, size=(2, 2)):
    """Keras 2.2 UpSampling2D(size, interpolation='bilinear'), i.e. TF1 resize_bilinear, align_corners=False."""
    x = as_tensor(x)
    _check_nhwc("upsample_bilinear", x)
    sh, sw = int_pair("upsample_bilinear", "size", size)
    return Separable.apply(x, mh=_bilinear_matrix(x.shape[1], sh, x.dtype), mw=_bilinear_matrix(x.shape[2], sw, x.dtype))
