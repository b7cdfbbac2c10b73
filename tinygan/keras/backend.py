"""``keras.backend`` (imported as ``K`` or ``backend`` by the book): tensor functions on Tensors.

Every function accepts Tensors, arrays or numbers and returns a Tensor built with ``tinygan.ops``, so
custom losses (WGAN's ``K.mean(y_true * y_pred)``), Lambda layers (SGAN's ``K.sum(K.exp(x), ...)``)
and constraints (``K.clip``) are differentiable like any other part of the graph. Comparisons,
``round`` and ``argmax`` give constant Tensors, as they have no gradient in Keras either.
Arrays and numbers become Tensors of ``floatx()``; Tensors keep their dtype.
"""
import math

import numpy

from .. import backend as _tg
from .. import ops
from .. import random as _random
from ..autograd import Tensor
from ..autograd import grad as _grad

_EPSILON = 1e-7


# ---- configuration ------------------------------------------------------------------------------

def epsilon():
    """The fuzz factor of losses and optimizers (Keras 2.2: 1e-7)."""
    return _EPSILON


def set_epsilon(value):
    """Change the fuzz factor everywhere Keras reads it, the fused loss ops' probability clipping included."""
    global _EPSILON
    _EPSILON = float(value)
    ops.losses.EPSILON = _EPSILON


def floatx():
    return _tg.get_default_dtype().name


def set_floatx(value):
    _tg.set_default_dtype(value)


def cast_to_floatx(x):
    return numpy.asarray(x, dtype=floatx())


def image_data_format():
    """Always 'channels_last': the engine's images are NHWC."""
    return "channels_last"


def set_image_data_format(data_format):
    if data_format != "channels_last":
        raise ValueError(f"tinygan only supports data_format 'channels_last' (NHWC), got {data_format!r}")


def backend():
    return "tinygan"


def clear_session():
    """Restart the automatic layer-name counters (``dense_1`` again), as Keras' clear_session does."""
    from .engine.base_layer import reset_uids
    reset_uids()


# ---- making and reading tensors -------------------------------------------------------------------

def _t(x):
    """``x`` as a Tensor: numbers, lists and float arrays take the default float dtype; integer arrays
    (class labels) stay integers."""
    return x if isinstance(x, Tensor) else Tensor(_tg.asarray(x), _copy=False)


def _const(data):
    """A Tensor from a raw result that carries no gradient (comparisons, argmax, random draws)."""
    return Tensor(data, _copy=False)


def variable(value, dtype=None, name=None):
    """A trainable Tensor (``requires_grad=True``) holding a copy of ``value``."""
    return Tensor(_tg.asarray(value, dtype=dtype or floatx()), requires_grad=True, name=name)


def constant(value, dtype=None, shape=None, name=None):
    data = _tg.asarray(value, dtype=dtype or floatx())
    if shape is not None:
        data = _tg.xp().broadcast_to(data, shape).copy()
    return Tensor(data, name=name, _copy=False)


def zeros(shape, dtype=None, name=None):
    return variable(numpy.zeros(shape), dtype, name)


def ones(shape, dtype=None, name=None):
    return variable(numpy.ones(shape), dtype, name)


def zeros_like(x, dtype=None, name=None):
    return _const(_tg.xp().zeros(_t(x).shape, dtype=dtype or _t(x).dtype))


def ones_like(x, dtype=None, name=None):
    return _const(_tg.xp().ones(_t(x).shape, dtype=dtype or _t(x).dtype))


def get_value(x):
    """A NumPy copy of a Tensor's value (numbers and arrays pass through)."""
    if isinstance(x, Tensor):
        return _tg.to_numpy(x.data).copy()
    return x


def batch_get_value(xs):
    return [get_value(x) for x in xs]


def set_value(x, value):
    """Overwrite a Tensor's value in place (same shape), e.g. ``K.set_value(opt.lr, 1e-4)``."""
    if isinstance(x.data, numpy.ndarray):  # a host Tensor (an optimizer's lr stays on the host on every device)
        value = numpy.asarray(_tg.to_numpy(value), dtype=x.dtype)
    else:
        value = _tg.xp().asarray(value, dtype=x.dtype)
    if value.size != x.size:
        raise ValueError(f"set_value: value of shape {value.shape} for a tensor of shape {x.shape}")
    x.data[...] = value.reshape(x.shape)
    x.bump_version()


def batch_set_value(tuples):
    for x, value in tuples:
        set_value(x, value)


