"""Issue 13: opening a model file never runs code the file names. Crafted files for every route (a Lambda calling
pydoc.pipepager with a shell command, os.system, builtins.eval, a module that does not exist, a nested model holding
such a Lambda; tinygan's zip and Keras HDF5) are refused with one line, and the marker the command would create
stays absent, through load_model and the CLI commands that open generators."""
import io
import json
import os
import time
import zipfile

import h5py
import pytest

import tinygan.random
from tinygan.cli import main
from tinygan.keras import backend as K
from tinygan.keras.engine.base_layer import reset_uids
from tinygan.keras.layers import Dense, Input, Lambda, Reshape
from tinygan.keras.models import Model, Sequential, load_model, model_from_json


@pytest.fixture(autouse=True)
def fresh_session():
    reset_uids()
    tinygan.random.seed(0)


def harmless(x):
    return x


def custom_activation(output):
    """Chapter 20 (Listing 20.6)."""
    logexpsum = K.sum(K.exp(output), axis=-1, keepdims=True)
    return logexpsum / (logexpsum + 1.0)


def generator(nested):
    """A digit generator (latent 3 -> 28x28x1, usable by `tinygan sample` / `dcgan score`) with a Lambda."""
    inner = Sequential([Dense(4, input_dim=3), Lambda(harmless)])
    if not nested:
        return Sequential([Dense(4, input_dim=3), Lambda(harmless), Dense(784, activation="tanh"), Reshape((28, 28, 1))])
    z = Input(shape=(3,))
    return Model(z, Reshape((28, 28, 1))(Dense(784, activation="tanh")(inner(z))))


ROUTES = {
    "pydoc": ("pydoc", "pipepager", {"cmd": "touch {marker}"}),
    "os.system": ("os", "system", {}),
    "builtins.eval": ("builtins", "eval", {}),
    "missing module": ("tinygan_no_such_module.evil", "run", {}),
}


def _poison(config, module, function, arguments):
    """Point every Lambda of a model description (tinygan's or Keras') at ``module.function(**arguments)``."""
    if isinstance(config, dict):
        if config.get("class_name") == "Lambda":
            config["config"].update(function=function, module=module, function_type="function", arguments=arguments)
        for value in config.values():
            _poison(value, module, function, arguments)
    elif isinstance(config, list):
        for value in config:
            _poison(value, module, function, arguments)


def crafted(folder, route, nested, suffix, name="generator_model_001"):
    """A saved generator whose Lambda layer(s) now name ``route``'s function; returns (path, marker)."""
    marker = os.path.join(folder, f"PWNED-{route.replace(' ', '_').replace('.', '_')}")
    module, function, arguments = ROUTES[route]
    arguments = {k: v.format(marker=marker) for k, v in arguments.items()}
    path = os.path.join(folder, name + suffix)
    generator(nested).save(path)
    if suffix == ".h5":
        with h5py.File(path, "a") as f:
            for attr in ("model_config", "tinygan_config"):
                doc = json.loads(f.attrs[attr])
                _poison(doc, module, function, arguments)
                f.attrs[attr] = json.dumps(doc).encode()
    else:
        with zipfile.ZipFile(path) as zf:
            members = {n: zf.read(n) for n in zf.namelist()}
        doc = json.loads(members["model.json"])
        _poison(doc, module, function, arguments)
        members["model.json"] = json.dumps(doc).encode()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            for n, data in members.items():
                zf.writestr(n, data)
        with open(path, "wb") as fh:
            fh.write(buffer.getvalue())
    return path, marker


@pytest.mark.parametrize("suffix", [".h5", ".tgm"])
@pytest.mark.parametrize("nested", [False, True], ids=["flat", "nested"])
@pytest.mark.parametrize("route", sorted(ROUTES))
def test_crafted_lambda_is_refused_and_nothing_runs(tmp_path, route, nested, suffix):
    path, marker = crafted(str(tmp_path), route, nested, suffix)
    module, function, _ = ROUTES[route]
    with pytest.raises(ValueError) as info:
        load_model(path)
    message = str(info.value)
    assert "\n" not in message and f"calls {function!r} from module {module!r}" in message
    assert "custom_objects=" in message and "safe_mode=False" in message
    time.sleep(0.2)
    assert not os.path.exists(marker)


