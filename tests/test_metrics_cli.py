"""``tinygan metrics is|fid|kid``: every kind of PATH, every --features, and one clear line for bad input.

Small models saved by the tests stand in for Inception (whose weights are not here); the numbers are checked
against tinygan.metrics on the same features.
"""
import json
import re

import numpy as np
import pytest
from PIL import Image

from tinygan.cli import main
from tinygan.keras import backend as K
from tinygan.keras.layers import Conv2D, Dense, Flatten, GlobalAveragePooling2D, Reshape
from tinygan.keras.models import Model, Sequential
from tinygan.metrics import frechet_distance, inception_score, kernel_inception_distance
from tinygan.metrics import features as feats

rng = np.random.default_rng(0)


def run(capsys, *argv):
    code = main(["metrics", *argv, "--no-progress"])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def softmax_model(tmp_path):
    """A 3-class image classifier on 16x16x3 inputs (IS needs probabilities)."""
    K.clear_session()
    model = Sequential([Conv2D(4, 3, activation="relu", input_shape=(16, 16, 3)), GlobalAveragePooling2D(),
                        Dense(3, activation="softmax")])
    path = str(tmp_path / "clf.h5")
    model.save(path)
    return path, model


@pytest.fixture
def feature_model(tmp_path):
    model = Sequential([Conv2D(4, 3, input_shape=(12, 12, 1)), Flatten(), Dense(6)])
    path = str(tmp_path / "feat.h5")
    model.save(path)
    return path, model


def _npz(tmp_path, name, **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return str(path)


def _expected_features(model, images, size, channels):
    """What the CLI should feed the model: [-1, 1], channels converted, nearest-resized."""
    x = feats.to_unit_range(feats.as_nhwc(images), feats.pixel_range(images))
    x = np.repeat(x, 3, axis=-1) if channels == 3 and x.shape[-1] == 1 else x
    x = x.mean(axis=-1, keepdims=True) if channels == 1 and x.shape[-1] == 3 else x
    return np.asarray(model.predict(feats.scale_images(x, size)), dtype=np.float64)


def test_fid_of_ready_made_features(tmp_path, capsys):
    a, b = rng.standard_normal((30, 5)), rng.standard_normal((40, 5)) + 1
    code, out, _ = run(capsys, "fid", _npz(tmp_path, "a.npz", features=a), _npz(tmp_path, "b.npz", features=b),
                       "--json", str(tmp_path / "fid.json"))
    assert code == 0
    assert out.splitlines()[-1] == f"FID {frechet_distance(a, b):.3f}  (30 vs 40 images; features given in the .npz)"
    assert json.loads((tmp_path / "fid.json").read_text())["score"] == pytest.approx(frechet_distance(a, b))


def test_is_of_a_grayscale_png_folder_with_a_model_file(tmp_path, capsys, softmax_model):
    path, model = softmax_model
    folder = tmp_path / "pngs"
    folder.mkdir()
    images = rng.integers(0, 256, (12, 8, 8), dtype=np.uint8)
    for i, im in enumerate(images):
        Image.fromarray(im, "L").save(folder / f"{i:03d}.png")
    code, out, _ = run(capsys, "is", str(folder), "--features", path, "--splits", "3")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"images: 12 images 8x8 from {folder}"
    assert lines[1] == "note: grayscale images repeated into 3 channels for the clf.h5 outputs"
    probs = _expected_features(model, images, 16, 3)[np.random.default_rng(1).permutation(12)]  # --seed 1
    mean, std = inception_score(probs, 3)
    assert lines[-1] == f"IS {mean:.4f} +- {std:.4f}  (3 splits of 4 shuffled images; clf.h5 outputs)"


def test_kid_of_a_generator_run_folder_against_an_npz(tmp_path, capsys, feature_model):
    path, model = feature_model
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    generator = Sequential([Dense(144, activation="tanh", input_dim=4), Reshape((12, 12, 1))])
    generator.save(str(run_dir / "generator_model_002.h5"))
    real = rng.integers(0, 256, (20, 12, 12), dtype=np.uint8)
    code, out, _ = run(capsys, "kid", str(run_dir), _npz(tmp_path, "real.npz", images=real), "--n", "20",
                       "--features", path, "--subsets", "5", "--subset-size", "10", "--seed", "3")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith("A: 20 images 12x12x1 from ") and "generator_model_002.h5 (latent 4, seed 3)" in lines[0]
    z = np.random.default_rng(3).standard_normal((20, 4)).astype("float32")
    fake = generator.predict(z)
    mean, std = kernel_inception_distance(_expected_features(model, fake, 12, 1),
                                          _expected_features(model, real, 12, 1), 5, 10, seed=3)
    assert lines[-1] == f"KID {mean:.5f} +- {std:.5f}  (5 subsets of 10; 20 vs 20 images; feat.h5 outputs)"


def test_digit_classifier_features_when_inception_weights_are_absent(tmp_path, capsys, monkeypatch):
    """--features auto falls back to the digit classifier (here an untrained one, to stay fast) and says so."""
    from tinygan.gans import quality
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(quality, "get_classifier", lambda path=None, log=print: (quality.define_classifier(), 0.0))
    digits = _npz(tmp_path, "d.npz", images=rng.integers(0, 256, (10, 28, 28), dtype=np.uint8))
    code, out, _ = run(capsys, "fid", digits, digits)
    assert code == 0
    lines = out.splitlines()
    assert "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5 is not in" in lines[1]
    assert lines[-1].startswith("FID ") and lines[-1].endswith("(10 vs 10 images; digit classifier features (64))")
    assert abs(float(lines[-1].split()[1])) < 1e-3


@pytest.mark.parametrize("arrays, extra, message", [
    (({"features": np.ones((1, 4))}, {"features": np.ones((5, 4))}), [], "1 sample\\(s\\) of 4 features; at least 2"),
    (({"features": np.ones((5, 4))}, {"features": np.ones((5, 3))}), [], "different feature sizes, 4 and 3"),
    (({"features": np.full((5, 2), np.nan)}, {"features": np.ones((5, 2))}), [], "NaN/inf"),
    (({"images": np.zeros((4, 8, 8, 3), np.uint8)}, {"images": np.zeros((4, 8, 8, 3), np.uint8)}),
     ["--features", "inception", "--image-size", "64"], "needs images of at least 75x75 pixels, asked for 64"),
    (({"images": np.zeros((4, 8, 8, 3))}, {"images": np.zeros((4, 8, 8, 3))}), ["--features", "x.h5"],
     "--features x.h5: not auto, inception or digits, and no such model file"),
    (({"a": np.ones(3), "b": np.ones(3)}, {"features": np.ones((5, 3))}), [], "holds a, b; name the image array"),
])
def test_bad_input_is_one_clear_line(tmp_path, capsys, arrays, extra, message):
    a, b = _npz(tmp_path, "a.npz", **arrays[0]), _npz(tmp_path, "b.npz", **arrays[1])
    code, _, err = run(capsys, "fid", a, b, *extra)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("tinygan metrics fid: ")
    assert re.search(message, err), err


def test_bad_paths_and_images(tmp_path, capsys, softmax_model):
    code, _, err = run(capsys, "is", str(tmp_path / "missing"))
    assert code == 2 and "missing: no such file or folder" in err and err.count("\n") == 1
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "broken.png").write_bytes(b"not a png")
    code, _, err = run(capsys, "is", str(folder), "--features", softmax_model[0])
    assert code == 2 and "broken.png: cannot be read as an image" in err and err.count("\n") == 1
    (folder / "broken.png").unlink()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "a.png")
    Image.fromarray(np.zeros((9, 8, 3), np.uint8)).save(folder / "b.png")
    code, _, err = run(capsys, "is", str(folder), "--features", softmax_model[0])
    assert code == 2 and "images differ in size: a.png is (8, 8, 3), b.png is (9, 8, 3)" in err


