"""Saving and loading whole models: Keras 2's HDF5 layout for ``.h5`` / ``.hdf5`` names (``hdf5_format``,
``keras_format``; tinygan's description below rides along in the ``tinygan_config`` attribute), tinygan's zip
for any other name. Reading tells the two apart by the file's first bytes.

The zip archive is (written to a temporary file beside the target, then moved into place,
so an interrupted save never leaves a broken checkpoint) holding:

``model.json``
    ``{"format": "tinygan-keras", "version": 1, "model": <architecture>, "training": <compile
    config or null>}``. The architecture lists every layer reachable from the model once (so
    weights shared between nested models stay shared), children before the models that contain
    them: ``{"class_name", "config"}`` from each layer's ``get_config``; a ``Model`` stores its
    graph as ``inputs`` (InputLayer entries), ``steps`` (``{"layer", "inputs", "kwargs"}``, inputs
    numbered: model inputs first, then every step's outputs in order) and ``outputs``; a
    ``Sequential`` stores its layer list. ``root`` is the saved model's entry. The training part
    holds the optimizer config, the loss, loss weights and metrics (by name), and the compile-time
    trainable snapshot (which layers and weights that compile froze).
``weights.npz``
    Every distinct weight, layer by layer in architecture order, each layer's in Keras order
    (Dense: kernel, bias; BatchNormalization: gamma, beta, moving_mean, moving_variance).
``state.npz``
    Layer state that is not a weight (BatchNormalization's zero-debiasing average and step count),
    keyed ``"<architecture index>/<name>"``.
``optimizer.npz``
    ``optimizer.get_state()``: iteration count, learning rate and slot arrays (Adam's m and v...),
    so a loaded compiled model continues training exactly where the saved one stopped.

Custom layers, losses, constraints and Lambda functions are found by name in ``custom_objects``; loading is safe
by default (``engine/config.py``): nothing named by a file is imported.
"""
import io
import json
import os
import tempfile
import warnings
import zipfile

import numpy

from ... import backend
from . import hdf5_format, keras_format
from .base_layer import unique
from .config import custom_object_scope, custom_objects
from .network import Network

FORMAT, VERSION = "tinygan-keras", 1
TINYGAN_ATTR = "tinygan_config"  # tinygan's own description inside a Keras HDF5 file (see _save_hdf5)


def _registry(model):
    """Every layer reachable from ``model``, each once, nested layers before the networks holding them."""
    order, seen = [], set()
    stack = [(model, False)]
    while stack:
        layer, expanded = stack.pop()
        if expanded:
            order.append(layer)
            continue
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        stack.append((layer, True))
        if isinstance(layer, Network):
            stack.extend((child, False) for child in reversed(layer._layers))
    return order


def _network_config(net, index):
    config = {"name": net.name, "trainable": net.trainable}
    if type(net).__name__ == "Sequential" or not net._is_graph_network:
        config["layers"] = [index[id(layer)] for layer in net._layers]
        return config
    tensor_ids = {id(x): i for i, x in enumerate(net.inputs)}
    steps = []
    for node, _ in net._steps:
        steps.append({"layer": index[id(node.outbound_layer)],
                      "inputs": [tensor_ids[id(x)] for x in node.input_tensors], "kwargs": node.arguments})
        for x in node.output_tensors:
            tensor_ids[id(x)] = len(tensor_ids)
    config.update(inputs=[index[id(layer)] for layer in net._input_layers], steps=steps,
                  outputs=[tensor_ids[id(x)] for x in net.outputs])
    return config


def serialize_model(model):
    """The architecture as a JSON-ready dict (see the module docstring)."""
    layers = _registry(model)
    index = {id(layer): i for i, layer in enumerate(layers)}
    entries = []
    for layer in layers:
        config = _network_config(layer, index) if isinstance(layer, Network) else layer.get_config()
        entries.append({"class_name": type(layer).__name__, "config": config})
    return {"layers": entries, "root": index[id(model)]}


def _rebuild_network(cls, config, built):
    if "layers" in config:
        net = cls(name=config["name"])
        for i in config["layers"]:
            net.add(built[i])
    else:
        tensors = [built[i]._inbound_nodes[0].output_tensors[0] for i in config["inputs"]]
        for step in config["steps"]:
            layer, inputs = built[step["layer"]], [tensors[i] for i in step["inputs"]]
            outputs = _call_once(layer, inputs, step["kwargs"])
            tensors.extend(outputs)
        net = cls(inputs=tensors[:len(config["inputs"])], outputs=[tensors[i] for i in config["outputs"]],
                  name=config["name"])
    net.trainable = config["trainable"]
    return net


