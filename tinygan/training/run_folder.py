"""The command-line side of a training run, shared by ``tinygan pix2pix train`` and ``tinygan cyclegan train``:
choosing the run folder (``runs/NAME``, ``runs/NAME_2``, ...), starting afresh or resuming with the settings saved
in its checkpoint, metrics.json, and one clear line (no traceback) for bad input or a Ctrl-C outside the loop.
The folder rules themselves (``--out`` a file, ``--resume``/``--overwrite``, stale temporaries) are
:func:`tinygan.training.rundir.open_run_dir`'s; under ``mpiexec`` rank 0 chooses the folder and the other ranks
write to temporary ones (:mod:`tinygan.distributed.runs`)."""
import glob
import json
import os
import re
import warnings

from ..errors import UserInputError
from .guards import one_line_errors

CHECKPOINT = "checkpoint.npz"


def use_agg():
    """The command line only writes files: matplotlib's file-only backend (no window, works headless)."""
    import matplotlib
    matplotlib.use("Agg")


def command_group(subparsers, name, help, description):
    """``tinygan NAME {prepare,train,translate}``: the group's parser (printing its help when no sub-command is
    given) and its sub-parsers."""
    p = subparsers.add_parser(name, help=help, description=description)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])
    return p, p.add_subparsers(dest=f"{name}_command", metavar="{prepare,train,translate}")


def find_runs(base):
    """``base``, ``base_2``, ``base_3``, ... that exist, in that order."""
    runs = [d for d in glob.glob(base + "*") if os.path.isdir(d) and re.fullmatch(
        re.escape(os.path.basename(base)) + r"(_\d+)?", os.path.basename(d))]
    return sorted(runs, key=lambda d: int(d.rsplit("_", 1)[1]) if re.search(r"_\d+$", d) else 1)


def resolve_out(out, resume, base):
    """The run folder: ``out`` if given; to resume, the latest ``base*`` with a checkpoint; else ``base`` or the
    first free ``base_N``."""
    if out:
        return out
    runs = find_runs(base)
    if resume:
        with_ckpt = [d for d in runs if os.path.exists(os.path.join(d, CHECKPOINT))]
        if not with_ckpt:
            raise UserInputError(f"--resume: no run with a {CHECKPOINT} under {base}* (give --out)")
        return with_ckpt[-1]
    if not os.path.exists(base) or not os.listdir(base):
        return base
    n = 2
    while os.path.exists(f"{base}_{n}") and os.listdir(f"{base}_{n}"):
        n += 1
    return f"{base}_{n}"


DATA_KEYS = ("data", "val_data")  # may change on resume: the same images moved elsewhere (the shape is checked)


def start_or_resume(args, base, schedule_keys, make_settings):
    """``(out, settings, resume_from)`` for ``args.out``/``args.resume``/``args.overwrite``: on resume the settings
    saved in the checkpoint, with the options of ``schedule_keys`` and the data paths that were given on this
    command line; else ``make_settings(args)``. A folder that already holds a run is refused unless resumed or
    overwritten (:func:`~tinygan.training.rundir.open_run_dir`)."""
    from tinygan.distributed import runs
    from tinygan.training import checkpoint_extra
    from tinygan.training.rundir import open_run_dir

    out = runs.agree(open_run_dir(resolve_out(args.out, args.resume, base), resume=args.resume,
                                  overwrite=args.overwrite))  # under mpiexec: rank 0's choice
    if not args.resume:
        return out, make_settings(args), None
    ckpt = os.path.join(out, CHECKPOINT)
    _, extra = checkpoint_extra(ckpt)
    if "settings" not in extra:
        raise UserInputError(f"{ckpt} is not a {os.path.basename(base)} training checkpoint (no saved settings)")
    settings = dict(extra["settings"])
    for key in schedule_keys:  # what may change on resume
        if getattr(args, key, None) is not None:
            settings[key] = getattr(args, key)
    for key in DATA_KEYS:
        if getattr(args, key, None):
            settings[key] = os.path.abspath(getattr(args, key))
    return out, settings, ckpt


def read_metrics(out, resumed):
    """The run's metrics.json (kept on resume, empty for a fresh run)."""
    path = os.path.join(out, "metrics.json")
    if resumed and os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return {}


def write_metrics(out, metrics):
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)


def run_command(prog, fn, args):
    """``fn(args)`` with the Agg backend; bad input -> ``prog: message`` on stderr and exit code 2; a Ctrl-C
    outside the training loop (loading, building the models) -> 130 (:func:`~tinygan.training.guards.one_line_errors`)."""
    use_agg()
    with warnings.catch_warnings():
        # Keras 2 warns about the book's freeze pattern (compiled, then frozen in a composite); it is intended
        warnings.filterwarnings("ignore", message="Discrepancy between trainable weights")
        return one_line_errors(prog)(fn)(args)


def begin(args, base, schedule_keys, make_settings, demo_path):
    """:func:`start_or_resume`, with the demo's data (``demo_path('train')``, ``demo_path('val')``) filled in for
    a fresh run without --data, and the run's seed set; returns ``(out, settings, resume_from)``. Under
    ``mpiexec`` ranks > 0 get a temporary folder for ``out`` (rank 0 alone writes the run)."""
    from tinygan import random as tg_random
    from tinygan.distributed import runs

    out, s, resume_from = start_or_resume(args, base, schedule_keys, make_settings)
    if s["demo"] and not resume_from:
        s["data"], s["val_data"] = demo_path("train"), s["val_data"] or demo_path("val")
    tg_random.seed(s["seed"])
    return runs.run_folder(out), s, resume_from


def print_loaded(dataset, val, what, val_name="Validation", batch_size=1):
    from tinygan import distributed
    print('Loaded', dataset[0].shape, dataset[1].shape, 'from', what)
    if val is not None:
        print(val_name, val[0].shape, val[1].shape)
    if distributed.describe(batch_size):
        print(distributed.describe(batch_size))


def finish(command, out, result, metrics, seconds, settings, **values):
    """Write metrics.json (the run's state plus ``values``), print the closing line; returns the exit code part
    for an interrupted run via :func:`exit_code`."""
    from tinygan import distributed
    metrics.update({"step": result["step"], "n_steps": result["n_steps"], "interrupted": result["interrupted"],
                    **values, "seconds_this_run": round(seconds, 1), "steps_per_s": result["steps_per_s"],
                    "ranks": distributed.size(), "settings": settings})
    write_metrics(out, metrics)
    print(f"Done: step {result['step']} of {result['n_steps']} in {seconds:.0f} s "
          f"({(result['steps_per_s'] or 0):.2f} steps/s).")


def exit_code(command, out, result):
    """3 after a NaN stop, 130 (with how to continue) for an interrupted run, else 0."""
    print(f"Run page: {os.path.join(out, 'index.html')}")
    if result.get("nan_step"):
        return 3
    if result["interrupted"]:
        print(f"Interrupted: continue with `tinygan {command} train --resume --out {out}`")
        return 130
    return 0
