"""Random ops: the masks come from ``tinygan.random`` so ``tinygan.random.seed`` makes runs repeatable."""
from .. import random as tg_random
from ..autograd.tensor import Function, OpError, as_tensor
from ..kernels import dispatch

__all__ = ["dropout"]


class _ApplyMask(Function):
    """``x * (keep * scale)`` for a constant boolean ``keep`` (attrs ``keep``, ``scale``), through
    ``kernels.dispatch.dropout_apply`` so CuPy arrays take the fused CUDA kernel. Linear in x, so its backward
    is the same op on the incoming gradient, to any order."""

    def forward(self, x):
        return dispatch.dropout_apply(x, self.keep, self.scale)

    def backward(self, g):
        return _ApplyMask.apply(g, keep=self.keep, scale=self.scale)


def dropout(x, rate, training=True, noise_shape=None):
    """Keras inverted dropout: keep each value with probability ``1 - rate`` and scale kept values by
    ``1 / (1 - rate)``, so inference needs no rescaling. ``noise_shape`` (None entries take x's size)
    shares one mask value along the axes where it is 1. Returns x unchanged when not training or
    ``rate == 0``. The gradient is the incoming gradient times the same mask."""
    x = as_tensor(x)
    if not 0 <= rate < 1:
        raise OpError(f"dropout: rate must be in [0, 1), got {rate}")
    if not training or rate == 0:
        return x
    keep = tg_random.generator().random(_noise_shape(x.shape, noise_shape)) >= rate
    return _ApplyMask.apply(x, keep=keep, scale=1.0 / (1.0 - rate))


def _noise_shape(shape, noise_shape):
    if noise_shape is None:
        return shape
    noise = tuple(n if s is None else s for s, n in zip(noise_shape, shape))
    if len(noise_shape) != len(shape) or any(s not in (1, n) for s, n in zip(noise, shape)):
        raise OpError(f"dropout: noise_shape {tuple(noise_shape)} does not fit input shape {shape}; give one entry "
                      "per axis, each None, 1 or the input's size")
    return noise
