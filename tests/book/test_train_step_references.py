"""One ``train_on_batch`` of each loss/optimizer pair the book uses, against a NumPy derivation by hand.

The model is one Dense layer, 3 inputs -> 2 units, with fixed weights (``set_weights``). For each loss
the reference writes out, in float64:

* the forward pass ``z = X W + b`` and the output activation;
* the loss with Keras 2.2 numerics (mean over the last axis, then over the batch):
  BCE clips p to [1e-7, 1 - 1e-7] and evaluates the logit form on ``log(p / (1 - p))``; CCE
  renormalizes p, clips, ``-sum(y log p)``; sparse CCE is CCE on the integer label; MSE and MAE;
  the book's ``wasserstein_loss = mean(y_true * y_pred)``;
* the analytic gradient with respect to the pre-activation ``z`` (sigmoid + BCE and softmax + CE give
  ``p - y``), then ``dW = X^T dz``, ``db = sum(dz)``;
* the Keras 2.2 update from a fresh optimizer: Adam ``lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)``,
  ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``, ``p -= lr_t m / (sqrt(v) + 1e-7)``;
  SGD ``v = momentum v - lr g``, ``p += v``; RMSprop ``a = rho a + (1 - rho) g^2``,
  ``p -= lr g / (sqrt(a) + 1e-7)``.

The returned loss (computed before the update) and the new weights must agree with rtol 1e-5; the
weight *change* must agree to float32 resolution (a few ulps of the weights), so an update that is
small next to the weights (Adam's lr 2e-4) is still checked digit by digit.
"""
import math

import numpy as np
import pytest

from tinygan.keras import backend
from tinygan.keras.layers import Dense, Input
from tinygan.keras.models import Model, Sequential
from tinygan.keras.optimizers import SGD, Adam, RMSprop


# Keras 2.2 warns when a compiled model's trainable flag changes (the book: "can safely ignore")
pytestmark = pytest.mark.filterwarnings("ignore:Discrepancy between trainable weights:UserWarning")

EPS = 1e-7

X = np.array([[0.5, -1.0, 2.0],
              [1.5, 0.3, -0.7],
              [-0.2, 0.8, 0.1],
              [1.0, -0.5, 0.4]], dtype=np.float32)
W0 = np.array([[0.2, -0.3],
               [0.4, 0.1],
               [-0.5, 0.25]], dtype=np.float32)
B0 = np.array([0.05, -0.1], dtype=np.float32)

# second batch, for the two-step checks of the optimizers' state
X2 = np.array([[-1.0, 0.2, 0.7],
               [0.3, 1.1, -0.4],
               [0.9, -0.6, -1.2]], dtype=np.float32)


def wasserstein_loss(y_true, y_pred):
    """Listing 16.4."""
    return backend.mean(y_true * y_pred)


# loss name as passed to compile -> (output activation, targets for X, targets for X2)
TARGETS = {
    "binary_crossentropy": ("sigmoid", np.array([[1, 0], [0, 1], [1, 1], [0, 0]], np.float32),
                            np.array([[0, 1], [1, 1], [0, 0]], np.float32)),
    "mse": ("linear", np.array([[0.3, -0.2], [1.0, 0.5], [-0.4, 0.9], [0.0, -1.0]], np.float32),
            np.array([[0.5, 0.5], [-1.0, 0.2], [0.1, -0.3]], np.float32)),
    "mae": ("linear", np.array([[0.3, -0.2], [1.0, 0.5], [-0.4, 0.9], [0.0, 0.0]], np.float32),
            np.array([[0.5, 0.5], [-1.0, 0.2], [0.1, -0.3]], np.float32)),
    "categorical_crossentropy": ("softmax", np.array([[1, 0], [0, 1], [0, 1], [1, 0]], np.float32),
                                 np.array([[0, 1], [1, 0], [0, 1]], np.float32)),
    "sparse_categorical_crossentropy": ("softmax", np.array([0, 1, 1, 0]), np.array([1, 0, 1])),
    "wasserstein": ("linear", np.array([[-1, 1], [1, 1], [1, -1], [1, 1]], np.float32),
                    np.array([[1, 1], [-1, -1], [1, 1]], np.float32)),
}

