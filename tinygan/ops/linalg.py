"""Matrix product with batching and broadcast of leading dimensions (NumPy's ``matmul`` rules)."""
from .. import backend
from ..autograd.tensor import Function, OpError
from ..kernels import dispatch
from ._util import binary_operands, broadcast_shape
from .shape import reshape, sum_to, transpose

__all__ = ["matmul"]


def _swap_last(t):
    """The matrix transpose of a stack of matrices (last two axes swapped)."""
    axes = list(range(t.ndim))
    axes[-2:] = axes[-1], axes[-2]
    return transpose(t, axes)


class MatMul(Function):
    """``a @ b`` for ``a.ndim >= 2`` and ``b.ndim >= 2``.

    A 2-D ``b`` (a Dense kernel) is applied to ``(N, ..., in)`` as one GEMM on ``(N*..., in)``, and its
    gradient is that GEMM's transpose, instead of a batched product summed over the batch.
    """

    def forward(self, a, b):
        if b.ndim == 2 and a.ndim > 2:
            return dispatch.matmul(a.reshape(-1, a.shape[-1]), b).reshape(a.shape[:-1] + b.shape[-1:])
        if a.ndim == b.ndim == 2:  # on a GPU: tinygan's cuBLAS call, which a CUDA graph can record
            return dispatch.matmul(a, b)
        return backend.xp().matmul(a, b)

    def backward(self, g):
        a, b = self.inputs
        ga = gb = None
        if self.needs_grad[0]:
            ga = sum_to(matmul(g, _swap_last(b)), a.shape)
        if self.needs_grad[1]:
            if b.ndim == 2:
                gb = matmul(_swap_last(reshape(a, (-1, a.shape[-1]))), reshape(g, (-1, g.shape[-1])))
            else:
                gb = sum_to(matmul(_swap_last(a), g), b.shape)
        return ga, gb


def matmul(a, b):
    """``a @ b`` like ``numpy.matmul``: 1-D operands are treated as a row (a) or column (b) vector and that
    axis is dropped from the result; leading (batch) dimensions broadcast."""
    a, b = binary_operands(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise OpError(f"matmul: shapes {a.shape} @ {b.shape} include a scalar; use mul to scale by a scalar")
    k_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if a.shape[-1] != k_b:
        raise OpError(f"matmul: shapes {a.shape} @ {b.shape} have inner dimensions {a.shape[-1]} != {k_b}; the last "
                      "axis of a must equal the second-to-last of b (for Dense, the input's last axis must equal "
                      "the kernel's rows)")
    batch = broadcast_shape(f"matmul {a.shape} @ {b.shape}, leading (batch) dims", a.shape[:-2], b.shape[:-2])
    out_shape = tuple(batch) + a.shape[-2:-1] + (b.shape[-1:] if b.ndim > 1 else ())
    a2 = reshape(a, (1,) + a.shape) if a.ndim == 1 else a
    b2 = reshape(b, b.shape + (1,)) if b.ndim == 1 else b
    return reshape(MatMul.apply(a2, b2), out_shape)
