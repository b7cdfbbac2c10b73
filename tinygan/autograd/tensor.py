"""Tensor and the recorded graph.

A ``Tensor`` wraps an array of the backend's array module. Every op is a ``Function`` subclass
with ``forward`` (raw arrays in, one raw array out) and ``backward`` (a Tensor gradient in,
Tensor gradients out). Because ``backward`` is written with Tensor ops, running it with the
graph recording on (``create_graph=True``) gives second derivatives, which WGAN-GP needs.

``backward()`` walks the graph in reverse topological order with an explicit stack, so a graph
of any depth works without touching Python's recursion limit.
"""
import contextlib
import threading
import weakref

import numpy

from .. import backend

_grad_mode = threading.local()


def is_grad_enabled():
    return getattr(_grad_mode, "enabled", True)


@contextlib.contextmanager
def set_grad_enabled(flag):
    old = is_grad_enabled()
    _grad_mode.enabled = bool(flag)
    try:
        yield
    finally:
        _grad_mode.enabled = old


def no_grad():
    """Ops run inside ``with no_grad():`` record no graph (inference, optimizer updates)."""
    return set_grad_enabled(False)


class OpError(ValueError):
    """An op was given inputs it cannot work on; the message names the op, the shapes and the fix."""


class InPlaceModificationError(RuntimeError):
    """A tensor that a recorded op's backward reads was changed in place after the forward (PyTorch's
    "one of the variables needed for gradient computation has been modified by an inplace operation")."""


class Function:
    """One differentiable op. Subclasses define ``forward(*arrays)`` and ``backward(grad)``.

    Attributes available in ``backward``: ``self.inputs`` (the input Tensors),
    ``self.needs_grad`` (which inputs want a gradient), ``self.output`` (the output Tensor).
    Keyword arguments given to ``apply`` are stored as attributes before ``forward`` runs.

    What the backward reads is declared so that an in-place change of it between the forward and the
    backward raises ``InPlaceModificationError`` instead of giving a stale gradient: ``saves_inputs``
    (default True; False for ops whose backward needs only shapes, like add or reshape) and
    ``saves_output`` (True for ops whose backward reads ``self.output``, like sigmoid or a fused
    LeakyReLU). ``output_is_view = True`` marks ops whose output may share the input's memory
    (reshape, transpose, slicing): the output then shares the input's version counter, as in PyTorch.
    """

    inputs = ()
    needs_grad = ()
    saves_inputs = True
    saves_output = False
    output_is_view = False

    @classmethod
    def apply(cls, *inputs, **attrs):
        fn = cls()
        fn.__dict__.update(attrs)
        fn.needs_grad = tuple(t.requires_grad for t in inputs)
        arrays = [t.data for t in inputs]
        data = fn.forward(*arrays)
        if backend.check_numerics_enabled():
            _check_finite(cls.__name__, data, inputs)
        record = is_grad_enabled() and any(fn.needs_grad)
        out = Tensor(data, requires_grad=record, _copy=False)
        if cls.output_is_view:
            out._version = inputs[0]._version
        if record:
            fn.inputs = inputs
            fn._out = weakref.ref(out)
            if cls.saves_inputs:
                fn._saved = (arrays, [t._version[0] for t in inputs])
            if cls.saves_output:
                fn._saved_output = (data, out._version[0])
            out._node = fn
        return out

    def check_saved(self, out):
        """Raise ``InPlaceModificationError`` if a tensor the backward reads (an input, or the output
        ``out``) was written in place, or had its ``.data`` replaced, since the forward."""
        if self.saves_inputs:
            arrays, versions = self._saved
            for i, (t, array, version) in enumerate(zip(self.inputs, arrays, versions)):
                if t._version[0] != version or t.data is not array:
                    raise _modified(self, f"input {i}", t, version)
        if self.saves_output:
            array, version = self._saved_output
            if out._version[0] != version or out.data is not array:
                raise _modified(self, "output", out, version)

    @property
    def output(self):
        return self._out()

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError(f"{type(self).__name__} has no backward")


