"""kernels/parallel.py: every parallel kernel's serial twin gives bit-identical results, and the size picks which runs."""
import numpy as np
import pytest

from tinygan.kernels import activation, conv_lowering as cl, norm, optim, parallel, winograd as wg

rng = np.random.default_rng(7)


def _leaky():
    x, g = rng.standard_normal((2, 5, 7, 3)).astype(np.float32), rng.standard_normal((2, 5, 7, 3)).astype(np.float32)
    return lambda: [activation.leaky_relu_forward(x, 0.2), activation.leaky_relu_backward(x, g, 0.2)]


def _norm():
    u, v = rng.standard_normal((3, 2500, 4)), rng.standard_normal((3, 2500, 4)).astype(np.float32)
    su, sv, r = (rng.standard_normal((3, 4)) for _ in range(3))
    return lambda: [*norm.centered_sums(u, v, su, sv), norm.channel_affine(v, su, sv),
                    norm.channel_affine2(v, su, v, sv, r)]


def _adam():
    p, g, m, v = (rng.standard_normal(1000).astype(np.float32) for _ in range(4))
    v = np.abs(v)

    def run():
        arrays = [a.copy() for a in (p, g, m, v)]
        optim.adam_update(*arrays, 1e-3, 0.5, 0.999, 1e-7)
        return arrays
    return run


def _conv():
    """im2col, col2im and the outer-sum weight gradient through the lowering's entry points."""
    x, w = rng.standard_normal((2, 9, 8, 3)), rng.standard_normal((3, 3, 3, 5))
    g = rng.standard_normal((2, 5, 4, 5))
    x1, g1 = rng.standard_normal((1, 2, 2, 6)), rng.standard_normal((1, 1, 1, 4))
    g4 = rng.standard_normal((1, 2, 2, 5))                        # four output pixels: the row-dot input gradient
    return lambda: [cl.conv2d_forward(x, w, 2, 2, (1, 1, 1, 1)), cl.conv2d_grad_input(g, w, x.shape, 2, 2, (1, 1, 1, 1)),
                    cl.conv2d_grad_weight(x, g, 3, 3, 2, 2, (1, 1, 1, 1)), cl.conv2d_grad_weight(x1, g1, 2, 2, 2, 2, (0,) * 4),
                    cl.conv2d_grad_input(g4, w, (1, 4, 4, 3), 2, 2, (1, 1, 1, 1))]


def _winograd():
    x, w = rng.standard_normal((2, 8, 8, 3)), rng.standard_normal((4, 4, 3, 5))
    g = rng.standard_normal((2, 4, 4, 5))
    scratch = cl._scratch
    return lambda: [*wg.conv_stride2(x, w, (1, 1, 1, 1), 4, 4, scratch, g=g), wg.conv_stride2_grad_input(g, w, scratch)]


@pytest.mark.parametrize("case", [_leaky, _norm, _adam, _conv, _winograd])
def test_serial_twins_equal_the_parallel_builds_bitwise(case, monkeypatch):
    run = case()
    monkeypatch.setattr(parallel, "SERIAL_BELOW", 0)            # every call parallel
    par = run()
    monkeypatch.setattr(parallel, "SERIAL_BELOW", 1 << 62)      # every call serial
    ser = run()
    assert len(par) == len(ser)
    for a, b in zip(par, ser):
        np.testing.assert_array_equal(a, b)


def test_the_size_of_the_work_picks_the_build(monkeypatch):
    calls = []
    k = activation._leaky_relu_forward
    monkeypatch.setattr(k, "parallel", lambda *a: calls.append("parallel"))
    monkeypatch.setattr(k, "serial", lambda *a: calls.append("serial"))
    small, big = np.zeros(parallel.SERIAL_BELOW - 1, np.float32), np.zeros(parallel.SERIAL_BELOW, np.float32)
    k(small, np.float32(0.2), small)
    k(big, np.float32(0.2), big)
    assert calls == ["serial", "parallel"]
    assert k.__name__ == "_leaky_relu_forward" and k.serial is not k.parallel