OPTIMIZERS = {
    "adam": (lambda: Adam(lr=0.0002, beta_1=0.5), dict(kind="adam", lr=0.0002, b1=0.5, b2=0.999)),
    "sgd": (lambda: SGD(lr=0.1, momentum=0.3), dict(kind="sgd", lr=0.1, momentum=0.3)),
    "rmsprop": (lambda: RMSprop(), dict(kind="rmsprop", lr=0.001, rho=0.9)),
}


# ---------------------------------------------------------------------------------------------------
# the reference, by hand

def activate(z, activation):
    if activation == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if activation == "softmax":
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)
    return z


def loss_and_grad(loss, z, p, y):
    """(loss value, dL/dz) for a batch, Keras 2.2 numerics; inputs float64."""
    n, k = z.shape
    if loss == "binary_crossentropy":
        assert ((p > EPS) & (p < 1 - EPS)).all()  # inside the clip: the gradient is the plain p - y
        pc = np.clip(p, EPS, 1 - EPS)
        logit = np.log(pc / (1 - pc))
        per_elem = np.maximum(logit, 0) - logit * y + np.log1p(np.exp(-np.abs(logit)))
        return per_elem.mean(-1).mean(), (p - y) / (n * k)
    if loss == "mse":
        return ((z - y) ** 2).mean(-1).mean(), 2 * (z - y) / (n * k)
    if loss == "mae":
        assert (np.abs(z - y) > 1e-3).all()
        return np.abs(z - y).mean(-1).mean(), np.sign(z - y) / (n * k)
    if loss == "categorical_crossentropy":
        q = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
        return (-(y * np.log(q)).sum(-1)).mean(), (p * y.sum(-1, keepdims=True) - y) / n
    if loss == "sparse_categorical_crossentropy":
        onehot = np.eye(k)[y.reshape(-1).astype(int)]
        return loss_and_grad("categorical_crossentropy", z, p, onehot)
    if loss == "wasserstein":
        return (y * z).mean(), y / (n * k)
    raise ValueError(loss)


def optimizer_step(cfg, params, grads, state, t):
    """Keras 2.2 update of ``params`` (float64 arrays) in place; ``state`` holds the slots; ``t`` from 1."""
    for i, (p, g) in enumerate(zip(params, grads)):
        s = state.setdefault(i, {"m": np.zeros_like(p), "v": np.zeros_like(p)})
        if cfg["kind"] == "adam":
            lr_t = cfg["lr"] * math.sqrt(1 - cfg["b2"] ** t) / (1 - cfg["b1"] ** t)
            s["m"] = cfg["b1"] * s["m"] + (1 - cfg["b1"]) * g
            s["v"] = cfg["b2"] * s["v"] + (1 - cfg["b2"]) * g * g
            p -= lr_t * s["m"] / (np.sqrt(s["v"]) + EPS)
        elif cfg["kind"] == "sgd":
            s["m"] = cfg["momentum"] * s["m"] - cfg["lr"] * g
            p += s["m"]
        elif cfg["kind"] == "rmsprop":
            s["v"] = cfg["rho"] * s["v"] + (1 - cfg["rho"]) * g * g
            p -= cfg["lr"] * g / (np.sqrt(s["v"]) + EPS)


def reference_steps(loss, activation, cfg, batches):
    """Losses and weights after each training step on ``batches`` [(X, y), ...]."""
    w, b = W0.astype(np.float64), B0.astype(np.float64)
    state, history = {}, []
    for t, (x, y) in enumerate(batches, start=1):
        x = x.astype(np.float64)
        z = x @ w + b
        p = activate(z, activation)
        value, dz = loss_and_grad(loss, z, p, y.astype(np.float64))
        grads = [x.T @ dz, dz.sum(0)]
        # test data sanity: Adam and RMSprop turn a rounding-level gradient into a full step
        assert all((np.abs(g) > 1e-4).all() for g in grads), "choose targets without cancelling gradients"
        optimizer_step(cfg, [w, b], grads, state, t)
        history.append((value, w.copy(), b.copy()))
    return history


# ---------------------------------------------------------------------------------------------------
# comparisons

