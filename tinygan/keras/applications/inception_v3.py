"""Inception v3, exactly as Keras 2.2.4 builds it (keras_applications 1.0.8, ``inception_v3.py``).

Same layers in the same order with the same auto names (``conv2d_1`` ... ``conv2d_94``,
``batch_normalization_1`` ..., ``mixed0`` ... ``mixed10``, ``avg_pool``, ``predictions``), so a Keras weights
file loads onto it layer by layer: 23,851,784 parameters with the top, 21,802,784 without.

``weights='imagenet'`` reads Keras's own files from ``~/.keras/models/`` (``$KERAS_HOME/models``), the cache a
Keras user already has, and downloads them (checked against Keras's md5) when they are missing and the network
is reachable; offline, :class:`WeightsUnavailableError` says which file to put where.
"""
import os
import warnings

import numpy

from ...errors import UserInputError  # a ValueError, as Keras raises
from .. import backend
from ..datasets import _download
from ..engine import Input, Model
from ..engine.base_layer import KerasTensor
from ..engine.input_layer import InputLayer
from ..layers import (Activation, AveragePooling2D, BatchNormalization, Conv2D, Dense, GlobalAveragePooling2D,
                      GlobalMaxPooling2D, MaxPooling2D, concatenate)

WEIGHTS_ORIGIN = "https://github.com/fchollet/deep-learning-models/releases/download/v0.5/"
WEIGHTS_FILES = {True: "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
                 False: "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"}
DEFAULT_SIZE, MIN_SIZE = 299, 75


class WeightsUnavailableError(OSError):
    """The ImageNet weights file is not in the Keras cache and could not be downloaded."""


def conv2d_bn(x, filters, num_row, num_col, padding="same", strides=(1, 1), name=None):
    """Conv2D (no bias) + BatchNormalization(scale=False) + ReLU, the unit every Inception branch is made of."""
    bn_name, conv_name = (None, None) if name is None else (name + "_bn", name + "_conv")
    x = Conv2D(filters, (num_row, num_col), strides=strides, padding=padding, use_bias=False, name=conv_name)(x)
    x = BatchNormalization(axis=3, scale=False, name=bn_name)(x)
    return Activation("relu", name=name)(x)


def _pool_branch(x, filters):
    return conv2d_bn(AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x), filters, 1, 1)