def _call_once(layer, inputs, kwargs):
    """The outputs of ``layer`` on ``inputs``, reusing an existing node (layers shared by two saved models)."""
    for node in layer._inbound_nodes:
        if [id(x) for x in node.input_tensors] == [id(x) for x in inputs] and node.arguments == kwargs:
            return node.output_tensors
    out = layer(inputs[0] if len(inputs) == 1 else inputs, **kwargs)
    return out if isinstance(out, list) else [out]


def deserialize_model(config, custom_objects=None, safe_mode=True):
    """A model (with freshly initialised weights) from ``serialize_model``'s dict or a Keras
    ``{'class_name', 'config'}`` (``model.to_json()`` of Keras)."""
    with custom_object_scope(custom_objects, safe_mode):
        if "class_name" in config:
            return keras_format.from_keras_config(config)
        return _build_all(config)[config["root"]]


def _build_all(config):
    built = []
    for entry in config["layers"]:
        cls = keras_format.layer_class(entry["class_name"], entry["config"].get("name"))
        if issubclass(cls, Network):
            built.append(_rebuild_network(cls, entry["config"], built))
        else:
            built.append(cls.from_config(dict(entry["config"])))
    return built


model_from_config = deserialize_model


def model_from_json(json_string, custom_objects=None, safe_mode=True):
    return deserialize_model(json.loads(json_string), custom_objects, safe_mode)


# ---- files ---------------------------------------------------------------------------------------

def _leaf_weights(layers):
    return unique(w for layer in layers if not isinstance(layer, Network) for w in layer.weights)


def _npz_bytes(arrays):
    buffer = io.BytesIO()
    numpy.savez(buffer, **arrays)
    return buffer.getvalue()


def _write_atomic(filepath, members):
    """Write a zip of ``{name: bytes}`` to ``filepath`` via a temporary file and ``os.replace``."""
    directory = os.path.dirname(os.path.abspath(filepath))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".zip", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in members.items():
                zf.writestr(name, data)
        os.replace(tmp, filepath)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _training_config(model, index, weight_index):
    from .. import losses, optimizers
    return {"optimizer": optimizers.serialize(model.optimizer),
            "loss": [losses.serialize(fn) for fn in model.loss_functions],
            "loss_weights": model._loss_weights,
            "metrics": _metric_names(model.metrics),
            "snapshot_layers": sorted(index[i] for i in model._snapshot if i in index),
            "train_weights": [weight_index[id(w)] for w in model._train_weights]}


def _metric_names(metrics):
    if isinstance(metrics, dict):
        return {k: _metric_names(v) for k, v in metrics.items()}
    if isinstance(metrics, (list, tuple)):
        return [m if isinstance(m, str) else m.__name__ for m in metrics]
    return metrics


def save_model(model, filepath, overwrite=True, include_optimizer=True):
    """Write architecture, weights and (if compiled) the training state to ``filepath``: Keras 2's HDF5 layout for
    ``.h5``/``.hdf5`` names (with tinygan's description alongside, see ``_save_hdf5``), tinygan's zip otherwise."""
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath} exists and overwrite=False")
    layers = _registry(model)
    index = {id(layer): i for i, layer in enumerate(layers)}
    weights = _leaf_weights(layers)
    weight_index = {id(w): i for i, w in enumerate(weights)}
    compiled = include_optimizer and getattr(model, "optimizer", None) is not None
    doc = {"format": FORMAT, "version": VERSION, "model": serialize_model(model),
           "training": _training_config(model, index, weight_index) if compiled else None}
    states = {f"{i}/{k}": backend.to_numpy(backend.asarray(v))
              for i, layer in enumerate(layers) for k, v in layer.get_state().items()}
    if hdf5_format.wants_hdf5(filepath):
        _save_hdf5(model, filepath, doc, states, compiled)
        return
    members = {"model.json": json.dumps(doc).encode(),
               "weights.npz": _npz_bytes({f"w{i:05d}": backend.to_numpy(w.data) for i, w in enumerate(weights)}),
               "state.npz": _npz_bytes(states)}
    if compiled:
        members["optimizer.npz"] = _npz_bytes(model.optimizer.get_state())
    _write_atomic(filepath, members)


def _save_hdf5(model, filepath, doc, states, compiled):
    """What Keras 2.2.4's ``save_model`` writes (``model_config``, ``training_config``, ``model_weights``,
    ``optimizer_weights``), so Keras opens the file, plus what only tinygan reads: the ``tinygan_config`` attribute
    (this module's description: layers shared between nested models, the compile-time trainable snapshot) and the
    ``tinygan_state`` group (BatchNormalization's debiasing averages), for an exact resume."""
    def fill(f):
        f.attrs["keras_version"] = hdf5_format.KERAS_VERSION.encode("utf8")
        f.attrs["backend"] = hdf5_format.KERAS_BACKEND.encode("utf8")
        f.attrs["model_config"] = json.dumps(keras_format.to_keras_config(model)).encode("utf8")
        f.attrs[TINYGAN_ATTR] = json.dumps(doc).encode("utf8")
        hdf5_format.save_weights_to_group(f.create_group("model_weights"), model.layers)
        hdf5_format.save_arrays(f, "tinygan_state", states)
        if compiled:
            f.attrs["training_config"] = json.dumps(keras_format.keras_training_config(model)).encode("utf8")
            hdf5_format.save_optimizer_weights(f, model.optimizer, model._train_weights)
    hdf5_format.write_atomic_hdf5(filepath, fill)