def assert_weights(new, old, want, what):
    """``new`` (float32, from the engine) equals ``want`` (float64 reference) with rtol 1e-5, and the
    change ``new - old`` equals ``want - old`` up to float32 rounding of the weights."""
    new, old = np.asarray(new), np.asarray(old, np.float64)
    np.testing.assert_allclose(new, want, rtol=1e-5, atol=0, err_msg=what)
    ulp = np.spacing(np.abs(want).astype(np.float32)).astype(np.float64)
    change, want_change = new.astype(np.float64) - old, want - old
    bad = np.abs(change - want_change) > 3 * ulp + 1e-5 * np.abs(want_change)
    assert not bad.any(), f"{what}: update {change[bad]} but the hand-derived update is {want_change[bad]}"


def one_dense(activation, loss, optimizer, **compile_kwargs):
    model = Sequential()
    model.add(Dense(2, input_dim=3, activation=activation))
    model.compile(loss=wasserstein_loss if loss == "wasserstein" else loss, optimizer=optimizer, **compile_kwargs)
    model.set_weights([W0, B0])
    return model


def as_float(value):
    return float(np.asarray(value))


@pytest.fixture(autouse=True)
def _fresh():
    backend.clear_session()


@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
@pytest.mark.parametrize("loss", list(TARGETS))
def test_one_train_on_batch_matches_hand_derivation(loss, opt_name):
    activation, y, _ = TARGETS[loss]
    make_opt, cfg = OPTIMIZERS[opt_name]
    model = one_dense(activation, loss, make_opt())
    got = model.train_on_batch(X, y)
    ((want_loss, want_w, want_b),) = reference_steps(loss, activation, cfg, [(X, y)])
    assert np.ndim(got) == 0, "no metrics compiled: train_on_batch returns the loss alone"
    assert as_float(got) == pytest.approx(want_loss, rel=1e-5)
    w, b = model.get_weights()
    assert w.dtype == np.float32 and b.dtype == np.float32
    assert_weights(w, W0, want_w, f"{loss}/{opt_name} kernel")
    assert_weights(b, B0, want_b, f"{loss}/{opt_name} bias")


@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
def test_second_step_uses_the_optimizer_state(opt_name):
    """Momentum, Adam's moments and bias correction at t=2, RMSprop's running average."""
    activation, y, y2 = TARGETS["mse"]
    make_opt, cfg = OPTIMIZERS[opt_name]
    model = one_dense(activation, "mse", make_opt())
    first = model.train_on_batch(X, y)
    second = model.train_on_batch(X2, y2)
    (l1, _, _), (l2, w2, b2) = reference_steps("mse", activation, cfg, [(X, y), (X2, y2)])
    assert as_float(first) == pytest.approx(l1, rel=1e-5)
    assert as_float(second) == pytest.approx(l2, rel=1e-5)
    w, b = model.get_weights()
    np.testing.assert_allclose(w, w2, rtol=1e-5)
    np.testing.assert_allclose(b, b2, rtol=1e-5)


def test_sparse_labels_of_shape_n_by_1():
    """Integer labels as (n, 1) give the same step as (n,) (the book passes both)."""
    activation, y, _ = TARGETS["sparse_categorical_crossentropy"]
    model = one_dense(activation, "sparse_categorical_crossentropy", Adam(lr=0.0002, beta_1=0.5))
    got = model.train_on_batch(X, y.reshape(-1, 1))
    ((want_loss, want_w, _),) = reference_steps("sparse_categorical_crossentropy", activation, OPTIMIZERS["adam"][1], [(X, y)])
    assert as_float(got) == pytest.approx(want_loss, rel=1e-5)
    assert_weights(model.get_weights()[0], W0, want_w, "kernel")


