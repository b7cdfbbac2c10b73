"""Shared pieces of the robustness suite: tiny datasets and runs, and the check that a failure is one clean line."""
import os
import subprocess
import sys

import numpy as np

from tinygan import cli

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIZE = 32
PIX2PIX_SMALL = ["--ngf", "4", "--ndf", "4", "--no-progress", "--log-every", "0"]


def toy_pairs_uint8(n=6, seed=0):
    rng = np.random.default_rng(seed)
    src = rng.integers(0, 256, (n, SIZE, SIZE, 3), dtype=np.uint8)
    return src, (255 - src)


def fails_cleanly(argv, capsys, *needles, code=2):
    """Run the command in-process; it must return ``code`` (or exit with it) and print one line on stderr that
    contains every needle, with no traceback."""
    try:
        rc = cli.main([str(a) for a in argv])
    except SystemExit as exc:  # argparse
        rc = exc.code
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert rc == code, (rc, captured.out[-2000:], err)
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    assert err.startswith("usage:") or len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in last, (needle, last)
    return last


def run_child(args, timeout=300, **kw):
    """``python -m tinygan ARGS`` in a child process from the repository root (for signals and kill -9)."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "tinygan", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, **kw)


def child_env():
    return dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
