"""GPU benchmarks (pytest-benchmark): tinygan's CUDA kernels against its CuPy array-code references, and
tinygan ops / model train steps against PyTorch + cuDNN.

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


# ---- model train steps ------------------------------------------------------------------------------------------

def _pix2pix_tinygan(image_shape=(256, 256, 3)):
    from tinygan.gans import pix2pix
    tg.random.seed(0)
    d_model, g_model, gan_model = pix2pix.define_models(image_shape)
    rng = np.random.default_rng(0)
    src, tar = (rng.uniform(-1, 1, (1, *image_shape)).astype(np.float32) for _ in range(2))
    n_patch = d_model.output_shape[1]
    y_real, y_fake = np.ones((1, n_patch, n_patch, 1), np.float32), np.zeros((1, n_patch, n_patch, 1), np.float32)

    def step():
        fake = g_model.predict(src)
        d_model.train_on_batch([src, tar], y_real)
        d_model.train_on_batch([src, fake], y_fake)
        return gan_model.train_on_batch(src, [y_real, tar])
    return step


def _pix2pix_torch(size=256):
    """The book's Pix2Pix in PyTorch (channels_last, cuDNN): the same layers, losses and update order."""
    torch = _torch_cuda()
    nn = torch.nn

    def enc(cin, cout, bn=True):
        layers = [nn.Conv2d(cin, cout, 4, 2, 1)] + ([nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)] if bn else [])
        return nn.Sequential(*layers, nn.LeakyReLU(0.2))

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            f = [64, 128, 256, 512, 512, 512, 512]
            self.enc = nn.ModuleList([enc(3 if i == 0 else f[i - 1], c, bn=i > 0) for i, c in enumerate(f)])
            self.bottleneck = nn.Sequential(nn.Conv2d(512, 512, 4, 2, 1), nn.ReLU())
            self.dec = nn.ModuleList()
            cin = 512
            for i, c in enumerate(reversed(f)):
                self.dec.append(nn.Sequential(nn.ConvTranspose2d(cin, c, 4, 2, 1), nn.BatchNorm2d(c, eps=1e-3, momentum=0.01),
                                              *([nn.Dropout(0.5)] if i < 3 else [])))
                cin = 2 * c
            self.out = nn.Sequential(nn.ConvTranspose2d(cin, 3, 4, 2, 1), nn.Tanh())

        def forward(self, x):
            skips = []
            for e in self.enc:
                x = e(x)
                skips.append(x)
            x = self.bottleneck(x)
            for d, s in zip(self.dec, reversed(skips)):
                x = torch.relu(torch.cat([d(x), s], 1))
            return self.out(x)

    class PatchGAN(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(
                enc(6, 64, bn=False), enc(64, 128), enc(128, 256), enc(256, 512),
                nn.Conv2d(512, 512, 4, 1, "same"), nn.BatchNorm2d(512, eps=1e-3, momentum=0.01), nn.LeakyReLU(0.2),
                nn.Conv2d(512, 1, 4, 1, "same"), nn.Sigmoid())

        def forward(self, a, b):
            return self.net(torch.cat([a, b], 1))

    cl = torch.channels_last
    g, d = UNet().cuda().to(memory_format=cl), PatchGAN().cuda().to(memory_format=cl)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-7)
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-7)
    src, tar = (torch.rand(1, 3, size, size, device="cuda").mul(2).sub(1).contiguous(memory_format=cl) for _ in range(2))
    bce, l1 = nn.BCELoss(), nn.L1Loss()
    torch.backends.cudnn.benchmark = True

    def step():
        with torch.no_grad():
            fake = g(src)
        for a, b, label in ((src, tar, 1.0), (src, fake, 0.0)):
            opt_d.zero_grad(set_to_none=True)
            p = d(a, b)
            (0.5 * bce(p, torch.full_like(p, label))).backward()
            opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        d.requires_grad_(False)
        out = g(src)
        p = d(src, out)
        (bce(p, torch.ones_like(p)) + 100 * l1(out, tar)).backward()
        d.requires_grad_(True)
        opt_g.step()
    return step


