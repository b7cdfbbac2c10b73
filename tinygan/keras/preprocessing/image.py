"""``keras.preprocessing.image`` (Keras 2.2 / keras_preprocessing 1.0): load, convert and save images with
Pillow. Arrays are channels-last (H, W, C) float32, as the book's Pix2Pix and CycleGAN loaders expect."""
import warnings

import numpy
from PIL import Image

_INTERPOLATION = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC,
                  "hamming": Image.HAMMING, "box": Image.BOX, "lanczos": Image.LANCZOS}
_MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}


def _check_format(data_format):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"tinygan images are channels_last (H, W, C); got data_format={data_format!r}")


def load_img(path, grayscale=False, color_mode="rgb", target_size=None, interpolation="nearest"):
    """A PIL image in ``color_mode`` ('grayscale', 'rgb', 'rgba'), resized to ``target_size=(height, width)``
    with ``interpolation`` (Keras' default is nearest neighbour)."""
    if grayscale:
        warnings.warn("grayscale is deprecated. Please use color_mode = 'grayscale'", stacklevel=2)
        color_mode = "grayscale"
    if color_mode not in _MODES:
        raise ValueError(f"color_mode must be 'grayscale', 'rgb' or 'rgba', got {color_mode!r}")
    img = Image.open(path)
    if img.mode != _MODES[color_mode]:
        img = img.convert(_MODES[color_mode])
    if target_size is not None:
        size = (int(target_size[1]), int(target_size[0]))
        if img.size != size:
            if interpolation not in _INTERPOLATION:
                raise ValueError(f"invalid interpolation {interpolation!r}; supported: {sorted(_INTERPOLATION)}")
            img = img.resize(size, _INTERPOLATION[interpolation])
    return img


def img_to_array(img, data_format=None, dtype="float32"):
    """An (H, W, C) array; grayscale images get a channel axis of 1."""
    _check_format(data_format)
    x = numpy.asarray(img, dtype=dtype)
    if x.ndim == 2:
        return x.reshape(x.shape + (1,))
    if x.ndim != 3:
        raise ValueError(f"unsupported image shape {x.shape}")
    return x


def array_to_img(x, data_format=None, scale=True, dtype="float32"):
    """A PIL image from an (H, W, 1|3|4) array; ``scale`` maps the array's range onto 0..255 as Keras does
    (shift so the minimum is at least 0, then divide by the maximum)."""
    _check_format(data_format)
    x = numpy.array(x, dtype=dtype)
    if x.ndim != 3:
        raise ValueError(f"expected an image array of rank 3 (H, W, C), got shape {x.shape}")
    if scale:
        x = x + max(-numpy.min(x), 0)
        peak = numpy.max(x)
        if peak != 0:
            x /= peak
        x *= 255
    if x.shape[2] not in (1, 3, 4):
        raise ValueError(f"unsupported channel number: {x.shape[2]} (use 1, 3 or 4)")
    pixels = x.astype("uint8")  # uint8 (H, W) -> 'L', (H, W, 3) -> 'RGB', (H, W, 4) -> 'RGBA'
    return Image.fromarray(pixels[:, :, 0] if x.shape[2] == 1 else pixels)


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Save an image array (see ``array_to_img``) to ``path``; RGBA is flattened to RGB for JPEG."""
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and (file_format or str(path).rsplit(".", 1)[-1]).lower() in ("jpg", "jpeg"):
        warnings.warn("The JPG format does not support RGBA images, converting to RGB.", stacklevel=2)
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)
