"""Model: a Network that compiles and trains (Keras 2.2 ``compile``, ``train_on_batch``, ``fit``, ...).

Keras 2.2 semantics the book's GANs depend on:

* ``compile`` snapshots which weights are trainable (``model.trainable`` and ``layer.trainable`` as
  set at that moment, through nested models). A discriminator compiled before
  ``d_model.trainable = False`` keeps training through its own ``train_on_batch``; a composite
  compiled after it never updates the discriminator. The same snapshot decides which
  BatchNormalization layers update their moving statistics: a frozen discriminator inside the
  composite still normalises with batch statistics (training mode) but leaves its moving averages
  alone, as Keras 2.2 does.
* ``train_on_batch`` runs the forward pass in training mode, computes
  ``total = sum_i w_i * mean(loss_i)``, the metrics (on that forward pass, before the update),
  the gradients of the snapshot's weights, one optimizer step and then the kernel constraints. It
  returns the total alone, ``[loss, metric...]`` or, for several outputs,
  ``[total, loss_1, ..., loss_k, metrics of output 1..., metrics of output 2...]``, as numpy float32.
* Under ``mpiexec`` (``tinygan.distributed``) ``compile`` and the first ``train_on_batch`` broadcast rank 0's
  weights and optimizer state, the optimizer averages the gradients over the ranks, and the returned
  losses and metrics are the averages over the ranks.
* ``predict``/``evaluate`` run in batches of 32 under ``no_grad`` in inference mode, except nodes
  called with ``training=True`` (the Pix2Pix generator's BatchNorm and Dropout).
"""
import time
import warnings

import numpy

from ... import backend, distributed
from ...autograd.tensor import Tensor, grad, no_grad
from . import graph_step
from .base_layer import Run, to_list, unique
from .network import Network


def _all_layers(model):
    """Every layer reachable from ``model`` through nested networks (each once)."""
    out, seen, stack = [], set(), [model]
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        out.append(layer)
        if isinstance(layer, Network):
            stack.extend(reversed(layer.layers))
    return out


def _trainable_snapshot(model):
    """ids of the layers a forward pass of ``model`` may update: trainable, reached via trainable models only."""
    ids, stack = set(), [model]
    while stack:
        layer = stack.pop()
        if id(layer) in ids or not layer.trainable:
            continue
        ids.add(id(layer))
        if isinstance(layer, Network):
            stack.extend(layer.layers)
    return frozenset(ids)


