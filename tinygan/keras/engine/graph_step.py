"""CUDA graphs for ``train_on_batch`` and ``predict``: a step's kernels recorded once, then replayed per batch.

Why: on a GPU tinygan's step is bound by the host. A Pix2Pix step issues well over a thousand kernel launches,
each from Python (the autograd graph, CuPy, Numba); at batch 1 the host takes several times longer to issue
them than the GPU takes to run them. A CUDA graph replays them all with one launch.

How, per model and input shapes (``train_on_batch`` asks :func:`graphed_step`):

1. The first batch runs eagerly. It creates the optimizer's slots, compiles every kernel and makes the random
   generator's device state.
2. The second batch records. Its inputs are copied into static device buffers, and forward, backward and the
   optimizer's ``update_params`` run under CuPy stream capture, on a memory pool kept for graphs (the buffers
   the kernels were recorded with stay there; all graphs share it, see ``_shared``). GEMMs go through
   tinygan's own cuBLAS handle (``kernels/cublas_gemm.py``): CuPy refuses cuBLAS calls during a capture. Nothing runs during a recording; the graph is
   then launched for this batch as for every later one.
3. Every batch: its inputs go into the static buffers, ``optimizer.begin_step()`` writes this step's learning
   rate (Adam's lr_t) into the device slot the recorded update reads, the graph is launched,
   ``optimizer.end_step()`` counts the step, the BatchNormalization moving-average updates of the recording
   (``base_layer.Update``) run eagerly from the batch statistics the graph just wrote, and the losses come to
   the host in one copy.

Dropout needs nothing special: CuPy's generator keeps its state on the device and its kernels advance it in
place, so a replay draws new masks -- the ones an eager step would have drawn.

A graph stays valid while every array it reads keeps its address: before each replay the addresses of the
model's weights, the optimizer's slots and scalars and the generator's state are compared with those it was
recorded with, and a change (a checkpoint restored, ``optimizer.set_state``, ``random.set_state``) makes the
model record again. ``compile`` drops a model's graphs. A step that cannot be recorded (one that waits for the
device inside it, such as clipnorm's host-side norm) makes the recording fail: a warning says why, once, and
that model runs eagerly from then on. ``predict`` is recorded the same way (its forward pass only). Under MPI (``tinygan.distributed``) steps run eagerly.

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
# One stream and one memory pool for every graph: graphs replay one at a time on that stream, and what a replay
# leaves for the host (losses, batch statistics for the moving averages, predictions) is read before the next
# replay starts, so one graph's scratch can be another's. Separate pools cost 2.4x PyTorch's memory at Pix2Pix
# batch 16 on an H200 (4.4 GiB), mostly the same activations held three times (D, composite, predict).
_shared = {"stream": None, "pool": None}


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


@contextlib.contextmanager
def using(mode):
    """``with using('off'): ...`` -- the mode for a block (benchmarks and tests compare modes in one process)."""
    old = get_mode()
    set_mode(mode)
    try:
        yield
    finally:
        _state["mode"] = old


def pool_bytes():
    """Device memory the CUDA graphs hold in their pool (their outputs and the scratch their replays reuse):
    add it to CuPy's default pool's to know what tinygan holds."""
    return 0 if _shared["pool"] is None else _shared["pool"].total_bytes()


def release_free_blocks():
    """Give the graph pool's unused blocks back to the device (after the models whose graphs held them are gone)."""
    if _shared["pool"] is not None:
        _shared["pool"].free_all_blocks()


class RecordingFailed(RuntimeError):
    """The step could not be recorded as a graph; the model runs eagerly."""


def graphed_train_step(model, xs, ys):
    """The model's recorded training step for these inputs, or None when this batch runs eagerly."""
    return _graphed(model, "train", xs + ys, lambda: GraphedTrainStep(model, xs, ys))


def graphed_predict(model, xs):
    """The model's recorded inference pass for these inputs (``predict``), or None when it runs eagerly."""
    return _graphed(model, "predict", xs, lambda: GraphedPredict(model, xs))


def _graphed(model, kind, tensors, make):
    mode = get_mode()
    if mode == "off" or (mode == "auto" and backend.get_device() != "cuda") or distributed.active() \
            or getattr(model, "_graph_failure", None) is not None:
        return None
    graphs = model.__dict__.setdefault("_graphs", {})
    key = (kind,) + tuple((t.shape, t.dtype.str) for t in tensors)
    seen = graphs.get(key)
    if seen is None:  # the first call with these shapes: eager; it makes the slots and compiles the kernels
        graphs[key] = "warm"
        return None
    if seen == "warm":
        seen = graphs[key] = make()
    return seen