@pytest.mark.parametrize("loss, metric", [
    ("binary_crossentropy", lambda p, y: (np.round(p) == y).mean(-1).mean()),
    ("categorical_crossentropy", lambda p, y: (p.argmax(-1) == y.argmax(-1)).mean()),
    ("sparse_categorical_crossentropy", lambda p, y: (p.argmax(-1) == y.reshape(-1)).mean()),
])
def test_accuracy_metric_is_measured_before_the_update(loss, metric):
    """``metrics=['accuracy']`` resolves by loss (binary / categorical / sparse categorical accuracy);
    train_on_batch returns ``[loss, acc]`` from the forward pass that precedes the update."""
    activation, y, _ = TARGETS[loss]
    model = one_dense(activation, loss, SGD(lr=0.1, momentum=0.3), metrics=["accuracy"])
    got = model.train_on_batch(X, y)
    p = activate(X.astype(np.float64) @ W0 + B0, activation)
    ((want_loss, want_w, _),) = reference_steps(loss, activation, OPTIMIZERS["sgd"][1], [(X, y)])
    assert len(got) == 2
    assert as_float(got[0]) == pytest.approx(want_loss, rel=1e-5)
    assert as_float(got[1]) == pytest.approx(metric(p, y), abs=1e-7)
    assert_weights(model.get_weights()[0], W0, want_w, "kernel")


# ---------------------------------------------------------------------------------------------------
# loss_weights

W0_HEAD2 = np.array([[-0.1, 0.3], [0.2, -0.4], [0.35, 0.05]], dtype=np.float32)
B0_HEAD2 = np.array([0.0, 0.2], dtype=np.float32)
Y_HEAD2 = np.array([[0.4, -0.3], [0.9, 0.2], [-0.5, 0.6], [0.1, -0.8]], dtype=np.float32)


@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
def test_two_outputs_with_loss_weights(opt_name):
    """The Pix2Pix composite's pattern: ``loss=['binary_crossentropy', 'mae'], loss_weights=[1, 100]``.
    train_on_batch returns ``[weighted total, loss_1, loss_2]`` (per-output losses unweighted) and the
    update follows the gradient of the weighted total."""
    make_opt, cfg = OPTIMIZERS[opt_name]
    inp = Input(shape=(3,))
    head1 = Dense(2, activation="sigmoid")(inp)
    head2 = Dense(2)(inp)
    model = Model(inp, [head1, head2])
    model.compile(loss=["binary_crossentropy", "mae"], optimizer=make_opt(), loss_weights=[1, 100])
    model.set_weights([W0, B0, W0_HEAD2, B0_HEAD2])
    y1 = TARGETS["binary_crossentropy"][1]
    total, l1, l2 = model.train_on_batch(X, [y1, Y_HEAD2])

    x = X.astype(np.float64)
    z1 = x @ W0 + B0
    want_l1, dz1 = loss_and_grad("binary_crossentropy", z1, activate(z1, "sigmoid"), y1)
    z2 = x @ W0_HEAD2 + B0_HEAD2
    want_l2, dz2 = loss_and_grad("mae", z2, z2, Y_HEAD2.astype(np.float64))
    dz2 = 100 * dz2
    params = [W0.astype(np.float64), B0.astype(np.float64), W0_HEAD2.astype(np.float64), B0_HEAD2.astype(np.float64)]
    optimizer_step(cfg, params, [x.T @ dz1, dz1.sum(0), x.T @ dz2, dz2.sum(0)], {}, 1)

    assert as_float(l1) == pytest.approx(want_l1, rel=1e-5)
    assert as_float(l2) == pytest.approx(want_l2, rel=1e-5)
    assert as_float(total) == pytest.approx(want_l1 + 100 * want_l2, rel=1e-5)
    for got, old, want, what in zip(model.get_weights(), [W0, B0, W0_HEAD2, B0_HEAD2], params, ["W1", "b1", "W2", "b2"]):
        assert_weights(got, old, want, f"{opt_name} {what}")


def test_single_output_loss_weight_scales_loss_and_gradient():
    """Every discriminator of chapters 22-26: ``loss_weights=[0.5]``; the returned loss already includes
    the 0.5 and so does the SGD step."""
    activation, y, _ = TARGETS["binary_crossentropy"]
    model = one_dense(activation, "binary_crossentropy", SGD(lr=0.1, momentum=0.3), loss_weights=[0.5])
    got = model.train_on_batch(X, y)
    x = X.astype(np.float64)
    z = x @ W0 + B0
    value, dz = loss_and_grad("binary_crossentropy", z, activate(z, "sigmoid"), y)
    w, b = W0.astype(np.float64), B0.astype(np.float64)
    optimizer_step(OPTIMIZERS["sgd"][1], [w, b], [0.5 * x.T @ dz, 0.5 * dz.sum(0)], {}, 1)
    assert as_float(got) == pytest.approx(0.5 * value, rel=1e-5)
    assert_weights(model.get_weights()[0], W0, w, "kernel")
    assert_weights(model.get_weights()[1], B0, b, "bias")


