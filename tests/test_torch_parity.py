"""Every main op against PyTorch: forward, backward and double backward in float64 (tests/torch_parity.py).
Beside the float64 finite-difference gradchecks of the test_ops_* files; skipped where torch is not installed."""
import numpy as np
import pytest

from tinygan import ops

torch = pytest.importorskip("torch")
F = torch.nn.functional
import torch_parity as P  # noqa: E402  (tests/ is on sys.path; the helper needs torch only when it runs)

rng = np.random.default_rng(0)


def r(*shape, lo=None):
    """Standard normal draws, or uniform in [lo, lo + 1] (a positive domain for log, sqrt, pow)."""
    return rng.standard_normal(shape) if lo is None else rng.uniform(lo, lo + 1, shape)


def away_from_zero(*shape):
    x = r(*shape)
    return np.where(np.abs(x) < 0.1, 0.5, x)  # no kinks (relu, abs) within rounding of an input


ELEMENTWISE = {
    "add": (ops.add, torch.add, [r(3, 4), r(4)]),
    "sub": (ops.sub, torch.sub, [r(3, 4), r(3, 1)]),
    "mul": (ops.mul, torch.mul, [r(2, 3, 4), r(3, 4)]),
    "div": (ops.div, torch.div, [r(3, 4), r(3, 4, lo=0.5)]),
    "pow": (ops.pow, torch.pow, [r(3, 4, lo=0.5), r(3, 4)]),
    "maximum": (ops.maximum, torch.maximum, [r(3, 4), r(3, 4)]),
    "minimum": (ops.minimum, torch.minimum, [r(3, 4), r(3, 4)]),
    "exp": (ops.exp, torch.exp, [r(3, 4)]),
    "log": (ops.log, torch.log, [r(3, 4, lo=0.2)]),
    "sqrt": (ops.sqrt, torch.sqrt, [r(3, 4, lo=0.2)]),
    "square": (ops.square, torch.square, [r(3, 4)]),
    "abs": (ops.abs, torch.abs, [away_from_zero(3, 4)]),
    "neg": (ops.neg, torch.neg, [r(3, 4)]),
    "clip": (lambda x: ops.clip(x, -0.5, 0.5), lambda x: torch.clamp(x, -0.5, 0.5), [away_from_zero(4, 5)]),
    "where": (lambda c, a, b: ops.where(c, a, b), lambda c, a, b: torch.where(c, a, b),
              [r(3, 4) > 0, r(3, 4), r(3, 4)]),
    "matmul": (ops.matmul, torch.matmul, [r(2, 3, 4), r(4, 5)]),
    "sum": (lambda x: ops.sum(x, axis=1), lambda x: x.sum(1), [r(3, 4, 2)]),
    "mean": (lambda x: ops.mean(x, axis=(0, 2), keepdims=True), lambda x: x.mean((0, 2), keepdim=True), [r(3, 4, 2)]),
    "max": (lambda x: ops.max(x, axis=-1), lambda x: x.amax(-1), [r(3, 4, 5)]),
    "var": (lambda x: ops.var(x, axis=0), lambda x: x.var(0, unbiased=False), [r(5, 3)]),
    "concatenate": (lambda a, b: ops.concatenate([a, b], axis=-1), lambda a, b: torch.cat([a, b], -1),
                    [r(2, 3, 2), r(2, 3, 4)]),
    "transpose": (lambda x: ops.transpose(x, (2, 0, 1)), lambda x: x.permute(2, 0, 1), [r(2, 3, 4)]),
    "getitem": (lambda x: x[:, 1:3, ::2], lambda x: x[:, 1:3, ::2], [r(2, 4, 5)]),
    "pad": (lambda x: ops.pad(x, ((0, 0), (1, 2), (2, 1))), lambda x: F.pad(x, (2, 1, 1, 2)), [r(2, 3, 4)]),
}

