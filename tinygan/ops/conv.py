"""2-D convolution and its transpose (NHWC, Keras kernel layouts), each lowered to one GEMM.

Three Functions, each one's backward built from the other two, so gradients of any order exist
(WGAN-GP differentiates the input gradient of a conv):

* ``Conv2D(x, w[, b])``           y  = im2col(x) @ w2d + b
* ``Conv2DGradInput(g, w[, b])``  dx = col2im(g2d @ w2d.T) + b  -- the adjoint in x, i.e. conv_transpose2d
* ``Conv2DGradWeight(x, g)``      dw = im2col(x).T @ g2d        -- the adjoint in w

``pads`` is always (top, bottom, left, right) of the *convolution's* input; a transposed conv
uses the pads of the conv it is the adjoint of.
"""
import numpy

from .. import backend
from ..autograd.tensor import Function, OpError, Tensor, as_tensor, is_grad_enabled
from ..kernels import conv_lowering, dispatch
from .activation import ThenLeakyReLU, leaky_variant
from .shape import sum_to

__all__ = ["conv2d", "conv_transpose2d", "conv_padding"]


def _on_cpu(*arrays):
    """NumPy float arrays: the blocked CPU lowering in kernels/conv_lowering.py (Numba + BLAS)."""
    return dispatch.route(*arrays) == "numba"


# Elsewhere (CuPy arrays, or the reference mode) the convolution is the textbook im2col + GEMM, the dispatcher
# picking CUDA kernels or the array-code reference for im2col / col2im. The im2col matrix is built for a few
# samples at a time, so that it never takes more than GPU_BAND_BYTES: whole, the 7x7 output conv of the MNIST
# DCGAN at batch 256 would be a 5 GiB matrix.
GPU_BAND_BYTES = 256 * 2**20


def _im2col(x, ksize, strides, pads):
    return dispatch.im2col(x, *ksize, *strides, *pads)


def _col2im(cols, x_shape, ksize, strides, pads):
    return dispatch.col2im(cols, x_shape, *ksize, *strides, pads)


