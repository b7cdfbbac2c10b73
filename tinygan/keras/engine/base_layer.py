"""Layer, symbolic tensors and graph nodes: the Keras 2.2 bookkeeping that models are built from.

Calling a layer on a ``KerasTensor`` (what ``Input`` returns) computes no numbers: it records a
``Node`` (which layers fed which) and returns new ``KerasTensor`` s carrying the output shape. A
``Network`` later walks those nodes and runs each layer's ``call`` on real ``Tensor`` s. Calling a
layer on arrays or ``Tensor`` s runs it at once (inference mode unless ``training=True``).

Auto names follow Keras 2.2: snake_case of the class name plus a per-class counter (``dense_1``,
``leaky_re_lu_2``); ``reset_uids()`` restarts the counters (what ``backend.clear_session`` does).
"""
import collections
import re

import numpy

from ... import backend
from ...autograd.tensor import Tensor
from .config import resolve

_uids = collections.defaultdict(int)


def get_uid(prefix=""):
    """The next number for ``prefix`` (1, 2, ...), as ``keras.backend.get_uid``."""
    _uids[prefix] += 1
    return _uids[prefix]


def reset_uids():
    _uids.clear()


def to_snake_case(name):
    intermediate = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    insecure = re.sub("([a-z])([A-Z])", r"\1_\2", intermediate).lower()
    return insecure if insecure[0] != "_" else "private" + insecure


def to_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def unpack(xs):
    return xs[0] if len(xs) == 1 else xs


