"""The Keras engine: ``Layer``/``Node``/``KerasTensor``, ``Input``, ``Network``, ``Model`` (compile, fit,
train_on_batch, predict), ``Sequential``, saving (HDF5 and the Keras JSON config) and ``summary``.

Part of layer 4: it imports ``tinygan.ops``, ``tinygan.autograd``, ``tinygan.backend``/``random``,
``tinygan.distributed`` (gradient all-reduce in ``train_on_batch``) and the rest of ``tinygan.keras``; the
``tinygan.keras`` package, its layers and the applications above import it.
"""
from .base_layer import KerasTensor, Layer, Node
from .input_layer import Input, InputLayer
from .network import Network
from .sequential import Sequential
from .training import Model

__all__ = ["Input", "InputLayer", "KerasTensor", "Layer", "Model", "Network", "Node", "Sequential"]
