"""Winograd F(2x2, 2x2) for 4x4 stride-2 convs (kernels/winograd.py) against the plain im2col/col2im lowering,
in float64 to rounding and in float32 to float32 accuracy, through conv_lowering's own entry points."""
import numpy as np
import pytest

import tinygan as tg
from tinygan import ops
from tinygan.autograd.tensor import Tensor
from tinygan.kernels import conv_lowering as cl, winograd as wg
from test_kernels_conv_lowering import ref_forward, ref_grad_input, ref_grad_weight

rng = np.random.default_rng(1)


@pytest.fixture
def always(monkeypatch):
    """Every 4x4 stride-2 product goes through Winograd, in bands of one tile; returns the calls made."""
    monkeypatch.setattr(wg, "MIN_TILES", 1)
    monkeypatch.setattr(wg, "MIN_TILES_INPUT_GRAD", 1)
    monkeypatch.setattr(wg, "MIN_CHANNELS", 1)
    monkeypatch.setattr(wg, "MAX_EDGE_WASTE", 4.0)
    monkeypatch.setattr(wg, "BAND_BYTES", 1)
    monkeypatch.setattr(wg, "MIN_BAND_TILES", 1)
    calls = []
    for name in ("conv_stride2", "conv_stride2_grad_weight", "conv_stride2_grad_input"):
        real = getattr(wg, name)
        monkeypatch.setattr(wg, name, lambda *a, _real=real, _name=name, **k: calls.append(_name) or _real(*a, **k))
    return calls


# (x shape, Cout, pads (t, b, l, r)); the input gradient only takes Winograd for 'same' on an even size
CASES = [
    ((2, 8, 8, 3), 5, (1, 1, 1, 1)),      # 'same', even: every product
    ((1, 14, 10, 4), 6, (1, 1, 1, 1)),    # odd output rows (7): partial tiles at the bottom edge
    ((3, 6, 6, 2), 3, (1, 1, 1, 1)),      # three images, odd 3x3 output
    ((2, 9, 9, 3), 4, (0, 0, 0, 0)),      # 'valid'
    ((2, 9, 9, 3), 4, (1, 2, 1, 2)),      # 'same' on an odd size: TF puts the extra pixel after
    ((1, 9, 8, 2), 3, (2, 1, 0, 1)),      # explicit, asymmetric
]


@pytest.mark.parametrize("x_shape, cout, pads", CASES)
def test_every_product_equals_the_im2col_lowering(x_shape, cout, pads, always):
    x, w = rng.standard_normal(x_shape), rng.standard_normal((4, 4, x_shape[3], cout))
    b, b_in = rng.standard_normal(cout), rng.standard_normal(x_shape[3])  # a conv's bias, a transposed conv's
    y = ref_forward(x, w, 2, 2, pads)
    g = rng.standard_normal(y.shape)
    tight = dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cl.conv2d_forward(x, w, 2, 2, pads, b), y + b, **tight)
    np.testing.assert_allclose(cl.conv2d_grad_weight(x, g, 4, 4, 2, 2, pads), ref_grad_weight(x, g, 4, 4, 2, 2, pads), **tight)
    y_both, dw_both = cl.conv2d_forward_and_grad_weight(x, w, g, 2, 2, pads)
    np.testing.assert_allclose(y_both, y, **tight)
    np.testing.assert_allclose(dw_both, ref_grad_weight(x, g, 4, 4, 2, 2, pads), **tight)
    np.testing.assert_allclose(cl.conv2d_grad_input(g, w, x_shape, 2, 2, pads, b_in),
                               ref_grad_input(g, w, x_shape, 2, 2, pads) + b_in, **tight)
    winograd_input_grad = pads == (1, 1, 1, 1) and x_shape[1] % 2 == 0 and x_shape[2] % 2 == 0
    assert always == ["conv_stride2", "conv_stride2_grad_weight", "conv_stride2"] + \
        ["conv_stride2_grad_input"] * winograd_input_grad


def test_float32_stays_float32_with_float32_accuracy(always):
    x = rng.standard_normal((2, 16, 16, 32)).astype(np.float32)
    w = (rng.standard_normal((4, 4, 32, 24)) / 20).astype(np.float32)
    pads = (1, 1, 1, 1)
    y64 = ref_forward(x.astype(np.float64), w.astype(np.float64), 2, 2, pads)
    g = rng.standard_normal(y64.shape).astype(np.float32)
    got = [cl.conv2d_forward(x, w, 2, 2, pads), cl.conv2d_grad_input(g, w, x.shape, 2, 2, pads),
           cl.conv2d_grad_weight(x, g, 4, 4, 2, 2, pads)]
    want = [y64, ref_grad_input(g.astype(np.float64), w.astype(np.float64), x.shape, 2, 2, pads),
            ref_grad_weight(x.astype(np.float64), g.astype(np.float64), 4, 4, 2, 2, pads)]
    for a, ref in zip(got, want):
        assert a.dtype == np.float32
        # float32 rounding of sums of ~500 terms: a few ulps of the result's scale
        assert np.abs(a - ref).max() <= 2e-6 * np.abs(ref).max() * np.sqrt(512)


