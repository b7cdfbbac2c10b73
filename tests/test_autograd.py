"""The graph machinery: accumulation, no_grad, detach, deep graphs, repeated backward, second order."""
import numpy as np
import pytest

import tinygan as tg
from tinygan import ops


def test_gradient_accumulates_across_backward_calls():
    x = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    ops.sum_to(x * 3.0, ()).backward()
    ops.sum_to(x * 3.0, ()).backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])


def test_backward_twice_on_fresh_graphs_gives_same_grads():
    w = tg.Tensor(np.random.default_rng(0).standard_normal((3, 2)), requires_grad=True)
    grads = []
    for _ in range(2):
        w.grad = None
        ops.sum_to(w * w, ()).backward()
        grads.append(w.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
    np.testing.assert_allclose(grads[0], 2 * w.numpy())


def test_shared_input_gets_sum_of_both_paths():
    x = tg.Tensor(np.array(3.0), requires_grad=True)
    y = x * x + x  # dy/dx = 2x + 1
    y.backward()
    assert x.grad.item() == pytest.approx(7.0)


def test_no_grad_records_nothing_and_detach_cuts_graph():
    x = tg.Tensor(np.ones(2), requires_grad=True)
    with tg.no_grad():
        y = x * 2.0
    assert not y.requires_grad and y.is_leaf
    z = (x * 2.0).detach()
    assert not z.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_deep_graph_needs_no_recursion():
    x = tg.Tensor(np.array([1.0]), requires_grad=True)
    y = x
    for _ in range(30000):
        y = y * 1.0
    ops.sum_to(y, ()).backward()
    assert x.grad.numpy()[0] == 1.0


def test_second_order_derivative_of_cube():
    x = tg.Tensor(np.array([0.5, -1.5, 2.0]), requires_grad=True)
    (gx,) = [tg.grad(ops.sum_to(x * x * x, ()), x, create_graph=True)]
    np.testing.assert_allclose(gx.numpy(), 3 * x.numpy() ** 2)
    g2 = tg.grad(ops.sum_to(gx, ()), x)
    np.testing.assert_allclose(g2.numpy(), 6 * x.numpy())


def test_grad_of_unused_input_is_zero_and_leaves_dot_grad_alone():
    a = tg.Tensor(np.ones(3), requires_grad=True)
    b = tg.Tensor(np.ones(2), requires_grad=True)
    ga, gb = tg.grad(ops.sum_to(a * 2.0, ()), [a, b])
    np.testing.assert_allclose(ga.numpy(), 2.0)
    np.testing.assert_allclose(gb.numpy(), 0.0)
    assert a.grad is None


def test_gradcheck_catches_a_wrong_backward():
    class BadSquare(tg.Function):
        def forward(self, a):
            return a * a

        def backward(self, g):
            return g * self.inputs[0]  # missing the factor 2

    with pytest.raises(tg.GradcheckError):
        tg.gradcheck(lambda a: BadSquare.apply(a), [np.random.randn(4)])


def test_float_lists_take_default_dtype_and_arrays_keep_theirs():
    assert tg.tensor([1.0, 2.0]).dtype == np.float32
    assert tg.Tensor(np.zeros(2)).dtype == np.float64
    assert tg.Tensor(np.zeros(2, dtype=np.int64)).dtype == np.int64


@pytest.mark.parametrize("order", ["h_first", "x_first"])
@pytest.mark.parametrize("create_graph", [False, True])
def test_grad_flows_through_a_requested_intermediate(order, create_graph):
    """torch.autograd.grad semantics: h = 2x, y = sum(3h) gives dy/dh = 3 and dy/dx = 6 in either order."""
    x = tg.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    h = x * 2.0
    y = ops.sum(h * 3.0)
    wanted = [h, x] if order == "h_first" else [x, h]
    grads = dict(zip(("h", "x") if order == "h_first" else ("x", "h"), tg.grad(y, wanted, create_graph=create_graph)))
    np.testing.assert_allclose(grads["h"].numpy(), [3.0, 3.0])
    np.testing.assert_allclose(grads["x"].numpy(), [6.0, 6.0])
    assert grads["x"].requires_grad is False  # a constant gradient: nothing to differentiate further
    assert x.grad is None and h.grad is None


def test_grad_through_intermediate_keeps_second_order():
    """y = sum(h^3) with h = 2x: dy/dh = 3h^2 and dy/dx = 6h^2; their derivatives w.r.t. x are 24h and 48h."""
    x = tg.Tensor(np.array([0.5, -1.5]), requires_grad=True)
    h = x * 2.0
    y = ops.sum(h * h * h)
    gh, gx = tg.grad(y, [h, x], create_graph=True)
    hv = 2 * x.numpy()
    np.testing.assert_allclose(gh.numpy(), 3 * hv ** 2)
    np.testing.assert_allclose(gx.numpy(), 6 * hv ** 2)
    np.testing.assert_allclose(tg.grad(ops.sum(gh), x).numpy(), 12 * hv)
    np.testing.assert_allclose(tg.grad(ops.sum(gx), x).numpy(), 24 * hv)


def test_grad_skips_branches_that_reach_no_requested_input():
    """Asking for dy/dx computes no gradient for a weight on another branch (the gradient-penalty case)."""
    calls = []

    class Spy(tg.Function):
        def forward(self, a):
            return a * 1.0

        def backward(self, g):
            calls.append(self.needs_grad)
            return g

    w = tg.Tensor(np.ones(2), requires_grad=True)
    x = tg.Tensor(np.ones(2), requires_grad=True)
    y = ops.sum(Spy.apply(w) * x)
    np.testing.assert_allclose(tg.grad(y, x).numpy(), [1.0, 1.0])
    assert calls == []
    tg.grad(y, w)
    assert calls == [(True,)]


def test_tensor_copies_and_as_tensor_shares():
    """Tensor(array) and tinygan.tensor(array) own a copy (torch.tensor); as_tensor shares (torch.as_tensor)."""
    arr = np.array([1.0, 2.0], dtype=np.float32)
    owned, made, shared = tg.Tensor(arr), tg.tensor(arr), tg.as_tensor(arr)
    arr[0] = 9.0
    assert owned.numpy()[0] == 1.0 and made.numpy()[0] == 1.0
    assert shared.numpy()[0] == 9.0 and shared.data is arr
    assert tg.as_tensor(owned) is owned
    assert tg.Tensor(owned).data is not owned.data  # a Tensor is copied too
    assert tg.Tensor(arr, dtype=np.float64).dtype == np.float64
    assert tg.Tensor([1.0, 2.0]).dtype == np.float32 and tg.Tensor(np.arange(3)).dtype.kind == "i"


def test_grad_reports_each_gradient_as_soon_as_it_is_complete():
    """``on_final`` (the hook that lets a data-parallel step start its all-reduces during the backward): called
    once per input, with the total gradient, as soon as every op using that input has been processed; the last
    layer's parameters come first although the walk visits them last."""
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((4, 3)))
    w1, b1, w2, b2, unused = (tg.Tensor(rng.standard_normal(s), requires_grad=True)
                              for s in [(3, 5), (5,), (5, 2), (2,), (2,)])
    h = ops.tanh(x @ w1 + b1)
    loss = ops.sum((h @ w2 + b2) * (h @ w2))  # w2 and h feed two ops: final only after both
    seen = []
    grads = tg.grad(loss, [w1, b1, w2, b2, unused],
                    on_final=lambda i, g: seen.append((i, g.numpy().copy())))
    assert [i for i, _ in seen] == [3, 2, 1, 0]  # b2, w2, then the first layer; the unused one never
    for i, g in seen:
        np.testing.assert_array_equal(g, grads[i].numpy())  # the final value, not a partial sum
    assert not grads[4].numpy().any()
    plain = tg.grad(loss, [w1, b1, w2, b2, unused])
    for a, b in zip(grads, plain):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
