"""CUDA graphs for ``train_on_batch``: a training step's kernels recorded once, then replayed for each batch.

Why: on a GPU tinygan's step is bound by the host. A Pix2Pix step issues well over a thousand kernel launches,
each from Python (the autograd graph, CuPy, Numba); at batch 1 the host takes several times longer to issue
them than the GPU takes to run them. A CUDA graph replays them all with one launch.

How, per model and input shapes (``train_on_batch`` asks :func:`graphed_step`):

1. The first batch runs eagerly. It creates the optimizer's slots, compiles every kernel and makes the random
   generator's device state.
2. The second batch records. Its inputs are copied into static device buffers, and forward, backward and the
   optimizer's ``update_params`` run under CuPy stream capture, on a memory pool of the graph's own (the
   buffers the kernels were recorded with stay with the graph). Nothing runs during a recording; the graph is
   then launched for this batch as for every later one.
3. Every batch: its inputs go into the static buffers, ``optimizer.begin_step()`` writes this step's learning
   rate (Adam's lr_t) into the device slot the recorded update reads, the graph is launched,
   ``optimizer.end_step()`` counts the step, the BatchNormalization moving-average updates recorded in step 2
   run eagerly (their zero-debias factor changes every step) from the statistics the graph just wrote, and the
   losses come to the host in one copy.

Dropout needs nothing special: CuPy's generator keeps its state on the device and its kernels advance it in
place, so a replay draws new masks -- the ones an eager step would have drawn.

A graph stays valid while every array it reads keeps its address: before each replay the addresses of the
model's weights, the optimizer's slots and scalars and the generator's state are compared with those it was
recorded with, and a change (a checkpoint restored, ``optimizer.set_state``, ``random.set_state``) makes the
model record again. ``compile`` drops a model's graphs. A step that cannot be recorded (one that waits for the
device inside it, such as clipnorm's host-side norm) makes the recording fail: a warning says why, once, and
that model trains eagerly from then on. Under MPI (``tinygan.distributed``) steps run eagerly.

``TINYGAN_CUDA_GRAPHS`` / :func:`set_mode`: ``auto`` (default: graphs on CUDA), ``off``, or ``emulate``, which
"replays" by calling the recorded Python step again, on any device: it checks the bookkeeping above (static
inputs, step scalars, moving averages, re-recording) against eager steps without a GPU.
"""
import contextlib
import os
import warnings

from ... import backend, distributed
from ... import random as tg_random
from ...autograd.tensor import Tensor

MODES = ("auto", "off", "emulate")
_ALIASES = {"": "auto", "1": "auto", "on": "auto", "0": "off"}
_state = {"mode": None}


def get_mode():
    if _state["mode"] is None:
        set_mode(os.environ.get("TINYGAN_CUDA_GRAPHS", "auto"))
    return _state["mode"]


def set_mode(mode):
    """'auto' (CUDA graphs on a GPU), 'off', or 'emulate' (the bookkeeping on any device; for tests)."""
    mode = _ALIASES.get(str(mode).strip().lower(), str(mode).strip().lower())
    if mode not in MODES:
        raise ValueError(f"TINYGAN_CUDA_GRAPHS={mode!r} is not understood; use one of {', '.join(MODES)} (or 0/1)")
    _state["mode"] = mode


class RecordingFailed(RuntimeError):
    """The step could not be recorded as a graph; the model trains eagerly."""


def graphed_step(model, xs, ys):
    """The model's :class:`GraphedStep` for these inputs, or None when this batch runs eagerly."""
    mode = get_mode()
    if mode == "off" or (mode == "auto" and backend.get_device() != "cuda") or distributed.active() \
            or model._graph_failure is not None:
        return None
    key = tuple((t.shape, t.dtype.str) for t in xs + ys)
    seen = model._graphs.get(key)
    if seen is None:  # the first batch of these shapes: eager, it makes the slots and compiles the kernels
        model._graphs[key] = "warm"
        return None
    if seen == "warm":
        seen = model._graphs[key] = GraphedStep(model, xs, ys, emulate=mode == "emulate")
    return seen


