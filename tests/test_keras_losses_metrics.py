"""Losses and metrics against hand-computed values, and Keras 2.2's resolution of 'accuracy'."""
import numpy as np
import pytest

import tinygan as tg
from tinygan.keras import backend as K
from tinygan.keras import losses, metrics


def t32(x):
    return tg.Tensor(np.asarray(x, dtype=np.float32))


def test_binary_crossentropy_per_sample_and_keras_cap():
    y = np.array([[1.0], [0.0], [0.0]])  # float64 labels must not upcast the float32 graph
    out = losses.get("binary_crossentropy")(y, t32([[0.9], [0.2], [1.0]]))
    assert out.shape == (3,) and out.dtype == np.float32
    # p = 1 is clipped to 1 - 1e-7 in float32: the loss caps at 15.942385 (the book's d2=15.942).
    np.testing.assert_allclose(out.numpy(), [-np.log(0.9), -np.log(0.8), 15.942385], rtol=1e-5)


def test_mse_mae_over_last_axis():
    y, p = [[1.0, 2.0], [3.0, 4.0]], t32([[1.5, 2.0], [3.0, 5.0]])
    np.testing.assert_allclose(losses.get("mse")(y, p).numpy(), [0.125, 0.5])
    np.testing.assert_allclose(losses.mean_absolute_error(y, p).numpy(), [0.25, 0.5])
    assert losses.get("mae") is losses.get("mean_absolute_error")
    assert losses.get("mean_squared_error") is losses.mse


def test_categorical_crossentropies():
    p = t32([[0.4, 1.0, 0.6]])  # renormalised to (0.2, 0.5, 0.3) like Keras
    np.testing.assert_allclose(losses.categorical_crossentropy([[0, 1, 0]], p).numpy(), [np.log(2)], rtol=1e-6)
    q = t32([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
    for labels in (np.array([1, 2]), np.array([[1], [2]])):
        np.testing.assert_allclose(losses.get("sparse_categorical_crossentropy")(labels, q).numpy(),
                                   [np.log(2), -np.log(0.8)], rtol=1e-6)


def test_keras_backend_style_losses():
    y, p = [[1.0, -1.0]], t32([[0.3, 0.4]])
    np.testing.assert_allclose(losses.hinge(y, p).numpy(), [(0.7 + 1.4) / 2], rtol=1e-6)
    np.testing.assert_allclose(losses.squared_hinge(y, p).numpy(), [(0.49 + 1.96) / 2], rtol=1e-6)
    np.testing.assert_allclose(losses.logcosh([[0.0, 0.0]], t32([[1.0, -2.0]])).numpy(),
                               [np.mean(np.log(np.cosh([1.0, 2.0])))], rtol=1e-6)
    np.testing.assert_allclose(losses.get("kld")([[0.5, 0.5]], t32([[0.25, 0.75]])).numpy(),
                               [0.5 * np.log(2) + 0.5 * np.log(0.5 / 0.75)], rtol=1e-5)


def test_custom_loss_callable_and_unknown_name():
    def wasserstein_loss(y_true, y_pred):  # the book's chapter 16 loss
        return K.mean(y_true * y_pred)

    assert losses.get(wasserstein_loss) is wasserstein_loss
    pred = tg.Tensor(np.array([[2.0], [4.0]], np.float32), requires_grad=True)
    loss = wasserstein_loss(t32([[-1.0], [1.0]]), pred)
    assert loss.item() == pytest.approx(1.0)
    loss.backward()
    np.testing.assert_allclose(pred.grad.numpy(), [[-0.5], [0.5]])
    with pytest.raises(ValueError, match="custom_objects"):
        losses.get("wasserstein_loss")
    assert losses.deserialize("wasserstein_loss", {"wasserstein_loss": wasserstein_loss}) is wasserstein_loss
    assert losses.serialize(losses.mse) == "mean_squared_error"


def test_binary_accuracy_rounds_half_to_zero():
    y = np.array([[1.0], [0.0], [1.0], [0.0]])
    acc = metrics.binary_accuracy(y, t32([[0.6], [0.5], [0.5], [0.4]]))
    np.testing.assert_array_equal(acc.numpy(), [1.0, 1.0, 0.0, 1.0])
    assert acc.dtype == np.float32 and not acc.requires_grad
    flat = metrics.binary_accuracy(y.ravel(), t32([[0.6], [0.5], [0.5], [0.4]]))  # labels (n,), outputs (n, 1)
    np.testing.assert_array_equal(flat.numpy(), [1.0, 1.0, 0.0, 1.0])


def test_binary_accuracy_with_smoothed_labels_is_zero_as_in_keras():
    np.testing.assert_array_equal(metrics.binary_accuracy([[0.9], [0.1]], t32([[0.95], [0.05]])).numpy(), [0, 0])


def test_categorical_and_sparse_accuracy():
    p = t32([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]])
    np.testing.assert_array_equal(metrics.categorical_accuracy([[0, 1, 0], [0, 0, 1]], p).numpy(), [1, 0])
    for labels, want in ((np.array([1, 2]), [1, 0]), (np.array([[1], [0]]), [1, 1])):
        np.testing.assert_array_equal(metrics.sparse_categorical_accuracy(labels, p).numpy(), want)


def test_accuracy_resolves_like_keras_compile():
    assert metrics.get("accuracy", losses.binary_crossentropy) is metrics.binary_accuracy
    assert metrics.get("acc", "binary_crossentropy") is metrics.binary_accuracy
    assert metrics.get("accuracy", "categorical_crossentropy") is metrics.categorical_accuracy
    assert metrics.get("accuracy", "sparse_categorical_crossentropy") is metrics.sparse_categorical_accuracy
    # One output unit means binary whatever the loss (Keras checks the shape first).
    assert metrics.get("accuracy", "mse", output_shape=(None, 1)) is metrics.binary_accuracy
    assert metrics.get("accuracy", "mse", output_shape=(None, 10)) is metrics.categorical_accuracy
    assert metrics.get("ce", "sparse_categorical_crossentropy") is losses.sparse_categorical_crossentropy
    assert metrics.get("mse") is losses.mse
    assert metrics.get(metrics.binary_accuracy) is metrics.binary_accuracy
    with pytest.raises(ValueError, match="unknown metric"):
        metrics.get("f1")
