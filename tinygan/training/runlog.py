"""Run logs: a CSV file of per-step losses, a loss-curve PNG, and a watch on a discriminator loss stuck at zero.

``RunLog(path, fields)`` appends one row per step (``step`` first, then ``fields``) and flushes every
``flush_every`` rows. Opened with ``resume_step=n`` it keeps the rows up to step ``n`` and drops any later ones
(written after the checkpoint being resumed), so the CSV always matches the training trajectory.

``plot_losses(csv_path, png_path)`` draws every column against the step (raw values faint, a moving average
on top), one panel per group of columns.

``ZeroLossMonitor`` implements the book's advice (ch. 23): "If loss for the discriminator goes to zero and stays
there for a long time, consider re-starting the training run".
"""
import csv
import math
import os

import numpy as np


class RunLog:
    """Append-only CSV of training metrics, safe to resume."""

    def __init__(self, path, fields, resume_step=None, flush_every=50):
        self.path = os.fspath(path)
        self.fields = ["step"] + [f for f in fields if f != "step"]
        self.flush_every = int(flush_every)
        self._pending = 0
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        if resume_step is not None and os.path.exists(self.path):
            rows = [r for r in read_csv(self.path) if r.get("step") is not None and r["step"] <= resume_step]
            self._file = open(self.path, "w", newline="")
            self._writer = csv.writer(self._file)
            self._writer.writerow(self.fields)
            for r in rows:
                self._writer.writerow([_fmt(r.get(f)) for f in self.fields])
            self._file.flush()
        else:
            self._file = open(self.path, "w", newline="")
            self._writer = csv.writer(self._file)
            self._writer.writerow(self.fields)
            self._file.flush()

    def log(self, step, **values):
        self._writer.writerow([int(step)] + [_fmt(values.get(f)) for f in self.fields[1:]])
        self._pending += 1
        if self._pending >= self.flush_every:
            self.flush()

    def flush(self):
        if not self._file.closed:
            self._file.flush()
        self._pending = 0

    def close(self):
        if not self._file.closed:
            self._file.flush()
            self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _fmt(v):
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return v


def read_csv(path):
    """Rows of a RunLog CSV as dicts of floats (``step`` as int; empty cells as None)."""
    rows = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            out = {}
            for k, v in row.items():
                if v in ("", None):
                    out[k] = None
                elif k == "step":
                    out[k] = int(float(v))
                else:
                    try:
                        out[k] = float(v)
                    except ValueError:
                        out[k] = v
            rows.append(out)
    return rows


def moving_average(values, window):
    values = np.asarray(values, dtype=float)
    if window <= 1 or len(values) < 2:
        return values
    window = min(window, len(values))
    c = np.cumsum(np.insert(values, 0, 0.0))
    out = np.empty_like(values)
    for i in range(len(values)):  # trailing window, shorter at the start
        lo = max(0, i + 1 - window)
        out[i] = (c[i + 1] - c[lo]) / (i + 1 - lo)
    return out


def plot_losses(csv_path, png_path, groups=None, title=None, smooth=None):
    """Plot the columns of a RunLog CSV against ``step`` into ``png_path``.

    ``groups``: list of lists of column names, one panel each (default: one panel per column).
    ``smooth``: moving-average window (default: about 1/50 of the run, at least 1).
    """
    import matplotlib
    matplotlib.use("Agg", force=False)
    from matplotlib import pyplot

    rows = read_csv(csv_path)
    if not rows:
        return None
    columns = [k for k in rows[0] if k != "step"]
    groups = groups or [[c] for c in columns]
    steps = np.array([r["step"] for r in rows])
    smooth = smooth or max(1, len(rows) // 50)
    fig, axes = pyplot.subplots(len(groups), 1, figsize=(8, 2.4 * len(groups)), sharex=True, squeeze=False)
    for ax, group in zip(axes[:, 0], groups):
        for name in group:
            vals = np.array([np.nan if r.get(name) is None else r[name] for r in rows], dtype=float)
            ok = np.isfinite(vals)
            if not ok.any():
                continue
            if ok.sum() < 0.5 * len(vals):  # a sparse column (e.g. a validation metric): points, no smoothing
                ax.plot(steps[ok], vals[ok], "o-", linewidth=1.4, markersize=4, label=name)
                continue
            line, = ax.plot(steps[ok], vals[ok], alpha=0.25, linewidth=0.7)
            ax.plot(steps[ok], moving_average(vals[ok], smooth), color=line.get_color(), linewidth=1.4,
                    label=f"{name} (avg {smooth})" if smooth > 1 else name)
        ax.legend(loc="upper right", fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("step")
    if title:
        axes[0, 0].set_title(title)
    fig.tight_layout()
    tmp = png_path + ".tmp.png"
    fig.savefig(tmp, dpi=90)
    pyplot.close(fig)
    os.replace(tmp, png_path)
    return png_path


class ZeroLossMonitor:
    """Warn when a discriminator loss stays at (about) zero for ``window`` consecutive steps.

    ``update(step, *losses)`` returns a warning message (once per stretch; re-armed when the loss recovers) or
    None. The loss counts as zero when every value passed is below ``threshold``.
    """

    def __init__(self, window=200, threshold=1e-3):
        self.window = int(window)
        self.threshold = float(threshold)
        self.run = 0
        self.warned = False

    def update(self, step, *losses):
        vals = [float(v) for v in losses]
        if all(math.isfinite(v) and v < self.threshold for v in vals):
            self.run += 1
        else:
            self.run = 0
            self.warned = False
        if self.run >= self.window and not self.warned:
            self.warned = True
            return (f"warning: the discriminator loss has stayed below {self.threshold:g} for {self.run} steps "
                    f"(step {step}). The book's advice: if the discriminator loss goes to zero and stays there "
                    "for a long time, consider re-starting the training run (another --seed).")
        return None

    def state(self):
        return {"run": self.run, "warned": self.warned}

    def load_state(self, state):
        self.run = int(state.get("run", 0))
        self.warned = bool(state.get("warned", False))
