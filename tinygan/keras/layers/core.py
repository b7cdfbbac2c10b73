"""Core layers: Dense, Activation, Dropout, Flatten, Reshape, Lambda (Keras 2.2 ``keras.layers.core``)."""
import importlib
import sys

import numpy

from ... import backend, ops
from ...autograd.tensor import Tensor, no_grad
from .. import activations, constraints, initializers
from ..engine.base_layer import Layer
from ..engine.config import custom_objects, in_safe_mode, resolve, serialize_object
from ..engine.input_layer import Input, InputLayer


def _no_regularizers(layer, **regularizers):
    given = sorted(k for k, v in regularizers.items() if v is not None)
    if given:
        raise NotImplementedError(f"{type(layer).__name__}: weight/activity regularizers are not supported ({given})")


class Dense(Layer):
    """``activation(inputs @ kernel + bias)``; kernel (in, units). On 3-D inputs it acts on the last axis."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        _no_regularizers(self, kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer)
        self.units = int(units)
        self.activation = resolve(activations, activation)
        self.use_bias = use_bias
        self.kernel_initializer = resolve(initializers, kernel_initializer)
        self.bias_initializer = resolve(initializers, bias_initializer)
        self.kernel_constraint = resolve(constraints, kernel_constraint)
        self.bias_constraint = resolve(constraints, bias_constraint)
        self.input_spec = {"min_ndim": 2}

    def build(self, input_shape):
        dim = input_shape[-1]
        if dim is None:
            raise ValueError(f"{self.name}: the last dimension of the input to Dense must be known, got {input_shape}")
        self.kernel = self.add_weight("kernel", (dim, self.units), self.kernel_initializer,
                                      constraint=self.kernel_constraint)
        self.bias = self.add_weight("bias", (self.units,), self.bias_initializer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.input_spec = {"min_ndim": 2, "axes": {-1: dim}}
        self.built = True

    def call(self, inputs, training=False):
        y = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias, "kernel_initializer": serialize_object(self.kernel_initializer),
                "bias_initializer": serialize_object(self.bias_initializer),
                "kernel_constraint": serialize_object(self.kernel_constraint),
                "bias_constraint": serialize_object(self.bias_constraint)}


class Activation(Layer):
    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = resolve(activations, activation)

    def call(self, inputs, training=False):
        return self.activation(inputs)

    @property
    def fusable_alpha(self):
        """0 for 'relu', a LeakyReLU of slope 0 that the conv or normalisation before it may apply inside its own
        op (as CycleGAN's InstanceNormalization -> Activation('relu') pairs); None for other activations."""
        return 0.0 if self.activation is activations.relu else None

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Dropout(Layer):
    """Inverted dropout in training mode (``Dropout(0.5)(x, training=True)`` keeps it on in predict)."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = min(1.0, max(0.0, float(rate)))
        self.noise_shape = noise_shape
        self.seed = seed

    def call(self, inputs, training=False):
        if not training or not 0.0 < self.rate < 1.0:
            return inputs
        return ops.dropout(inputs, self.rate, training=True, noise_shape=self.noise_shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed}


class Flatten(Layer):
    """(batch, ...) -> (batch, product of the rest), in NHWC row-major order."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise NotImplementedError("Flatten: only data_format='channels_last' is supported")
        self.input_spec = {"min_ndim": 3}

    def call(self, inputs, training=False):
        return ops.flatten(inputs)

    def compute_output_shape(self, input_shape):
        if any(d is None for d in input_shape[1:]):
            raise ValueError(f'The shape of the input to "Flatten" is not fully defined (got {input_shape[1:]}). '
                             "Make sure to pass a complete `input_shape` or `batch_input_shape` argument to the "
                             "first layer in your model.")
        return (input_shape[0], int(numpy.prod(input_shape[1:])))


class Reshape(Layer):
    """Reshape every sample to ``target_shape`` (one entry may be -1)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)

    def _resolved(self, input_shape):
        size = int(numpy.prod(input_shape[1:])) if None not in input_shape[1:] else None
        target = list(self.target_shape)
        known = int(numpy.prod([d for d in target if d != -1]))
        if -1 in target and size is not None:
            if target.count(-1) > 1 or known == 0 or size % known:
                raise ValueError(f"{self.name}: cannot reshape {input_shape[1:]} into {self.target_shape}")
            target[target.index(-1)] = size // known
        elif size is not None and size != known:
            raise ValueError(f"{self.name}: total size of new array must be unchanged; cannot reshape "
                             f"{input_shape[1:]} ({size} values) into {self.target_shape} ({known} values)")
        return tuple(target)

    def call(self, inputs, training=False):
        return ops.reshape(inputs, (inputs.shape[0],) + self._resolved((None,) + inputs.shape[1:]))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolved(input_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Lambda(Layer):
    """Wrap ``function(inputs, **arguments)`` written with ``keras.backend`` ops on Tensors.

    Without ``output_shape`` the shape is found by running the function once on zeros. A saved Lambda
    stores the function's module and name; loading finds it in ``custom_objects`` (or among tinygan's
    built-ins) and imports nothing unless told ``safe_mode=False``.
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        self.function = function
        self.arguments = dict(arguments or {})
        self._output_shape = output_shape

    def call(self, inputs, training=False):
        return self.function(inputs, **self.arguments)

    def compute_output_shape(self, input_shape):
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        if self._output_shape is not None:
            return (input_shape[0] if not isinstance(input_shape, list) else input_shape[0][0],) + \
                tuple(self._output_shape)
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        dummies = [Tensor(backend.xp().zeros(tuple(1 if d is None else d for d in s), dtype=self.dtype), _copy=False)
                   for s in shapes]
        with no_grad():
            out = self.call(dummies if isinstance(input_shape, list) else dummies[0])
        if isinstance(out, (list, tuple)):
            return [(None,) + o.shape[1:] for o in out]
        return (None,) + out.shape[1:]

    def get_config(self):
        fn = self.function
        return {**super().get_config(), "function": fn.__name__, "function_type": "function", "module": fn.__module__,
                "arguments": self.arguments, "output_shape_type": "raw", "output_shape_module": None,
                "output_shape": None if self._output_shape is None or callable(self._output_shape)
                else list(self._output_shape)}

    @classmethod
    def from_config(cls, config):
        """Keras' and tinygan's Lambda configs; the function comes from ``custom_objects`` or tinygan's built-ins
        (and, only with ``safe_mode=False``, from importing the module the file names). Functions stored as
        Python bytecode (Keras' ``function_type='lambda'``) are never run."""
        config = dict(config)
        fn = _lambda_function(config.get("name"), config.pop("function"), config.pop("function_type", "function"),
                              config.pop("module", None))
        if config.pop("output_shape_type", "raw") != "raw":  # a function stored as code: computed by running fn
            config["output_shape"] = None
        config.pop("output_shape_module", None)
        return cls(fn, **config)


