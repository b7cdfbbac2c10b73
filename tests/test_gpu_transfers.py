"""What the GPU path moves between host and device, checked without a GPU through a CuPy stand-in.

``tests/cupy_stub.py`` plays CuPy on NumPy: device arrays are not NumPy arrays, mixing the two raises as in CuPy,
and every host <-> device copy or synchronisation is counted. With it, a train step on ``device='cuda'`` shows:

* no host array sneaks into device arithmetic (the step would raise);
* a step whose data already lives on the device copies nothing to the device, and brings back only the scalars
  Keras returns (the losses) -- no weights, gradients or activations;
* optimizer state, BatchNorm statistics and weights stay device arrays;
* ``predict`` returns a NumPy array (as Keras does) and ``set_weights``/``get_weights`` cross once per weight.

Kernels run as the array-code references (``dispatch.use('reference')``): the CUDA kernels themselves are
checked under the Numba CUDA simulator (test_cuda_kernels_sim.py) and on a real GPU (test_gpu.py).
"""
import warnings

import numpy as np
import pytest

import tinygan as tg
from tinygan import backend
from tinygan.keras.engine import graph_step
from tinygan.kernels import dispatch

import cupy_stub

SCALAR_BYTES = 16  # a few losses or a flag: the only things a train step may bring back to the host


@pytest.fixture(params=["off", "emulate"])
def stub_gpu(monkeypatch, request):
    """The stand-in GPU, with train steps run eagerly ('off') and as replayed recordings ('emulate': the
    bookkeeping of CUDA-graph steps, keras/engine/graph_step.py, whose real capture needs a GPU)."""
    cupy = cupy_stub.install(monkeypatch)
    tg.set_device("cuda")
    cupy_stub.reset()
    old = graph_step.get_mode()
    graph_step.set_mode(request.param)
    try:
        with dispatch.use("reference"), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Discrepancy between trainable weights")
            yield cupy
    finally:
        graph_step.set_mode(old)
        tg.set_device("cpu")


def _big(direction):
    return [t for t in cupy_stub.transfers if t[0] == direction and t[1] > SCALAR_BYTES]


def _device_arrays_everywhere(*models):
    for m in models:
        for w in m.weights:
            assert isinstance(w.data, cupy_stub.DeviceArray), f"weight {w.name} left the device"
        opt = getattr(m, "optimizer", None)
        for slot in getattr(opt, "_slots", {}).values() if opt is not None else ():
            for arr in (slot if isinstance(slot, (list, tuple)) else [slot]):
                assert isinstance(arr, cupy_stub.DeviceArray), "optimizer state left the device"


def _pix2pix(cupy):
    from tinygan.gans import pix2pix
    shape = (32, 32, 3)
    d = pix2pix.define_discriminator(shape, ndf=8)
    g = pix2pix.define_generator(shape, ngf=8, out_channels=3, n_dropout=0)
    gan = pix2pix.define_gan(g, d, shape)
    rng = np.random.default_rng(0)
    src, tar = (cupy.asarray(rng.uniform(-1, 1, (1, *shape)).astype(np.float32)) for _ in range(2))
    y_real = cupy.ones((1, *d.output_shape[1:]), np.float32)
    return d, g, gan, src, tar, y_real


def test_a_pix2pix_step_on_device_data_brings_back_only_the_losses(stub_gpu):
    d, g, gan, src, tar, y_real = _pix2pix(stub_gpu)
    fake = g(src)  # calling the model on a device array gives a device Tensor (no predict round trip)
    for _ in range(3):  # the first step creates the optimizer state (and with graphs the second records)
        cupy_stub.reset()
        d1 = d.train_on_batch([src, tar], y_real)
        d2 = d.train_on_batch([src, fake], 0 * y_real)
        g_losses = gan.train_on_batch(src, [y_real, tar])
    assert np.isfinite([d1, d2, *g_losses]).all()
    assert [t for t in cupy_stub.transfers if t[0] == "h2d"] == [], "constants must not be copied up each step"
    assert _big("d2h") == [], cupy_stub.transfers
    syncs = [t for t in cupy_stub.transfers if t[0] == "d2h"]
    # per train_on_batch, three waits for the device: the finiteness check of the inputs, that of the targets,
    # and one copy of all the loss values Keras returns, at the end
    assert len(syncs) <= 3 * 3, syncs
    _device_arrays_everywhere(d, g, gan)


def test_a_dcgan_step_with_predict_moves_one_batch_each_way(stub_gpu):
    """The book's loop calls g.predict, which returns NumPy (Keras), and stacks it with real images on the host."""
    from tinygan.gans import dcgan_mnist
    d = dcgan_mnist.define_discriminator()
    g = dcgan_mnist.define_generator(100)
    gan = dcgan_mnist.define_gan(g, d)
    rng = np.random.default_rng(1)
    real = rng.random((4, 28, 28, 1)).astype(np.float32)
    z = stub_gpu.asarray(rng.standard_normal((8, 100)).astype(np.float32))
    y = stub_gpu.asarray(np.vstack([np.ones((4, 1)), np.zeros((4, 1))]).astype(np.float32))
    for _ in range(2):
        cupy_stub.reset()
        fake = g.predict(z[:4])
        assert isinstance(fake, np.ndarray) and fake.shape == (4, 28, 28, 1)
        d.train_on_batch(np.vstack([real, fake]), y)
        gan.train_on_batch(z, stub_gpu.ones((8, 1), np.float32))
    big = [(t[0], t[1]) for t in _big("h2d") + _big("d2h")]
    assert sorted(big) == [("d2h", fake.nbytes), ("h2d", 2 * fake.nbytes)], cupy_stub.transfers
    _device_arrays_everywhere(d, g, gan)


def test_weights_cross_once_each_way(stub_gpu):
    from tinygan.gans import dcgan_mnist
    d = dcgan_mnist.define_discriminator()
    cupy_stub.reset()
    weights = d.get_weights()
    assert all(isinstance(w, np.ndarray) for w in weights)
    assert len(_big("d2h")) == sum(w.size > 2 for w in weights)
    cupy_stub.reset()
    d.set_weights([w + 1 for w in weights])
    assert len(_big("h2d")) == sum(w.size > 2 for w in weights) and _big("d2h") == []
    _device_arrays_everywhere(d)


def test_the_stub_refuses_what_cupy_refuses(stub_gpu):
    x = stub_gpu.ones((2, 3), np.float32)
    with pytest.raises(TypeError, match="NumPy array"):
        x + np.ones((2, 3), np.float32)
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(x)
    assert isinstance(x.sum(), cupy_stub.DeviceArray) and not isinstance(x, np.ndarray)
    cupy_stub.reset()
    assert float(x.sum()) == 6.0 and cupy_stub.transfers[0][0] == "d2h"
    assert backend.xp() is stub_gpu
