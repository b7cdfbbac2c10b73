"""Small helpers shared by op modules: turning arguments into Tensors, constant masks, the unary-op
pattern, and naming shapes in errors."""
import functools

import numpy

from .. import backend
from ..autograd.tensor import Function, OpError, Tensor, as_tensor


@functools.lru_cache(maxsize=512)
def _device_scalar(xp, value, dtype):
    """A Python number as a 0-d GPU array, made once per value: making a fresh one for every ``x * 0.5``
    would copy it from the host each time (a synchronous transfer in the middle of a train step)."""
    return xp.asarray(value, dtype=dtype)


def _constant(value, like):
    """A non-Tensor operand as a Tensor. Next to a float tensor it takes that tensor's dtype (a float64
    constant never upcasts a float32 graph, as in Keras); next to an integer tensor a Python int takes
    its dtype and a float gets the default float dtype."""
    if like.dtype.kind == "f":
        xp = backend.xp()
        if xp is not numpy and isinstance(value, (int, float, numpy.number)):
            return Tensor(_device_scalar(xp, value, like.dtype), _copy=False)
        return Tensor(value, dtype=like.dtype)
    if isinstance(value, (float, numpy.floating)):
        return Tensor(value)
    return as_tensor(value, like=like)


def binary_operands(a, b):
    """Both operands as Tensors without upcasting a float tensor.

    A Python number or array takes the Tensor operand's dtype; an integer or boolean Tensor next to a
    float one is converted to the float dtype (it carries no gradient). Two float Tensors of different
    precision follow NumPy's promotion.
    """
    if not isinstance(a, Tensor):
        a = _constant(a, b) if isinstance(b, Tensor) else as_tensor(a)
    if not isinstance(b, Tensor):
        b = _constant(b, a)
    if a.dtype.kind == "f" and b.dtype.kind != "f":
        b = Tensor(b.data.astype(a.dtype), _copy=False)
    elif b.dtype.kind == "f" and a.dtype.kind != "f":
        a = Tensor(a.data.astype(b.dtype), _copy=False)
    return a, b


def constant_mask(cond, dtype):
    """A boolean mask (or an array of slopes) as a constant Tensor of ``dtype``: the derivative of
    piecewise-linear ops, so ``g * mask`` stays differentiable in ``g``."""
    return Tensor(cond.astype(dtype), _copy=False)


class UnaryFunction(Function):
    """An elementwise op whose backward is ``g * f'(x)``.

    Subclasses define ``forward(a)`` and ``derivative(x)``, which returns f'(x) as a Tensor built from
    Tensor ops (or from ``self.output``), so the gradient can itself be differentiated.
    """

    def backward(self, g):
        return g * self.derivative(self.inputs[0])

    def derivative(self, x):
        raise NotImplementedError


def broadcast_shape(op, *shapes):
    """The broadcast result shape, or an OpError naming the op and the shapes."""
    try:
        return numpy.broadcast_shapes(*shapes)
    except ValueError:
        raise OpError(f"{op}: shapes {' and '.join(map(str, shapes))} cannot be broadcast together; "
                      "make trailing dimensions equal or 1") from None


def normalize_axis(axis, ndim, op="axis"):
    """A tuple of distinct non-negative axes (None means all); an OpError for axes out of range."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, numpy.integer)) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise OpError(f"{op}: axis {a} is out of range for an input with {ndim} dimensions; "
                          f"use an axis in [{-ndim}, {ndim - 1}]")
    result = tuple(int(a) % ndim for a in axes)
    if len(set(result)) != len(result):
        raise OpError(f"{op}: repeated axis in {axis}; name each axis once")
    return result

