"""Batch and instance normalisation, channels last, with fused forward and backward kernels.

Both normalise x viewed as (G, M, C) (see kernels/norm.py): batch norm has one group (statistics over
every axis but the channels), instance norm one group per sample (statistics over the spatial axes).
They differ only in where eps goes, which shows up as two per-channel factors: ``inv`` (what
x - mean is multiplied by) and ``kappa`` in the backward.
"""
import numpy

from .. import backend
from ..autograd.tensor import Function, OpError, Tensor, as_tensor
from ..kernels import dispatch
from .activation import ThenLeakyReLU, leaky_relu, leaky_variant
from .elementwise import add, mul

__all__ = ["batch_norm", "instance_norm"]


def batch_norm(x, gamma, beta, eps=1e-3, training=True, moving_mean=None, moving_var=None, leaky_alpha=None):
    """Keras BatchNormalization over every axis but the last.

    Training: normalises with the batch statistics (biased variance) and returns
    ``(y, batch_mean, batch_var)``, the statistics as raw (C,) arrays for the layer's moving
    averages. Inference: a per-channel affine with ``moving_mean``/``moving_var`` (constants),
    returning ``y``. ``gamma``/``beta`` may be None (Keras ``scale=False``/``center=False``).
    Double backward through the training mode is not supported (raises NotImplementedError).
    ``leaky_alpha`` (>= 0): ``y`` is leaky_relu(normalised, leaky_alpha), fused (see ops.activation.ThenLeakyReLU).
    """
    x, gamma, beta = _check("batch_norm", x, gamma, beta)
    if not training:
        y = _inference(x, gamma, beta, moving_mean, moving_var, eps)
        return y if leaky_alpha is None else leaky_relu(y, leaky_alpha)
    mean, var = _moments(x.data, per_sample=False)
    y = _normalize("batch_norm", x, gamma, beta, leaky_alpha, per_sample=False, mean=mean,
                   inv=1.0 / backend.xp().sqrt(var + eps), kappa=1.0)
    return y, mean[0].astype(x.dtype), var[0].astype(x.dtype)


def instance_norm(x, gamma, beta, eps=1e-3, leaky_alpha=None):
    """keras-contrib InstanceNormalization(axis=-1): per sample and channel over the spatial axes,
    ``(x - mean) / (std + eps) * gamma + beta`` with the population std (eps outside the sqrt).
    ``gamma``/``beta`` may be None (scale/center off). Double backward is not supported.
    ``leaky_alpha`` as in :func:`batch_norm`."""
    x, gamma, beta = _check("instance_norm", x, gamma, beta)
    xp = backend.xp()
    mean, var = _moments(x.data, per_sample=True)
    std = xp.sqrt(var)
    # d(std)/dx carries a 1/std that the std + eps form does not cancel: kappa = (std + eps) / std.
    # Where std == 0 every x equals the mean, so the term it scales is 0 and any finite kappa will do.
    kappa = 1.0 + eps / xp.where(std > 0, std, xp.inf)
    return _normalize("instance_norm", x, gamma, beta, leaky_alpha, per_sample=True, mean=mean,
                      inv=1.0 / (std + eps), kappa=kappa)


def _normalize(op, x, gamma, beta, leaky_alpha, **stats):
    """Apply ``_Normalize`` (``_NormalizeLeakyReLU`` with a slope); a gamma or beta that is None is not an input."""
    params = [p for p in (gamma, beta) if p is not None]
    fn, extra = leaky_variant(op, _Normalize, _NormalizeLeakyReLU, leaky_alpha)
    return fn.apply(x, *params, op=op, has_gamma=gamma is not None, has_beta=beta is not None, **stats, **extra)