def _address(a):
    """Where an array's memory is: a CuPy array's device pointer, a NumPy array's host address."""
    ptr = getattr(getattr(a, "data", None), "ptr", None)
    return ptr if ptr is not None else a.__array_interface__["data"][0]


class GraphedCall:
    """A model's recorded call for one set of input shapes: static input buffers, the recording, and the
    addresses of the arrays it was recorded with. Subclasses say what is recorded and what the host does
    around each replay."""

    def __init__(self, model, tensors):
        xp = backend.xp()
        self.model = model
        self.static = [Tensor(xp.empty_like(t.data), _copy=False) for t in tensors]
        self.weights = list(model.weights)
        self.recording, self.recorded_with = None, None
        self.emulate = get_mode() == "emulate"
        self.stream = None if self.emulate else _cuda_stream()

    def replay(self, tensors):
        """Copy ``tensors`` into the static inputs, record if needed, then ``before()``, launch, ``after()``."""
        with self.stream if self.stream is not None else contextlib.nullcontext():
            for static, t in zip(self.static, tensors):
                static.data[...] = t.data
            if not self.emulate:  # a generator made (or restored) inside a recording would restart every replay
                tg_random.generator()
            if self.recording is None or self.recorded_with != self._addresses():
                self.recording = None
                self.recording = _Emulated(self._step) if self.emulate else _CudaGraph(self._step, self.stream)
                self.recorded_with = self._addresses()
            self._before()
            self.recording.launch()
            return self._after(self.recording.outputs)

    def _addresses(self):
        """The address of every array the recording reads or writes in place between calls."""
        return [_address(w.data) for w in self.weights] + [tg_random.device_state_address()]

    def _step(self):
        raise NotImplementedError

    def _before(self):
        pass

    def _after(self, outputs):
        return outputs


class GraphedTrainStep(GraphedCall):
    """``train_on_batch``: forward, backward and the optimizer's update_params are recorded; the host writes
    the step's scalars before each replay, and after it counts the step, runs the layers' state updates and
    fetches the losses."""

    def __init__(self, model, xs, ys):
        super().__init__(model, xs + ys)
        self.n_inputs = len(xs)

    def run(self, xs, ys):
        return self.replay(xs + ys)

    def _step(self):
        model, opt = self.model, self.model.optimizer
        xs, ys = self.static[:self.n_inputs], self.static[self.n_inputs:]
        values, run = model._train_step(
            xs, ys, lambda params, grads, _averaging: opt.update_params(params, opt._clip(grads)))
        return model._flat_values(values), run.take_updates()

    def _addresses(self):
        opt = self.model.optimizer
        slots = [a for arrays in opt._slots.values() for a in arrays] + list(opt._device_slots.values())
        return super()._addresses() + [_address(a) for a in slots]

    def _before(self):
        self.model.optimizer.begin_step()

    def _after(self, outputs):
        flat, updates = outputs
        self.model.optimizer.end_step()
        for update in updates:  # the moving averages, eagerly, from the batch statistics the replay wrote
            update.prepare()
            update.apply()
        for w in self.model._train_weights:
            w.bump_version()
        return self.model._host_floats(flat)


class GraphedPredict(GraphedCall):
    """``predict``: the inference forward pass is recorded; its outputs come to the host after each replay."""

    def run(self, xs):
        return self.replay(xs)

    def _step(self):
        return self.model._forward_arrays(self.static)

    def _after(self, outputs):
        return self.model._host_outputs(outputs)


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
        self.stream = stream
        if _shared["pool"] is None:
            _shared["pool"] = cupy.cuda.MemoryPool()
        with cupy.cuda.using_allocator(_shared["pool"].malloc):
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
    """The stream graphs are recorded and replayed on: a blocking one, so it stays ordered with the null stream
    that eager code uses (capture is impossible on the null stream itself)."""
    import cupy
    if _shared["stream"] is None:
        _shared["stream"] = cupy.cuda.Stream()
    return _shared["stream"]


def fall_back(model, exc):
    """Remember why the model's calls cannot be graphs, say it once, and run them eagerly from now on."""
    model._graph_failure = str(exc)
    model._graphs.clear()
    warnings.warn(f"tinygan: model {model.name!r} runs without CUDA graphs: its step could not be recorded "
                  f"({exc}). Set TINYGAN_CUDA_GRAPHS=off to silence this.", RuntimeWarning, stacklevel=3)
