"""The version counter: an in-place write into a tensor that a recorded backward reads raises, naming the op,
instead of giving a stale gradient; writes after the backward (the Keras train step) do not."""
import numpy as np
import pytest

import tinygan as tg
from tinygan import ops
from tinygan.autograd import InPlaceModificationError
from tinygan.keras import optimizers
from tinygan.keras.layers import Conv2D, Dense, Flatten, Input, LeakyReLU
from tinygan.keras.models import Model


def _w_times_x():
    w = tg.Tensor(np.array([2.0]), requires_grad=True)
    x = tg.Tensor(np.array([5.0]), requires_grad=True)
    return w, x, ops.sum(w * x)


def test_in_place_write_after_recording_raises_naming_the_op():
    w, x, y = _w_times_x()
    with tg.no_grad():
        w[...] = 1.0  # as an optimizer step would
    with pytest.raises(InPlaceModificationError, match=r"Mul's backward needs its input 0 .*version 1; expected version 0"):
        y.backward()


def test_replacing_data_after_recording_raises():
    w, x, y = _w_times_x()
    w.data = np.array([1.0])
    with pytest.raises(InPlaceModificationError, match="Mul.*had its .data replaced"):
        tg.grad(y, x)


def test_optimizer_step_between_forward_and_backward_raises():
    w, x, y = _w_times_x()
    optimizers.SGD(lr=0.1).apply_gradients([w], [np.ones(1)])
    with pytest.raises(InPlaceModificationError, match="Mul"):
        y.backward()


def test_writes_after_backward_and_into_unread_inputs_are_fine():
    w, x, y = _w_times_x()
    y.backward()
    w[...] = 1.0
    np.testing.assert_allclose(x.grad.numpy(), [2.0])
    a = tg.Tensor(np.ones(2), requires_grad=True)
    z = ops.sum(a + 1.0)  # add's backward reads no values
    a[0] = 7.0
    z.backward()
    np.testing.assert_allclose(a.grad.numpy(), [1.0, 1.0])


def test_views_and_detach_share_the_version_counter():
    x = tg.Tensor(np.arange(4.0), requires_grad=True)
    v = ops.reshape(x, (2, 2))
    y = ops.sum(v * v)
    x.detach()[0] = 3.0
    assert x.version == 1 and v.version == 1
    with pytest.raises(InPlaceModificationError, match="Mul"):
        y.backward()


FUSED = {  # the fused ops read the LeakyReLU mask off their output
    "Conv2DLeakyReLU": lambda x, w: ops.conv2d(x, w, padding="same", leaky_alpha=0.2),
    "ConvTranspose2DLeakyReLU": lambda x, w: ops.conv_transpose2d(x, w, strides=2, padding="same", leaky_alpha=0.2),
    "_NormalizeLeakyReLU": lambda x, w: ops.batch_norm(x, None, None, 1e-3, True, leaky_alpha=0.2)[0],
}


@pytest.mark.parametrize("op", ["sigmoid", "tanh", "exp", *FUSED])
def test_ops_reading_their_output_check_it(op):
    """sigmoid/tanh/exp and the fused conv/norm + LeakyReLU ops read their output in backward."""
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((1, 4, 4, 2)), requires_grad=True)
    if op in FUSED:
        y = FUSED[op](x, tg.Tensor(rng.standard_normal((3, 3, 2, 2))))
        name = op
    else:
        y = getattr(ops, op)(x)
        name = op.capitalize()
    loss = ops.sum(y)  # sum reads no values, so the op under test is the one that objects
    y[...] = 0.0
    with pytest.raises(InPlaceModificationError, match=f"{name}'s backward needs its output"):
        loss.backward()


def test_in_place_write_of_a_value_needing_grad_is_refused():
    a = tg.Tensor(np.zeros(2))
    with pytest.raises(RuntimeError, match="not recorded"):
        a[0] = tg.Tensor(np.array(1.0), requires_grad=True)


@pytest.mark.filterwarnings("ignore:Discrepancy between trainable weights")
def test_keras_train_d_then_composite_does_not_trip_the_check():
    """The book's loop: D.train_on_batch, then the composite (G + frozen D) train_on_batch, repeated.
    Each train_on_batch is forward, backward and update, so no recorded graph outlives an update."""
    x_in = Input((4, 4, 1))
    d_out = Dense(1, activation="sigmoid")(Flatten()(LeakyReLU(0.2)(Conv2D(2, 3, padding="same")(x_in))))
    d = Model(x_in, d_out)
    d.compile(loss="binary_crossentropy", optimizer="adam")
    z = Input((4, 4, 1))
    g = Model(z, Conv2D(1, 3, padding="same", activation="tanh")(z))
    d.trainable = False
    gz = Input((4, 4, 1))
    gan = Model(gz, d(g(gz)))
    gan.compile(loss="binary_crossentropy", optimizer="adam")
    rng = np.random.default_rng(0)
    batch = rng.standard_normal((2, 4, 4, 1)).astype(np.float32)
    for _ in range(3):
        d.train_on_batch(batch, np.ones((2, 1), np.float32))
        d.train_on_batch(g.predict(batch), np.zeros((2, 1), np.float32))
        gan.train_on_batch(batch, np.ones((2, 1), np.float32))
    assert d.weights[0].version == 6 and g.weights[0].version == 3  # every update was counted
