"""The Keras 2.2 engine: layers and nodes, graph networks, training, saving, summaries."""
from .base_layer import KerasTensor, Layer, Node
from .input_layer import Input, InputLayer
from .network import Network
from .sequential import Sequential
from .training import Model

__all__ = ["Input", "InputLayer", "KerasTensor", "Layer", "Model", "Network", "Node", "Sequential"]
