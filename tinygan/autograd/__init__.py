"""Autograd: Tensor, Function and the graph walk."""
from .tensor import (Function, InPlaceModificationError, OpError, Tensor, as_tensor, grad, is_grad_enabled,
                     no_grad, ones, set_grad_enabled, tensor, zeros)

__all__ = ["Function", "InPlaceModificationError", "OpError", "Tensor", "as_tensor", "grad", "is_grad_enabled",
           "no_grad", "ones", "set_grad_enabled", "tensor", "zeros"]