# ---------------------------------------------------------------------------------------------------
# the GAN composite: a frozen D inside passes the gradient to G and is not updated

def test_composite_step_updates_generator_only():
    """Chapter 4's pattern (Listing 4.10): D compiled, ``D.trainable = False``, ``Sequential([G, D])``
    compiled; one composite step on label 1 moves G by the hand-derived gradient through D and leaves D
    alone, while D's own train_on_batch still updates D (the flag is read at compile time)."""
    wg = np.array([[0.3, -0.2, 0.1], [0.5, 0.4, -0.6]], np.float32)
    bg = np.array([0.0, 0.1, -0.1], np.float32)
    wd = np.array([[0.7], [-0.4], [0.2]], np.float32)
    bd = np.array([0.05], np.float32)
    generator = Sequential([Dense(3, input_dim=2)])
    discriminator = Sequential([Dense(1, input_dim=3, activation="sigmoid")])
    discriminator.compile(loss="binary_crossentropy", optimizer=Adam(lr=0.0002, beta_1=0.5))
    discriminator.trainable = False
    gan = Sequential()
    gan.add(generator)
    gan.add(discriminator)
    gan.compile(loss="binary_crossentropy", optimizer=SGD(lr=0.1, momentum=0.3))
    generator.set_weights([wg, bg])
    discriminator.set_weights([wd, bd])

    z = np.array([[0.5, -1.0], [1.2, 0.3], [-0.7, 0.8]], np.float32)
    y = np.ones((3, 1), np.float32)
    got = gan.train_on_batch(z, y)

    z64 = z.astype(np.float64)
    h = z64 @ wg + bg
    logits = h @ wd + bd
    p = activate(logits, "sigmoid")
    value, dlogits = loss_and_grad("binary_crossentropy", logits, p, y)
    dh = dlogits @ wd.T.astype(np.float64)
    w, b = wg.astype(np.float64), bg.astype(np.float64)
    optimizer_step(OPTIMIZERS["sgd"][1], [w, b], [z64.T @ dh, dh.sum(0)], {}, 1)

    assert as_float(got) == pytest.approx(value, rel=1e-5)
    assert_weights(generator.get_weights()[0], wg, w, "G kernel")
    assert_weights(generator.get_weights()[1], bg, b, "G bias")
    np.testing.assert_array_equal(discriminator.get_weights()[0], wd)
    np.testing.assert_array_equal(discriminator.get_weights()[1], bd)

    # D, compiled while trainable, still trains (and not G)
    g_after = generator.get_weights()[0]
    fake = generator.predict(z)
    discriminator.train_on_batch(fake, np.zeros((3, 1), np.float32))
    assert not np.array_equal(discriminator.get_weights()[0], wd)
    np.testing.assert_array_equal(generator.get_weights()[0], g_after)


def test_binary_crossentropy_saturates_at_the_keras_clip():
    """A saturated sigmoid (p rounds to 1.0 in float32) on a fake label: Keras 2.2 clips p to 1 - 1e-7,
    so the loss is -log(1 - float32(1 - 1e-7)) = 15.942385 (the book's ``d2=15.942``, Listing 9.27),
    and the clip passes no gradient, so the step leaves the weights as they were."""
    model = Sequential()
    model.add(Dense(1, input_dim=3, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer=SGD(lr=0.1, momentum=0.3))
    w = np.full((3, 1), 10.0, np.float32)
    b = np.zeros(1, np.float32)
    model.set_weights([w, b])
    x = np.ones((2, 3), np.float32)
    got = model.train_on_batch(x, np.zeros((2, 1), np.float32))
    p = np.float32(1) - np.float32(EPS)
    assert as_float(got) == pytest.approx(-math.log(1 - float(p)), rel=1e-5)
    assert as_float(got) == pytest.approx(15.942385, rel=1e-6)
    np.testing.assert_array_equal(model.get_weights()[0], w)
    np.testing.assert_array_equal(model.get_weights()[1], b)
