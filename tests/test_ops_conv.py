"""conv2d / conv_transpose2d: forward against direct loops, TF padding, gradients (first and second order), errors."""
import numpy as np
import pytest

import tinygan as tg
from tinygan import ops
from tinygan.autograd.tensor import OpError
from tinygan.kernels import dispatch

rng = np.random.default_rng(0)


def conv2d_loops(x, w, b, strides, pads):
    """Direct definition: every output pixel is the kernel dotted with its padded window."""
    (sh, sw), (t, bo, l, r) = strides, pads
    xp = np.pad(x, ((0, 0), (t, bo), (l, r), (0, 0)))
    kh, kw = w.shape[:2]
    oh, ow = (xp.shape[1] - kh) // sh + 1, (xp.shape[2] - kw) // sw + 1
    y = np.zeros((x.shape[0], oh, ow, w.shape[3]))
    for i in range(oh):
        for j in range(ow):
            y[:, i, j] = np.tensordot(xp[:, i * sh:i * sh + kh, j * sw:j * sw + kw], w, axes=([1, 2, 3], [0, 1, 2]))
    return y + (0 if b is None else b)


def conv_transpose_loops(x, w, strides, out_hw, pads_before):
    """Direct definition: every input pixel scatters kernel * value, then the window at pads_before is kept."""
    (sh, sw), (kh, kw) = strides, w.shape[:2]
    n, h, wd, _ = x.shape
    full = np.zeros((n, max((h - 1) * sh + kh, pads_before[0] + out_hw[0]),
                     max((wd - 1) * sw + kw, pads_before[1] + out_hw[1]), w.shape[2]))
    for i in range(h):
        for j in range(wd):
            full[:, i * sh:i * sh + kh, j * sw:j * sw + kw] += np.einsum("nc,hwoc->nhwo", x[:, i, j], w)
    t, l = pads_before
    return full[:, t:t + out_hw[0], l:l + out_hw[1]]


# (H, W, k, stride, padding, expected (top, bottom, left, right)), the paddings the book's models use
CONV_CASES = [
    (5, 5, 3, 1, "same", (1, 1, 1, 1)),
    (6, 7, 3, 2, "same", (0, 1, 1, 1)),  # even rows put the odd pixel at the bottom; odd cols split evenly
    (5, 5, 4, 1, "same", (1, 2, 1, 2)),
    (8, 8, 4, 2, "same", (1, 1, 1, 1)),
    (7, 7, 4, 2, "same", (1, 2, 1, 2)),  # 7 -> 4
    (7, 7, 3, 2, "same", (1, 1, 1, 1)),  # 7 -> 4
    (5, 5, 5, 1, "same", (2, 2, 2, 2)),
    (28, 28, 5, 2, "same", (1, 2, 1, 2)),
    (7, 7, 7, 1, "same", (3, 3, 3, 3)),
    (8, 8, 7, 2, "same", (2, 3, 2, 3)),
    (6, 5, 3, 1, "valid", (0, 0, 0, 0)),
    (5, 6, 3, 2, ((1, 0), (0, 2)), (1, 0, 0, 2)),
]


@pytest.mark.parametrize("n, k, s, expected", [(4, 4, 1, (1, 2)), (8, 3, 2, (0, 1)), (8, 4, 2, (1, 1)),
                                               (7, 7, 1, (3, 3)), (28, 5, 2, (1, 2)), (7, 3, 2, (1, 1)),
                                               (5, 3, 1, (1, 1)), (5, 1, 1, (0, 0))])
def test_conv_padding_same_is_tensorflows_split(n, k, s, expected):
    assert ops.conv_padding(n, k, s, "same") == expected
    assert ops.conv_padding(n, k, s, "valid") == (0, 0)


@pytest.mark.parametrize("h, w, k, s, padding, pads", CONV_CASES)
def test_conv2d_forward_matches_loops(h, w, k, s, padding, pads):
    x, wt, b = rng.standard_normal((2, h, w, 3)), rng.standard_normal((k, k, 3, 4)), rng.standard_normal(4)
    y = ops.conv2d(x, wt, b, strides=s, padding=padding)
    np.testing.assert_allclose(y.numpy(), conv2d_loops(x, wt, b, (s, s), pads), rtol=1e-10, atol=1e-10)


