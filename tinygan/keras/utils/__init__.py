"""``keras.utils``: one-hot encoding and model plots."""
from .np_utils import to_categorical
from .vis_utils import plot_model

__all__ = ["plot_model", "to_categorical"]
