"""``python -m tinygan.benchmarks worker|memory ...``: the entry point of the benchmark's subprocesses (the parent
starts them; users run ``tinygan bench``).
"""
import argparse
import json
import os
import sys

from .case import _short_error
from .memory import memory_child
from .registry import DEFAULT_THREADS, MODEL_NAMES
from .timing import set_threads
from .workers import _child_command, _child_env, _imported_before, serve


def _parser():
    parser = argparse.ArgumentParser(prog="python -m tinygan.benchmarks")
    sub = parser.add_subparsers(dest="cmd", required=True)
    mem = sub.add_parser("memory", help="(internal) peak memory of one train step, printed as JSON")
    mem.add_argument("model", choices=MODEL_NAMES)
    worker = sub.add_parser("worker", help="(internal) time cases for the parent: JSON lines on stdin/stdout")
    for p in (mem, worker):
        p.add_argument("framework", choices=("tinygan", "torch"))
        p.add_argument("--quick", action="store_true")
        p.add_argument("--threads", type=int, default=DEFAULT_THREADS)
        p.add_argument("--blas-threads", type=int, default=None)
    return parser


def _run_worker(args):
    """Serve the parent on stdin/stdout, with file descriptor 1 pointed at stderr so that nothing else (a print,
    a C library's message) can get into the replies."""
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    threads_info = set_threads(args.threads, use_torch=args.framework == "torch", blas_threads=args.blas_threads)
    serve(args.framework, args.quick, threads_info, sys.stdin, replies)
    return 0


def _main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    if args.framework == "torch" and not _imported_before("torch", "tinygan"):
        # started as `python -m tinygan.benchmarks`, which imports the tinygan package first: start over, torch first
        os.execve(sys.executable, _child_command("torch", argv), _child_env("torch", args.threads, args.blas_threads))
    if args.cmd == "worker":
        return _run_worker(args)
    try:
        print(json.dumps(memory_child(args.model, args.framework, args.quick, args.threads, args.blas_threads)))
    except Exception as exc:
        print(json.dumps({"error": _short_error(exc)}))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_main())
