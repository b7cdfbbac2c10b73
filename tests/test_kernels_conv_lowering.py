"""The blocked CPU convolution (kernels/conv_lowering.py conv2d_*) against the plain im2col/col2im lowering,
through every route: blocked or whole, Cin side or Cout side (stride 1), pointwise."""
import numpy as np
import pytest

from tinygan.kernels import conv_lowering as cl

rng = np.random.default_rng(0)


def _geometry(x_shape, kh, kw, sh, sw, pads):
    n, h, w, _ = x_shape
    return n, cl.out_size(h, kh, sh, *pads[:2]), cl.out_size(w, kw, sw, *pads[2:])


def ref_forward(x, w, sh, sw, pads):
    n, oh, ow = _geometry(x.shape, *w.shape[:2], sh, sw, pads)
    return (cl.im2col_reference(x, *w.shape[:2], sh, sw, *pads) @ w.reshape(-1, w.shape[3])).reshape(n, oh, ow, -1)


def ref_grad_input(g, w, x_shape, sh, sw, pads):
    cols = g.reshape(-1, w.shape[3]) @ w.reshape(-1, w.shape[3]).T
    return cl.col2im_reference(cols, x_shape, *w.shape[:2], sh, sw, pads)


def ref_grad_weight(x, g, kh, kw, sh, sw, pads):
    dw = cl.im2col_reference(x, kh, kw, sh, sw, *pads).T @ g.reshape(-1, g.shape[3])
    return dw.reshape(kh, kw, x.shape[3], g.shape[3])


# (x shape, kernel (kh, kw, Cin, Cout), strides, pads (t, b, l, r))
CASES = [
    ((2, 7, 6, 8), (3, 3, 8, 2), (1, 1), (1, 1, 1, 1)),     # stride 1, Cout << Cin: the Cout side
    ((2, 7, 7, 2), (3, 3, 2, 8), (1, 1), (1, 1, 1, 1)),     # stride 1, Cin << Cout: the Cin side
    ((3, 9, 9, 6), (7, 7, 6, 1), (1, 1), (3, 3, 3, 3)),     # DCGAN-MNIST's 7x7 output conv, small
    ((2, 6, 5, 8), (4, 4, 8, 3), (1, 1), (1, 2, 1, 2)),     # even kernel, asymmetric 'same'
    ((2, 6, 5, 8), (3, 2, 8, 3), (1, 1), (0, 0, 0, 0)),     # 'valid' (fewer outputs than inputs)
    ((2, 5, 5, 8), (3, 3, 8, 2), (1, 1), (4, 0, 3, 0)),     # padding > k-1: cannot swap sides
    ((2, 8, 8, 5), (4, 4, 5, 3), (2, 2), (1, 1, 1, 1)),     # stride 2
    ((2, 7, 7, 3), (3, 3, 3, 4), (2, 1), (1, 1, 0, 2)),     # mixed strides
    ((2, 5, 4, 6), (1, 1, 6, 3), (1, 1), (0, 0, 0, 0)),     # pointwise: no copy at all
    ((1, 6, 6, 4), (1, 1, 4, 3), (2, 2), (0, 0, 0, 0)),     # 1x1 strided
    ((1, 2, 2, 8), (4, 4, 8, 6), (2, 2), (1, 1, 1, 1)),     # U-Net bottleneck: one output pixel (outer-sum dw)
    ((1, 2, 4, 8), (4, 4, 8, 6), (2, 2), (1, 1, 1, 1)),     # two output pixels: outer-sum dw, row-dot cols
    ((1, 4, 4, 8), (4, 4, 8, 6), (2, 2), (1, 1, 1, 1)),     # four output pixels: still both
    ((1, 6, 6, 8), (4, 4, 8, 6), (2, 2), (1, 1, 1, 1)),     # nine: back to BLAS for both
]


@pytest.fixture(params=["whole", "blocked"])
def blocking(request, monkeypatch):
    if request.param == "blocked":  # a block of one output row (or less than a row: still one row)
        monkeypatch.setattr(cl, "CHUNK_BYTES", 1)
        monkeypatch.setattr(cl, "MIN_CHUNK_PIXELS", 1)
    return request.param


