"""Sequential: a linear stack of layers, built the way Keras 2.2 builds it.

When the first layer knows its input shape (``input_shape=``/``input_dim=``, or it is a model
whose first layer does), ``add`` creates an ``Input`` named ``<first layer>_input`` and calls each
added layer on the previous output, so the model is a graph network from the start. Models can be
added like layers (``Sequential([g_model, d_model])``). Without an input shape the layers wait
until the first batch of data (or the first symbolic call) fixes it, and so does ``compile``.
``model.layers`` leaves out the auto-created InputLayer, as in Keras.
"""
from .base_layer import Layer, to_list
from .input_layer import Input, InputLayer
from .network import Network
from .training import Model


class Sequential(Model):
    def __init__(self, layers=None, name=None):
        super().__init__(name=name)
        self._pending_compile = None
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self):
        if self._layers and isinstance(self._layers[0], InputLayer):
            return self._layers[1:]
        return list(self._layers)

    def add(self, layer):
        if not isinstance(layer, Layer):
            raise TypeError(f"The added layer must be an instance of class Layer. Found: {layer!r}")
        self.built = False
        if not self._layers:
            if isinstance(layer, InputLayer):
                self.inputs = self.outputs = [layer._inbound_nodes[0].output_tensors[0]]
            else:
                first = layer
                while isinstance(first, Network) and first.layers:
                    first = first.layers[0]
                if isinstance(layer, Network) and not layer.layers:
                    raise ValueError("Cannot add an empty model to a `Sequential` model.")
                shape = getattr(first, "batch_input_shape", None)
                if shape is not None:
                    x = Input(batch_shape=shape, dtype=first.dtype, name=layer.name + "_input")
                    self.inputs, self.outputs = [x], [self._single(layer, layer(x))]
        elif self.outputs:
            self.outputs = [self._single(layer, layer(self.outputs[0]))]
        if self.inputs:
            self._init_graph_network(self.inputs, self.outputs)
        else:
            self._layers.append(layer)

    @staticmethod
    def _single(layer, output):
        if isinstance(output, list):
            raise TypeError(f"All layers in a Sequential model should have a single output tensor; {layer.name} "
                            "has several. For multi-output layers, use the functional API.")
        return output

    def build(self, input_shape=None):
        """Fix the input shape of a model whose first layer did not give one."""
        if self.built:
            return
        if input_shape is None or not self._layers:
            raise ValueError(f"Sequential model {self.name} needs an input shape (and at least one layer) to build")
        x = Input(batch_shape=tuple(input_shape), name=self._layers[0].name + "_input")
        out = x
        for layer in self._layers:
            out = self._single(layer, layer(out))
        self._init_graph_network([x], [out])
        if self._pending_compile is not None:
            args, kwargs = self._pending_compile
            self._pending_compile = None
            super().compile(*args, **kwargs)

    def compile(self, *args, **kwargs):
        if not self.built:
            self._pending_compile = (args, kwargs)
            return
        super().compile(*args, **kwargs)

    def _ready(self, x):
        if not self.built and x is not None:
            first = to_list(x)[0]
            self.build((None,) + tuple(first.shape[1:]))

    def _ensure_built(self, shapes):
        if not self.built:
            self.build(shapes[0])

    def predict_proba(self, x, batch_size=32, verbose=0):
        return self.predict(x, batch_size=batch_size, verbose=verbose)

    def predict_classes(self, x, batch_size=32, verbose=0):
        """argmax over classes, or 0/1 by thresholding a single sigmoid output at 0.5 (int32)."""
        proba = self.predict(x, batch_size=batch_size, verbose=verbose)
        if proba.shape[-1] > 1:
            return proba.argmax(axis=-1)
        return (proba > 0.5).astype("int32")
