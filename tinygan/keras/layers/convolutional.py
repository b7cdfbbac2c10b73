"""Conv2D, Conv2DTranspose and UpSampling2D, channels last (Keras 2.2 ``keras.layers.convolutional``).

Kernel layouts are Keras': ``(kh, kw, in, out)`` for Conv2D and ``(kh, kw, out, in)`` for
Conv2DTranspose. 'same' padding follows TensorFlow (an odd extra pixel goes bottom/right).
"""
from ... import ops
from .. import activations, constraints, initializers
from ..engine.base_layer import Layer
from ..engine.config import resolve, serialize_object
from .core import _no_regularizers


def _pair(name, value):
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and v > 0 for v in pair):
        raise ValueError(f"{name} must be a positive int or a pair of them, got {value!r}")
    return pair


def _conv_length(n, k, s, padding):
    if n is None:
        return None
    return (n + s - 1) // s if padding == "same" else (n - k) // s + 1


def _deconv_length(n, k, s, padding):
    if n is None:
        return None
    return n * s if padding == "same" else n * s + max(k - s, 0)


class _Conv(Layer):
    """What Conv2D and Conv2DTranspose share: arguments, weights, bias and activation."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        _no_regularizers(self, kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer)
        if data_format not in (None, "channels_last"):
            raise NotImplementedError(f"{type(self).__name__}: only data_format='channels_last' (NHWC) is supported")
        if _pair("dilation_rate", dilation_rate) != (1, 1):
            raise NotImplementedError(f"{type(self).__name__}: dilation_rate other than 1 is not supported")
        padding = padding.lower()
        if padding not in ("valid", "same"):
            raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
        self.filters = int(filters)
        self.kernel_size = _pair("kernel_size", kernel_size)
        self.strides = _pair("strides", strides)
        self.padding = padding
        self.activation = resolve(activations, activation)
        self.use_bias = use_bias
        self.kernel_initializer = resolve(initializers, kernel_initializer)
        self.bias_initializer = resolve(initializers, bias_initializer)
        self.kernel_constraint = resolve(constraints, kernel_constraint)
        self.bias_constraint = resolve(constraints, bias_constraint)
        self.input_spec = {"ndim": 4}

    def _kernel_shape(self, channels):
        raise NotImplementedError

    def conv(self, inputs, leaky_alpha=None):
        raise NotImplementedError

    def call(self, inputs, training=False):
        return self.activation(self.conv(inputs))

    def fused_leaky_relu(self, inputs, alpha, training, run):
        """LeakyReLU(alpha)(self(inputs)) in one op, or None where this layer cannot fuse it (an activation of
        its own)."""
        if self.activation is not activations.linear:
            return None
        return self.conv(inputs, leaky_alpha=alpha)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"{self.name}: the channel dimension of the inputs should be defined. Found `None`.")
        self.kernel = self.add_weight("kernel", self._kernel_shape(channels), self.kernel_initializer,
                                      constraint=self.kernel_constraint)
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.input_spec = {"ndim": 4, "axes": {-1: channels}}
        self.built = True

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": serialize_object(self.kernel_initializer),
                "bias_initializer": serialize_object(self.bias_initializer),
                "kernel_constraint": serialize_object(self.kernel_constraint),
                "bias_constraint": serialize_object(self.bias_constraint)}


class Conv2D(_Conv):
    def _kernel_shape(self, channels):
        return self.kernel_size + (channels, self.filters)

    def conv(self, inputs, leaky_alpha=None):
        """The convolution alone (``leaky_alpha``: with a LeakyReLU fused in, see Network's fusion)."""
        return ops.conv2d(inputs, self.kernel, self.bias, self.strides, self.padding, leaky_alpha=leaky_alpha)

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        return (n, _conv_length(h, kh, sh, self.padding), _conv_length(w, kw, sw, self.padding), self.filters)


class Conv2DTranspose(_Conv):
    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None, **kwargs):
        if output_padding is not None:
            raise NotImplementedError("Conv2DTranspose: output_padding is not supported")
        super().__init__(filters, kernel_size, strides, padding, **kwargs)

    def _kernel_shape(self, channels):
        return self.kernel_size + (self.filters, channels)

    def conv(self, inputs, leaky_alpha=None):
        """The transposed convolution alone (``leaky_alpha``: with a LeakyReLU fused in)."""
        return ops.conv_transpose2d(inputs, self.kernel, self.bias, self.strides, self.padding,
                                    leaky_alpha=leaky_alpha)

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        return (n, _deconv_length(h, kh, sh, self.padding), _deconv_length(w, kw, sw, self.padding), self.filters)


class UpSampling2D(Layer):
    """Repeat rows and columns ``size`` times ('nearest') or resize like TF1 bilinear."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise NotImplementedError("UpSampling2D: only data_format='channels_last' is supported")
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"interpolation should be one of 'nearest' or 'bilinear', got {interpolation!r}")
        self.size = _pair("size", size)
        self.interpolation = interpolation
        self.input_spec = {"ndim": 4}

    def call(self, inputs, training=False):
        op = ops.upsample_nearest if self.interpolation == "nearest" else ops.upsample_bilinear
        return op(inputs, self.size)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, None if h is None else h * self.size[0], None if w is None else w * self.size[1], c)

    def get_config(self):
        return {**super().get_config(), "size": list(self.size), "interpolation": self.interpolation}


Convolution2D = Conv2D
Deconvolution2D = Deconv2D = Conv2DTranspose

__all__ = ["Conv2D", "Conv2DTranspose", "Convolution2D", "Deconv2D", "Deconvolution2D", "UpSampling2D"]
