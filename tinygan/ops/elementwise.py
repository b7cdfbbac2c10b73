"""Elementwise arithmetic with NumPy broadcasting; each op's forward and backward side by side."""
from ..autograd.tensor import Function
from ._util import binary_operands, broadcast_shape
from .shape import sum_to


class Add(Function):
    def forward(self, a, b):
        broadcast_shape("add", a.shape, b.shape)
        return a + b

    def backward(self, g):
        a, b = self.inputs
        return sum_to(g, a.shape), sum_to(g, b.shape)


def add(a, b):
    return Add.apply(*binary_operands(a, b))


class Mul(Function):
    def forward(self, a, b):
        broadcast_shape("mul", a.shape, b.shape)
        return a * b

    def backward(self, g):
        a, b = self.inputs
        return (sum_to(g * b, a.shape) if self.needs_grad[0] else None,
                sum_to(g * a, b.shape) if self.needs_grad[1] else None)


def mul(a, b):
    return Mul.apply(*binary_operands(a, b))
