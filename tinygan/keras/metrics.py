"""Keras 2.2 metrics: ``metric(y_true, y_pred) -> Tensor`` of one value per sample (the model averages).

'accuracy' / 'acc' resolves the way Keras 2.2's ``compile`` does: binary accuracy when the output
has one unit or the loss is binary cross-entropy, sparse categorical accuracy for the sparse loss,
categorical accuracy otherwise.

Binary accuracy compares ``y_true`` with ``round(y_pred)`` for exact equality, as Keras does. So
with smoothed or noisy targets (0.9, 0.1, ...) it counts every sample as wrong; threshold the
labels yourself (``y > 0.5``) for a meaningful number. ``round`` is half-to-even: 0.5 becomes 0.

The accuracies read raw arrays and return constant Tensors: a metric carries no gradient.
"""
from .. import backend as tg_backend
from ..autograd import Tensor
from . import backend as K
from . import losses


def _arrays(y_true, y_pred):
    t, p = (x.data if isinstance(x, Tensor) else tg_backend.xp().asarray(x) for x in (y_true, y_pred))
    return t, p


def _same_shape(t, p):
    """Targets of shape (n,) against outputs (n, 1) are compared sample by sample, not broadcast to (n, n)."""
    return t.reshape(p.shape) if t.shape != p.shape and t.size == p.size else t


def _result(matches):
    return Tensor(matches.astype(K.floatx()), _copy=False)


def binary_accuracy(y_true, y_pred):
    """Mean over the last axis of (y_true == round(y_pred))."""
    t, p = _arrays(y_true, y_pred)
    return _result((_same_shape(t, p) == tg_backend.xp().round(p)).mean(axis=-1))


def categorical_accuracy(y_true, y_pred):
    """Whether the one-hot target's class is the predicted argmax."""
    t, p = _arrays(y_true, y_pred)
    return _result(t.argmax(axis=-1) == p.argmax(axis=-1))


def sparse_categorical_accuracy(y_true, y_pred):
    """Whether the integer target (shape (n,) or (n, 1)) is the predicted argmax."""
    t, p = _arrays(y_true, y_pred)
    return _result(t.reshape(p.shape[:-1]) == p.argmax(axis=-1))


def _accuracy_for(loss_fn, output_shape):
    """Keras 2.2's choice of accuracy for a given loss and output shape."""
    if (output_shape is not None and output_shape[-1] == 1) or loss_fn is losses.binary_crossentropy:
        return binary_accuracy
    if loss_fn is losses.sparse_categorical_crossentropy:
        return sparse_categorical_accuracy
    return categorical_accuracy


def _crossentropy_for(loss_fn, output_shape):
    """'crossentropy' / 'ce' picks the cross-entropy that matches the loss, like 'accuracy'."""
    acc = _accuracy_for(loss_fn, output_shape)
    return {binary_accuracy: losses.binary_crossentropy,
            sparse_categorical_accuracy: losses.sparse_categorical_crossentropy}.get(acc, losses.categorical_crossentropy)


_BY_NAME = {fn.__name__: fn for fn in (binary_accuracy, categorical_accuracy, sparse_categorical_accuracy)}


def get(identifier, loss_fn=None, output_shape=None):
    """A metric function from a name or a callable.

    'accuracy'/'acc' (and 'crossentropy'/'ce') depend on ``loss_fn`` (a loss function or its name) and
    ``output_shape`` (the model output's shape; a last dimension of 1 means binary). Loss names are
    metrics too ('mse', 'mae', ...).
    """
    if callable(identifier):
        return identifier
    if not isinstance(identifier, str):
        raise ValueError(f"could not interpret metric identifier {identifier!r}: give a name or a function")
    loss_fn = losses.get(loss_fn) if isinstance(loss_fn, str) else loss_fn
    if identifier in ("accuracy", "acc"):
        return _accuracy_for(loss_fn, output_shape)
    if identifier in ("crossentropy", "ce"):
        return _crossentropy_for(loss_fn, output_shape)
    if identifier in _BY_NAME:
        return _BY_NAME[identifier]
    try:
        return losses.get(identifier)
    except ValueError:
        raise ValueError(f"unknown metric {identifier!r}; known: 'accuracy', 'acc', {sorted(_BY_NAME)} "
                         "and every loss name") from None
