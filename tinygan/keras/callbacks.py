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
