"""Finite-difference gradient checking in float64 (the way every op's backward is tested).

``gradcheck(f, inputs)`` compares the analytic gradient of ``sum(f(*inputs) * w)`` (``w`` a fixed
random weighting, so every output element matters) with central differences. ``mode='full'``
perturbs every input element; ``mode='directional'`` checks a few random directions, which is
cheap for large inputs (Chainer's ``check_backward`` does the same).
"""
import numpy

from . import backend
from .autograd.tensor import Tensor, grad as autograd_grad


class GradcheckError(AssertionError):
    """Analytic and numeric gradients disagree."""


def _as_float64_tensors(inputs):
    out = []
    for x in inputs:
        data = backend.to_numpy(x.data if isinstance(x, Tensor) else x)
        if data.dtype.kind == "f":
            data = data.astype(numpy.float64)
            out.append(Tensor(backend.xp().asarray(data), requires_grad=True))
        else:
            out.append(Tensor(backend.xp().asarray(data)))
    return out


def _weighted_scalar(f, tensors, weights):
    from . import ops
    y = f(*tensors)
    if weights[0] is None:
        weights[0] = Tensor(backend.xp().asarray(numpy.random.default_rng(1).standard_normal(y.shape)))
    return ops.sum_to(ops.mul(y, weights[0]), ())


def gradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, mode="full", n_directions=3, seed=0):
    """Raise GradcheckError when d/d(inputs) of f disagrees with central differences; return True.

    ``f`` takes Tensors and returns one Tensor. Float inputs are promoted to float64 and checked;
    integer inputs (labels, indices) are passed through unchanged.
    """
    with backend.default_dtype(numpy.float64):
        tensors = _as_float64_tensors(inputs)
        weights = [None]
        wanted = [t for t in tensors if t.requires_grad]
        analytic = [backend.to_numpy(g.data) for g in autograd_grad(_weighted_scalar(f, tensors, weights), wanted)]

        def value():
            return float(backend.to_numpy(_weighted_scalar(f, tensors, weights).data))

        rng = numpy.random.default_rng(seed)
        for k, (t, g_an) in enumerate(zip(wanted, analytic)):
            base = backend.to_numpy(t.data).copy()
            if mode == "full":
                g_num = numpy.zeros_like(base)
                flat = g_num.reshape(-1)
                for i in range(base.size):
                    pert = base.copy().reshape(-1)
                    pert[i] += eps
                    t.data = backend.xp().asarray(pert.reshape(base.shape))
                    plus = value()
                    pert[i] -= 2 * eps
                    t.data = backend.xp().asarray(pert.reshape(base.shape))
                    flat[i] = (plus - value()) / (2 * eps)
                t.data = backend.xp().asarray(base)
                if not numpy.allclose(g_an, g_num, atol=atol, rtol=rtol):
                    err = numpy.abs(g_an - g_num).max()
                    raise GradcheckError(f"input {k} (shape {base.shape}): max |analytic - numeric| = {err:.3g}\n"
                                         f"analytic={g_an.ravel()[:8]}\nnumeric={g_num.ravel()[:8]}")
            else:
                for _ in range(n_directions):
                    d = rng.standard_normal(base.shape)
                    t.data = backend.xp().asarray(base + eps * d)
                    plus = value()
                    t.data = backend.xp().asarray(base - eps * d)
                    num = (plus - value()) / (2 * eps)
                    t.data = backend.xp().asarray(base)
                    an = float((g_an * d).sum())
                    if not numpy.isclose(an, num, atol=atol * max(1.0, numpy.sqrt(d.size)), rtol=rtol):
                        raise GradcheckError(f"input {k} (shape {base.shape}): directional derivative "
                                             f"analytic {an:.8g} vs numeric {num:.8g}")
    return True
