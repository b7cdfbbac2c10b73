"""The command-line side of a training run, shared by ``tinygan pix2pix train`` and ``tinygan cyclegan train``:
choosing the run folder (``runs/NAME``, ``runs/NAME_2``, ...), starting afresh or resuming with the settings saved
in its checkpoint, metrics.json, and one clear line (no traceback) for bad input or a Ctrl-C outside the loop."""
import glob
import json
import os
import re
import sys
import warnings

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
            raise ValueError(f"--resume: no run with a {CHECKPOINT} under {base}* (give --out)")
        return with_ckpt[-1]
    if not os.path.exists(base) or not os.listdir(base):
        return base
    n = 2
    while os.path.exists(f"{base}_{n}") and os.listdir(f"{base}_{n}"):
        n += 1
    return f"{base}_{n}"


def start_or_resume(args, base, schedule_keys, make_settings):
    """``(out, settings, resume_from)`` for ``args.out``/``args.resume``/``args.overwrite``: on resume the settings
    saved in the checkpoint, with the options of ``schedule_keys`` that were given on this command line; else
    ``make_settings(args)``. A folder that already holds a run is refused unless resumed or overwritten."""
    from tinygan.training import checkpoint_extra

    out = resolve_out(args.out, args.resume, base)
    ckpt = os.path.join(out, CHECKPOINT)
    if args.resume:
        if not os.path.exists(ckpt):
            raise ValueError(f"--resume: no checkpoint at {ckpt}")
        _, extra = checkpoint_extra(ckpt)
        settings = dict(extra["settings"])
        for key in schedule_keys:  # what may change on resume
            if getattr(args, key, None) is not None:
                settings[key] = getattr(args, key)
        return out, settings, ckpt
    if os.path.exists(ckpt) and not args.overwrite:
        raise ValueError(f"{out} already holds a run ({CHECKPOINT}): pass --resume to continue it, "
                         "--overwrite to start afresh there, or another --out")
    return out, make_settings(args), None


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


def run_command(prog, fn, args, errors=(ValueError, FileNotFoundError)):
    """``fn(args)`` with the Agg backend; bad input -> ``prog: message`` on stderr and exit code 2; a Ctrl-C
    outside the training loop (loading, building the models) -> 130."""
    use_agg()
    try:
        with warnings.catch_warnings():
            # Keras 2 warns about the book's freeze pattern (compiled, then frozen in a composite); it is intended
            warnings.filterwarnings("ignore", message="Discrepancy between trainable weights")
            return fn(args)
    except errors as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nInterrupted (outside the training loop: nothing more saved).", file=sys.stderr)
        return 130


def begin(args, base, schedule_keys, make_settings, demo_path):
    """:func:`start_or_resume`, with the demo's data (``demo_path('train')``, ``demo_path('val')``) filled in for
    a fresh run without --data, and the run's seed set; returns ``(out, settings, resume_from)``."""
    from tinygan import random as tg_random

    out, s, resume_from = start_or_resume(args, base, schedule_keys, make_settings)
    if s["demo"] and not resume_from:
        s["data"], s["val_data"] = demo_path("train"), s["val_data"] or demo_path("val")
    tg_random.seed(s["seed"])
    return out, s, resume_from


def print_loaded(dataset, val, what, val_name="Validation"):
    print('Loaded', dataset[0].shape, dataset[1].shape, 'from', what)
    if val is not None:
        print(val_name, val[0].shape, val[1].shape)


def finish(command, out, result, metrics, seconds, settings, **values):
    """Write metrics.json (the run's state plus ``values``), print the closing line; returns the exit code part
    for an interrupted run via :func:`exit_code`."""
    metrics.update({"step": result["step"], "n_steps": result["n_steps"], "interrupted": result["interrupted"],
                    **values, "seconds_this_run": round(seconds, 1), "steps_per_s": result["steps_per_s"],
                    "settings": settings})
    write_metrics(out, metrics)
    print(f"Done: step {result['step']} of {result['n_steps']} in {seconds:.0f} s "
          f"({(result['steps_per_s'] or 0):.2f} steps/s).")


def exit_code(command, out, result):
    """130 (with how to continue) for an interrupted run, else 0."""
    if result["interrupted"]:
        print(f"Interrupted: continue with `tinygan {command} train --resume --out {out}`")
        return 130
    return 0