def _address(a):
    """Where an array's memory is: a CuPy array's device pointer, a NumPy array's host address."""
    ptr = getattr(getattr(a, "data", None), "ptr", None)
    return ptr if ptr is not None else a.__array_interface__["data"][0]


class GraphedStep:
    """One model's recorded training step for one set of input shapes (see the module docstring)."""

    def __init__(self, model, xs, ys, emulate=False):
        xp = backend.xp()
        self.model, self.emulate = model, emulate
        self.static = [Tensor(xp.empty_like(t.data), _copy=False) for t in xs + ys]
        self.n_inputs = len(xs)
        self.weights = list(model.weights)
        self.recording, self.recorded_with = None, None
        self.stream = None if emulate else _cuda_stream()

    def run(self, xs, ys):
        """One training step on (xs, ys); returns the losses and metrics as host floats."""
        opt = self.model.optimizer
        with self.stream if self.stream is not None else contextlib.nullcontext():
            for static, t in zip(self.static, xs + ys):
                static.data[...] = t.data
            if self.recording is None or self.recorded_with != self._addresses():
                self._record()
            opt.begin_step()
            self.recording.launch()
            opt.end_step()
            flat, updates = self.recording.outputs
            for update in updates:
                update()
            for w in self.model._train_weights:
                w.bump_version()
            return self.model._host_floats(flat)

    def _record(self):
        model, opt = self.model, self.model.optimizer
        xs, ys = self.static[:self.n_inputs], self.static[self.n_inputs:]

        def step():
            values, run = model._train_step(xs, ys, lambda params, grads: opt.update_params(params, opt._clip(grads)))
            return model._flat_values(values), run.take_updates()

        self.recording = None
        self.recording = _Emulated(step) if self.emulate else _CudaGraph(step, self.stream)
        self.recorded_with = self._addresses()

    def _addresses(self):
        """The address of every array the recorded step reads or writes in place between batches."""
        opt = self.model.optimizer
        arrays = [w.data for w in self.weights] + [a for slot in opt._slots.values() for a in slot] \
            + list(opt._device_slots.values())
        return [_address(a) for a in arrays] + [tg_random.device_state_address()]


class _Emulated:
    """A "graph" that replays by running the step's Python again."""

    def __init__(self, step):
        self.step, self.outputs = step, None

    def launch(self):
        self.outputs = self.step()


class _CudaGraph:
    """The step recorded by CuPy stream capture on ``stream``, with a memory pool of its own."""

    def __init__(self, step, stream):
        import cupy
        self.stream, self.pool = stream, cupy.cuda.MemoryPool()
        with cupy.cuda.using_allocator(self.pool.malloc):
            stream.begin_capture()
            try:
                self.outputs = step()
            except Exception as exc:
                _end_quietly(stream)
                raise RecordingFailed(f"{type(exc).__name__}: {exc}") from exc
            try:
                self.graph = stream.end_capture()
            except Exception as exc:  # the capture was invalidated by an operation it cannot hold
                raise RecordingFailed(f"{type(exc).__name__}: {exc}") from exc

    def launch(self):
        self.graph.launch(self.stream)


def _end_quietly(stream):
    try:
        stream.end_capture()
    except Exception:  # an invalidated capture ends with an error; the one to report is the step's
        pass


def _cuda_stream():
    """A stream for recording and replaying: a blocking one, so it stays ordered with the null stream that
    eager code uses (capture is impossible on the null stream itself)."""
    import cupy
    return cupy.cuda.Stream()


def fall_back(model, exc):
    """Record why the model's step cannot be a graph, say it once, and train it eagerly from now on."""
    model._graph_failure = str(exc)
    model._graphs.clear()
    warnings.warn(f"tinygan: model {model.name!r} trains without CUDA graphs: its step could not be recorded "
                  f"({exc}). Set TINYGAN_CUDA_GRAPHS=off to silence this.", RuntimeWarning, stacklevel=3)