def _json(text, filepath, what):
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise hdf5_format.FileFormatError(f"{filepath}: its {what} is not valid JSON; the file is damaged") from None


def _rebuild(build, filepath):
    """``build()``, with a description that lacks what it needs reported as one line about the file."""
    try:
        return build()
    except hdf5_format.FileFormatError:
        raise
    except ValueError as exc:  # a layer, function or option the file names that cannot be used (one line already)
        raise hdf5_format.FileFormatError(f"{filepath}: {exc}") from None
    except (KeyError, IndexError, TypeError, AttributeError, RecursionError) as exc:
        raise hdf5_format.FileFormatError(f"{filepath}: the model description is malformed ({type(exc).__name__}: "
                                          f"{exc}); the file is damaged or not a model file") from None


def _read(filepath):
    with _open_zip(filepath) as zf:
        if "model.json" not in zf.namelist():
            raise hdf5_format.FileFormatError(f"{filepath}: a zip without model.json, not a tinygan model file")
        doc = _json(zf.read("model.json"), filepath, "model.json")
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise hdf5_format.FileFormatError(f"{filepath}: unknown format {doc.get('format')!r}"
                                              if isinstance(doc, dict) else f"{filepath}: not a tinygan model file")
        arrays = {name: dict(numpy.load(io.BytesIO(zf.read(name)), allow_pickle=False))
                  for name in zf.namelist() if name.endswith(".npz")}
    return doc, arrays


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """The model saved by ``save_model`` (or by Keras 2 / tf.keras to ``.h5``): same architecture and weights, and,
    when it was compiled, the same optimizer state and trainable snapshot (training resumes identically).

    Safe by default: layer classes, functions, losses, constraints and initializers named by the file come from
    tinygan or ``custom_objects`` only, and nothing is imported; ``safe_mode=False`` lets a Lambda layer import the
    module its config names (only for files you trust). Lambdas stored as Python bytecode are never run."""
    if hdf5_format.is_hdf5(filepath):
        return _load_hdf5(filepath, custom_objects, compile, safe_mode)
    doc, arrays = _read(filepath)
    with custom_object_scope(custom_objects, safe_mode):
        layers = _rebuild(lambda: _build_all(doc["model"]), filepath)
        model = layers[doc["model"]["root"]]
        weights = _leaf_weights(layers)
        saved = arrays.get("weights.npz", {})
        if len(saved) != len(weights):
            raise hdf5_format.FileFormatError(f"{filepath}: holds {len(saved)} weights but the model it describes has "
                                              f"{len(weights)}; the file is damaged")
        for i, w in enumerate(weights):
            w.assign(saved[f"w{i:05d}"])
        _restore_layer_state(layers, arrays.get("state.npz", {}))
        if compile and doc["training"] is not None:
            _restore_training(model, doc["training"], layers, weights)
            if arrays.get("optimizer.npz") is not None:
                model.optimizer.set_state(arrays["optimizer.npz"])
    return model


def _load_hdf5(filepath, custom_objects, compile, safe_mode):
    with hdf5_format.open_hdf5(filepath) as f, custom_object_scope(custom_objects, safe_mode):
        own, keras_config = hdf5_format.text_attr(f, TINYGAN_ATTR), hdf5_format.text_attr(f, "model_config")
        if own is None and keras_config is None:
            raise hdf5_format.FileFormatError(
                f"{filepath} holds weights only (no model_config attribute): build the model in code and call "
                f"model.load_weights({filepath!r})")
        if own is not None:
            doc = _json(own, filepath, TINYGAN_ATTR)
            layers = _rebuild(lambda: _build_all(doc["model"]), filepath)
            model, training = layers[doc["model"]["root"]], doc["training"]
        else:
            model = _rebuild(lambda: keras_format.from_keras_config(_json(keras_config, filepath, "model_config")),
                             filepath)
            text = hdf5_format.text_attr(f, "training_config")
            training = _json(text, filepath, "training_config") if text else None
        hdf5_format.load_weights_from_group(f["model_weights"] if "model_weights" in f else f, model, filepath)
        if own is not None:
            _restore_layer_state(layers, hdf5_format.load_arrays(f, "tinygan_state"))
        if compile and training:
            if own is not None:
                _restore_training(model, training, layers, _leaf_weights(layers))
            else:
                _compile_from_keras(model, training, filepath)
            _restore_optimizer_weights(model, f, filepath)
    return model


