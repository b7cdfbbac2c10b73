"""The global random stream every random op and initializer draws from.

One ``numpy.random.Generator`` on the CPU; on CUDA a ``cupy.random`` generator seeded from it.
``seed(n)`` also seeds NumPy's legacy global RNG, because the book's training loops draw batch
indices with ``numpy.random.randint``; ``get_state`` / ``set_state`` cover both streams so a
training checkpoint resumes exactly where it left off.
"""
import numpy

from . import backend

_rng = numpy.random.default_rng()
_cuda = {"rng": None}


def seed(n=None):
    """Reseed the engine's generator and NumPy's legacy global RNG (``None``: fresh OS entropy)."""
    _rng.bit_generator.state = numpy.random.PCG64(n).state
    numpy.random.seed(None if n is None else n % 2**32)
    _cuda["rng"] = None


def generator():
    """The generator to draw from: NumPy's on the CPU, CuPy's (seeded from the CPU stream) on CUDA."""
    if backend.get_device() == "cuda":
        if _cuda["rng"] is None:
            import cupy
            _cuda["rng"] = cupy.random.default_rng(int(_rng.integers(2**63)))
        return _cuda["rng"]
    return _rng


def get_state():
    """A picklable snapshot of the CPU generator and of NumPy's legacy global RNG.

    The CUDA generator's state lives on the GPU and is not captured; after ``set_state`` it is
    re-derived from the restored CPU stream, so CUDA runs are reproducible but not bit-identical to
    an uninterrupted run.
    """
    return {"generator": _rng.bit_generator.state, "legacy": numpy.random.get_state()}


def set_state(state):
    """Restore a snapshot made by ``get_state`` (the draws that followed it repeat exactly)."""
    try:
        gen, legacy = state["generator"], state["legacy"]
    except (TypeError, KeyError):
        raise ValueError("set_state needs the dict returned by tinygan.random.get_state() "
                         "(keys 'generator' and 'legacy')") from None
    _rng.bit_generator.state = gen
    numpy.random.set_state(legacy)
    _cuda["rng"] = None