class _Normalize(Function):
    """Training-mode normalisation given the statistics: y = (x - mean) * inv * gamma + beta.

    Inputs are x, then gamma and beta where given. Attributes (all (G, C) raw arrays or scalars):
    ``mean``, ``inv``, ``kappa``; plus ``op``, ``per_sample``, ``has_gamma``, ``has_beta``.
    The backward is one reduction pass and one fused pass; its results are ``_FusedGrad`` nodes,
    so double backward through a norm is not supported and says so when tried.
    """

    def forward(self, x, *params):
        gamma, beta = self._gamma_beta(params)
        a = gamma * self.inv
        return _kernel("channel_affine")(_view(x, self.per_sample), a, beta - self.mean * a).reshape(x.shape)

    def backward(self, g):
        x = self.inputs[0]
        gamma, _ = self._gamma_beta([p.data for p in self.inputs[1:]])
        x3, g3 = _view(x.data, self.per_sample), _view(g.data, self.per_sample)
        sum_g, sum_gd = _kernel("centered_sums")(g3, x3, backend.xp().zeros_like(self.mean), self.mean)
        sum_gxhat = sum_gd * self.inv
        # the statistics' share of dx sums over every sample they were computed from (all ranks when synchronized)
        all_g, all_gxhat, m = self._statistics_sums(sum_g, sum_gxhat, x3.shape[1])
        # dx = gamma*inv * (g - mean(g) - xhat * mean(g*xhat) * kappa), written as p*g + q*x + r.
        p = gamma * self.inv
        q = -p * self.kappa * (all_gxhat / m) * self.inv
        r = -p * (all_g / m) - q * self.mean
        dx = _kernel("channel_affine2")(g3, p, x3, q, r).reshape(x.shape)
        grads = [dx]
        if self.has_gamma:
            grads.append(sum_gxhat.sum(axis=0))
        if self.has_beta:
            grads.append(sum_g.sum(axis=0))
        return tuple(_FusedGrad.apply(g, *self.inputs, value=v.astype(t.dtype, copy=False), op=self.op)
                     if need else None for v, t, need in zip(grads, self.inputs, self.needs_grad))

    def _statistics_sums(self, sum_g, sum_gxhat, m):
        """sum(g), sum(g * xhat) and the count over the samples behind the statistics: this batch's."""
        return sum_g, sum_gxhat, m

    def _gamma_beta(self, params):
        params = list(params)
        gamma = params.pop(0) if self.has_gamma else 1.0
        beta = params.pop(0) if self.has_beta else 0.0
        return gamma, beta


class _NormalizeLeakyReLU(ThenLeakyReLU, _Normalize):
    """leaky_relu(_Normalize(...)): the normalised values are not kept, only x and the output."""


class _FusedGrad(Function):
    """One gradient of a norm's fused backward (``value``, computed together with its siblings).

    Its inputs are everything the gradient depends on, so it sits in the graph; its own backward
    raises: double backward through batch_norm / instance_norm is not supported.
    """

    def forward(self, *arrays):
        return self.value

    def backward(self, g):
        raise NotImplementedError(f"double backward through {self.op} is not supported "
                                  "(use no normalisation in a critic trained with a gradient penalty)")


def _inference(x, gamma, beta, moving_mean, moving_var, eps):
    """Batch norm with fixed statistics: an ordinary per-channel affine, differentiable in x, gamma, beta."""
    if moving_mean is None or moving_var is None:
        raise OpError("batch_norm: training=False needs moving_mean and moving_var (the layer's moving averages)")
    xp = backend.xp()
    stats = []
    for name, s in (("moving_mean", moving_mean), ("moving_var", moving_var)):
        s = xp.asarray(s.data if isinstance(s, Tensor) else s)
        if s.shape != (x.shape[-1],):
            raise OpError(f"batch_norm: {name} has shape {s.shape} but the input {x.shape} has {x.shape[-1]} "
                          f"channels (last axis); give it shape ({x.shape[-1]},)")
        stats.append(s.astype(numpy.float64))
    inv = 1.0 / xp.sqrt(stats[1] + eps)
    y = add(mul(x, Tensor(inv.astype(x.dtype), _copy=False)), Tensor((-stats[0] * inv).astype(x.dtype), _copy=False))
    if gamma is not None:
        y = mul(y, gamma)
    return y if beta is None else add(y, beta)


def _moments(x, per_sample):
    """Mean and biased variance per (group, channel), in float64, from one centered pass."""
    x3 = _view(x, per_sample)
    m = x3.shape[1]
    shift = x3[:, 0, :].astype(numpy.float64)
    s1, s2 = _kernel("centered_sums")(x3, x3, shift, shift)
    d = s1 / m
    return shift + d, backend.xp().maximum(s2 / m - d * d, 0.0)


def _view(x, per_sample):
    """x as (G, M, C): one group for batch norm, one per sample for instance norm."""
    return x.reshape((x.shape[0] if per_sample else 1, -1, x.shape[-1]))


def _kernel(name):
    """The pass for these arrays: Numba on NumPy arrays, CUDA on CuPy arrays (see kernels/dispatch.py)."""
    return getattr(dispatch, name)


def _check(op, x, gamma, beta):
    """x, gamma, beta as Tensors (gamma/beta (C,) or None), or an OpError naming the shapes."""
    x = as_tensor(x)
    if x.ndim < 2 or x.size == 0:
        raise OpError(f"{op}: input of shape {x.shape} needs a batch axis and a channel axis (channels last) "
                      "and at least one element; reshape it to (N, ..., C)")
    c = x.shape[-1]
    params = [None if p is None else as_tensor(p) for p in (gamma, beta)]
    for name, p in zip(("gamma", "beta"), params):
        if p is not None and p.shape != (c,):
            raise OpError(f"{op}: {name} has shape {p.shape} but the input {x.shape} has {c} channels "
                          f"(last axis); give {name} shape ({c},)")
    return (x, *params)
