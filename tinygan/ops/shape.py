"""Shape ops: broadcasting and its adjoint, reshape, transpose, concatenate, slicing, padding.

Each backward is the adjoint shape op (reshape back, inverse transpose, slice out, scatter in), so
second derivatives flow through them unchanged.
"""
import math

import numpy

from .. import backend
from ..autograd.tensor import Function, OpError, Tensor, as_tensor
from ._util import normalize_axis

__all__ = ["broadcast_to", "sum_to", "reshape", "transpose", "expand_dims", "squeeze", "flatten", "concatenate",
           "stack", "split", "getitem", "pad"]


class BroadcastTo(Function):
    saves_inputs, output_is_view = False, True

    def forward(self, a):
        self.in_shape = a.shape
        return backend.xp().broadcast_to(a, self.shape)

    def backward(self, g):
        return sum_to(g, self.in_shape)


def broadcast_to(a, shape):
    shape = tuple(shape)
    return a if a.shape == shape else BroadcastTo.apply(a, shape=shape)


class SumTo(Function):
    """Sum a broadcast result back down to ``shape`` (the adjoint of broadcasting)."""

    saves_inputs = False

    def forward(self, a):
        self.in_shape = a.shape
        lead = a.ndim - len(self.shape)
        axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(self.shape) if n == 1 and a.shape[i + lead] != 1)
        out = a.sum(axis=axes, keepdims=True) if axes else a
        return out.reshape(self.shape)

    def backward(self, g):
        return broadcast_to(g, self.in_shape)


def sum_to(a, shape):
    shape = tuple(shape)
    return a if a.shape == shape else SumTo.apply(a, shape=shape)


# ---- reshaping --------------------------------------------------------------------------------

class Reshape(Function):
    saves_inputs, output_is_view = False, True

    def forward(self, a):
        self.in_shape = a.shape
        return a.reshape(self.shape)

    def backward(self, g):
        return reshape(g, self.in_shape)


def _resolve_shape(in_shape, shape):
    """``shape`` with one -1 filled in, or an OpError when the element counts cannot match."""
    shape = (shape,) if isinstance(shape, (int, numpy.integer)) else tuple(int(n) for n in shape)
    size = math.prod(in_shape)
    unknown = [i for i, n in enumerate(shape) if n == -1]
    known = math.prod(n for n in shape if n != -1)
    if len(unknown) > 1 or any(n < -1 for n in shape):
        fits = False
    elif unknown:
        fits = known != 0 and size % known == 0
    else:
        fits = known == size
    if not fits:
        raise OpError(f"reshape: cannot reshape {in_shape} ({size} elements) into {shape}; the new shape "
                      "must hold the same number of elements, with at most one -1")
    if unknown:
        shape = shape[:unknown[0]] + (size // known,) + shape[unknown[0] + 1:]
    return shape


def reshape(x, shape):
    x = as_tensor(x)
    shape = _resolve_shape(x.shape, shape)
    return x if shape == x.shape else Reshape.apply(x, shape=shape)


def expand_dims(x, axis):
    """Insert a length-1 axis at ``axis`` (in [-ndim-1, ndim])."""
    x = as_tensor(x)
    axis = normalize_axis(axis, x.ndim + 1, "expand_dims")[0]
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def squeeze(x, axis=None):
    """Drop length-1 axes (all of them, or those named by ``axis``)."""
    x = as_tensor(x)
    if axis is None:
        axes = tuple(i for i, n in enumerate(x.shape) if n == 1)
    else:
        axes = normalize_axis(axis, x.ndim, "squeeze")
        wide = [a for a in axes if x.shape[a] != 1]
        if wide:
            raise OpError(f"squeeze: axis {wide[0]} of shape {x.shape} has length {x.shape[wide[0]]}, not 1; "
                          "only length-1 axes can be squeezed")
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


def flatten(x):
    """(N, d1, d2, ...) -> (N, d1*d2*...) in row-major order, keeping the batch axis (Keras' Flatten)."""
    x = as_tensor(x)
    if x.ndim == 0:
        raise OpError("flatten: got a scalar; flatten keeps the first (batch) axis, so it needs at least 1 dimension")
    return reshape(x, (x.shape[0], math.prod(x.shape[1:])))


class Transpose(Function):
    saves_inputs, output_is_view = False, True

    def forward(self, a):
        return a.transpose(self.axes)

    def backward(self, g):
        return transpose(g, tuple(numpy.argsort(self.axes)))


def transpose(x, axes=None):
    """Permute axes (reverse them when ``axes`` is None)."""
    x = as_tensor(x)
    axes = tuple(range(x.ndim))[::-1] if axes is None else tuple(int(a) for a in axes)
    if not (all(-x.ndim <= a < x.ndim for a in axes) and sorted(a % x.ndim for a in axes) == list(range(x.ndim))):
        raise OpError(f"transpose: axes {axes} are not a permutation of the {x.ndim} axes of shape {x.shape}; "
                      f"name each of 0..{x.ndim - 1} exactly once")
    axes = tuple(a % x.ndim for a in axes)
    return x if axes == tuple(range(x.ndim)) else Transpose.apply(x, axes=axes)


# ---- joining and splitting --------------------------------------------------------------------

class Concatenate(Function):
    saves_inputs = False

    def forward(self, *arrays):
        self.sizes = [a.shape[self.axis] for a in arrays]
        return backend.xp().concatenate(arrays, axis=self.axis)

    def backward(self, g):
        return tuple(split(g, list(numpy.cumsum(self.sizes)[:-1]), self.axis))


def concatenate(tensors, axis=0):
    """Join along an existing axis; every other dimension must match."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise OpError("concatenate: got no tensors; pass a non-empty list")
    first = tensors[0]
    if first.ndim == 0 or any(t.ndim != first.ndim for t in tensors):
        raise OpError(f"concatenate: inputs have shapes {[t.shape for t in tensors]}; they need the same number "
                      "of dimensions (at least 1)")
    axis = normalize_axis(axis, first.ndim, "concatenate")[0]
    for t in tensors[1:]:
        if any(m != n for i, (m, n) in enumerate(zip(first.shape, t.shape)) if i != axis):
            raise OpError(f"concatenate: shapes {first.shape} and {t.shape} differ outside axis {axis}; all inputs "
                          "must match except along the concatenation axis")
    return tensors[0] if len(tensors) == 1 else Concatenate.apply(*tensors, axis=axis)


def stack(tensors, axis=0):
    """Join equal-shaped tensors along a new axis."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise OpError("stack: got no tensors; pass a non-empty list")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise OpError(f"stack: inputs have different shapes {sorted(shapes)}; stack needs equal shapes "
                      "(use concatenate to join along an existing axis)")
    axis = normalize_axis(axis, tensors[0].ndim + 1, "stack")[0]
    return concatenate([expand_dims(t, axis) for t in tensors], axis)


