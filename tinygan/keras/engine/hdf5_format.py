"""Keras 2's HDF5 files (``keras/engine/saving.py`` of Keras 2.2.4), read and written with h5py.

Layout of a weights group (the root of a ``save_weights`` file, ``/model_weights`` of a model file)::

    attrs: layer_names (one per top-level layer, chunked as layer_names0, layer_names1... past 64 KB),
           backend, keras_version
    <layer name>/                 one group per layer, attrs: weight_names ['conv2d_1/kernel:0', ...]
        <weight name>             one dataset per weight, in the layer's ``weights`` order
                                  (BatchNormalization: gamma, beta, moving_mean, moving_variance)

A whole model file adds the root attributes ``model_config`` (the architecture as Keras JSON),
``training_config`` (optimizer config, loss, metrics, loss weights) and the group ``optimizer_weights``.

Weights are matched to layers as Keras does: by position among the layers that have weights, or by
layer name with ``by_name=True``. A file that does not fit the model is refused with one line listing
the layers and shapes that differ; a damaged or truncated file is refused with one line too.
"""
import itertools
import os
import tempfile
import warnings

import numpy

from ...errors import UserInputError
from .network import Network

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
KERAS_VERSION, KERAS_BACKEND = "2.2.4", "tensorflow"
_ATTR_LIMIT = 64512  # HDF5 object headers hold at most 64 KB of attributes (Keras' HDF5_OBJECT_HEADER_LIMIT)


class FileFormatError(UserInputError):
    """A model or weights file that cannot be read, or that does not fit the model it is loaded into (the
    ``tinygan`` command reports it in one line)."""


def is_hdf5(filepath):
    """True when the file starts with HDF5's signature (Keras and h5py write it at offset 0)."""
    try:
        with open(filepath, "rb") as fh:
            return fh.read(len(HDF5_MAGIC)) == HDF5_MAGIC
    except OSError:
        return False


def wants_hdf5(filepath):
    """``.h5`` / ``.hdf5`` names are written in Keras' HDF5 layout."""
    return str(filepath).lower().endswith((".h5", ".hdf5"))


def h5py_module():
    try:
        import h5py
    except ImportError as exc:  # a core dependency; only a broken install gets here
        raise ImportError("reading and writing Keras .h5 files needs h5py: pip install h5py") from exc
    return h5py


def open_hdf5(filepath):
    """The file opened read-only, or one clear line when it is missing, damaged or truncated."""
    h5py = h5py_module()
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"{filepath}: no such file")
    try:
        return h5py.File(filepath, "r")
    except OSError as exc:
        reason = str(exc).split("(", 1)[-1].rstrip(")") if "(" in str(exc) else str(exc)
        raise FileFormatError(f"{filepath}: not a readable HDF5 file ({reason}); it is damaged or was cut short "
                              "(an interrupted download or save): get or save it again") from None


def write_atomic_hdf5(filepath, fill):
    """Create ``filepath`` via a temporary HDF5 file beside it that ``fill(h5file)`` writes, then ``os.replace``
    (an interrupted save never leaves a broken file behind)."""
    h5py = h5py_module()
    directory = os.path.dirname(os.path.abspath(filepath))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".h5", dir=directory)
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            fill(f)
        os.replace(tmp, filepath)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


# ---- attributes ------------------------------------------------------------------------------------------------

def _text(value):
    return value.decode("utf8") if isinstance(value, (bytes, numpy.bytes_)) else str(value)


def text_attr(group, name, default=None):
    """A string attribute (Keras writes UTF-8 bytes; h5py may hand back bytes or str)."""
    if name not in group.attrs:
        return default
    return _text(group.attrs[name])


def save_attribute_list(group, name, values):
    """Keras' ``save_attributes_to_hdf5_group``: a list of strings, split into ``name0``, ``name1``... when it would
    not fit in one object header."""
    data = numpy.asarray([v.encode("utf8") for v in values], dtype=f"S{max([1] + [len(v.encode()) for v in values])}")
    chunks = 1
    while data.nbytes / chunks > _ATTR_LIMIT:
        chunks += 1
    if chunks == 1:
        group.attrs[name] = data
        return
    for i, part in enumerate(numpy.array_split(data, chunks)):
        group.attrs[f"{name}{i}"] = part


def load_attribute_list(group, name):
    """Keras' ``load_attributes_from_hdf5_group`` (both the single and the chunked form), as str."""
    if name in group.attrs:
        values = list(numpy.atleast_1d(group.attrs[name]))
    else:
        values, i = [], 0
        while f"{name}{i}" in group.attrs:
            values.extend(numpy.atleast_1d(group.attrs[f"{name}{i}"]))
            i += 1
    return [_text(v) for v in values]


# ---- weights ---------------------------------------------------------------------------------------------------

