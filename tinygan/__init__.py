"""tinygan: a framework-free deep-learning engine for GANs (NumPy autograd, Numba/CUDA kernels, Keras-2 front).

Importing the package loads nothing heavy and changes nothing in the process (no environment variables, no
malloc settings): the names below are imported on first use, so ``tinygan.configure_cpu()`` can still run
before NumPy loads. Submodules (``tinygan.ops``, ``tinygan.random``, ...) are reachable as attributes too.

Layers, each importing only the ones before it: ``backend``/``random``/``host_memory``, then ``autograd``, then
``kernels`` (the top-level ``kernels/`` folder) and ``ops``, then ``keras``, then ``gans``/``training``/``metrics``,
then the command line (``cli`` and the ``*_cli`` modules). See ARCHITECTURE.md.
"""
import importlib
import importlib.util
import os
import sys

from .cpu_defaults import configure_cpu


def _source_checkout_kernels():
    """``tinygan.kernels`` is the top-level ``kernels/`` folder. An installed wheel holds it as ``tinygan/kernels/``
    and an editable install maps it (setup.py's ``package_dir``); in a source checkout (pytest, ``python -m tinygan``
    from the repository) it is loaded from ``../kernels`` here, under the same name."""
    here = os.path.dirname(os.path.abspath(__file__))
    top = os.path.join(os.path.dirname(here), "kernels")
    name = __name__ + ".kernels"
    if name in sys.modules or importlib.util.find_spec(name):
        return
    spec = importlib.util.spec_from_file_location(name, os.path.join(top, "__init__.py"),
                                                  submodule_search_locations=[top])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)


_source_checkout_kernels()

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
