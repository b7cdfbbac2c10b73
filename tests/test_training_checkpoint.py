"""tinygan.training: checkpoints (round trip, atomic writes, errors), the run log, the zero-loss monitor, Ctrl-C."""
import os
import signal

import numpy as np
import pytest

from tinygan import random as tg_random
from tinygan.training import (CheckpointError, GracefulInterrupt, RunLog, ZeroLossMonitor, checkpoint_extra,
                              load_checkpoint, plot_losses, read_csv, save_checkpoint)
from tinygan.training.checkpoint import pack, unpack


class FakeOptimizer:
    def __init__(self, shapes):
        self.iterations = 0
        self.m = [np.zeros(s, np.float32) for s in shapes]

    def get_state(self):
        return {"iterations": np.asarray(self.iterations), **{f"m:{i}": a.copy() for i, a in enumerate(self.m)}}

    def set_state(self, state):
        self.iterations = int(state["iterations"])
        self.m = [np.array(state[f"m:{i}"]) for i in range(len(self.m))]


class FakeModel:
    """What a checkpoint needs from a model: get_weights/set_weights and .optimizer."""

    def __init__(self, shapes, rng):
        self.w = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        self.optimizer = FakeOptimizer(shapes)

    def get_weights(self):
        return [a.copy() for a in self.w]

    def set_weights(self, ws):
        self.w = [np.array(a, np.float32) for a in ws]

    def step(self):
        """A stand-in training step that uses both random streams."""
        noise = tg_random.generator().standard_normal(self.w[0].shape).astype(np.float32)
        ix = np.random.randint(0, 100)
        self.w[0] += 0.1 * noise + ix * 1e-3
        self.optimizer.iterations += 1
        self.optimizer.m[0] += noise
        return float(self.w[0].sum())


SHAPES = [(3, 4), (4,), (2, 2, 2)]


def test_pack_round_trip_keeps_types_and_big_ints():
    tree = {"a": 1, "b": 2.5, "c": float("inf"), "d": (1, "x", None, True), "e": [np.arange(3)],
            "big": 2 ** 100 + 7, "f": np.float32(0.1), "g": {"h": np.ones((2, 2), np.float32)}}
    doc, arrays = pack(tree)
    out = unpack(doc, arrays)
    assert out["a"] == 1 and out["b"] == 2.5 and out["c"] == float("inf")
    assert out["d"] == (1, "x", None, True) and isinstance(out["d"], tuple)
    assert out["big"] == 2 ** 100 + 7
    assert out["f"] == float(np.float32(0.1))
    np.testing.assert_array_equal(out["e"][0], np.arange(3))
    assert out["g"]["h"].dtype == np.float32


def test_checkpoint_restores_weights_optimizer_rng_and_continues_identically(tmp_path):
    path = tmp_path / "ck.npz"
    tg_random.seed(3)
    a = FakeModel(SHAPES, np.random.default_rng(0))
    for _ in range(3):
        a.step()
    save_checkpoint(path, {"a": a}, step=3, extra={"note": "hi", "hist": [1.0, 2.0]})
    straight = [a.step() for _ in range(4)]
    w_straight = a.get_weights()

    tg_random.seed(99)  # a different stream and different weights: all of it must come from the file
    b = FakeModel(SHAPES, np.random.default_rng(1))
    step, extra = load_checkpoint(path, {"a": b})
    assert step == 3 and extra == {"note": "hi", "hist": [1.0, 2.0]}
    assert b.optimizer.iterations == 3
    resumed = [b.step() for _ in range(4)]
    assert resumed == straight
    for x, y in zip(w_straight, b.get_weights()):
        np.testing.assert_array_equal(x, y)


def test_optimizer_only_models_store_no_weights(tmp_path):
    a = FakeModel(SHAPES, np.random.default_rng(0))
    comp = FakeModel(SHAPES, np.random.default_rng(1))
    comp.optimizer.iterations = 7
    path = save_checkpoint(tmp_path / "ck.npz", {"a": a, "comp": comp}, step=1, optimizer_only=("comp",))
    comp2 = FakeModel(SHAPES, np.random.default_rng(2))
    before = comp2.get_weights()
    load_checkpoint(path, {"a": FakeModel(SHAPES, np.random.default_rng(3)), "comp": comp2})
    assert comp2.optimizer.iterations == 7
    for x, y in zip(before, comp2.get_weights()):
        np.testing.assert_array_equal(x, y)
    assert checkpoint_extra(path) == (1, {})


def test_atomic_write_leaves_old_checkpoint_when_saving_fails(tmp_path):
    path = tmp_path / "ck.npz"
    a = FakeModel(SHAPES, np.random.default_rng(0))
    save_checkpoint(path, {"a": a}, step=1)

    class Bad:
        pass

    with pytest.raises(TypeError):
        save_checkpoint(path, {"a": a}, step=2, extra={"x": Bad()})
    assert checkpoint_extra(path)[0] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ck.npz"]  # no temp file left behind


def test_checkpoint_errors_are_clear(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.npz", {})
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "junk.npz", {})
    np.savez(tmp_path / "plain.npz", x=np.ones(2))
    with pytest.raises(CheckpointError, match="not a tinygan checkpoint"):
        load_checkpoint(tmp_path / "plain.npz", {})
    a = FakeModel(SHAPES, np.random.default_rng(0))
    path = save_checkpoint(tmp_path / "ck.npz", {"a": a}, step=1)
    with pytest.raises(CheckpointError, match="does not match"):
        load_checkpoint(path, {"a": FakeModel([(3, 5)], np.random.default_rng(0))})
    with pytest.raises(CheckpointError, match="no state for model"):
        load_checkpoint(path, {"other": a})


def test_runlog_resume_drops_rows_after_the_checkpoint(tmp_path):
    path = tmp_path / "log.csv"
    with RunLog(path, ["d", "g"]) as log:
        for s in range(1, 11):
            log.log(s, d=s * 0.5, g=None if s % 2 else s)
    rows = read_csv(path)
    assert len(rows) == 10 and rows[0]["g"] is None and rows[1]["g"] == 2.0
    with RunLog(path, ["d", "g"], resume_step=6) as log:
        log.log(7, d=100.0)
    rows = read_csv(path)
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5, 6, 7] and rows[-1]["d"] == 100.0
    png = plot_losses(str(path), str(tmp_path / "loss.png"), groups=[["d"], ["g"]])
    assert os.path.getsize(png) > 1000


def test_zero_loss_monitor_warns_once_per_stretch():
    m = ZeroLossMonitor(window=5, threshold=1e-3)
    msgs = [m.update(i, 0.0, 0.0001) for i in range(1, 11)]
    assert sum(x is not None for x in msgs) == 1 and msgs[4] is not None
    assert "re-starting" in msgs[4]
    assert m.update(11, 0.5, 0.0) is None  # recovered: re-armed
    msgs = [m.update(i, 0.0, 0.0) for i in range(12, 17)]
    assert msgs[-1] is not None


def test_graceful_interrupt_first_ctrl_c_sets_flag_second_raises():
    with GracefulInterrupt(message=None) as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.requested
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