def _dcgan_tinygan(batch=128):
    from tinygan.keras.layers import Conv2D, Conv2DTranspose, Dense, Dropout, Flatten, LeakyReLU, Reshape
    from tinygan.keras.models import Sequential
    from tinygan.keras.optimizers import Adam
    tg.random.seed(0)
    d = Sequential([Conv2D(64, (3, 3), strides=(2, 2), padding='same', input_shape=(28, 28, 1)), LeakyReLU(0.2),
                    Dropout(0.4), Conv2D(64, (3, 3), strides=(2, 2), padding='same'), LeakyReLU(0.2), Dropout(0.4),
                    Flatten(), Dense(1, activation='sigmoid')])
    d.compile(loss='binary_crossentropy', optimizer=Adam(lr=0.0002, beta_1=0.5), metrics=['accuracy'])
    g = Sequential([Dense(128 * 7 * 7, input_dim=100), LeakyReLU(0.2), Reshape((7, 7, 128)),
                    Conv2DTranspose(128, (4, 4), strides=(2, 2), padding='same'), LeakyReLU(0.2),
                    Conv2DTranspose(128, (4, 4), strides=(2, 2), padding='same'), LeakyReLU(0.2),
                    Conv2D(1, (7, 7), activation='sigmoid', padding='same')])
    d.trainable = False
    gan = Sequential([g, d])
    gan.compile(loss='binary_crossentropy', optimizer=Adam(lr=0.0002, beta_1=0.5))
    rng = np.random.default_rng(0)
    real = rng.random((batch // 2, 28, 28, 1)).astype(np.float32)
    z = rng.standard_normal((batch, 100)).astype(np.float32)
    y = np.vstack([np.ones((batch // 2, 1)), np.zeros((batch // 2, 1))]).astype(np.float32)

    def step():
        fake = g.predict(z[:batch // 2])
        d.train_on_batch(np.vstack([real, fake]), y)
        return gan.train_on_batch(z, np.ones((batch, 1), np.float32))
    return step


def _dcgan_torch(batch=128):
    torch = _torch_cuda()
    nn = torch.nn
    d = nn.Sequential(nn.Conv2d(1, 64, 3, 2, 1), nn.LeakyReLU(0.2), nn.Dropout(0.4), nn.Conv2d(64, 64, 3, 2, 1),
                      nn.LeakyReLU(0.2), nn.Dropout(0.4), nn.Flatten(), nn.Linear(64 * 7 * 7, 1), nn.Sigmoid()).cuda()
    g = nn.Sequential(nn.Linear(100, 128 * 7 * 7), nn.LeakyReLU(0.2), nn.Unflatten(1, (128, 7, 7)),
                      nn.ConvTranspose2d(128, 128, 4, 2, 1), nn.LeakyReLU(0.2), nn.ConvTranspose2d(128, 128, 4, 2, 1),
                      nn.LeakyReLU(0.2), nn.Conv2d(128, 1, 7, 1, 3), nn.Sigmoid()).cuda()
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-7)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-7)
    real = torch.rand(batch // 2, 1, 28, 28, device="cuda")
    z = torch.randn(batch, 100, device="cuda")
    y = torch.cat([torch.ones(batch // 2, 1), torch.zeros(batch // 2, 1)]).cuda()
    bce = nn.BCELoss()
    torch.backends.cudnn.benchmark = True

    def step():
        with torch.no_grad():
            fake = g(z[:batch // 2])
        opt_d.zero_grad(set_to_none=True)
        bce(d(torch.cat([real, fake])), y).backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        d.requires_grad_(False)
        bce(d(g(z)), torch.ones(batch, 1, device="cuda")).backward()
        d.requires_grad_(True)
        opt_g.step()
    return step


MODELS = {
    "pix2pix 256x256 batch 1 (book)": (_pix2pix_tinygan, _pix2pix_torch),
    "dcgan mnist batch 128 (book)": (_dcgan_tinygan, _dcgan_torch),
}


@pytest.mark.parametrize("impl", ["tinygan-cuda", "tinygan-cupy-reference", "torch-cudnn"])
@pytest.mark.parametrize("name", list(MODELS))
def test_train_step(benchmark, name, impl):
    from tinygan.kernels import dispatch
    benchmark.group = f"train step {name}"
    make_tg, make_torch = MODELS[name]
    if impl == "torch-cudnn":
        if _torch_cuda() is None:
            pytest.skip("needs PyTorch with CUDA")
        _run(benchmark, make_torch(), _torch_sync, rounds=10)
        return
    with dispatch.use("auto" if impl == "tinygan-cuda" else "reference"):
        _run(benchmark, make_tg(), _cupy_sync, rounds=10)