ACTIVATIONS = {
    "relu": (ops.relu, torch.relu),
    "leaky_relu": (lambda x: ops.leaky_relu(x, 0.2), lambda x: F.leaky_relu(x, 0.2)),
    "sigmoid": (ops.sigmoid, torch.sigmoid),
    "tanh": (ops.tanh, torch.tanh),
    "softplus": (ops.softplus, F.softplus),
    "softmax": (lambda x: ops.softmax(x, axis=-1), lambda x: torch.softmax(x, -1)),
    "log_softmax": (lambda x: ops.log_softmax(x, axis=1), lambda x: torch.log_softmax(x, 1)),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_shape_and_linalg(name):
    tg_fn, torch_fn, inputs = ELEMENTWISE[name]
    P.check(tg_fn, torch_fn, inputs)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations(name):
    P.check(*ACTIVATIONS[name], [away_from_zero(3, 5)])


CONVS = [((2, 7, 6, 3), (3, 3, 3, 4), (1, 1), "same"), ((1, 8, 8, 2), (4, 4, 2, 3), (2, 2), "same"),
         ((2, 9, 9, 2), (3, 3, 2, 2), (2, 2), "same"), ((1, 6, 7, 3), (2, 3, 3, 2), (1, 2), "valid")]


@pytest.mark.parametrize("x_shape, w_shape, strides, padding", CONVS)
def test_conv2d(x_shape, w_shape, strides, padding):
    pads = ops.conv.window_pads("conv2d", x_shape, w_shape[:2], strides, padding)
    P.check(lambda x, w, b: ops.conv2d(x, w, b, strides, padding),
            lambda x, w, b: P.torch_conv2d(x, w, b, strides, pads), [r(*x_shape), r(*w_shape), r(w_shape[-1])])


@pytest.mark.parametrize("x_shape, w_shape, strides, padding", [
    ((1, 4, 4, 3), (4, 4, 2, 3), (2, 2), "same"),    # the book's up-sampling layers
    ((2, 3, 5, 2), (3, 3, 4, 2), (2, 2), "same"),    # odd total crop: TensorFlow takes the extra pixel bottom/right
    ((1, 3, 3, 2), (3, 3, 2, 2), (1, 1), "same"),
    ((1, 3, 4, 2), (3, 2, 3, 2), (2, 1), "valid")])
def test_conv_transpose2d_with_tensorflow_padding(x_shape, w_shape, strides, padding):
    y = ops.conv_transpose2d(r(*x_shape), r(*w_shape), None, strides, padding)
    pads = ops.conv.window_pads("conv_transpose2d", y.shape, w_shape[:2], strides, padding)
    P.check(lambda x, w, b: ops.conv_transpose2d(x, w, b, strides, padding),
            lambda x, w, b: P.torch_conv_transpose2d(x, w, b, strides, pads, y.shape[1:3]),
            [r(*x_shape), r(*w_shape), r(w_shape[2])])


@pytest.mark.parametrize("leaky", [None, 0.2])
def test_fused_conv_leaky_relu(leaky):
    pads = ops.conv.window_pads("conv2d", (2, 6, 6, 3), (3, 3), (2, 2), "same")
    torch_act = (lambda y: y) if leaky is None else (lambda y: F.leaky_relu(y, leaky))
    P.check(lambda x, w: ops.conv2d(x, w, None, 2, "same", leaky_alpha=leaky),
            lambda x, w: torch_act(P.torch_conv2d(x, w, None, (2, 2), pads)), [r(2, 6, 6, 3), r(3, 3, 3, 4)])


def test_batch_norm_training():
    """Keras BatchNormalization in training (batch statistics, biased variance, eps inside the sqrt). tinygan
    has no double backward through training-mode normalisation (documented), so only first order."""
    P.check(lambda x, g, b: ops.batch_norm(x, g, b, 1e-3, True)[0],
            lambda x, g, b: P.nhwc(F.batch_norm(P.nchw(x), None, None, g, b, training=True, eps=1e-3)),
            [r(3, 4, 5, 2), r(2, lo=0.5), r(2)], second_order=False)


def test_batch_norm_inference():
    mean, var = r(3), r(3, lo=0.5)
    P.check(lambda x, g, b: ops.batch_norm(x, g, b, 1e-3, False, mean, var),
            lambda x, g, b: P.nhwc(F.batch_norm(P.nchw(x), torch.tensor(mean), torch.tensor(var), g, b,
                                                training=False, eps=1e-3)),
            [r(2, 3, 2, 3), r(3, lo=0.5), r(3)])


def test_instance_norm():
    """keras-contrib InstanceNormalization: (x - mean) / (std + eps), eps outside the sqrt (torch's
    F.instance_norm puts it inside), so the PyTorch side spells the formula out. First order only (documented)."""
    def torch_instance_norm(x, g, b, eps=1e-3):
        m = x.mean((1, 2), keepdim=True)
        return (x - m) / (x.var((1, 2), unbiased=False, keepdim=True).sqrt() + eps) * g + b

    P.check(lambda x, g, b: ops.instance_norm(x, g, b, 1e-3), torch_instance_norm,
            [r(2, 4, 3, 2), r(2, lo=0.5), r(2)], second_order=False)


def test_binary_crossentropy():
    """Keras 2.2 BCE of probabilities inside [eps, 1 - eps] (where the clip passes everything through)."""
    P.check(lambda t, p: ops.binary_crossentropy(t, p),
            lambda t, p: F.binary_cross_entropy(p, t, reduction="none").mean(-1),
            [(r(4, 3) > 0).astype(np.float64), r(4, 3, lo=0.0) * 0.9 + 0.05], diff=[False, True])


def test_binary_crossentropy_from_logits():
    P.check(lambda t, z: ops.binary_crossentropy(t, z, from_logits=True),
            lambda t, z: F.binary_cross_entropy_with_logits(z, t, reduction="none").mean(-1),
            [r(4, 3, lo=0.0), r(4, 3)], diff=[False, True])


def test_categorical_crossentropy():
    """Keras normalises the probabilities to sum 1 before the log."""
    P.check(lambda t, p: ops.categorical_crossentropy(t, p),
            lambda t, p: -(t * torch.log(p / p.sum(-1, keepdim=True))).sum(-1),
            [np.eye(4)[[0, 2, 3]], r(3, 4, lo=0.1)], diff=[False, True])


@pytest.mark.parametrize("name", ["mean_squared_error", "mean_absolute_error"])
def test_regression_losses(name):
    torch_fn = {"mean_squared_error": lambda t, p: ((p - t) ** 2).mean(-1),
                "mean_absolute_error": lambda t, p: (p - t).abs().mean(-1)}[name]
    t = r(3, 5)
    P.check(getattr(ops, name), torch_fn, [t, t + away_from_zero(3, 5)], diff=[False, True])


def test_max_pool2d():
    P.check(lambda x: ops.max_pool2d(x, 2, 2), lambda x: P.nhwc(F.max_pool2d(P.nchw(x), 2, 2)), [r(2, 6, 4, 3)])


@pytest.mark.parametrize("size", [5, 6])
def test_max_pool2d_same_padding(size):
    """'same' pads with -inf in TensorFlow's split (an odd pixel bottom/right), which PyTorch's symmetric padding
    cannot express, so the PyTorch side pads explicitly."""
    t, b, le, ri = ops.conv.window_pads("max_pool2d", (1, size, size, 2), (3, 3), (2, 2), "same")
    P.check(lambda x: ops.max_pool2d(x, 3, 2, "same"),
            lambda x: P.nhwc(F.max_pool2d(F.pad(P.nchw(x), (le, ri, t, b), value=-float("inf")), 3, 2)),
            [r(1, size, size, 2)])


def test_upsample_nearest():
    P.check(lambda x: ops.upsample_nearest(x, (2, 3)),
            lambda x: P.nhwc(F.interpolate(P.nchw(x), scale_factor=(2, 3), mode="nearest")), [r(2, 3, 2, 2)])


def test_the_helper_catches_a_wrong_forward_backward_and_double_backward():
    import tinygan as tg

    class Square(tg.Function):
        def forward(self, a):
            return a * a

        def backward(self, g):
            return g * self.inputs[0] * self.factor

    class FlatSquare(Square):
        """Right to first order, but 2x is taken as a constant, which cuts the second order."""

        def backward(self, g):
            return g * tg.Tensor(2 * self.inputs[0].data)

    x = [r(3)]
    with pytest.raises(AssertionError, match="forward"):
        P.check(ops.sigmoid, torch.tanh, x)
    with pytest.raises(AssertionError, match="backward, differentiable input 0"):
        P.check(lambda a: Square.apply(a, factor=1.0), torch.square, x)  # the factor 2 is missing
    P.check(lambda a: Square.apply(a, factor=2.0), torch.square, x)
    with pytest.raises(AssertionError, match="double backward"):
        P.check(FlatSquare.apply, torch.square, x)
    P.check(FlatSquare.apply, torch.square, x, second_order=False)
