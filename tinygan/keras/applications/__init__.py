"""Keras 2.2 applications (``from tinygan.keras.applications.inception_v3 import InceptionV3``)."""
from .inception_v3 import InceptionV3

__all__ = ["InceptionV3"]
