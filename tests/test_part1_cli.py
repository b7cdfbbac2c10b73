"""``tinygan gan1d|dcgan|sample|latent|faces``: help texts and tiny end-to-end runs."""
import json
import os

import numpy as np
import pytest

from tinygan import cli

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.mark.parametrize("argv", [["gan1d", "train"], ["dcgan", "train"], ["dcgan", "score"], ["dcgan", "failures"],
                                  ["sample"], ["latent", "interpolate"], ["latent", "arithmetic"],
                                  ["faces", "prepare"]])
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv + ["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "usage: tinygan " + " ".join(argv) in out


def test_group_without_subcommand_prints_help(capsys):
    assert cli.main(["latent"]) == 2
    assert "interpolate" in capsys.readouterr().out


def test_gan1d_train_and_resume(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert cli.main(["gan1d", "train", "--iterations", "200", "--eval-every", "100", "--out", out,
                     "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "99 " in text and "mean |y - x^2|" in text
    assert os.path.exists(os.path.join(out, "generated_plot_e200.png"))
    assert cli.main(["gan1d", "train", "--iterations", "300", "--eval-every", "100", "--out", out, "--resume",
                     "--no-progress", "--quiet"]) == 0
    assert "Resumed" not in capsys.readouterr().out              # --quiet
    m = json.load(open(os.path.join(out, "metrics.json")))
    assert m["step"] == 300 and {"mean_abs_error", "x_min", "x_max"} <= set(m)
    assert os.path.exists(os.path.join(out, "generated_plot_e300.png"))


@pytest.fixture(scope="module")
def digit_generator(tmp_path_factory):
    """A tiny stand-in digit generator saved as .h5 (Dense -> 28x28x1 sigmoid)."""
    from tinygan import random as tg_random
    from tinygan.keras.layers import Dense, Reshape
    from tinygan.keras.models import Sequential
    tg_random.seed(0)
    g = Sequential([Dense(28 * 28, activation="sigmoid", input_dim=8), Reshape((28, 28, 1))])
    folder = tmp_path_factory.mktemp("gen")
    g.save(str(folder / "generator_model_010.h5"))
    g.save(str(folder / "generator_model_002.h5"))
    return folder


def test_sample(digit_generator, tmp_path, capsys):
    out = str(tmp_path / "s.png")
    assert cli.main(["sample", str(digit_generator), "--n", "9", "-o", out, "--npz", str(tmp_path / "s.npz"),
                     "--seed", "1"]) == 0
    assert "generator_model_010.h5" in capsys.readouterr().out       # the folder's latest model
    assert os.path.getsize(out) > 0
    with np.load(tmp_path / "s.npz") as d:
        assert d["images"].shape == (9, 28, 28, 1) and d["latent_points"].shape == (9, 8)
    assert cli.main(["sample", str(digit_generator / "generator_model_002.h5"), "--constant", "0.0",
                     "-o", out]) == 0


def test_latent_commands(digit_generator, tmp_path):
    out = str(tmp_path / "i.png")
    assert cli.main(["latent", "interpolate", str(digit_generator), "--pairs", "2", "--steps", "4", "--slerp",
                     "-o", out, "--seed", "0"]) == 0
    assert os.path.getsize(out) > 0
    pts = str(tmp_path / "latent_points.npz")
    assert cli.main(["latent", "arithmetic", str(digit_generator), "--points", pts, "-o", str(tmp_path / "a.png"),
                     "--result", str(tmp_path / "r.png")]) == 0
    assert os.path.exists(pts) and os.path.exists(tmp_path / "generated_faces.png")
    assert os.path.exists(tmp_path / "a.png") and os.path.exists(tmp_path / "r.png")
    assert cli.main(["latent", "arithmetic", str(digit_generator), "--points", pts, "--a", "1,2", "--b", "3,4",
                     "--c", "5,6", "-o", str(tmp_path / "a2.png"), "--result", str(tmp_path / "r2.png")]) == 0


def test_faces_prepare(tmp_path, capsys):
    from PIL import Image
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((218, 178, 3), 40 * i, np.uint8)).save(str(folder / f"{i:06d}.jpg"))
    out = str(tmp_path / "faces.npz")
    assert cli.main(["faces", "prepare", str(folder), "-o", out, "--n", "2", "--plot", str(tmp_path / "f.png")]) == 0
    with np.load(out) as d:
        assert d["arr_0"].shape == (2, 80, 80, 3)
    assert cli.main(["faces", "prepare", str(tmp_path / "empty_missing"), "-o", out]) == 2
    assert "empty_missing: No such file or directory" in capsys.readouterr().err


def test_dcgan_train_on_an_npz_and_resume(tmp_path, capsys):
    from tinygan.gans.dcgan_mnist import load_mnist_5k
    x, _ = load_mnist_5k()
    data = str(tmp_path / "digits.npz")
    np.savez_compressed(data, x[::150][:32])                   # 32 digits, arr_0
    out = str(tmp_path / "run")
    args = ["dcgan", "train", "--dataset", data, "--batch-size", "16", "--eval-every", "1", "--eval-samples", "4",
            "--out", out, "--no-progress"]
    assert cli.main(args + ["--epochs", "1"]) == 0
    text = capsys.readouterr().out
    assert "chapter 7 (mnist)" in text and ">1, 2/2, d=" in text and ">Accuracy real:" in text
    assert os.path.exists(os.path.join(out, "generator_model_001.h5"))
    assert cli.main(args + ["--epochs", "2", "--resume"]) == 0
    text = capsys.readouterr().out
    assert "Resumed" in text and ">2, 1/2, d=" in text and ">1, 1/2" not in text
    assert os.path.exists(os.path.join(out, "generated_plot_e002.png"))
    assert json.load(open(os.path.join(out, "run.json")))["model"] == "mnist"
    assert json.load(open(os.path.join(out, "metrics.json")))["step"] == 4


def test_dcgan_score_with_a_saved_classifier(digit_generator, tmp_path, capsys):
    from tinygan import random as tg_random
    from tinygan.gans import quality
    from tinygan.gans.dcgan_mnist import split_mnist_5k
    tg_random.seed(0)
    (trX, trY), (teX, teY) = split_mnist_5k()
    clf = str(tmp_path / "clf.h5")
    quality.get_classifier(clf, log=None, epochs=1, data=((trX[::40], trY[::40]), (teX[:10], teY[:10])))
    js = str(tmp_path / "q.json")
    assert cli.main(["dcgan", "score", str(digit_generator), "--n", "50", "--classifier", clf, "--json", js]) == 0
    text = capsys.readouterr().out
    assert "generated: 50 digits" in text and "real     : 1000 digits" in text
    q = json.load(open(js))
    assert 0 <= q["generated"]["confident_share"] <= 1 and q["real"]["n"] == 1000


def test_dcgan_rejects_an_unknown_dataset(tmp_path, capsys):
    assert cli.main(["dcgan", "train", "--dataset", "no_such_file.npz", "--out", str(tmp_path / "none")]) == 2
    assert "neither mnist5k, mnist, cifar10 nor an existing file" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()
