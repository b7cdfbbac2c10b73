"""tinygan: a framework-free deep-learning engine for GANs (NumPy autograd, Numba/CUDA kernels, Keras-2 front)."""
from . import kernels  # noqa: I001  first: its thread defaults must be set before NumPy loads OpenBLAS
from . import backend, host_memory, ops
from .autograd import Function, InPlaceModificationError, OpError, Tensor, as_tensor, grad, no_grad, ones, tensor, zeros
from .backend import get_device, set_default_dtype, set_device
from .gradcheck import GradcheckError, gradcheck

__version__ = "0.1.0"
__all__ = ["Function", "GradcheckError", "InPlaceModificationError", "OpError", "Tensor", "as_tensor", "backend", "get_device", "grad", "gradcheck", "no_grad", "ones", "ops",
           "set_default_dtype", "set_device", "tensor", "zeros"]
