"""InputLayer and Input(): the source of every symbolic graph."""
import numpy

from .base_layer import KerasTensor, Layer, Node, get_uid


class InputLayer(Layer):
    """Holds one placeholder; its node 0 has no inbound layers and outputs the ``KerasTensor``."""

    def __init__(self, input_shape=None, batch_size=None, batch_input_shape=None, dtype=None, name=None,
                 sparse=False):
        if not name:
            name = f"input_{get_uid('input')}"
        if batch_input_shape is None:
            if input_shape is None:
                raise ValueError("An Input layer needs `shape` (without the batch size) or `batch_shape`")
            batch_input_shape = (batch_size,) + tuple(input_shape)
        super().__init__(name=name, dtype=dtype)
        self.batch_input_shape = tuple(None if d is None else int(d) for d in batch_input_shape)
        self.trainable = False
        self.built = True
        tensor = KerasTensor(self.batch_input_shape, self.dtype, (self, 0, 0), name)
        Node(self, [], [], [], [tensor], [tensor])

    def get_config(self):
        return {"batch_input_shape": list(self.batch_input_shape), "dtype": self.dtype, "name": self.name}


def Input(shape=None, batch_shape=None, name=None, dtype=None, sparse=False, tensor=None):
    """A symbolic input, e.g. ``Input(shape=(28, 28, 1))`` gives shape ``(None, 28, 28, 1)``."""
    if shape is None and batch_shape is None:
        raise ValueError("Please provide to Input either a `shape` or a `batch_shape` argument. Note that "
                         "`shape` does not include the batch dimension.")
    if shape is not None and not isinstance(shape, (tuple, list)):
        shape = (shape,) if isinstance(shape, (int, numpy.integer)) else tuple(shape)
    layer = InputLayer(input_shape=shape, batch_input_shape=batch_shape, name=name, dtype=dtype)
    return layer._inbound_nodes[0].output_tensors[0]
