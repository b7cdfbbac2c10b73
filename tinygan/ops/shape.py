"""Shape ops: broadcasting and its adjoint, reshape, transpose, concatenate, slicing, padding."""
from .. import backend
from ..autograd.tensor import Function


class BroadcastTo(Function):
    def forward(self, a):
        self.in_shape = a.shape
        return backend.xp().broadcast_to(a, self.shape)

    def backward(self, g):
        return sum_to(g, self.in_shape)


def broadcast_to(a, shape):
    shape = tuple(shape)
    return a if a.shape == shape else BroadcastTo.apply(a, shape=shape)


class SumTo(Function):
    """Sum a broadcast result back down to ``shape`` (the adjoint of broadcasting)."""

    def forward(self, a):
        self.in_shape = a.shape
        lead = a.ndim - len(self.shape)
        axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(self.shape) if n == 1 and a.shape[i + lead] != 1)
        out = a.sum(axis=axes, keepdims=True) if axes else a
        return out.reshape(self.shape)

    def backward(self, g):
        return broadcast_to(g, self.in_shape)


def sum_to(a, shape):
    shape = tuple(shape)
    return a if a.shape == shape else SumTo.apply(a, shape=shape)
