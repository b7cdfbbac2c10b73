"""Measured quality of the chapter 15-20 GANs (slow): the README's "Part IV-V GANs" table, rerun and asserted.

Each case trains with the README's step budget and seed through the CLI, then ``--score`` measures the samples
with the embedded digit classifier (trained here with seed 1, as for the README). The thresholds sit a little
below the measured figures, since BLAS threading can move the last bits of a run.
"""
import json

import pytest

from tinygan import cli

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::UserWarning")]

#: name: (CLI options, {metric: minimum}) -- the README's runs
CASES = {
    "cgan": (["--batch-size", "32", "--max-steps", "600", "--save-every", "200"], {"class_accuracy": None}),
    "acgan": (["--batch-size", "32", "--max-steps", "600", "--save-every", "200"], {"class_accuracy": None}),
    "infogan": (["--batch-size", "32", "--max-steps", "400", "--save-every", "200"],
                {"q_recovery": None, "consistency": None}),
    "sgan": (["--max-steps", "300", "--save-every", "100"], {"test_accuracy": None}),
    "lsgan": (["--max-steps", "300", "--save-every", "100"], {"confident_share": None}),
    "wgan": (["--max-steps", "120", "--save-every", "60"], {"confident_share": None}),
    "wgan-gp": (["--gp", "10", "--max-steps", "120", "--save-every", "60"], {"confident_share": None}),
}


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    from tinygan import random as tg_random
    from tinygan.gans import quality
    path = str(tmp_path_factory.mktemp("clf") / "clf.h5")
    tg_random.seed(1)
    _, acc = quality.get_classifier(path, log=None)
    assert acc > 0.95
    return path


@pytest.mark.parametrize("case", list(CASES))
def test_measured_quality(case, classifier, tmp_path):
    options, minimums = CASES[case]
    name = case.split("-")[0]
    assert cli.main([name, "train", "--out", str(tmp_path), "--score", "--classifier", classifier, "--no-progress",
                     "--quiet", *options]) == 0
    quality = json.load(open(tmp_path / "metrics.json"))["quality"]
    for metric, minimum in minimums.items():
        assert quality[metric] >= minimum, (metric, quality)
