"""Chapter 10: loss/accuracy histories, the book's two-panel plot, and detectors for the failure modes.

The book diagnoses a GAN by eye: a per-step log of ``d1`` (D loss on real), ``d2`` (D loss on fake), ``g``
(generator loss) and D accuracies ``a1``/``a2``, a two-panel line plot at the end of the run, and sample grids.
This module keeps those histories and turns the book's descriptions of failure into checks that can warn
*during* training:

Convergence failure (runs C and D, and the chapter 9 crash ``d1=0.000, d2=15.942 g=0.000``)
    "the loss for the discriminator has gone to zero or close to zero" and stays there, while "the loss of the
    generator [decreases to zero or] may also rise and continue to rise". :func:`detect_convergence_failure`
    looks at the last ``window`` steps: the discriminator loss (each of ``d1``/``d2``, or the combined ``d``)
    below ``d_eps`` in at least ``frac`` of them, *and* the generator loss either at zero or climbing (positive
    trend, ending above ``g_high``). A discriminator that calls everything real (``d1`` ~ 0 with ``d2`` at the
    float32 BCE ceiling 15.942) counts too.

Mode collapse (run B, ``latent_dim = 1``)
    "the same identical image or same small subset of identical images repeating many times" and "oscillations
    in the loss over time, most notably in the generator model" (period about 25 updates in the book).
    :func:`detect_mode_collapse` compares the diversity of generated samples with that of real samples
    (:func:`sample_diversity`: mean pairwise L2 distance) and counts near-duplicates;
    :func:`detect_oscillation` finds a periodic generator loss from its autocorrelation.

The thresholds are ours (the book gives none); each detector returns a :class:`Finding` (or ``None``) whose
``message`` says what was seen, and :class:`TrainingMonitor` runs them every few steps and issues a
:class:`GANFailureWarning` when a failure appears.
"""
import csv
import time
import dataclasses
import gc
import os
import sys
import warnings

import numpy as np

from .. import distributed

#: Keras' float32 binary cross-entropy ceiling for a label-0 sample predicted 1 (d2 when D calls a fake real):
#: -log(1 - float32(1 - 1e-7)). A label-1 sample predicted 0 caps at -log(1e-7) = 16.118 instead.
BCE_CEILING = 15.942385

LOSS_KEYS = ("d1", "d2", "d", "g")
ACC_KEYS = ("a1", "a2", "a")


class GANFailureWarning(UserWarning):
    """Issued by :class:`TrainingMonitor` when a failure mode is detected."""


@dataclasses.dataclass
class Finding:
    """One detected failure: ``kind`` is ``'convergence'``, ``'mode_collapse'`` or ``'oscillation'``."""
    kind: str
    message: str
    step: int = None
    details: dict = dataclasses.field(default_factory=dict)

    def __str__(self):
        where = f" at step {self.step}" if self.step is not None else ""
        return f"{self.kind}{where}: {self.message}"


# ------------------------------------------------------------------------------------------------- history
class History:
    """Per-step training statistics: ``d1 d2 g a1 a2`` (separate D batches) or ``d g a`` (combined batch).

    ``append(d1=..., d2=..., g=..., a1=..., a2=...)`` adds one step; ``h['g']`` is a float array;
    ``to_csv`` / ``from_csv`` round-trip it (one row per step, a ``step`` column first).
    """

    def __init__(self, **series):
        self.data = {k: list(map(float, v)) for k, v in series.items()}

    def append(self, **values):
        n = len(self)
        for k, v in values.items():
            if v is None:
                continue
            col = self.data.setdefault(k, [float("nan")] * n)
            col.append(float(v))
        for col in self.data.values():                     # keep columns aligned
            while len(col) < n + 1:
                col.append(float("nan"))
        return self

    def __len__(self):
        return max((len(v) for v in self.data.values()), default=0)

    def __getitem__(self, key):
        return np.asarray(self.data[key], dtype=np.float64)

    def __contains__(self, key):
        return key in self.data

    def keys(self):
        return list(self.data)

    def last(self, n):
        """A new History with the last ``n`` steps."""
        return History(**{k: v[-n:] for k, v in self.data.items()})

    def to_csv(self, filename):
        keys = self.keys()
        with open(filename, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["step"] + keys)
            for i in range(len(self)):
                w.writerow([i + 1] + ["%.6g" % self.data[k][i] for k in keys])
        return filename

    @classmethod
    def from_csv(cls, filename):
        with open(filename, newline="") as f:
            rows = list(csv.reader(f))
        header, body = rows[0], rows[1:]
        cols = {k: [float(r[j]) if j < len(r) and r[j] != "" else float("nan") for r in body]
                for j, k in enumerate(header) if k != "step"}
        return cls(**cols)

    def state(self):
        """A plain dict for checkpoints."""
        return {k: list(v) for k, v in self.data.items()}

    @classmethod
    def from_state(cls, state):
        return cls(**(state or {}))


