"""The global random stream every random op and initializer draws from.

One ``numpy.random.Generator`` on the CPU; on CUDA a ``cupy.random`` generator, made on the first GPU draw
with a seed taken from the CPU stream. ``seed(n)`` also seeds NumPy's legacy global RNG, because the book's
training loops draw batch indices with ``numpy.random.randint``; ``get_state`` / ``set_state`` cover all
three streams so a training checkpoint resumes exactly where it left off, on the GPU too.
"""
import warnings

import numpy

from . import backend

_rng = numpy.random.default_rng()
# "rng": the CuPy generator once made; "saved": a host copy of its device state from set_state, applied when
# the CuPy generator is next made (set_state needs no GPU, and a checkpoint may be loaded before set_device).
_cuda = {"rng": None, "saved": None}


def seed(n=None):
    """Reseed the engine's generator and NumPy's legacy global RNG (``None``: fresh OS entropy). Under
    ``mpiexec`` rank r > 0 gets a stream derived from (n, r) (``tinygan.distributed.rng``)."""
    from .distributed.rng import rank_seed
    n = rank_seed(n)
    _rng.bit_generator.state = numpy.random.PCG64(n).state
    numpy.random.seed(None if n is None else n % 2**32)
    _cuda.update(rng=None, saved=None)


def generator():
    """The generator to draw from: NumPy's on the CPU, CuPy's (seeded from the CPU stream) on CUDA."""
    if backend.get_device() == "cuda":
        if _cuda["rng"] is None:
            _cuda["rng"] = _new_cuda_generator(_cuda["saved"])
            _cuda["saved"] = None
        return _cuda["rng"]
    return _rng


def _device_state(gen):
    """The CuPy generator's whole state: its bit generator's cuRAND state buffer (an int8 device array; CuPy
    has no public getter). tinygan draws only ``random``/``standard_normal``-style values, which keep no other
    state on the Generator."""
    return gen.bit_generator._state


def _new_cuda_generator(saved):
    """A CuPy generator holding the saved device state, or (none saved, or one of another size: saved with
    another CuPy version or GPU) one seeded from the CPU stream."""
    import cupy
    if saved is not None:
        gen = cupy.random.default_rng(0)  # the seed is irrelevant: the state is overwritten
        state = _device_state(gen)
        if state.shape == saved.shape:
            state.set(saved)
            return gen
        warnings.warn(f"tinygan.random: the saved CuPy generator state has {saved.size} bytes but this CuPy/GPU's "
                      f"has {state.size} (saved with another CuPy version or GPU); GPU draws restart from a seed "
                      "taken from the restored CPU stream instead of repeating the saved run", RuntimeWarning,
                      stacklevel=3)
    return cupy.random.default_rng(int(_rng.integers(2**63)))


def device_state_address():
    """Where the CuPy generator's state is in device memory (None before the first GPU draw): a recorded CUDA
    graph draws from that address, so it must be recorded again when ``set_state`` or ``seed`` replaces it."""
    return None if _cuda["rng"] is None else _device_state(_cuda["rng"]).data.ptr


def get_state():
    """A picklable snapshot: the CPU generator, NumPy's legacy global RNG and, once a GPU draw has made the CuPy
    generator, its device state copied to the host (key ``'cuda'``, an int8 NumPy array)."""
    state = {"generator": _rng.bit_generator.state, "legacy": numpy.random.get_state()}
    cuda = _device_state(_cuda["rng"]).get() if _cuda["rng"] is not None else _cuda["saved"]
    if cuda is not None:
        state["cuda"] = cuda
    return state


def set_state(state):
    """Restore a snapshot made by ``get_state`` (the draws that followed it repeat exactly). A snapshot without
    ``'cuda'`` (taken before any GPU draw, or by an older tinygan) makes the next GPU draw seed CuPy's generator
    from the restored CPU stream."""
    try:
        gen, legacy = state["generator"], state["legacy"]
    except (TypeError, KeyError):
        raise ValueError("set_state needs the dict returned by tinygan.random.get_state() "
                         "(keys 'generator' and 'legacy')") from None
    _rng.bit_generator.state = gen
    numpy.random.set_state(legacy)
    cuda = state.get("cuda")
    _cuda.update(rng=None, saved=None if cuda is None else numpy.asarray(cuda, dtype=numpy.int8))
