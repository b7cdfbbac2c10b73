"""The ``tinygan`` command: one sub-command group per application module.

Each module listed in ``COMMAND_MODULES`` exposes ``register(subparsers)``, which adds its own
sub-command(s) and sets ``func`` on them; this file only dispatches. A command reports bad input by raising
``tinygan.errors.UserInputError``, which is printed as one line (exit status 2). ``--device`` is accepted before
the command and on every sub-command (``tinygan dcgan train --device cuda``), the later one winning.
"""
import argparse
import importlib
import sys

from .cpu_defaults import configure_cpu
from .errors import UserInputError

COMMAND_MODULES = [
    "tinygan.gans.pix2pix_cli",
    "tinygan.gans.cyclegan_cli",
    "tinygan.gans.part1_cli",
    "tinygan.bench_cli",
    "tinygan.metrics_cli",
    "tinygan.gans.part3_cli",
]
DEVICE_HELP = "cpu (default) or cuda; also TINYGAN_DEVICE"


def build_parser():
    parser = argparse.ArgumentParser(prog="tinygan", description="Train and use the GANs of 'Generative Adversarial "
                                     "Networks with Python' on the tinygan engine.")
    parser.add_argument("--device", default=None, help=DEVICE_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:  # a module that fails to import is a bug: its error shows, nothing is dropped
        importlib.import_module(name).register(sub)
    _add_device_to_subcommands(parser)
    return parser


def _add_device_to_subcommands(parser):
    """Give every leaf sub-command its own ``--device`` (unless it has one); SUPPRESS keeps the value given
    before the command when it is not repeated after it."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _add_device_to_subcommands(child)
            return
    if "--device" not in parser._option_string_actions:
        parser.add_argument("--device", default=argparse.SUPPRESS, help=DEVICE_HELP)


def command(argv=None):
    """The ``tinygan`` console command (and ``python -m tinygan``): the speed defaults, then ``main``. They
    are applied here, before any command module imports NumPy, and not by ``main``, which tests call in-process."""
    configure_cpu()
    return main(argv)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if args.device:
        from . import backend
        try:
            backend.set_device(args.device)
        except backend.DeviceError as exc:
            parser.exit(2, f"tinygan: {exc}\n")
    try:
        return args.func(args) or 0
    except UserInputError as exc:  # bad input: one line; any other exception is a bug and keeps its traceback
        print(f"tinygan {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(command())