def _compile_from_keras(model, training, filepath):
    """Compile as Keras' ``load_model`` does, from a Keras ``training_config``."""
    scope = custom_objects()
    try:
        optimizer = keras_format.optimizer_from_keras(training["optimizer_config"])
        model.compile(optimizer=optimizer, loss=_resolve_losses(keras_format.loss_from_keras(training["loss"]), scope),
                      metrics=_resolve_metrics(keras_format.metrics_from_keras(
                          training.get("metrics"), [layer.name for layer in model._output_layers]), scope),
                      loss_weights=training.get("loss_weights"))
    except (ValueError, TypeError, KeyError) as exc:
        raise hdf5_format.FileFormatError(f"{filepath}: cannot compile the saved training configuration ({exc}); "
                                          "pass custom_objects, or load with compile=False") from None


def _resolve_losses(value, scope):
    from .. import losses
    if isinstance(value, dict):
        return {k: _resolve_losses(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_losses(v, scope) for v in value]
    return losses.deserialize(value, scope) if isinstance(value, str) else value


def _restore_optimizer_weights(model, f, filepath):
    entries = hdf5_format.read_optimizer_weights(f)
    state = hdf5_format.optimizer_state(model.optimizer, model._train_weights, entries)
    if state is not None:
        model.optimizer.set_state(state)
    elif entries:
        warnings.warn(f"{filepath}: the saved optimizer state ({len(entries)} arrays) does not fit the model's "
                      f"{len(model._train_weights)} trainable weights; the optimizer starts fresh, as in Keras")


def _restore_layer_state(layers, arrays):
    states = {}
    for key, value in arrays.items():
        index, name = key.split("/", 1)
        states.setdefault(int(index), {})[name] = value
    for index, state in states.items():
        layers[index].set_state(state)


def _restore_training(model, config, layers, weights):
    from .. import losses, optimizers
    scope = custom_objects()
    model.compile(optimizer=optimizers.deserialize(config["optimizer"], scope),
                  loss=[losses.deserialize(name, scope) for name in config["loss"]],
                  loss_weights=config["loss_weights"],
                  metrics=_resolve_metrics(config["metrics"], scope))
    model._snapshot = frozenset(id(layers[i]) for i in config["snapshot_layers"])
    model._train_weights = [weights[i] for i in config["train_weights"]]
    train_ids = {id(w) for w in model._train_weights}
    model._frozen_weights = [w for w in weights if w.requires_grad and id(w) not in train_ids]


def _resolve_metrics(names, scope):
    if isinstance(names, dict):
        return {k: _resolve_metrics(v, scope) for k, v in names.items()}
    if isinstance(names, list):
        return [scope.get(n, n) for n in names]
    return names


def save_weights(model, filepath, overwrite=True):
    """Only the weights: Keras' HDF5 layout for ``.h5``/``.hdf5`` names (``hdf5_format``), otherwise tinygan's zip
    in ``get_weights`` order."""
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath} exists and overwrite=False")
    if hdf5_format.wants_hdf5(filepath):
        hdf5_format.write_atomic_hdf5(filepath, lambda f: hdf5_format.save_weights_to_group(f, model.layers))
        return
    _write_atomic(filepath, {"weights.npz": _npz_bytes({f"w{i:05d}": w for i, w in enumerate(model.get_weights())})})


def load_weights(model, filepath, by_name=False, skip_mismatch=False):
    """Weights from a Keras HDF5 file (weights-only or a whole model; layers matched by position, or by name with
    ``by_name=True``) or from tinygan's zip, told apart by the file's first bytes."""
    if hdf5_format.is_hdf5(filepath):
        with hdf5_format.open_hdf5(filepath) as f:
            hdf5_format.load_weights_from_group(f, model, filepath, by_name=by_name, skip_mismatch=skip_mismatch)
        return
    if by_name:
        raise ValueError(f"{filepath}: by_name=True needs a Keras HDF5 file (.h5); this is tinygan's zip format")
    with _open_zip(filepath) as zf:
        saved = numpy.load(io.BytesIO(zf.read("weights.npz")), allow_pickle=False)
        model.set_weights([saved[f"w{i:05d}"] for i in range(len(saved.files))])


def _open_zip(filepath):
    """tinygan's zip format, or one line saying what the file is instead."""
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"{filepath}: no such file")
    if not zipfile.is_zipfile(filepath):
        raise hdf5_format.FileFormatError(
            f"{filepath}: neither a Keras HDF5 file nor a tinygan model file (a zip); it is damaged, cut short or "
            "of another kind")
    return zipfile.ZipFile(filepath)
