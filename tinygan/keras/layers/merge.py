"""Merge layers (Keras 2.2 ``keras.layers.merge``): Concatenate and the elementwise merges."""
import functools

from ... import ops
from ..engine.base_layer import Layer


class _Merge(Layer):
    """Combines a list of same-shaped tensors elementwise with ``_combine(a, b)``."""

    def _check(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) < 2:
            raise ValueError(f"A merge layer ({self.name}) should be called on a list of at least 2 inputs. "
                             f"Got {input_shape!r}")

    def build(self, input_shape):
        self._check(input_shape)
        self.built = True

    def call(self, inputs, training=False):
        return functools.reduce(self._combine, inputs)

    def compute_output_shape(self, input_shape):
        shapes = {tuple(s[1:]) for s in input_shape}
        if len(shapes) > 1:
            raise ValueError(f"{self.name}: operands could not be broadcast together with shapes {input_shape}")
        return input_shape[0]


class Add(_Merge):
    _combine = staticmethod(ops.add)


class Subtract(_Merge):
    def call(self, inputs, training=False):
        if len(inputs) != 2:
            raise ValueError("A `Subtract` layer should be called on exactly 2 inputs")
        return inputs[0] - inputs[1]


class Multiply(_Merge):
    _combine = staticmethod(ops.mul)


class Maximum(_Merge):
    _combine = staticmethod(ops.maximum)


class Minimum(_Merge):
    _combine = staticmethod(ops.minimum)


class Average(_Merge):
    def call(self, inputs, training=False):
        return functools.reduce(ops.add, inputs) / float(len(inputs))


class Concatenate(_Merge):
    """Join along ``axis`` (default -1: channels); the other dimensions must match."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs, training=False):
        return ops.concatenate(list(inputs), self.axis)

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        rank = len(input_shape[0])
        axis = self.axis % rank
        rest = {tuple(d for i, d in enumerate(s) if i != axis) for s in input_shape}
        if len(rest) > 1 or any(len(s) != rank for s in input_shape):
            raise ValueError("A `Concatenate` layer requires inputs with matching shapes except for the concat "
                             f"axis. Got inputs shapes: {input_shape}")
        sizes = [s[axis] for s in input_shape]
        return tuple(input_shape[0][:axis]) + (None if None in sizes else sum(sizes),) + \
            tuple(input_shape[0][axis + 1:])

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def _functional(cls):
    def merge(inputs, **kwargs):
        return cls(**kwargs)(inputs)
    merge.__name__ = merge.__qualname__ = cls.__name__.lower()
    merge.__doc__ = f"Functional form of ``{cls.__name__}``: ``{cls.__name__.lower()}([x1, x2], **kwargs)``."
    return merge


add, subtract, multiply, maximum, minimum, average = map(
    _functional, (Add, Subtract, Multiply, Maximum, Minimum, Average))


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of ``Concatenate``: ``concatenate([x1, x2], axis=-1)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)

__all__ = ["Add", "Average", "Concatenate", "Maximum", "Minimum", "Multiply", "Subtract", "add", "average",
           "concatenate", "maximum", "minimum", "multiply", "subtract"]
