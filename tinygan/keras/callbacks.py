"""Keras 2.2 callbacks for ``Model.fit``: the base class, History, EarlyStopping, ModelCheckpoint, LambdaCallback."""
import math


class Callback:
    """Hooks ``fit`` calls; override what you need. ``self.model`` and ``self.params`` are set before training."""

    def __init__(self):
        self.model, self.params = None, {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass


class History(Callback):
    """Per-epoch logs: ``history.history['loss']`` etc.; ``fit`` returns it."""

    def on_train_begin(self, logs=None):
        self.epoch, self.history = [], {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


def _improved(mode, monitor):
    if mode == "auto":
        mode = "max" if "acc" in monitor else "min"
    return (lambda new, best: new > best) if mode == "max" else (lambda new, best: new < best)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs."""

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto"):
        super().__init__()
        self.monitor, self.min_delta, self.patience, self.verbose = monitor, abs(min_delta), patience, verbose
        self._better = _improved(mode, monitor)
        self._sign = -1 if self._better(1, 0) else 1

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch = 0, 0
        self.best = math.inf * self._sign

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            raise KeyError(f"EarlyStopping monitors {self.monitor!r}, which is not in the logs {sorted(logs or {})}")
        if self._better(current + self._sign * self.min_delta, self.best):
            self.best, self.wait = current, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.verbose:
                print(f"Epoch {epoch + 1:05d}: early stopping")


class ModelCheckpoint(Callback):
    """Save the model after each epoch to ``filepath`` (formatted with ``epoch`` and the logs)."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, mode="auto", period=1):
        super().__init__()
        self.filepath, self.monitor, self.verbose = filepath, monitor, verbose
        self.save_best_only, self.period = save_best_only, period
        self._better = _improved(mode, monitor)
        self.best = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if (epoch + 1) % self.period:
            return
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None or (self.best is not None and not self._better(current, self.best)):
                return
            self.best = current
        if self.verbose:
            print(f"Epoch {epoch + 1:05d}: saving model to {path}")
        self.model.save(path)


class LambdaCallback(Callback):
    """A callback made of plain functions, e.g. ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``."""

    def __init__(self, **hooks):
        super().__init__()
        for name, fn in hooks.items():
            if not hasattr(Callback, name):
                raise TypeError(f"LambdaCallback: unknown hook {name!r}")
            setattr(self, name, fn)


class TensorBoard(Callback):
    """Keras 2.2's ``TensorBoard``: the logs of ``fit`` (loss, metrics, val_*) as scalars in TensorBoard event
    files under ``log_dir`` (``tensorboard --logdir`` shows them), written with TensorBoard's own writer.

    Needs the ``tensorboard`` package (``pip install "tinygan[tensorboard]"``), not TensorFlow. ``update_freq``:
    'epoch' (default), 'batch', or a number of samples between batch-level writes. Scalars only: histograms,
    gradients, images, embeddings and the graph (``histogram_freq``, ``write_grads``, ``write_images``,
    ``embeddings_freq``, ``write_graph``) are accepted for compatibility and not written.
    """

    def __init__(self, log_dir="./logs", histogram_freq=0, batch_size=32, write_graph=True, write_grads=False,
                 write_images=False, embeddings_freq=0, embeddings_layer_names=None, embeddings_metadata=None,
                 embeddings_data=None, update_freq="epoch"):
        super().__init__()
        try:
            from tensorboard.summary.writer.event_file_writer import EventFileWriter
        except ImportError:
            raise ImportError("the TensorBoard callback needs the tensorboard package: pip install "
                              "\"tinygan[tensorboard]\" (or pip install tensorboard)") from None
        if update_freq not in ("epoch", "batch") and not (isinstance(update_freq, int) and update_freq > 0):
            raise ValueError(f"update_freq must be 'epoch', 'batch' or a positive number of samples, got "
                             f"{update_freq!r}")
        self.log_dir, self.update_freq, self.batch_size = log_dir, update_freq, batch_size
        self._writer_class = EventFileWriter
        self._writer, self._samples, self._since_write = None, 0, 0

    def on_train_begin(self, logs=None):
        self.batch_size = self.params.get("batch_size") or self.batch_size
        if self._writer is None:
            self._writer = self._writer_class(self.log_dir)

    def _write(self, logs, step):
        import time

        from tensorboard.compat.proto import event_pb2, summary_pb2
        values = [summary_pb2.Summary.Value(tag=name, simple_value=float(value)) for name, value in (logs or {}).items()
                  if isinstance(value, (int, float)) or getattr(value, "ndim", None) == 0]
        if values:
            self._writer.add_event(event_pb2.Event(wall_time=time.time(), step=int(step),
                                                   summary=summary_pb2.Summary(value=values)))

    def on_batch_end(self, batch, logs=None):
        if self.update_freq == "epoch":
            return
        size = int((logs or {}).get("size", self.batch_size))
        self._samples += size
        self._since_write += size
        if self.update_freq == "batch" or self._since_write >= self.update_freq:
            self._write({f"batch_{k}": v for k, v in (logs or {}).items() if k not in ("batch", "size")},
                        self._samples)
            self._since_write = 0

    def on_epoch_end(self, epoch, logs=None):
        self._write(logs, epoch)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
