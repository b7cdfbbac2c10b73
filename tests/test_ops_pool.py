"""max_pool2d, upsample_nearest, upsample_bilinear: forward against hand references, gradients, errors."""
import numpy as np
import pytest

import tinygan as tg
from tinygan import ops
from tinygan.autograd.tensor import OpError

rng = np.random.default_rng(0)


def _square_sum(y):
    return ops.sum_to(ops.mul(y, y), ())


def max_pool_loops(x, k, s, pads):
    (t, b, l, r) = pads
    xp = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=-np.inf)
    oh, ow = (xp.shape[1] - k[0]) // s[0] + 1, (xp.shape[2] - k[1]) // s[1] + 1
    return np.array([[xp[:, i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]].max(axis=(1, 2)) for j in range(ow)]
                     for i in range(oh)]).transpose(2, 0, 1, 3)


@pytest.mark.parametrize("h, w, k, s, padding, out_hw, pads", [
    (61, 27, (2, 2), None, "valid", (30, 13), (0, 0, 0, 0)),  # Keras floors
    (6, 7, (3, 2), (2, 1), "valid", (2, 6), (0, 0, 0, 0)),
    (5, 6, (2, 2), None, "same", (3, 3), (0, 1, 0, 0)),
    (5, 5, (3, 3), (1, 1), "same", (5, 5), (1, 1, 1, 1)),
])
def test_max_pool2d_forward_matches_loops(h, w, k, s, padding, out_hw, pads):
    x = rng.standard_normal((2, h, w, 3))
    y = ops.max_pool2d(x, k, s, padding)
    assert y.shape == (2, *out_hw, 3)
    np.testing.assert_array_equal(y.numpy(), max_pool_loops(x, k, s or k, pads))


def test_max_pool2d_gradient_goes_to_first_maximum_on_ties():
    x = tg.Tensor(np.array([[1.0, 3.0, 2.0, 2.0], [3.0, 0.0, 2.0, 2.0]]).reshape(1, 2, 4, 1), requires_grad=True)
    ops.sum_to(ops.max_pool2d(x), ()).backward()
    np.testing.assert_array_equal(x.grad.numpy()[0, :, :, 0], [[0, 1, 1, 0], [0, 0, 0, 0]])


@pytest.mark.parametrize("k, s, padding", [((2, 2), None, "valid"), ((3, 3), (2, 2), "same"), ((3, 2), (1, 1), "valid")])
def test_max_pool2d_gradcheck_first_and_second_order(k, s, padding):
    x = rng.permutation(150).reshape(2, 5, 5, 3) / 10.0  # distinct values: no ties for the differences to cross
    tg.gradcheck(lambda x: ops.max_pool2d(x, k, s, padding), [x])
    tg.gradcheck(lambda x: tg.grad(_square_sum(ops.max_pool2d(x, k, s, padding)), x, create_graph=True), [x])


def test_upsample_nearest_repeats_blocks_and_sums_them_back():
    x = rng.standard_normal((2, 3, 4, 2))
    y = ops.upsample_nearest(x, (2, 3))
    np.testing.assert_array_equal(y.numpy(), x.repeat(2, axis=1).repeat(3, axis=2))
    tg.gradcheck(lambda x: ops.upsample_nearest(x, (2, 3)), [x])
    tg.gradcheck(lambda x: tg.grad(_square_sum(ops.upsample_nearest(x, 2)), x, create_graph=True), [x])


def test_upsample_bilinear_tiny_example_by_hand():
    # TF1 resize_bilinear(align_corners=False): output o reads src = o / 2, clamped at the last pixel.
    x = np.array([[0.0, 1.0], [2.0, 3.0]]).reshape(1, 2, 2, 1)
    expected = [[0.0, 0.5, 1.0, 1.0],
                [1.0, 1.5, 2.0, 2.0],
                [2.0, 2.5, 3.0, 3.0],
                [2.0, 2.5, 3.0, 3.0]]
    np.testing.assert_allclose(ops.upsample_bilinear(x, (2, 2)).numpy()[0, :, :, 0], expected)
    # factor 3 along W only: src = 0, 1/3, 2/3, 1, 4/3, 5/3
    row = np.array([0.0, 3.0]).reshape(1, 1, 2, 1)
    np.testing.assert_allclose(ops.upsample_bilinear(row, (1, 3)).numpy().ravel(), [0, 1, 2, 3, 3, 3])


