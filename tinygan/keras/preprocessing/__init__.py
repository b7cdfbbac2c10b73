"""``keras.preprocessing``: image loading and conversion (``image``).

Part of layer 4 (it imports NumPy and Pillow only); the GAN modules and the tests import it.
"""
from . import image

__all__ = ["image"]