_BUILTIN_MODULES = ("tinygan.keras.backend", "tinygan.keras.activations")


def _builtin_function(module, name):
    """A tinygan math function named by a config (backend, activations, ops), looked up without importing."""
    if not isinstance(module, str) or not (module in _BUILTIN_MODULES or module.startswith("tinygan.ops.")) or \
            name.startswith(("_", "set_", "batch_set_", "clear_")):  # math only, not the global-state setters
        return None
    fn = getattr(sys.modules.get(module), name, None)
    defined_by_tinygan = str(getattr(fn, "__module__", "")).startswith("tinygan.")
    return fn if callable(fn) and not isinstance(fn, type) and defined_by_tinygan else None


def _lambda_function(layer, function, function_type, module):
    scope = custom_objects()
    if function_type != "function" or not isinstance(function, str):
        if layer in scope:
            return scope[layer]
        raise ValueError(f"Lambda layer {layer!r} stores its function as Python bytecode, which tinygan never runs "
                         f"(not even with safe_mode=False): pass the function by the layer's name, load_model(..., "
                         f"custom_objects={{'{layer}': your_function}})")
    fn = scope.get(function) or _builtin_function(module, function)
    if fn is not None:
        return fn
    if in_safe_mode() or not module:
        raise ValueError(f"Lambda layer {layer!r} calls {function!r} from module {module!r}, which is not a tinygan "
                         f"built-in; loading never imports a module named by a file: pass the function, "
                         f"load_model(..., custom_objects={{'{function}': {function}}}), or load with "
                         "safe_mode=False if you trust the file")
    fn = getattr(importlib.import_module(module), function, None)
    if fn is None:
        raise ValueError(f"Lambda layer {layer!r}: module {module!r} has no function {function!r}")
    return fn


__all__ = ["Activation", "Dense", "Dropout", "Flatten", "Input", "InputLayer", "Lambda", "Reshape"]
