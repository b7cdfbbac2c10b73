"""``keras.utils``: one-hot encoding and model plots.

Part of layer 4 (it imports NumPy and, for plots, the Keras engine); the GAN modules and the tests import it.
"""
from .np_utils import to_categorical
from .vis_utils import plot_model

__all__ = ["plot_model", "to_categorical"]
