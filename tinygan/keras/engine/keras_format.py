"""Keras 2 model configs (the ``model_config`` JSON of a Keras HDF5 file): tinygan models to that JSON and back.

Writing follows Keras 2.2.4's ``Network.get_config`` / ``Sequential.get_config``: a functional model lists its
layers with ``inbound_nodes`` (``[layer name, node index, tensor index, call kwargs]``, node indices renumbered
over the nodes that belong to the model; a nested model's node 0 is its own), then ``input_layers`` and
``output_layers``; a Sequential lists ``{class_name, config}`` per layer.

Reading takes what Keras 2.2, 2.3+ and tf.keras (class ``Functional``, an ``InputLayer`` entry in Sequential
configs, ``module`` / ``registered_name`` keys, options at their neutral values such as ``groups=1``) write.
Classes are found among tinygan's layers and ``custom_objects`` only; nothing is imported by a name from the file.
An option tinygan does not have, set to a value that matters, is refused with one line naming the layer.
"""
import collections
import inspect

from .base_layer import _LAYER_KWARGS, Layer, unpack
from .config import custom_objects
from .input_layer import InputLayer
from .network import Network

# Options that tf.keras writes and tinygan leaves out, at the values that change nothing.
_NEUTRAL = {"data_format": ("channels_last",), "dilation_rate": ([1, 1], 1, [1]), "groups": (1,), "sparse": (False,),
            "ragged": (False,), "optional": (False,), "dtype": ("float32",)}