@pytest.mark.parametrize("x_shape, k_shape, strides, pads", CASES)
def test_blocked_lowering_equals_plain_lowering(x_shape, k_shape, strides, pads, blocking):
    x, w = rng.standard_normal(x_shape), rng.standard_normal(k_shape)
    b = rng.standard_normal(k_shape[3])
    y = ref_forward(x, w, *strides, pads)
    g = rng.standard_normal(y.shape)
    np.testing.assert_allclose(cl.conv2d_forward(x, w, *strides, pads), y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cl.conv2d_forward(x, w, *strides, pads, b), y + b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cl.conv2d_grad_input(g, w, x_shape, *strides, pads),
                               ref_grad_input(g, w, x_shape, *strides, pads), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cl.conv2d_grad_weight(x, g, *k_shape[:2], *strides, pads),
                               ref_grad_weight(x, g, *k_shape[:2], *strides, pads), rtol=1e-10, atol=1e-12)
    y_both, dw_both = cl.conv2d_forward_and_grad_weight(x, w, g, *strides, pads)
    np.testing.assert_allclose(y_both, y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dw_both, ref_grad_weight(x, g, *k_shape[:2], *strides, pads), rtol=1e-10, atol=1e-12)


def test_float32_stays_float32_and_matches():
    x, w = rng.standard_normal((2, 9, 9, 16)).astype(np.float32), rng.standard_normal((5, 5, 16, 2)).astype(np.float32)
    pads = (2, 2, 2, 2)
    y = cl.conv2d_forward(x, w, 1, 1, pads)
    g = rng.standard_normal(y.shape).astype(np.float32)
    for got, want in [(y, ref_forward(x, w, 1, 1, pads)),
                      (cl.conv2d_grad_input(g, w, x.shape, 1, 1, pads), ref_grad_input(g, w, x.shape, 1, 1, pads)),
                      (cl.conv2d_grad_weight(x, g, 5, 5, 1, 1, pads), ref_grad_weight(x, g, 5, 5, 1, 1, pads))]:
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_few_row_products_bypass_blas_and_match_it(monkeypatch):
    """The input gradient's cols for 2..SMALL_M output pixels come from the row-dot kernel, in float32 too."""
    calls = []
    real = cl._rows_times_transpose
    monkeypatch.setattr(cl, "_rows_times_transpose", lambda *args: calls.append(args[0].shape) or real(*args))
    w = rng.standard_normal((4, 4, 64, 32)).astype(np.float32)
    for g_shape, used in [((1, 1, 1, 32), False), ((1, 1, 2, 32), True), ((1, 2, 2, 32), True), ((1, 3, 3, 32), False)]:
        calls.clear()
        g = rng.standard_normal(g_shape).astype(np.float32)
        x_shape = (1, 2 * g_shape[1], 2 * g_shape[2], 64)
        got = cl.conv2d_grad_input(g, w, x_shape, 2, 2, (1, 1, 1, 1))
        assert got.dtype == np.float32 and bool(calls) == used
        np.testing.assert_allclose(got, ref_grad_input(g.astype(np.float64), w.astype(np.float64), x_shape, 2, 2,
                                                       (1, 1, 1, 1)), rtol=1e-4, atol=1e-4)


def test_narrow_side_is_chosen_only_where_it_pays_and_is_legal():
    assert cl._narrow_side((256, 28, 28, 128), (256, 28, 28, 1), 7, 7, 1, 1, (3, 3, 3, 3))
    assert not cl._narrow_side((256, 28, 28, 1), (256, 28, 28, 128), 7, 7, 1, 1, (3, 3, 3, 3))
    assert not cl._narrow_side((1, 32, 32, 128), (1, 16, 16, 1), 4, 4, 2, 2, (1, 1, 1, 1))   # strided
    assert not cl._narrow_side((1, 8, 8, 128), (1, 12, 8, 1), 3, 3, 1, 1, (4, 0, 1, 1))      # pad > k-1


def test_results_do_not_alias_the_scratch_buffer():
    x, w = rng.standard_normal((1, 6, 6, 3)), rng.standard_normal((3, 3, 3, 4))
    y1 = cl.conv2d_forward(x, w, 1, 1, (1, 1, 1, 1))
    keep = y1.copy()
    cl.conv2d_forward(2 * x, w, 1, 1, (1, 1, 1, 1))
    cl.conv2d_grad_weight(x, rng.standard_normal(y1.shape), 3, 3, 1, 1, (1, 1, 1, 1))
    np.testing.assert_array_equal(y1, keep)
