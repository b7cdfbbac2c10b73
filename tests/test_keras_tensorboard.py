"""The Keras TensorBoard callback: fit's logs as scalars in event files, read back with TensorBoard's own reader."""
import numpy as np
import pytest

pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed "
                    "(pip install \"tinygan[tensorboard]\")")

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

from tinygan import random as tg_random  # noqa: E402
from tinygan.keras.callbacks import TensorBoard  # noqa: E402
from tinygan.keras.layers import Dense  # noqa: E402
from tinygan.keras.models import Sequential  # noqa: E402


def fit(log_dir, **kw):
    tg_random.seed(0)
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    y = (x.sum(axis=1, keepdims=True) > 0).astype("float32")
    m = Sequential([Dense(4, input_dim=3, activation="relu"), Dense(1, activation="sigmoid")])
    m.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = m.fit(x, y, epochs=3, batch_size=16, verbose=0, validation_data=(x, y),
                    callbacks=[TensorBoard(log_dir=str(log_dir), **kw)])
    acc = EventAccumulator(str(log_dir))
    acc.Reload()
    return history, acc


def test_epoch_scalars_match_the_history(tmp_path):
    history, acc = fit(tmp_path)
    tags = set(acc.Tags()["scalars"])
    assert {"loss", "acc", "val_loss", "val_acc"} <= tags
    for tag in ("loss", "val_loss"):
        events = acc.Scalars(tag)
        assert [e.step for e in events] == [0, 1, 2]
        np.testing.assert_allclose([e.value for e in events], history.history[tag], rtol=1e-6)


def test_batch_scalars(tmp_path):
    _, acc = fit(tmp_path, update_freq="batch")
    events = acc.Scalars("batch_loss")
    assert len(events) == 3 * 4 and [e.step for e in events][:2] == [16, 32]


def test_bad_update_freq():
    with pytest.raises(ValueError, match="update_freq"):
        TensorBoard(update_freq="hourly")
