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
