"""Autograd, layer 2: ``Tensor`` (with its version counter), ``Function``, the graph walk (``backward``, ``grad``)
and ``no_grad``.

It imports only ``tinygan.backend`` below it (the Tensor operators such as ``a + b`` reach ``tinygan.ops`` at call
time, not at import); ``tinygan.ops``, ``tinygan.keras``, ``tinygan.distributed``, ``tinygan.gradient_check``,
the applications and the tests import it. It never imports kernels, keras or anything above.
"""
from .tensor import (Function, InPlaceModificationError, OpError, Tensor, as_tensor, grad, is_grad_enabled,
                     no_grad, ones, set_grad_enabled, tensor, zeros)

__all__ = ["Function", "InPlaceModificationError", "OpError", "Tensor", "as_tensor", "grad", "is_grad_enabled",
           "no_grad", "ones", "set_grad_enabled", "tensor", "zeros"]
