"""Training-loop infrastructure shared by the GAN applications.

Layer 5 (applications), beside ``tinygan.gans``: it may import ``tinygan.keras`` and the layers below (and never
``tinygan.gans`` or the command line); the GAN modules, their command lines and the tests import it.

* :mod:`.checkpoint`: resumable checkpoints (weights, optimizer state, RNG state, step, extra JSON), atomic writes.
* :mod:`.runlog`: CSV loss log, loss-curve PNG, the discriminator-loss-at-zero warning.
* :mod:`.interrupt`: Ctrl-C (and SIGTERM) that lets the current step finish, then saves.
* :mod:`.guards`: option types, npz/image-range checks, NaN-loss stops, one-line errors for every command.
* :mod:`.rundir`: the run-folder rules (resume/overwrite/``--out`` a file, stale temporaries).
* :mod:`.runpage`: the run's ``index.html``.
* :mod:`.loop`: the run around a step function (progress bar, log line, CSV/PNG, summaries, checkpoints, resume,
  NaN stop, run page).
"""
from .checkpoint import CheckpointError, atomic_write_npz, checkpoint_extra, load_checkpoint, read_checkpoint, save_checkpoint
from .interrupt import GracefulInterrupt
from .loop import TrainingLoop, rng_isolated
from .runlog import RunLog, ZeroLossMonitor, plot_losses, read_csv

__all__ = ["CheckpointError", "GracefulInterrupt", "RunLog", "ZeroLossMonitor", "atomic_write_npz", "checkpoint_extra",
           "load_checkpoint", "plot_losses", "read_checkpoint", "read_csv", "rng_isolated", "save_checkpoint",
           "TrainingLoop"]
