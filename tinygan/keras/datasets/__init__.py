"""``keras.datasets``: MNIST, Fashion-MNIST and CIFAR-10 with Keras' shapes and dtypes, downloaded once
and checksum-verified (see ``_download`` for the cache directory and offline use).

Part of layer 4 (it imports NumPy and the standard library only); the GAN modules, ``tinygan prepare`` and the
tests import it.
"""
from . import cifar10, fashion_mnist, mnist

__all__ = ["cifar10", "fashion_mnist", "mnist"]