def keras_weights(layer):
    """A layer's weights in the order a Keras file lists them: trainable ones, then the others. A network with
    ``trainable=False`` counts its layers as frozen too (tf.keras' recursive flag, and what ``keras_format`` writes),
    so its weights come layer by layer; tinygan's own ``weights`` keeps Keras 2.2's order for such a network."""
    trainable, other = _split_weights(layer, False)
    return trainable + other


def _split_weights(layer, frozen):
    frozen = frozen or not layer.trainable
    if not isinstance(layer, Network):
        if frozen:
            return [], layer._trainable_weights + layer._non_trainable_weights
        return list(layer._trainable_weights), list(layer._non_trainable_weights)
    parts = [_split_weights(sub, frozen) for sub in layer.layers]
    if frozen:
        return [], [w for t, o in parts for w in t + o]
    return [w for t, _ in parts for w in t], [w for _, o in parts for w in o]


def save_weights_to_group(group, layers):
    """Keras' ``save_weights_to_hdf5_group``: one group per layer, datasets in the layer's weight order."""
    from ... import backend
    save_attribute_list(group, "layer_names", [layer.name for layer in layers])
    group.attrs["backend"] = KERAS_BACKEND.encode("utf8")
    group.attrs["keras_version"] = KERAS_VERSION.encode("utf8")
    for layer in layers:
        g = group.create_group(layer.name)
        weights = keras_weights(layer)
        names = [w.name or f"param_{i}" for i, w in enumerate(weights)]
        save_attribute_list(g, "weight_names", names)
        for name, w in zip(names, weights):
            g.create_dataset(name, data=backend.to_numpy(w.data))


def read_weight_groups(group, filepath):
    """``[(layer name, [(weight name, array), ...]), ...]`` for the file's layers that have weights, in file order."""
    if "layer_names" not in group.attrs and "layer_names0" not in group.attrs and "model_weights" in group:
        group = group["model_weights"]
    names = load_attribute_list(group, "layer_names")
    if not names and "layer_names" not in group.attrs:
        raise FileFormatError(f"{filepath}: an HDF5 file without Keras weights (no 'layer_names' attribute at its "
                              "root or in /model_weights); it was not written by Keras' save/save_weights")
    out = []
    for name in names:
        try:
            g = group[name]
            weight_names = load_attribute_list(g, "weight_names")
            arrays = [(w, numpy.asarray(g[w])) for w in weight_names]
        except (KeyError, OSError) as exc:
            raise FileFormatError(f"{filepath}: layer {name!r} is listed but its weights cannot be read "
                                  f"({_text(exc)}); the file is damaged or incomplete") from None
        if arrays:
            out.append((name, arrays))
    return out


def _describe(name, shapes):
    return f"{name} {[tuple(s) for s in shapes]}"


def _mismatch(filepath, model, pairs, file_count, model_count):
    """One line naming the layers whose weights do not fit: ``pairs`` are (file entry, model layer) that differ."""
    shown = pairs[:6]
    more = f" and {len(pairs) - 6} more" if len(pairs) > 6 else ""
    listing = "; ".join(f"file {_describe(f[0], [a.shape for _, a in f[1]]) if f else '-'} vs model "
                        f"{_describe(l.name, [w.shape for w in keras_weights(l)]) if l is not None else '-'}"
                        for f, l in shown)
    return FileFormatError(f"{filepath} does not match model {model.name!r}: the file has {file_count} layers with "
                           f"weights, the model {model_count}; differing: {listing}{more}. Load it into the model "
                           "it was saved from, or use load_weights(..., by_name=True) to load the layers whose names "
                           "match")


def load_weights_from_group(group, model, filepath, by_name=False, skip_mismatch=False):
    """Set ``model``'s weights from a Keras weights group, matching layers by position or by name."""
    entries = read_weight_groups(group, filepath)
    layers = [layer for layer in model.layers if layer.weights]
    order = {id(layer): keras_weights(layer) for layer in model.layers}
    if by_name:
        return _load_by_name(entries, model, filepath, skip_mismatch)
    fits = len(entries) == len(layers) and all(
        [a.shape for _, a in arrays] == [w.shape for w in order[id(layer)]]
        for (_, arrays), layer in zip(entries, layers))
    if not fits and _same_names_and_shapes(entries, layers):  # the same layers listed in another order (tf.keras)
        return _load_by_name(entries, model, filepath, skip_mismatch)
    if not fits:
        pairs = [(e, l) for e, l in itertools.zip_longest(entries, layers)
                 if e is None or l is None or [a.shape for _, a in e[1]] != [w.shape for w in order[id(l)]]]
        raise _mismatch(filepath, model, pairs, len(entries), len(layers))
    for (_, arrays), layer in zip(entries, layers):
        for w, (_, value) in zip(order[id(layer)], arrays):
            w.assign(value)


