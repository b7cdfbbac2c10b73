"""BatchNormalization (Keras 2.2) and InstanceNormalization (keras-contrib), channels last.

BatchNormalization in training mode normalises with the batch statistics (biased variance) and,
when the running model allows it (see ``engine.base_layer.Run``), moves its averages the way
Keras 2.2.4 on TensorFlow 1 does. The variance value is first corrected by ``n / (n - (1 + epsilon))``
(n values per channel). Keras' TF backend then calls ``assign_moving_average(..., zero_debias=True)``
(keras-team/keras#9003): a hidden average that starts at zero moves as
``biased -= (biased - value) * (1 - momentum)`` and, after t updates, the moving statistic becomes
``biased / (1 - momentum**t)``. So the first training step sets the moving statistics to that batch's
statistics, whatever they were initialised or set to. The hidden average and t are layer state
(``get_state``/``set_state``, kept by ``save``), not weights. Inference uses the moving statistics.
The weights are ``[gamma, beta, moving_mean, moving_variance]``. ``synchronized`` (a tinygan addition):
under ``mpiexec``, normalise with the statistics of all ranks' batches together (``tinygan.distributed.batchnorm``;
None, the default, follows ``TINYGAN_SYNC_BN``, which is off unless set).
"""
from ... import backend, ops
from ...distributed import batchnorm as sync_bn
from .. import constraints, initializers
from ..engine.base_layer import Layer, Run
from ..engine.config import resolve, serialize_object
from .core import _no_regularizers


class _Normalization(Layer):
    """gamma/beta handling shared by both normalisations."""

    def __init__(self, axis, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                 gamma_regularizer, beta_constraint, gamma_constraint, **kwargs):
        super().__init__(**kwargs)
        _no_regularizers(self, beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer)
        self.axis, self.epsilon, self.center, self.scale = axis, float(epsilon), center, scale
        self.beta_initializer = resolve(initializers, beta_initializer)
        self.gamma_initializer = resolve(initializers, gamma_initializer)
        self.beta_constraint = resolve(constraints, beta_constraint)
        self.gamma_constraint = resolve(constraints, gamma_constraint)

    def _channels(self, input_shape):
        if self.axis not in (-1, len(input_shape) - 1):
            raise NotImplementedError(f"{type(self).__name__}: only the last (channel) axis is supported, got "
                                      f"axis={self.axis} for inputs of shape {input_shape}")
        if input_shape[-1] is None:
            raise ValueError(f"Axis {self.axis} of input tensor should have a defined dimension but the layer "
                             f"received an input with shape {input_shape}.")
        self.input_spec = {"ndim": len(input_shape), "axes": {-1: input_shape[-1]}}
        return input_shape[-1]

    def _affine_weights(self, shape):
        self.gamma = self.add_weight("gamma", shape, self.gamma_initializer,
                                     constraint=self.gamma_constraint) if self.scale else None
        self.beta = self.add_weight("beta", shape, self.beta_initializer,
                                    constraint=self.beta_constraint) if self.center else None

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, "beta_initializer": serialize_object(self.beta_initializer),
                "gamma_initializer": serialize_object(self.gamma_initializer),
                "beta_constraint": serialize_object(self.beta_constraint),
                "gamma_constraint": serialize_object(self.gamma_constraint)}