def split(x, indices_or_sections, axis=0):
    """A list of Tensors, like ``numpy.split``: an int gives that many equal pieces, a list gives the cut points."""
    x = as_tensor(x)
    if x.ndim == 0:
        raise OpError("split: got a scalar; split needs at least 1 dimension")
    axis = normalize_axis(axis, x.ndim, "split")[0]
    length = x.shape[axis]
    if isinstance(indices_or_sections, (int, numpy.integer)):
        n = int(indices_or_sections)
        if n <= 0 or length % n:
            raise OpError(f"split: axis {axis} of shape {x.shape} (length {length}) cannot be split into {n} "
                          "equal pieces; pass a divisor of the length or a list of cut points")
        cuts = [length // n * i for i in range(1, n)]
    else:
        cuts = [min(max(int(c), 0), length) for c in indices_or_sections]
    bounds = zip([0] + cuts, cuts + [length])
    lead = (slice(None),) * axis
    return [getitem(x, lead + (slice(start, max(start, stop)),)) for start, stop in bounds]


# ---- indexing and padding ---------------------------------------------------------------------

def _normalize_index(index):
    """A tuple index whose array parts are arrays of the current device (Tensors and lists converted)."""
    parts = index if isinstance(index, tuple) else (index,)
    mod = backend.xp()
    out = []
    for p in parts:
        if isinstance(p, Tensor):
            p = p.data
        elif isinstance(p, (list, numpy.ndarray)):
            p = mod.asarray(p)
        out.append(p)
    return tuple(out)


def _is_advanced(index):
    """Whether the index holds an (integer or boolean) array: NumPy's advanced indexing, where indices may repeat."""
    return any(isinstance(p, backend.xp().ndarray) for p in index)


class GetItem(Function):
    saves_inputs, output_is_view = False, True

    def forward(self, a):
        self.in_shape = a.shape
        try:
            return a[self.index]
        except IndexError as exc:
            raise OpError(f"getitem: index {self.index} does not fit shape {a.shape} ({exc}); "
                          "keep every index within its axis") from None

    def backward(self, g):
        return ScatterAdd.apply(g, index=self.index, shape=self.in_shape)


class ScatterAdd(Function):
    """The adjoint of getitem: zeros of ``shape`` with ``g`` added at ``index``. Integer-array indices may
    repeat, so those go through ``add.at`` (which accumulates); basic slices are a plain assignment."""

    saves_inputs = False

    def forward(self, g):
        out = backend.xp().zeros(self.shape, g.dtype)
        if _is_advanced(self.index):
            backend.xp().add.at(out, self.index, g)
        else:
            out[self.index] = g
        return out

    def backward(self, gg):
        return getitem(gg, self.index)


def getitem(x, index):
    """``x[index]`` with basic slicing (ints, slices, None, ...) and integer- or boolean-array indexing."""
    return GetItem.apply(as_tensor(x), index=_normalize_index(index))


class Pad(Function):
    saves_inputs = False

    def forward(self, a):
        self.in_shape = a.shape
        return backend.xp().pad(a, self.pad_width, mode="constant", constant_values=self.value)

    def backward(self, g):
        return getitem(g, tuple(slice(before, before + n) for (before, _), n in zip(self.pad_width, self.in_shape)))


def pad(x, pad_width, value=0):
    """Constant padding. ``pad_width`` as in ``numpy.pad``: an int, ``(before, after)``, or one pair per axis."""
    x = as_tensor(x)
    try:
        widths = numpy.broadcast_to(numpy.asarray(pad_width), (x.ndim, 2))
    except ValueError:
        widths = None
    if widths is None or widths.dtype.kind not in "iu" or (widths < 0).any():
        raise OpError(f"pad: pad_width {pad_width!r} does not fit shape {x.shape}; give non-negative ints: one "
                      f"int, a (before, after) pair, or {x.ndim} such pairs")
    widths = tuple((int(b), int(a)) for b, a in widths)
    return Pad.apply(x, pad_width=widths, value=value)