class KerasTensor:
    """A symbolic tensor: a shape with ``None`` for the batch and where it came from.

    ``_keras_history`` is ``(layer, node_index, tensor_index)``, as in Keras 2.
    """

    def __init__(self, shape, dtype="float32", history=None, name=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = numpy.dtype(dtype)
        self._keras_history = history
        self.name = name

    _keras_shape = property(lambda self: self.shape)
    ndim = property(lambda self: len(self.shape))

    def __repr__(self):
        return f"<KerasTensor {self.name} shape={self.shape} dtype={self.dtype}>"

    def __array__(self, *args, **kwargs):
        raise TypeError(f"{self!r} is symbolic: it has a shape but no values. Feed arrays to "
                        "model.predict()/train_on_batch(), or wrap tensor math in a Lambda layer")


class Node:
    """One call of ``outbound_layer`` on tensors produced by ``inbound_layers``."""

    def __init__(self, outbound_layer, inbound_layers, node_indices, tensor_indices,
                 input_tensors, output_tensors, arguments=None):
        self.outbound_layer = outbound_layer
        self.inbound_layers = list(inbound_layers)
        self.node_indices = list(node_indices)
        self.tensor_indices = list(tensor_indices)
        self.input_tensors = list(input_tensors)
        self.output_tensors = list(output_tensors)
        self.arguments = dict(arguments or {})
        for layer in self.inbound_layers:
            layer._outbound_nodes.append(self)
        outbound_layer._inbound_nodes.append(self)

    input_shapes = property(lambda self: [t.shape for t in self.input_tensors])
    output_shapes = property(lambda self: [t.shape for t in self.output_tensors])


class Run:
    """What one forward pass needs to know besides the inputs.

    ``training`` is the default mode (a node called with ``training=`` overrides it).
    ``snapshot`` is the set of ``id`` s of layers that were trainable when the running model was
    compiled: a layer updates its state (BatchNormalization's moving statistics) only when it and
    every model it is nested in along the current path are in it. ``None`` means no updates at all
    (predict, evaluate, eager calls). Updates are collected and applied by ``apply_updates``.
    """

    def __init__(self, training, snapshot=None):
        self.training = bool(training)
        self._snapshot = snapshot
        self._enabled = snapshot is not None
        self._updates = []

    def updates_layer(self, layer):
        return self._enabled and id(layer) in self._snapshot

    def enter(self, network):
        """Entering a nested network: returns the previous state for ``leave``."""
        old = self._enabled
        self._enabled = self.updates_layer(network)
        return old

    def leave(self, old):
        self._enabled = old

    def add_update(self, apply, prepare=None, state=None):
        """Ask for a state update after the step (see :class:`Update`)."""
        self._updates.append(Update(apply, prepare, state))

    def apply_updates(self):
        for update in self.take_updates():
            update.prepare()
            update.apply()

    def take_updates(self):
        """The collected updates, handed over (a CUDA-graph step records them, see keras/engine/graph_step.py)."""
        updates, self._updates = self._updates, []
        return updates


class Update:
    """A layer's state update, asked for during a training forward pass, in two parts: ``prepare()`` is its
    host work (counting steps, filling per-step scalars into device arrays), ``apply()`` its array work only,
    reading those arrays. An eager step calls both in turn; a CUDA-graph step records ``apply`` and calls
    ``prepare`` before each replay. ``state()`` lists the arrays ``apply`` updates in place that are not
    weights (a graph must be recorded again when they are replaced)."""

    def __init__(self, apply, prepare=None, state=None):
        self.apply = apply
        self.prepare = prepare or (lambda: None)
        self.state = state or (lambda: ())


class Weight(Tensor):
    """A layer's variable: a leaf Tensor with a Keras name (``dense_1/kernel:0``) and an optional
    constraint that the model applies after each optimizer update."""

    __slots__ = ("constraint",)

    def __init__(self, data, name, trainable, constraint=None):
        super().__init__(data, requires_grad=trainable, name=name, _copy=False)
        self.constraint = constraint

    def assign(self, value):
        """Replace the values in place (keeps the dtype and the identity shared models rely on)."""
        data = value.data if isinstance(value, Tensor) else value
        if backend.xp() is numpy:
            data = backend.to_numpy(data)  # a CuPy array assigned on the CPU comes to the host
        value = backend.asarray(data, dtype=self.data.dtype)  # on CUDA: host arrays go up, device arrays stay
        if value.shape != self.data.shape:
            raise ValueError(f"cannot assign an array of shape {value.shape} to weight {self.name} "
                             f"of shape {self.data.shape}")
        self.data[...] = value
        self.bump_version()

    @property
    def trainable(self):
        return self.requires_grad


def count_params(weights):
    return int(sum(w.size for w in weights))


def unique(items):
    """Items in order, each object once (weights shared by several layers or models)."""
    seen, out = set(), []
    for x in items:
        if id(x) not in seen:
            seen.add(id(x))
            out.append(x)
    return out


_LAYER_KWARGS = {"input_shape", "batch_input_shape", "batch_size", "input_dim", "dtype", "name", "trainable",
                 "weights"}


class Layer:
    """The Keras 2.2 layer contract.

    Subclasses define ``build(input_shape)`` (create weights with ``add_weight``),
    ``call(inputs, training=False)`` on Tensors, ``compute_output_shape(input_shape)`` and
    ``get_config()``. ``trainable`` is a plain flag; models read it when they are compiled.
    """

    def __init__(self, **kwargs):
        unknown = set(kwargs) - _LAYER_KWARGS
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(unknown)}")
        name = kwargs.get("name")
        if not name:
            cls = type(self).__name__
            name = f"{to_snake_case(cls)}_{get_uid(cls)}"
        self.name = name
        self.trainable = kwargs.get("trainable", True)
        self.dtype = str(numpy.dtype(kwargs.get("dtype") or backend.get_default_dtype()))
        self._trainable_weights = []
        self._non_trainable_weights = []
        self._inbound_nodes = []
        self._outbound_nodes = []
        self.built = False
        self.input_spec = None
        if "batch_input_shape" in kwargs:
            self.batch_input_shape = tuple(kwargs["batch_input_shape"])
        elif "input_shape" in kwargs or "input_dim" in kwargs:
            shape = kwargs.get("input_shape") or (kwargs["input_dim"],)
            self.batch_input_shape = (kwargs.get("batch_size"),) + tuple(shape)
        self._initial_weights = kwargs.get("weights")

    # ---- weights -----------------------------------------------------------------------------
    def add_weight(self, name, shape, initializer="zeros", trainable=True, constraint=None, dtype=None):
        from .. import constraints, initializers
        dtype = numpy.dtype(dtype or self.dtype)
        data = backend.asarray(resolve(initializers, initializer)(tuple(shape), dtype), dtype=dtype)
        w = Weight(data, f"{self.name}/{name}:0", trainable, resolve(constraints, constraint))
        (self._trainable_weights if trainable else self._non_trainable_weights).append(w)
        return w

    @property
    def trainable_weights(self):
        return list(self._trainable_weights) if self.trainable else []

    @property
    def non_trainable_weights(self):
        if self.trainable:
            return list(self._non_trainable_weights)
        return self._trainable_weights + self._non_trainable_weights

    @property
    def weights(self):
        return self.trainable_weights + self.non_trainable_weights

    def get_weights(self):
        return [backend.to_numpy(w.data).copy() for w in self.weights]

    def set_weights(self, weights):
        params = self.weights
        if len(weights) != len(params):
            raise ValueError(f'You called `set_weights(weights)` on layer "{self.name}" with a weight list of '
                             f"length {len(weights)}, but the layer was expecting {len(params)} weights "
                             f"({[w.name for w in params]}). Provided weights: {str(weights)[:50]}...")
        for w, value in zip(params, weights):
            shape = tuple(numpy.shape(value))
            if shape != w.shape:
                raise ValueError(f"Layer weight shape {w.shape} not compatible with provided weight shape "
                                 f"{shape} (weight {w.name} of layer {self.name})")
        for w, value in zip(params, weights):
            w.assign(value)

    def count_params(self):
        if not self.built:
            raise ValueError(f"You tried to call `count_params` on {self.name}, but the layer isn't built. "
                             "Build it first by calling it on an input (or give the model an input shape).")
        return count_params(unique(self.weights))

    # ---- to override -------------------------------------------------------------------------
    def build(self, input_shape):
        self.built = True

    def call(self, inputs, training=False):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_state(self):
        """Arrays (or numbers) the layer keeps besides its weights; ``save`` stores them."""
        return {}

    def set_state(self, state):
        """Restore what ``get_state`` returned."""

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if hasattr(self, "batch_input_shape"):
            config["batch_input_shape"] = list(self.batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _execute(self, inputs, training, run):
        """How a network runs this layer; stateful layers and nested models override it."""
        return self.call(inputs, training=training)

    # ---- calling -----------------------------------------------------------------------------
    def __call__(self, inputs, **kwargs):
        xs = to_list(inputs)
        if all(isinstance(x, KerasTensor) for x in xs):
            return self._call_symbolic(xs, kwargs)
        if any(isinstance(x, KerasTensor) for x in xs):
            raise TypeError(f"{self.name}: mix of symbolic (Input) tensors and arrays; use only one kind")
        return self._call_eager(xs, kwargs)

    def _ensure_built(self, shapes):
        if not self.built:
            self.build(unpack(shapes))
            self.built = True
            if self._initial_weights is not None:
                self.set_weights(self._initial_weights)
                self._initial_weights = None

    def _call_symbolic(self, xs, kwargs):
        shapes = [x.shape for x in xs]
        self._ensure_built(shapes)
        self._check_input_spec(shapes)
        out_shapes = self.compute_output_shape(unpack(shapes))
        out_shapes = out_shapes if isinstance(out_shapes, list) else [out_shapes]
        node_index = len(self._inbound_nodes)
        outputs = [KerasTensor(s, self.dtype, (self, node_index, i), f"{self.name}/out:{i}")
                   for i, s in enumerate(out_shapes)]
        Node(self, [x._keras_history[0] for x in xs], [x._keras_history[1] for x in xs],
             [x._keras_history[2] for x in xs], xs, outputs, kwargs)
        return unpack(outputs)

    def _call_eager(self, xs, kwargs):
        ts = [x if isinstance(x, Tensor) else Tensor(backend.asarray(x)) for x in xs]
        shapes = [(None,) + t.shape[1:] for t in ts]
        self._ensure_built(shapes)
        self._check_input_spec(shapes)
        return self._execute(unpack(ts), bool(kwargs.get("training", False)), Run(False))

    def _check_input_spec(self, shapes):
        """Keras' InputSpec check: ``self.input_spec`` is a dict with 'ndim', 'min_ndim' and 'axes'."""
        spec = self.input_spec
        if not spec:
            return
        for i, shape in enumerate(shapes):
            where = f"Input {i} is incompatible with layer {self.name}"
            if "ndim" in spec and len(shape) != spec["ndim"]:
                raise ValueError(f"{where}: expected ndim={spec['ndim']}, found ndim={len(shape)} (shape {shape})")
            if "min_ndim" in spec and len(shape) < spec["min_ndim"]:
                raise ValueError(f"{where}: expected min_ndim={spec['min_ndim']}, found ndim={len(shape)} "
                                 f"(shape {shape})")
            for axis, value in spec.get("axes", {}).items():
                if shape[axis] is not None and shape[axis] != value:
                    raise ValueError(f"{where}: expected axis {axis} of input shape to have value {value} "
                                     f"but got shape {shape}")

    # ---- graph facts -------------------------------------------------------------------------
    def _node_attribute(self, attr, what):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name} is not connected, no {what} to return.")
        if len(self._inbound_nodes) > 1:
            raise AttributeError(f'Layer {self.name} has multiple inbound nodes, hence the notion of "layer {what}" '
                                 f"is ill-defined. Use `get_{what.replace(' ', '_')}_at(node_index)` instead.")
        return unpack(getattr(self._inbound_nodes[0], attr))

    def _shape_attribute(self, attr, what):
        if not self._inbound_nodes:
            raise AttributeError(f'The layer "{self.name}" has never been called and thus has no defined {what}.')
        shapes = {repr(getattr(n, attr)) for n in self._inbound_nodes}
        if len(shapes) > 1:
            raise AttributeError(f'The layer "{self.name}" has multiple inbound nodes, with different {what}s. '
                                 f"Hence the notion of \"{what}\" is ill-defined for the layer.")
        return unpack(getattr(self._inbound_nodes[0], attr))

    input = property(lambda self: self._node_attribute("input_tensors", "input"))
    output = property(lambda self: self._node_attribute("output_tensors", "output"))
    input_shape = property(lambda self: self._shape_attribute("input_shapes", "input shape"))
    output_shape = property(lambda self: self._shape_attribute("output_shapes", "output shape"))

    def get_input_at(self, node_index):
        return unpack(self._inbound_nodes[node_index].input_tensors)

    def get_output_at(self, node_index):
        return unpack(self._inbound_nodes[node_index].output_tensors)

    def __repr__(self):
        return f"<{type(self).__name__} {self.name}>"
