"""GPU benchmarks (pytest-benchmark): tinygan's CUDA kernels against its CuPy array-code references, and
tinygan ops against PyTorch + cuDNN (the model train steps are ``python -m tinygan.gpu_bench``).

Skipped without CuPy and a CUDA device; the PyTorch rows are skipped unless ``torch.cuda.is_available()``.
Run on a GPU machine::

    python -m pytest bench/test_bench_gpu.py -m gpu --benchmark-columns=median,iqr,min,rounds \
        --benchmark-group-by=group --benchmark-sort=name

Every timed call ends with an explicit device synchronisation (``cupy.cuda.Device().synchronize()`` /
``torch.cuda.synchronize()``), so a row is the wall time of finished GPU work, not of kernel launches.
Each benchmark warms up (compiles the Numba kernels, fills CuPy's and cuDNN's caches) and then times
``ROUNDS`` rounds; compare the *median* column. Shapes are the book's: Pix2Pix at 256x256 with batch 1,
the MNIST DCGAN with batch 128.
"""
import numpy as np
import pytest

import tinygan as tg
from tinygan import backend

pytestmark = pytest.mark.gpu

ROUNDS = 20
WARMUP = 3


def _gpu_present():
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


if not _gpu_present():
    pytestmark = [pytest.mark.gpu, pytest.mark.skip(reason="needs CuPy and a CUDA device")]


def _torch_cuda():
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


needs_torch = pytest.mark.skipif(_torch_cuda() is None, reason="needs PyTorch with CUDA for the comparison row")


@pytest.fixture(autouse=True)
def _on_cuda():
    tg.set_device("cuda")
    yield
    tg.set_device("cpu")


def _cupy_sync():
    import cupy
    cupy.cuda.Device().synchronize()


def _torch_sync():
    _torch_cuda().cuda.synchronize()


def _run(benchmark, fn, sync, rounds=ROUNDS, warmup=WARMUP):
    """Time ``fn(); sync()``: ``warmup`` untimed rounds, then ``rounds`` timed ones (pytest-benchmark reports
    the median among them)."""
    def call():
        out = fn()
        sync()
        return out
    for _ in range(warmup):
        call()
    return benchmark.pedantic(call, rounds=rounds, iterations=1, warmup_rounds=0)


def _cp(a):
    import cupy
    return cupy.asarray(a)


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ---- single kernels: CUDA vs the CuPy array-code reference --------------------------------------------------

# Pix2Pix encoder C128 at 256 px: 128x128x64 in, 4x4 stride 2 'same' (TensorFlow pads 1 on each side here).
CONV_X = (1, 128, 128, 64)
CONV_GEOM = (4, 4, 2, 2, 1, 1, 1, 1)


@pytest.mark.benchmark(group="im2col 1x128x128x64 k4 s2")
@pytest.mark.parametrize("mode", ["auto", "reference"], ids=["cuda-kernel", "cupy-reference"])
def test_im2col(benchmark, mode):
    from tinygan.kernels import dispatch
    x = _cp(_rand(*CONV_X))
    with dispatch.use(mode):
        _run(benchmark, lambda: dispatch.im2col(x, *CONV_GEOM), _cupy_sync)


@pytest.mark.benchmark(group="col2im 1x128x128x64 k4 s2")
@pytest.mark.parametrize("mode", ["auto", "reference"], ids=["cuda-kernel", "cupy-reference"])
def test_col2im(benchmark, mode):
    from tinygan.kernels import dispatch
    kh, kw, sh, sw, *pads = CONV_GEOM
    cols = _cp(_rand(64 * 64, kh * kw * CONV_X[-1]))
    with dispatch.use(mode):
        _run(benchmark, lambda: dispatch.col2im(cols, CONV_X, kh, kw, sh, sw, pads), _cupy_sync)


