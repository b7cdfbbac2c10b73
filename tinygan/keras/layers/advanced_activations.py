"""LeakyReLU (Keras 2.2 ``keras.layers.advanced_activations``)."""
from ... import ops
from ..engine.base_layer import Layer


class LeakyReLU(Layer):
    """``x`` for x > 0, ``alpha * x`` otherwise. Keras' default alpha is 0.3; the book always passes 0.2."""

    def __init__(self, alpha=0.3, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def call(self, inputs, training=False):
        return ops.leaky_relu(inputs, self.alpha)

    @property
    def fusable_alpha(self):
        """The slope the layer before this one (a conv or a normalisation) may apply inside its own op; None where
        it may not (the fused backward reads the mask off the output, which needs alpha >= 0)."""
        return self.alpha if self.alpha >= 0 else None

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


__all__ = ["LeakyReLU"]
