"""Keras 2.2 losses with the TensorFlow backend's exact numerics.

Each returns the per-sample loss (the last axis reduced, shape ``y_pred.shape[:-1]``) in ``y_pred``'s
dtype; the model averages over samples. Probabilities are clipped to [eps, 1 - eps] with Keras'
``epsilon() = 1e-7``, and the clip passes no gradient where it clips, as in TensorFlow.

The hot losses of the book's GANs (binary cross-entropy of probabilities, MSE, MAE) compute their
per-element values and row means through ``kernels.dispatch`` (NumPy reference on the CPU, one fused CUDA
kernel on CuPy arrays); their backward passes are Functions or Tensor ops, so second derivatives work.
"""
from .. import backend
from ..autograd.tensor import Function, OpError, Tensor, as_tensor
from ..kernels import dispatch
from ._util import constant_mask
from .activation import log_softmax, softplus
from .elementwise import cast, clip, div, log, square, sub
from .reduce import mean, sum as reduce_sum
from .shape import expand_dims, getitem, reshape

__all__ = ["binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
           "mean_squared_error", "mean_absolute_error", "mse", "mae", "MSE", "MAE"]

EPSILON = 1e-7  # keras.backend.epsilon()


def _targets(name, y_true, y_pred):
    """y_true and y_pred as Tensors of y_pred's dtype and equal shape, or an OpError saying how to fix them."""
    y_pred = as_tensor(y_pred)
    y_true = cast(as_tensor(y_true), y_pred.dtype)
    if y_pred.ndim == 0 or y_true.shape != y_pred.shape:
        raise OpError(f"{name}: y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}; they must "
                      "match and have at least 1 dimension (reshape labels of shape (N,) to (N, 1), or one-hot "
                      "class ids for categorical_crossentropy, or use sparse_categorical_crossentropy)")
    return y_true, y_pred


def _clip_probabilities(p):
    return clip(p, EPSILON, 1 - EPSILON)


def _clipped_logits(p):
    """Keras' logits of probabilities: log(q / (1 - q)) with q = p clipped to [eps, 1 - eps]."""
    q = _clip_probabilities(p)
    return log(div(q, sub(1, q)))


def _unclipped(p):
    """1 where the clip to [eps, 1 - eps] passes p through (bounds included), 0 where it clips: a constant."""
    lo, hi = p.dtype.type(EPSILON), p.dtype.type(1 - EPSILON)
    return constant_mask((p.data >= lo) & (p.data <= hi), p.dtype)


class _BinaryCrossentropy(Function):
    """Keras' per-element loss of probabilities p for targets t: softplus(z) - z*t with z = log(q / (1 - q)),
    q = clip(p). d/dt is -z; d/dp goes to ``_BinaryCrossentropyGrad``."""

    def forward(self, t, p):
        return dispatch.binary_crossentropy(t, p, EPSILON)

    def backward(self, g):
        t, p = self.inputs
        return (-(g * _clipped_logits(p)) if self.needs_grad[0] else None,
                _BinaryCrossentropyGrad.apply(t, p, g) if self.needs_grad[1] else None)


class _BinaryCrossentropyGrad(Function):
    """g * (q - t) / (q (1 - q)) where p is unclipped, 0 where the clip clipped (one kernel pass). Its own
    derivatives, as Tensor ops: in g it is itself (linear), in t -g*r and in p g*((q - t)^2 + t(1 - t))*r^2,
    with r = 1 / (q (1 - q)) where unclipped and 0 elsewhere."""

    def forward(self, t, p, g):
        return dispatch.binary_crossentropy_grad(t, p, g, EPSILON)

    def backward(self, gg):
        t, p, g = self.inputs
        q = _clip_probabilities(p)
        r = _unclipped(p) / (q * sub(1, q))
        w = gg * g
        return (-(w * r) if self.needs_grad[0] else None,
                w * (square(q - t) + t * sub(1, t)) * r * r if self.needs_grad[1] else None,
                _BinaryCrossentropyGrad.apply(t, p, gg) if self.needs_grad[2] else None)