class BatchNormalization(_Normalization):
    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 synchronized=None, **kwargs):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                         gamma_regularizer, beta_constraint, gamma_constraint, **kwargs)
        self.synchronized = synchronized
        self.momentum = float(momentum)
        self.moving_mean_initializer = resolve(initializers, moving_mean_initializer)
        self.moving_variance_initializer = resolve(initializers, moving_variance_initializer)

    def build(self, input_shape):
        shape = (self._channels(input_shape),)
        self._affine_weights(shape)
        self.moving_mean = self.add_weight("moving_mean", shape, self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight("moving_variance", shape, self.moving_variance_initializer,
                                               trainable=False)
        self._biased = [self.moving_mean.data * 0, self.moving_variance.data * 0]
        self._steps = 0
        self.built = True

    def call(self, inputs, training=False):
        return self._execute(inputs, training, Run(False))

    def _execute(self, inputs, training, run, leaky_alpha=None):
        if not training:
            return ops.batch_norm(inputs, self.gamma, self.beta, self.epsilon, False,
                                  self.moving_mean, self.moving_variance, leaky_alpha=leaky_alpha)
        if sync_bn.in_effect(self.synchronized):
            y, mean, var, n = sync_bn.sync_batch_norm(inputs, self.gamma, self.beta, self.epsilon, leaky_alpha)
        else:
            y, mean, var = ops.batch_norm(inputs, self.gamma, self.beta, self.epsilon, True, leaky_alpha=leaky_alpha)
            n = inputs.size // inputs.shape[-1]
        if run.updates_layer(self):
            debias = backend.xp().empty(1, self.moving_mean.dtype)  # 1 - momentum**t, filled by _count
            run.add_update(lambda: self._move(mean, var, n, debias), prepare=lambda: self._count(debias),
                           state=lambda: self._biased)
        return y

    def fused_leaky_relu(self, inputs, alpha, training, run):
        """LeakyReLU(alpha)(this layer's output) as one op (Network plans these pairs)."""
        return self._execute(inputs, training, run, leaky_alpha=alpha)

    def _count(self, debias):
        """The update's host part: one more step, and the zero-debias divisor 1 - momentum**t for it."""
        dtype = self.moving_mean.dtype.type
        self._steps += 1
        debias.fill(dtype(1.0) - (dtype(1.0) - dtype(1.0 - self.momentum)) ** dtype(self._steps))

    def _move(self, mean, var, n, debias):
        """The update's array part (no host arithmetic that changes between steps)."""
        dtype = self.moving_mean.dtype.type
        decay = dtype(1.0 - self.momentum)
        var = var * (dtype(n) / (dtype(n) - dtype(1.0 + self.epsilon)))
        for moving, biased, value in zip((self.moving_mean, self.moving_variance), self._biased, (mean, var)):
            biased -= (biased - value.astype(dtype)) * decay
            moving.data -= moving.data - biased / debias
            moving.bump_version()

    def get_state(self):
        return {"biased_mean": self._biased[0].copy(), "biased_variance": self._biased[1].copy(), "steps": self._steps}

    def set_state(self, state):
        self._biased = [backend.xp().array(state[k], dtype=self.moving_mean.dtype)
                        for k in ("biased_mean", "biased_variance")]
        self._steps = int(state["steps"])

    def get_config(self):
        config = {**super().get_config(), "momentum": self.momentum,
                  "moving_mean_initializer": serialize_object(self.moving_mean_initializer),
                  "moving_variance_initializer": serialize_object(self.moving_variance_initializer)}
        return config if self.synchronized is None else {**config, "synchronized": self.synchronized}


class InstanceNormalization(_Normalization):
    """keras-contrib: ``(x - mean) / (std + epsilon) * gamma + beta`` per sample, statistics over every axis
    but the batch and ``axis`` (population std). ``axis=None`` normalises each sample as a whole with a
    single gamma and beta. No moving statistics: training and inference compute the same thing."""

    def __init__(self, axis=None, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        if axis == 0:
            raise ValueError("Axis cannot be zero")
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                         gamma_regularizer, beta_constraint, gamma_constraint, **kwargs)

    def build(self, input_shape):
        self._affine_weights((1,) if self.axis is None else (self._channels(input_shape),))
        self.built = True

    def call(self, inputs, training=False):
        if self.axis is not None:
            return ops.instance_norm(inputs, self.gamma, self.beta, self.epsilon)
        axes = tuple(range(1, inputs.ndim))
        mean = ops.mean(inputs, axes, True)
        std = ops.sqrt(ops.mean(ops.square(inputs - mean), axes, True))
        y = (inputs - mean) / (std + self.epsilon)
        y = y * self.gamma if self.gamma is not None else y
        return y + self.beta if self.beta is not None else y

    def fused_leaky_relu(self, inputs, alpha, training, run):
        """LeakyReLU(alpha)(this layer's output) as one op, or None for axis=None (composed of plain ops)."""
        if self.axis is None:
            return None
        return ops.instance_norm(inputs, self.gamma, self.beta, self.epsilon, leaky_alpha=alpha)


__all__ = ["BatchNormalization", "InstanceNormalization"]
