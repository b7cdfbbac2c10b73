"""Chapter 6: the 1D GAN (y = x^2): the book's models and printed parameter counts, samplers, and short runs."""
import os
import re

import numpy as np
import pytest

from tinygan import random as tg_random
from tinygan.gans import gan1d

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")   # Keras' trainable-discrepancy warning


def summary_counts(model):
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    return tuple(int(re.search(rf"{k} params: ([\d,]+)", text).group(1).replace(",", ""))
                 for k in ("Total", "Trainable", "Non-trainable")), text


def test_book_parameter_counts():
    d = gan1d.define_discriminator()
    (total, trainable, non), text = summary_counts(d)
    assert (total, trainable, non) == (101, 101, 0)                     # Listing 6.6 (L4102)
    assert re.search(r"dense_\d+ \(Dense\)\s+\(None, 25\)\s+75", text)
    g = gan1d.define_generator(5)
    (total, trainable, non), text = summary_counts(g)
    assert (total, trainable, non) == (122, 122, 0)                     # Listing 6.14 (L4492)
    assert re.search(r"\(None, 15\)\s+90", text) and re.search(r"\(None, 2\)\s+32", text)
    gan = gan1d.define_gan(g, d)
    assert summary_counts(gan)[0] == (223, 122, 101)                    # Listing 6.20 (L4833-4837)


def test_real_samples_follow_the_target_function():
    np.random.seed(0)
    X, y = gan1d.generate_real_samples(100)
    assert X.shape == (100, 2) and y.shape == (100, 1) and np.all(y == 1)
    assert X[:, 0].min() >= -0.5 and X[:, 0].max() <= 0.5
    np.testing.assert_allclose(X[:, 1], gan1d.calculate(X[:, 0]))
    Xf, yf = gan1d.generate_random_fake_samples(64)
    assert Xf.shape == (64, 2) and np.all(yf == 0) and Xf.min() >= -1 and Xf.max() <= 1


def test_latent_and_fake_samples():
    g = gan1d.define_generator(5)
    z = gan1d.generate_latent_points(5, 7)
    assert z.shape == (7, 5)
    X, y = gan1d.generate_fake_samples(g, 5, 7)
    assert X.shape == (7, 2) and np.all(y == 0)


def test_train_discriminator_reproduces_listing_6_11():
    """The book's D-only run (1,000 epochs): "995 1.0 0.875 ... 999 1.0 0.8125" -- perfect on real points,
    80-90% on the uniform-noise fakes."""
    tg_random.seed(0)
    d = gan1d.define_discriminator()
    lines = []
    gan1d.train_discriminator(d, n_epochs=1000, log=lines.append)
    assert len(lines) == 1000 and all(re.fullmatch(r"\d+ [01](\.\d+)? [01](\.\d+)?", s) for s in lines)
    assert lines[0].startswith("0 ") and lines[-1].startswith("999 ")
    tail = np.array([[float(v) for v in s.split()[1:]] for s in lines[-20:]])
    assert tail[:, 0].mean() >= 0.95
    assert 0.7 <= tail[:, 1].mean() <= 1.0


def test_short_training_run_writes_the_books_files(tmp_path):
    tg_random.seed(1)
    lines = []
    g, d, gan, res = gan1d.main(n_epochs=300, n_eval=100, out_dir=str(tmp_path), log=lines.append)
    evals = [s for s in lines if re.fullmatch(r"\d+ \S+ \S+", s)]
    assert [s.split()[0] for s in evals] == ["99", "199", "299"]        # print(epoch, acc_real, acc_fake)
    for n in ("generated_plot_e100.png", "generated_plot_e200.png", "generated_plot_e300.png", "history.csv",
              "plot_line_plot_loss.png", "checkpoint.npz"):
        assert os.path.getsize(tmp_path / n) > 0
    assert res["step"] == 300 and res["stopped"] is None
    err = res["error"]
    assert set(err) >= {"mean_abs_error", "x_min", "x_max", "x_in_domain"} and err["n"] == 1000
    assert len(res["history"]) == 300


def test_budget_and_exact_resume(tmp_path):
    tg_random.seed(5)
    g1, _, _, full = gan1d.main(n_epochs=120, n_eval=60, out_dir=str(tmp_path / "a"), log=None)
    tg_random.seed(5)
    _, _, _, part = gan1d.main(n_epochs=120, n_eval=60, out_dir=str(tmp_path / "b"), max_steps=50, log=None)
    assert part["step"] == 50 and part["stopped"] == "max_steps"
    tg_random.seed(12345)                     # the checkpoint restores the RNG streams
    g2, _, _, rest = gan1d.main(n_epochs=120, n_eval=60, out_dir=str(tmp_path / "b"), resume=True, log=None)
    assert rest["start"] == 50 and rest["step"] == 120
    for a, b in zip(g1.get_weights(), g2.get_weights()):
        np.testing.assert_array_equal(a, b)
    with open(tmp_path / "a" / "history.csv") as fa, open(tmp_path / "b" / "history.csv") as fb:
        assert fa.read() == fb.read()


def test_time_budget(tmp_path):
    tg_random.seed(0)
    _, _, _, res = gan1d.main(n_epochs=100000, n_eval=100000, out_dir=str(tmp_path), max_seconds=0.5, log=None)
    assert res["stopped"] == "budget" and 0 < res["step"] < 100000
    assert os.path.exists(tmp_path / "checkpoint.npz")


def test_error_report_on_a_perfect_generator():
    class Perfect:
        def predict(self, z):
            x = np.clip(z[:, 0] / 4, -0.5, 0.5)
            return np.stack([x, x * x], axis=1)
    np.random.seed(0)
    rep = gan1d.error_report(Perfect(), 5, n=500)
    assert rep["mean_abs_error"] == pytest.approx(0.0, abs=1e-12) and rep["x_in_domain"] == 1.0
