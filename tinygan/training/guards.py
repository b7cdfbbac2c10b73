"""Checks on what users hand a command, shared by every command so each refuses bad input the same way.

* argparse types (:func:`positive_int`, :func:`non_negative_int`, :func:`int_at_least`, :func:`positive_float`,
  :func:`non_negative_float`, :func:`fraction`): a zero or negative ``--epochs``/``--batch-size``/``-n`` is refused
  by the parser with one line, instead of silently becoming a default or a NaN run;
* :func:`load_npz` and :func:`as_images`: an ``.npz`` that is truncated, corrupt, holds objects (pickle) or
  images of an unknown range/dtype is refused with one line naming the file and the array; pixel data in
  0..255 (any integer dtype, or floats), [0, 1] or [-1, 1] is rescaled to what the model expects;
* :func:`first_nonfinite` / :func:`nan_stop_message`: a training loop stops at the first NaN/inf loss and says at
  which step;
* :func:`error_line` and :func:`one_line_errors`: the exceptions that mean "bad input or a failing disk", turned
  into the single line a command prints (no traceback).
"""
import argparse
import errno
import functools
import math
import sys
import zipfile

import numpy as np

from ..errors import UserInputError


class InputError(UserInputError):
    """A file or value given by the user cannot be used; the message says what to do instead."""


# ---- argparse types -----------------------------------------------------------------------------------------
def _number(kind, text):
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected a {'whole number' if kind is int else 'number'}, got {text!r}")
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def int_at_least(low):
    """An argparse type: a whole number >= ``low``."""
    def parse(text):
        value = _number(int, text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {text!r}")
        return value
    parse.__name__ = f"int>={low}"
    return parse


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)


def positive_float(text):
    value = _number(float, text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text!r}")
    return value


def non_negative_float(text):
    value = _number(float, text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return value


def fraction(text):
    """A number in [0, 1) (e.g. Adam's beta_1)."""
    value = _number(float, text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text!r}")
    return value


# ---- npz files and image arrays -------------------------------------------------------------------------------
def load_npz(path, what="dataset"):
    """{name: array} of the ``.npz`` at ``path``, or an :class:`InputError` that names the file and the problem.

    Arrays are read eagerly (a truncated member fails here, not in the middle of training); object arrays are
    refused (``allow_pickle=False``), so a crafted file cannot run code.
    """
    path = str(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            if not hasattr(data, "files"):
                raise InputError(f"{path} is a single .npy array, not an .npz {what}")
            return {k: data[k] for k in data.files}
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not an .npz {what}") from None
    except ValueError as exc:
        if "pickle" in str(exc):
            raise InputError(f"{path} holds Python objects (pickled data), which tinygan never loads; save plain "
                             "numeric arrays with numpy.savez") from None
        raise InputError(f"{path} is not a readable .npz {what} ({exc}); make it again") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise InputError(f"{path} is not a readable .npz {what}: the file is truncated or corrupt "
                         f"({type(exc).__name__}: {exc}); make it again") from None


RANGES = {"0..255": (0.0, 255.0), "[0, 1]": (0.0, 1.0), "[-1, 1]": (-1.0, 1.0)}


def pixel_range(images, name):
    """Which of 0..255, [0, 1] or [-1, 1] the pixel array ``images`` is in; :class:`InputError` when it is none of
    them or cannot be images at all (bool, complex, strings, NaN/inf, empty)."""
    a = np.asarray(images)
    kind = a.dtype.kind
    if a.size == 0:
        raise InputError(f"{name} is empty (shape {a.shape})")
    if kind == "b":
        raise InputError(f"{name} is a boolean array: store images as uint8 0..255 (e.g. (mask * 255)"
                         ".astype('uint8'))")
    if kind not in "uif":
        raise InputError(f"{name} has dtype {a.dtype}; images must be numbers (uint8 0..255, or floats in [0, 1] or "
                         "[-1, 1])")
    lo, hi = float(a.min()), float(a.max())
    if kind == "f" and not (math.isfinite(lo) and math.isfinite(hi)):
        bad = int(np.count_nonzero(~np.isfinite(a)))
        raise InputError(f"{name} holds {bad} NaN or infinite value(s); clean the data before training")
    if kind in "ui":
        if lo >= 0 and hi <= 255:
            return "0..255"
    elif lo >= 0 and hi <= 1:
        return "[0, 1]"
    elif lo >= -1 and hi <= 1:
        return "[-1, 1]"
    elif lo >= 0 and hi <= 255:
        return "0..255"
    raise InputError(f"{name} ({a.dtype}) has values from {lo:g} to {hi:g}, which is none of 0..255, [0, 1] or "
                     "[-1, 1]; rescale the images to one of these")


def as_images(images, name, target="[-1, 1]", dtype="float32"):
    """``images`` rescaled from the range :func:`pixel_range` finds to ``target`` ('[-1, 1]' or '[0, 1]').

    uint8 0..255 to [-1, 1] is the book's ``(X - 127.5) / 127.5``, bit for bit.
    """
    source = pixel_range(images, name)
    x = np.asarray(images, dtype=dtype)
    if source == target:
        return x
    if source == "0..255":
        return ((x - 127.5) / 127.5).astype(dtype, copy=False) if target == "[-1, 1]" else x / np.float32(255.0)
    if source == "[0, 1]":
        return x * 2 - 1 if target == "[-1, 1]" else x
    return (x + 1) / 2  # [-1, 1] -> [0, 1]


# ---- losses -----------------------------------------------------------------------------------------------------
def first_nonfinite(values):
    """The first ``name=value`` of ``values`` (a dict) that is NaN or infinite, or None."""
    for k, v in values.items():
        if v is not None and isinstance(v, (float, int, np.floating, np.integer)) and not math.isfinite(float(v)):
            return f"{k}={float(v)}"
    return None


def nan_stop_message(step, bad, last_checkpoint=None):
    kept = (f"the last checkpoint (step {last_checkpoint}) is kept" if last_checkpoint
            else "no checkpoint was saved from this run")
    return (f"Stopped at step {step}: the loss is not finite ({bad}); the weights are no longer usable, so nothing "
            f"was saved and {kept}. Try a lower --lr or another --seed, or pass --continue-on-nan to go on anyway.")


# ---- one line per error -----------------------------------------------------------------------------------------
def error_line(exc):
    """The message a command prints for ``exc``: bad input or a failing disk, in one line."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        where = f" while writing {exc.filename}" if exc.filename else ""
        return (f"the disk is full{where}. The files written before are kept (the last checkpoint loads); free "
                "some space and continue with --resume")
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
        return f"cannot write {exc.filename or 'a file'} ({exc.strerror}); choose another --out"
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


#: what :func:`one_line_errors` turns into one line (anything else is a bug and keeps its traceback). ValueError
#: covers UserInputError and the Keras API's own argument errors; an OpError (a ValueError raised inside the
#: engine) is a bug and is re-raised.
USER_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile)


def one_line_errors(prog):
    """Decorator for a command function ``f(args) -> exit code``: a user error prints ``prog: message`` on stderr
    and returns 2; a Ctrl-C outside the training loop returns 130."""
    def wrap(fn):
        @functools.wraps(fn)
        def run(args):
            try:
                return fn(args)
            except KeyboardInterrupt:
                print(f"\n{prog}: interrupted (outside the training loop: nothing more saved)", file=sys.stderr)
                return 130
            except USER_ERRORS as exc:
                from ..autograd.tensor import OpError
                if isinstance(exc, OpError):
                    raise
                print(f"{prog}: {error_line(exc)}", file=sys.stderr)
                return 2
        return run
    return wrap
