"""kernels/dispatch.py is the one place that picks a convolution implementation: NumPy floats go to the blocked
CPU lowering, everything else (and the 'reference' mode) to the textbook im2col + GEMM of conv_lowering."""
import numpy as np
import pytest

import tinygan as tg
from tinygan import ops
from tinygan.kernels import conv_lowering as C
from tinygan.kernels import dispatch

CASES = [((2, 9, 8, 3), (3, 3, 3, 5), (1, 1), "same"), ((1, 16, 16, 16), (4, 4, 16, 16), (2, 2), "same"),
         ((2, 7, 7, 4), (1, 1, 4, 2), (1, 1), "valid"), ((1, 8, 8, 2), (5, 5, 2, 3), (2, 1), "valid")]


@pytest.mark.parametrize("x_shape, w_shape, strides, padding", CASES)
def test_the_textbook_lowering_is_what_the_cpu_lowering_computes(x_shape, w_shape, strides, padding):
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[-1])
    pads = ops.conv.window_pads("conv2d", x_shape, w_shape[:2], strides, padding)
    y = C.conv2d_forward_reference(x, w, *strides, pads, b)
    np.testing.assert_allclose(C.conv2d_forward(x, w, *strides, pads, b), y, rtol=1e-10, atol=1e-10)
    g = rng.standard_normal(y.shape)
    bx = rng.standard_normal(x_shape[-1])  # conv_transpose2d's bias
    np.testing.assert_allclose(C.conv2d_grad_input(g, w, x_shape, *strides, pads, bx),
                               C.conv2d_grad_input_reference(g, w, x_shape, *strides, pads, bx), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(C.conv2d_grad_weight(x, g, *w_shape[:2], *strides, pads),
                               C.conv2d_grad_weight_reference(x, g, *w_shape[:2], *strides, pads), rtol=1e-10, atol=1e-10)
    pair = C.conv2d_forward_and_grad_weight(x, w, g, *strides, pads)
    np.testing.assert_allclose(pair[0], C.conv2d_forward_reference(x, w, *strides, pads), rtol=1e-10, atol=1e-10)


def test_the_ops_take_both_routes_through_dispatch_alone(monkeypatch):
    """conv2d's forward, input gradient and weight gradient agree between the two routes, and with the CPU
    lowering switched off in dispatch they reach only the textbook functions."""
    rng = np.random.default_rng(1)
    x = tg.Tensor(rng.standard_normal((2, 8, 8, 3)), requires_grad=True)
    w = tg.Tensor(rng.standard_normal((3, 3, 3, 4)), requires_grad=True)

    def run():
        x.grad = w.grad = None
        y = ops.conv2d(x, w, strides=2, padding="same")
        ops.sum(y * y).backward()
        return y.numpy(), x.grad.numpy(), w.grad.numpy()

    fast = run()
    for name in ("conv2d_forward", "conv2d_grad_input", "conv2d_grad_weight", "conv2d_forward_and_grad_weight"):
        monkeypatch.setattr(C, name, None)  # any use of the blocked CPU lowering would now fail
    with dispatch.use("reference"):
        assert dispatch.route(x.data, w.data) == "reference"
        for a, b in zip(run(), fast):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
