"""--eval-every: FID and KID of the generator's samples as columns of the training CSV, at the right steps, without
touching the training's random streams (the losses and an exact resume do not depend on it)."""
import csv
import math

import numpy as np
import pytest

from tinygan import cli
from tinygan.keras.layers import Conv2D, GlobalAveragePooling2D
from tinygan.keras.models import Sequential

pytestmark = pytest.mark.filterwarnings("ignore:Discrepancy between trainable weights")

SIZE = 32


@pytest.fixture(scope="module")
def feature_model(tmp_path_factory):
    """A tiny feature model (--features MODEL.h5): 8 features of a 28x28 grayscale image."""
    model = Sequential([Conv2D(8, (3, 3), strides=(2, 2), activation="tanh", input_shape=(28, 28, 1)),
                        GlobalAveragePooling2D()])
    path = tmp_path_factory.mktemp("features") / "tiny_features.h5"
    model.save(str(path))
    return str(path)


def read(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return rows


def assert_evaluated_at(rows, steps, columns=("fid", "kid")):
    for r in rows:
        for c in columns:
            if int(r["step"]) in steps:
                assert math.isfinite(float(r[c])), (r["step"], c, r[c])
            else:
                assert r[c] == "", (r["step"], c, r[c])


def losses(rows, keys):
    return [tuple(r[k] for k in keys) for r in rows]


def test_unconditional_gan_evaluates_every_n_steps_and_resumes_exactly(tmp_path, feature_model, capsys):
    """lsgan: fid/kid at steps 2 and 4; the same CSV (every loss and metric) after a resume at step 2; the same
    losses as a run without evaluation."""
    common = ["--save-every", "2", "--batch-size", "16", "--no-progress", "--log-every", "0"]
    evaluate = ["--eval-every", "2", "--eval-samples", "12", "--features", feature_model]
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert cli.main(["lsgan", "train", "--out", str(a), "--max-steps", "4", *common, *evaluate]) == 0
    out = capsys.readouterr().out
    assert "Evaluation every 2 steps: FID and KID of generated vs held-out real images, 12 of each" in out
    assert ">step 2: fid=" in out and ">step 4: fid=" in out
    rows = read(a / "history.csv")
    assert list(rows[0]) == ["step", "d1", "d2", "g", "fid", "kid"]
    assert_evaluated_at(rows, {2, 4})
    assert (a / "fid_kid.png").exists()

    assert cli.main(["lsgan", "train", "--out", str(b), "--max-steps", "2", *common, *evaluate]) == 0
    assert cli.main(["lsgan", "train", "--out", str(b), "--max-steps", "4", "--resume", *common, *evaluate]) == 0
    assert (b / "history.csv").read_text() == (a / "history.csv").read_text()

    assert cli.main(["lsgan", "train", "--out", str(c), "--max-steps", "4", *common]) == 0
    plain = read(c / "history.csv")
    assert list(plain[0]) == ["step", "d1", "d2", "g"]
    assert losses(plain, ("d1", "d2", "g")) == losses(rows, ("d1", "d2", "g"))


@pytest.mark.parametrize("name", ["acgan", "infogan"])
def test_conditional_and_coded_generators_are_sampled_as_tinygan_sample_does(name, tmp_path, feature_model):
    out = tmp_path / name
    assert cli.main([name, "train", "--out", str(out), "--max-steps", "2", "--save-every", "2", "--batch-size",
                     "16", "--no-progress", "--quiet", "--eval-every", "1", "--eval-samples", "10", "--features",
                     feature_model]) == 0
    assert_evaluated_at(read(out / "history.csv"), {1, 2})


def toy_pairs(path, n, seed):
    rng = np.random.default_rng(seed)
    src = rng.integers(0, 256, (n, SIZE, SIZE, 3), dtype=np.uint8)
    np.savez_compressed(path, arr_0=src, arr_1=255 - src)
    return str(path)


@pytest.fixture
def untrained_digit_classifier(monkeypatch):
    """--features digits with an untrained classifier (the real one takes ~20 s to train)."""
    from tinygan.gans import quality
    monkeypatch.setattr(quality, "get_classifier", lambda path=None, log=print: (quality.define_classifier(), 0.0))


def test_image_to_image_evaluates_held_out_translations_and_resumes_exactly(tmp_path, untrained_digit_classifier,
                                                                           capsys):
    """pix2pix: fid/kid of translated held-out sources vs their targets at steps 2 and 4 (digit features); resume
    at step 2 gives the same log; a run without evaluation has the same losses."""
    data, val = toy_pairs(tmp_path / "train.npz", 6, 0), toy_pairs(tmp_path / "val.npz", 5, 1)
    common = ["--data", data, "--val-data", val, "--ngf", "4", "--ndf", "4", "--no-progress", "--log-every", "0",
              "--save-every", "1"]
    evaluate = ["--eval-every", "2", "--eval-samples", "8", "--features", "digits"]
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert cli.main(["pix2pix", "train", "--out", str(a), "--max-steps", "4", *common, *evaluate]) == 0
    out = capsys.readouterr().out
    assert "held-out real images, 5 of each (digit classifier features (64))" in out
    rows = read(a / "losses.csv")
    assert list(rows[0])[-3:] == ["fid", "kid", "seconds"]
    assert_evaluated_at(rows, {2, 4})
    keys = ("d1", "d2", "g", "g_l1", "fid", "kid")  # (val_l1 is also written where a run stops)

    assert cli.main(["pix2pix", "train", "--out", str(b), "--max-steps", "2", *common, *evaluate]) == 0
    assert cli.main(["pix2pix", "train", "--out", str(b), "--max-steps", "4", "--resume", *common[4:],
                     *evaluate]) == 0
    assert losses(read(b / "losses.csv"), keys) == losses(rows, keys)

    assert cli.main(["pix2pix", "train", "--out", str(c), "--max-steps", "4", *common]) == 0
    assert losses(read(c / "losses.csv"), keys[:4]) == losses(rows, keys[:4])


def test_cyclegan_evaluates_both_directions(tmp_path, feature_model):
    data, val = toy_pairs(tmp_path / "train.npz", 4, 0), toy_pairs(tmp_path / "val.npz", 3, 1)
    out = tmp_path / "run"
    assert cli.main(["cyclegan", "train", "--data", data, "--val-data", val, "--ngf", "4", "--ndf", "4",
                     "--n-resnet", "1", "--max-steps", "2", "--no-progress", "--log-every", "0", "--out", str(out),
                     "--eval-every", "2", "--eval-samples", "3", "--features", feature_model]) == 0
    assert_evaluated_at(read(out / "losses.csv"), {2}, ("fid_AtoB", "kid_AtoB", "fid_BtoA", "kid_BtoA"))


def test_dcgan_features_add_fid_and_kid_to_the_books_summaries(tmp_path, feature_model, capsys):
    """dcgan's --eval-every (epochs) and --eval-samples are the book's summaries; --features adds FID/KID there.
    An npz has no held-out split: the training images are the reference, said so."""
    from tinygan.gans.dcgan_mnist import load_mnist_5k
    x, _ = load_mnist_5k()
    data = str(tmp_path / "digits.npz")
    np.savez_compressed(data, x[::150][:32])  # 32 digits: 2 batches of 16 per epoch
    out = tmp_path / "run"
    assert cli.main(["dcgan", "train", "--dataset", data, "--batch-size", "16", "--epochs", "2", "--eval-every", "1",
                     "--eval-samples", "6", "--out", str(out), "--no-progress", "--log-every", "0", "--features",
                     feature_model]) == 0
    text = capsys.readouterr().out
    assert "digits.npz has no held-out split: FID/KID compare with training images" in text
    assert "Evaluation every 2 steps" in text and ", 6 of each" in text
    assert_evaluated_at(read(out / "history.csv"), {2, 4})


def test_evaluation_is_the_metrics_of_the_features_and_leaves_the_random_streams_alone():
    """Evaluation.at: {} between its steps; at them FID and KID (unbiased MMD^2 of all samples) of the extracted
    features, computed from the evaluation's own seeded stream, with the training's streams as they were; NaN
    images skip the evaluation with one line."""
    from tinygan import random as tg_random
    from tinygan.keras.layers import Flatten
    from tinygan.metrics import frechet_distance, polynomial_mmd2_unbiased
    from tinygan.metrics.during_training import Evaluation, Target
    from tinygan.metrics.features import Extractor

    extractor = Extractor(Sequential([Flatten(input_shape=(4, 4, 1))]), lambda x: x, "features", "pixels", 1)
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (10, 4, 4, 1)).astype("float32")
    drawn = []

    def sample(n):  # a generator drawing its latent points from the global stream, as the book's code does
        z = np.random.uniform(-0.5, 1.0, (n, 4, 4, 1)).astype("float32")
        drawn.append(z)
        return z
    evaluation = Evaluation([Target("", sample, real)], extractor, every=3, n_samples=8)
    tg_random.seed(5)
    before = tg_random.get_state()
    assert evaluation.at(2, write=None) == {}
    values = evaluation.at(3, write=None)
    after = tg_random.get_state()
    assert after["generator"] == before["generator"]
    np.testing.assert_array_equal(after["legacy"][1], before["legacy"][1])
    fake, ref = drawn[0].reshape(8, -1), real[:8].reshape(8, -1)
    assert values["fid"] == pytest.approx(frechet_distance(fake, ref), rel=1e-9)
    assert values["kid"] == pytest.approx(polynomial_mmd2_unbiased(fake.astype(float), ref.astype(float)), rel=1e-9)
    assert evaluation.at(6, write=None) == values and np.array_equal(drawn[1], drawn[0])  # the same latent points

    lines = []
    broken = Evaluation([Target("", lambda n: np.full((n, 4, 4, 1), np.nan, "float32"), real)], extractor, 1, 4)
    assert broken.at(1, write=lines.append) == {}
    assert lines == ["evaluation at step 1 skipped: the images contain NaN or inf pixels; check the generator or "
                     "the file"]
