"""MaxPooling2D, channels last (Keras 2.2 ``keras.layers.pooling``)."""
from ... import ops
from ..engine.base_layer import Layer
from .convolutional import _conv_length, _pair


class MaxPooling2D(Layer):
    """Window maximum; strides default to ``pool_size``; 'valid' floors (61 -> 30)."""

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise NotImplementedError("MaxPooling2D: only data_format='channels_last' is supported")
        self.pool_size = _pair("pool_size", pool_size)
        self.strides = self.pool_size if strides is None else _pair("strides", strides)
        self.padding = padding.lower()
        self.input_spec = {"ndim": 4}

    def call(self, inputs, training=False):
        return ops.max_pool2d(inputs, self.pool_size, self.strides, self.padding)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        return (n, _conv_length(h, ph, sh, self.padding), _conv_length(w, pw, sw, self.padding), c)

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding}


MaxPool2D = MaxPooling2D

__all__ = ["MaxPool2D", "MaxPooling2D"]