def int_shape(x):
    """The shape as a tuple of ints (None for an unknown batch dimension of a symbolic tensor)."""
    shape = getattr(x, "_keras_shape", None)
    return tuple(shape) if shape is not None else tuple(numpy.shape(x) if not isinstance(x, Tensor) else x.shape)


def shape(x):
    """The runtime shape as an integer array (``K.shape(x)[0]`` is the batch size)."""
    return numpy.asarray(_t(x).shape, dtype=numpy.int64)


def ndim(x):
    return len(int_shape(x))


def dtype(x):
    return _t(x).dtype.name


def count_params(x):
    return int(math.prod(int_shape(x)))


def cast(x, dtype):
    return ops.cast(_t(x), dtype)


def is_tensor(x):
    return isinstance(x, Tensor)


def stop_gradient(x):
    return _t(x).detach()


def gradients(loss, variables):
    """d(loss)/d(variables) as Tensors (recorded, so they can be differentiated again: WGAN-GP)."""
    return _grad(loss, list(variables), create_graph=True)


# ---- elementwise math -------------------------------------------------------------------------------

def abs(x):
    return ops.abs(_t(x))


def sqrt(x):
    return ops.sqrt(_t(x))


def square(x):
    return ops.square(_t(x))


def exp(x):
    return ops.exp(_t(x))


def log(x):
    return ops.log(_t(x))


def sign(x):
    return ops.sign(_t(x))


def pow(x, a):
    return ops.pow(_t(x), a)


def clip(x, min_value, max_value):
    """Clip to [min_value, max_value]; like Keras, a max below the min is raised to the min."""
    if max_value is not None and max_value < min_value:
        max_value = min_value
    if max_value is None:
        max_value = numpy.inf
    return ops.clip(_t(x), min_value, max_value)


def maximum(x, y):
    return ops.maximum(_t(x), y)


def minimum(x, y):
    return ops.minimum(_t(x), y)


def round(x):
    """Round half to even (TensorFlow's rule: 0.5 -> 0, 1.5 -> 2); no gradient."""
    return _const(_tg.xp().round(_t(x).data))


def _compare(op):
    def compare(x, y):
        return _const(op(_t(x).data, _t(y).data))
    return compare


equal = _compare(lambda a, b: a == b)
not_equal = _compare(lambda a, b: a != b)
greater = _compare(lambda a, b: a > b)
greater_equal = _compare(lambda a, b: a >= b)
less = _compare(lambda a, b: a < b)
less_equal = _compare(lambda a, b: a <= b)


# ---- reductions -------------------------------------------------------------------------------------

def sum(x, axis=None, keepdims=False):
    return ops.sum(_t(x), axis, keepdims)


def mean(x, axis=None, keepdims=False):
    return ops.mean(_t(x), axis, keepdims)


def max(x, axis=None, keepdims=False):
    return ops.max(_t(x), axis, keepdims)


def min(x, axis=None, keepdims=False):
    return ops.min(_t(x), axis, keepdims)


def var(x, axis=None, keepdims=False):
    return ops.var(_t(x), axis, keepdims)


def std(x, axis=None, keepdims=False):
    return ops.std(_t(x), axis, keepdims)


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) computed stably by shifting with the (constant) maximum."""
    x = _t(x)
    shift = _const(_tg.xp().max(x.data, axis=axis, keepdims=True))
    out = log(sum(exp(x - shift), axis, keepdims=True)) + shift
    return out if keepdims else ops.squeeze(out, axis)


def l2_normalize(x, axis=None):
    """x / ||x|| along ``axis``, the squared norm floored at 1e-12 as in TensorFlow."""
    x = _t(x)
    return x / sqrt(maximum(sum(square(x), axis, keepdims=True), 1e-12))


def argmax(x, axis=-1):
    return _const(_tg.xp().argmax(_t(x).data, axis=axis))


def argmin(x, axis=-1):
    return _const(_tg.xp().argmin(_t(x).data, axis=axis))


# ---- activations ------------------------------------------------------------------------------------

def relu(x, alpha=0.0, max_value=None):
    """Keras' relu: leaky below zero when ``alpha`` is set, capped at ``max_value`` when given."""
    y = ops.leaky_relu(_t(x), alpha) if alpha else ops.relu(_t(x))
    return y if max_value is None else ops.minimum(y, max_value)


def sigmoid(x):
    return ops.sigmoid(_t(x))