def _sample_bands(x_shape, ksize, strides, pads, itemsize):
    """Slices of the batch whose im2col matrices stay under GPU_BAND_BYTES (at least one sample each), and the
    output size (OH, OW)."""
    oh, ow = window_out_hw(x_shape, ksize, strides, pads)
    per_sample = oh * ow * ksize[0] * ksize[1] * x_shape[3] * itemsize
    step = max(1, GPU_BAND_BYTES // max(per_sample, 1))
    n = x_shape[0]
    return [slice(i, min(i + step, n)) for i in range(0, n, step)], (oh, ow)


def _array_code_conv(x, w2d, ksize, strides, pads):
    """y (N*OH*OW, Cout) = im2col(x) @ w2d, a band of samples at a time."""
    bands, (oh, ow) = _sample_bands(x.shape, ksize, strides, pads, x.dtype.itemsize)
    if len(bands) == 1:
        return _im2col(x, ksize, strides, pads) @ w2d
    y = backend.xp().empty((x.shape[0] * oh * ow, w2d.shape[1]), x.dtype)
    for s in bands:
        y[s.start * oh * ow:s.stop * oh * ow] = _im2col(x[s], ksize, strides, pads) @ w2d
    return y


def _array_code_grad_weight(x, g2d, ksize, strides, pads):
    """dw (kh*kw*Cin, Cout) = im2col(x).T @ g2d, summed over bands of samples."""
    bands, (oh, ow) = _sample_bands(x.shape, ksize, strides, pads, x.dtype.itemsize)
    dw = None
    for s in bands:
        part = _im2col(x[s], ksize, strides, pads).T @ g2d[s.start * oh * ow:s.stop * oh * ow]
        dw = part if dw is None else dw + part
    return dw


def _array_code_grad_input(g2d, w2d, x_shape, ksize, strides, pads):
    """dx = col2im(g2d @ w2d.T), a band of samples at a time."""
    bands, (oh, ow) = _sample_bands(x_shape, ksize, strides, pads, g2d.dtype.itemsize)
    if len(bands) == 1:
        return _col2im(g2d @ w2d.T, x_shape, ksize, strides, pads)
    dx = backend.xp().empty(tuple(x_shape), g2d.dtype)
    for s in bands:
        rows = g2d[s.start * oh * ow:s.stop * oh * ow]
        dx[s] = _col2im(rows @ w2d.T, (s.stop - s.start, *x_shape[1:]), ksize, strides, pads)
    return dx


class Conv2D(Function):
    """y = im2col(x) @ w.reshape(kh*kw*Cin, Cout) (+ b): one GEMM over all output pixels."""

    def forward(self, x, w, b=None):
        if _on_cpu(x, w):
            return conv_lowering.conv2d_forward(x, w, *self.strides, self.pads, b)
        kh, kw, _, cout = w.shape
        oh, ow = window_out_hw(x.shape, (kh, kw), self.strides, self.pads)
        y = _array_code_conv(x, w.reshape(-1, cout), (kh, kw), self.strides, self.pads).reshape(x.shape[0], oh, ow, cout)
        if b is not None:
            y += b
        return y

    def backward(self, g):
        x, w = self.inputs[:2]
        geom = dict(strides=self.strides, pads=self.pads)
        return (Conv2DGradInput.apply(g, w, x_shape=x.shape, **geom) if self.needs_grad[0] else None,
                Conv2DGradWeight.apply(x, g, ksize=w.shape[:2], **geom) if self.needs_grad[1] else None,
                sum_to(g, self.inputs[2].shape) if len(self.inputs) > 2 and self.needs_grad[2] else None)


class Conv2DGradInput(Function):
    """dx = col2im(g2d @ w2d.T) (+ b), shaped ``x_shape``: the transpose of Conv2D in its input."""

    def forward(self, g, w, b=None):
        if _on_cpu(g, w):
            return conv_lowering.conv2d_grad_input(g, w, self.x_shape, *self.strides, self.pads, b)
        kh, kw, _, cout = w.shape
        x = _array_code_grad_input(g.reshape(-1, cout), w.reshape(-1, cout), self.x_shape, (kh, kw), self.strides,
                                   self.pads)
        if b is not None:
            x += b
        return x

    def backward(self, gx):
        g, w = self.inputs[:2]
        geom = dict(strides=self.strides, pads=self.pads)
        bias = sum_to(gx, self.inputs[2].shape) if len(self.inputs) > 2 and self.needs_grad[2] else None
        if self.needs_grad[0] and self.needs_grad[1] and not is_grad_enabled() and _on_cpu(gx.data, w.data, g.data):
            # Plain backward (no graph to record): both products from one im2col of gx.
            dg, dw = conv_lowering.conv2d_forward_and_grad_weight(gx.data, w.data, g.data, *self.strides, self.pads)
            return Tensor(dg, _copy=False), Tensor(dw, _copy=False), bias
        # <col2im(g w^T), gx> = <g, conv(gx, w)>, so both gradients come from the forward conv.
        return (Conv2D.apply(gx, w, **geom) if self.needs_grad[0] else None,
                Conv2DGradWeight.apply(gx, g, ksize=w.shape[:2], **geom) if self.needs_grad[1] else None,
                bias)


class Conv2DGradWeight(Function):
    """dw = im2col(x).T @ g2d, shaped (kh, kw, Cin, Cout): the transpose of Conv2D in its kernel."""

    def forward(self, x, g):
        if _on_cpu(x, g):
            return conv_lowering.conv2d_grad_weight(x, g, *self.ksize, *self.strides, self.pads)
        cout = g.shape[-1]
        dw = _array_code_grad_weight(x, g.reshape(-1, cout), self.ksize, self.strides, self.pads)
        return dw.reshape(*self.ksize, x.shape[-1], cout)

    def backward(self, gw):
        x, g = self.inputs
        geom = dict(strides=self.strides, pads=self.pads)
        # <dw, gw> = <g, conv(x, gw)>: linear in x and in g.
        return (Conv2DGradInput.apply(g, gw, x_shape=x.shape, **geom) if self.needs_grad[0] else None,
                Conv2D.apply(x, gw, **geom) if self.needs_grad[1] else None)


class Conv2DLeakyReLU(ThenLeakyReLU, Conv2D):
    """leaky_relu(conv2d(x, w, b))."""


class ConvTranspose2DLeakyReLU(ThenLeakyReLU, Conv2DGradInput):
    """leaky_relu(conv_transpose2d(x, w, b))."""


# ---- arguments ----------------------------------------------------------------------------------

def conv_padding(in_size, k, s, padding):
    """(before, after) zero padding of one axis: 'valid' is none, 'same' is TensorFlow's split
    (total = max((ceil(n/s)-1)*s + k - n, 0), any odd pixel after), a (before, after) pair is itself."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return 0, 0
        if mode == "same":
            total = max((-(-in_size // s) - 1) * s + k - in_size, 0)
            return total // 2, total - total // 2
        raise OpError(f"conv_padding: padding {padding!r} is not understood; use 'valid', 'same' or (before, after)")
    before, after = padding
    return int(before), int(after)


def int_pair(op, name, value):
    """An int or a pair of ints, each >= 1, as a pair (strides, pool sizes, upsampling factors)."""
    pair = (value, value) if isinstance(value, (int, numpy.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, numpy.integer)) and v >= 1 for v in pair):
        raise OpError(f"{op}: {name} must be a positive int or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def axis_paddings(op, padding):
    """padding per spatial axis: 'valid'/'same' for both, or ((top, bottom), (left, right)) as two pairs."""
    if isinstance(padding, str):
        if padding.lower() not in ("valid", "same"):
            raise OpError(f"{op}: padding {padding!r} is not understood; use 'valid', 'same' "
                          "or explicit ((top, bottom), (left, right))")
        return padding.lower(), padding.lower()
    try:
        (t, b), (l, r) = padding
        pads = tuple(int(v) for v in (t, b, l, r))
    except (TypeError, ValueError):
        raise OpError(f"{op}: padding {padding!r} is not understood; use 'valid', 'same' "
                      "or explicit ((top, bottom), (left, right))") from None
    if min(pads) < 0:
        raise OpError(f"{op}: padding {padding!r} has a negative amount; crop the input instead")
    return pads[:2], pads[2:]


def window_pads(op, x_shape, ksize, strides, padding):
    """(top, bottom, left, right) for a window of ``ksize`` sliding over x (N, H, W, C); checks it fits."""
    modes = axis_paddings(op, padding)
    pads = [conv_padding(n, k, s, m) for n, k, s, m in zip(x_shape[1:3], ksize, strides, modes)]
    for n, k, (before, after) in zip(x_shape[1:3], ksize, pads):
        if n + before + after < k:
            raise OpError(f"{op}: window {ksize[0]}x{ksize[1]} is bigger than the padded input "
                          f"{x_shape[1] + sum(pads[0])}x{x_shape[2] + sum(pads[1])} (x {x_shape}, padding {padding!r}); "
                          "use padding='same', a smaller kernel or a bigger input")
    return (*pads[0], *pads[1])


def window_out_hw(x_shape, ksize, strides, pads):
    """(OH, OW) of a window sliding over x (N, H, W, C) padded by (top, bottom, left, right)."""
    return tuple(conv_lowering.out_size(n, k, s, *p)
                 for n, k, s, p in zip(x_shape[1:3], ksize, strides, (pads[:2], pads[2:])))


def _check_conv_args(op, x, w, b, in_axis, out_axis, layout):
    if x.ndim != 4:
        raise OpError(f"{op}: x must be 4-D NHWC (N, H, W, C), got shape {x.shape}; "
                      "add a batch axis or reshape a flat input first")
    if w.ndim != 4:
        raise OpError(f"{op}: kernel must be 4-D {layout}, got shape {w.shape}")
    if x.shape[3] != w.shape[in_axis]:
        raise OpError(f"{op}: x {x.shape} has {x.shape[3]} channels but the kernel {w.shape} {layout} "
                      f"expects {w.shape[in_axis]}; make the layer's input channels match the previous output")
    if b is not None and b.shape != (w.shape[out_axis],):
        raise OpError(f"{op}: bias must have shape ({w.shape[out_axis]},) for kernel {w.shape}, got {b.shape}")


def conv2d(x, w, b=None, strides=(1, 1), padding="valid", leaky_alpha=None):
    """Keras Conv2D: x (N, H, W, Cin), w (kh, kw, Cin, Cout), b (Cout,) -> (N, OH, OW, Cout).

    ``leaky_alpha`` (>= 0): return leaky_relu(conv, leaky_alpha) from one op (see ops.activation.ThenLeakyReLU)."""
    x, w = as_tensor(x), as_tensor(w)
    b = None if b is None else as_tensor(b)
    _check_conv_args("conv2d", x, w, b, 2, 3, "(kh, kw, Cin, Cout)")
    strides = int_pair("conv2d", "strides", strides)
    pads = window_pads("conv2d", x.shape, w.shape[:2], strides, padding)
    fn, extra = leaky_variant("conv2d", Conv2D, Conv2DLeakyReLU, leaky_alpha)
    return fn.apply(*((x, w) if b is None else (x, w, b)), strides=strides, pads=pads, **extra)


def _transpose_out_size(n, k, s, mode):
    """Keras Conv2DTranspose output length: 'valid' n*s + max(k-s, 0), 'same' n*s, explicit (n-1)*s + k - pads."""
    if mode == "valid":
        return n * s + max(k - s, 0)
    if mode == "same":
        return n * s
    return (n - 1) * s + k - sum(mode)


def conv_transpose2d(x, w, b=None, strides=(1, 1), padding="valid", leaky_alpha=None):
    """Keras Conv2DTranspose: x (N, H, W, Cin), w (kh, kw, Cout, Cin), b (Cout,) -> (N, OH, OW, Cout).

    Exactly the input gradient of conv2d(y, w, strides, padding) for y of the output size (what
    TensorFlow's conv2d_transpose computes), so 'same' crops total//2 at the top/left. ``leaky_alpha`` as in
    :func:`conv2d`.
    """
    x, w = as_tensor(x), as_tensor(w)
    b = None if b is None else as_tensor(b)
    _check_conv_args("conv_transpose2d", x, w, b, 3, 2, "(kh, kw, Cout, Cin)")
    strides = int_pair("conv_transpose2d", "strides", strides)
    modes = axis_paddings("conv_transpose2d", padding)
    out = [_transpose_out_size(n, k, s, m) for n, k, s, m in zip(x.shape[1:3], w.shape[:2], strides, modes)]
    if min(out) < 1:
        raise OpError(f"conv_transpose2d: padding {padding!r} crops everything from x {x.shape} with kernel {w.shape}; "
                      "use less padding")
    y_shape = (x.shape[0], *out, w.shape[2])
    pads = window_pads("conv_transpose2d", y_shape, w.shape[:2], strides, padding)
    fn, extra = leaky_variant("conv_transpose2d", Conv2DGradInput, ConvTranspose2DLeakyReLU, leaky_alpha)
    return fn.apply(*((x, w) if b is None else (x, w, b)), x_shape=y_shape, strides=strides, pads=pads, **extra)