def test_upsample_bilinear_gradcheck_and_dtype():
    x = rng.standard_normal((2, 3, 4, 2))
    tg.gradcheck(lambda x: ops.upsample_bilinear(x, (2, 3)), [x])
    assert ops.upsample_bilinear(x.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("call, words", [
    (lambda: ops.max_pool2d(np.zeros((4, 4, 3))), ["max_pool2d", "4-D"]),
    (lambda: ops.max_pool2d(np.zeros((1, 4, 4, 3)), padding="full"), ["max_pool2d", "'full'"]),
    (lambda: ops.max_pool2d(np.zeros((1, 1, 4, 3))), ["max_pool2d", "bigger than"]),
    (lambda: ops.upsample_nearest(np.zeros((1, 4, 4, 3)), (2, 1.5)), ["upsample_nearest", "size"]),
    (lambda: ops.upsample_bilinear(np.zeros((4, 4)), 2), ["upsample_bilinear", "4-D"]),
])
def test_bad_arguments_raise_op_error(call, words):
    with pytest.raises(OpError) as info:
        call()
    for word in words:
        assert word in str(info.value)


def avg_pool_loops(x, k, s, pads):
    """Each window's mean over its real pixels only (TensorFlow leaves 'same' padding out of the count)."""
    (t, b, l, r) = pads
    xp = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)))
    real = np.pad(np.ones(x.shape[1:3]), ((t, b), (l, r)))
    oh, ow = (xp.shape[1] - k[0]) // s[0] + 1, (xp.shape[2] - k[1]) // s[1] + 1
    win = lambda a, i, j: a[..., i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]]  # noqa: E731
    return np.array([[win(xp.transpose(0, 3, 1, 2), i, j).sum(axis=(2, 3)) / win(real, i, j).sum()
                      for j in range(ow)] for i in range(oh)]).transpose(2, 0, 1, 3)


@pytest.mark.parametrize("h, w, k, s, padding, out_hw, pads", [
    (7, 6, (2, 2), None, "valid", (3, 3), (0, 0, 0, 0)),
    (6, 7, (3, 2), (2, 1), "valid", (2, 6), (0, 0, 0, 0)),
    (5, 6, (2, 2), None, "same", (3, 3), (0, 1, 0, 0)),
    (5, 5, (3, 3), (1, 1), "same", (5, 5), (1, 1, 1, 1)),  # Inception v3's branch pool
])
def test_avg_pool2d_forward_matches_loops(h, w, k, s, padding, out_hw, pads):
    x = rng.standard_normal((2, h, w, 3))
    y = ops.avg_pool2d(x, k, s, padding)
    assert y.shape == (2, *out_hw, 3)
    np.testing.assert_allclose(y.numpy(), avg_pool_loops(x, k, s or k, pads), rtol=1e-12)


def test_avg_pool2d_same_padding_keeps_a_constant_image_constant():
    """A corner window of 3x3 'same' covers 4 real pixels: it averages those 4, not 4 and 5 zeros."""
    y = ops.avg_pool2d(np.full((1, 4, 4, 2), 3.0, np.float32), (3, 3), (1, 1), "same").numpy()
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, 3.0)


@pytest.mark.parametrize("k, s, padding", [((2, 2), None, "valid"), ((3, 3), (1, 1), "same"), ((3, 2), (2, 1), "same")])
def test_avg_pool2d_gradcheck_first_and_second_order(k, s, padding):
    x = rng.standard_normal((2, 5, 5, 3))
    tg.gradcheck(lambda x: ops.avg_pool2d(x, k, s, padding), [x])
    tg.gradcheck(lambda x: tg.grad(_square_sum(ops.avg_pool2d(x, k, s, padding)), x, create_graph=True), [x])


def test_avg_pool2d_bad_input_names_the_op():
    with pytest.raises(OpError, match="avg_pool2d: x must be 4-D"):
        ops.avg_pool2d(np.zeros((4, 4, 3)))
    with pytest.raises(OpError, match="avg_pool2d: window 3x3 is bigger"):
        ops.avg_pool2d(np.zeros((1, 2, 2, 1)), (3, 3))
