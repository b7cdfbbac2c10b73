"""``keras.preprocessing``: image loading and conversion (``image``)."""
from . import image

__all__ = ["image"]