def _same_names_and_shapes(entries, layers):
    by_name = {layer.name: [w.shape for w in keras_weights(layer)] for layer in layers}
    return len(by_name) == len(entries) == len(layers) and all(
        by_name.get(name) == [a.shape for _, a in arrays] for name, arrays in entries)


def _load_by_name(entries, model, filepath, skip_mismatch):
    """Keras' ``load_weights_from_hdf5_group_by_name``: layers absent from the file keep their weights."""
    index = {}
    for layer in model.layers:
        index.setdefault(layer.name, []).append(layer)
    bad, todo = [], []
    for entry in entries:
        for layer in index.get(entry[0], []):
            weights = keras_weights(layer)
            if [a.shape for _, a in entry[1]] != [w.shape for w in weights]:
                bad.append((entry, layer))
            else:
                todo.extend(zip(weights, (a for _, a in entry[1])))
    if bad:
        error = _mismatch(filepath, model, bad, len(entries), len([l for l in model.layers if l.weights]))
        if not skip_mismatch:
            raise error
        warnings.warn(f"{error} (skipped those layers)")
    for w, value in todo:
        w.assign(value)


# ---- optimizer weights -----------------------------------------------------------------------------------------

_KERAS_SLOT = {"moments": "momentum", "accumulators": "rms"}  # tinygan slot name -> the one tf.keras uses


def save_optimizer_weights(group, optimizer, params):
    """``optimizer_weights`` as tf.keras writes them: iterations, then each slot for every parameter in turn,
    named ``Adam/iter:0``, ``Adam/dense_1/kernel/m:0``... (nothing before the first update, as in Keras)."""
    state = optimizer.get_state()
    slots = [(s, i) for s in optimizer.slot_names for i in range(len(params)) if f"{s}:{i}" in state]
    if not slots:
        return
    prefix = type(optimizer).__name__
    names = [f"{prefix}/iter:0"] + [f"{prefix}/{params[i].name.rsplit(':', 1)[0]}/{_KERAS_SLOT.get(s, s)}:0"
                                    for s, i in slots]
    if len(set(names)) != len(names):  # two parameters with one name (layers named alike in nested models)
        names = [names[0]] + [f"{prefix}/param_{k}:0" for k in range(len(slots))]
    values = [numpy.asarray(optimizer.iterations, numpy.int64)] + [state[f"{s}:{i}"] for s, i in slots]
    g = group.create_group("optimizer_weights")
    save_attribute_list(g, "weight_names", names)
    for name, value in zip(names, values):
        g.create_dataset(name, data=value)


def read_optimizer_weights(group):
    if "optimizer_weights" not in group:
        return []
    g = group["optimizer_weights"]
    return [(name, numpy.asarray(g[name])) for name in load_attribute_list(g, "weight_names")]


def optimizer_state(optimizer, params, entries):
    """``optimizer.set_state``'s dict from a file's optimizer weights, or None when they do not fit ``params``.

    Slots are matched by name where the names say which weight they belong to (tf.keras and tinygan:
    ``Adam/conv2d/kernel/m:0``), else by position (Keras 2.2: ``[iterations] + ms + vs (+ vhats)``)."""
    if not entries:
        return None
    iterations = 0
    if entries[0][1].shape == ():
        iterations, entries = int(entries[0][1]), entries[1:]
    slots, n = optimizer.slot_names, len(params)
    named = {}
    for name, value in entries:
        parts = name.rsplit(":", 1)[0].split("/")
        if len(parts) >= 3:
            named[(parts[-1], "/".join(parts[1:-1]))] = value  # Adam/<weight>/<slot>
            named.setdefault((parts[1], "/".join(parts[2:])), value)  # Adam/<slot>/<weight>
    state = {"iterations": numpy.asarray(iterations, numpy.int64)}
    found = [named.get((_KERAS_SLOT.get(s, s), p.name.rsplit(":", 1)[0])) for s in slots for p in params]
    if not all(v is not None and v.shape == p.shape for v, p in zip(found, params * len(slots))):
        found = [value for _, value in entries]
        if len(found) not in (len(slots) * n, (len(slots) + 1) * n) or \
                any(v.shape != p.shape for v, p in zip(found, params * len(slots))):
            return None
    for k, s in enumerate(slots):
        for i in range(n):
            state[f"{s}:{i}"] = found[k * n + i]
    return state


# ---- tinygan's extra layer state -------------------------------------------------------------------------------

def save_arrays(group, name, arrays):
    """``{key: array}`` as datasets of a new group (keys may contain '/')."""
    g = group.create_group(name)
    for key, value in arrays.items():
        g.create_dataset(key, data=numpy.asarray(value))


def load_arrays(group, name):
    if name not in group:
        return {}
    out = {}
    group[name].visititems(lambda key, obj: out.__setitem__(key, numpy.asarray(obj)) if hasattr(obj, "shape") else None)
    return out
