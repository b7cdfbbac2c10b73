"""MaxPooling2D, AveragePooling2D and the global poolings, channels last (Keras 2.2 ``keras.layers.pooling``)."""
from ... import ops
from ..engine.base_layer import Layer
from .convolutional import _conv_length, _pair


def _channels_last_only(layer, data_format):
    if data_format not in (None, "channels_last"):
        raise NotImplementedError(f"{layer}: only data_format='channels_last' is supported")


class _Pooling2D(Layer):
    """A window reduction; strides default to ``pool_size``; 'valid' floors (61 -> 30)."""

    pool_op = None

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        _channels_last_only(type(self).__name__, data_format)
        self.pool_size = _pair("pool_size", pool_size)
        self.strides = self.pool_size if strides is None else _pair("strides", strides)
        self.padding = padding.lower()
        self.input_spec = {"ndim": 4}

    def call(self, inputs, training=False):
        return type(self).pool_op(inputs, self.pool_size, self.strides, self.padding)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        return (n, _conv_length(h, ph, sh, self.padding), _conv_length(w, pw, sw, self.padding), c)

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding}


class MaxPooling2D(_Pooling2D):
    """Window maximum."""

    pool_op = staticmethod(ops.max_pool2d)


class AveragePooling2D(_Pooling2D):
    """Window mean; with padding='same' the border windows average only their real pixels (TensorFlow)."""

    pool_op = staticmethod(ops.avg_pool2d)


class _GlobalPooling2D(Layer):
    """(N, H, W, C) -> (N, C)."""

    reduce_op = None

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        _channels_last_only(type(self).__name__, data_format)
        self.input_spec = {"ndim": 4}

    def call(self, inputs, training=False):
        return type(self).reduce_op(inputs, axis=(1, 2))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[3])


class GlobalAveragePooling2D(_GlobalPooling2D):
    """Mean over height and width (Inception v3's ``avg_pool``, the FID features)."""

    reduce_op = staticmethod(ops.mean)


class GlobalMaxPooling2D(_GlobalPooling2D):
    """Maximum over height and width."""

    reduce_op = staticmethod(ops.max)


MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool2D = GlobalMaxPooling2D

__all__ = ["AvgPool2D", "AveragePooling2D", "GlobalAvgPool2D", "GlobalAveragePooling2D", "GlobalMaxPool2D",
           "GlobalMaxPooling2D", "MaxPool2D", "MaxPooling2D"]