def test_conv2d_downsamples_7_to_4_and_keeps_float32():
    x = rng.standard_normal((1, 7, 7, 2)).astype(np.float32)
    for k in (3, 4):
        y = ops.conv2d(x, rng.standard_normal((k, k, 2, 5)).astype(np.float32), strides=(2, 2), padding="same")
        assert y.shape == (1, 4, 4, 5) and y.dtype == np.float32


# (H, k, stride, padding, output size, pad before): Keras Conv2DTranspose sizes
TRANSPOSE_CASES = [
    (4, 3, 2, "same", 8, 0),
    (7, 4, 2, "same", 14, 1),
    (4, 5, 2, "same", 8, 1),
    (5, 3, 1, "valid", 7, 0),
    (5, 4, 1, "valid", 8, 0),
    (4, 3, 2, "valid", 9, 0),
    (7, 4, 2, "valid", 16, 0),
    (5, 1, 1, "valid", 5, 0),
    (3, 1, 2, "valid", 6, 0),  # k < s: every other output pixel gets only the bias
]


@pytest.mark.parametrize("h, k, s, padding, out, before", TRANSPOSE_CASES)
def test_conv_transpose2d_forward_matches_scatter_loops(h, k, s, padding, out, before):
    x, w, b = rng.standard_normal((2, h, h + 1, 3)), rng.standard_normal((k, k, 4, 3)), rng.standard_normal(4)
    y = ops.conv_transpose2d(x, w, b, strides=s, padding=padding)
    out_w = {"valid": (h + 1) * s + max(k - s, 0), "same": (h + 1) * s}[padding]
    before_w = {"valid": 0, "same": max(k - s, 0) // 2}[padding]
    assert y.shape == (2, out, out_w, 4)
    np.testing.assert_allclose(y.numpy(), conv_transpose_loops(x, w, (s, s), (out, out_w), (before, before_w)) + b,
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("k", [3, 4, 5])
@pytest.mark.parametrize("s", [1, 2])
def test_conv_transpose2d_is_adjoint_of_conv2d(padding, k, s):
    x, w = rng.standard_normal((2, 4, 5, 3)), rng.standard_normal((k, k, 2, 3))
    xt = ops.conv_transpose2d(x, w, strides=s, padding=padding)
    y = rng.standard_normal(xt.shape)
    cy = ops.conv2d(y, w, strides=s, padding=padding)
    assert cy.shape == x.shape
    assert np.vdot(cy.numpy(), x) == pytest.approx(np.vdot(y, xt.numpy()), rel=1e-10)


GRAD_CASES = [(3, 1, "same"), (4, 2, "same"), (3, 2, "same"), (5, 2, "same"), (3, 1, "valid"), (4, 2, "valid"),
              (3, 2, ((1, 0), (2, 1)))]


@pytest.mark.parametrize("k, s, padding", GRAD_CASES)
def test_conv2d_gradcheck(k, s, padding):
    x, w, b = rng.standard_normal((2, 7, 6, 2)), rng.standard_normal((k, k, 2, 3)), rng.standard_normal(3)
    tg.gradcheck(lambda x, w, b: ops.conv2d(x, w, b, strides=s, padding=padding), [x, w, b])


@pytest.mark.parametrize("k, s, padding", GRAD_CASES + [(1, 2, "valid")])
def test_conv_transpose2d_gradcheck(k, s, padding):
    x, w, b = rng.standard_normal((2, 4, 3, 3)), rng.standard_normal((k, k, 2, 3)), rng.standard_normal(2)
    tg.gradcheck(lambda x, w, b: ops.conv_transpose2d(x, w, b, strides=s, padding=padding), [x, w, b])


def _square_sum(y):
    return ops.sum_to(ops.mul(y, y), ())


@pytest.mark.parametrize("wrt", [0, 1])
def test_conv2d_second_order(wrt):
    """The WGAN-GP path: differentiate grad(loss, x) (and grad(loss, w)) once more."""
    def first_grad(x, w):
        loss = _square_sum(ops.conv2d(x, w, strides=2, padding="same"))
        return tg.grad(loss, [x, w][wrt], create_graph=True)
    tg.gradcheck(first_grad, [rng.standard_normal((1, 5, 5, 2)), rng.standard_normal((3, 3, 2, 2))])


def test_conv_transpose2d_second_order():
    def first_grad(x, w):
        return tg.grad(_square_sum(ops.conv_transpose2d(x, w, strides=2, padding="same")), w, create_graph=True)
    tg.gradcheck(first_grad, [rng.standard_normal((1, 3, 3, 2)), rng.standard_normal((4, 4, 2, 2))])


def test_conv_transpose2d_backward_shares_one_im2col_and_matches_the_recorded_path(monkeypatch):
    """A plain backward takes both gradients of a transposed conv from one im2col band
    (conv2d_forward_and_grad_weight); recording the graph (create_graph) takes the two separate ops.
    Both give the same numbers."""
    from tinygan.kernels import conv_lowering
    x = rng.standard_normal((2, 5, 4, 6)).astype(np.float32)
    w = rng.standard_normal((4, 4, 3, 6)).astype(np.float32)
    g = rng.standard_normal((2, 10, 8, 3)).astype(np.float32)
    calls = []
    fused = conv_lowering.conv2d_forward_and_grad_weight
    monkeypatch.setattr(conv_lowering, "conv2d_forward_and_grad_weight", lambda *a: calls.append(1) or fused(*a))

    def grads(create_graph):
        xt, wt = tg.Tensor(x, requires_grad=True), tg.Tensor(w, requires_grad=True)
        y = ops.conv_transpose2d(xt, wt, strides=2, padding="same")
        return [t.numpy() for t in tg.grad(y, [xt, wt], grad_outputs=[tg.Tensor(g)], create_graph=create_graph)]

    plain = grads(False)
    assert calls == [1]
    recorded = grads(True)
    assert calls == [1]
    for p, r in zip(plain, recorded):
        assert p.dtype == np.float32
        np.testing.assert_allclose(p, r, rtol=1e-5, atol=1e-5)


def test_reference_lowering_gives_the_same_conv_and_gradients():
    """The array-code path (what a GPU without CUDA kernels runs) against the Numba one."""
    x, w = rng.standard_normal((2, 6, 5, 3)), rng.standard_normal((4, 4, 3, 2))

    def run():
        xt, wt = tg.Tensor(x, requires_grad=True), tg.Tensor(w, requires_grad=True)
        y = ops.conv2d(xt, wt, strides=2, padding="same")
        return [t.numpy() for t in (y, *tg.grad(_square_sum(y), [xt, wt]))]

    expected = run()
    with dispatch.use("reference"):
        got = run()
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-12)


@pytest.mark.parametrize("band_bytes", [1, 7000])
def test_reference_lowering_in_bands_of_samples_gives_the_same_numbers(monkeypatch, band_bytes):
    """A batch whose im2col matrix is over GPU_BAND_BYTES is lowered a few samples at a time (one sample per band
    at 1 byte, two at 7000): the conv, the transposed conv and every gradient are unchanged."""
    x, w = rng.standard_normal((5, 6, 5, 3)), rng.standard_normal((4, 4, 3, 2))

    def run():
        xt, wt = tg.Tensor(x, requires_grad=True), tg.Tensor(w, requires_grad=True)
        y = ops.conv2d(xt, wt, strides=2, padding="same")
        z = ops.conv_transpose2d(y, wt, strides=2, padding="same")
        return [t.numpy() for t in (y, z, *tg.grad(_square_sum(z), [xt, wt]))]

    expected = run()
    monkeypatch.setattr(dispatch, "GPU_BAND_BYTES", band_bytes)
    assert len(dispatch.sample_bands(x.shape, 4, 4, 2, 2, (1, 1, 1, 2), 8)) == (5 if band_bytes == 1 else 3)
    with dispatch.use("reference"):
        got = run()
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-12)


