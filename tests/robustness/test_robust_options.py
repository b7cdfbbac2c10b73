"""Out-of-range options are refused by the parser, with one line naming the option, before anything runs."""
import pytest

from tinygan import cli
from tinygan.training import guards

from robust_helpers import fails_cleanly

BAD = [
    (["pix2pix", "train", "--epochs", "0"], "--epochs"),
    (["pix2pix", "train", "--ngf", "0"], "--ngf"),
    (["pix2pix", "train", "--ndf", "-4"], "--ndf"),
    (["pix2pix", "train", "--batch-size", "0"], "--batch-size"),
    (["pix2pix", "train", "--max-steps", "-5"], "--max-steps"),
    (["pix2pix", "train", "--lr", "0"], "--lr"),
    (["pix2pix", "train", "--lr", "nan"], "--lr"),
    (["pix2pix", "train", "--beta1", "1.5"], "--beta1"),
    (["pix2pix", "train", "--save-every", "0"], "--save-every"),
    (["pix2pix", "train", "--seed", "-1"], "--seed"),
    (["pix2pix", "train", "--log-every", "-1"], "--log-every"),
    (["pix2pix", "train", "--epochs", "ten"], "--epochs"),
    (["pix2pix", "translate", "m.h5", "x.png", "-n", "0"], "-n/--count"),
    (["pix2pix", "prepare", ".", "--size", "0"], "--size"),
    (["gan1d", "train", "--batch-size", "0"], "--batch-size"),
    (["gan1d", "train", "--batch-size", "1"], "--batch-size"),  # half a batch of 1 is no sample at all
    (["gan1d", "train", "--eval-every", "0"], "--eval-every"),
    (["gan1d", "train", "--iterations", "-10"], "--iterations"),
    (["gan1d", "train", "--max-seconds", "0"], "--max-seconds"),
    (["dcgan", "train", "--epochs", "0"], "--epochs"),
    (["dcgan", "train", "--batch-size", "0"], "--batch-size"),
    (["dcgan", "train", "--latent-dim", "0"], "--latent-dim"),
    (["dcgan", "score", "g.h5", "--threshold", "2"], "--threshold"),
    (["sample", "g.h5", "--n", "0"], "--n"),
    (["latent", "interpolate", "g.h5", "--steps", "1"], "--steps"),
    (["faces", "prepare", ".", "--size", "-80"], "--size"),
]


@pytest.mark.parametrize("argv,option", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_option_is_refused_by_the_parser(argv, option, capsys):
    line = fails_cleanly(argv, capsys, "error: argument " + option)
    assert "must be" in line or "expected" in line


@pytest.mark.parametrize("argv", [["gan1d", "train"], ["dcgan", "train"], ["pix2pix", "train"],
                                  ["pix2pix", "translate", "m.h5", "x.png"], ["sample", "g.h5"]])
def test_device_is_accepted_after_the_sub_command(argv, capsys, monkeypatch):
    """`--device cuda` as documented in each sub-command's --help; without CuPy it fails with the device line."""
    import sys
    monkeypatch.setitem(sys.modules, "cupy", None)
    with pytest.raises(SystemExit) as exc:
        cli.main(argv + ["--device", "cuda"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "needs CuPy" in err and "unrecognized arguments" not in err and "Traceback" not in err


def test_device_after_the_command_wins(monkeypatch):
    args = cli.build_parser().parse_args(["--device", "cuda", "gan1d", "train", "--device", "cpu"])
    assert args.device == "cpu"
    assert cli.build_parser().parse_args(["--device", "cuda", "gan1d", "train"]).device == "cuda"


@pytest.mark.parametrize("text,ok", [("1", True), ("0", False), ("-3", False), ("2.5", False), ("x", False)])
def test_positive_int(text, ok):
    import argparse
    if ok:
        assert guards.positive_int(text) == int(text)
    else:
        with pytest.raises(argparse.ArgumentTypeError):
            guards.positive_int(text)
