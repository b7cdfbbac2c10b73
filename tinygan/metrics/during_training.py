"""FID and KID of a generator's samples every N training steps (``--eval-every``), one helper for every training
command.

An :class:`Evaluation` is given one :class:`Target` per generator to judge (a name, ``sample(n)`` -> ``n``
generated images, held-out real images), an :class:`~tinygan.metrics.features.Extractor` and a schedule. The
training loops (:class:`tinygan.training.TrainingLoop`, :class:`tinygan.training.diagnostics.TrainingSession`)
call ``evaluation.at(step, write)`` after each step: at multiples of ``every`` it returns the values for that
step's CSV row, ``{'fid': .., 'kid': ..}`` (``fid_NAME``/``kid_NAME`` for named targets, e.g. CycleGAN's two
directions), else ``{}``; :meth:`Evaluation.plot` draws them (``fid_kid.png``, shown on the run page).

FID is Listing 13.1's formula (its eigenvalue form); KID is the unbiased polynomial MMD^2 on all ``n`` samples at
once (with a few hundred samples, KID's random subsets would only repeat them). The real images' features are
computed once, when the evaluation is made, so a missing weights file or an unreadable model fails before the
training starts.

Random numbers: each evaluation runs under :func:`~tinygan.training.rng_isolated` with the global streams seeded
by ``seed``. It therefore draws the same latent points (and dropout masks) every time -- a fixed evaluation set,
so the numbers of two steps differ only by the generator -- and leaves the training's own streams where they were:
whether and how often one evaluates never changes the losses, and a resumed run repeats the uninterrupted one.
"""
import collections
import os
import time

import numpy

from .features import extract
from .scores import MetricError, frechet_distance, kernel_inception_distance

__all__ = ["Evaluation", "Target", "PLOT"]

PLOT = "fid_kid.png"

#: ``sample(n)``: ``n`` generated images; ``real``: held-out real images in the same pixel range (the first
#: ``n_samples`` are used, and as many generated ones)
Target = collections.namedtuple("Target", "name sample real")


class Evaluation:
    """FID/KID of each target's samples against its real images every ``every`` steps, ``n_samples`` of each,
    through ``extractor``; ``value_range`` is the images' pixel range ('-1-1', '0-1' or '0-255')."""

    def __init__(self, targets, extractor, every, n_samples=200, seed=1, value_range="-1-1", batch_size=50):
        if int(every) < 1:
            raise MetricError(f"--eval-every must be a positive number of steps, got {every}")
        if int(n_samples) < 2:
            raise MetricError(f"--eval-samples must be at least 2 (a covariance needs two samples), got {n_samples}")
        self.targets, self.extractor, self.every = list(targets), extractor, int(every)
        self.n_samples, self.seed, self.value_range, self.batch_size = int(n_samples), seed, value_range, batch_size
        self.columns = [f"{metric}{_suffix(t)}" for t in self.targets for metric in ("fid", "kid")]
        self.latest = {}
        self._real = {t.name: self._features(t.real[:self.n_samples], f"held-out images of {t.name or 'the run'}")
                      for t in self.targets}

    def describe(self):
        """One line for the start of the run."""
        sizes = ", ".join(f"{len(self._real[t.name])}{' ' + t.name if t.name else ''}" for t in self.targets)
        return (f"Evaluation every {self.every} steps: FID and KID of generated vs held-out real images, {sizes} of "
                f"each ({self.extractor.label}); columns {', '.join(self.columns)}")

    def _features(self, images, what):
        if len(images) < 2:
            raise MetricError(f"--eval-every: {len(images)} {what}; at least 2 are needed (a covariance needs two)")
        return extract(self.extractor, images, self.batch_size, progress=False, source_range=self.value_range)

    def at(self, step, write=print):
        """The CSV values of training step ``step`` (1-based): FID/KID at multiples of ``every``, else {}.
        Under ``mpiexec`` rank 0 alone evaluates (the ranks hold the same weights)."""
        from .. import distributed
        from ..random import seed as seed_streams
        from ..training.loop import rng_isolated

        if step % self.every or not distributed.is_root():
            return {}
        values, t0 = {}, time.perf_counter()
        with rng_isolated():
            seed_streams(self.seed)
            for target in self.targets:
                try:
                    real = self._real[target.name]
                    fake = self._features(numpy.asarray(target.sample(len(real))),
                                          f"generated images of {target.name or 'the generator'}")
                    values[f"fid{_suffix(target)}"] = frechet_distance(fake, real)
                    values[f"kid{_suffix(target)}"] = kernel_inception_distance(fake, real, 1, len(fake))[0]
                except MetricError as exc:  # e.g. NaN images: say so, keep training (the NaN stop guards the losses)
                    if write:
                        write(f"evaluation at step {step} skipped: {exc}")
        if values and write:
            write(f">step {step}: " + ", ".join(f"{k}={v:.4g}" for k, v in values.items())
                  + f" ({time.perf_counter() - t0:.1f} s)")
        self.latest.update(values)
        return values

    def plot(self, csv_path):
        """Draw the run's FID and KID columns (from its CSV log) into ``fid_kid.png`` next to it."""
        from ..training.runlog import plot_losses
        fid = [c for c in self.columns if c.startswith("fid")]
        kid = [c for c in self.columns if c.startswith("kid")]
        return plot_losses(csv_path, os.path.join(os.path.dirname(os.path.abspath(csv_path)), PLOT),
                           groups=[fid, kid], title=f"FID and KID ({self.extractor.label})")


def _suffix(target):
    return f"_{target.name}" if target.name else ""