def _per_output(value, names, what):
    """A compile argument (single value, list or dict by output name) as one entry per output."""
    if isinstance(value, dict):
        unknown = set(value) - set(names)
        if unknown:
            raise ValueError(f"Unknown entries in {what} dictionary: {sorted(unknown)}. Only expected the "
                             f"following keys: {names}")
        return [value.get(n) for n in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(f"When passing a list as {what}, it should have one entry per model output. The "
                             f"model has {len(names)} outputs, but you passed {what}={value!r}")
        return list(value)
    return [value] * len(names)


def _metric_name(metric, fn):
    if metric in ("accuracy", "acc"):
        return "acc"
    if metric in ("crossentropy", "ce"):
        return "ce"
    return getattr(fn, "name", None) or fn.__name__


class _Progbar:
    """Keras' text progress bar: ``32/100 [=========>....................] - ETA: 0s - loss: 0.6931``."""

    def __init__(self, target, verbose=1, width=30):
        self.target, self.verbose, self.width = target, verbose, width
        self.start = time.time()

    def update(self, current, values=()):
        if self.verbose != 1:
            return
        n = len(str(self.target))
        done = int(self.width * current / self.target) if self.target else self.width
        bar = "=" * max(done - 1, 0) + (">" if current < self.target else "=") * (done > 0)
        bar = f"{current:{n}d}/{self.target} [{bar}{'.' * (self.width - len(bar))}]"
        elapsed = time.time() - self.start
        if current < self.target:
            info = f" - ETA: {elapsed / max(current, 1) * (self.target - current):.0f}s"
        else:
            info = f" - {elapsed:.0f}s {elapsed / max(current, 1) * 1e3:.0f}ms/step"
        info += "".join(f" - {k}: {v:.4f}" for k, v in values)
        print("\r" + bar + info, end="\n" if current >= self.target else "", flush=True)


class Model(Network):
    """A functional model that can be compiled, trained, evaluated, saved (Keras 2.2 API)."""

    optimizer = None

    # ---- compile -----------------------------------------------------------------------------
    def compile(self, optimizer, loss=None, metrics=None, loss_weights=None, sample_weight_mode=None,
                weighted_metrics=None, target_tensors=None, **kwargs):
        from .. import losses, metrics as metrics_module, optimizers
        if kwargs:
            raise TypeError(f"compile() got unexpected keyword arguments {sorted(kwargs)}")
        if loss is None:
            raise ValueError("compile() needs a loss (a name like 'binary_crossentropy' or a function)")
        self.optimizer = optimizers.get(optimizer)
        self.loss, self.loss_weights = loss, loss_weights
        self.output_names = [layer.name for layer in self._output_layers]
        names = self.output_names
        self.loss_functions = [losses.get(fn) for fn in _per_output(loss, names, "loss")]
        if any(fn is None for fn in self.loss_functions):
            raise ValueError("every output needs a loss (None is not supported)")
        weights = _per_output(1.0 if loss_weights is None else loss_weights, names, "loss_weights")
        self._loss_weights = [1.0 if w is None else float(w) for w in weights]

        self.metrics = metrics
        per_output = _per_output(metrics or [], names, "metrics") if isinstance(metrics, dict) \
            else [list(metrics or [])] * len(names)
        self.metrics_names = ["loss"] + ([f"{n}_loss" for n in names] if len(names) > 1 else [])
        self._metric_functions = []
        for i, (name, fn_loss, wanted) in enumerate(zip(names, self.loss_functions, per_output)):
            for metric in to_list(wanted or []):
                fn = metrics_module.get(metric, fn_loss, self.outputs[i].shape)
                label = _metric_name(metric, fn)
                label = f"{name}_{label}" if len(names) > 1 else label
                base, j = label, 1
                while label in self.metrics_names:
                    label, j = f"{base}_{j}", j + 1
                self.metrics_names.append(label)
                self._metric_functions.append((i, fn))

        self._snapshot = _trainable_snapshot(self)
        self._train_weights = unique(self.trainable_weights)
        train_ids = {id(w) for w in self._train_weights}
        every = unique(w for layer in _all_layers(self) for w in layer._trainable_weights)
        self._frozen_weights = [w for w in every if id(w) not in train_ids]
        self._warned_consistency = False
        self._graphs, self._graph_failure = {}, None  # CUDA graphs of train_on_batch, by input shapes
        distributed.sync_model(self)  # under mpiexec: every rank starts from rank 0's weights

    def _ready(self, x):
        """Hook for Sequential models that learn their input shape from the first batch."""

    def _assert_compiled(self, x):
        self._ready(x)
        if self.optimizer is None:
            raise RuntimeError(f"You must compile model {self.name} before training/testing. "
                               "Use `model.compile(optimizer, loss)`.")

    # ---- data checks -------------------------------------------------------------------------
    def _standardize(self, data, refs, names, prefix, expected_shapes):
        """Arrays as a list of float Tensors matching ``refs``; ValueError naming what is wrong."""
        where = f"Error when checking {prefix} of model {self.name}"
        if isinstance(data, dict):
            missing = [n for n in names if n not in data]
            if missing:
                raise ValueError(f"{where}: no data provided for {missing}. Need data for each key in: {names}")
            data = [data[n] for n in names]
        arrays = list(data) if isinstance(data, (list, tuple)) else [data]
        if len(arrays) != len(refs):
            raise ValueError(f"{where}: the list of Numpy arrays that you are passing to your model is not the "
                             f"size the model expected. Expected to see {len(refs)} array(s), but instead got "
                             f"{len(arrays)}: {[numpy.shape(a) for a in arrays]}")
        out, device_checks = [], []
        for a, ref, name, shape in zip(arrays, refs, names, expected_shapes):
            a = a.data if isinstance(a, Tensor) else a
            if isinstance(a, numpy.ndarray) or not hasattr(a, "dtype"):
                a = numpy.asarray(a)
                if a.dtype.kind == "f" and not numpy.isfinite(a).all():  # host data: checked before the copy
                    raise ValueError(f"{where}: {name} contains NaN or Inf values")
                a = backend.xp().asarray(a)
            elif a.dtype.kind == "f":
                device_checks.append((name, backend.xp().isfinite(a).all()))
            if a.ndim == 1:
                a = a.reshape(-1, 1)
            if shape is not None:
                if a.ndim != len(shape):
                    raise ValueError(f"{where}: expected {name} to have {len(shape)} dimensions, but got array "
                                     f"with shape {tuple(a.shape)}")
                if any(r is not None and r != d for r, d in zip(shape[1:], a.shape[1:])):
                    raise ValueError(f"{where}: expected {name} to have shape {tuple(shape[1:])} but got array "
                                     f"with shape {tuple(a.shape[1:])}")
            if a.dtype.kind not in "biuf":
                raise ValueError(f"{where}: {name} has dtype {a.dtype}; pass numeric arrays")
            out.append(Tensor(a.astype(ref, copy=False), _copy=False))
        # Device data: one wait for the GPU for all arrays together, not one per array.
        if device_checks and not bool(backend.xp().stack([ok for _, ok in device_checks]).all()):
            bad = [name for name, ok in device_checks if not bool(ok)]
            raise ValueError(f"{where}: {bad[0]} contains NaN or Inf values")
        if len({t.shape[0] for t in out}) > 1:
            raise ValueError(f"{where}: all {prefix} arrays should have the same number of samples. Got array "
                             f"shapes: {[t.shape for t in out]}")
        return out

    def _inputs(self, x):
        return self._standardize(x, [i.dtype for i in self.inputs], [i._keras_history[0].name for i in self.inputs],
                                 "input", [i.shape for i in self.inputs])

    def _targets(self, y):
        from .. import losses
        shapes = []
        for out, fn in zip(self.outputs, self.loss_functions):
            if fn is losses.sparse_categorical_crossentropy:
                shapes.append(out.shape[:-1] + (1,))
            elif getattr(losses, getattr(fn, "__name__", ""), None) is fn:
                shapes.append(out.shape)
            else:
                shapes.append(None)  # a user loss: no assumption about its target
        return self._standardize(y, [backend.get_default_dtype()] * len(self.outputs), self.output_names,
                                 "target", shapes)

    def _data(self, x, y):
        xs = self._inputs(x)
        ys = self._targets(y)
        if xs[0].shape[0] != ys[0].shape[0]:
            raise ValueError(f"Input arrays should have the same number of samples as target arrays. Found "
                             f"{xs[0].shape[0]} input samples and {ys[0].shape[0]} target samples.")
        return xs, ys

    # ---- one batch ---------------------------------------------------------------------------
    def _forward_losses(self, xs, ys, run):
        from ... import ops
        outputs = to_list(self._execute(xs if len(xs) > 1 else xs[0], run.training, run))
        per_output = [ops.mean(fn(y, out)) for fn, y, out in zip(self.loss_functions, ys, outputs)]
        total = None
        for w, value in zip(self._loss_weights, per_output):
            total = w * value if total is None else total + w * value
        with no_grad():
            metrics = [ops.mean(fn(ys[i], outputs[i].detach())) for i, fn in self._metric_functions]
        return total, [total] + (per_output if len(per_output) > 1 else []) + metrics

    def _host_values(self, values):
        """The loss and metric scalars as NumPy float32, fetched in one copy (on a GPU: one wait per batch, at
        its end, so the device never idles while the host reads a loss)."""
        return self._host_floats(self._flat_values(values))

    @staticmethod
    def _flat_values(values):
        return backend.xp().stack([v.data.astype(numpy.float32, copy=False).reshape(()) for v in values])

    @staticmethod
    def _host_floats(flat):
        return [numpy.float32(v) for v in backend.to_numpy(flat)]

    def _result(self, values):
        return values[0] if len(values) == 1 else values

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None):
        """One gradient step on one batch; returns the loss (and metrics) computed before the step.
        On a GPU the step is a CUDA graph from the third batch of a shape on (``graph_step.py``)."""
        self._assert_compiled(x)
        if sample_weight is not None or class_weight is not None:
            raise NotImplementedError("sample_weight/class_weight are not supported")
        xs, ys = self._data(x, y)
        self._check_consistency()
        distributed.sync_model(self, once=True)  # under mpiexec: rank 0's weights and optimizer state
        graphed = graph_step.graphed_train_step(self, xs, ys)
        if graphed is not None:
            try:
                return self._result(graphed.run(xs, ys))
            except graph_step.RecordingFailed as exc:
                graph_step.fall_back(self, exc)
        values, run = self._train_step(xs, ys, self.optimizer.apply_gradients)
        run.apply_updates()
        return self._result(distributed.mean_values(self._host_values(values)))

    def _train_step(self, xs, ys, update):
        """Forward in training mode, the gradients of the compiled trainable weights, ``update(params, grads,
        averaging)`` (``apply_gradients``; ``averaging`` is None unless under MPI) and the constraints; returns the loss values and the Run holding the moving-average updates."""
        run = Run(True, self._snapshot)
        for w in self._frozen_weights:
            w.requires_grad = False
        try:
            total, values = self._forward_losses(xs, ys, run)
            params = self._train_weights
            if params and total.requires_grad:
                averaging = distributed.overlapped_mean(params)  # under mpiexec: all-reduces during the backward
                grads = grad(total, params, on_final=averaging and averaging.gradient_done)
                update(params, [g.data for g in grads], averaging)
                self._apply_constraints(params)
        finally:
            for w in self._frozen_weights:
                w.requires_grad = True
        return values, run

    def _apply_constraints(self, params):
        with no_grad():
            for p in params:
                if p.constraint is not None:
                    value = p.constraint(Tensor(p.data, _copy=False))
                    p.assign(value.data if isinstance(value, Tensor) else value)

    def _check_consistency(self):
        if not self._warned_consistency and {id(w) for w in unique(self.trainable_weights)} != \
                {id(w) for w in self._train_weights}:
            warnings.warn("Discrepancy between trainable weights and collected trainable weights, did you set "
                          "`model.trainable` without calling `model.compile` after ?", UserWarning, stacklevel=3)
            self._warned_consistency = True

    def test_on_batch(self, x, y, sample_weight=None):
        """Loss and metrics of one batch in inference mode, without updating anything."""
        self._assert_compiled(x)
        xs, ys = self._data(x, y)
        with no_grad():
            return self._result(self._host_values(self._forward_losses(xs, ys, Run(False))[1]))

    def predict_on_batch(self, x):
        self._ready(x)
        return self._predict(self._inputs(x))

    def _predict(self, xs):
        graphed = graph_step.graphed_predict(self, xs)
        if graphed is not None:
            try:
                return graphed.run(xs)
            except graph_step.RecordingFailed as exc:
                graph_step.fall_back(self, exc)
        return self._host_outputs(self._forward_arrays(xs))

    def _forward_arrays(self, xs):
        """The inference forward pass: the outputs' device arrays."""
        with no_grad():
            return [o.data for o in to_list(self._execute(xs if len(xs) > 1 else xs[0], False, Run(False)))]

    @staticmethod
    def _host_outputs(outs):
        outs = [backend.to_numpy(o) for o in outs]
        return outs[0] if len(outs) == 1 else outs

    # ---- whole arrays ------------------------------------------------------------------------
    @staticmethod
    def _slices(n, batch_size):
        return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]

    def predict(self, x, batch_size=None, verbose=0, steps=None):
        """Outputs for every sample (NumPy; a list for several outputs), in batches of ``batch_size``."""
        self._ready(x)
        xs = self._inputs(x)
        n = xs[0].shape[0]
        bar = _Progbar(n, verbose)
        chunks = []
        for s in self._slices(n, batch_size or 32):
            chunks.append(to_list(self._predict([t[s] for t in xs])))
            bar.update(s.stop)
        if not chunks:
            return self._predict(xs)
        outs = [numpy.concatenate([c[i] for c in chunks]) for i in range(len(chunks[0]))]
        return outs[0] if len(outs) == 1 else outs

    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, sample_weight=None, steps=None):
        """Loss (and metrics) averaged over all samples, in inference mode, as Python floats."""
        self._assert_compiled(x)
        xs, ys = self._data(x, y)
        n = xs[0].shape[0]
        bar = _Progbar(n, verbose)
        totals = numpy.zeros(len(self.metrics_names))
        with no_grad():
            for s in self._slices(n, batch_size or 32):
                values = self._host_values(self._forward_losses([t[s] for t in xs], [t[s] for t in ys], Run(False))[1])
                totals += numpy.asarray(values, dtype=numpy.float64) * (s.stop - s.start)
                bar.update(s.stop)
        result = [float(v) for v in totals / n]
        return result[0] if len(result) == 1 else result

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose=1, callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None):
        """Mini-batch training for ``epochs``; returns a History (``history.history['loss']``, ...)."""
        from .. import callbacks as cbks
        self._assert_compiled(x)
        xs, ys = self._data(x, y)
        if validation_split and validation_data is None:
            cut = int(xs[0].shape[0] * (1.0 - validation_split))
            validation_data = ([t[cut:] for t in xs], [t[cut:] for t in ys])
            xs, ys = [t[:cut] for t in xs], [t[:cut] for t in ys]
        n, batch_size = xs[0].shape[0], batch_size or 32
        history = cbks.History()
        callback_list = [history] + list(callbacks or [])
        params = {"batch_size": batch_size, "epochs": epochs, "samples": n, "verbose": verbose,
                  "metrics": list(self.metrics_names)}
        for cb in callback_list:
            cb.set_model(self)
            cb.set_params(params)
        self.stop_training = False
        self._callbacks(callback_list, "on_train_begin", None)
        for epoch in range(initial_epoch, epochs):
            if verbose:
                print(f"Epoch {epoch + 1}/{epochs}")
            self._callbacks(callback_list, "on_epoch_begin", epoch)
            order = numpy.random.permutation(n) if shuffle else numpy.arange(n)
            bar, start = _Progbar(n, verbose), time.time()
            sums = numpy.zeros(len(self.metrics_names))
            for b, s in enumerate(self._slices(n, batch_size)):
                idx = backend.xp().asarray(order[s])
                self._callbacks(callback_list, "on_batch_begin", b, {"batch": b, "size": s.stop - s.start})
                values = to_list(self.train_on_batch([t.data[idx] for t in xs], [t.data[idx] for t in ys]))
                sums += numpy.asarray(values, dtype=numpy.float64) * (s.stop - s.start)
                logs = dict(zip(self.metrics_names, (float(v) for v in values)))
                self._callbacks(callback_list, "on_batch_end", b, logs)
                bar.update(s.stop, [(k, v) for k, v in zip(self.metrics_names, sums / s.stop)])
            logs = {k: float(v) for k, v in zip(self.metrics_names, sums / max(n, 1))}
            if validation_data is not None:
                val = to_list(self.evaluate(*validation_data[:2], batch_size=batch_size, verbose=0))
                logs.update({f"val_{k}": v for k, v in zip(self.metrics_names, val)})
            if verbose == 2:
                print(f" - {time.time() - start:.0f}s" + "".join(f" - {k}: {v:.4f}" for k, v in logs.items()))
            self._callbacks(callback_list, "on_epoch_end", epoch, logs)
            if self.stop_training:
                break
        self._callbacks(callback_list, "on_train_end", None)
        return history

    @staticmethod
    def _callbacks(callback_list, hook, arg, logs=None):
        for cb in callback_list:
            method = getattr(cb, hook, None)
            if method is not None:
                method(arg, logs) if arg is not None else method(logs)