def hard_sigmoid(x):
    """Keras' piecewise-linear sigmoid: clip(0.2*x + 0.5, 0, 1)."""
    return clip(_t(x) * 0.2 + 0.5, 0.0, 1.0)


def tanh(x):
    return ops.tanh(_t(x))


def softmax(x, axis=-1):
    return ops.softmax(_t(x), axis)


def softplus(x):
    return ops.softplus(_t(x))


def softsign(x):
    x = _t(x)
    return x / (ops.abs(x) + 1.0)


# ---- shapes -------------------------------------------------------------------------------------------

def reshape(x, shape):
    return ops.reshape(_t(x), tuple(shape))


def flatten(x):
    """All elements as one axis (Keras' K.flatten; the Flatten layer keeps the batch axis: batch_flatten)."""
    return ops.reshape(_t(x), (-1,))


def batch_flatten(x):
    return ops.flatten(_t(x))


def expand_dims(x, axis=-1):
    return ops.expand_dims(_t(x), axis)


def squeeze(x, axis):
    return ops.squeeze(_t(x), axis)


def concatenate(tensors, axis=-1):
    return ops.concatenate([_t(t) for t in tensors], axis)


def stack(x, axis=0):
    return ops.stack([_t(t) for t in x], axis)


def transpose(x):
    """Reverse the axes (a matrix transpose for 2-D input)."""
    return ops.transpose(_t(x), None)


def permute_dimensions(x, pattern):
    return ops.transpose(_t(x), tuple(pattern))


def dot(x, y):
    """Keras' dot: contracts the last axis of ``x`` with the second-to-last of ``y`` (the last if 1-D)."""
    x, y = _t(x), _t(y)
    if y.ndim <= 2:
        return ops.matmul(x, y)
    # Move y's contracted axis to the front and fold the rest into columns: (k, rest) -> one matmul.
    axes = (y.ndim - 2,) + tuple(i for i in range(y.ndim) if i != y.ndim - 2)
    cols = ops.reshape(ops.transpose(y, axes), (y.shape[-2], -1))
    out_shape = x.shape[:-1] + tuple(y.shape[a] for a in axes[1:])
    return ops.reshape(ops.matmul(x, cols), out_shape)


# ---- losses (Keras backend forms) ----------------------------------------------------------------------

def binary_crossentropy(target, output, from_logits=False):
    """Elementwise binary cross-entropy (the loss ``binary_crossentropy`` is its mean over the last axis).

    Keras clips probabilities to [eps, 1-eps], turns them back into logits z, and takes TensorFlow's
    sigmoid cross-entropy max(z, 0) - z*y + log(1 + exp(-|z|)) = softplus(z) - z*y.
    """
    output = _t(output)
    target = ops.cast(_t(target), output.dtype)
    if not from_logits:
        p = clip(output, _EPSILON, 1.0 - _EPSILON)
        output = log(p / (1.0 - p))
    return ops.softplus(output) - output * target


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    _last_axis_only("categorical_crossentropy", output, axis)
    return ops.categorical_crossentropy(target, _t(output), from_logits=from_logits)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    _last_axis_only("sparse_categorical_crossentropy", output, axis)
    return ops.sparse_categorical_crossentropy(target, _t(output), from_logits=from_logits)


def _last_axis_only(name, output, axis):
    if axis not in (-1, _t(output).ndim - 1):
        raise ValueError(f"{name}: only the last axis (axis=-1) holds the classes in tinygan, got axis={axis}")


# ---- random tensors --------------------------------------------------------------------------------

def _generator(seed):
    """The engine's global stream, or a private one when a seed is given (the same draw every call)."""
    return _random.generator() if seed is None else numpy.random.default_rng(seed)


def _draw(values, dtype):
    return _const(_tg.xp().asarray(values).astype(dtype or floatx()))


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return _draw(_generator(seed).standard_normal(tuple(shape)) * stddev + mean, dtype)


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    return _draw(_generator(seed).random(tuple(shape)) * (maxval - minval) + minval, dtype)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal draws, each redrawn until it lies within two standard deviations (TensorFlow's rule)."""
    rng = _generator(seed)
    z = rng.standard_normal(tuple(shape))
    outside = (z > 2.0) | (z < -2.0)
    while outside.any():
        z[outside] = rng.standard_normal(int(outside.sum()))
        outside = (z > 2.0) | (z < -2.0)
    return _draw(z * stddev + mean, dtype)
