"""Embedding lookup: a row gather whose gradient is a scatter-add (and the scatter's gradient a gather)."""
from .. import backend
from ..autograd.tensor import Function, OpError, Tensor, as_tensor

__all__ = ["embedding"]


def embedding(ids, weight):
    """Rows of ``weight`` (V, D) picked by integer ``ids`` of any shape: result ``ids.shape + (D,)``.

    Float ids are truncated to integers, as Keras's Embedding casts its input to int32.
    """
    weight = as_tensor(weight)
    if weight.ndim != 2:
        raise OpError(f"embedding: weight must be (vocabulary, dim), got shape {weight.shape}")
    xp = backend.xp()
    ids = xp.asarray(ids.data if isinstance(ids, Tensor) else ids)
    if ids.dtype.kind == "f":
        ids = ids.astype(xp.int64)
    elif ids.dtype.kind not in "iu":
        raise OpError(f"embedding: ids must be integers, got dtype {ids.dtype}")
    vocab = weight.shape[0]
    bad = ids[(ids < 0) | (ids >= vocab)]
    if bad.size:
        raise OpError(f"embedding: id {int(bad[0])} is out of range for a vocabulary of size {vocab}; "
                      f"ids must be in [0, {vocab - 1}] (raise input_dim or fix the ids)")
    return Embedding.apply(weight, ids=ids)


class Embedding(Function):
    def forward(self, weight):
        return weight[self.ids]

    def backward(self, g):
        return EmbeddingGrad.apply(g, ids=self.ids, vocab=self.inputs[0].shape[0])


class EmbeddingGrad(Function):
    """Scatter-add of the output gradient into the rows of the (vocab, D) weight; repeated ids add up."""

    def forward(self, g):
        out = backend.xp().zeros((self.vocab, g.shape[-1]), g.dtype)
        backend.xp().add.at(out, self.ids.reshape(-1), g.reshape(-1, g.shape[-1]))
        return out

    def backward(self, gg):
        return Embedding.apply(gg, ids=self.ids)
