"""Torch parity for ops (the pattern of tinygrad's test helpers): run one op in tinygan and the same op in PyTorch
on the same float64 inputs and compare the forward, the backward and the double backward.

    check(lambda x, w: ops.matmul(x, w), lambda x, w: x @ w, [x, w])

``check`` draws a fixed random output weighting ``u`` and compares

* the forward ``y = f(*inputs)``;
* the backward: ``d sum(u * y) / d input`` for every differentiable input, through ``tinygan.grad`` and
  ``torch.autograd.grad`` (both with ``create_graph=True``);
* the double backward: ``d sum_i sum(v_i * grad_i) / d input`` for fixed random ``v_i``, the Hessian-vector
  products a gradient penalty needs (skipped with ``second_order=False`` where tinygan documents that it has none).

PyTorch is only a reference here: the module imports it lazily, and the tests that use it skip without it.
Keras layouts (NHWC, (kh, kw, in, out) kernels) are mapped to PyTorch's by the callers.
"""
import numpy as np

import tinygan as tg
from tinygan import ops


def _torch():
    import torch
    return torch


def _zeros_for_none(grads, like):
    return [np.zeros(a.shape) if g is None else g for g, a in zip(grads, like)]


def _tg_grads(out, inputs, diff, create_graph):
    wanted = [t for t, d in zip(inputs, diff) if d]
    if not out.requires_grad:
        return [np.zeros(t.shape) for t in wanted], None
    grads = tg.grad(out, wanted, create_graph=create_graph)
    return [g.numpy() for g in grads], grads


def _torch_grads(out, inputs, diff, create_graph):
    torch = _torch()
    wanted = [t for t, d in zip(inputs, diff) if d]
    if not out.requires_grad:
        return [np.zeros(tuple(t.shape)) for t in wanted], None
    grads = torch.autograd.grad(out, wanted, create_graph=create_graph, allow_unused=True)
    return _zeros_for_none([None if g is None else g.detach().numpy(force=True) for g in grads], wanted), grads


def check(tg_fn, torch_fn, inputs, diff=None, second_order=True, rtol=1e-7, atol=1e-9, seed=0):
    """Compare ``tg_fn(*Tensors)`` with ``torch_fn(*torch tensors)`` on ``inputs`` (NumPy arrays, float64 unless
    integer), and their first and second derivatives w.r.t. the inputs flagged in ``diff`` (default: the float
    ones). Raises AssertionError naming the stage and the input that differ."""
    torch = _torch()
    rng = np.random.default_rng(seed)
    diff = [np.asarray(a).dtype.kind == "f" for a in inputs] if diff is None else list(diff)
    tg_in = [tg.Tensor(np.asarray(a), requires_grad=d) for a, d in zip(inputs, diff)]
    th_in = [torch.tensor(np.asarray(a), requires_grad=d) for a, d in zip(inputs, diff)]
    y_tg, y_th = tg_fn(*tg_in), torch_fn(*th_in)
    np.testing.assert_allclose(y_tg.numpy(), y_th.detach().numpy(), rtol=rtol, atol=atol, err_msg="forward")

    u = rng.standard_normal(y_tg.shape)
    g_tg, tg_graph = _tg_grads(ops.sum(y_tg * u), tg_in, diff, create_graph=True)
    g_th, th_graph = _torch_grads((y_th * torch.tensor(u)).sum(), th_in, diff, create_graph=True)
    for i, (a, b) in enumerate(zip(g_tg, g_th)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"backward, differentiable input {i}")
    if not second_order or tg_graph is None:
        return
    vs = [rng.standard_normal(g.shape) for g in g_tg]
    s_tg = None
    for g, v in zip(tg_graph, vs):
        term = ops.sum(g * v)
        s_tg = term if s_tg is None else s_tg + term
    th_terms = [(g * torch.tensor(v)).sum() for g, v in zip(th_graph, vs) if g is not None]
    s_th = sum(th_terms) if th_terms else torch.tensor(0.0)
    gg_tg, _ = _tg_grads(s_tg, tg_in, diff, create_graph=False)
    gg_th, _ = _torch_grads(s_th, th_in, diff, create_graph=False)
    for i, (a, b) in enumerate(zip(gg_tg, gg_th)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"double backward, differentiable input {i}")


# ---- layout mapping (Keras NHWC and kernel layouts -> PyTorch NCHW) ------------------------------------------

def nchw(x):
    return x.permute(0, 3, 1, 2)


def nhwc(x):
    return x.permute(0, 2, 3, 1)


def torch_conv2d(x, w, b, strides, pads):
    """Keras conv2d in PyTorch: x NHWC, w (kh, kw, in, out), pads (top, bottom, left, right) as tinygan derives
    them (TensorFlow's 'same' puts an odd extra pixel bottom/right, which F.conv2d's symmetric padding cannot)."""
    F = _torch().nn.functional
    t, bo, le, r = pads
    y = F.conv2d(F.pad(nchw(x), (le, r, t, bo)), w.permute(3, 2, 0, 1), b, stride=strides)
    return nhwc(y)


def torch_conv_transpose2d(x, w, b, strides, pads, out_hw):
    """Keras conv_transpose2d in PyTorch: the full transposed conv, then TensorFlow's crop (``pads`` of the conv
    it is the adjoint of: top/left first, the odd pixel bottom/right) down to ``out_hw``. w is (kh, kw, out, in)."""
    F = _torch().nn.functional
    y = F.conv_transpose2d(nchw(x), w.permute(3, 2, 0, 1), b, stride=strides)
    t, le = pads[0], pads[2]
    return nhwc(y[:, :, t:t + out_hw[0], le:le + out_hw[1]])
