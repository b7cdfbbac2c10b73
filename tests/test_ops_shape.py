"""Shape ops: forward against NumPy, backward by float64 gradient checks, errors."""
import numpy as np
import pytest

import tinygan as tg
from tinygan import ops

rng = np.random.default_rng(1)


def x234():
    return rng.standard_normal((2, 3, 4))


def test_broadcast_to_and_sum_to_are_adjoint():
    x = rng.standard_normal((3, 1))
    np.testing.assert_array_equal(ops.broadcast_to(tg.Tensor(x), (2, 3, 4)).numpy(), np.broadcast_to(x, (2, 3, 4)))
    tg.gradcheck(lambda t: ops.broadcast_to(t, (2, 3, 4)), [x])
    y = x234()
    np.testing.assert_allclose(ops.sum_to(tg.Tensor(y), (3, 1)).numpy(), y.sum(axis=(0, 2))[:, None])
    tg.gradcheck(lambda t: ops.sum_to(t, (3, 1)), [y])


@pytest.mark.parametrize("shape, expected", [((4, 6), (4, 6)), ((-1, 4), (6, 4)), (24, (24,)), ((2, -1, 3), (2, 4, 3))])
def test_reshape(shape, expected):
    x = x234()
    y = ops.reshape(tg.Tensor(x), shape)
    assert y.shape == expected
    np.testing.assert_array_equal(y.numpy(), x.reshape(expected))
    tg.gradcheck(lambda t: ops.reshape(t, shape), [x])


@pytest.mark.parametrize("axes", [None, (1, 0, 2), (2, 0, 1), (-1, 0, 1)])
def test_transpose(axes):
    x = x234()
    np.testing.assert_array_equal(ops.transpose(tg.Tensor(x), axes).numpy(), np.transpose(x, axes))
    tg.gradcheck(lambda t: ops.transpose(t, axes), [x])


def test_expand_dims_squeeze_flatten():
    x = x234()
    t = tg.Tensor(x)
    assert ops.expand_dims(t, 1).shape == (2, 1, 3, 4)
    assert ops.expand_dims(t, -1).shape == (2, 3, 4, 1)
    assert ops.squeeze(tg.Tensor(np.ones((1, 3, 1))), None).shape == (3,)
    assert ops.squeeze(tg.Tensor(np.ones((1, 3, 1))), -1).shape == (1, 3)
    flat = ops.flatten(t)
    assert flat.shape == (2, 12)
    np.testing.assert_array_equal(flat.numpy()[1], x[1].ravel())  # row-major, batch kept
    assert ops.flatten(tg.Tensor(np.ones(5))).shape == (5, 1)
    tg.gradcheck(lambda a: ops.squeeze(ops.expand_dims(ops.flatten(a), 0), 0), [x])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_and_its_gradient(axis):
    shapes = [list((2, 3, 4)) for _ in range(3)]
    for s, n in zip(shapes, (1, 2, 3)):
        s[axis] = n
    arrays = [rng.standard_normal(s) for s in shapes]
    out = ops.concatenate([tg.Tensor(a) for a in arrays], axis)
    np.testing.assert_array_equal(out.numpy(), np.concatenate(arrays, axis))
    tg.gradcheck(lambda *ts: ops.concatenate(ts, axis), arrays)


def test_stack_and_split():
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    np.testing.assert_array_equal(ops.stack([tg.Tensor(a), tg.Tensor(b)], 1).numpy(), np.stack([a, b], 1))
    tg.gradcheck(lambda p, q: ops.stack([p, q], -1), [a, b])
    x = rng.standard_normal((6, 4))
    for spec, axis in [(3, 0), ([1, 3], 1), ([2, 9], 0)]:
        pieces = ops.split(tg.Tensor(x), spec, axis)
        expected = np.split(x, spec, axis)
        assert len(pieces) == len(expected)
        for p, e in zip(pieces, expected):
            np.testing.assert_array_equal(p.numpy(), e)
    tg.gradcheck(lambda t: ops.concatenate([p * float(i + 1) for i, p in enumerate(ops.split(t, [1, 3], 1))], 1), [x])


@pytest.mark.parametrize("index", [(slice(None), 1), (0, slice(1, None), slice(None, None, 2)), (Ellipsis, -1),
                                   (None, 1), (np.array([0, 2, 2, 0]),), ([1, 1], slice(0, 2)),
                                   (np.array([0, 1]), slice(None), np.array([3, 3])), (np.array([True, False, True]),)])
def test_getitem_forward_and_gradient(index):
    x = rng.standard_normal((3, 3, 4))
    np_index = tuple(np.asarray(i) if isinstance(i, list) else i for i in index)
    np.testing.assert_array_equal(ops.getitem(tg.Tensor(x), index).numpy(), x[np_index])
    tg.gradcheck(lambda t: t[index], [x])


def test_getitem_repeated_indices_accumulate_and_second_order_flows():
    x = tg.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    picked = x[tg.Tensor(np.array([2, 0, 2]))]
    g = tg.grad(ops.sum(picked * picked), x, create_graph=True)
    np.testing.assert_array_equal(g.numpy(), [2.0, 0.0, 12.0])
    np.testing.assert_array_equal(tg.grad(ops.sum(g), x).numpy(), [2.0, 0.0, 4.0])


@pytest.mark.parametrize("width", [1, (1, 2), ((0, 1), (2, 0), (1, 1))])
def test_pad(width):
    x = x234()
    np.testing.assert_array_equal(ops.pad(tg.Tensor(x), width, 0.5).numpy(),
                                  np.pad(x, width, mode="constant", constant_values=0.5))
    tg.gradcheck(lambda t: ops.pad(t, width), [x])


def test_shape_mistakes_raise_op_error():
    t = tg.Tensor(np.ones((2, 3)))
    with pytest.raises(tg.OpError, match=r"reshape: cannot reshape \(2, 3\) \(6 elements\) into \(4, 2\)"):
        ops.reshape(t, (4, 2))
    with pytest.raises(tg.OpError, match="at most one -1"):
        ops.reshape(t, (-1, -1))
    with pytest.raises(tg.OpError, match="transpose: axes"):
        ops.transpose(t, (0, 0))
    with pytest.raises(tg.OpError, match=r"concatenate: shapes \(2, 3\) and \(3, 3\) differ outside axis 1"):
        ops.concatenate([t, tg.Tensor(np.ones((3, 3)))], axis=1)
    with pytest.raises(tg.OpError, match="stack: inputs have different shapes"):
        ops.stack([t, tg.Tensor(np.ones((3, 2)))])
    with pytest.raises(tg.OpError, match="split: axis 1 .* cannot be split into 2"):
        ops.split(t, 2, axis=1)
    with pytest.raises(tg.OpError, match="squeeze: axis 1"):
        ops.squeeze(t, 1)
    with pytest.raises(tg.OpError, match="getitem: index"):
        t[5]
    with pytest.raises(tg.OpError, match="pad: pad_width"):
        ops.pad(t, ((1, 1), (1, 1), (1, 1)))
    with pytest.raises(tg.OpError, match="axis 2 is out of range"):
        ops.expand_dims(tg.Tensor(np.ones(3)), 2)
