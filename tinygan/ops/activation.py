"""Activations. Derivatives are written with Tensor ops (or ``self.output``) so they can be
differentiated again; piecewise-linear ones multiply ``g`` by a constant mask."""
from .. import backend
from ..autograd.tensor import Function, OpError, as_tensor
from ..kernels import dispatch
from ._util import UnaryFunction, normalize_axis
from .elementwise import exp
from .reduce import sum as reduce_sum

__all__ = ["relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax", "softplus"]


class ReLU(Function):
    def forward(self, a):
        return backend.xp().maximum(a, 0)

    def backward(self, g):
        return _PiecewiseLinearGrad.apply(g, self.inputs[0], alpha=0.0)


def relu(x):
    return ReLU.apply(as_tensor(x))


class LeakyReLU(Function):
    def forward(self, a):
        return dispatch.leaky_relu_forward(a, self.alpha)

    def backward(self, g):
        return _PiecewiseLinearGrad.apply(g, self.inputs[0], alpha=self.alpha)


class _PiecewiseLinearGrad(Function):
    """The input gradient of relu / leaky_relu: ``g`` where x > 0, ``alpha * g`` elsewhere, in one fused pass
    (no slope array, no float mask). Linear in g with a slope that is constant in x almost everywhere, so its
    own backward is the same op on the incoming gradient (and nothing for x): any order of derivative works."""

    def forward(self, g, x):
        return dispatch.leaky_relu_backward(x, g, self.alpha)

    def backward(self, gg):
        return _PiecewiseLinearGrad.apply(gg, self.inputs[1], alpha=self.alpha), None


class ThenLeakyReLU:
    """Mixin for a Function (a conv, a normalisation): its output goes through leaky_relu(alpha >= 0) inside the
    same op, so the pre-activation is never kept for the backward (one activation-sized array less per pair):
    the mask comes from the output, since with alpha >= 0, y > 0 exactly where the pre-activation is > 0."""

    saves_output = True

    def forward(self, *arrays):
        return dispatch.leaky_relu_forward(super().forward(*arrays), self.alpha)

    def backward(self, g):
        return super().backward(_PiecewiseLinearGrad.apply(g, self.output, alpha=self.alpha))


def leaky_variant(op, plain, fused, leaky_alpha):
    """The Function to apply: ``plain``, or ``fused`` when a leaky_relu slope is given (checked: >= 0)."""
    if leaky_alpha is None:
        return plain, {}
    if not leaky_alpha >= 0:
        raise OpError(f"{op}: leaky_alpha must be >= 0 to fuse (the backward reads the mask off the output), "
                      f"got {leaky_alpha!r}; apply leaky_relu separately")
    return fused, {"alpha": float(leaky_alpha)}


def leaky_relu(x, alpha=0.3):
    """x for x > 0, alpha * x otherwise. alpha defaults to 0.3 like Keras' LeakyReLU layer."""
    return LeakyReLU.apply(as_tensor(x), alpha=alpha)


class Sigmoid(UnaryFunction):
    saves_inputs, saves_output = False, True

    def forward(self, a):
        """1 / (1 + e^-a), computed from e^-|a| so no exp overflows for large |a|."""
        xp = backend.xp()
        e = xp.exp(-xp.abs(a))
        return xp.where(a >= 0, 1 / (1 + e), e / (1 + e))

    def derivative(self, x):
        y = self.output
        return y * (1.0 - y)


def sigmoid(x):
    return Sigmoid.apply(as_tensor(x))


class Tanh(UnaryFunction):
    saves_inputs, saves_output = False, True

    def forward(self, a):
        return backend.xp().tanh(a)

    def derivative(self, x):
        y = self.output
        return 1.0 - y * y


def tanh(x):
    return Tanh.apply(as_tensor(x))


class Softplus(UnaryFunction):
    def forward(self, a):
        """log(1 + e^a) as max(a, 0) + log1p(e^-|a|): exact for large |a| (TensorFlow's stable form)."""
        xp = backend.xp()
        return xp.maximum(a, 0) + xp.log1p(xp.exp(-xp.abs(a)))

    def derivative(self, x):
        return sigmoid(x)


def softplus(x):
    return Softplus.apply(as_tensor(x))


class Softmax(Function):
    saves_inputs, saves_output = False, True

    def forward(self, a):
        xp = backend.xp()
        e = xp.exp(a - a.max(axis=self.axis, keepdims=True))
        return e / e.sum(axis=self.axis, keepdims=True)

    def backward(self, g):
        y = self.output
        return y * (g - reduce_sum(g * y, self.axis, keepdims=True))


class LogSoftmax(Function):
    saves_inputs, saves_output = False, True

    def forward(self, a):
        xp = backend.xp()
        shifted = a - a.max(axis=self.axis, keepdims=True)
        return shifted - xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))

    def backward(self, g):
        return g - exp(self.output) * reduce_sum(g, self.axis, keepdims=True)


def _over_axis(cls, name, x, axis):
    x = as_tensor(x)
    if x.ndim == 0:
        raise OpError(f"{name}: got a scalar; {name} normalises along an axis, so it needs at least 1 dimension")
    axes = normalize_axis(axis, x.ndim, name)
    if len(axes) != 1:
        raise OpError(f"{name}: axis must be a single int, got {axis!r}")
    return cls.apply(x, axis=axes[0])


def softmax(x, axis=-1):
    return _over_axis(Softmax, "softmax", x, axis)


def log_softmax(x, axis=-1):
    return _over_axis(LogSoftmax, "log_softmax", x, axis)
