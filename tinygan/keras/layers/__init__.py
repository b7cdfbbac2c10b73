"""Keras 2.2 layers (``from tinygan.keras.layers import Dense, Conv2D, ...``), plus keras-contrib's
InstanceNormalization. Submodules mirror Keras: core, convolutional, normalization, pooling, merge,
embeddings, advanced_activations, recurrent."""
from ..engine.base_layer import Layer
from .advanced_activations import *  # noqa: F401,F403
from .convolutional import *  # noqa: F401,F403
from .core import *  # noqa: F401,F403
from .embeddings import *  # noqa: F401,F403
from .merge import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403
