"""Keras 2.2 weight initializers: ``init(shape, dtype) -> array`` on the current device.

Draws come from ``tinygan.random`` (the engine's global stream, so ``tinygan.random.seed`` makes a
whole model reproducible); an initializer built with ``seed=`` gives the same array on every call.
"""
import math

import numpy

from .. import backend as tg_backend
from . import backend as K


class Initializer:
    """Base class: ``__call__(shape, dtype=None)`` returns an array; configs round-trip through ``deserialize``."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return tg_backend.xp().zeros(tuple(shape), dtype=dtype or K.floatx())


class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return tg_backend.xp().ones(tuple(shape), dtype=dtype or K.floatx())


class Constant(Initializer):
    def __init__(self, value=0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return tg_backend.xp().full(tuple(shape), self.value, dtype=dtype or K.floatx())

    def get_config(self):
        return {"value": self.value}


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        return K.random_normal(shape, self.mean, self.stddev, dtype, self.seed).data

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype=None):
        return K.random_uniform(shape, self.minval, self.maxval, dtype, self.seed).data

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    """Normal draws redrawn until within two standard deviations of the mean."""

    def __call__(self, shape, dtype=None):
        return K.truncated_normal(shape, self.mean, self.stddev, dtype, self.seed).data


def _compute_fans(shape):
    """Keras' fans: (in, out) for a Dense kernel; receptive field * shape[-2] and * shape[-1] for
    conv kernels, so a Conv2DTranspose kernel (kh, kw, out, in) gets its fans swapped exactly as in Keras."""
    if len(shape) == 2:
        return shape[0], shape[1]
    if len(shape) in (3, 4, 5):
        receptive = math.prod(shape[:-2])
        return shape[-2] * receptive, shape[-1] * receptive
    side = math.sqrt(math.prod(shape))
    return side, side


class VarianceScaling(Initializer):
    """Variance ``scale / fan`` (fan_in, fan_out or their average); 'normal' draws a truncated normal
    whose standard deviation is corrected for the truncation, 'uniform' draws from +-sqrt(3*variance)."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="normal", seed=None):
        if scale <= 0.0:
            raise ValueError(f"VarianceScaling: scale must be positive, got {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}")
        distribution = "normal" if distribution == "truncated_normal" else distribution  # tf.keras' name for it
        if distribution not in ("normal", "uniform"):
            raise ValueError(f"VarianceScaling: distribution must be 'normal' or 'uniform', got {distribution!r}")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = _compute_fans(tuple(shape))
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, fan)
        if self.distribution == "normal":
            # 0.8796... is the standard deviation of a unit normal truncated to [-2, 2].
            return K.truncated_normal(shape, 0.0, math.sqrt(variance) / 0.87962566103423978, dtype, self.seed).data
        limit = math.sqrt(3.0 * variance)
        return K.random_uniform(shape, -limit, limit, dtype, self.seed).data

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


class Orthogonal(Initializer):
    """A random orthogonal matrix (from the QR decomposition of a normal draw), reshaped to ``shape``."""

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def __call__(self, shape, dtype=None):
        rows = math.prod(shape[:-1])
        flat = (rows, shape[-1])
        a = K.get_value(K.random_normal(flat if rows > shape[-1] else flat[::-1], dtype="float64", seed=self.seed))
        q, r = numpy.linalg.qr(a)
        q = q * numpy.sign(numpy.diag(r))
        q = q if rows > shape[-1] else q.T
        return tg_backend.xp().asarray((self.gain * q).reshape(shape), dtype=dtype or K.floatx())

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


def glorot_uniform(seed=None):
    return VarianceScaling(1.0, "fan_avg", "uniform", seed)


def glorot_normal(seed=None):
    return VarianceScaling(1.0, "fan_avg", "normal", seed)


def he_uniform(seed=None):
    return VarianceScaling(2.0, "fan_in", "uniform", seed)


def he_normal(seed=None):
    return VarianceScaling(2.0, "fan_in", "normal", seed)


def lecun_uniform(seed=None):
    return VarianceScaling(1.0, "fan_in", "uniform", seed)


def lecun_normal(seed=None):
    return VarianceScaling(1.0, "fan_in", "normal", seed)


_CLASSES = {cls.__name__: cls for cls in (Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal,
                                          VarianceScaling, Orthogonal)}


def serialize(initializer):
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}


# The class names Keras 2.3+ and tf.keras write for the fan-based initializers (files made by them).
_KERAS_CLASS_NAMES = {"GlorotUniform": glorot_uniform, "GlorotNormal": glorot_normal, "HeUniform": he_uniform,
                      "HeNormal": he_normal, "LecunUniform": lecun_uniform, "LecunNormal": lecun_normal}


def deserialize(config, custom_objects=None):
    """An initializer from ``{'class_name': ..., 'config': {...}}``."""
    name = config["class_name"]
    if name in _KERAS_CLASS_NAMES and name not in (custom_objects or {}):
        return _KERAS_CLASS_NAMES[name](**config.get("config", {}))
    cls = (custom_objects or {}).get(name) or _CLASSES.get(name)
    if cls is None:
        raise ValueError(f"unknown initializer class {name!r}; known: {sorted(_CLASSES)} "
                         "(pass custom ones in custom_objects)")
    return cls.from_config(config.get("config", {}))


_BY_NAME = {
    "zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones, "constant": Constant,
    "random_normal": RandomNormal, "normal": RandomNormal, "random_uniform": RandomUniform, "uniform": RandomUniform,
    "truncated_normal": TruncatedNormal, "orthogonal": Orthogonal, "variance_scaling": VarianceScaling,
    "glorot_uniform": glorot_uniform, "glorot_normal": glorot_normal, "he_uniform": he_uniform,
    "he_normal": he_normal, "lecun_uniform": lecun_uniform, "lecun_normal": lecun_normal,
}


def get(identifier):
    """An initializer from a name ('glorot_uniform', 'zeros', ...), a config dict or a callable (None stays None)."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        factory = _BY_NAME.get(identifier) or _CLASSES.get(identifier)
        if factory is None:
            raise ValueError(f"unknown initializer {identifier!r}; known: {sorted(_BY_NAME)}")
        return factory()
    if callable(identifier):
        return identifier
    raise ValueError(f"could not interpret initializer identifier {identifier!r}")
