"""tinygan.keras: the Keras 2 API the book's programs use, on tinygan's engine.

Layer 4: it imports ``tinygan.ops``, ``tinygan.autograd``, ``tinygan.backend``/``random`` (and ``tinygan.kernels``
for the fused optimizers), never ``tinygan.gans``, ``training`` or the command line, which import it.

Replace ``keras`` with ``tinygan.keras`` in the imports (``from tinygan.keras.layers import Dense``).
The engine pieces load here; utils, datasets, preprocessing, callbacks and applications load on first use.
``__version__`` is what the book's environment check prints (its appendix shows Keras 2.3.0); the
behaviour (summaries, trainable snapshots, BatchNorm) is that of Keras 2.2.4, which produced the
book's outputs.
"""
import importlib

from . import activations, backend, constraints, initializers, layers, losses, metrics, models, optimizers
from .engine import Input, Model, Sequential

__version__ = "2.3.0"

_LAZY = ("applications", "callbacks", "datasets", "preprocessing", "utils")


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Input", "Model", "Sequential", "activations", "backend", "constraints", "initializers", "layers",
           "losses", "metrics", "models", "optimizers", *_LAZY]
