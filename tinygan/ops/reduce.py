"""Reductions over ``axis`` (an int, a tuple, or None for all) with ``keepdims``.

sum, max and min are Functions; mean, var and std are built from them, so their gradients (and second
derivatives) come for free.
"""
import math

from ..autograd.tensor import Function, OpError, Tensor, as_tensor
from ._util import normalize_axis
from .elementwise import div, sqrt, square, sub
from .shape import broadcast_to, reshape

__all__ = ["sum", "mean", "max", "min", "var", "std"]


class _Reduction(Function):
    """Shared bookkeeping: ``axes`` (normalised) and ``keepdims`` are attrs; ``_spread(g)`` lays a
    gradient of the reduced shape back over the input's shape."""

    def _kept_shape(self):
        return tuple(1 if i in self.axes else n for i, n in enumerate(self.inputs[0].shape))

    def _spread(self, g):
        return broadcast_to(reshape(g, self._kept_shape()), self.inputs[0].shape)


class Sum(_Reduction):
    saves_inputs = False

    def forward(self, a):
        return a.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, g):
        return self._spread(g)


def sum(x, axis=None, keepdims=False):
    x = as_tensor(x)
    return Sum.apply(x, axes=normalize_axis(axis, x.ndim, "sum"), keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    x = as_tensor(x)
    axes = normalize_axis(axis, x.ndim, "mean")
    return div(sum(x, axes, keepdims), math.prod(x.shape[a] for a in axes))


class Max(_Reduction):
    """max over axes; the gradient is split equally among the elements tied for the max."""

    reduce = "max"
    saves_output = True

    def forward(self, a):
        return getattr(a, self.reduce)(axis=self.axes, keepdims=self.keepdims)

    def backward(self, g):
        x = self.inputs[0].data
        ties = x == self.output.data.reshape(self._kept_shape())
        share = ties / ties.sum(axis=self.axes, keepdims=True)
        return self._spread(g) * Tensor(share.astype(x.dtype), _copy=False)


class Min(Max):
    reduce = "min"


def _extreme(cls, x, axis, keepdims):
    x = as_tensor(x)
    name = cls.reduce
    axes = normalize_axis(axis, x.ndim, name)
    if any(x.shape[a] == 0 for a in axes):
        raise OpError(f"{name}: cannot take the {name} over an empty axis of shape {x.shape}; "
                      "reduce only over non-empty axes")
    return cls.apply(x, axes=axes, keepdims=keepdims)


def max(x, axis=None, keepdims=False):
    return _extreme(Max, x, axis, keepdims)


def min(x, axis=None, keepdims=False):
    return _extreme(Min, x, axis, keepdims)


def var(x, axis=None, keepdims=False):
    """Biased (population, ddof=0) variance, as Keras' K.var."""
    x = as_tensor(x)
    axes = normalize_axis(axis, x.ndim, "var")
    return mean(square(sub(x, mean(x, axes, keepdims=True))), axes, keepdims)


def std(x, axis=None, keepdims=False):
    """Biased (population, ddof=0) standard deviation, as Keras' K.std."""
    return sqrt(var(x, axis, keepdims))
