"""Keras 2.2 loss functions: ``loss(y_true, y_pred) -> Tensor`` of one value per sample.

Each averages over the last axis (or sums, for the cross-entropies over classes), as Keras does; the
model then takes the mean over the batch. The cross-entropies and squared/absolute errors are the
engine's fused ops (``tinygan.ops``, Keras clipping included); the rest are written with
``keras.backend`` like Keras writes them.
"""
from .. import ops
from ..autograd import Tensor
from . import backend as K


def _pair(y_true, y_pred):
    """Both as Tensors; float targets take the prediction's dtype (labels read from float64 arrays
    never upcast a float32 graph), integer targets stay integers (sparse cross-entropy)."""
    y_pred = K._t(y_pred)
    y_true = y_true if isinstance(y_true, Tensor) else K._t(y_true)
    if y_true.dtype.kind == "f" and y_true.dtype != y_pred.dtype:
        y_true = ops.cast(y_true, y_pred.dtype)
    return y_true, y_pred


def mean_squared_error(y_true, y_pred):
    return ops.mean_squared_error(*_pair(y_true, y_pred))


def mean_absolute_error(y_true, y_pred):
    return ops.mean_absolute_error(*_pair(y_true, y_pred))


def binary_crossentropy(y_true, y_pred):
    """Keras: mean over the last axis of the cross-entropy of probabilities clipped to [1e-7, 1-1e-7]."""
    return ops.binary_crossentropy(*_pair(y_true, y_pred))


def categorical_crossentropy(y_true, y_pred):
    return ops.categorical_crossentropy(*_pair(y_true, y_pred))


def sparse_categorical_crossentropy(y_true, y_pred):
    """Integer class targets of shape (n,) or (n, 1)."""
    return ops.sparse_categorical_crossentropy(*_pair(y_true, y_pred))


def mean_absolute_percentage_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    diff = K.abs((y_true - y_pred) / K.clip(K.abs(y_true), K.epsilon(), None))
    return 100.0 * K.mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    first = K.log(K.clip(y_pred, K.epsilon(), None) + 1.0)
    second = K.log(K.clip(y_true, K.epsilon(), None) + 1.0)
    return K.mean(K.square(first - second), axis=-1)


def hinge(y_true, y_pred):
    """Targets -1/+1."""
    y_true, y_pred = _pair(y_true, y_pred)
    return K.mean(K.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return K.mean(K.square(K.maximum(1.0 - y_true * y_pred, 0.0)), axis=-1)


def kullback_leibler_divergence(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = K.clip(y_true, K.epsilon(), 1)
    y_pred = K.clip(y_pred, K.epsilon(), 1)
    return K.sum(y_true * K.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return K.mean(y_pred - y_true * K.log(y_pred + K.epsilon()), axis=-1)


def logcosh(y_true, y_pred):
    """log(cosh(x)) written as x + softplus(-2x) - log(2), which cannot overflow."""
    y_true, y_pred = _pair(y_true, y_pred)
    x = y_pred - y_true
    return K.mean(x + K.softplus(-2.0 * x) - 0.6931471805599453, axis=-1)


def cosine_proximity(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return -K.sum(K.l2_normalize(y_true, axis=-1) * K.l2_normalize(y_pred, axis=-1), axis=-1)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence
cosine = cosine_proximity

_BY_NAME = {name: fn for name, fn in globals().items()
            if callable(fn) and not name.startswith("_") and getattr(fn, "__module__", None) == __name__}


def serialize(loss):
    return loss.__name__


def deserialize(name, custom_objects=None):
    """A loss function by name (Keras names and aliases, or a key of ``custom_objects``)."""
    fn = (custom_objects or {}).get(name) or _BY_NAME.get(name)
    if fn is None:
        raise ValueError(f"unknown loss {name!r}; known: {sorted(_BY_NAME)} "
                         "(pass custom losses such as wasserstein_loss in custom_objects)")
    return fn


def get(identifier):
    """A loss function from a name ('binary_crossentropy', 'mse', ...) or a callable (None stays None)."""
    if identifier is None or callable(identifier):
        return identifier
    if isinstance(identifier, str):
        return deserialize(identifier)
    raise ValueError(f"could not interpret loss identifier {identifier!r}: give a name or a function")
