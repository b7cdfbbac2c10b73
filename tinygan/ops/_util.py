"""Small helpers shared by op modules: turning arguments into Tensors and naming shapes in errors."""
from ..autograd.tensor import OpError, Tensor, as_tensor


def binary_operands(a, b):
    """Both operands as Tensors; a Python number takes the other operand's dtype."""
    if isinstance(a, Tensor):
        return a, as_tensor(b, like=a)
    b = as_tensor(b)
    return as_tensor(a, like=b), b


def broadcast_shape(op, *shapes):
    """The broadcast result shape, or an OpError naming the op and the shapes."""
    import numpy
    try:
        return numpy.broadcast_shapes(*shapes)
    except ValueError:
        raise OpError(f"{op}: shapes {' and '.join(map(str, shapes))} cannot be broadcast together; "
                      "make trailing dimensions equal or 1") from None


def normalize_axis(axis, ndim):
    """A tuple of non-negative axes (None means all)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(a % ndim for a in axes)
