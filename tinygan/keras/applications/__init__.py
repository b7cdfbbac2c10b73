"""Keras 2.2 applications (``from tinygan.keras.applications.inception_v3 import InceptionV3``).

Part of layer 4: it imports ``tinygan.keras``; ``tinygan.metrics`` and the tests import it.
"""
from .inception_v3 import InceptionV3

__all__ = ["InceptionV3"]