# --------------------------------------------------------------------------------------------------- plots
def plot_history(d1_hist, d2_hist, g_hist, a1_hist, a2_hist, filename="plot_line_plot_loss.png"):
    """The book's two-panel plot (Listing 10.9): losses ``d-real``/``d-fake``/``gen`` above,
    ``acc-real``/``acc-fake`` below."""
    from matplotlib import pyplot
    fig = pyplot.figure()
    # plot loss
    pyplot.subplot(2, 1, 1)
    pyplot.plot(d1_hist, label="d-real")
    pyplot.plot(d2_hist, label="d-fake")
    pyplot.plot(g_hist, label="gen")
    pyplot.legend()
    # plot discriminator accuracy
    pyplot.subplot(2, 1, 2)
    pyplot.plot(a1_hist, label="acc-real")
    pyplot.plot(a2_hist, label="acc-fake")
    pyplot.legend()
    # save plot to file
    pyplot.savefig(filename)
    pyplot.close(fig)
    return filename


def plot_history_combined(d_hist, g_hist, a_hist, filename="plot_line_plot_loss.png"):
    """Run C's variant (Listing 10.17): ``dis``/``gen`` losses above, ``acc`` below."""
    from matplotlib import pyplot
    fig = pyplot.figure()
    pyplot.subplot(2, 1, 1)
    pyplot.plot(d_hist, label="dis")
    pyplot.plot(g_hist, label="gen")
    pyplot.legend()
    pyplot.subplot(2, 1, 2)
    pyplot.plot(a_hist, label="acc")
    pyplot.legend()
    pyplot.savefig(filename)
    pyplot.close(fig)
    return filename


def plot_history_auto(history, filename="plot_line_plot_loss.png"):
    """:func:`plot_history` or :func:`plot_history_combined`, whichever the History's columns fit.

    Histories without accuracies (chapter 7's loop records only ``d`` and ``g``) get an empty lower panel.
    """
    if "d1" in history:
        nan = np.full(len(history), np.nan)
        return plot_history(history["d1"], history["d2"], history["g"],
                            history["a1"] if "a1" in history else nan, history["a2"] if "a2" in history else nan,
                            filename)
    nan = np.full(len(history), np.nan)
    return plot_history_combined(history["d"], history["g"], history["a"] if "a" in history else nan, filename)


# ----------------------------------------------------------------------------------------------- detectors
def _d_series(history):
    """The discriminator loss series present in ``history``: ``{'d1': ..., 'd2': ...}`` or ``{'d': ...}``."""
    return {k: history[k] for k in ("d1", "d2", "d") if k in history and len(history[k])}


def _slope(y):
    y = np.asarray(y, dtype=np.float64)
    y = y[np.isfinite(y)]
    if len(y) < 3:
        return 0.0
    x = np.arange(len(y), dtype=np.float64)
    return float(np.polyfit(x, y, 1)[0])


