"""The run around a GAN's training step, shared by the applications (Pix2Pix, CycleGAN): progress bar, the book's
log line, CSV loss log and loss-curve PNG, summaries, full-state checkpoints that resume exactly, Ctrl-C that
finishes the step and saves.

A NaN or infinite loss stops the run at that step without saving (``on_nan='continue'`` goes on), and the run's
page ``index.html`` (:mod:`.runpage`) is rewritten at each summary. Under ``mpiexec`` the ranks stop together.

An application supplies three callables::

    loop = TrainingLoop("pix2pix", out_dir, models, fields, n_steps, steps_per_epoch, summary_every=10, ...)
    if loop.saved:                       # resuming: restore what the application keeps itself (pools, ...)
        ...
    result = loop.run(step, summarize, state)

* ``step(i)`` runs training step ``i`` (0-based) and returns a dict of the step's losses (CSV columns);
* ``summarize(i, write, last)`` runs at each summary (every ``summary_every`` epochs and at the last step), writes
  its messages with ``write`` and returns extra CSV values (validation metrics) for that row;
* ``state()`` returns the application's own JSON-like state for the checkpoint (image pools, counters), given
  back as ``loop.saved`` on resume.

Summaries (and anything else drawing random numbers outside the step) should run under :func:`rng_isolated`, so
how often one summarizes never changes the loss trajectory. ``evaluation`` (``--eval-every``: a
:class:`tinygan.metrics.during_training.Evaluation`) adds its FID/KID columns to the CSV at its steps.
"""
import contextlib
import os
import time

from .. import distributed
from .checkpoint import load_checkpoint, save_checkpoint
from .diagnostics import collect_summary_garbage
from .guards import first_nonfinite, nan_stop_message
from .interrupt import GracefulInterrupt
from .runlog import RunLog, plot_losses, read_csv
from .runpage import write_run_page

CHECKPOINT_NAME = "checkpoint.npz"


@contextlib.contextmanager
def rng_isolated():
    """Run a block (a sample plot, a validation pass) without moving the training's random streams."""
    import random as py_random

    from tinygan import random as tg_random
    state, py_state = tg_random.get_state(), py_random.getstate()
    try:
        yield
    finally:
        tg_random.set_state(state)
        py_random.setstate(py_state)


