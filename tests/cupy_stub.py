"""A stand-in for CuPy on machines without a GPU: NumPy underneath, CuPy's rules on top, transfers counted.

What it checks that the Numba CUDA simulator cannot: which arrays cross between host and device. Device arrays
are :class:`DeviceArray` objects, which are *not* NumPy arrays (as CuPy's are not), and the stub behaves like CuPy
where it matters for that:

* mixing a NumPy array into device arithmetic raises ``TypeError``, and so does ``numpy.asarray(device_array)``
  (CuPy refuses implicit conversion);
* a reduction gives a 0-d device array, so ``float()``, ``bool()``, ``int()`` and ``.item()`` on it are
  device-to-host synchronisations, counted in :data:`transfers` as ``'d2h'``, as is ``.get()``;
* ``asarray``/``array`` of host data and a host array assigned into a device array are counted as ``'h2d'``;
* ``.data`` is a memory pointer, not the array (code that reads ``x.data`` from a raw CuPy array breaks here too).

Everything else (``cupy.zeros``, ``cupy.matmul``, methods, operators, NumPy functions through
``__array_function__``) runs NumPy on the wrapped arrays and wraps the results. Kernels are not covered: use the
stub with ``kernels.dispatch.use('reference')``, since the CUDA kernels need a real GPU or the simulator.
"""
import operator
import sys
import types

import numpy as np

transfers = []  # (direction, nbytes, what)


def reset():
    transfers.clear()


class MemoryPointer:
    """What ``cupy.ndarray.data`` is: a pointer to device memory, not an array."""

    def __init__(self, nbytes, ptr=0):
        self.size, self.ptr = nbytes, ptr


def _refuse_host(what, values):
    for v in values:
        if isinstance(v, np.ndarray) and v.ndim > 0:
            raise TypeError(f"cupy stub: {what} got a NumPy array of shape {v.shape} among device arrays "
                            "(CuPy: 'Unsupported type <class numpy.ndarray>'); move it with cupy.asarray first")
        if isinstance(v, (list, tuple)):
            _refuse_host(what, v)


def _unwrap(v):
    if isinstance(v, DeviceArray):
        return v.a
    if isinstance(v, (list, tuple)):
        return type(v)(_unwrap(x) for x in v)
    if isinstance(v, dict):
        return {k: _unwrap(x) for k, x in v.items()}
    return v


def _wrap(v):
    if isinstance(v, np.ndarray):
        return DeviceArray(v)
    if isinstance(v, np.generic) and not isinstance(v, (np.str_, np.bytes_)):
        return DeviceArray(np.asarray(v))  # CuPy reductions give 0-d device arrays, not host scalars
    if isinstance(v, tuple):
        return tuple(_wrap(x) for x in v)
    if isinstance(v, list):
        return [_wrap(x) for x in v]
    return v


def _call(what, fn, args, kwargs):
    _refuse_host(what, list(args) + list(kwargs.values()))
    return _wrap(fn(*_unwrap(args), **_unwrap(kwargs)))


class DeviceArray:
    """A device array: a NumPy array that only device operations may touch."""
    __slots__ = ("a",)
    __array_priority__ = 100

    def __init__(self, a):
        self.a = a

    # -- transfers and implicit conversions
    def get(self):
        transfers.append(("d2h", self.a.nbytes, f"get {self.a.shape}"))
        return self.a.copy()

    def set(self, host):
        transfers.append(("h2d", np.asarray(host).nbytes, f"set {np.shape(host)}"))
        self.a[...] = host

    def _sync(self, kind):
        transfers.append(("d2h", self.a.nbytes, f"{kind} {self.a.shape}"))

    def __float__(self):
        self._sync("float")
        return float(self.a)

    def __int__(self):
        self._sync("int")
        return int(self.a)

    def __index__(self):
        self._sync("index")
        return operator.index(self.a)

    def __bool__(self):
        self._sync("bool")
        return bool(self.a)

    def item(self):
        self._sync("item")
        return self.a.item()

    def tolist(self):
        self._sync("tolist")
        return self.a.tolist()

    def __array__(self, *args, **kwargs):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct "
                        "a NumPy array explicitly. (cupy stub)")

    @property
    def data(self):
        return MemoryPointer(self.a.nbytes, self.a.__array_interface__["data"][0])

    @property
    def __cuda_array_interface__(self):
        return {"shape": self.a.shape, "typestr": self.a.dtype.str, "data": (0, False), "version": 3}

    # -- NumPy protocols: NumPy functions and ufuncs on device arrays stay on the device (CuPy implements both)
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.get("out")
        result = _call(f"numpy.{ufunc.__name__}", getattr(ufunc, method), inputs, kwargs)
        return out[0] if out and len(out) == 1 else result

    def __array_function__(self, func, types_, args, kwargs):
        return _call(f"numpy.{func.__name__}", func, args, kwargs)

    # -- indexing
    def __getitem__(self, key):
        _refuse_host("indexing", [key])
        return _wrap(self.a[_unwrap(key)])

    def __setitem__(self, key, value):
        if isinstance(value, np.ndarray) and value.ndim > 0:
            transfers.append(("h2d", value.nbytes, f"setitem {value.shape}"))
        _refuse_host("indexing", [key])
        self.a[_unwrap(key)] = _unwrap(value)

    def __len__(self):
        return len(self.a)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __repr__(self):
        return f"DeviceArray({self.a!r})"

    # -- everything else: the NumPy array's attributes and methods, results wrapped
    def __getattr__(self, name):
        if name.startswith("__"):  # __array_interface__ & co. would hand NumPy the host array behind our back
            raise AttributeError(name)
        attr = getattr(self.a, name)
        if callable(attr):
            return lambda *args, **kwargs: _call(f"ndarray.{name}", attr, args, kwargs)
        return _wrap(attr) if isinstance(attr, np.ndarray) else attr


