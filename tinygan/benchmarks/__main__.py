"""``python -m tinygan.benchmarks worker|memory ...``: the entry point of the benchmark's subprocesses."""
import sys

from . import _main

sys.exit(_main())
