"""tinygan: a framework-free deep-learning engine for GANs (NumPy autograd, Numba/CUDA kernels, Keras-2 front).

Layers, each importing only the ones before it: ``backend``/``random``/``host_memory``, then ``autograd``, then
``kernels`` (the top-level ``kernels/`` folder) and ``ops``, then ``keras``, then ``gans``/``training``/``metrics``,
then the command line (``cli`` and the ``*_cli`` modules). See ARCHITECTURE.md.
"""
import importlib.util
import os
import sys


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
from . import kernels  # noqa: E402,I001  first: its thread defaults must be set before NumPy loads OpenBLAS
from . import backend, host_memory, ops
from .autograd import Function, OpError, Tensor, grad, no_grad, ones, tensor, zeros
from .backend import get_device, set_default_dtype, set_device
from .gradcheck import GradcheckError, gradcheck

__version__ = "0.1.0"
__all__ = ["Function", "GradcheckError", "OpError", "Tensor", "backend", "get_device", "grad", "gradcheck", "no_grad", "ones", "ops",
           "set_default_dtype", "set_device", "tensor", "zeros"]
