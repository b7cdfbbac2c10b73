"""Images -> features or class probabilities, in batches with a progress bar, for IS / FID / KID.

An :class:`Extractor` is a Keras model plus the preparation its input needs. Three kinds:

* ``inception``: Inception v3 with Keras's ImageNet weights; 2,048 ``avg_pool`` ("pool3") features, or the 1,000
  softmax probabilities for the Inception Score. Images are brought to 3 channels, resized to 299 x 299 by nearest
  neighbour (the book's ``resize(image, (299, 299, 3), 0)``) and scaled by ``preprocess_input``.
* ``digits``: the small CNN of :mod:`tinygan.gans.quality`, trained by tinygan on the embedded MNIST digits (no
  download): its 64 penultimate activations, or its 10 softmax probabilities. Lets an offline user compare two
  MNIST runs; its numbers are not comparable with Inception ones.
* any Keras model file: its output as the features (probabilities when it ends in a softmax); images resized to
  its input size and scaled to [-1, 1], the range of the book's GANs.

Pixel ranges are recognised over a whole set at once: uint8 or floats above 1.5 are [0, 255], floats below -0.01
are [-1, 1] (tanh generators), other floats [0, 1].
"""
import os

import numpy

from .scores import MetricError

__all__ = ["Extractor", "resize", "scale_images", "to_unit_range", "extract", "inception_extractor",
           "digits_extractor", "model_extractor", "make_extractor", "inception_weights_present", "pixel_range",
           "as_nhwc"]

INCEPTION_SIZE = 299
NON_FINITE = "the images contain NaN or inf pixels; check the generator or the file"


def resize(image, output_shape, order=0):
    """``skimage.transform.resize(image, output_shape, 0)`` for enlarging: nearest neighbour with the source index
    ``floor((o + 0.5) * in / out)`` per axis (32 -> 299 repeats each pixel 9 or 10 times). Float values are kept
    as they are and returned as float64 (skimage of the book's time); uint8 becomes [0, 1] as in skimage.
    Only ``order=0`` exists here, and shrinking does not smooth first (skimage does for floats)."""
    if order != 0:
        raise NotImplementedError(f"resize: only order=0 (nearest neighbour) is implemented, got order={order}")
    image = numpy.asarray(image)
    image = image / 255.0 if image.dtype == numpy.uint8 else image.astype(numpy.float64)
    output_shape = tuple(int(d) for d in output_shape)
    if len(output_shape) == image.ndim - 1:
        output_shape += image.shape[-1:]
    if len(output_shape) != image.ndim:
        raise MetricError(f"resize: output_shape {output_shape} does not fit an image of shape {image.shape}")
    for axis, (n_in, n_out) in enumerate(zip(image.shape, output_shape)):
        if n_in != n_out:
            image = numpy.take(image, _nearest_index(n_in, n_out), axis=axis)
    return image


def _nearest_index(n_in, n_out):
    return numpy.minimum(((numpy.arange(n_out) + 0.5) * n_in / n_out).astype(numpy.int64), n_in - 1)


def scale_images(images, height, width=None):
    """A batch (N, H, W, C) resized to ``height`` x ``width`` (default square) by nearest neighbour, same dtype."""
    width = height if width is None else width
    if images.shape[1:3] == (height, width):
        return images
    rows, cols = _nearest_index(images.shape[1], height), _nearest_index(images.shape[2], width)
    return images[:, rows][:, :, cols]


def pixel_range(images):
    """'0-255', '0-1' or '-1-1' for a whole set of images (see the module docstring)."""
    images = numpy.asarray(images)
    if images.dtype == numpy.uint8:
        return "0-255"
    if not numpy.issubdtype(images.dtype, numpy.number):
        raise MetricError(f"images must be numbers, got dtype {images.dtype}")
    if images.size == 0:
        raise MetricError("no images")
    lo, hi = float(images.min()), float(images.max())
    if not (numpy.isfinite(lo) and numpy.isfinite(hi)):
        raise MetricError(NON_FINITE)
    return "0-255" if hi > 1.5 else ("-1-1" if lo < -0.01 else "0-1")


def to_unit_range(images, source_range):
    """float32 in [-1, 1] from images in ``source_range``."""
    x = numpy.asarray(images, dtype=numpy.float32)
    if source_range == "0-255":
        return x / numpy.float32(127.5) - numpy.float32(1.0)
    if source_range == "0-1":
        return x * numpy.float32(2.0) - numpy.float32(1.0)
    return x


def as_nhwc(images, name="images"):
    """(N, H, W, C) from (N, H, W) or (N, H, W, C) with 1, 3 or 4 channels (alpha dropped)."""
    images = numpy.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
        raise MetricError(f"{name}: expected images shaped (N, H, W) or (N, H, W, 1|3|4), got {images.shape}")
    return images[..., :3]


class Extractor:
    """``model`` plus ``prepare`` (a batch in [-1, 1], NHWC -> the model's input). ``kind`` is 'features' or
    'probs'; ``label`` names it in printed results; ``channels`` is what the model takes (1 or 3)."""

    def __init__(self, model, prepare, kind, label, channels):
        self.model, self.prepare, self.kind, self.label, self.channels = model, prepare, kind, label, channels

    def channel_note(self, images):
        """The line to say when ``images`` are converted for this model (grayscale <-> colour), else None."""
        have = as_nhwc(images).shape[-1]
        if have == self.channels:
            return None
        how = "grayscale images repeated into 3 channels" if self.channels == 3 else "colour images averaged to gray"
        return f"note: {how} for the {self.label}"

    def __call__(self, images, batch_size=50, progress=True, desc=None, source_range=None):
        return extract(self, images, batch_size, progress, desc, source_range)


