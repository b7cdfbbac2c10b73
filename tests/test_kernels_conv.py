"""im2col/col2im: the Numba kernels against their array-code references, and col2im as im2col's adjoint."""
import numpy as np
import pytest

from tinygan.kernels import conv_lowering as cl

# (x shape, kh, kw, sh, sw, pads (top, bottom, left, right))
CASES = [
    ((2, 5, 6, 3), 3, 3, 1, 1, (0, 0, 0, 0)),
    ((2, 7, 7, 2), 4, 4, 2, 2, (1, 1, 1, 1)),
    ((1, 6, 5, 3), 3, 2, 2, 1, (0, 1, 2, 0)),  # asymmetric pads, unequal kernel and strides
    ((3, 4, 4, 1), 5, 5, 1, 1, (1, 2, 2, 1)),
    ((1, 9, 8, 2), 3, 3, 3, 2, (2, 0, 0, 3)),  # stride 3 leaves trailing rows unread
]


@pytest.mark.parametrize("shape, kh, kw, sh, sw, pads", CASES)
def test_im2col_kernel_equals_reference(shape, kh, kw, sh, sw, pads):
    x = np.random.default_rng(0).standard_normal(shape)
    expected = cl.im2col_reference(x, kh, kw, sh, sw, *pads)
    np.testing.assert_array_equal(cl.im2col(x, kh, kw, sh, sw, *pads), expected)
    x32 = x.astype(np.float32)
    got32 = cl.im2col(x32, kh, kw, sh, sw, *pads)
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, expected, rtol=1e-6)


@pytest.mark.parametrize("shape, kh, kw, sh, sw, pads", CASES)
def test_col2im_kernel_equals_reference(shape, kh, kw, sh, sw, pads):
    n, h, w, c = shape
    rows = n * cl.out_size(h, kh, sh, *pads[:2]) * cl.out_size(w, kw, sw, *pads[2:])
    cols = np.random.default_rng(1).standard_normal((rows, kh * kw * c))
    expected = cl.col2im_reference(cols, shape, kh, kw, sh, sw, pads)
    np.testing.assert_array_equal(cl.col2im(cols, shape, kh, kw, sh, sw, pads), expected)
    got32 = cl.col2im(cols.astype(np.float32), shape, kh, kw, sh, sw, pads)
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape, kh, kw, sh, sw, pads", CASES)
def test_col2im_is_adjoint_of_im2col(shape, kh, kw, sh, sw, pads):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape)
    cols = cl.im2col(x, kh, kw, sh, sw, *pads)
    c = rng.standard_normal(cols.shape)
    assert np.vdot(cols, c) == pytest.approx(np.vdot(x, cl.col2im(c, shape, kh, kw, sh, sw, pads)), rel=1e-12)


def test_im2col_reads_padding_as_zero_and_rows_in_kh_kw_c_order():
    x = np.arange(1.0, 5.0).reshape(1, 2, 2, 1)  # [[1, 2], [3, 4]]
    cols = cl.im2col(x, 2, 2, 1, 1, 1, 0, 1, 0)  # one pixel of padding at top and left
    np.testing.assert_array_equal(cols, [[0, 0, 0, 1], [0, 0, 1, 2], [0, 1, 0, 3], [1, 2, 3, 4]])
