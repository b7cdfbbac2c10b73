"""The global RNG: seeding, and checkpointable state covering the Generator, NumPy's legacy RNG and, on the GPU,
CuPy's generator (tested with a stand-in ``cupy`` module: CuPy is not installed where the tests run)."""
import pickle
import sys
import types

import numpy as np
import pytest

import tinygan as tg
from tinygan import backend
from tinygan import random as tg_random
from tinygan.ops.random import dropout
from tinygan.training.checkpoint import load_checkpoint, save_checkpoint


def _draws():
    return tg_random.generator().standard_normal(5), np.random.randint(0, 1000, size=5)


def test_state_round_trip_repeats_both_streams_through_pickle():
    tg_random.seed(123)
    _draws()
    state = pickle.loads(pickle.dumps(tg_random.get_state()))
    first = _draws()
    _draws()
    tg_random.set_state(state)
    again = _draws()
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])


def test_seed_makes_draws_repeatable_and_seeds_differ():
    tg_random.seed(7)
    a = _draws()
    tg_random.seed(7)
    b = _draws()
    tg_random.seed(8)
    c = _draws()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0]) and not np.array_equal(a[1], c[1])


def test_generator_is_one_object_reseeded_in_place():
    gen = tg_random.generator()
    tg_random.seed(1)
    x = gen.random(3)
    tg_random.seed(1)
    assert tg_random.generator() is gen
    np.testing.assert_array_equal(gen.random(3), x)


def test_set_state_rejects_foreign_objects():
    with pytest.raises(ValueError, match="get_state"):
        tg_random.set_state((1, 2))


# ---- the CuPy generator's state ----------------------------------------------------------------------------

class _FakeDeviceArray:
    """The part of a CuPy array tinygan.random uses on the generator's state buffer: shape, size, get(), set()."""

    def __init__(self, host):
        self.host = host
        self.shape, self.size = host.shape, host.size

    def get(self):
        return self.host.copy()

    def set(self, arr):
        assert arr.shape == self.shape and arr.dtype == self.host.dtype
        self.host[...] = arr


class _FakeCupyGenerator:
    """cupy.random.default_rng(seed): a byte-array state that every draw reads and advances, like cuRAND's."""

    state_bytes = 48

    def __init__(self, seed):
        host = np.random.default_rng(seed).integers(-128, 128, self.state_bytes, dtype=np.int8)
        self.bit_generator = types.SimpleNamespace(_state=_FakeDeviceArray(host))

    def random(self, size):
        state = self.bit_generator._state.host
        rng = np.random.default_rng(state.view(np.uint8))
        out = rng.random(size)
        state[...] = rng.integers(-128, 128, state.shape, dtype=np.int8)
        return out


@pytest.fixture
def fake_gpu(monkeypatch):
    """Device 'cuda' with a stand-in cupy.random; arrays stay NumPy (only the generator is CuPy's)."""
    before = tg_random.get_state()
    monkeypatch.setitem(sys.modules, "cupy", types.SimpleNamespace(random=types.SimpleNamespace(
        default_rng=_FakeCupyGenerator)))
    monkeypatch.setattr(backend, "get_device", lambda: "cuda")
    monkeypatch.setattr(_FakeCupyGenerator, "state_bytes", 48)
    yield
    tg_random.set_state(before)  # also drops the stand-in generator


def _masks(n=3):
    x = tg.Tensor(np.ones((4, 6), np.float32))
    return [dropout(x, 0.5).numpy() for _ in range(n)]


def test_gpu_dropout_masks_repeat_after_a_checkpoint_round_trip(fake_gpu, tmp_path):
    tg_random.seed(5)
    _masks()
    state = tg_random.get_state()
    assert state["cuda"].dtype == np.int8 and state["cuda"].shape == (48,)
    save_checkpoint(tmp_path / "ck.npz", {}, step=1)
    want, want_cpu = _masks(), (tg_random._rng.random(3), np.random.randint(0, 1000, 3))
    tg_random.seed(99)
    _masks()
    load_checkpoint(tmp_path / "ck.npz", {})
    assert tg_random.get_state()["cuda"].tobytes() == state["cuda"].tobytes()  # restored, not yet used
    for a, b in zip(_masks(), want):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(tg_random._rng.random(3), want_cpu[0])  # no CPU draw to rebuild the generator
    np.testing.assert_array_equal(np.random.randint(0, 1000, 3), want_cpu[1])


def test_state_without_a_cuda_entry_reseeds_the_gpu_generator_from_the_cpu_stream(fake_gpu):
    """Before the first GPU draw there is no CuPy state to save (the uninterrupted run would seed it from the
    CPU stream too); an older checkpoint has none either: both restore and repeat from the CPU stream."""
    tg_random.seed(5)
    state = tg_random.get_state()
    assert set(state) == {"generator", "legacy"}
    first = _masks()
    _masks()
    tg_random.set_state(state)
    for a, b in zip(_masks(), first):
        np.testing.assert_array_equal(a, b)
    old_format = {k: v for k, v in tg_random.get_state().items() if k != "cuda"}
    tg_random.set_state(old_format)
    again = _masks()
    tg_random.set_state(old_format)
    for a, b in zip(_masks(), again):
        np.testing.assert_array_equal(a, b)


def test_cuda_state_of_another_size_warns_and_reseeds(fake_gpu, monkeypatch):
    tg_random.seed(5)
    _masks(1)
    state = tg_random.get_state()
    monkeypatch.setattr(_FakeCupyGenerator, "state_bytes", 64)
    tg_random.set_state(state)
    with pytest.warns(RuntimeWarning, match="48 bytes but this CuPy/GPU's has 64"):
        _masks(1)
    assert tg_random.get_state()["cuda"].shape == (64,)


def test_without_cupy_the_state_is_cpu_only_and_a_gpu_state_still_restores_the_cpu_streams(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` raises ImportError
    tg_random.seed(3)
    state = tg_random.get_state()
    assert set(state) == {"generator", "legacy"}
    first = _draws()
    tg_random.set_state(dict(state, cuda=np.zeros(48, np.int8)))  # a GPU run's checkpoint, resumed on a CPU
    again = _draws()
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    tg_random.seed(3)
    assert set(tg_random.get_state()) == {"generator", "legacy"}  # seed() drops the saved GPU state