def _modified(fn, which, t, version):
    change = (f"is at version {t._version[0]}; expected version {version}" if t._version[0] != version
              else "had its .data replaced")
    return InPlaceModificationError(
        f"{type(fn).__name__}'s backward needs its {which} (shape {t.shape}), which was modified by an in-place "
        f"operation after the forward: it {change}. One of the variables needed for gradient computation has "
        "been modified by an inplace operation; run backward() before updating it (an optimizer step), or "
        "change a copy")


def _check_finite(name, data, inputs):
    mod = backend.xp()
    if data.dtype.kind == "f" and not bool(mod.isfinite(data).all()):
        shapes = ", ".join(str(t.shape) for t in inputs)
        raise FloatingPointError(f"{name} produced NaN/Inf from inputs of shapes {shapes}")


def _as_data(value, dtype=None, copy=False):
    """An array on the current device. Python numbers and lists get the default float dtype;
    arrays keep theirs (so float64 gradient checks and integer labels stay what they are).
    ``copy=False`` shares an array that is already on the device with that dtype; ``copy=True`` never does."""
    mod = backend.xp()
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, (mod.ndarray, numpy.ndarray)):
        return mod.array(value, dtype=dtype, copy=True) if copy else mod.asarray(value, dtype=dtype)
    return mod.asarray(value, dtype=dtype or backend.get_default_dtype())


