"""What the training commands need to run unchanged under ``mpiexec``: one run folder, rank 0 the only writer.

The book's loops write plots, models, CSV logs and checkpoints as they go. Rather than guard each write, the
commands give ranks > 0 a private temporary folder (removed at exit) as their output folder and silence their
standard output; ``save_checkpoint`` writes on rank 0 only; every rank reads its inputs (data, the checkpoint
to resume) from the real paths, which must be visible to all ranks (one machine, or a shared filesystem).
"""
import atexit
import os
import shutil
import sys
import tempfile

from . import active, broadcast_object, rank


def run_folder(out):
    """The folder this rank writes to: ``out`` on rank 0, a temporary one on the others, whose printed output
    is dropped (errors still reach stderr). ``out`` must be the same on every rank: see :func:`agree`."""
    if not active() or rank() == 0:
        return out
    scratch = tempfile.mkdtemp(prefix=f"tinygan-rank{rank()}-")
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    sys.stdout = open(os.devnull, "w")
    return scratch


def agree(out):
    """Rank 0's choice of run folder on every rank (a default like runs/pix2pix_N depends on what exists)."""
    return broadcast_object(out)


def shows_progress(requested):
    """Progress bars on rank 0 only."""
    return bool(requested) and (not active() or rank() == 0)
