"""NumPy helpers of ``keras.utils``."""
import numpy


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot rows for integer class ids; a trailing axis of 1 is replaced by the class axis (Keras 2.2)."""
    y = numpy.asarray(y, dtype="int64")
    shape = y.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    y = y.ravel()
    if not num_classes:
        num_classes = int(y.max()) + 1 if y.size else 0
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"to_categorical: class ids range over [{y.min()}, {y.max()}] but num_classes={num_classes}")
    out = numpy.zeros((y.size, num_classes), dtype=dtype)
    out[numpy.arange(y.size), y] = 1
    return out.reshape(shape + (num_classes,))
