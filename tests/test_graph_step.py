"""The bookkeeping of CUDA-graph train steps (tinygan/keras/engine/graph_step.py), checked on the CPU.

``TINYGAN_CUDA_GRAPHS=emulate`` replays a recorded step by calling its Python again, so everything around the
recording is exercised without a GPU: static input buffers, the optimizer's per-step scalars (written before
each replay; a stale lr_t would change every update), the BatchNormalization moving averages (run after each
replay from the recorded closures), the step counter, and recording again when an array the graph reads is
replaced. An emulated run must equal an eager run bit for bit. ``tests/test_gpu_graphs.py`` checks the real
graphs on a GPU the same way.
"""
import warnings

import numpy as np
import pytest

import tinygan as tg
from tinygan.gans import dcgan_mnist, pix2pix
from tinygan.keras.engine import graph_step
from tinygan.keras.layers import BatchNormalization, Dense, Dropout, Input
from tinygan.keras.models import Model
from tinygan.keras.optimizers import Adam

pytestmark = pytest.mark.filterwarnings("ignore:Discrepancy between trainable weights")


graphs = graph_step.using


def pix2pix_run(mode, steps=4, size=32):
    """The book's Pix2Pix step (D on a real pair, D on a fake pair, the composite) at ``size`` px; returns the
    losses of every step, the final weights of both models and the models."""
    tg.random.seed(3)
    rng = np.random.default_rng(0)
    shape = (size, size, 3)
    with graphs(mode):
        d = pix2pix.define_discriminator(shape)
        g = pix2pix.define_generator(shape)
        gan = pix2pix.define_gan(g, d, shape)
        patch = d.output_shape[1]
        y_real, y_fake = np.ones((1, patch, patch, 1), np.float32), np.zeros((1, patch, patch, 1), np.float32)
        losses = []
        for _ in range(steps):
            a, b = (rng.uniform(-1, 1, (1, *shape)).astype(np.float32) for _ in range(2))
            fake = g.predict(a)
            losses.append([d.train_on_batch([a, b], y_real), d.train_on_batch([a, fake], y_fake),
                           *gan.train_on_batch(a, [y_real, b])])
    return np.array(losses), d.get_weights() + g.get_weights(), (d, g, gan)


def test_emulated_pix2pix_steps_equal_eager_steps_bit_for_bit():
    eager, w_eager, _ = pix2pix_run("off")
    emulated, w_emulated, (d, g, gan) = pix2pix_run("emulate")
    np.testing.assert_array_equal(emulated, eager)
    for a, b in zip(w_emulated, w_eager):
        np.testing.assert_array_equal(a, b)
    # the recordings are in use: one per model, kind and input shapes
    assert [type(s).__name__ for s in gan._graphs.values()] == ["GraphedTrainStep"]
    assert [type(s).__name__ for s in d._graphs.values()] == ["GraphedTrainStep"]
    assert [type(s).__name__ for s in g._graphs.values()] == ["GraphedPredict"]
    assert gan.optimizer.iterations == d.optimizer.iterations / 2 == 4


def _small_bn_model():
    x = Input((6,))
    h = Dropout(0.3)(BatchNormalization()(Dense(8)(x)))
    model = Model(x, Dense(1, activation="sigmoid")(h))
    model.compile(loss="binary_crossentropy", optimizer=Adam(0.01, 0.5))
    return model


def train_small(mode, restore_at=None, steps=6):
    """Trains the small BN + Dropout model; at step ``restore_at`` restores the optimizer and random state
    saved at the start (new arrays: a graph must notice and record again)."""
    tg.random.seed(5)
    rng = np.random.default_rng(1)
    with graphs(mode):
        model = _small_bn_model()
        saved = None
        losses = []
        for step in range(steps):
            if step == 1:
                saved = model.optimizer.get_state(), tg.random.get_state()
            if step == restore_at:
                model.optimizer.set_state(saved[0])
                tg.random.set_state(saved[1])
            x = rng.standard_normal((16, 6)).astype(np.float32)
            losses.append(model.train_on_batch(x, (x[:, :1] > 0).astype(np.float32)))
    return np.array(losses), model


