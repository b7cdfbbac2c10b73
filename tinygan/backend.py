"""Backend: the one place that decides the array module (NumPy or CuPy), the device and the default dtype.

Everything above this layer asks ``xp()`` for the array module instead of importing numpy/cupy
behaviour directly, so the same op code runs on CPU and GPU (the Chainer approach).
"""
import contextlib
import os

import numpy

_state = {"device": "cpu", "xp": numpy, "dtype": numpy.dtype(numpy.float32)}


class DeviceError(RuntimeError):
    """A device was asked for that this machine cannot provide."""


def xp():
    """The array module of the current device (``numpy`` on CPU, ``cupy`` on CUDA)."""
    return _state["xp"]


def get_device():
    return _state["device"]


def set_device(name):
    """Select ``'cpu'`` or ``'cuda'`` (``'gpu'`` is an alias). Arrays made afterwards live there."""
    name = {"gpu": "cuda"}.get(str(name).lower(), str(name).lower())
    if name == "cpu":
        _state.update(device="cpu", xp=numpy)
        return
    if name != "cuda":
        raise DeviceError(f"unknown device {name!r}: use 'cpu' or 'cuda'")
    try:
        import cupy
    except ImportError as exc:
        raise DeviceError(
            "device 'cuda' needs CuPy, which is not installed: install the extra that matches your "
            "CUDA driver, e.g. `pip install tinygan[cuda12]` (or [cuda13]), or use device 'cpu'"
        ) from exc
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CuPy raises its own CUDARuntimeError subclasses
        raise DeviceError(f"device 'cuda' asked for but no usable GPU was found ({exc}); use device 'cpu'") from exc
    if count < 1:
        raise DeviceError("device 'cuda' asked for but no GPU is visible; use device 'cpu'")
    _state.update(device="cuda", xp=cupy)


def get_default_dtype():
    return _state["dtype"]


def set_default_dtype(dtype):
    """float32 is the default; float64 is what gradient checks use."""
    dtype = numpy.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"default dtype must be a float type, got {dtype}")
    _state["dtype"] = dtype


@contextlib.contextmanager
def default_dtype(dtype):
    """Temporarily change the default float dtype (``with default_dtype('float64'): ...``)."""
    old = _state["dtype"]
    set_default_dtype(dtype)
    try:
        yield
    finally:
        _state["dtype"] = old


def asarray(data, dtype=None):
    """Put ``data`` on the current device; Python/NumPy floats get the default dtype."""
    mod = _state["xp"]
    if dtype is not None:
        return mod.asarray(data, dtype=dtype)
    arr = mod.asarray(data)
    # Float arrays of any precision, and plain Python numbers/lists, take the default float dtype;
    # integer and boolean arrays (labels, masks) keep theirs.
    to_default = arr.dtype.kind == "f" or (arr.dtype.kind in "biu" and not hasattr(data, "dtype"))
    return arr.astype(_state["dtype"], copy=False) if to_default else arr


def to_numpy(arr):
    """A NumPy copy of an array from any device (no copy for NumPy arrays)."""
    if isinstance(arr, numpy.ndarray):
        return arr
    get = getattr(arr, "get", None)
    return get() if get is not None else numpy.asarray(arr)


def check_numerics_enabled():
    """TINYGAN_CHECK_NUMERICS=1 makes every op check its output for NaN/Inf (slow; for debugging)."""
    return _state.get("check_numerics", False)


def set_check_numerics(flag):
    _state["check_numerics"] = bool(flag)


if os.environ.get("TINYGAN_DEVICE"):
    set_device(os.environ["TINYGAN_DEVICE"])
if os.environ.get("TINYGAN_CHECK_NUMERICS", "") not in ("", "0"):
    set_check_numerics(True)