def _mixed_35(x, pool_filters, name):
    """mixed0-2 (35 x 35): 1x1, 1x1-5x5, 1x1-3x3-3x3 and avg-pool-1x1 branches."""
    branch1x1 = conv2d_bn(x, 64, 1, 1)
    branch5x5 = conv2d_bn(conv2d_bn(x, 48, 1, 1), 64, 5, 5)
    branch3x3dbl = conv2d_bn(conv2d_bn(conv2d_bn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3)
    branch_pool = _pool_branch(x, pool_filters)
    return concatenate([branch1x1, branch5x5, branch3x3dbl, branch_pool], axis=3, name=name)


def _mixed_17(x, width, name):
    """mixed4-7 (17 x 17): factorized 7x7 branches (1x7 then 7x1) of ``width`` channels."""
    branch1x1 = conv2d_bn(x, 192, 1, 1)
    branch7x7 = conv2d_bn(x, width, 1, 1)
    branch7x7 = conv2d_bn(branch7x7, width, 1, 7)
    branch7x7 = conv2d_bn(branch7x7, 192, 7, 1)
    branch7x7dbl = conv2d_bn(x, width, 1, 1)
    branch7x7dbl = conv2d_bn(branch7x7dbl, width, 7, 1)
    branch7x7dbl = conv2d_bn(branch7x7dbl, width, 1, 7)
    branch7x7dbl = conv2d_bn(branch7x7dbl, width, 7, 1)
    branch7x7dbl = conv2d_bn(branch7x7dbl, 192, 1, 7)
    branch_pool = _pool_branch(x, 192)
    return concatenate([branch1x1, branch7x7, branch7x7dbl, branch_pool], axis=3, name=name)


def _mixed_8(x, i):
    """mixed9/mixed10 (8 x 8 x 2048): expanded 1x3 / 3x1 branches."""
    branch1x1 = conv2d_bn(x, 320, 1, 1)
    branch3x3 = conv2d_bn(x, 384, 1, 1)
    branch3x3 = concatenate([conv2d_bn(branch3x3, 384, 1, 3), conv2d_bn(branch3x3, 384, 3, 1)], axis=3,
                            name="mixed9_" + str(i))
    branch3x3dbl = conv2d_bn(conv2d_bn(x, 448, 1, 1), 384, 3, 3)
    branch3x3dbl = concatenate([conv2d_bn(branch3x3dbl, 384, 1, 3), conv2d_bn(branch3x3dbl, 384, 3, 1)], axis=3)
    branch_pool = _pool_branch(x, 192)
    return concatenate([branch1x1, branch3x3, branch3x3dbl, branch_pool], axis=3, name="mixed" + str(9 + i))


def _backbone(img_input):
    x = conv2d_bn(img_input, 32, 3, 3, strides=(2, 2), padding="valid")
    x = conv2d_bn(x, 32, 3, 3, padding="valid")
    x = conv2d_bn(x, 64, 3, 3)
    x = MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = conv2d_bn(x, 80, 1, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, 3, padding="valid")
    x = MaxPooling2D((3, 3), strides=(2, 2))(x)
    for i, pool_filters in enumerate((32, 64, 64)):
        x = _mixed_35(x, pool_filters, "mixed" + str(i))
    # mixed 3: 17 x 17 x 768
    branch3x3 = conv2d_bn(x, 384, 3, 3, strides=(2, 2), padding="valid")
    branch3x3dbl = conv2d_bn(conv2d_bn(x, 64, 1, 1), 96, 3, 3)
    branch3x3dbl = conv2d_bn(branch3x3dbl, 96, 3, 3, strides=(2, 2), padding="valid")
    branch_pool = MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = concatenate([branch3x3, branch3x3dbl, branch_pool], axis=3, name="mixed3")
    for i, width in enumerate((128, 160, 160, 192)):
        x = _mixed_17(x, width, "mixed" + str(4 + i))
    # mixed 8: 8 x 8 x 1280
    branch3x3 = conv2d_bn(conv2d_bn(x, 192, 1, 1), 320, 3, 3, strides=(2, 2), padding="valid")
    branch7x7x3 = conv2d_bn(x, 192, 1, 1)
    branch7x7x3 = conv2d_bn(branch7x7x3, 192, 1, 7)
    branch7x7x3 = conv2d_bn(branch7x7x3, 192, 7, 1)
    branch7x7x3 = conv2d_bn(branch7x7x3, 192, 3, 3, strides=(2, 2), padding="valid")
    branch_pool = MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = concatenate([branch3x3, branch7x7x3, branch_pool], axis=3, name="mixed8")
    for i in range(2):
        x = _mixed_8(x, i)
    return x


def InceptionV3(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000):
    """The Inception v3 model of Keras 2.2.4, arguments and checks as there.

    ``include_top``: end with ``avg_pool`` (global average) and ``predictions`` (Dense softmax, ``classes``).
    ``weights``: None (random initialization), 'imagenet' or the path of a Keras weights file.
    ``input_shape``: (H, W, C), H and W at least 75; with the top and ImageNet weights it must be (299, 299, 3).
    ``pooling`` (without the top): None (the 4-D mixed10 output), 'avg' (2,048 features, the FID "pool3"
    features) or 'max'.
    """
    if not (weights in {"imagenet", None} or os.path.exists(weights)):
        raise UserInputError("The `weights` argument should be either `None` (random initialization), `imagenet` "
                         f"(pre-training on ImageNet), or the path to the weights file to be loaded; got {weights!r}, "
                         "which is not an existing file")
    if weights == "imagenet" and include_top and classes != 1000:
        raise UserInputError('If using `weights` as `"imagenet"` with `include_top` as true, `classes` should be 1000')
    input_shape = obtain_input_shape(input_shape, require_flatten=include_top, weights=weights)
    img_input = Input(shape=input_shape) if input_tensor is None else _keras_input(input_tensor)
    x = _backbone(img_input)
    if include_top:
        x = GlobalAveragePooling2D(name="avg_pool")(x)
        x = Dense(classes, activation="softmax", name="predictions")(x)
    elif pooling == "avg":
        x = GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = GlobalMaxPooling2D()(x)
    model = Model(img_input, x, name="inception_v3")
    if weights == "imagenet":
        model.load_weights(imagenet_weights_path(include_top))
    elif weights is not None:
        model.load_weights(weights)
    return model


def obtain_input_shape(input_shape, require_flatten, weights, default_size=DEFAULT_SIZE, min_size=MIN_SIZE):
    """keras_applications ``_obtain_input_shape`` for channels-last data."""
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        if input_shape[-1] not in {1, 3}:
            warnings.warn("This model usually expects 1 or 3 input channels. However, it was passed an input_shape "
                          f"with {input_shape[-1]} input channels.")
        default_shape = (default_size, default_size, input_shape[-1])
    else:
        default_shape = (default_size, default_size, 3)
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and tuple(input_shape) != default_shape:
            raise UserInputError(f"When setting `include_top=True` and loading `imagenet` weights, `input_shape` should "
                             f"be {default_shape}; got {tuple(input_shape)}")
        return default_shape
    if input_shape:
        if len(input_shape) != 3:
            raise UserInputError(f"`input_shape` must be a tuple of three integers (height, width, channels); "
                             f"got {input_shape}")
        if input_shape[-1] != 3 and weights == "imagenet":
            raise UserInputError(f"The input must have 3 channels; got `input_shape={tuple(input_shape)}`")
        if any(d is not None and d < min_size for d in input_shape[:2]):
            raise UserInputError(f"Input size must be at least {min_size}x{min_size}; got "
                             f"`input_shape={tuple(input_shape)}`; resize the images up first")
        input_shape = tuple(input_shape)
    else:
        input_shape = default_shape if require_flatten else (None, None, 3)
    if require_flatten and None in input_shape:
        raise UserInputError(f"If `include_top` is True, you should specify a static `input_shape`. "
                         f"Got `input_shape={input_shape}`")
    return input_shape


def _keras_input(tensor):
    """``input_tensor`` must be the output of ``Input()`` (the model's only source)."""
    history = getattr(tensor, "_keras_history", None)
    if not isinstance(tensor, KerasTensor) or not isinstance(history[0], InputLayer):
        raise UserInputError(f"InceptionV3: input_tensor must be the output of tinygan.keras.layers.Input(), got {tensor!r}")
    return tensor


def imagenet_weights_path(include_top=True):
    """The local path of Keras's ImageNet weights file, downloaded into the Keras cache if missing."""
    name = WEIGHTS_FILES[include_top]
    try:
        (path,) = _download.fetch([name], WEIGHTS_ORIGIN, directory=models_dir())
    except _download.DatasetUnavailableError as exc:
        raise WeightsUnavailableError(
            f"InceptionV3(weights='imagenet') needs {name} (md5 {_download.CHECKSUMS[name]}) in {models_dir()}, and "
            f"it could not be downloaded from {WEIGHTS_ORIGIN}{name} ({exc.__cause__}). Copy it there from a "
            "machine with Keras (it keeps the file in ~/.keras/models/), or use weights=None or weights=PATH") from None
    return path


def models_dir():
    """Keras's model cache: ``$KERAS_HOME/models``, else ``~/.keras/models``."""
    return os.path.join(_download.keras_home(), "models")


def preprocess_input(x, **kwargs):
    """Keras's 'tf' mode: pixels in [0, 255] -> [-1, 1] as ``x / 127.5 - 1``. Like Keras, a float array is
    scaled in place and returned; any other array becomes float32 first."""
    if not isinstance(x, numpy.ndarray):
        x = numpy.asarray(x)
    if not issubclass(x.dtype.type, numpy.floating):
        x = x.astype(backend.floatx(), copy=False)
    x /= 127.5
    x -= 1.0
    return x


__all__ = ["InceptionV3", "WeightsUnavailableError", "conv2d_bn", "preprocess_input"]