@pytest.mark.parametrize("restore_at", [None, 4])
def test_emulated_steps_keep_moving_averages_lr_and_rng_like_eager(restore_at):
    eager, m_eager = train_small("off", restore_at)
    emulated, m_emulated = train_small("emulate", restore_at)
    np.testing.assert_array_equal(emulated, eager)
    for a, b in zip(m_emulated.get_weights(), m_eager.get_weights()):  # moving mean and variance included
        np.testing.assert_array_equal(a, b)
    # a restore at step 4 goes back to the count saved after step 1
    assert m_emulated.optimizer.iterations == m_eager.optimizer.iterations == (6 if restore_at is None else 3)


def test_a_replay_reads_this_steps_learning_rate():
    """begin_step writes lr_t before each replay: a graph replayed with the step-2 value would train otherwise."""
    losses, model = train_small("emulate")
    opt = model.optimizer
    opt.begin_step()
    t = opt.iterations + 1
    expected = 0.01 * np.sqrt(1 - 0.999 ** t) / (1 - 0.5 ** t)
    assert opt._scalars[np.dtype(np.float32)]["lr_t"] == pytest.approx(expected)


def test_recompiling_drops_the_graphs_and_a_failed_recording_falls_back_with_one_warning(monkeypatch):
    tg.random.seed(0)
    with graphs("emulate"):
        model = _small_bn_model()
        x, y = np.ones((4, 6), np.float32), np.ones((4, 1), np.float32)
        for _ in range(3):
            model.train_on_batch(x, y)
        assert len(model._graphs) == 1
        model.compile(loss="binary_crossentropy", optimizer=Adam(0.01, 0.5))
        assert model._graphs == {}

        def broken(step):
            raise graph_step.RecordingFailed("cudaErrorStreamCaptureUnsupported: a host wait inside the step")
        model.train_on_batch(x, y)
        monkeypatch.setattr(graph_step, "_Emulated", broken)
        with pytest.warns(RuntimeWarning, match="runs without CUDA graphs.*host wait"):
            loss = model.train_on_batch(x, y)
        assert np.isfinite(loss) and model._graph_failure is not None
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model.train_on_batch(x, y)  # eager from now on, without another warning
        assert model._graphs == {}


def dcgan_run(mode, half=4, steps=3):
    """The chapter-7 loop body: its discriminator has Dropout(0.4) and LeakyReLU, the composite a frozen D
    (Keras 2.2); returns the losses and the generator's weights."""
    tg.random.seed(7)
    rng = np.random.default_rng(2)
    with graphs(mode):
        d = dcgan_mnist.define_discriminator()
        g = dcgan_mnist.define_generator(16)
        gan = dcgan_mnist.define_gan(g, d)
        losses = []
        for _ in range(steps):
            x = np.vstack([rng.uniform(0, 1, (half, 28, 28, 1)), g.predict(rng.standard_normal((half, 16)))])
            y = np.r_[np.ones(half), np.zeros(half)][:, None]
            losses.extend(d.train_on_batch(x.astype(np.float32), y))
            losses.append(gan.train_on_batch(rng.standard_normal((2 * half, 16)).astype(np.float32),
                                             np.ones((2 * half, 1))))
    return np.array(losses), g.get_weights()


def test_dcgan_mnist_book_step_emulated_equals_eager():
    (eager, w_eager), (emulated, w_emulated) = dcgan_run("off"), dcgan_run("emulate")
    np.testing.assert_array_equal(emulated, eager)
    for a, b in zip(w_emulated, w_eager):
        np.testing.assert_array_equal(a, b)


def test_an_unknown_mode_is_one_clear_error():
    with pytest.raises(ValueError, match="TINYGAN_CUDA_GRAPHS='sometimes'.*auto, off, emulate"):
        graph_step.set_mode("sometimes")
