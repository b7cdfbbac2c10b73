"""Run folders: one rule for every training command about when a folder may be (re)used.

:func:`open_run_dir` is what a command calls once it knows its ``--out``:

* a path that names a file is refused;
* without ``--resume``, a folder that already holds a run (its ``checkpoint.npz``) is refused unless
  ``--overwrite`` is given, and then that run's files (checkpoint, models, figures, logs) are deleted first, so
  nothing of the old run (an old ``model_*.h5`` say) is later taken for the new one;
* ``--resume`` without a checkpoint there is refused (it never silently starts a fresh run);
* ``*.tmp-PID`` files left by a process killed while saving (a checkpoint, a prepared dataset, the run page) are
  removed, and so are the temporaries without a PID in their names (the model writer's ``.tmp-XXXXXXXX.zip``,
  the loss plot's ``losses.png.tmp.png``) once they are a minute old.
"""
import glob
import os
import re
import time

from .guards import InputError

CHECKPOINT = "checkpoint.npz"
#: the files a run writes (every command); ``--overwrite`` removes these and only these
RUN_FILES = ("checkpoint.npz", "*.h5", "*.png", "losses.csv", "history.csv", "metrics.json", "run.json",
             "index.html")
_TMP = re.compile(r"\.tmp-(\d+)(\.[A-Za-z0-9]+)?$")
_UNNAMED_TMP = re.compile(r"^\.tmp-\w+\.zip$|\.tmp\.png$")  # model.save's mkstemp names; plot_losses
UNNAMED_TMP_AGE_S = 60


def _alive(pid):
    if pid == os.getpid():
        return False  # ours, and we have not started writing: left by an earlier process with our PID
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def remove_stale_temporaries(folder):
    """Delete the ``*.tmp-PID`` files in ``folder`` whose writer process is gone (and the temporaries without a
    PID a minute old); returns their paths."""
    removed = []
    if not os.path.isdir(folder):
        return removed
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if os.path.isfile(path) and _stale(name, path):
            try:
                os.remove(path)
                removed.append(path)
            except OSError:
                pass
    return removed


def _stale(name, path):
    m = _TMP.search(name)
    if m:
        return not _alive(int(m.group(1)))
    return bool(_UNNAMED_TMP.search(name)) and time.time() - os.path.getmtime(path) > UNNAMED_TMP_AGE_S


def check_out_path(out, option="--out"):
    if os.path.exists(out) and not os.path.isdir(out):
        raise InputError(f"{option} {out} is a file, not a folder; give a folder for the run")


def open_run_dir(out, resume=False, overwrite=False, command="the same command", log=print):
    """Check ``out`` for a new run (or a resumed one, ``resume=True``) and clean it; returns ``out``. The folder
    itself is left to the training loop to create, so a run refused later (bad data) leaves nothing behind."""
    check_out_path(out)
    ckpt = os.path.join(out, CHECKPOINT)
    if resume:
        if not os.path.exists(ckpt):
            raise InputError(f"--resume: no checkpoint at {ckpt}, so there is no run to continue; leave out "
                             "--resume to start one (or give the run's folder with --out)")
    elif os.path.exists(ckpt):
        if not overwrite:
            raise InputError(f"{out} already holds a run (checkpoint.npz): pass --resume to continue it, "
                             "--overwrite to start afresh there, or another --out")
        removed = remove_run_files(out)
        if log and removed:
            log(f"--overwrite: removed {len(removed)} file(s) of the previous run in {out}")
    stale = remove_stale_temporaries(out)
    if log and stale:
        log(f"Removed {len(stale)} unfinished temporary file(s) left by an interrupted save: "
            + ", ".join(os.path.basename(p) for p in stale))
    return out


def remove_run_files(out, patterns=RUN_FILES):
    removed = []
    for pattern in patterns:
        for path in glob.glob(os.path.join(glob.escape(out), pattern)):
            if os.path.isfile(path):
                os.remove(path)
                removed.append(path)
    return removed
