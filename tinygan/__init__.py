"""tinygan: a framework-free deep-learning engine for GANs (NumPy autograd, Numba/CUDA kernels, Keras-2 front).

Importing the package loads nothing heavy and changes nothing in the process (no environment variables, no
malloc settings): the names below are imported on first use, so ``tinygan.configure_cpu()`` can still run
before NumPy loads. Submodules (``tinygan.ops``, ``tinygan.random``, ...) are reachable as attributes too.
"""
import importlib

from .cpu_defaults import configure_cpu

__version__ = "0.1.0"

_FROM = {"autograd": ("Function", "InPlaceModificationError", "OpError", "Tensor", "as_tensor", "grad", "no_grad",
                      "ones", "tensor", "zeros"),
         "backend": ("get_device", "set_default_dtype", "set_device"),
         "errors": ("UserInputError",),
         "gradient_check": ("GradcheckError", "gradcheck")}
_WHERE = {name: module for module, names in _FROM.items() for name in names}

__all__ = sorted([*_WHERE, "backend", "configure_cpu", "ops"])


def __getattr__(name):
    """Import an exported name, or a submodule, on first use (PEP 562) and keep it."""
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    else:
        try:
            value = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value
    return value
