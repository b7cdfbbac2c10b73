"""Elementwise arithmetic with NumPy broadcasting; each op's forward and backward side by side.

Binary ops reduce each gradient back to its input's shape (``_unbroadcast``). Unary ops whose
backward is ``g * f'(x)`` subclass ``UnaryFunction`` and only state ``f'(x)``.
"""
import numpy

from .. import backend
from ..autograd.tensor import Function, OpError, Tensor, as_tensor
from ._util import UnaryFunction, binary_operands, broadcast_shape, constant_mask
from .shape import sum_to

__all__ = ["add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "square", "abs", "sign", "clip",
           "maximum", "minimum", "where", "cast"]


def _unbroadcast(g, x):
    """The gradient ``g`` of a broadcast result, summed down to input ``x``'s shape and dtype."""
    g = sum_to(g, x.shape)
    return g if g.dtype == x.dtype else cast(g, x.dtype)


# ---- binary arithmetic ------------------------------------------------------------------------

class BinaryFunction(Function):
    """A broadcasting binary op. Subclasses give ``name``, ``compute(a, b)`` on arrays, and the gradients
    ``grad_a(g, a, b)`` / ``grad_b(g, a, b)`` on Tensors at the broadcast shape; this base checks the
    shapes and reduces each gradient back to its input."""

    name = "binary op"

    def forward(self, a, b):
        broadcast_shape(self.name, a.shape, b.shape)
        return self.compute(a, b)

    def backward(self, g):
        a, b = self.inputs
        return (_unbroadcast(self.grad_a(g, a, b), a) if self.needs_grad[0] else None,
                _unbroadcast(self.grad_b(g, a, b), b) if self.needs_grad[1] else None)


class Add(BinaryFunction):
    name = "add"
    saves_inputs = False

    def compute(self, a, b):
        return a + b

    def grad_a(self, g, a, b):
        return g

    def grad_b(self, g, a, b):
        return g


def add(a, b):
    return Add.apply(*binary_operands(a, b))


class Sub(BinaryFunction):
    name = "sub"
    saves_inputs = False

    def compute(self, a, b):
        return a - b

    def grad_a(self, g, a, b):
        return g

    def grad_b(self, g, a, b):
        return -g


def sub(a, b):
    return Sub.apply(*binary_operands(a, b))


class Mul(BinaryFunction):
    name = "mul"

    def compute(self, a, b):
        return a * b

    def grad_a(self, g, a, b):
        return g * b

    def grad_b(self, g, a, b):
        return g * a


def mul(a, b):
    return Mul.apply(*binary_operands(a, b))


class Div(BinaryFunction):
    name = "div"

    def compute(self, a, b):
        return a / b

    def grad_a(self, g, a, b):
        return g / b

    def grad_b(self, g, a, b):
        return -(g * a) / (b * b)


def div(a, b):
    return Div.apply(*binary_operands(a, b))


class Pow(BinaryFunction):
    """a ** b. The exponent's gradient uses log(a) only where a > 0 (0 elsewhere), as TensorFlow does."""

    name = "pow"
    saves_output = True

    def compute(self, a, b):
        return a ** b

    def grad_a(self, g, a, b):
        return g * b * pow(a, b - 1)

    def grad_b(self, g, a, b):
        return g * self.output * log(where(a.data > 0, a, 1.0))


def pow(a, b):
    return Pow.apply(*binary_operands(a, b))


class Where(Function):
    """``a`` where ``cond`` else ``b`` (cond is a constant boolean array); each gradient goes to the chosen side."""

    def forward(self, a, b):
        broadcast_shape("where", self.cond.shape, a.shape, b.shape)
        return backend.xp().where(self.cond, a, b)

    def backward(self, g):
        a, b = self.inputs
        return (_unbroadcast(where(self.cond, g, 0.0), a) if self.needs_grad[0] else None,
                _unbroadcast(where(self.cond, 0.0, g), b) if self.needs_grad[1] else None)