def layer_class(class_name, layer_name=None):
    """A layer class by the name a file gives: ``custom_objects`` first, then tinygan's layers and models."""
    from .. import layers
    from .sequential import Sequential
    from .training import Model
    builtins = {"Model": Model, "Functional": Model, "Sequential": Sequential, "InputLayer": InputLayer}
    cls = custom_objects().get(class_name) or builtins.get(class_name) or getattr(layers, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        where = f" (layer {layer_name!r})" if layer_name else ""
        raise ValueError(f"Unknown layer: {class_name}{where}. Pass its class to load_model(..., "
                         f"custom_objects={{'{class_name}': {class_name}}})")
    return cls


# ---- writing ---------------------------------------------------------------------------------------------------

def to_keras_config(model, frozen=False):
    """``{'class_name', 'config'}`` of ``model`` as Keras 2.2.4 writes it into ``model_config``. Layers inside a
    network with ``trainable=False`` are written ``trainable: false`` (what tf.keras' recursive flag gives), so
    Keras loads a GAN composite with its discriminator frozen."""
    from .sequential import Sequential
    frozen = frozen or not model.trainable
    if isinstance(model, Sequential):
        return {"class_name": "Sequential", "config": _sequential_config(model, frozen)}
    if isinstance(model, Network):
        return {"class_name": "Model", "config": _functional_config(model, frozen)}
    config = model.get_config()
    if frozen and "trainable" in config:
        config["trainable"] = False
    return {"class_name": type(model).__name__, "config": config}


def _sequential_config(model, frozen):
    config = {"name": model.name, "trainable": model.trainable,
              "layers": [to_keras_config(layer, frozen) for layer in model.layers]}
    first = model.layers[0] if model.layers else None
    if model.inputs and not hasattr(first, "batch_input_shape") and not isinstance(first, Network):
        config["build_input_shape"] = list(model.inputs[0].shape)
    return config


def _functional_config(net, frozen):
    renumbered = {}
    for layer in net._layers:
        kept = 1 if isinstance(layer, Network) else 0  # a network's node 0 links its own inputs to its outputs
        for i, node in enumerate(layer._inbound_nodes):
            if node in net._network_nodes:
                renumbered[(id(layer), i)] = kept
                kept += 1
    entries = []
    for layer in net._layers:
        inbound = []
        for node in layer._inbound_nodes:
            if node in net._network_nodes and node.inbound_layers:
                inbound.append([[src.name, renumbered.get((id(src), n), 0), t, dict(node.arguments)]
                                for src, n, t in zip(node.inbound_layers, node.node_indices, node.tensor_indices)])
        entry = to_keras_config(layer, frozen)
        entries.append({"name": layer.name, "class_name": entry["class_name"], "config": entry["config"],
                        "inbound_nodes": inbound})

    def coordinates(tensors):
        return [[layer.name, renumbered[(id(layer), n)], t] for layer, n, t in (x._keras_history for x in tensors)]
    return {"name": net.name, "trainable": net.trainable, "layers": entries, "input_layers": coordinates(net.inputs),
            "output_layers": coordinates(net.outputs)}


# ---- reading ---------------------------------------------------------------------------------------------------

def from_keras_config(entry):
    """A tinygan layer or model (fresh weights) from a Keras ``{'class_name', 'config'}`` entry."""
    from .sequential import Sequential
    class_name, config = entry["class_name"], entry.get("config", {})
    name = entry.get("name") or (config.get("name") if isinstance(config, dict) else None)
    cls = layer_class(class_name, name)
    if issubclass(cls, Sequential):
        return _sequential(cls, config)
    if issubclass(cls, Network):
        return _functional(cls, config)
    try:
        fitted = _fit_config(cls, class_name, config) if _plain_from_config(cls) else dict(config)
        return cls.from_config(fitted)
    except (TypeError, NotImplementedError) as exc:
        raise ValueError(f"layer {name!r} ({class_name}) cannot be rebuilt by tinygan: {exc}") from None


def _plain_from_config(cls):
    return getattr(cls.from_config, "__func__", None) is Layer.from_config.__func__


def _accepted_kwargs(cls):
    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        if klass is Layer:
            return names | _LAYER_KWARGS
        params = inspect.signature(init).parameters.values()
        names |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - {"self"}
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            return names
    return names


def _fit_config(cls, class_name, config):
    """The config with what tinygan's class does not take removed where that changes nothing (else one line)."""
    accepted = _accepted_kwargs(cls)
    fitted = {}
    for key, value in config.items():
        if key == "dtype" and isinstance(value, dict):  # a tf.keras dtype policy
            value = value.get("config", {}).get("name", "float32")
        if key == "axis" and isinstance(value, list) and len(value) == 1:  # tf.keras' BatchNormalization
            value = value[0]
        if key in accepted:
            fitted[key] = value
        elif value is not None and value not in _NEUTRAL.get(key, ()):
            raise ValueError(f"layer {config.get('name')!r} ({class_name}) uses {key}={value!r}, which tinygan's "
                             f"{class_name} does not support")
    return fitted


def _sequential(cls, config):
    if isinstance(config, list):  # Keras 2.0's form: the layer list alone
        config = {"layers": config}
    model = cls(name=config.get("name"))
    for entry in config["layers"]:
        model.add(from_keras_config(entry))
    if not model.built and config.get("build_input_shape"):
        model.build(tuple(config["build_input_shape"]))
    model.trainable = config.get("trainable", True)
    return model


def _functional(cls, config):
    created, queues = {}, collections.OrderedDict()
    for entry in config["layers"]:
        layer = from_keras_config(entry)
        name = entry.get("name", layer.name)
        created[name] = layer
        queues[name] = collections.deque(entry.get("inbound_nodes", []))

    def ready(node_data):
        return all(d[0] in created and len(created[d[0]]._inbound_nodes) > d[1] for d in node_data)

    while any(queues.values()):
        progressed = False
        for name, queue in queues.items():  # Keras' order: each layer's calls in turn, as soon as inputs exist
            while queue and ready(queue[0]):
                node_data = queue.popleft()
                inputs = [created[d[0]]._inbound_nodes[d[1]].output_tensors[d[2]] for d in node_data]
                kwargs = node_data[-1][3] if len(node_data[-1]) > 3 else {}
                created[name](unpack(inputs), **kwargs)
                progressed = True
        if not progressed:
            stuck = [n for n, q in queues.items() if q]
            raise ValueError(f"model config {config.get('name')!r}: the calls of layers {stuck} refer to layers or "
                             "calls that do not exist; the file is damaged")

    def tensors(coordinates):
        return [created[n]._inbound_nodes[i].output_tensors[t] for n, i, t in coordinates]
    model = cls(inputs=tensors(config["input_layers"]), outputs=tensors(config["output_layers"]),
                name=config.get("name"))
    model.trainable = config.get("trainable", True)
    return model


# ---- training configs ------------------------------------------------------------------------------------------

def keras_training_config(model):
    """Keras 2.2.4's ``training_config``: optimizer config, loss, metrics, loss weights."""
    from .. import optimizers
    return {"optimizer_config": optimizers.serialize(model.optimizer), "loss": _names(model.loss),
            "metrics": _names(model.metrics), "sample_weight_mode": None, "loss_weights": model.loss_weights}


def _names(value):
    """Functions by name, through lists and dicts (what Keras' ``get_json_type`` does)."""
    if isinstance(value, dict):
        return {k: _names(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_names(v) for v in value]
    return value if value is None or isinstance(value, str) else getattr(value, "__name__", str(value))


# Optimizer options that Keras 2.3+ / tf.keras write and that do not change the update when left out.
_OPTIMIZER_IGNORED = {"name", "jit_compile", "is_legacy_optimizer", "ema_momentum", "ema_overwrite_frequency"}


def optimizer_from_keras(config):
    """A tinygan optimizer from a Keras ``optimizer_config`` (Keras 2.2 ``lr`` or tf.keras ``learning_rate``)."""
    from .. import optimizers
    class_name = config["class_name"]
    cls = custom_objects().get(class_name) or optimizers._BY_NAME.get(class_name.lower())
    if cls is None:
        raise ValueError(f"unknown optimizer {class_name!r}")
    accepted = set(inspect.signature(cls.__init__).parameters) | {"lr", "learning_rate", "decay", "clipnorm",
                                                                   "clipvalue"}
    kwargs = {}
    for key, value in config.get("config", {}).items():
        if key in _OPTIMIZER_IGNORED or value is None or (key not in accepted and not value):  # off: 0, False
            continue
        if key not in accepted or isinstance(value, dict):
            raise ValueError(f"optimizer {class_name} option {key}={value!r} is not supported by tinygan")
        kwargs[key] = value
    if "learning_rate" in kwargs:
        kwargs.pop("lr", None)
    return cls(**kwargs)


def loss_from_keras(value):
    """Loss names as tinygan takes them, from names, ``{'class_name', 'config'}`` loss objects, lists and dicts."""
    from .base_layer import to_snake_case
    if isinstance(value, list):
        return [loss_from_keras(v) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: loss_from_keras(v) for k, v in value.items()}
    if isinstance(value, dict):
        if value.get("config", {}).get("from_logits"):
            raise ValueError(f"loss {value['class_name']}(from_logits=True) is not supported when loading")
        name = value["class_name"]
        return name if name in custom_objects() else to_snake_case(name)
    return value


def metrics_from_keras(value, output_names):
    """Metric names from Keras 2.2 (names, or a dict by output) or tf.keras (a list per output of
    ``MeanMetricWrapper`` configs, named ``<output>_accuracy`` when there are several outputs)."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: _metric_names(v) for k, v in value.items()}
    if len(output_names) > 1 and len(value) == len(output_names) and all(isinstance(v, list) for v in value):
        return dict(zip(output_names, (_metric_names(v) for v in value)))
    return _metric_names(value)


def _metric_names(value):
    out = []
    for item in value if isinstance(value, list) else [value]:
        for name in _metric_names(item) if isinstance(item, list) else [_metric_name(item)]:
            if name not in out:
                out.append(name)
    return out


def _metric_name(item):
    if not isinstance(item, dict):
        return item
    config = item.get("config", {})
    name, fn = config.get("name", item["class_name"]), config.get("fn")
    if isinstance(fn, str) and fn.endswith("accuracy") and name.endswith(("accuracy", "acc")):
        return "accuracy"  # what was compiled; it resolves by loss, as in Keras
    return fn if isinstance(fn, str) else name
