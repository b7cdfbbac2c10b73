"""Synchronized BatchNorm: the statistics of the global batch instead of each rank's.

Off by default: each rank normalises with its own batch's statistics, which is what the book's models do at
their own batch size (at Pix2Pix's batch of 1 per rank it is exactly the book's generator). On
(``BatchNormalization(synchronized=True)``, or ``TINYGAN_SYNC_BN=1`` / :func:`set_default` for every layer left
at ``synchronized=None``) N ranks with B samples each normalise like one process with N x B.

The forward all-reduces, per channel, the count, the sum and the sum of squares (float64); the backward
all-reduces sum(g) and sum(g * xhat), the two sums through which every sample's gradient depends on the shared
statistics. gamma's and beta's gradients stay per rank: the gradient all-reduce averages them with the rest.
Statistics are synchronized only in passes that compute gradients (``train_on_batch``); ``predict`` and
``evaluate`` keep per-rank statistics, so one rank can make samples while the others wait.
"""
import os

import numpy

from .. import backend
from ..autograd.tensor import is_grad_enabled
from ..kernels import dispatch
from ..ops import norm
from ..ops.activation import ThenLeakyReLU, leaky_variant
from .world import group, launched_size

_default = {"synchronized": None}


def set_default(flag):
    """Synchronize the BatchNormalization layers created with ``synchronized=None`` (True) or not (False)."""
    _default["synchronized"] = bool(flag)


def default_synchronized():
    if _default["synchronized"] is None:
        return os.environ.get("TINYGAN_SYNC_BN", "0").lower() in ("1", "true", "yes", "on")
    return _default["synchronized"]


def in_effect(synchronized):
    """Whether a BatchNorm layer with this setting synchronizes in the pass now running."""
    wanted = default_synchronized() if synchronized is None else synchronized
    return bool(wanted) and launched_size() > 1 and group().size > 1 and is_grad_enabled()


class _SyncNormalize(norm._Normalize):
    """Training-mode batch norm whose backward sums run over every rank's samples (``count`` of them)."""

    def _statistics_sums(self, sum_g, sum_gxhat, m):
        both = backend.xp().concatenate([sum_g, sum_gxhat])
        group().allreduce_sum([both], "all-reduce of BatchNorm's backward sums")
        return both[:1], both[1:], self.count


class _SyncNormalizeLeakyReLU(ThenLeakyReLU, _SyncNormalize):
    """leaky_relu(_SyncNormalize(...)), fused as the local op is."""


def sync_batch_norm(x, gamma, beta, eps=1e-3, leaky_alpha=None):
    """``ops.batch_norm`` in training mode with the statistics of every rank's batch together; returns
    ``(y, mean, var, count)``: the global statistics and how many values per channel they cover."""
    x, gamma, beta = norm._check("batch_norm", x, gamma, beta)
    xp = backend.xp()
    x3 = norm._view(x.data, per_sample=False)
    zero = xp.zeros((1, x3.shape[2]), dtype=numpy.float64)
    total, squares = dispatch.centered_sums(x3, x3, zero, zero)
    sums = xp.concatenate([total, squares, xp.full((1, x3.shape[2]), float(x3.shape[1]))])
    group().allreduce_sum([sums], "all-reduce of BatchNorm's statistics")
    count = sums[2]
    mean = (sums[0] / count)[None]
    var = xp.maximum(sums[1][None] / count - mean * mean, 0.0)
    params = [p for p in (gamma, beta) if p is not None]
    fn, extra = leaky_variant("batch_norm", _SyncNormalize, _SyncNormalizeLeakyReLU, leaky_alpha)
    y = fn.apply(x, *params, op="batch_norm", has_gamma=gamma is not None, has_beta=beta is not None,
                 per_sample=False, mean=mean, inv=1.0 / xp.sqrt(var + eps), kappa=1.0, count=float(count[0]),
                 **extra)
    return y, mean[0].astype(x.dtype), var[0].astype(x.dtype), int(count[0])