def test_the_pydoc_file_is_a_real_exploit_once_safe_mode_is_off(tmp_path):
    """The crafted file does run its command when the user turns safe mode off: the test above can fail."""
    path, marker = crafted(str(tmp_path), "pydoc", False, ".h5")
    with pytest.raises(Exception):
        load_model(path, safe_mode=False)  # pipepager starts the shell, then fails writing a Tensor to it
    for _ in range(50):
        if os.path.exists(marker):
            break
        time.sleep(0.1)
    assert os.path.exists(marker)


@pytest.mark.parametrize("command", [["sample", "{path}", "-o", "{folder}/s.png"],
                                     ["dcgan", "score", "{path}", "--n", "4", "--classifier", "{folder}/none.h5",
                                      "--epochs", "1"],
                                     ["pix2pix", "translate", "{path}", "{folder}/in.png"]])
def test_cli_commands_refuse_crafted_generators(tmp_path, capsys, command):
    path, marker = crafted(str(tmp_path), "pydoc", True, ".h5", name="model_000001")
    args = [a.format(path=path, folder=tmp_path) for a in command]
    try:
        outcome = main(args)
    except SystemExit as exc:
        outcome = exc.code
    text = str(outcome) + capsys.readouterr().err
    assert outcome not in (0, None) and "calls 'pipepager' from module 'pydoc'" in text and "\n" not in text.strip()
    time.sleep(0.2)
    assert not os.path.exists(marker)


def test_model_from_json_is_safe_by_default():
    model = Sequential([Dense(2, input_dim=3), Lambda(harmless)])
    doc = json.loads(model.to_json())
    _poison(doc, "os", "system", {})
    with pytest.raises(ValueError, match="calls 'system' from module 'os'"):
        model_from_json(json.dumps(doc))


def test_tinygan_builtins_need_no_custom_objects(tmp_path):
    model = Sequential([Dense(2, input_dim=3), Lambda(K.tanh)])
    model.save(str(tmp_path / "m.h5"))
    assert load_model(str(tmp_path / "m.h5")).layers[1].function is K.tanh


@pytest.mark.parametrize("suffix", [".h5", ".tgm"])
def test_book_sgan_lambda_saves_and_loads_with_custom_objects(tmp_path, suffix):
    """Chapter 20's stacked discriminator: d_model = Lambda(custom_activation)(logits)."""
    import numpy as np
    inp = Input(shape=(5,))
    d_model = Model(inp, Lambda(custom_activation)(Dense(10)(inp)))
    d_model.compile(loss="binary_crossentropy", optimizer="adam")
    path = str(tmp_path / ("d_model" + suffix))
    d_model.save(path)
    with pytest.raises(ValueError, match="custom_objects={'custom_activation': custom_activation}"):
        load_model(path)
    loaded = load_model(path, custom_objects={"custom_activation": custom_activation})
    x = np.random.default_rng(0).standard_normal((4, 5))
    np.testing.assert_array_equal(loaded.predict(x), d_model.predict(x))


class _RunsCommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_cifar10_batches_are_unpickled_with_arrays_only(tmp_path):
    import pickle

    import numpy as np

    from tinygan.keras.datasets.cifar10 import _batch
    data = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072)
    x, y = _batch(pickle.dumps({b"data": data, b"labels": [3, 7], b"batch_label": b"b", b"filenames": [b"a", b"b"]},
                               protocol=2))
    assert x.shape == (2, 32, 32, 3) and x[0, 0, 1, 0] == data[0, 1] and y.ravel().tolist() == [3, 7]
    marker = tmp_path / "PWNED-cifar"
    with pytest.raises(pickle.UnpicklingError, match="posix.system|os.system"):
        _batch(pickle.dumps({b"data": _RunsCommand(marker), b"labels": []}, protocol=2))
    assert not marker.exists()


@pytest.mark.parametrize("module,function", [("tinygan.keras.backend", "numpy"), ("tinygan.keras.backend", "set_floatx"),
                                             ("tinygan.keras.backend", "__loader__"), ("tinygan.cli", "main")])
def test_only_tinygan_math_counts_as_built_in(module, function):
    model = Sequential([Dense(2, input_dim=3), Lambda(harmless)])
    doc = json.loads(model.to_json())
    _poison(doc, module, function, {})
    with pytest.raises(ValueError, match=f"calls {function!r} from module {module!r}"):
        model_from_json(json.dumps(doc))