def where(cond, a, b):
    cond = cond.data if isinstance(cond, Tensor) else backend.xp().asarray(cond)
    return Where.apply(*binary_operands(a, b), cond=cond.astype(bool))


def _choose(op, a, b, take_a):
    """maximum/minimum as a ``where`` on a mask computed from the values."""
    a, b = binary_operands(a, b)
    broadcast_shape(op, a.shape, b.shape)
    return Where.apply(a, b, cond=take_a(a.data, b.data))


def maximum(a, b):
    """Elementwise max; at ties the gradient goes to ``a`` (TensorFlow's rule)."""
    return _choose("maximum", a, b, lambda x, y: x >= y)


def minimum(a, b):
    """Elementwise min; at ties the gradient goes to ``a`` (TensorFlow's rule)."""
    return _choose("minimum", a, b, lambda x, y: x <= y)


# ---- unary ------------------------------------------------------------------------------------

class Neg(Function):
    saves_inputs = False

    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


def neg(x):
    return Neg.apply(as_tensor(x))


class Exp(UnaryFunction):
    saves_inputs, saves_output = False, True

    def forward(self, a):
        return backend.xp().exp(a)

    def derivative(self, x):
        return self.output


def exp(x):
    return Exp.apply(as_tensor(x))


class Log(UnaryFunction):
    def forward(self, a):
        return backend.xp().log(a)

    def derivative(self, x):
        return 1.0 / x


def log(x):
    return Log.apply(as_tensor(x))


class Sqrt(UnaryFunction):
    saves_inputs, saves_output = False, True

    def forward(self, a):
        return backend.xp().sqrt(a)

    def derivative(self, x):
        return 0.5 / self.output


def sqrt(x):
    return Sqrt.apply(as_tensor(x))


class Square(UnaryFunction):
    def forward(self, a):
        return a * a

    def derivative(self, x):
        return 2.0 * x


def square(x):
    return Square.apply(as_tensor(x))


class Abs(UnaryFunction):
    """|x|, with derivative sign(x) (0 at 0, TensorFlow's choice)."""

    def forward(self, a):
        return backend.xp().abs(a)

    def derivative(self, x):
        return Tensor(backend.xp().sign(x.data), _copy=False)


def abs(x):
    return Abs.apply(as_tensor(x))


class Sign(Function):
    """sign(x); its gradient is zero everywhere, so none is passed back."""

    def forward(self, a):
        return backend.xp().sign(a)

    def backward(self, g):
        return None


def sign(x):
    return Sign.apply(as_tensor(x))


class Clip(UnaryFunction):
    """Clamp to [lo, hi]. The gradient passes where lo <= x <= hi and is zero where clipped, as TF's
    clip_by_value (built from maximum and minimum) gives."""

    def forward(self, a):
        lo, hi = a.dtype.type(self.lo), a.dtype.type(self.hi)
        return backend.xp().clip(a, lo, hi)

    def derivative(self, x):
        lo, hi = x.dtype.type(self.lo), x.dtype.type(self.hi)
        return constant_mask((x.data >= lo) & (x.data <= hi), x.dtype)


def clip(x, lo, hi):
    if lo > hi:
        raise OpError(f"clip: lower bound {lo} is above upper bound {hi}; pass clip(x, lo, hi) with lo <= hi")
    return Clip.apply(as_tensor(x), lo=lo, hi=hi)


class Cast(Function):
    """Change dtype; the gradient is cast back. Casting to a non-float type passes no gradient."""

    saves_inputs = False

    def forward(self, a):
        return a.astype(self.dtype)

    def backward(self, g):
        if self.dtype.kind != "f":
            return None
        return cast(g, self.inputs[0].dtype)


def cast(x, dtype):
    x = as_tensor(x)
    dtype = numpy.dtype(dtype)
    return x if x.dtype == dtype else Cast.apply(x, dtype=dtype)
