"""LSTM (Keras 2.2 ``keras.layers.recurrent``), enough for the book's chapter 2 model.

Gates in Keras order (input, forget, cell, output) in one ``(input_dim, 4*units)`` kernel, a
``(units, 4*units)`` recurrent kernel and a bias whose forget slice starts at 1 (``unit_forget_bias``).
The time loop is unrolled on Tensors, so gradients flow through it like any other graph.
"""
from ... import backend, ops
from ...autograd.tensor import Tensor
from .. import activations, initializers
from ..engine.base_layer import Layer
from ..engine.config import resolve, serialize_object


class LSTM(Layer):
    def __init__(self, units, activation="tanh", recurrent_activation="hard_sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, return_sequences=False, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = resolve(activations, activation)
        self.recurrent_activation = resolve(activations, recurrent_activation)
        self.use_bias, self.unit_forget_bias, self.return_sequences = use_bias, unit_forget_bias, return_sequences
        self.kernel_initializer = resolve(initializers, kernel_initializer)
        self.recurrent_initializer = resolve(initializers, recurrent_initializer)
        self.bias_initializer = resolve(initializers, bias_initializer)
        self.input_spec = {"ndim": 3}

    def build(self, input_shape):
        u = self.units
        self.kernel = self.add_weight("kernel", (input_shape[-1], 4 * u), self.kernel_initializer)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (u, 4 * u), self.recurrent_initializer)
        self.bias = self.add_weight("bias", (4 * u,), self.bias_initializer) if self.use_bias else None
        if self.bias is not None and self.unit_forget_bias:
            self.bias[u:2 * u] = 1.0
        self.built = True

    def call(self, inputs, training=False):
        u, n, steps = self.units, inputs.shape[0], inputs.shape[1]
        projected = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            projected = projected + self.bias
        h = c = Tensor(backend.xp().zeros((n, u), dtype=inputs.dtype), _copy=False)
        outputs = []
        for t in range(steps):
            z = projected[:, t] + ops.matmul(h, self.recurrent_kernel)
            gate = self.recurrent_activation
            i, f, o = gate(z[:, :u]), gate(z[:, u:2 * u]), gate(z[:, 3 * u:])
            c = f * c + i * self.activation(z[:, 2 * u:3 * u])
            h = o * self.activation(c)
            outputs.append(h)
        return ops.stack(outputs, 1) if self.return_sequences else h

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            return (input_shape[0], input_shape[1], self.units)
        return (input_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": activations.serialize(self.activation),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "use_bias": self.use_bias, "unit_forget_bias": self.unit_forget_bias,
                "return_sequences": self.return_sequences,
                "kernel_initializer": serialize_object(self.kernel_initializer),
                "recurrent_initializer": serialize_object(self.recurrent_initializer),
                "bias_initializer": serialize_object(self.bias_initializer)}


__all__ = ["LSTM"]
