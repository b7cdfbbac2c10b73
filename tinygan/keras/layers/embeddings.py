"""Embedding (Keras 2.2 ``keras.layers.embeddings``): integer ids to learned vectors."""
from ... import ops
from .. import constraints, initializers
from ..engine.base_layer import Layer
from ..engine.config import resolve, serialize_object
from .core import _no_regularizers


class Embedding(Layer):
    """Ids of shape (batch, n) (floats are truncated, as Keras casts to int32) -> (batch, n, output_dim)."""

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 activity_regularizer=None, embeddings_constraint=None, mask_zero=False, input_length=None,
                 **kwargs):
        if input_length is not None and "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length,)
        super().__init__(**kwargs)
        _no_regularizers(self, embeddings_regularizer=embeddings_regularizer,
                         activity_regularizer=activity_regularizer)
        if mask_zero:
            raise NotImplementedError("Embedding: mask_zero=True is not supported")
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.input_length = input_length
        self.embeddings_initializer = resolve(initializers, embeddings_initializer)
        self.embeddings_constraint = resolve(constraints, embeddings_constraint)

    def build(self, input_shape):
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          self.embeddings_initializer, constraint=self.embeddings_constraint)
        self.built = True

    def call(self, inputs, training=False):
        return ops.embedding(inputs, self.embeddings)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "input_length": self.input_length,
                "embeddings_initializer": serialize_object(self.embeddings_initializer),
                "embeddings_constraint": serialize_object(self.embeddings_constraint)}


__all__ = ["Embedding"]
