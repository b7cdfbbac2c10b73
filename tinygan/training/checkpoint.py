"""Training checkpoints: everything needed to resume a run exactly, written atomically.

A checkpoint holds, for a dict of named models,

* each model's weights (``model.get_weights()``: trainable and non-trainable, e.g. BatchNorm moving statistics) and
  its layers' other state (``layer.get_state()``, e.g. BatchNorm's zero-debiasing averages, by layer position),
  unless the model is listed in ``optimizer_only`` (a composite whose weights are its sub-models'),
* the state of the model's optimizer (``model.optimizer.get_state()``; Keras models keep it at ``model.optimizer``),

plus the global RNG state (``tinygan.random.get_state()``, which also covers NumPy's legacy global RNG the book's
``randint`` draws from), the training step and any extra JSON-serialisable data (the run's settings, the loss
history, ...).

The file is a single ``.npz`` (NumPy arrays plus one JSON document, no pickle, so loading a checkpoint cannot run
code). It is written to a temporary file in the same folder and moved into place with ``os.replace``, so a crash
or Ctrl-C while saving never leaves a half-written checkpoint behind.

Example::

    save_checkpoint('run/checkpoint.npz', {'d_model': d, 'g_model': g, 'gan_model': gan}, step=i + 1,
                    extra={'args': vars(args)}, optimizer_only=('gan_model',))
    ...
    step, extra = load_checkpoint('run/checkpoint.npz', {'d_model': d, 'g_model': g, 'gan_model': gan})
"""
import json
import os
import time
import zipfile

import numpy as np

from ..errors import UserInputError

FORMAT = "tinygan-checkpoint"
VERSION = 1


class CheckpointError(UserInputError):
    """A checkpoint file is missing, damaged, or does not match the models it is loaded into."""


# ---- a JSON tree with the arrays kept aside (nested dicts / lists / tuples / arrays / scalars) ----------------
def _to_numpy(a):
    if hasattr(a, "get") and not isinstance(a, (dict, np.ndarray)):  # a CuPy array
        return np.asarray(a.get())
    return np.asarray(a)


def _encode(obj, arrays, prefix):
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            raise TypeError(f"checkpoint dict keys must be strings ({prefix})")
        return {"__dict__": {k: _encode(v, arrays, f"{prefix}/{k}") for k, v in obj.items()}}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, arrays, f"{prefix}/{i}") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, arrays, f"{prefix}/{i}") for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return {"__float__": repr(float(obj))}  # exact round trip, inf/nan included
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray) or hasattr(obj, "__array__"):
        key = f"a{len(arrays)}"
        arrays[key] = _to_numpy(obj)
        return {"__array__": key}
    raise TypeError(f"cannot store {type(obj).__name__} in a checkpoint ({prefix})")


def _decode(node, arrays):
    if isinstance(node, list):
        return [_decode(v, arrays) for v in node]
    if isinstance(node, dict):
        if "__dict__" in node:
            return {k: _decode(v, arrays) for k, v in node["__dict__"].items()}
        if "__tuple__" in node:
            return tuple(_decode(v, arrays) for v in node["__tuple__"])
        if "__float__" in node:
            return float(node["__float__"])
        if "__array__" in node:
            return arrays[node["__array__"]]
        raise CheckpointError(f"unknown node in checkpoint: {sorted(node)}")
    return node


def pack(tree):
    """``tree`` -> (JSON string, {name: array}); the inverse of :func:`unpack`."""
    arrays = {}
    doc = _encode(tree, arrays, "")
    return json.dumps(doc), arrays


def unpack(doc, arrays):
    return _decode(json.loads(doc), arrays)


