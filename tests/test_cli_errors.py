"""The command's error contract: a UserInputError prints one line and exits 2; an engine error (OpError) or any
other exception inside a command is a bug and keeps its traceback."""
import os
import subprocess
import sys

import pytest

from tinygan import OpError, cli
from tinygan.errors import UserInputError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _command(raised):
    def func(args):
        raise raised
    return func


def _main_with(monkeypatch, raised):
    build = cli.build_parser

    def parser_with_a_failing_command():
        parser = build()
        parser.set_defaults(func=_command(raised), command="boom")
        return parser

    monkeypatch.setattr(cli, "build_parser", parser_with_a_failing_command)
    return cli.main([])


def test_user_input_error_is_one_line_with_exit_2(monkeypatch, capsys):
    assert _main_with(monkeypatch, UserInputError("no such file: x.npz")) == 2
    assert capsys.readouterr().err == "tinygan boom: no such file: x.npz\n"


@pytest.mark.parametrize("error", [OpError("conv2d: engine bug"), ValueError("plain bug"), FileNotFoundError("f")])
def test_other_errors_propagate(monkeypatch, error):
    with pytest.raises(type(error)):
        _main_with(monkeypatch, error)


def test_an_engine_error_inside_a_command_shows_its_traceback(tmp_path):
    """A real command (pix2pix translate) whose op raises OpError: the process prints the traceback, not a
    one-line 'user error'."""
    script = ("import sys\nimport tinygan.ops.conv as conv\nfrom tinygan import OpError\n"
              "def broken(*a, **k):\n    raise OpError('Conv2D: simulated engine bug')\n"
              "conv.conv2d = broken\nimport tinygan.keras.layers.convolutional as layers\n"
              "layers.ops.conv2d = broken\n"
              "from tinygan.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    demo = os.path.join(ROOT, "tinygan", "data", "pix2pix_photo2edges_64_val.npz")
    g = tmp_path / "g.h5"
    from tinygan.gans.pix2pix import define_generator
    define_generator((64, 64, 3), ngf=8).save(str(g))
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.run([sys.executable, "-c", script, "pix2pix", "translate", str(g), demo, "-n", "1",
                           "-o", str(tmp_path / "out")], capture_output=True, text=True, env=env, cwd=str(tmp_path))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback (most recent call last)" in proc.stderr and "OpError: Conv2D: simulated engine bug" in proc.stderr
