"""``model.summary()`` in the Keras 2.2.4 text layout, character for character.

A model prints in the short three-column form (65 characters) when it is a plain chain: a
``Sequential``, or a functional model whose every depth holds one node with at most one inbound
layer and no layer used twice. Otherwise it prints the 98-character form with the ``Connected to``
column (``input_4[0][0]``: layer name, node index, tensor index). Columns are cut to their width,
so long names read ``max_pooling2d_1 (MaxPooling2`` as in the book. The trainable count uses the
flags as currently set (distinct weights); the non-trainable count sums every non-trainable weight
the layers report, as Keras does.
"""
from .base_layer import count_params, unique


def _sequential_like(model):
    if type(model).__name__ == "Sequential" or not model._is_graph_network:
        return True
    nodes = []
    for depth_nodes in model._nodes_by_depth.values():
        if len(depth_nodes) > 1 or (len(depth_nodes) == 1 and len(depth_nodes[0].inbound_layers) > 1):
            return False
        nodes += depth_nodes
    for layer in model.layers:
        if sum(1 for node in layer._inbound_nodes if node in nodes) > 1:
            return False
    return True


def _row(fields, positions):
    line = ""
    for i, field in enumerate(fields):
        if i > 0:
            line = line[:-1] + " "
        line += str(field)
        line = line[:positions[i]]
        line += " " * (positions[i] - len(line))
    return line


def _output_shape(layer):
    try:
        return layer.output_shape
    except AttributeError:
        return "multiple"


def _connections(layer, relevant):
    out = []
    for node in layer._inbound_nodes:
        if relevant and node not in relevant:
            continue
        for inbound, node_index, tensor_index in zip(node.inbound_layers, node.node_indices, node.tensor_indices):
            out.append(f"{inbound.name}[{node_index}][{tensor_index}]")
    return out


def summary_lines(model, line_length=None, positions=None):
    """The summary as a list of lines (``print_summary`` prints them)."""
    if not model.built:
        raise ValueError(f"This model ({model.name}) has not yet been built. Build it by giving the first layer "
                         "an `input_shape`, or call it on data first.")
    chain = _sequential_like(model)
    line_length = line_length or (65 if chain else 98)
    positions = positions or ([.45, .85, 1.] if chain else [.33, .55, .67, 1.])
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    header = ["Layer (type)", "Output Shape", "Param #"] + ([] if chain else ["Connected to"])
    relevant = None if chain else model._network_nodes

    lines = ["_" * line_length, _row(header, positions), "=" * line_length]
    layers = model.layers
    for i, layer in enumerate(layers):
        fields = [f"{layer.name} ({type(layer).__name__})", _output_shape(layer), layer.count_params()]
        if chain:
            lines.append(_row(fields, positions))
        else:
            conns = _connections(layer, relevant)
            lines.append(_row(fields + [conns[0] if conns else ""], positions))
            lines += [_row(["", "", "", c], positions) for c in conns[1:]]
        lines.append(("=" if i == len(layers) - 1 else "_") * line_length)

    trainable = count_params(unique(model.trainable_weights))
    non_trainable = count_params(model.non_trainable_weights)
    lines += [f"Total params: {trainable + non_trainable:,}",
              f"Trainable params: {trainable:,}",
              f"Non-trainable params: {non_trainable:,}",
              "_" * line_length]
    return lines


def print_summary(model, line_length=None, positions=None, print_fn=None):
    for line in summary_lines(model, line_length, positions):
        (print_fn or print)(line)
