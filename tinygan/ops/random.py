"""Random ops: the masks come from ``tinygan.random`` so ``tinygan.random.seed`` makes runs repeatable."""
from .. import random as tg_random
from ..autograd.tensor import OpError, Tensor, as_tensor
from .elementwise import mul

__all__ = ["dropout"]


def dropout(x, rate, training=True, noise_shape=None):
    """Keras inverted dropout: keep each value with probability ``1 - rate`` and scale kept values by
    ``1 / (1 - rate)``, so inference needs no rescaling. ``noise_shape`` (None entries take x's size)
    shares one mask value along the axes where it is 1. Returns x unchanged when not training or
    ``rate == 0``. The gradient is the same mask times the incoming gradient (it is a ``mul``)."""
    x = as_tensor(x)
    if not 0 <= rate < 1:
        raise OpError(f"dropout: rate must be in [0, 1), got {rate}")
    if not training or rate == 0:
        return x
    shape = _noise_shape(x.shape, noise_shape)
    keep = tg_random.generator().random(shape) >= rate
    mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - rate))
    return mul(x, Tensor(mask, _copy=False))


def _noise_shape(shape, noise_shape):
    if noise_shape is None:
        return shape
    noise = tuple(n if s is None else s for s, n in zip(noise_shape, shape))
    if len(noise_shape) != len(shape) or any(s not in (1, n) for s, n in zip(noise, shape)):
        raise OpError(f"dropout: noise_shape {tuple(noise_shape)} does not fit input shape {shape}; give one entry "
                      "per axis, each None, 1 or the input's size")
    return noise