@pytest.mark.parametrize("call, words", [
    (lambda: ops.conv2d(np.zeros((5, 5, 3)), np.zeros((3, 3, 3, 4))), ["conv2d", "4-D", "(5, 5, 3)"]),
    (lambda: ops.conv2d(np.zeros((1, 5, 5, 3)), np.zeros((3, 3, 4))), ["conv2d", "kernel", "(3, 3, 4)"]),
    (lambda: ops.conv2d(np.zeros((1, 5, 5, 3)), np.zeros((3, 3, 2, 4))), ["conv2d", "3 channels", "expects 2"]),
    (lambda: ops.conv2d(np.zeros((1, 3, 3, 1)), np.zeros((5, 5, 1, 4))), ["conv2d", "bigger than", "padding='same'"]),
    (lambda: ops.conv2d(np.zeros((1, 5, 5, 1)), np.zeros((3, 3, 1, 4)), padding="full"), ["conv2d", "'full'", "'same'"]),
    (lambda: ops.conv2d(np.zeros((1, 5, 5, 1)), np.zeros((3, 3, 1, 4)), np.zeros(3)), ["conv2d", "bias", "(4,)"]),
    (lambda: ops.conv2d(np.zeros((1, 5, 5, 1)), np.zeros((3, 3, 1, 4)), strides=0), ["conv2d", "strides"]),
    (lambda: ops.conv_transpose2d(np.zeros((1, 5, 5, 3)), np.zeros((3, 3, 3, 4))), ["conv_transpose2d", "(kh, kw, Cout, Cin)", "expects 4"]),
    (lambda: ops.conv_transpose2d(np.zeros((1, 5, 5, 3)), np.zeros((3, 3, 4, 3)), padding="SAME!"), ["conv_transpose2d", "SAME!"]),
])
def test_bad_arguments_raise_op_error_naming_op_and_fix(call, words):
    with pytest.raises(OpError) as info:
        call()
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("op, w_shape", [(ops.conv2d, (3, 3, 2, 3)), (ops.conv_transpose2d, (4, 4, 3, 2))])
def test_leaky_alpha_fuses_the_activation_without_changing_numbers(op, w_shape):
    """op(..., leaky_alpha=a) == leaky_relu(op(...), a) in value and gradients, as one graph node whose
    inputs are x, w, b alone (no pre-activation kept); its gradients pass gradcheck to second order."""
    x, w, b = rng.standard_normal((2, 5, 4, 2)), rng.standard_normal(w_shape), rng.standard_normal(w_shape[2 + (op is ops.conv2d)])

    def both(fused):
        ts = [tg.Tensor(a, requires_grad=True) for a in (x, w, b)]
        y = op(*ts, strides=2, padding="same", leaky_alpha=0.2) if fused else \
            ops.leaky_relu(op(*ts, strides=2, padding="same"), 0.2)
        return y, [y.numpy(), *[t.numpy() for t in tg.grad(_square_sum(y), ts)]]

    y, fused = both(True)
    assert [type(t) for t in y._node.inputs] == [tg.Tensor] * 3 and all(t._node is None for t in y._node.inputs)
    for f, u in zip(fused, both(False)[1]):
        np.testing.assert_allclose(f, u, rtol=1e-12, atol=1e-12)
    tg.gradcheck(lambda x, w, b: op(x, w, b, strides=2, padding="same", leaky_alpha=0.2), [x, w, b])

    def first_grad(x, w):
        return tg.grad(_square_sum(op(x, w, strides=2, padding="same", leaky_alpha=0.2)), w, create_graph=True)
    tg.gradcheck(first_grad, [x, w])


def test_leaky_alpha_must_be_non_negative():
    with pytest.raises(OpError, match="leaky_alpha must be >= 0"):
        ops.conv2d(np.zeros((1, 4, 4, 1)), np.zeros((3, 3, 1, 2)), leaky_alpha=-0.1)
