"""The ``tinygan`` command: one sub-command group per application module.

Each module listed in ``COMMAND_MODULES`` exposes ``register(subparsers)``, which adds its own
sub-command(s) and sets ``func`` on them; this file only dispatches.
"""
import argparse
import importlib
import sys

COMMAND_MODULES = [
    "tinygan.gans.pix2pix_cli",
    "tinygan.gans.part1_cli",
    "tinygan.bench_cli",
    "tinygan.gans.part3_cli",
]


def build_parser():
    parser = argparse.ArgumentParser(prog="tinygan", description="Train and use the GANs of 'Generative Adversarial "
                                     "Networks with Python' on the tinygan engine.")
    parser.add_argument("--device", default=None, help="cpu (default) or cuda; also TINYGAN_DEVICE")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


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
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
