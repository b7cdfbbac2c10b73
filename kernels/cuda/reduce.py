"""Loss kernels on the GPU: Keras' binary cross-entropy fused per element, MSE / MAE row means.

* ``binary_crossentropy(y_true, y_pred, eps=1e-7)`` -> the per-element loss, TensorFlow backend
  numerics of Keras 2.2: ``p = clip(y_pred, eps, 1 - eps); z = log(p / (1 - p))``, then
  ``(max(z, 0) + log1p(exp(-|z|))) - z * t`` (``sigmoid_cross_entropy_with_logits``, summed in the order
  ``ops.binary_crossentropy`` uses: softplus(z) - z*t). The op takes the mean over the last axis. One
  pass instead of the ~9 launches (and temporaries) of the op graph.
* ``binary_crossentropy_grad(y_true, y_pred, g, eps=1e-7)`` -> ``g * dloss/dy_pred``:
  ``g * (p - t) / (p * (1 - p))`` where ``eps <= y_pred <= 1 - eps``, 0 where the clip clipped
  (TensorFlow's clip_by_value gradient passes at the bounds and is zero outside them).
* ``mean_squared_error_rows(y_true, y_pred)`` / ``mean_absolute_error_rows(y_true, y_pred)`` -> the
  mean over the last axis of (p - t)**2 / |p - t|, shape ``y_pred.shape[:-1]``, one thread per row with
  a float64 accumulator (the image losses of pix2pix have rows of 1-3 channels and millions of rows).
  Forward only: their gradients are plain broadcasting, which CuPy does in one launch anyway.

All compute in y_pred's dtype; y_true is converted to it first (labels often arrive as float64/int).
"""
import math

from numba import cuda

from . import TPB, array_module, blocks_1d, contiguous, launch, scalar


@cuda.jit
def _bce_kernel(t, p, lo, hi, one, zero, out):
    for i in range(cuda.grid(1), p.size, cuda.gridsize(1)):
        q = p[i]
        if q < lo:  # clip_by_value (written out: builtin min/max on floats needs a driver to compile)
            q = lo
        elif q > hi:
            q = hi
        z = math.log(q / (one - q))
        relu_z = z if z > zero else zero
        out[i] = (relu_z + math.log1p(math.exp(-abs(z)))) - z * t[i]  # softplus(z) - z*t, the op's order


@cuda.jit
def _bce_grad_kernel(t, p, g, lo, hi, one, zero, out):
    for i in range(cuda.grid(1), p.size, cuda.gridsize(1)):
        q = p[i]
        if q >= lo and q <= hi:
            out[i] = g[i] * (q - t[i]) / (q * (one - q))
        else:
            out[i] = zero


@cuda.jit
def _row_mean_kernel(t, p, absolute, out):
    rows = p.shape[0]
    length = p.shape[1]
    for r in range(cuda.grid(1), rows, cuda.gridsize(1)):
        acc = 0.0
        for k in range(length):
            d = float(p[r, k]) - float(t[r, k])
            acc += abs(d) if absolute else d * d
        out[r] = acc / length


def _pair(name, y_true, y_pred):
    y_pred = contiguous(y_pred)
    y_true = array_module(y_pred).ascontiguousarray(y_true, dtype=y_pred.dtype)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{name}: y_true {tuple(y_true.shape)} and y_pred {tuple(y_pred.shape)} differ in shape")
    return y_true, y_pred


def _bounds(dtype, eps):
    """(eps, 1 - eps) as Keras computes them: eps cast to the dtype, then 1 - eps in that dtype."""
    one, lo = scalar(1, dtype), scalar(eps, dtype)
    return lo, one - lo, one, scalar(0, dtype)


def binary_crossentropy(y_true, y_pred, eps=1e-7):
    """Per-element Keras binary cross-entropy of probabilities (same shape as y_pred)."""
    t, p = _pair("binary_crossentropy", y_true, y_pred)
    out = array_module(p).empty_like(p)
    if p.size:
        launch(_bce_kernel, blocks_1d(p.size), TPB, t.reshape(-1), p.reshape(-1), *_bounds(p.dtype, eps),
               out.reshape(-1))
    return out


def binary_crossentropy_grad(y_true, y_pred, g, eps=1e-7):
    """``g`` times the derivative of the per-element loss in y_pred (zero where y_pred was clipped)."""
    t, p = _pair("binary_crossentropy_grad", y_true, y_pred)
    g = array_module(p).ascontiguousarray(g, dtype=p.dtype)
    if g.shape != p.shape:
        raise ValueError(f"binary_crossentropy_grad: g {tuple(g.shape)} and y_pred {tuple(p.shape)} differ in shape")
    out = array_module(p).empty_like(p)
    if p.size:
        launch(_bce_grad_kernel, blocks_1d(p.size), TPB, t.reshape(-1), p.reshape(-1), g.reshape(-1),
               *_bounds(p.dtype, eps), out.reshape(-1))
    return out


def _row_mean(name, y_true, y_pred, absolute):
    t, p = _pair(name, y_true, y_pred)
    if p.ndim == 0:
        raise ValueError(f"{name}: needs at least 1 dimension")
    length = p.shape[-1]
    out = array_module(p).empty(p.shape[:-1], p.dtype)
    if out.size and length:
        launch(_row_mean_kernel, blocks_1d(out.size), TPB, t.reshape(-1, length), p.reshape(-1, length),
               absolute, out.reshape(-1))
    elif out.size:
        out[...] = float("nan")  # the mean of nothing, as NumPy gives
    return out


def mean_squared_error_rows(y_true, y_pred):
    """mean((y_pred - y_true)**2, axis=-1)."""
    return _row_mean("mean_squared_error_rows", y_true, y_pred, False)


def mean_absolute_error_rows(y_true, y_pred):
    """mean(|y_pred - y_true|, axis=-1)."""
    return _row_mean("mean_absolute_error_rows", y_true, y_pred, True)