class Tensor:
    """An n-dimensional array that remembers how it was computed.

    ``grad`` is a Tensor (so gradients can themselves be differentiated) or None.

    ``Tensor(data)`` copies: the Tensor owns its array, so later writes into ``data`` do not reach it
    (``torch.tensor``'s rule; ``tinygan.tensor(data)`` is the same). ``as_tensor(data)`` shares an array
    that is already on the device with the right dtype (``torch.as_tensor``'s rule). ``_copy=False`` is
    the ops' internal path: ``data`` is taken as it is, a backend array, without a copy or a check.

    ``version`` counts the in-place writes into the tensor: ``t[index] = value``, ``bump_version()`` (called
    by the optimizers and by ``Weight.assign`` after they write into ``.data``), shared with ``detach()``
    and with views. A recorded op checks it before its backward reads the tensor. Writing into the raw
    array ``t.data[...] = v`` bypasses the counter (as ``.data`` does in PyTorch); call ``t.bump_version()``
    after such a write, or use ``t[...] = v``.
    """

    __slots__ = ("data", "grad", "requires_grad", "_node", "name", "_version", "__weakref__")
    __array_priority__ = 1000  # so ndarray + Tensor calls Tensor.__radd__

    def __init__(self, data, requires_grad=False, dtype=None, name=None, _copy=True):
        self.data = data if not _copy else _as_data(data, dtype, copy=True)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._node = None
        self.name = name
        self._version = [0]  # a box, so that detach() and views can share it

    # ---- array-like facts -------------------------------------------------------------------
    shape = property(lambda self: tuple(self.data.shape))
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: int(self.data.size))

    def __len__(self):
        return self.data.shape[0]

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({backend.to_numpy(self.data)!r}{grad})"

    def numpy(self):
        return backend.to_numpy(self.data)

    def item(self):
        return self.data.item()

    def __float__(self):
        return float(self.data)

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def version(self):
        """How many in-place writes this tensor (or a view or detached alias of it) has had."""
        return self._version[0]

    def bump_version(self):
        """Record an in-place write into ``.data``, so a recorded backward that reads this tensor refuses to run."""
        self._version[0] += 1

    def __setitem__(self, index, value):
        """In-place write ``self.data[index] = value`` (bumps ``version``). It is not recorded in the graph, so
        a ``value`` that needs a gradient is refused while gradients are being recorded."""
        if isinstance(value, Tensor):
            if value.requires_grad and is_grad_enabled():
                raise RuntimeError("an in-place write of a value that requires grad is not recorded in the graph; "
                                   "build the result with ops (where, concatenate, pad) instead")
            value = value.data
        self.data[index] = value
        self.bump_version()

    def detach(self):
        """The same data, cut from the graph (it shares this tensor's version counter)."""
        out = Tensor(self.data, _copy=False)
        out._version = self._version
        return out

    def astype(self, dtype):
        from .. import ops
        return ops.cast(self, dtype)

    # ---- backward ---------------------------------------------------------------------------
    def backward(self, grad=None, create_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        ``grad`` defaults to ones for a scalar. With ``create_graph=True`` the gradients are
        themselves recorded, so they can be differentiated again.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() called on a Tensor that does not require grad "
                               "(no input of the graph has requires_grad=True, or it was made under no_grad)")
        if grad is None:
            if self.size != 1:
                raise RuntimeError(f"backward() without a gradient needs a scalar, got shape {self.shape}; "
                                   "pass grad= of the same shape")
            grad = Tensor(backend.xp().ones_like(self.data), _copy=False)
        elif not isinstance(grad, Tensor):
            grad = Tensor(grad, dtype=self.dtype)
        for leaf, g in _run_backward([self], [grad], create_graph).items():
            leaf.grad = g if leaf.grad is None else (leaf.grad + g if create_graph else
                                                     Tensor(leaf.grad.data + g.data, _copy=False))

    # ---- operators (implemented in tinygan.ops) ----------------------------------------------
    def __add__(self, other): return _ops().add(self, other)
    def __radd__(self, other): return _ops().add(other, self)
    def __sub__(self, other): return _ops().sub(self, other)
    def __rsub__(self, other): return _ops().sub(other, self)
    def __mul__(self, other): return _ops().mul(self, other)
    def __rmul__(self, other): return _ops().mul(other, self)
    def __truediv__(self, other): return _ops().div(self, other)
    def __rtruediv__(self, other): return _ops().div(other, self)
    def __pow__(self, other): return _ops().pow(self, other)
    def __neg__(self): return _ops().neg(self)
    def __matmul__(self, other): return _ops().matmul(self, other)
    def __getitem__(self, index): return _ops().getitem(self, index)

    def sum(self, axis=None, keepdims=False): return _ops().sum(self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return _ops().mean(self, axis, keepdims)
    def max(self, axis=None, keepdims=False): return _ops().max(self, axis, keepdims)
    def reshape(self, *shape): return _ops().reshape(self, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)
    def transpose(self, *axes): return _ops().transpose(self, axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else (axes or None))
    T = property(lambda self: _ops().transpose(self, None))


def _ops():
    from .. import ops
    return ops


def _topological_order(roots):
    """Tensors that need a gradient, each after every tensor computed from it (iterative DFS)."""
    order, visited = [], set()
    stack = [(t, False) for t in roots if t.requires_grad]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if id(t) in visited:
            continue
        visited.add(id(t))
        stack.append((t, True))
        if t._node is not None:
            stack.extend((p, False) for p in t._node.inputs if p.requires_grad and id(p) not in visited)
    return order[::-1]  # outputs first


def _on_paths_to(order, targets):
    """The ids of the tensors in ``order`` (outputs first) from which some target can be reached."""
    keep = set()
    for t in reversed(order):  # inputs first, so a tensor's inputs are decided before it
        if id(t) in targets or (t._node is not None and any(id(p) in keep for p in t._node.inputs)):
            keep.add(id(t))
    return keep


def _run_backward(roots, root_grads, create_graph, targets=None, on_final=None):
    """Propagate from ``roots``; returns {tensor: its total gradient}.

    ``targets=None`` (``backward()``): every leaf reached. Otherwise (``grad()``) only the tensors whose
    ids are in ``targets``, leaves or not: the walk records a target's total and keeps going through it,
    so a target upstream of another target gets both paths, and it skips every branch that leads to no
    target (as torch.autograd.grad does).

    ``on_final(tensor, gradient)`` (with ``targets``) is called as soon as a target's last consumer has
    been processed, which for a parameter is usually long before the walk reaches it in ``order``; a target
    whose gradient never completes that way (no consumer in the graph, or one that got no gradient) is only
    in the returned dict. Without ``on_final`` nothing is counted.
    """
    grads = {}
    for r, g in zip(roots, root_grads):
        grads[id(r)] = g if id(r) not in grads else grads[id(r)] + g
    order = _topological_order(roots)
    keep = None if targets is None else _on_paths_to(order, targets)
    consumers = None if on_final is None else _consumer_counts(order, targets)
    found = {}
    with set_grad_enabled(create_graph):
        for t in order:
            g = grads.pop(id(t), None)
            if g is None:
                continue
            fn = t._node
            if targets is None:
                if fn is None:
                    found[t] = g
                    continue
            elif id(t) in targets:
                found[t] = g
            if fn is None:
                continue
            fn.check_saved(t)
            needs = fn.needs_grad if keep is None else tuple(n and id(p) in keep
                                                              for n, p in zip(fn.needs_grad, fn.inputs))
            for inp, need, ig in zip(fn.inputs, needs, _call_backward(fn, g, needs)):
                if ig is not None and need:
                    if ig.shape != inp.shape:
                        raise RuntimeError(f"{type(fn).__name__}.backward returned a gradient of shape "
                                           f"{ig.shape} for an input of shape {inp.shape}")
                    prev = grads.get(id(inp))
                    grads[id(inp)] = ig if prev is None else prev + ig
                if consumers is not None and id(inp) in consumers:
                    consumers[id(inp)] -= 1
                    if not consumers[id(inp)] and id(inp) in grads:
                        on_final(inp, grads[id(inp)])
    return found


def _consumer_counts(order, targets):
    """{id of a target: how many times the recorded ops in ``order`` take it as an input}."""
    counts = {}
    for t in order:
        for p in (t._node.inputs if t._node is not None else ()):
            if id(p) in targets:
                counts[id(p)] = counts.get(id(p), 0) + 1
    return counts


def _call_backward(fn, g, needs):
    """``fn.backward(g)`` as a tuple, with ``fn.needs_grad`` narrowed to ``needs`` meanwhile (so an op
    skips the gradients nobody asked for)."""
    full, fn.needs_grad = fn.needs_grad, needs
    try:
        in_grads = fn.backward(g)
    finally:
        fn.needs_grad = full
    return in_grads if isinstance(in_grads, (tuple, list)) else (in_grads,)


def grad(outputs, inputs, grad_outputs=None, create_graph=False, on_final=None):
    """Gradients of ``outputs`` w.r.t. ``inputs`` without touching any ``.grad`` (like torch.autograd.grad).

    ``inputs`` may be intermediate tensors as well as leaves; gradients flow through each of them, so for
    ``h = 2 * x`` and ``y = sum(3 * h)``, ``grad(y, [h, x])`` is ``[3, 6]``. Inputs that the outputs do not
    depend on get a zero gradient.

    ``on_final(i, gradient)``, if given, is called during the walk as soon as the gradient of ``inputs[i]``
    is complete (every op that uses it has been processed): the last layers' parameters come first, so a
    data-parallel step can start averaging them over the ranks while the backward goes on
    (``tinygan.distributed``). Inputs it was not called for are complete when ``grad`` returns.
    """
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    single = not isinstance(inputs, (list, tuple))
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None:
        grad_outputs = [Tensor(backend.xp().ones_like(o.data), _copy=False) for o in outputs]
    elif not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    index = {id(t): i for i, t in enumerate(inputs)}
    found = _run_backward(outputs, grad_outputs, create_graph, targets=set(index),
                          on_final=on_final and (lambda t, g: on_final(index[id(t)], g)))
    result = [found.get(t) if found.get(t) is not None else Tensor(backend.xp().zeros_like(t.data), _copy=False)
              for t in inputs]
    return result[0] if single else result


def tensor(data, requires_grad=False, dtype=None):
    """A Tensor holding a copy of a list, scalar or array (like ``torch.tensor``; Python floats get the
    default dtype, arrays keep theirs)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(shape, dtype=None, requires_grad=False):
    return Tensor(backend.xp().zeros(shape, dtype or backend.get_default_dtype()), requires_grad, _copy=False)


def ones(shape, dtype=None, requires_grad=False):
    return Tensor(backend.xp().ones(shape, dtype or backend.get_default_dtype()), requires_grad, _copy=False)


def as_tensor(value, like=None):
    """``value`` as a Tensor without copying where it can (like ``torch.as_tensor``): a Tensor is returned
    as it is and a device array of the right dtype is shared. A Python number takes ``like``'s dtype so
    float32 graphs stay float32."""
    if isinstance(value, Tensor):
        return value
    if like is not None and isinstance(value, (int, float, numpy.number)):
        return Tensor(backend.xp().asarray(value, dtype=like.dtype), _copy=False)
    return Tensor(_as_data(value), _copy=False)
