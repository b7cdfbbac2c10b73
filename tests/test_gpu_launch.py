"""The CUDA kernels' launch configurations at the book's shapes, checked without a GPU.

The simulator runs kernels with its own small blocks (``kernels/cuda/__init__.py``: TPB 32, 4 blocks), so it
cannot show what a real GPU is asked to launch. Here ``launch`` is replaced by a recorder and every kernel entry
point is called, as on a GPU (TPB 256, up to 65,535 blocks), on unwritten NumPy buffers of the shapes the book's
models feed it: every convolution of Pix2Pix at 256 px (batch 1 and 16), DCGAN-MNIST (batch 256) and the CIFAR-10
DCGAN (batch 128), their BatchNorm and LeakyReLU activations, Adam over each weight, BCE over D's output.
Each launch must be legal on any CUDA GPU (at most 1,024 threads a block, a grid within 2^31-1 x 65,535 x
65,535) and start enough threads for its work (every element is covered: a grid-stride loop may cap the
blocks, and then the launch still fills the H200's 132 multiprocessors many times over).
"""
import numpy as np
import pytest

from tinygan import benchmarks
from tinygan.kernels import cuda as kc

if kc.SIMULATOR:
    pytest.skip("under the simulator the launch sizes are the simulator's", allow_module_level=True)

from tinygan.kernels.cuda import conv_lowering, elementwise, norm, optim, reduce  # noqa: E402

H200_RESIDENT_THREADS = 132 * 2048


@pytest.fixture
def launches(monkeypatch):
    seen = []

    def record(kernel, grid, block, *args):
        seen.append((kernel.__name__ if hasattr(kernel, "__name__") else str(kernel), grid, block))
    for mod in (conv_lowering, elementwise, norm, optim, reduce):
        monkeypatch.setattr(mod, "launch", record)
    return seen


def _layers():
    layers = []
    for batch in (1, 16):
        d, g = benchmarks.pix2pix_layers(256, batch)
        layers += d + g
    for model, batch in (("dcgan_mnist", 256), ("dcgan_cifar10", 128)):
        d, g = benchmarks.dcgan_layers(model, batch)
        layers += d + g
    return [lay for lay in layers if lay.kind in ("conv", "convT")]


def _buffer(*shape):
    return np.empty(shape, np.float32)  # never written: the recorder launches nothing


def _as_tuple(v):
    return tuple(v) if isinstance(v, tuple) else (v,)


def _check(launches, work):
    assert launches, "nothing was launched"
    for name, grid, block in launches:
        grid, block = _as_tuple(grid), _as_tuple(block)
        threads = int(np.prod(block))
        assert 32 <= threads <= 1024 and threads % 32 == 0, f"{name}: block {block}"
        assert 1 <= grid[0] <= 2**31 - 1 and all(1 <= g <= 65535 for g in grid[1:]), f"{name}: grid {grid}"
        total = int(np.prod(grid)) * threads
        assert total >= min(work, H200_RESIDENT_THREADS), f"{name}: {total} threads for {work} elements"
    launches.clear()


def test_im2col_and_col2im_launches_at_every_book_convolution(launches):
    for lay in _layers():
        # the conv's input (a transposed conv's col2im builds its output through the same geometry)
        h, w, cin = (lay.h, lay.w, lay.cin) if lay.kind == "conv" else (*lay.out_hw, lay.cout)
        k, s = lay.k, lay.s
        pads = (*benchmarks.tf_same_pads(h, k, s), *benchmarks.tf_same_pads(w, k, s))
        x = _buffer(lay.n, h, w, cin)
        cols = conv_lowering.im2col(x, k, k, s, s, *pads)
        _check(launches, cols.size)
        conv_lowering.col2im(cols, x.shape, k, k, s, s, pads)
        _check(launches, x.size)


def test_norm_activation_and_loss_launches_at_the_book_shapes(launches):
    for lay in _layers():
        oh, ow = lay.out_hw
        x = _buffer(1, lay.n * oh * ow, lay.cout)
        s = np.zeros((1, lay.cout))
        norm.centered_sums(x, x, s, s)
        _check(launches, x.size // 16)  # stage 1: about 16 rows a thread, by design
        norm.channel_affine(x, s + 1, s)
        norm.channel_affine2(x, s + 1, x, s, s)
        elementwise.leaky_relu_forward(x, 0.2)
        elementwise.leaky_relu_backward(x, x, 0.2)
        elementwise.dropout_apply(x, np.empty(x.shape, bool), 2.0)
        _check(launches, x.size)
    y = _buffer(16, 16, 16, 1)  # Pix2Pix D's 16x16 patch output at batch 16
    reduce.binary_crossentropy(y, y)
    reduce.binary_crossentropy_grad(y, y, y)
    _check(launches, y.size)
    reduce.mean_absolute_error_rows(_buffer(16, 256, 256, 3), _buffer(16, 256, 256, 3))
    _check(launches, 16 * 256 * 256)


def test_adam_launches_for_every_book_weight(launches):
    for lay in _layers():
        for shape in lay.param_shapes():
            p = _buffer(*shape)
            optim.adam_update(p, p, p, p, 1e-4, 0.5, 0.999, 1e-7)
            _check(launches, p.size)