@pytest.mark.benchmark(group="adam 54.4M params (pix2pix G)")
@pytest.mark.parametrize("mode", ["auto", "reference", "torch"], ids=["cuda-kernel", "cupy-reference", "torch-fused"])
def test_adam_update(benchmark, mode):
    n = 54_419_459
    if mode == "torch":
        torch = _torch_cuda()
        if torch is None:
            pytest.skip("needs PyTorch with CUDA")
        p = torch.nn.Parameter(torch.randn(n, device="cuda"))
        p.grad = torch.randn(n, device="cuda")
        opt = torch.optim.Adam([p], lr=2e-4, betas=(0.5, 0.999), eps=1e-7, fused=True)
        _run(benchmark, opt.step, _torch_sync)
        return
    import cupy

    from tinygan.kernels import dispatch
    p, g = cupy.random.standard_normal(n, dtype=cupy.float32), cupy.random.standard_normal(n, dtype=cupy.float32)
    m, v = cupy.zeros_like(p), cupy.zeros_like(p)
    with dispatch.use(mode):
        _run(benchmark, lambda: dispatch.adam_update(p, g, m, v, 1e-5, 0.5, 0.999, 1e-7), _cupy_sync)


# ---- ops forward + backward: tinygan (CUDA kernels / CuPy reference) vs PyTorch + cuDNN -----------------------

def _tg_fwd_bwd(op, *arrays):
    xs = [tg.Tensor(_cp(a), requires_grad=True) for a in arrays]

    def step():
        for t in xs:
            t.grad = None
        y = op(*xs)
        y.backward(tg.Tensor(backend.xp().ones_like(y.data), _copy=False))
        return y
    return step


def _torch_fwd_bwd(op, x, *params):
    """``x`` is NHWC: it becomes an NCHW-shaped tensor with channels-last memory (cuDNN's fast NHWC path);
    ``params`` stay in their Keras layouts and the op permutes them."""
    torch = _torch_cuda()
    xt = torch.from_numpy(x).cuda()
    if x.ndim == 4:
        xt = xt.permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
    xs = [xt.requires_grad_(True)] + [torch.from_numpy(a).cuda().requires_grad_(True) for a in params]

    def step():
        for t in xs:
            t.grad = None
        y = op(*xs)
        y.backward(torch.ones_like(y))
        return y
    return step


OPS = {
    # name: (arrays, tinygan op, torch op)
    "conv2d 1x128x128x64 -> 128, k4 s2 same": (
        [_rand(*CONV_X), 0.02 * _rand(4, 4, 64, 128, seed=1)],
        lambda x, w: tg.ops.conv2d(x, w, strides=(2, 2), padding="same"),
        lambda x, w: _torch_cuda().nn.functional.conv2d(x, w.permute(3, 2, 0, 1), stride=2, padding=1)),
    "conv_transpose2d 1x64x64x128 -> 64, k4 s2 same": (
        [_rand(1, 64, 64, 128), 0.02 * _rand(4, 4, 64, 128, seed=1)],
        lambda x, w: tg.ops.conv_transpose2d(x, w, strides=(2, 2), padding="same"),
        lambda x, w: _torch_cuda().nn.functional.conv_transpose2d(x, w.permute(3, 2, 0, 1), stride=2, padding=1)),
    "batch_norm train 1x64x64x128": (
        [_rand(1, 64, 64, 128), np.ones(128, np.float32), np.zeros(128, np.float32)],
        lambda x, g, b: tg.ops.batch_norm(x, g, b, eps=1e-3, training=True)[0],
        lambda x, g, b: _torch_cuda().nn.functional.batch_norm(x, None, None, g, b, training=True, eps=1e-3)),
    "leaky_relu 1x128x128x64": (
        [_rand(*CONV_X)],
        lambda x: tg.ops.leaky_relu(x, 0.2),
        lambda x: _torch_cuda().nn.functional.leaky_relu(x, 0.2)),
}


@pytest.mark.parametrize("impl", ["tinygan-cuda", "tinygan-cupy-reference", "torch-cudnn"])
@pytest.mark.parametrize("name", list(OPS))
def test_op_forward_backward(benchmark, name, impl):
    from tinygan.kernels import dispatch
    benchmark.group = f"fwd+bwd {name}"
    arrays, tg_op, torch_op = OPS[name]
    if impl == "torch-cudnn":
        torch = _torch_cuda()
        if torch is None:
            pytest.skip("needs PyTorch with CUDA")
        torch.backends.cudnn.benchmark = True
        _run(benchmark, _torch_fwd_bwd(torch_op, *arrays), _torch_sync)
        return
    with dispatch.use("auto" if impl == "tinygan-cuda" else "reference"):
        _run(benchmark, _tg_fwd_bwd(tg_op, *arrays), _cupy_sync)


# The book's train steps on the GPU next to PyTorch + cuDNN: python -m tinygan.gpu_bench (bench/gpu_check.sh).
