"""``tinygan.keras`` calls users get wrong: each raises a ValueError (or RuntimeError) whose one-line message names
the model/layer, the shapes or the known names; nothing is half-applied."""
import numpy as np
import pytest

from tinygan.keras.layers import Activation, Dense
from tinygan.keras.models import Sequential, load_model


@pytest.fixture
def model():
    m = Sequential([Dense(3, input_dim=4, activation="relu"), Dense(1, activation="sigmoid")])
    m.compile(loss="binary_crossentropy", optimizer="adam")
    return m


def one_line(exc_info, *needles):
    text = str(exc_info.value)
    assert "\n" not in text.strip()
    for n in needles:
        assert n in text, (n, text)


CASES = [
    ("predict wrong width", lambda m: m.predict(np.zeros((2, 5), "float32")), ("shape (4,)", "(5,)")),
    ("predict 1-D", lambda m: m.predict(np.zeros(4, "float32")), ("expected",)),
    ("predict NaN", lambda m: m.predict(np.full((2, 4), np.nan, "float32")), ("NaN or Inf",)),
    ("predict a string", lambda m: m.predict("abc"), ("dimensions",)),
    ("train_on_batch x/y lengths", lambda m: m.train_on_batch(np.zeros((2, 4)), np.zeros((3, 1))),
     ("2 input samples", "3 target samples")),
    ("train_on_batch target shape", lambda m: m.train_on_batch(np.zeros((2, 4)), np.zeros((2, 2))),
     ("target", "(1,)", "(2,)")),
    ("fit x/y lengths", lambda m: m.fit(np.zeros((2, 4)), np.zeros((3, 1)), verbose=0), ("same number",)),
    ("set_weights count", lambda m: m.set_weights([np.zeros((4, 3))]), ("4 arrays", "got 1")),
    ("set_weights shape", lambda m: m.set_weights([np.zeros((5, 3)), np.zeros(3), np.zeros((3, 1)), np.zeros(1)]),
     ("(4, 3)", "(5, 3)", "dense")),
]


@pytest.mark.parametrize("name,call,needles", CASES, ids=[c[0] for c in CASES])
def test_wrong_calls(model, name, call, needles):
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError) as exc:
        call(model)
    one_line(exc, *needles)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))  # nothing half-applied


@pytest.mark.parametrize("make,needle", [
    (lambda: Sequential([Dense(1, input_dim=2)]).compile(loss="nope", optimizer="adam"), "unknown loss 'nope'"),
    (lambda: Sequential([Dense(1, input_dim=2)]).compile(loss="mse", optimizer="nope"), "unknown optimizer 'nope'"),
    (lambda: Dense(1, activation="nope"), "Unknown activation function: 'nope'"),
    (lambda: Activation("nope"), "known:"),
])
def test_unknown_names(make, needle):
    with pytest.raises(ValueError) as exc:
        make()
    one_line(exc, needle)


def test_training_before_compile():
    with pytest.raises(RuntimeError, match="compile"):
        Sequential([Dense(1, input_dim=2)]).train_on_batch(np.zeros((1, 2)), np.zeros((1, 1)))


@pytest.mark.parametrize("content", [b"junk" * 10, b""])
def test_load_model_of_a_broken_file(tmp_path, content):
    (tmp_path / "m.h5").write_bytes(content)
    with pytest.raises(ValueError) as exc:
        load_model(str(tmp_path / "m.h5"))
    one_line(exc, "m.h5")


def test_load_model_of_a_truncated_file(tmp_path, model):
    model.save(str(tmp_path / "m.h5"))
    data = (tmp_path / "m.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError) as exc:
        load_model(str(tmp_path / "cut.h5"))
    one_line(exc, "cut.h5")