def extract(extractor, images, batch_size=50, progress=True, desc=None, source_range=None):
    """(N, D) float64 outputs of ``extractor`` on ``images``, in batches. ``source_range`` ('0-255', '0-1' or
    '-1-1') is the images' pixel range when the caller knows it (a generator's output early in training may not
    span its range); None: recognised from the images (:func:`pixel_range`)."""
    from tqdm.auto import tqdm

    images = as_nhwc(images)
    source_range = source_range or pixel_range(images)
    if not numpy.isfinite(images).all():  # (pixel_range says so too; a given range skips it)
        raise MetricError(NON_FINITE)
    n = len(images)
    out = []
    with tqdm(total=n, desc=desc or extractor.label, unit="img", disable=not progress, leave=False) as bar:
        for start in range(0, n, batch_size):
            batch = to_unit_range(images[start:start + batch_size], source_range)
            out.append(numpy.asarray(extractor.model.predict(extractor.prepare(batch), batch_size=batch_size),
                                     dtype=numpy.float64))
            bar.update(len(batch))
    return numpy.concatenate(out).reshape(n, -1)


def _to_channels(x, channels):
    """Grayscale -> 3 channels by repetition, RGB -> 1 channel by the mean."""
    if x.shape[-1] == channels:
        return x
    if channels == 3:
        return numpy.repeat(x, 3, axis=-1)
    return x.mean(axis=-1, keepdims=True)


# ---------------------------------------------------------------------------------------------------- kinds

def inception_weights_present(include_top):
    from ..keras.applications import inception_v3
    return os.path.exists(os.path.join(inception_v3.models_dir(), inception_v3.WEIGHTS_FILES[include_top]))


def inception_extractor(kind="features", weights="imagenet", size=INCEPTION_SIZE):
    """Inception v3: 'features' = the 2,048 avg_pool outputs, 'probs' = the 1,000 softmax outputs."""
    from ..keras.applications.inception_v3 import InceptionV3, MIN_SIZE

    if size < MIN_SIZE:
        raise MetricError(f"Inception v3 needs images of at least {MIN_SIZE}x{MIN_SIZE} pixels, asked for {size}; "
                          f"use --image-size {INCEPTION_SIZE} (the book's size)")
    if kind == "probs":
        model = InceptionV3(include_top=True, weights=weights, input_shape=(size, size, 3))
    else:
        model = InceptionV3(include_top=False, weights=weights, pooling="avg", input_shape=(size, size, 3))

    def prepare(x):  # [-1, 1] is what preprocess_input makes of [0, 255]
        return scale_images(_to_channels(x, 3), size)
    label = f"Inception v3 {'probabilities (1000)' if kind == 'probs' else 'pool3 features (2048)'}"
    return Extractor(model, prepare, kind, label, 3)


def digits_extractor(kind="features", classifier_path=None, log=print):
    """The digit classifier of :mod:`tinygan.gans.quality` (trained on the embedded digits, or loaded from
    ``classifier_path`` when it exists, and saved there after training)."""
    from ..gans import quality
    from ..keras.models import Model

    classifier, _ = quality.get_classifier(classifier_path, log=log)
    model = classifier if kind == "probs" else Model(classifier.input, classifier.layers[-2].output)
    height, width = classifier.input_shape[1:3]

    def prepare(x):  # the classifier was trained on [0, 1]
        x = _to_channels(x, 1)
        return (scale_images(x, height, width) + numpy.float32(1.0)) / numpy.float32(2.0)
    label = f"digit classifier {'probabilities (10)' if kind == 'probs' else 'features (64)'}"
    return Extractor(model, prepare, kind, label, 1)


def model_extractor(path, kind="features"):
    """Any saved Keras model: its output, from images resized to its input and scaled to [-1, 1]."""
    from ..keras.models import load_model

    if not os.path.exists(path):
        raise MetricError(f"--features {path}: not auto, inception or digits, and no such model file")
    model = load_model(path, compile=False)
    shape = model.input_shape
    if not isinstance(shape, tuple) or len(shape) != 4:
        raise MetricError(f"--features {path}: the model takes {shape}; a feature model takes one image batch "
                          "(None, H, W, C)")
    _, height, width, channels = shape

    def prepare(x):
        return scale_images(_to_channels(x, channels), height, width)
    return Extractor(model, prepare, kind, f"{os.path.basename(path)} outputs", channels)


def make_extractor(features, kind="features", image_size=INCEPTION_SIZE, classifier=None, log=print):
    """The extractor ``--features`` names: 'inception', 'digits', a model file, or 'auto' (Inception when its
    weights file is in the Keras cache, else the digit classifier, with a note through ``log``)."""
    if features == "auto":
        if inception_weights_present(kind == "probs"):
            features = "inception"
        else:
            from ..keras.applications import inception_v3
            if log:
                log(f"note: {inception_v3.WEIGHTS_FILES[kind == 'probs']} is not in {inception_v3.models_dir()}: "
                    "using the digit classifier (--features inception downloads the Inception weights)")
            features = "digits"
    if features == "inception":
        return inception_extractor(kind, size=image_size)
    if features == "digits":
        return digits_extractor(kind, classifier, log=log)
    return model_extractor(features, kind)