# ---- atomic file writing --------------------------------------------------------------------------------------
def atomic_write_npz(path, arrays, compress=False):
    """Write ``arrays`` ({name: array}) as an npz at ``path`` atomically (temp file + fsync + ``os.replace``)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            (np.savez_compressed if compress else np.savez)(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


# ---- checkpoints ------------------------------------------------------------------------------------------------
def layer_states(model):
    """Per-layer state that is not a weight (e.g. BatchNormalization's zero-debiasing averages and step count),
    by layer position (nested models recursively), so it restores into a rebuilt model whose layer names differ."""
    out = []
    for layer in getattr(model, "layers", None) or []:
        if getattr(layer, "layers", None) is not None:
            out.append({"layers": layer_states(layer)})
        else:
            out.append({"state": layer.get_state() if hasattr(layer, "get_state") else {}})
    return out


def set_layer_states(model, states, where="model"):
    layers = getattr(model, "layers", None) or []
    if len(layers) != len(states):
        raise CheckpointError(f"{where} has {len(layers)} layers but the checkpoint has state for {len(states)}")
    for layer, st in zip(layers, states):
        if "layers" in st:
            set_layer_states(layer, st["layers"], f"{where}/{layer.name}")
        elif st["state"] and hasattr(layer, "set_state"):
            layer.set_state(st["state"])


def model_state(model, weights=True):
    """{'weights': [...], 'layers': [...], 'optimizer': {...} or None} of one model (``weights=False``: only the
    optimizer state, for a composite whose weights and layer state belong to other models)."""
    state = {"weights": [_to_numpy(w) for w in model.get_weights()] if weights else None,
             "layers": layer_states(model) if weights else None, "optimizer": None}
    opt = getattr(model, "optimizer", None)
    if opt is not None and hasattr(opt, "get_state"):
        state["optimizer"] = opt.get_state()
    return state


def rng_state():
    from .. import random as tg_random
    return tg_random.get_state()


def save_checkpoint(path, models, step, extra=None, optimizer_only=(), rng=True, compress=False):
    """Save a resumable checkpoint of ``models`` ({name: model}) at training step ``step``; returns ``path``.

    ``optimizer_only``: names whose weights are not stored (only their optimizer state), e.g. a composite model
    whose weights all belong to other models in the dict. ``extra``: JSON-like data (dicts, lists, numbers,
    strings, arrays) returned by :func:`load_checkpoint`.

    Under ``mpiexec`` every rank calls it (it gathers each rank's RNG state, ``rng_ranks``) and rank 0 alone writes.
    """
    from .. import distributed
    from ..distributed.rng import gather_states
    state = rng_state() if rng else None
    per_rank = gather_states(state) if rng else None
    if not distributed.is_root():
        return path
    tree = {
        "format": FORMAT, "version": VERSION, "step": int(step), "time": time.time(),
        "models": {name: model_state(m, weights=name not in optimizer_only) for name, m in models.items()},
        "rng": state, "rng_ranks": per_rank,
        "extra": extra if extra is not None else {},
    }
    doc, arrays = pack(tree)
    arrays["__meta__"] = np.frombuffer(doc.encode("utf-8"), dtype=np.uint8)
    return atomic_write_npz(path, arrays, compress=compress)


def read_checkpoint(path):
    """The checkpoint at ``path`` as a dict (``step``, ``models``, ``rng``, ``extra``), without applying it."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise CheckpointError(f"{path} is not a readable checkpoint ({exc})") from exc
    if "__meta__" not in arrays:
        raise CheckpointError(f"{path} is an npz but not a tinygan checkpoint (no __meta__ entry)")
    tree = unpack(arrays.pop("__meta__").tobytes().decode("utf-8"), arrays)
    if tree.get("format") != FORMAT:
        raise CheckpointError(f"{path}: unknown checkpoint format {tree.get('format')!r}")
    return tree


def load_checkpoint(path, models, rng=True, strict=True):
    """Restore ``models`` ({name: model}) from the checkpoint at ``path``; returns ``(step, extra)``.

    Weights, optimizer state and (with ``rng=True``) the global RNG state are restored, so training continues as
    if it had never stopped. ``strict``: every model in ``models`` must be in the checkpoint.
    """
    tree = read_checkpoint(path)
    saved = tree["models"]
    missing = [name for name in models if name not in saved]
    if missing and strict:
        raise CheckpointError(f"{path} has no state for model(s) {missing} (it holds {sorted(saved)})")
    for name, model in models.items():
        if name not in saved:
            continue
        state = saved[name]
        if state["weights"] is not None:
            current = model.get_weights()
            shapes = [tuple(np.shape(w)) for w in current]
            stored = [tuple(np.shape(w)) for w in state["weights"]]
            if shapes != stored:
                raise CheckpointError(f"{path}: model {name!r} does not match the checkpoint (weight shapes "
                                      f"{_short(stored)} saved, {_short(shapes)} now); was it built with other "
                                      "settings (image size, filter counts)?")
            model.set_weights(state["weights"])
        if state.get("layers") is not None:
            set_layer_states(model, state["layers"], f"{path}: model {name!r}")
        opt = getattr(model, "optimizer", None)
        if state["optimizer"] is not None and opt is not None and hasattr(opt, "set_state"):
            opt.set_state(state["optimizer"])
    if rng and tree.get("rng") is not None:
        from .. import random as tg_random
        from ..distributed.rng import own_state
        tg_random.set_state(own_state(tree["rng"], tree.get("rng_ranks")))  # this rank's stream
    return tree["step"], tree.get("extra", {})


def _short(shapes, n=4):
    return ", ".join(map(str, shapes[:n])) + (f", ... ({len(shapes)} arrays)" if len(shapes) > n else "")


def checkpoint_extra(path):
    """The ``extra`` dict and ``step`` of a checkpoint, e.g. to rebuild models with the saved settings before
    :func:`load_checkpoint`."""
    tree = read_checkpoint(path)
    return tree["step"], tree.get("extra", {})
