"""The cuBLAS argument plan of kernels/cublas_gemm.py, checked on the CPU by running it the way cuBLAS reads
memory: column-major matrices with a leading dimension, over the operands' own buffers. A wrong op flag or
leading dimension gives the wrong product (or reads outside a buffer, which as_strided would expose)."""
import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided

from kernels.cublas_gemm import OP_N, plan


def _column_major(buffer, rows, cols, ld):
    """The (rows x cols) column-major matrix with leading dimension ``ld`` over ``buffer``, as cuBLAS sees it."""
    assert ld >= rows and (cols - 1) * ld + rows <= buffer.size, "cuBLAS would read outside the operand"
    return as_strided(buffer, (rows, cols), (buffer.itemsize, ld * buffer.itemsize))


def _gemm(trans_a, trans_b, m, n, k, a_buf, lda, b_buf, ldb, ldc):
    """What cublasSgemm computes: C (m x n, column-major, ld ldc) = op(A) @ op(B)."""
    a = _column_major(a_buf, m, k, lda) if trans_a == OP_N else _column_major(a_buf, k, m, lda).T
    b = _column_major(b_buf, k, n, ldb) if trans_b == OP_N else _column_major(b_buf, n, k, ldb).T
    c = np.zeros(max(ldc * n, 1), a_buf.dtype)
    _column_major(c, m, n, ldc)[...] = a @ b
    return c


def _buffer(x):
    """The operand's memory in order (a transposed view's is its base's)."""
    return np.ravel(x, order="C" if x.flags.c_contiguous else "F")


@pytest.mark.parametrize("m,k,n", [(5, 3, 4), (1, 7, 2), (6, 1, 1), (4, 4, 9)])
@pytest.mark.parametrize("a_t", [False, True])
@pytest.mark.parametrize("b_t", [False, True])
def test_the_plan_computes_the_row_major_product(m, k, n, a_t, b_t):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((k, m)).T if a_t else rng.standard_normal((m, k))  # a_t: F-contiguous, like w2d.T
    b = rng.standard_normal((n, k)).T if b_t else rng.standard_normal((k, n))
    op_b, op_a, mm, nn, kk, ld_b, ld_a, ld_c = plan(a.shape, a.flags.c_contiguous, b.shape, b.flags.c_contiguous)
    c = _gemm(op_b, op_a, mm, nn, kk, _buffer(b), ld_b, _buffer(a), ld_a, ld_c)
    out = c[:m * n].reshape(m, n)  # the column-major (n x m) C^T is the C-contiguous (m x n) C
    np.testing.assert_allclose(out, a @ b, rtol=1e-12)
