"""Chapters 15-20 (LSGAN, WGAN/WGAN-GP, cGAN, InfoGAN, AC-GAN, SGAN): parameter counts, the training contract
(log lines, files, CSV), exact resume, the gradient penalty's second derivative, and the bad-input lines."""
import csv
import os
import re

import numpy as np
import pytest

import tinygan as tg
from tinygan import cli, ops

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _counts(model):
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return model.count_params(), trainable


@pytest.mark.parametrize("name", ["lsgan", "wgan", "cgan", "infogan", "acgan", "sgan"])
def test_help(name, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([name, "train", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: tinygan {name} train" in out and "--resume" in out and "fashion_mnist" in out


# ------------------------------------------------------------------------------------------ parameter counts
def test_parameter_counts_match_the_spec():
    """shared/spec/book_part3_5.md section 3.5 (Keras counting; BN moving statistics are non-trainable)."""
    from tinygan.gans import acgan, cgan, infogan, lsgan, sgan, wgan
    assert _counts(lsgan.define_discriminator()) == (139329, 138945)
    assert _counts(lsgan.define_generator(100)) == (1976577, 1951105)
    assert _counts(wgan.define_critic()) == (70337, 70081)
    assert _counts(wgan.define_generator(50)) == (851713, 851201)
    assert _counts(cgan.define_discriminator()) == (196773, 196773)
    assert _counts(cgan.define_generator(100)) == (1169336, 1169336)
    g = infogan.define_generator(72)
    d, q = infogan.define_discriminator(10)
    assert _counts(g) == (3113409, 3062849)
    assert _counts(d) == (670913, 670145)
    assert _counts(q) == (2265930, 2264906)
    assert _counts(acgan.define_discriminator()) == (527627, 526731)
    assert _counts(acgan.define_generator(100)) == (3757176, 3756792)
    d, c = sgan.define_discriminator()
    assert _counts(d) == _counts(c) == (316938, 316938)
    assert _counts(sgan.define_generator(100)) == (1164289, 1164289)


def test_infogan_composite_trains_g_and_q_head_only_unless_literal():
    """Section 4 item 2: the intent (G + Q's own head: 3,062,849 + 1,607,306) vs Keras 2.2's literal freezing
    (the D/Q shared trunk trains through Q as well: + 657,600)."""
    from tinygan.gans import infogan

    def trained(literal):
        g = infogan.define_generator(72)
        d, q = infogan.define_discriminator(10)
        gan = infogan.define_gan(g, d, q, literal=literal)
        return sum(int(np.prod(w.shape)) for w in gan._train_weights)
    assert trained(False) == 3062849 + 1607306
    assert trained(True) == 3062849 + 1607306 + 657600


def test_cgan_composite_feeds_the_label_to_both_and_trains_g_only():
    """Listing 17.20: one label input reaches G and the frozen D; an update moves every G weight (label Embedding
    included) and no D weight."""
    from tinygan.gans import cgan
    d, g = cgan.define_discriminator(), cgan.define_generator(100)
    gan = cgan.define_gan(g, d)
    rng = np.random.default_rng(0)
    z, labels = rng.standard_normal((4, 100)).astype("float32"), np.array([0, 3, 3, 9])
    np.testing.assert_array_equal(gan.predict([z, labels]), d.predict([g.predict([z, labels]), labels]))
    d_before, g_before = d.get_weights(), g.get_weights()
    gan.train_on_batch([z, labels], np.ones((4, 1)))
    assert all(np.array_equal(a, b) for a, b in zip(d_before, d.get_weights()))
    moved = [not np.array_equal(a, b) for a, b in zip(g_before, g.get_weights())]
    assert all(moved), [w.name for w, m in zip(g.weights, moved) if not m]


def test_sgan_custom_activation_matches_the_book():
    """Listing 20.4's values (spec 3.1 T4-T8) through the Keras backend version used in the Lambda layer."""
    from tinygan.gans.sgan import custom_activation
    from tinygan.keras import backend
    for logits, expected in (([-10.0] * 3, 0.00013618124143106674), ([0.0] * 3, 0.75),
                             ([1.0] * 3, 0.890768227426964)):
        out = backend.get_value(custom_activation(backend.variable(np.array([logits]))))
        assert float(np.asarray(out).ravel()[0]) == pytest.approx(expected, rel=1e-6)


# ----------------------------------------------------------------------------------------------- WGAN-GP
def test_gradient_penalty_gradcheck_through_conv_dense_leaky_relu():
    """The penalty's gradient in the critic's weights is a second derivative (grad of an input gradient): float64
    finite differences agree, through a strided conv with the fused LeakyReLU, a plain LeakyReLU and a Dense."""
    from tinygan.gans.wgan import gradient_penalty
    rng = np.random.default_rng(0)
    x_real, x_fake = rng.standard_normal((3, 6, 6, 1)), rng.standard_normal((3, 6, 6, 1))
    eps = rng.random((3, 1, 1, 1))
    params = [rng.standard_normal((3, 3, 1, 2)) * 0.5, rng.standard_normal(2) * 0.1,
              rng.standard_normal((18, 1)) * 0.5, rng.standard_normal(1) * 0.1]

    def penalty(w, b, wd, bd):
        def critic(x):
            h = ops.conv2d(x, w, b, strides=(2, 2), padding="same", leaky_alpha=0.2)
            h = ops.leaky_relu(h, 0.2)
            return ops.matmul(ops.reshape(h, (h.shape[0], -1)), wd) + bd
        return gradient_penalty(critic, tg.tensor(x_real), tg.tensor(x_fake), tg.tensor(eps))
    assert tg.gradcheck(penalty, params)


def test_gradient_penalty_is_zero_for_a_unit_slope_critic():
    """A linear critic x -> <v, x> with ||v|| = 1 has input-gradient norm 1 everywhere: no penalty."""
    from tinygan.gans.wgan import gradient_penalty
    v = np.zeros((1, 4, 4, 1))
    v[0, 1, 2, 0] = 1.0
    x = np.random.default_rng(1).standard_normal((5, 4, 4, 1))
    p = gradient_penalty(lambda t: ops.sum(t * tg.tensor(v), axis=(1, 2, 3)), tg.tensor(x), tg.tensor(-x),
                         tg.tensor(np.full((5, 1, 1, 1), 0.3)))
    assert abs(float(p.data)) < 1e-10


# ----------------------------------------------------------------------------------------- training contract
LINES = {
    "lsgan": r">\d+, d1=-?\d+\.\d{3}, d2=-?\d+\.\d{3} g=-?\d+\.\d{3}",
    "wgan": r">\d+, c1=-?\d+\.\d{3}, c2=-?\d+\.\d{3} g=-?\d+\.\d{3}",
    "cgan": r">1, \d+/\d+, d1=\d+\.\d{3}, d2=\d+\.\d{3} g=\d+\.\d{3}",
    "infogan": r">\d+, d\[\d+\.\d{3},\d+\.\d{3}\], g\[\d+\.\d{3}\] q\[\d+\.\d{3}\]",
    "acgan": r">\d+, dr\[\d+\.\d{3},\d+\.\d{3}\], df\[\d+\.\d{3},\d+\.\d{3}\], g\[\d+\.\d{3},\d+\.\d{3}\]",
    "sgan": r">\d+, c\[\d+\.\d{3},\d+\], d\[\d+\.\d{3},\d+\.\d{3}\], g\[\d+\.\d{3}\]",
}
FILES = {
    "lsgan": ["generated_plot_000002.png", "model_000002.h5"],
    "wgan": ["generated_plot_0002.png", "model_0002.h5"],
    "cgan": ["generated_plot_0002.png", "model_0002.h5", "cgan_generator.h5"],
    "infogan": ["generated_plot_0002.png", "model_0002.h5", "gan_model_0002.h5"],
    "acgan": ["generated_plot_0002.png", "model_0002.h5"],
    "sgan": ["generated_plot_0002.png", "g_model_0002.h5", "c_model_0002.h5"],
}
COLUMNS = {"lsgan": "d1 d2 g", "wgan": "c1 c2 g", "cgan": "d1 d2 g", "infogan": "d1 d2 g q",
           "acgan": "dr1 dr2 df1 df2 g1 g2", "sgan": "c c_acc d1 d2 g"}


def _train(name, out, *extra):
    return cli.main([name, "train", "--out", str(out), "--max-steps", "2", "--save-every", "2", "--batch-size",
                     "16", "--no-progress", *extra])


@pytest.mark.parametrize("name", list(LINES))
def test_train_writes_the_books_log_lines_and_files(name, tmp_path, capsys):
    out = tmp_path / name
    assert _train(name, out) == 0
    text = capsys.readouterr().out
    assert len(re.findall(LINES[name], text)) == 2, text
    for f in FILES[name] + ["history.csv", "plot_line_plot_loss.png", "checkpoint.npz", "run.json",
                            "metrics.json"]:
        assert (out / f).exists(), f
    with open(out / "history.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["step"] + COLUMNS[name].split() and [r[0] for r in rows[1:]] == ["1", "2"]
    assert all(np.isfinite(float(v)) for r in rows[1:] for v in r)
    if name == "sgan":
        assert "n_epochs=20, n_batch=16, 1/2=8, b/e=250, steps=5000" in text
        assert re.search(r"Classifier Accuracy: \d+\.\d{3}%", text) and "Test Accuracy" in text


def test_wgan_gp_trains_and_logs_the_penalty(tmp_path, capsys):
    assert _train("wgan", tmp_path / "gp", "--gp", "10", "--n-critic", "2") == 0
    assert len(re.findall(r">\d+, c1=-?\d+\.\d{3}, c2=-?\d+\.\d{3} g=-?\d+\.\d{3}, gp=\d+\.\d{3}",
                          capsys.readouterr().out)) == 2
    with open(tmp_path / "gp" / "history.csv") as f:
        assert next(csv.reader(f)) == ["step", "c1", "c2", "g", "gp"]


RESUME = {**{name: (name,) for name in LINES}, "wgan-gp": ("wgan", "--gp", "10", "--n-critic", "2")}


@pytest.mark.parametrize("case", list(RESUME))
def test_resume_is_exact(case, tmp_path):
    """One step, then one more with --resume: the same loss log and generator as two steps in one go."""
    from tinygan.keras.models import load_model
    name, *extra = RESUME[case]
    a, b = tmp_path / "a", tmp_path / "b"
    args = ["--save-every", "2", "--batch-size", "8", "--no-progress", "--quiet", *extra]
    assert cli.main([name, "train", "--out", str(a), "--max-steps", "2", *args]) == 0
    assert cli.main([name, "train", "--out", str(b), "--max-steps", "1", *args]) == 0
    assert cli.main([name, "train", "--out", str(b), "--max-steps", "2", "--resume", *args]) == 0
    assert (a / "history.csv").read_text() == (b / "history.csv").read_text()
    generator = FILES[name][1]                      # saved at step 2
    for wa, wb in zip(load_model(str(a / generator)).get_weights(), load_model(str(b / generator)).get_weights()):
        np.testing.assert_array_equal(wa, wb)


# ---------------------------------------------------------------------------------------------- sampling
@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("part3")
    for name in ("acgan", "infogan"):
        assert cli.main([name, "train", "--out", str(root / name), "--max-steps", "1", "--save-every", "1",
                         "--batch-size", "16", "--no-progress", "--quiet"]) == 0
    return root


def test_sample_class_and_code(runs, tmp_path):
    npz = tmp_path / "s.npz"
    assert cli.main(["sample", str(runs / "acgan"), "--class", "7", "--n", "4", "-o", str(tmp_path / "a.png"),
                     "--npz", str(npz)]) == 0
    with np.load(npz) as d:
        assert d["images"].shape == (4, 28, 28, 1) and d["labels"].tolist() == [7] * 4
    assert cli.main(["sample", str(runs / "acgan"), "--n", "20", "-o", str(tmp_path / "b.png"), "--npz",
                     str(npz)]) == 0
    with np.load(npz) as d:
        assert d["labels"].tolist() == list(range(10)) * 2           # one class per grid column
    assert cli.main(["sample", str(runs / "infogan"), "--code", "3", "--n", "4", "-o", str(tmp_path / "c.png"),
                     "--npz", str(npz)]) == 0
    with np.load(npz) as d:
        z = d["latent_points"]
    assert z.shape == (4, 72) and (z[:, 62:].argmax(axis=1) == 3).all() and (z[:, 62:].sum(axis=1) == 1).all()


# --------------------------------------------------------------------------------------------- bad input
def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip()
    assert err.startswith("tinygan ") and "\n" not in err and "Traceback" not in err, err
    for n in needles:
        assert n in err, err


def test_sample_class_outside_the_classes(runs, capsys, tmp_path):
    assert cli.main(["sample", str(runs / "acgan"), "--class", "12", "-o", str(tmp_path / "x.png")]) == 2
    _one_line_error(capsys, "--class 12", "0..9")


def test_sample_code_outside_the_categorical_range(runs, capsys, tmp_path):
    assert cli.main(["sample", str(runs / "infogan"), "--code", "10", "-o", str(tmp_path / "x.png")]) == 2
    _one_line_error(capsys, "--code 10", "0..9")
    assert cli.main(["sample", str(runs / "acgan"), "--code", "1", "-o", str(tmp_path / "x.png")]) == 2
    _one_line_error(capsys, "--code needs an InfoGAN generator")


def test_resume_with_another_latent_size(runs, capsys):
    assert cli.main(["infogan", "train", "--out", str(runs / "infogan"), "--resume", "--latent-dim", "64"]) == 2
    _one_line_error(capsys, "--latent-dim 64 does not match", "latent size 62")


def test_n_labelled_larger_than_the_data(tmp_path, capsys):
    assert _train("sgan", tmp_path / "s", "--n-labelled", "5000") == 2
    _one_line_error(capsys, "--n-labelled 5000", "4000")


def test_conditional_model_needs_labels(tmp_path, capsys):
    path = tmp_path / "unlabelled.npz"
    np.savez(path, x=np.zeros((64, 28, 28), dtype=np.uint8))
    assert _train("cgan", tmp_path / "c", "--dataset", str(path)) == 2
    _one_line_error(capsys, "has no labels", "cgan is a conditional model")
    assert _train("lsgan", tmp_path / "l", "--dataset", str(path)) == 0     # unconditional: fine
    assert os.path.exists(tmp_path / "l" / "model_000002.h5")
