"""2-D convolution and its transpose (NHWC, Keras kernel layouts), each lowered to one GEMM.

Three Functions, each one's backward built from the other two, so gradients of any order exist
(WGAN-GP differentiates the input gradient of a conv):

* ``Conv2D(x, w[, b])``           y  = im2col(x) @ w2d + b
* ``Conv2DGradInput(g, w[, b])``  dx = col2im(g2d @ w2d.T) + b  -- the adjoint in x, i.e. conv_transpose2d
* ``Conv2DGradWeight(x, g)``      dw = im2col(x).T @ g2d        -- the adjoint in w

``pads`` is always (top, bottom, left, right) of the *convolution's* input; a transposed conv
uses the pads of the conv it is the adjoint of.

The ops do not choose an implementation: each product is one ``kernels.dispatch`` call, which routes NumPy
arrays to the blocked CPU lowering and anything else to the textbook one (``kernels/conv_lowering.py``,
``conv2d_forward_reference`` and its two adjoints: one im2col or col2im and one GEMM, readable as it stands).
"""
import numpy

from ..autograd.tensor import Function, OpError, Tensor, as_tensor, is_grad_enabled
from ..kernels import conv_lowering, dispatch
from .activation import ThenLeakyReLU, leaky_variant
from .shape import sum_to

__all__ = ["conv2d", "conv_transpose2d", "conv_padding"]


class Conv2D(Function):
    """y = im2col(x) @ w.reshape(kh*kw*Cin, Cout) (+ b): one GEMM over all output pixels."""

    def forward(self, x, w, b=None):
        return dispatch.conv2d_forward(x, w, *self.strides, self.pads, b)

    def backward(self, g):
        x, w = self.inputs[:2]
        geom = dict(strides=self.strides, pads=self.pads)
        return (Conv2DGradInput.apply(g, w, x_shape=x.shape, **geom) if self.needs_grad[0] else None,
                Conv2DGradWeight.apply(x, g, ksize=w.shape[:2], **geom) if self.needs_grad[1] else None,
                sum_to(g, self.inputs[2].shape) if len(self.inputs) > 2 and self.needs_grad[2] else None)


class Conv2DGradInput(Function):
    """dx = col2im(g2d @ w2d.T) (+ b), shaped ``x_shape``: the transpose of Conv2D in its input."""

    def forward(self, g, w, b=None):
        return dispatch.conv2d_grad_input(g, w, self.x_shape, *self.strides, self.pads, b)

    def backward(self, gx):
        g, w = self.inputs[:2]
        geom = dict(strides=self.strides, pads=self.pads)
        bias = sum_to(gx, self.inputs[2].shape) if len(self.inputs) > 2 and self.needs_grad[2] else None
        if self.needs_grad[0] and self.needs_grad[1] and not is_grad_enabled():
            # Plain backward (no graph to record): both products at once (on the CPU from one im2col of gx).
            dg, dw = dispatch.conv2d_forward_and_grad_weight(gx.data, w.data, g.data, *self.strides, self.pads)
            return Tensor(dg, _copy=False), Tensor(dw, _copy=False), bias
        # <col2im(g w^T), gx> = <g, conv(gx, w)>, so both gradients come from the forward conv.
        return (Conv2D.apply(gx, w, **geom) if self.needs_grad[0] else None,
                Conv2DGradWeight.apply(gx, g, ksize=w.shape[:2], **geom) if self.needs_grad[1] else None,
                bias)


class Conv2DGradWeight(Function):
    """dw = im2col(x).T @ g2d, shaped (kh, kw, Cin, Cout): the transpose of Conv2D in its kernel."""

    def forward(self, x, g):
        return dispatch.conv2d_grad_weight(x, g, *self.ksize, *self.strides, self.pads)

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