def test_non_finite_pixels_are_refused(tmp_path, capsys, feature_model):
    bad = np.zeros((4, 12, 12), np.float32)
    bad[2, 3, 4] = np.nan
    code, _, err = run(capsys, "fid", _npz(tmp_path, "bad.npz", images=bad), _npz(tmp_path, "ok.npz", images=bad * 0),
                       "--features", feature_model[0])
    assert code == 2 and "NaN or inf pixels" in err and err.count("\n") == 1


def test_is_needs_probabilities(tmp_path, capsys, feature_model):
    images = _npz(tmp_path, "x.npz", images=rng.integers(0, 256, (10, 12, 12), dtype=np.uint8))
    code, _, err = run(capsys, "is", images, "--features", feature_model[0], "--splits", "2")
    assert code == 2 and "needs class probabilities" in err and err.count("\n") == 1


def test_inception_arguments_keras_refuses_are_one_line(tmp_path, capsys):
    """IS with ImageNet weights needs 299 px (Keras's own check, before any download)."""
    images = _npz(tmp_path, "x.npz", images=np.zeros((4, 8, 8, 3), np.uint8))
    code, _, err = run(capsys, "is", images, "--features", "inception", "--image-size", "150", "--splits", "2")
    assert code == 2 and "`input_shape` should be (299, 299, 3)" in err and err.count("\n") == 1
    code, _, err = run(capsys, "is", images, "--features", "inceptoin")
    assert code == 2 and "--features inceptoin: not auto, inception or digits, and no such model file" in err


def test_each_checkpoint_of_a_run_folder_into_a_csv(tmp_path, capsys, feature_model):
    """--each scores generator_model_001.h5, _002, _010 in that order against one reference set."""
    path, model = feature_model
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    generators = {}
    for number in (10, 1, 2):
        g = Sequential([Dense(144, activation="tanh", input_dim=3), Reshape((12, 12, 1))])
        g.save(str(run_dir / f"generator_model_{number:03d}.h5"))
        generators[number] = g
    real = _npz(tmp_path, "real.npz", images=rng.integers(0, 256, (16, 12, 12), dtype=np.uint8))
    code, out, _ = run(capsys, "fid", str(run_dir), real, "--each", "--n", "16", "--features", path)
    assert code == 0, out
    lines = [l for l in out.splitlines() if l.startswith("generator_model_")]
    assert [l.split(":")[0] for l in lines] == ["generator_model_001.h5", "generator_model_002.h5", "generator_model_010.h5"]
    reference = _expected_features(model, np.load(real)["images"], 12, 1)
    z = np.random.default_rng(1).standard_normal((16, 3)).astype("float32")
    fids = [frechet_distance(_expected_features(model, generators[k].predict(z), 12, 1), reference) for k in (1, 2, 10)]
    csv = (run_dir / "metrics_fid.csv").read_text().splitlines()
    assert csv[0] == "generator,fid,std" and len(csv) == 4
    np.testing.assert_allclose([float(r.split(",")[1]) for r in csv[1:]], fids, rtol=1e-9)
    assert out.splitlines()[-1].startswith(f"wrote {run_dir / 'metrics_fid.csv'} (3 generators; last generator_model_010.h5")
    code, _, err = run(capsys, "fid", real, real, "--each")
    assert code == 2 and "--each:" in err and "is not a run folder" in err
