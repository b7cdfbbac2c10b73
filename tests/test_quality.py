"""The digit-classifier quality check: input preparation, scoring arithmetic, and a tiny training run."""
import numpy as np
import pytest

from tinygan import random as tg_random
from tinygan.gans import quality

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


class FixedProbs:
    """A stand-in classifier returning given probabilities."""

    def __init__(self, probs):
        self.probs = np.asarray(probs, dtype=np.float64)

    def predict(self, x, batch_size=None):
        assert x.shape[1:] == (28, 28, 1) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
        return self.probs[:len(x)]


def test_prepare_digits_ranges():
    u8 = np.full((2, 28, 28), 255, dtype=np.uint8)
    assert quality.prepare_digits(u8).shape == (2, 28, 28, 1) and quality.prepare_digits(u8).max() == 1.0
    tanh = np.full((2, 28, 28, 1), -1.0, dtype=np.float32)
    assert quality.prepare_digits(tanh).max() == 0.0
    unit = np.full((2, 28, 28, 1), 0.25, dtype=np.float32)
    assert quality.prepare_digits(unit).max() == 0.25


def test_score_digits_arithmetic():
    probs = np.zeros((10, 10))
    probs[np.arange(4), [0, 1, 1, 2]] = 0.95          # 4 confident: classes 0, 1, 1, 2
    probs[4:, 3] = 0.5                                  # 6 unsure, all argmax 3
    probs[4:, 4] = 0.5 - 1e-9
    s = quality.score_digits(FixedProbs(probs), np.zeros((10, 28, 28, 1), np.float32), threshold=0.9)
    assert s["n"] == 10 and s["confident_share"] == pytest.approx(0.4)
    assert s["class_coverage"] == 3 and s["class_coverage_all"] == 4
    assert s["class_counts"] == [1, 2, 1, 0, 0, 0, 0, 0, 0, 0]
    assert "40.0% classified" in quality.format_score("x", s)


def test_classifier_size_and_tiny_training():
    tg_random.seed(0)
    assert quality.define_classifier().count_params() == 56714
    from tinygan.gans.dcgan_mnist import split_mnist_5k
    (trX, trY), (teX, teY) = split_mnist_5k()
    pick = np.concatenate([np.flatnonzero(trY == c)[:20] for c in range(10)])
    model, acc = quality.train_classifier(epochs=4, batch_size=50, log=None,
                                          data=((trX[pick], trY[pick]), (teX[::10], teY[::10])))
    assert acc > 0.3                                    # 200 digits, 4 epochs: far above chance (0.1)
    s = quality.score_real_digits(model, n=50)
    assert s["n"] == 50 and 0 <= s["confident_share"] <= 1


def test_get_classifier_saves_and_reloads(tmp_path):
    tg_random.seed(0)
    from tinygan.gans.dcgan_mnist import split_mnist_5k
    (trX, trY), (teX, teY) = split_mnist_5k()
    path = str(tmp_path / "clf.h5")
    m1, _ = quality.get_classifier(path, log=None, epochs=1, data=((trX[::40], trY[::40]), (teX[::20], teY[::20])))
    m2, acc = quality.get_classifier(path, log=None)
    x = quality.prepare_digits(teX[:5])
    np.testing.assert_allclose(m1.predict(x), m2.predict(x), atol=1e-6)
    assert 0 <= acc <= 1