def binary_crossentropy(y_true, y_pred, from_logits=False):
    """Keras: clip p, turn it back into logits z = log(p / (1 - p)), then TF's sigmoid_cross_entropy_with_logits
    max(z, 0) - z*t + log(1 + e^-|z|) (= softplus(z) - z*t), averaged over the last axis."""
    y_true, y_pred = _targets("binary_crossentropy", y_true, y_pred)
    if from_logits:
        return mean(sub(softplus(y_pred), y_pred * y_true), axis=-1)
    return mean(_BinaryCrossentropy.apply(y_true, y_pred), axis=-1)


def categorical_crossentropy(y_true, y_pred, from_logits=False):
    """-sum(t * log p) over the class (last) axis, after renormalising p to sum to 1 and clipping it."""
    y_true, y_pred = _targets("categorical_crossentropy", y_true, y_pred)
    if from_logits:
        log_p = log_softmax(y_pred, axis=-1)
    else:
        log_p = log(_clip_probabilities(div(y_pred, reduce_sum(y_pred, -1, keepdims=True))))
    return -reduce_sum(y_true * log_p, axis=-1)


def _class_ids(y_true, y_pred):
    """Integer class ids from labels of shape y_pred.shape[:-1] (optionally with a trailing 1), flattened."""
    data = y_true.data if isinstance(y_true, Tensor) else backend.xp().asarray(y_true)
    batch, classes = y_pred.shape[:-1], y_pred.shape[-1]
    if data.shape not in (batch, batch + (1,)):
        raise OpError(f"sparse_categorical_crossentropy: y_true has shape {data.shape} but y_pred has shape "
                      f"{y_pred.shape}; give one integer class id per sample, shape {batch} or {batch + (1,)}")
    ids = data.reshape(-1).astype("int64")
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= classes):
        raise OpError(f"sparse_categorical_crossentropy: class ids range over [{int(ids.min())}, {int(ids.max())}] "
                      f"but y_pred has {classes} classes; ids must lie in [0, {classes - 1}]")
    return ids


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    """Keras: logits = log(clip(p)), then TF's sparse_softmax_cross_entropy_with_logits (which renormalises)."""
    y_pred = as_tensor(y_pred)
    if y_pred.ndim == 0:
        raise OpError("sparse_categorical_crossentropy: y_pred is a scalar; give class scores of shape (N, classes)")
    ids = _class_ids(y_true, y_pred)
    logits = y_pred if from_logits else log(_clip_probabilities(y_pred))
    log_p = log_softmax(reshape(logits, (-1, y_pred.shape[-1])), axis=-1)
    picked = getitem(log_p, (backend.xp().arange(ids.size), ids))
    return -reshape(picked, y_pred.shape[:-1])


class _RowMeanError(Function):
    """mean over the last axis of (p - t)^2 or |p - t| in one kernel pass; the backward spreads g / n over the
    row times the elementwise slope (2 (p - t), or sign(p - t) as a constant: 0 at p == t, TF's sign)."""

    def forward(self, t, p):
        rows = dispatch.mean_squared_error_rows if self.squared else dispatch.mean_absolute_error_rows
        return rows(t, p)

    def backward(self, g):
        t, p = self.inputs
        d = sub(p, t)
        slope = 2.0 * d if self.squared else constant_mask(backend.xp().sign(d.data), d.dtype)
        gp = expand_dims(div(g, p.shape[-1]), -1) * slope
        return -gp if self.needs_grad[0] else None, gp if self.needs_grad[1] else None


def mean_squared_error(y_true, y_pred):
    y_true, y_pred = _targets("mean_squared_error", y_true, y_pred)
    return _RowMeanError.apply(y_true, y_pred, squared=True)


def mean_absolute_error(y_true, y_pred):
    """mean |pred - true| over the last axis; the gradient at pred == true is 0 (TF's sign)."""
    y_true, y_pred = _targets("mean_absolute_error", y_true, y_pred)
    return _RowMeanError.apply(y_true, y_pred, squared=False)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