def detect_convergence_failure(history, window=50, d_eps=0.05, frac=0.9, g_eps=0.05, g_high=5.0):
    """Convergence failure over the last ``window`` steps of ``history`` (a :class:`History` or a dict of series).

    Fires when the discriminator loss is pinned near zero (below ``d_eps`` in at least ``frac`` of the steps) for
    every D series present (``d1`` and ``d2``, or ``d``) -- or for ``d1`` while ``d2`` sits at the BCE ceiling
    (D calls everything real) -- **and** the generator loss is at zero (median below ``g_eps``) or climbing
    (positive trend and a last-quarter mean above ``g_high``). Returns a :class:`Finding` or ``None``.
    """
    h = history if isinstance(history, History) else History(**history)
    if len(h) < window:
        return None
    h = h.last(window)
    d = _d_series(h)
    if not d or "g" not in h:
        return None
    pinned = {k: float(np.mean(v < d_eps)) for k, v in d.items()}
    ceiling = "d2" in d and float(np.mean(d["d2"] > BCE_CEILING - 0.5)) >= frac
    all_pinned = all(p >= frac for p in pinned.values())
    real_pinned_fake_ceiling = pinned.get("d1", 0.0) >= frac and ceiling
    if not (all_pinned or real_pinned_fake_ceiling):
        return None
    g = h["g"]
    g_median = float(np.median(g))
    g_slope = _slope(g)
    tail = float(np.mean(g[-max(1, window // 4):]))
    if g_median < g_eps:
        how = "generator loss at zero (median %.3f)" % g_median
    elif g_slope > 0 and tail > g_high:
        how = "generator loss climbing (to %.3f, slope %+.4f/step)" % (tail, g_slope)
    else:
        return None
    what = ("discriminator loss on real pinned near zero while its loss on fake sits at the BCE ceiling "
            "%.3f (it calls everything real)" % BCE_CEILING) if real_pinned_fake_ceiling and not all_pinned else \
        "discriminator loss pinned near zero (%s)" % ", ".join(
            "%s<%.2g in %d%% of the last %d steps" % (k, d_eps, round(100 * p), window) for k, p in pinned.items())
    return Finding("convergence", f"{what}; {how}. The book's advice: halt and restart the run.",
                   details={"pinned": pinned, "g_median": g_median, "g_slope": g_slope, "g_tail": tail,
                            "d_at_ceiling": ceiling})


def autocorrelation(x, max_lag=None):
    """Normalised autocorrelation of ``x`` (linear trend removed) for lags ``0..max_lag``."""
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = len(x)
    max_lag = n // 2 if max_lag is None else min(max_lag, n - 1)
    if n < 4:
        return np.ones(1)
    t = np.arange(n)
    scale = float(np.dot(x, x))
    x = x - np.polyval(np.polyfit(t, x, 1), t)
    var = float(np.dot(x, x))
    if var <= 1e-20 * max(scale, 1.0):            # a constant or straight line: no variation to correlate
        return np.concatenate([[1.0], np.zeros(max_lag)])
    return np.array([np.dot(x[:n - k], x[k:]) / var for k in range(max_lag + 1)])


def oscillation_period(x, min_lag=4, max_lag=None, min_strength=0.4, max_trough=-0.1):
    """``(period, strength)`` of the strongest periodic component of ``x``, or ``(None, 0.0)`` when there is none.

    The period is the lag of the highest local maximum of the autocorrelation in ``[min_lag, max_lag]``
    (default ``len(x) // 3``, so at least three cycles are seen) that reaches ``min_strength`` and comes after a
    trough at or below ``max_trough`` (a cycle swings below its mean half a period later; slowly wandering noise
    does not); ``strength`` is that maximum's autocorrelation. On AR(1) noise (rho 0.5-0.95) over 150 steps the
    defaults fire in about 1 of 1,000 windows.
    """
    x = np.asarray(x, dtype=np.float64)
    max_lag = len(x) // 3 if max_lag is None else max_lag
    acf = autocorrelation(x, max_lag)
    best, best_val = None, 0.0
    for k in range(max(min_lag, 1), len(acf) - 1):
        if acf[k] >= acf[k - 1] and acf[k] >= acf[k + 1] and acf[k] >= min_strength \
                and float(np.min(acf[:k])) <= max_trough and acf[k] > best_val:
            best, best_val = k, float(acf[k])
    return best, best_val


def detect_oscillation(history, key="g", window=150, min_lag=4, min_strength=0.4):
    """A periodic loss over the last ``window`` steps (run B: G loss "oscillating ... with a period of about 25").

    Returns a :class:`Finding` of kind ``'oscillation'`` naming the period, or ``None``. High fake accuracy
    (``a2``) alongside it is mentioned, since the book reads the pair as a mode-collapse sign.
    """
    h = history if isinstance(history, History) else History(**history)
    if key not in h or len(h) < window:
        return None
    h = h.last(window)
    period, strength = oscillation_period(h[key], min_lag=min_lag, min_strength=min_strength)
    if period is None:
        return None
    extra = ""
    if "a2" in h and float(np.nanmean(h["a2"])) > 0.9:
        extra = "; discriminator accuracy on fakes stays high (%.0f%%)" % (100 * float(np.nanmean(h["a2"])))
    return Finding("oscillation", "%s loss oscillates with a period of about %d steps (autocorrelation %.2f)%s; "
                   "the generator may be jumping between a few modes" % (key, period, strength, extra),
                   details={"period": period, "strength": strength})


def _flat(x, n_max, rng):
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    if len(x) > n_max:
        x = x[rng.choice(len(x), n_max, replace=False)]
    return x


def pairwise_distances(x):
    """Euclidean distances between the rows of a 2-D array (condensed upper triangle)."""
    sq = np.sum(x * x, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (x @ x.T), 0.0)
    iu = np.triu_indices(len(x), 1)
    return np.sqrt(d2[iu])


def sample_diversity(samples, n_max=200, seed=0):
    """Mean pairwise L2 distance between (at most ``n_max``) samples, each flattened."""
    x = _flat(samples, n_max, np.random.default_rng(seed))
    if len(x) < 2:
        return 0.0
    return float(np.mean(pairwise_distances(x)))


def duplicate_share(samples, reference, n_max=200, seed=0, quantile=0.01):
    """Share of generated samples whose nearest other generated sample is closer than the ``quantile``-quantile
    of nearest-neighbour distances among ``reference`` (real) samples -- i.e. near-duplicates."""
    rng = np.random.default_rng(seed)
    x, r = _flat(samples, n_max, rng), _flat(reference, n_max, rng)

    def nn(a):
        sq = np.sum(a * a, axis=1)
        d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (a @ a.T), 0.0)
        np.fill_diagonal(d2, np.inf)
        return np.sqrt(d2.min(axis=1))
    thresh = float(np.quantile(nn(r), quantile))
    return float(np.mean(nn(x) <= thresh))


def detect_mode_collapse(fake, real, ratio=0.5, dup_share=0.5, n_max=200):
    """Mode collapse from samples: generated diversity below ``ratio`` x real diversity, or at least
    ``dup_share`` of generated samples being near-duplicates of each other. Returns a :class:`Finding` or ``None``.

    Both sets must be on the same scale (e.g. both in [0,1] or both in [-1,1]).
    """
    div_fake, div_real = sample_diversity(fake, n_max), sample_diversity(real, n_max)
    dups = duplicate_share(fake, real, n_max)
    rel = div_fake / div_real if div_real > 0 else float("inf")
    details = {"diversity_fake": div_fake, "diversity_real": div_real, "ratio": rel, "duplicate_share": dups}
    if rel < ratio or dups >= dup_share:
        return Finding("mode_collapse", "generated samples are far less diverse than real ones (mean pairwise "
                       "distance %.3g vs %.3g, ratio %.2f; %.0f%% near-duplicates)" % (div_fake, div_real, rel,
                                                                                        100 * dups),
                       details=details)
    return None


def summarize(history, window=100):
    """Means over the last ``window`` steps and a verdict: ``'stable'`` when the book's stable signature holds
    (D losses in [0.3, 0.8], G loss in [0.5, 2.5], D accuracy in [0.6, 0.9]), ``'convergence failure'`` when
    :func:`detect_convergence_failure` fires, ``'oscillating'`` for :func:`detect_oscillation`, else ``'unclear'``."""
    h = history if isinstance(history, History) else History(**history)
    w = min(window, len(h))
    last = h.last(w)
    means = {k: float(np.nanmean(last[k])) for k in last.keys()}
    verdict = "unclear"
    if detect_convergence_failure(h, window=w):
        verdict = "convergence failure"
    elif detect_oscillation(h, window=w):
        verdict = "oscillating"
    else:
        d_ok = all(0.3 <= means[k] <= 0.8 for k in ("d1", "d2", "d") if k in means)
        g_ok = 0.5 <= means.get("g", 0) <= 2.5
        accs = [means[k] for k in ("a1", "a2", "a") if k in means]
        a_ok = all(0.6 <= a <= 0.9 for a in accs) if accs else True
        if d_ok and g_ok and a_ok:
            verdict = "stable"
    means["verdict"] = verdict
    return means


# ------------------------------------------------------------------------------------------------- monitor
class TrainingMonitor:
    """Records every step and runs the detectors every ``check_every`` steps over the last ``window``.

    ``keep`` bounds the steps held in ``history`` (None: all of them): a long run's full history is in its CSV,
    and the detectors look at the last ``window``/``osc_window`` steps only, so a session keeps a few windows and
    its memory stays flat however long it runs. ``steps`` counts every step recorded.

    ``update(d1=..., d2=..., g=..., a1=..., a2=...)`` returns the *new* findings (a failure is reported when it
    appears and again only after it has cleared); each is also issued as a :class:`GANFailureWarning` when
    ``warn`` is true and passed to ``callback`` (e.g. ``print``) when given. ``check_samples(fake, real)`` runs
    the diversity check (call it where the book plots samples); it is skipped for the first ``sample_warmup``
    steps, since an untrained generator always looks collapsed.
    """

    def __init__(self, window=50, check_every=10, osc_window=150, warn=True, callback=None, history=None,
                 sample_warmup=100, keep=None):
        self.window, self.check_every, self.osc_window = window, check_every, osc_window
        self.keep = None if keep is None else max(int(keep), window, osc_window)
        self.dropped = 0                   # steps trimmed from the front of history (see ``keep``)
        self.sample_warmup = sample_warmup
        self.warn, self.callback = warn, callback
        self.history = history if history is not None else History()
        self.findings = []
        self._active = set()

    def _emit(self, finding):
        self.findings.append(finding)
        if self.warn:
            warnings.warn(str(finding), GANFailureWarning, stacklevel=3)
        if self.callback:
            self.callback("!" + str(finding))

    @property
    def steps(self):
        return self.dropped + len(self.history)

    def update(self, **values):
        self.history.append(**values)
        if self.keep is not None and len(self.history) >= 2 * self.keep:   # trimmed in blocks: amortised O(1)
            self.dropped += len(self.history) - self.keep
            self.history = self.history.last(self.keep)
        step = self.steps
        if step % self.check_every:
            return []
        new = []
        for kind, f in (("convergence", detect_convergence_failure(self.history, self.window)),
                        ("oscillation", detect_oscillation(self.history, window=self.osc_window))):
            if f is None:
                self._active.discard(kind)
            elif kind not in self._active:
                self._active.add(kind)
                f.step = step
                new.append(f)
                self._emit(f)
        return new

    def check_samples(self, fake, real, **kw):
        if self.steps < self.sample_warmup:
            return None                    # an untrained generator's output is always near-uniform
        f = detect_mode_collapse(fake, real, **kw)
        if f is None:
            self._active.discard("mode_collapse")
            return None
        f.step = self.steps
        if "mode_collapse" not in self._active:
            self._active.add("mode_collapse")
            self._emit(f)
        return f

    def state(self):
        return {"history": self.history.state(), "findings": [dataclasses.asdict(f) for f in self.findings]}

    def load_state(self, state):
        self.history, self.dropped = History.from_state(state.get("history")), 0
        self.findings = [Finding(**f) for f in state.get("findings", [])]


def save_history(history, folder, plot=True, csv_name="history.csv", plot_name="plot_line_plot_loss.png"):
    """Write ``history.csv`` and the two-panel plot into ``folder``; returns the paths written."""
    os.makedirs(folder, exist_ok=True)
    out = [history.to_csv(os.path.join(folder, csv_name))]
    if plot and len(history):
        out.append(plot_history_auto(history, os.path.join(folder, plot_name)))
    return out


# ------------------------------------------------------------------------------------------------- session
def collect_summary_garbage():
    """A full garbage collection, run once after each summary so dead figures do not pile up between full passes.

    A summary's matplotlib figure is a web of reference cycles (figure, axes, artists, callbacks) that
    ``pyplot.close`` unregisters but cannot free; only the cyclic collector's rare full pass does, and in between
    the dead figures pile up. Measured on a 10,000-step gan1d run (tests/robustness/test_robust_memory.py), RSS
    from step 2,000 to 10,000 grew 4.65% without this and 4.0% with it (loaded machine): most of what remains is
    matplotlib filling its caches over the run's first figures. One pass costs tens of milliseconds."""
    gc.collect()


class TrainingSession:
    """The bookkeeping around one of the book's training loops, so the loop itself can read like the book.

    ``with TrainingSession(models, n_steps, out_dir=...) as run:`` then ``for k in range(run.start, run.end):``,
    do the book's step, and ``if not run.record(k + 1, d1=..., d2=..., g=..., a1=..., a2=...): break``.

    It provides

    * a budget: ``max_steps`` and ``max_seconds`` (wall clock, summaries included) end the run early;
    * resumable checkpoints (:func:`tinygan.training.save_checkpoint`: weights, optimizer state, RNG state, step)
      every ``checkpoint_every`` steps, when asked with :meth:`checkpoint`, and at the end (or on Ctrl-C, which
      first lets the step finish: :class:`tinygan.training.GracefulInterrupt`); ``resume`` (a path, or ``True``
      for ``out_dir/checkpoint.npz``) continues a run exactly;
    * a per-step CSV (``history.csv`` via :class:`tinygan.training.RunLog`) and, at the end, the chapter 10
      two-panel plot ``plot_line_plot_loss.png`` (or ``plot(history, filename)`` when ``plot`` is a function);
    * a :class:`TrainingMonitor` whose warnings are printed as ``!...`` lines;
    * a tqdm progress bar (``progress=True``); :meth:`write` prints around it;
    * a stop at the first NaN/inf loss, naming the step, without saving the broken weights (``on_nan='continue'``
      goes on);
    * the run page ``index.html`` (:mod:`tinygan.training.runpage`), rewritten after each summary (a summary calls
      :meth:`check_samples`), at least every minute, at each checkpoint and at the end;
    * with ``evaluation`` (a :class:`tinygan.metrics.during_training.Evaluation`, ``--eval-every``): its FID/KID
      columns in the CSV at its steps, on the run page and in ``fid_kid.png``.
    """

    CHECKPOINT = "checkpoint.npz"
    CSV = "history.csv"
    PLOT = "plot_line_plot_loss.png"
    MONITOR_KEEP = 1000    # steps of history the monitor holds in memory; the CSV holds them all

    def __init__(self, models, n_steps, out_dir=".", fields=("d1", "d2", "g", "a1", "a2"), desc="gan",
                 resume=None, checkpoint_every=None, max_steps=None, max_seconds=None, progress=False, log=print,
                 monitor=True, extra=None, optimizer_only=("gan_model",), plot=True, on_nan="stop", evaluation=None):
        self.models, self.n_steps, self.out_dir = models, int(n_steps), out_dir
        self.fields, self.desc, self.evaluation = list(fields), desc, evaluation
        self.checkpoint_every, self.max_seconds = checkpoint_every, max_seconds
        self.progress, self.log, self.extra = progress, log, dict(extra or {})
        self.optimizer_only, self.plot = optimizer_only, plot
        if on_nan not in ("stop", "continue"):
            raise ValueError(f"on_nan must be 'stop' or 'continue', got {on_nan!r}")
        self.on_nan = on_nan
        os.makedirs(out_dir, exist_ok=True)
        self.checkpoint_path = os.path.join(out_dir, self.CHECKPOINT)
        if resume is True:
            resume = self.checkpoint_path if os.path.exists(self.checkpoint_path) else None
        self.resume_from = resume or None
        self.end = self.n_steps if max_steps is None else min(self.n_steps, int(max_steps))
        if monitor is True:
            monitor = TrainingMonitor(warn=False, keep=self.MONITOR_KEEP)
        self.monitor = monitor or None
        self.start, self.step = 0, 0
        self.stopped = None            # None (ran to the end), 'budget', 'max_steps', 'interrupt', 'nan'
        self.bar = self.runlog = self._stop = None
        self._t0 = None
        self._last_ckpt = None
        self._page_due, self._page_time, self._last_values = True, 0.0, {}

    # ---- context ------------------------------------------------------------------------------------------
    def __enter__(self):
        from tqdm.auto import tqdm

        from . import GracefulInterrupt, RunLog, load_checkpoint
        csv_path = os.path.join(self.out_dir, self.CSV)
        if self.resume_from:
            self.start, saved = load_checkpoint(self.resume_from, self.models)
            self.step = self.start
            self._last_ckpt = self.start
            if self.log:
                self.log(f"Resumed from {self.resume_from} at step {self.start} of {self.n_steps}")
        columns = self.fields + (self.evaluation.columns if self.evaluation else [])
        self.runlog = RunLog(csv_path, columns, resume_step=self.start if self.resume_from else None,
                             flush_every=100)
        if self.monitor is not None and self.resume_from and os.path.exists(csv_path):
            full = self.csv_history(self.start)
            self.monitor.history = full.last(self.monitor.keep or len(full))
            self.monitor.dropped = len(full) - len(self.monitor.history)
        self._stop = GracefulInterrupt().__enter__()
        self.bar = tqdm(total=self.end, initial=self.start, disable=not self.progress, unit="step",
                        dynamic_ncols=True, desc=self.desc)
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is KeyboardInterrupt:
                self.stopped = "interrupt"
                self.write(f"\nAborted during step {self.step + 1}; the last checkpoint on disk is kept "
                           f"({self.checkpoint_path}).")
            elif exc_type is None and self.step > self.start and self._last_ckpt != self.step \
                    and self.stopped != "nan":
                self.checkpoint(self.step)
            if exc_type is None and self.stopped in ("budget", "interrupt", "max_steps") and self.step < self.n_steps:
                self.write(f"Stopped at step {self.step} of {self.n_steps} ({self.stopped}); checkpoint "
                           f"{self.checkpoint_path}: continue with --resume (train(..., resume=True)).")
        finally:
            self.runlog.close()
            self.bar.close()
            self._stop.__exit__(None, None, None)
            if self.plot and exc_type in (None, KeyboardInterrupt):
                try:
                    h = History.from_csv(os.path.join(self.out_dir, self.CSV))
                    if len(h):
                        draw = self.plot if callable(self.plot) else plot_history_auto
                        draw(h, os.path.join(self.out_dir, self.PLOT))
                    if self.evaluation is not None and self.evaluation.latest:
                        self.evaluation.plot(os.path.join(self.out_dir, self.CSV))
                except Exception as err:     # a plot must never lose a run
                    self.write(f"(could not draw {self.PLOT}: {err})")
                self.write_page(running=False)
        return exc_type is KeyboardInterrupt

    # ---- per step -----------------------------------------------------------------------------------------
    @property
    def elapsed(self):
        return time.perf_counter() - self._t0 if self._t0 is not None else 0.0

    def write(self, msg):
        if self.log is None:
            return
        if self.bar is not None and not self.bar.disable and self.log is print:
            from tqdm.auto import tqdm
            tqdm.write(msg)
        else:
            self.log(msg)

    def record(self, step, **values):
        """Log step ``step`` (1-based) and say whether to go on (False: budget spent, or Ctrl-C)."""
        from .guards import first_nonfinite, nan_stop_message
        self.step = int(step)
        bad = first_nonfinite(values)
        if self.evaluation is not None and not bad:
            values = {**values, **self.evaluation.at(step, self.write)}
        self.runlog.log(step, **values)
        self._last_values = values
        if bad and self.on_nan == "stop":
            self.stopped = "nan"
            message = nan_stop_message(step, bad, self._last_ckpt)
            if self.log:
                self.write(message)
            else:  # said even when quiet
                print(message, file=sys.stderr)
            return False
        if self.monitor is not None:
            for f in self.monitor.update(**{k: values.get(k) for k in self.fields}):
                self.write("!" + str(f))
        self.bar.update(1)
        if self.progress and step % 10 == 0:
            self.bar.set_postfix({k: "%.3f" % v for k, v in values.items() if k in ("d", "d1", "d2", "g")},
                                 refresh=False)
        if self.checkpoint_every and step % self.checkpoint_every == 0:
            self.checkpoint(step)
        if self._page_due:
            collect_summary_garbage()
        if self._page_due or time.perf_counter() - self._page_time > 60:
            self.write_page()
        if step >= self.end:
            if self.end < self.n_steps:
                self.stopped = "max_steps"
            return False
        # under mpiexec the ranks agree: a Ctrl-C or a spent budget on any rank stops all of them
        interrupt, budget = distributed.any_rank(self._stop.requested,
                                                 self.max_seconds is not None and self.elapsed >= self.max_seconds)
        if interrupt or budget:
            self.stopped = "interrupt" if interrupt else "budget"
            return False
        return True

    def check_samples(self, fake, real):
        """Run the mode-collapse check on samples (both on the same scale); prints a finding once."""
        if self.monitor is None:
            return None
        self._page_due = True  # the summary's files are written by the time the next step is recorded
        before = len(self.monitor.findings)
        f = self.monitor.check_samples(fake, real)
        if f is not None and len(self.monitor.findings) > before:
            self.write("!" + str(f))
        return f

    def checkpoint(self, step=None):
        from . import save_checkpoint
        step = self.step if step is None else step
        self.runlog.flush()
        extra = dict(self.extra, n_steps=self.n_steps)
        save_checkpoint(self.checkpoint_path, self.models, step, extra=extra,
                        optimizer_only=tuple(n for n in self.optimizer_only if n in self.models))
        self._last_ckpt = step
        self.write_page()
        return self.checkpoint_path

    def write_page(self, running=True):
        """Rewrite the run page ``index.html`` (losses, sample grids, options, timing)."""
        from .runpage import write_run_page
        self._page_due, self._page_time = False, time.perf_counter()
        steps = self.step - self.start
        timing = {"step": f"{self.step} of {self.n_steps}", "seconds (this session)": round(self.elapsed, 1),
                  "steps/s": round(steps / self.elapsed, 2) if self.elapsed > 0 and steps else "-",
                  "stopped": self.stopped or ("-" if running else "finished")}
        last = {k: v for k, v in self._last_values.items() if isinstance(v, (int, float))}
        last.update(self.evaluation.latest if self.evaluation is not None else {})
        findings = {f"finding {i + 1}": str(f) for i, f in enumerate(self.monitor.findings)} if self.monitor else {}
        return write_run_page(self.out_dir, f"tinygan {self.desc}", options=self.extra, metrics={**last, **findings},
                              timing=timing, running=running)

    def csv_history(self, upto):
        """The History of steps 1..``upto`` as the CSV holds them (exact: the CSV keeps repr() of each float)."""
        from . import read_csv
        rows = [r for r in read_csv(os.path.join(self.out_dir, self.CSV)) if r["step"] <= upto]
        return History(**{f: [np.nan if r.get(f) is None else r[f] for r in rows] for f in self.fields})

    def result(self, **more):
        """The session's summary; ``history`` (every step of the run, read back from the CSV) when monitored."""
        steps = self.step - self.start
        recorded = self.step - 1 if self.stopped == "nan" else self.step   # the NaN step is logged, not recorded
        out = {"step": self.step, "n_steps": self.n_steps, "start": self.start, "stopped": self.stopped,
               "seconds": self.elapsed, "steps_per_s": steps / self.elapsed if self.elapsed > 0 else None,
               "checkpoint": self.checkpoint_path, "out_dir": self.out_dir,
               "history": self.csv_history(recorded) if self.monitor is not None else None,
               "findings": list(self.monitor.findings) if self.monitor is not None else []}
        out.update(more)
        return out
