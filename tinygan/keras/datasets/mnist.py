"""MNIST digits: ``load_data()`` -> ((x_train, y_train), (x_test, y_test)), x uint8 (n, 28, 28), y uint8 (n,)."""
import numpy

from ._download import fetch

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def load_data():
    """The 60,000 training and 10,000 test digits from Keras' ``mnist.npz``."""
    (path,) = fetch(["mnist.npz"], ORIGIN)
    with numpy.load(path, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