def test_kernel_transforms_are_each_others_adjoints():
    w2, du = rng.standard_normal((2, 2, 3, 4)), rng.standard_normal((9, 3, 4))
    assert np.isclose(np.vdot(wg.expand_kernel(w2), du), np.vdot(w2, wg.contract_kernel(du)))
    # G w G^T by hand for one channel pair: rows and columns each (g0, g0 + g1, g1)
    g = w2[:, :, 0, 0]
    big = np.array([[1, 0], [1, 1], [0, 1]]) @ g @ np.array([[1, 0], [1, 1], [0, 1]]).T
    np.testing.assert_allclose(wg.expand_kernel(w2)[:, 0, 0].reshape(3, 3), big)


def test_space_to_depth_kernel_layout():
    w = rng.standard_normal((4, 4, 3, 2))
    w2 = wg.to_space_to_depth(w)
    # channel (a, b, c) of tap (dy, dx) is tap (2dy + a, 2dx + b) of channel c
    assert w2.shape == (2, 2, 12, 2)
    np.testing.assert_array_equal(w2[1, 0, (1 * 2 + 0) * 3 + 2], w[3, 0, 2])
    np.testing.assert_array_equal(wg.from_space_to_depth(w2), w)
    np.testing.assert_array_equal(wg.phase_kernel(w, 1, 0)[0, 1], w[2, 1].T)


def test_only_big_enough_products_take_winograd():
    assert wg.worth_it(128, 16, 16, 128, 128) and wg.worth_it(128, 16, 16, 128, 128, input_grad=True)  # CIFAR-10 G
    assert not wg.worth_it(1, 128, 128, 3, 64)              # Pix2Pix e1: 3 input channels, thin GEMMs
    assert not wg.worth_it(1, 16, 16, 256, 512)             # Pix2Pix e4: 64 tiles
    assert wg.worth_it(1, 32, 32, 128, 256) and not wg.worth_it(1, 32, 32, 128, 256, input_grad=True)
    assert wg.worth_it(1, 64, 64, 64, 128) and not wg.worth_it(1, 64, 64, 64, 128, input_grad=True)  # Pix2Pix e2
    assert wg.worth_it(256, 14, 14, 128, 128)               # DCGAN-MNIST G's second transposed conv
    assert not wg.worth_it(256, 7, 7, 128, 128)             # its first: 4x4 tiles for 7x7 outputs waste 31%
    assert wg.worth_it(8, 31, 31, 64, 64)                   # 16x16 tiles for 31x31: 6.6%
    assert not cl._winograd(3, 3, 2, 2, 128, 16, 16, 128, 128)
    assert not cl._winograd_input_grad(4, 4, 2, 2, (1, 2, 1, 2), (128, 31, 31, 128), (128, 16, 16, 128))


def test_gradients_through_the_ops_match_finite_differences(always):
    """conv2d, conv_transpose2d and the pair of them on the Winograd path, against central differences."""
    x, w, b = rng.standard_normal((2, 6, 6, 2)), rng.standard_normal((4, 4, 2, 3)), rng.standard_normal(3)
    xt, wt, bt = rng.standard_normal((1, 3, 3, 3)), rng.standard_normal((4, 4, 2, 3)), rng.standard_normal(2)
    tg.gradcheck(lambda x, w, b: ops.conv2d(x, w, b, strides=2, padding="same"), [x, w, b])
    tg.gradcheck(lambda x, w, b: ops.conv_transpose2d(x, w, b, strides=2, padding="same"), [xt, wt, bt])
    tg.gradcheck(lambda x, w, wt: ops.conv_transpose2d(ops.tanh(ops.conv2d(x, w, strides=2, padding="same")), wt,
                                                       strides=2, padding="same"), [x, w, wt])
    assert set(always) == {"conv_stride2", "conv_stride2_grad_weight", "conv_stride2_grad_input"}


def test_plain_backward_of_a_transposed_conv_shares_the_tiles(always):
    """Without a graph to record, a transposed conv's backward takes both gradients from one tiling."""
    x = Tensor(rng.standard_normal((2, 4, 4, 3)), requires_grad=True)
    w = Tensor(rng.standard_normal((4, 4, 2, 3)), requires_grad=True)
    y = ops.conv_transpose2d(x, w, strides=2, padding="same")
    g = rng.standard_normal(y.shape)
    (y * Tensor(g)).sum().backward()
    pads = (1, 1, 1, 1)
    np.testing.assert_allclose(x.grad.data, ref_forward(g, w.data, 2, 2, pads), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.grad.data, ref_grad_weight(g, x.data, 4, 4, 2, 2, pads), rtol=1e-10, atol=1e-12)
    assert always == ["conv_stride2_grad_input", "conv_stride2"]