def _binary(name):
    fn = getattr(operator, name)

    def method(self, other):
        return _call(f"operator {name}", fn, (self, other), {})

    def reflected(self, other):
        return _call(f"operator {name}", fn, (other, self), {})

    def inplace(self, other):
        _refuse_host(f"operator i{name}", [other])
        getattr(operator, f"i{name}")(self.a, _unwrap(other))
        return self
    return method, reflected, inplace


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and_", "or_", "xor"):
    _m, _r, _i = _binary(_name)
    _dunder = _name.rstrip("_")
    setattr(DeviceArray, f"__{_dunder}__", _m)
    setattr(DeviceArray, f"__r{_dunder}__", _r)
    setattr(DeviceArray, f"__i{_dunder}__", _i)
for _name in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(DeviceArray, f"__{_name}__", _binary(_name)[0])
for _name in ("neg", "pos", "abs", "invert"):
    setattr(DeviceArray, f"__{_name}__", lambda self, _f=getattr(operator, _name): DeviceArray(_f(self.a)))


def asarray(data, dtype=None, order=None):
    if isinstance(data, DeviceArray):
        return data if dtype is None else data.astype(dtype, copy=False)
    host = np.asarray(data, dtype=dtype, order=order)
    transfers.append(("h2d", host.nbytes, f"asarray {host.shape}"))
    return DeviceArray(host.copy())


def array(data, dtype=None, copy=True, order="K", ndmin=0):
    if isinstance(data, DeviceArray):
        return DeviceArray(np.array(data.a, dtype=dtype, copy=copy, order=order, ndmin=ndmin))
    return DeviceArray(asarray(data, dtype).a.reshape((1,) * max(ndmin - np.ndim(data), 0) + np.shape(data)))


def ascontiguousarray(a, dtype=None):
    return DeviceArray(np.ascontiguousarray(asarray(a).a, dtype=dtype))


class _Generator:
    """``cupy.random.default_rng(seed)``: NumPy's generator, draws made on the device."""

    def __init__(self, seed):
        self.g = np.random.default_rng(seed)
        self.bit_generator = types.SimpleNamespace(_state=DeviceArray(np.zeros(48, np.int8)))

    def __getattr__(self, name):
        fn = getattr(self.g, name)
        return lambda *args, **kwargs: _call(f"cupy.random.Generator.{name}", fn, args, kwargs)


class _Module(types.ModuleType):
    """``cupy``: the functions above, everything else NumPy's with device arrays in and out."""

    def __getattr__(self, name):
        attr = getattr(np, name)
        if callable(attr) and not isinstance(attr, type):
            return lambda *args, **kwargs: _call(f"cupy.{name}", attr, args, kwargs)
        return attr


def module():
    """A fresh ``cupy`` stand-in module (put it in ``sys.modules['cupy']``)."""
    mod = _Module("cupy")
    mod.__file__ = __file__
    mod.ndarray = DeviceArray
    mod.asarray, mod.array, mod.ascontiguousarray = asarray, array, ascontiguousarray
    mod.get_array_module = lambda *arrays: mod if any(isinstance(a, DeviceArray) for a in arrays) else np
    mod.random = types.SimpleNamespace(default_rng=_Generator)
    mod.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 1))
    mod.__version__ = "stub"
    return mod


def install(monkeypatch):
    """Make ``import cupy`` give the stub for one test (pytest's monkeypatch undoes it)."""
    mod = module()
    monkeypatch.setitem(sys.modules, "cupy", mod)
    return mod
