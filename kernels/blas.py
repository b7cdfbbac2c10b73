"""The OpenBLAS under NumPy: which kernel set it runs, and how many threads it uses.

Every convolution ends in NumPy's float32 GEMM, so these two settings decide most of a train step's
time. OpenBLAS built with DYNAMIC_ARCH picks its kernel set from the CPU at load time unless
``OPENBLAS_CORETYPE`` pins one; tinygan never overrides that choice, it only reports it (the benches
print it, since a pinned AVX2 set on an AVX-512 CPU halves the GEMM rate).
"""
import ctypes

_PREFIXES = ("scipy_openblas_", "openblas_")
_SUFFIXES = ("64_", "")


def openblas_libs():
    """Every OpenBLAS loaded in this process (NumPy's, and SciPy's once it is imported), as ctypes libraries."""
    try:
        with open("/proc/self/maps") as fh:
            paths = {line.split()[-1] for line in fh if "openblas" in line.lower() and line.split()[-1].startswith("/")}
    except OSError:
        return []
    libs = []
    for path in sorted(paths):
        try:
            libs.append(ctypes.CDLL(path))
        except OSError:
            continue
    return libs


def numpy_openblas():
    """The OpenBLAS that NumPy's matmul calls (the first loaded one: NumPy loads it before SciPy can), or None."""
    libs = openblas_libs()
    return libs[0] if libs else None


def blas_fn(lib, name):
    """OpenBLAS's exported ``name`` under whichever prefix/suffix this build uses (scipy-openblas renames them)."""
    for prefix in _PREFIXES:
        for suffix in _SUFFIXES:
            fn = getattr(lib, f"{prefix}{name}{suffix}", None)
            if fn is not None:
                return fn
    return None


def corename(lib):
    """The kernel set ``lib`` runs ("Haswell", "SkylakeX", ...), or None if it does not say."""
    fn = blas_fn(lib, "get_corename")
    if fn is None:
        return None
    fn.restype = ctypes.c_char_p
    return fn().decode()


def set_threads(lib, n):
    """Threads for ``lib``'s GEMMs; returns the count it now reports (None if it has no setter)."""
    setter, getter = blas_fn(lib, "set_num_threads"), blas_fn(lib, "get_num_threads")
    if setter is not None:
        setter(ctypes.c_int(max(1, int(n))))
    if getter is None:
        return None
    getter.restype = ctypes.c_int
    return int(getter())
