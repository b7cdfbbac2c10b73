"""Network: a graph of layers between Input tensors and output tensors, usable as a layer itself.

Construction follows Keras 2.2 (``Network._init_graph_network``) so that ``model.layers``, the
node indices in ``summary()`` ("``model_2[1][0]``") and the auto names come out as in the book:
a depth-first walk from the outputs collects the nodes, layers are sorted by depth (inputs first)
and, within one depth, by the order the walk met them. The walk uses an explicit stack, so a
graph of any depth builds.

Running the graph evaluates the collected nodes once each, in an order computed at construction.
A nested network (a model used as a layer, possibly several times) runs its own graph on the
tensors it is given, so its weights are shared and their gradients add up across calls.
"""
from ...autograd.tensor import is_grad_enabled
from .base_layer import KerasTensor, Layer, Node, Run, count_params, get_uid, to_list, unique, unpack
from .input_layer import InputLayer


def _walk(outputs):
    """Keras' ``build_map`` without recursion: (nodes in post-order, {layer: first-visit index})."""
    finished, in_progress = set(), set()
    post_order, layer_indices = [], {}
    for x in outputs:
        layer, node_index, _ = x._keras_history
        stack = [(layer._inbound_nodes[node_index], False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                in_progress.discard(node)
                finished.add(node)
                post_order.append(node)
                continue
            if node in finished:
                continue
            if node in in_progress:
                raise ValueError(f'The tensor at layer "{node.outbound_layer.name}" is part of a cycle.')
            layer_indices.setdefault(node.outbound_layer, len(layer_indices))
            in_progress.add(node)
            stack.append((node, True))
            for layer, index in reversed(list(zip(node.inbound_layers, node.node_indices))):
                stack.append((layer._inbound_nodes[index], False))
    return post_order, layer_indices


def _depths(post_order):
    """Node and layer depths as Keras computes them (outputs at depth 0)."""
    node_depths, layer_depths = {}, {}
    for node in reversed(post_order):
        depth = max(node_depths.setdefault(node, 0), layer_depths.get(node.outbound_layer, 0))
        layer_depths[node.outbound_layer] = depth
        node_depths[node] = depth
        for layer, index in zip(node.inbound_layers, node.node_indices):
            inbound = layer._inbound_nodes[index]
            node_depths[inbound] = max(depth + 1, node_depths.get(inbound, 0))
    return node_depths, layer_depths


class Network(Layer):
    """A functional graph. ``Model`` adds training; ``Sequential`` builds one layer at a time."""

    def __init__(self, inputs=None, outputs=None, name=None, **kwargs):
        if inputs is None and "input" in kwargs:
            inputs = kwargs.pop("input")
        if outputs is None and "output" in kwargs:
            outputs = kwargs.pop("output")
        if not name:
            prefix = type(self).__name__.lower()
            name = f"{prefix}_{get_uid(prefix)}"
        super().__init__(name=name, **kwargs)
        self.inputs, self.outputs = [], []
        self._layers = []
        self._is_graph_network = False
        if inputs is not None and outputs is not None:
            self._init_graph_network(inputs, outputs)

    # ---- construction ------------------------------------------------------------------------
    def _init_graph_network(self, inputs, outputs):
        self.inputs, self.outputs = to_list(inputs), to_list(outputs)
        for x in self.inputs + self.outputs:
            if not isinstance(x, KerasTensor):
                raise TypeError(f"Model {self.name}: inputs and outputs must be symbolic tensors (from Input() "
                                f"and layer calls), got {type(x).__name__}")
        for x in self.inputs:
            layer, node_index, _ = x._keras_history
            if not isinstance(layer, InputLayer) or node_index != 0:
                raise ValueError(f"Model {self.name}: input tensors must come from `Input()`; {x.name} was "
                                 f"produced by layer {layer.name}")
        self._input_layers = [x._keras_history[0] for x in self.inputs]
        self._output_layers = [x._keras_history[0] for x in self.outputs]

        post_order, layer_indices = _walk(self.outputs)
        node_depths, layer_depths = _depths(post_order)
        by_depth = {}
        for node, depth in node_depths.items():
            by_depth.setdefault(depth, []).append(node)
        self._nodes_by_depth = by_depth
        self._network_nodes = set(node_depths)
        self._layers = sorted(layer_depths, key=lambda l: (-layer_depths[l], layer_indices[l]))
        self._check_graph(post_order)
        names = [layer.name for layer in self._layers]
        for n in set(names):
            if names.count(n) > 1:
                raise ValueError(f'The name "{n}" is used {names.count(n)} times in the model. '
                                 "All layer names should be unique.")

        self._inbound_nodes, self._outbound_nodes = [], []
        Node(self, [], [], [], self.inputs, self.outputs)
        self._is_graph_network = True
        self.built = True

    def _check_graph(self, post_order):
        """Keep the nodes to run in order and say which values each may drop (inference frees memory)."""
        available = {id(x) for x in self.inputs}
        seen_layers = []
        steps, last_use = [], {}
        for node in post_order:
            layer = node.outbound_layer
            if isinstance(layer, InputLayer):
                if id(node.output_tensors[0]) not in available:
                    raise ValueError(f'Graph disconnected: cannot obtain value for tensor {node.output_tensors[0]} '
                                     f'at layer "{layer.name}". The following previous layers were accessed '
                                     f"without issue: {seen_layers}")
                continue
            for x in node.input_tensors:
                last_use[id(x)] = len(steps)
            available.update(id(x) for x in node.output_tensors)
            seen_layers.append(layer.name)
            steps.append(node)
        keep = {id(x) for x in self.outputs}
        self._steps = [(node, [k for k, i in last_use.items() if i == n and k not in keep])
                       for n, node in enumerate(steps)]
        self._fusions = _leaky_fusions(steps, keep)

    # ---- layers and weights ------------------------------------------------------------------
    @property
    def layers(self):
        return list(self._layers)

    def get_layer(self, name=None, index=None):
        if index is not None:
            if len(self.layers) <= index:
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only has "
                                 f"{len(self.layers)} layers.")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}")

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return [w for layer in self.layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self):
        weights = [w for layer in self.layers for w in layer.non_trainable_weights]
        if not self.trainable:
            return [w for layer in self.layers for w in layer.trainable_weights] + weights
        return weights

    def get_weights(self):
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights):
        weights = list(weights)
        expected = sum(len(layer.weights) for layer in self.layers)
        if len(weights) != expected:
            raise ValueError(f"Model {self.name} expects a list of {expected} arrays in set_weights "
                             f"(Keras order, layer by layer), got {len(weights)}")
        for layer in self.layers:
            n = len(layer.weights)
            layer.set_weights(weights[:n])
            weights = weights[n:]

    def count_params(self):
        return count_params(unique(self.weights))

    def get_state(self):
        """Layer state that is not a weight (BatchNormalization's debiasing averages), keyed
        ``<layer name>/<key>`` through nested models; checkpoints keep it next to ``get_weights()``."""
        return {f"{layer.name}/{k}": v for layer in self.layers for k, v in layer.get_state().items()}

    def set_state(self, state):
        per_layer = {}
        for key, value in state.items():
            name, rest = key.split("/", 1)
            per_layer.setdefault(name, {})[rest] = value
        for name, sub in per_layer.items():
            self.get_layer(name).set_state(sub)

    # ---- shapes ------------------------------------------------------------------------------
    input = property(lambda self: unpack(self.inputs))
    output = property(lambda self: unpack(self.outputs))

    def compute_output_shape(self, input_shape):
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        if [tuple(s) for s in shapes] == [x.shape for x in self.inputs]:
            return unpack([x.shape for x in self.outputs])
        values = {id(x): tuple(s) for x, s in zip(self.inputs, shapes)}
        for node, _ in self._steps:
            out = node.outbound_layer.compute_output_shape(unpack([values[id(x)] for x in node.input_tensors]))
            for x, s in zip(node.output_tensors, out if isinstance(out, list) else [out]):
                values[id(x)] = s
        return unpack([values[id(x)] for x in self.outputs])

    def _check_input_spec(self, shapes):
        """Count and rank only: like Keras, a fully convolutional model may be called on other image sizes."""
        if len(shapes) != len(self.inputs):
            raise ValueError(f"Model {self.name} expects {len(self.inputs)} input(s), but it received "
                             f"{len(shapes)} input tensors")
        for x, shape in zip(self.inputs, shapes):
            if len(shape) != len(x.shape):
                raise ValueError(f"Input {x.name} of model {self.name} is incompatible: expected ndim="
                                 f"{len(x.shape)} (shape {x.shape}), got shape {tuple(shape)}")

    # ---- running -----------------------------------------------------------------------------
    def _execute(self, inputs, training, run):
        old = run.enter(self)
        try:
            return unpack(self._run_graph(to_list(inputs), training, run))
        finally:
            run.leave(old)

    def _run_graph(self, inputs, training, run):
        values = {id(x): t for x, t in zip(self.inputs, inputs)}
        free = not is_grad_enabled()
        fused = set()
        for n, (node, dead) in enumerate(self._steps):
            if n in fused:
                continue
            forced = node.arguments.get("training")
            mode = training if forced is None else bool(forced)
            xs = [values[id(x)] for x in node.input_tensors]
            if n in self._fusions:
                later, alpha = self._fusions[n]
                y = node.outbound_layer.fused_leaky_relu(unpack(xs), alpha, mode, run)
                if y is not None:
                    values[id(self._steps[later][0].output_tensors[0])] = y
                    fused.add(later)
                    continue
            outs = node.outbound_layer._execute(unpack(xs), mode, run)
            for x, t in zip(node.output_tensors, to_list(outs)):
                values[id(x)] = t
            if free:
                for key in dead:
                    values.pop(key, None)
        return [values[id(x)] for x in self.outputs]

    def call(self, inputs, training=False):
        return self._execute(inputs, training, Run(training))

    # ---- reporting and persistence -----------------------------------------------------------
    def summary(self, line_length=None, positions=None, print_fn=None):
        from .summary import print_summary
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn)

    def get_config(self):
        from .saving import serialize_model
        return serialize_model(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .saving import deserialize_model
        return deserialize_model(config, custom_objects)

    def to_json(self, **kwargs):
        import json
        return json.dumps(self.get_config(), **kwargs)

    def save(self, filepath, overwrite=True, include_optimizer=True):
        from .saving import save_model
        save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer)

    def save_weights(self, filepath, overwrite=True):
        from .saving import save_weights
        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, by_name=False, skip_mismatch=False):
        from .saving import load_weights
        load_weights(self, filepath, by_name=by_name, skip_mismatch=skip_mismatch)


def _leaky_fusions(steps, keep):
    """{step: (LeakyReLU step, alpha)} for every layer that can fuse a LeakyReLU (a conv or a normalisation:
    ``fused_leaky_relu``) whose output goes only into a LeakyReLU (alpha >= 0) of this network and is not one of
    its outputs: the network runs such a pair as one op, which keeps no pre-activation for the backward. Numbers
    are unchanged."""
    consumers = {}
    for n, node in enumerate(steps):
        for x in node.input_tensors:
            consumers.setdefault(id(x), []).append(n)
    fusions = {}
    for n, node in enumerate(steps):
        if not hasattr(node.outbound_layer, "fused_leaky_relu") or len(node.output_tensors) != 1:
            continue
        out = id(node.output_tensors[0])
        users = consumers.get(out, [])
        if out in keep or len(users) != 1:
            continue
        alpha = getattr(steps[users[0]].outbound_layer, "fusable_alpha", None)
        if alpha is not None and len(steps[users[0]].input_tensors) == 1:
            fusions[n] = (users[0], alpha)
    return fusions