class TrainingLoop:
    """Steps ``start .. min(n_steps, max_steps)`` of a run in ``out_dir``, resumable from ``resume_from``.

    ``models``: {name: model} saved in every checkpoint (weights, layer state, optimizer state; names in
    ``optimizer_only`` only their optimizer, e.g. composites). ``fields``: the step's CSV columns (``epoch`` first
    and ``seconds`` last are added). ``log_line(step, row)``: the book's line, printed every ``log_every`` steps.
    ``postfix(row)``: the progress bar's postfix. ``monitor``/``monitor_keys``: a
    :class:`~tinygan.training.ZeroLossMonitor` fed those columns each step (its state is checkpointed).
    ``checkpoint_every``: steps between extra checkpoints. ``stop``: an object with ``.requested`` (a
    :class:`GracefulInterrupt` is installed when None). ``callback(step, row)`` after every step. ``on_nan``:
    'stop' (the default) or 'continue' at a non-finite loss. The run page shows ``extra['settings']`` (or ``extra``)
    as the options, and ``page_metrics(row)`` (default: the latest row's losses) with ``extra['baselines']``.
    """

    def __init__(self, name, out_dir, models, fields, n_steps, steps_per_epoch, *, summary_every=1,
                 checkpoint_every=None, checkpoint_path=None, resume_from=None, max_steps=None, extra=None, stop=None,
                 callback=None, progress=True, log=print, log_every=1, log_line=None, postfix=None,
                 optimizer_only=(), plot_groups=None, monitor=None, monitor_keys=(), on_nan="stop",
                 page_metrics=None, evaluation=None):
        self.name, self.out_dir, self.models, self.evaluation = name, out_dir, models, evaluation
        self.n_steps, self.steps_per_epoch = n_steps, steps_per_epoch
        self.summary_steps = max(1, int(round(steps_per_epoch * summary_every))) if summary_every else None
        self.checkpoint_every, self.extra, self.stop, self.callback = checkpoint_every, extra, stop, callback
        self.progress, self.log, self.log_every = progress, log, log_every
        self.log_line, self.postfix = log_line, postfix
        self.optimizer_only, self.plot_groups = optimizer_only, plot_groups
        self.monitor, self.monitor_keys, self.on_nan = monitor, monitor_keys, on_nan
        self.page_metrics = page_metrics or (lambda row: {k: v for k, v in row.items()
                                                          if k not in ("step", "epoch", "seconds")})
        os.makedirs(out_dir, exist_ok=True)
        self.checkpoint_path = checkpoint_path or os.path.join(out_dir, CHECKPOINT_NAME)
        self.end = n_steps if max_steps is None else min(n_steps, int(max_steps))
        self.start, self.saved, self.last_checkpoint = 0, None, None
        if resume_from:
            self.start, self.saved = load_checkpoint(resume_from, models)
            self.last_checkpoint = self.start
            if monitor and "monitor" in self.saved:
                monitor.load_state(self.saved["monitor"])
            if log:
                log(f"Resumed from {resume_from} at step {self.start} of {n_steps}")
        evaluated = evaluation.columns if evaluation else []
        self.runlog = RunLog(os.path.join(out_dir, "losses.csv"), ["epoch", *fields, *evaluated, "seconds"],
                             resume_step=self.start if resume_from else None)
        self.loss_png = os.path.join(out_dir, "losses.png")
        self._bar = None

    def write(self, msg):
        """A message above the progress bar (or through ``log``)."""
        from tqdm.auto import tqdm
        above_bar = self.log is print and self._bar is not None and not self._bar.disable
        if self.log is not None:
            (tqdm.write if above_bar else self.log)(msg)

    def _checkpoint(self, step, state):
        self.last_checkpoint = step
        extra = {"n_steps": self.n_steps, **state(), "monitor": self.monitor.state() if self.monitor else {},
                 **(self.extra or {})}
        return save_checkpoint(self.checkpoint_path, self.models, step, extra=extra,
                               optimizer_only=self.optimizer_only)

    def _plot(self):
        plot_losses(self.runlog.path, self.loss_png, groups=self.plot_groups, title=f"{self.name} losses")
        if self.evaluation is not None and self.evaluation.latest:
            self.evaluation.plot(self.runlog.path)

    def _page(self, step, row, seconds, running):
        done = step - self.start
        timing = {"step": f"{step} of {self.n_steps}", "epoch": "%.2f" % (step / self.steps_per_epoch),
                  "seconds (this session)": round(seconds, 1),
                  "steps/s": round(done / seconds, 2) if done and seconds > 0 else "-"}
        extra = self.extra or {}
        latest = self.evaluation.latest if self.evaluation is not None else {}
        write_run_page(self.out_dir, f"tinygan {self.name}", options=extra.get("settings") or extra,
                       metrics={**self.page_metrics(row), **latest, **extra.get("baselines", {})}, timing=timing,
                       running=running)

    def run(self, step, summarize, state):
        """Train; returns {step, n_steps, history (rows of this call, read back from the CSV: a long run keeps no
        per-step rows in memory), interrupted, steps_per_s, checkpoint, out_dir, nan_step}."""
        from tqdm.auto import tqdm

        last_step, interrupted, i, nan_step = self.start, False, self.start - 1, None
        stop_ctx = GracefulInterrupt() if self.stop is None else contextlib.nullcontext(self.stop)
        t0 = time.perf_counter()
        with stop_ctx as stop:
            self._bar = bar = tqdm(total=self.end, initial=self.start, disable=not self.progress, unit="step",
                                   dynamic_ncols=True, desc=self.name, leave=True)
            try:
                for i in range(self.start, self.end):
                    losses = step(i)
                    row = {"step": i + 1, "epoch": (i + 1) / self.steps_per_epoch, **losses,
                           "seconds": time.perf_counter() - t0}
                    bad = first_nonfinite(row) if self.on_nan == "stop" else None
                    if bad:
                        self.runlog.log(**row)
                        nan_step = i + 1
                        self.write(nan_stop_message(i + 1, bad, self.last_checkpoint))
                        break
                    if self.evaluation is not None:
                        row.update(self.evaluation.at(i + 1, self.write))
                    if self.log_line and self.log_every and (i + 1) % self.log_every == 0:
                        self.write(self.log_line(i + 1, row))
                    if self.monitor:
                        msg = self.monitor.update(i + 1, *(row[k] for k in self.monitor_keys))
                        if msg:
                            self.write(msg)
                    bar.update(1)
                    if self.progress and self.postfix and (i + 1) % 10 == 0:
                        bar.set_postfix(**self.postfix(row), refresh=False)
                    last = (i + 1) == self.end
                    if (self.summary_steps and (i + 1) % self.summary_steps == 0) or last:
                        self.runlog.flush()
                        row.update(summarize(i, self.write, last) or {})
                        collect_summary_garbage()
                        self.runlog.log(**row)
                        self.runlog.flush()
                        self._plot()
                        self._checkpoint(i + 1, state)
                        self._page(i + 1, row, time.perf_counter() - t0, running=not last)
                    else:
                        self.runlog.log(**row)
                        if self.checkpoint_every and (i + 1) % self.checkpoint_every == 0:
                            self.runlog.flush()
                            self._checkpoint(i + 1, state)
                    last_step = i + 1
                    if self.callback is not None:
                        self.callback(i + 1, row)
                    # under mpiexec the ranks stop together: a Ctrl-C on any of them stops all
                    if stop is not None and distributed.any_rank(getattr(stop, "requested", False)) and not last:
                        interrupted = True
                        self.runlog.flush()
                        path = self._checkpoint(i + 1, state)
                        self._plot()
                        self._page(i + 1, row, time.perf_counter() - t0, running=False)
                        self.write(f"Interrupted at step {i + 1} of {self.n_steps}: checkpoint saved to {path}. "
                                   f"Resume with the same command plus --resume (or train(..., "
                                   f"resume_from={path!r})).")
                        break
            except KeyboardInterrupt:
                # a second Ctrl-C (or one outside the main thread): the step may be half done, so the checkpoint
                # on disk (the last complete one) is kept as it is
                interrupted = True
                self.write(f"\nAborted during step {i + 1}; the last checkpoint on disk is kept "
                           f"({self.checkpoint_path}).")
            finally:
                bar.close()
                self.runlog.close()
        elapsed = time.perf_counter() - t0
        history = [r for r in read_csv(self.runlog.path) if self.start < r["step"] <= last_step]
        return {"step": last_step, "n_steps": self.n_steps,
                "history": history, "interrupted": interrupted,
                "steps_per_s": (len(history) / elapsed) if elapsed > 0 else None,
                "checkpoint": self.checkpoint_path, "out_dir": self.out_dir, "nan_step": nan_step}
