"""``plot_model``: a PNG of a model's layer graph, drawn with Pillow (Keras needs pydot and graphviz).

Each layer is a box, "name: ClassName" (and, with ``show_shapes``, its input and output shapes), and
an arrow runs from every layer to each layer it feeds. Layers are laid out top to bottom in rows by
their depth (longest path from an input), in the model's layer order within a row.

What is read from the model (the Keras 2 graph bookkeeping): ``model.layers`` and, if it has them,
``model._network_nodes`` (the nodes that belong to this model); per layer ``name``, its class name,
``input_shape`` / ``output_shape``, and ``_inbound_nodes`` whose ``inbound_layers`` say which layers
feed it. Layers without ``_inbound_nodes`` are drawn as a chain in list order. As in Keras 2.2, the
InputLayer feeding a Sequential model gets a box too.
"""
from PIL import Image, ImageDraw, ImageFont

_PAD, _ROW_GAP, _COL_GAP, _MARGIN = 8, 36, 24, 16


def _font():
    try:
        return ImageFont.load_default(size=14)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
        return ImageFont.load_default()


def _shape_text(layer, attr):
    try:
        shape = getattr(layer, attr)
    except (AttributeError, ValueError):
        return "multiple"
    return str(shape) if shape is not None else "?"


def _graph(model):
    """(layers, edges): the boxes to draw and (source index, target index) pairs."""
    layers = list(model.layers)
    if not all(hasattr(layer, "_inbound_nodes") for layer in layers):
        return layers, [(i, i + 1) for i in range(len(layers) - 1)]
    own = getattr(model, "_network_nodes", None)  # a layer shared with other models has their nodes too

    def nodes(layer):
        return [node for node in layer._inbound_nodes if own is None or node in own]

    ids = {id(layer) for layer in layers}
    inputs = []
    for layer in layers:
        for node in nodes(layer):
            for src in node.inbound_layers:
                if id(src) not in ids and type(src).__name__ == "InputLayer":
                    ids.add(id(src))
                    inputs.append(src)
    layers = inputs + layers
    index = {id(layer): i for i, layer in enumerate(layers)}
    edges = []
    for j, layer in enumerate(layers):
        for node in nodes(layer):
            for src in node.inbound_layers:
                edge = (index.get(id(src)), j)
                if edge[0] is not None and edge not in edges:
                    edges.append(edge)
    return layers, edges


def _depths(n, edges):
    """Longest-path depth of each node; a source (an input) then moves down to just above its first
    consumer, so a second input does not send a long arrow through the rows between."""
    depth = [0] * n
    for _ in range(n):
        changed = False
        for a, b in edges:
            if depth[b] < depth[a] + 1:
                depth[b] = depth[a] + 1
                changed = True
        if not changed:
            break
    targets = {b for _, b in edges}
    for i in set(range(n)) - targets:
        below = [depth[b] for a, b in edges if a == i]
        if below:
            depth[i] = min(below) - 1
    return depth


def _cells(layer, show_shapes, show_layer_names):
    """The box's text: the title, then (label, shape) rows when shapes are shown."""
    title = f"{layer.name}: {type(layer).__name__}" if show_layer_names else type(layer).__name__
    rows = [("input:", _shape_text(layer, "input_shape")), ("output:", _shape_text(layer, "output_shape"))]
    return title, rows if show_shapes else []


def plot_model(model, to_file="model.png", show_shapes=False, show_layer_names=True, rankdir="TB"):
    """Write a PNG of the layer graph to ``to_file`` (graphviz is not needed)."""
    if rankdir != "TB":
        raise ValueError(f"plot_model draws top to bottom only (rankdir='TB'), got rankdir={rankdir!r}")
    layers, edges = _graph(model)
    font = _font()
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))

    def size(text):
        left, top, right, bottom = measure.textbbox((0, 0), text, font=font)
        return right - left, bottom - top

    line_h = max(size("Ag(0)")[1], 1) + _PAD
    boxes = []
    for layer in layers:
        title, rows = _cells(layer, show_shapes, show_layer_names)
        title_w = size(title)[0] + 2 * _PAD
        label_w = max((size(r[0])[0] for r in rows), default=0) + 2 * _PAD
        shape_w = max((size(r[1])[0] for r in rows), default=0) + 2 * _PAD
        height = max(len(rows), 1) * line_h + _PAD
        boxes.append({"title": title, "rows": rows, "title_w": title_w, "label_w": label_w,
                      "w": title_w + (label_w + shape_w if rows else 0), "h": height})

    depth = _depths(len(layers), edges)
    ranks = [[i for i in range(len(layers)) if depth[i] == d] for d in range(max(depth, default=-1) + 1)]
    row_h = [max(boxes[i]["h"] for i in rank) for rank in ranks]
    row_w = [sum(boxes[i]["w"] for i in rank) + _COL_GAP * (len(rank) - 1) for rank in ranks]
    width = max(row_w, default=0) + 2 * _MARGIN
    height = sum(row_h) + _ROW_GAP * max(len(ranks) - 1, 0) + 2 * _MARGIN

    y = _MARGIN
    for rank, h, w in zip(ranks, row_h, row_w):
        x = (width - w) // 2
        for i in rank:
            boxes[i]["x"], boxes[i]["y"] = x, y + (h - boxes[i]["h"]) // 2
            x += boxes[i]["w"] + _COL_GAP
        y += h + _ROW_GAP

    image = Image.new("RGB", (max(width, 1), max(height, 1)), "white")
    draw = ImageDraw.Draw(image)
    for a, b in edges:
        _arrow(draw, boxes[a], boxes[b])
    for box in boxes:
        _draw_box(draw, box, font, line_h)
    image.save(to_file, format="PNG")


def _draw_box(draw, box, font, line_h):
    x, y, w, h = box["x"], box["y"], box["w"], box["h"]
    draw.rectangle([x, y, x + w, y + h], fill="white", outline="black")
    draw.text((x + _PAD, y + (h - line_h) // 2 + _PAD // 2), box["title"], fill="black", font=font)
    if not box["rows"]:
        return
    label_x = x + box["title_w"]
    shape_x = label_x + box["label_w"]
    draw.line([label_x, y, label_x, y + h], fill="black")
    draw.line([shape_x, y, shape_x, y + h], fill="black")
    for k, (label, shape) in enumerate(box["rows"]):
        top = y + _PAD // 2 + k * line_h
        if k:
            draw.line([label_x, top, x + w, top], fill="black")
        draw.text((label_x + _PAD, top + _PAD // 2), label, fill="black", font=font)
        draw.text((shape_x + _PAD, top + _PAD // 2), shape, fill="black", font=font)


def _arrow(draw, src, dst):
    """A line from the bottom centre of ``src`` to the top centre of ``dst`` with a filled head."""
    x0, y0 = src["x"] + src["w"] // 2, src["y"] + src["h"]
    x1, y1 = dst["x"] + dst["w"] // 2, dst["y"]
    draw.line([x0, y0, x1, y1], fill="black", width=1)
    dx, dy = x1 - x0, y1 - y0
    norm = max((dx * dx + dy * dy) ** 0.5, 1e-9)
    ux, uy = dx / norm, dy / norm
    back = (x1 - 9 * ux, y1 - 9 * uy)
    draw.polygon([(x1, y1), (back[0] - 4 * uy, back[1] + 4 * ux), (back[0] + 4 * uy, back[1] - 4 * ux)], fill="black")
