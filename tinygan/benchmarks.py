"""Benchmarks: tinygan next to PyTorch CPU and the GEMM floor (issue 6).

Everything ``tinygan bench`` and the pytest-benchmark suite in ``bench/`` print comes from here, so the
command works from an installed package without the repository's ``bench/`` directory.

What is measured
----------------
* **ops**: forward + backward of one op at the book's shapes: ``conv2d`` and ``conv_transpose2d`` at every
  Pix2Pix (256 px, batch 1), DCGAN-MNIST (batch 256) and CIFAR-10 DCGAN (batch 128) layer, ``batch_norm`` and
  ``leaky_relu(0.2)`` at every shape they see in those models, and one Adam update over the Pix2Pix generator's
  54.4 M parameters.
* **models**: one train step of each book model, the book's loop body: Pix2Pix (``g.predict``, D on the real
  pair, D on the fake pair, the composite with D frozen), DCGAN-MNIST chapter 7 (``g.predict`` of 128, D on the
  stacked 256, the composite on 256), CIFAR-10 DCGAN chapter 8 (D on 64 real, ``g.predict`` of 64, D on 64 fake,
  the composite on 128). Plus the peak memory of a train step, tinygan next to PyTorch.

Columns
-------
``ms``: median wall time of one call. ``GFLOP/s``: the case's GEMM FLOPs / ``ms``. ``floor``: the case's GEMM
FLOPs / the float32 ``np.matmul`` rate measured in the same run (the time it would take if every convolution
ran at big-GEMM speed and nothing else cost anything), ``x floor`` = ms / floor. ``torch ms`` and ``x torch``:
the same work in PyTorch, timed alternately with tinygan in the same run (t, T, t, T, ...), medians of ``repeat``
samples each; ``torch x floor`` is PyTorch's ms over the same floor (how far the reference itself stays from it).
Fast ops repeat the call inside a sample (the same count for both frameworks) so one sample lasts about 20 ms.

How it is timed
---------------
Each framework runs in its own worker process (``python -m tinygan.benchmarks worker tinygan|torch``, JSON lines
on stdin/stdout), in its own default configuration, as its users run it: the tinygan worker calls
``tinygan.configure_cpu()`` as the ``tinygan`` command does (``OMP_WAIT_POLICY=passive`` for its kernels, freed
memory kept for reuse by tinygan.host_memory), and in a shared process PyTorch would run under both (a torch Pix2Pix step took 589 ms under passive OpenMP, 530 ms with
its defaults). So the torch worker imports torch, and sets its threads, before anything of tinygan, and runs with
``TINYGAN_HOST_MEMORY=system``; the tinygan worker never imports torch. The parent only coordinates: it asks each
worker to build the case by name, takes the warm-up calls and then the alternating samples, and every sample and
the GEMM rate (``np.matmul`` in the tinygan worker, ``torch.mm`` in the torch one) is timed inside its worker.

Before each sample the parent waits ``--gap`` seconds at least, then until the machine is quiet (less than 10% of
all CPUs' time busy over a ~15 ms window of /proc/stat, at most 1 s): worker threads keep spinning after a parallel
region (OpenBLAS up to ~2**28 cycles, ~80 ms; OpenMP for its spin count), and on a 2-core machine the spinning
pool of the framework that just ran slowed the other one's samples by up to 2x. The header reports how long these
waits took. Each sample then makes one untimed call before its timed ones: after an idle spell the first call pays
a wake-up cost that back-to-back training steps never see (on this project's VM about 25 ms after 0.2 s of idle,
in both frameworks; a 6 ms op was timed at 14-32 ms without it). The untimed call does not refill the caches,
though: after the idle gap a memory-bound op runs slower for several calls, most likely because its arrays left
the caches while the core idled (on the current Intel VM a LeakyReLU forward+backward of 256x14x14x64 took
2.6-2.8 ms per call over the 8 calls after gaps of 50-200 ms and 1.4 ms back to back), so op rows of memory-bound
work are upper bounds for both frameworks alike; model rows, one long step each, barely notice. A case that raises in a worker comes back as its row's error; a worker that dies is
started again.

The PyTorch reference does the same work: NCHW tensors; Keras 'same' padding reproduced exactly (symmetric
padding inside the conv, an odd extra pixel through ``F.pad``; transposed convs crop like TensorFlow);
BatchNorm2d(eps=1e-3, momentum=0.01) in training mode; LeakyReLU(0.2); Dropout where the book has it;
``torch.optim.Adam(lr=2e-4, betas=(0.5, 0.999), eps=1e-7)`` with PyTorch's default implementation (the Adam op
rows also compare against ``fused=True``); BCE on sigmoid outputs (D loss weight 0.5 for Pix2Pix) plus
100 x L1 for the Pix2Pix composite; D frozen in the composite step by ``requires_grad_(False)`` (no D weight
gradients, gradients still flow through D to G); ``g.predict`` under ``torch.no_grad()``. Both frameworks use
the same thread count (``torch.set_num_threads``, ``numba.set_num_threads`` and OpenBLAS's own setter). The
header names NumPy's OpenBLAS kernel set and whether ``OPENBLAS_CORETYPE`` pins it (tinygan never sets that
variable), tinygan's host memory policy and the OpenMP wait policy of each worker; the JSON has them too.

FLOPs count only the GEMM work of convolutions and Dense layers (2*N*OH*OW*kh*kw*Cin*Cout for a conv; a
transposed conv costs the same as the conv it is the adjoint of, counted on its input pixels). Forward +
backward = forward + weight gradient + input gradient, the input gradient left out where nothing needs it (the
first layer of a network fed with data, every weight gradient of the frozen D in the composite step).
BatchNorm, activations, losses and Adam are not counted (memory-bound; their columns show '-').

Peak memory
-----------
Each framework runs in a fresh subprocess (``python -m tinygan.benchmarks memory MODEL FRAMEWORK``; the two
frameworks of one model side by side, since RSS is per process) with the same thread count and, like the timing
workers, its own defaults: tinygan keeps freed blocks in its heap for the next step, the torch child imports
torch first and has glibc's default malloc (``TINYGAN_HOST_MEMORY=system``). The subprocess notes its RSS after
the imports, builds the models, runs two warm-up steps, resets the kernel's RSS high-water mark
(``/proc/self/clear_refs``) and runs one step. ``peak`` = high-water RSS - RSS after imports (models, optimizer
state, JIT residue, the memory the malloc in use keeps and the step's transients: what the user pays for),
``step`` = high-water RSS - RSS before the step (what the step adds on top; small for tinygan, whose warm-up
steps have already faulted in the blocks it reuses). For tinygan the ``tracemalloc`` peak of one more step is
reported too (NumPy reports its buffers to tracemalloc; PyTorch does not, so it has no such column).

Running
-------
``tinygan bench [--cases ops|models|all] [--repeat N] [--quick] [--json PATH] [-k TEXT]`` prints the table;
``tinygan bench --profile pix2pix`` prints a cProfile of one train step instead. ``--blas-threads N`` is an
experiment knob: OpenBLAS threads for tinygan different from ``--threads`` (on a shared 2-core machine
OpenBLAS's 2-thread GEMMs can be many times slower than 1-thread ones; the PyTorch ratio is then no longer
like for like in threads). The pytest-benchmark suite is
``python -m pytest bench --benchmark-only [--bench-quick]`` (not part of the default test run); pytest-benchmark
owns its timing loop, so that suite times both frameworks in its own process (same quiet wait, but PyTorch then
runs under tinygan's OpenMP and malloc policies; the header says so).
"""
import argparse
import contextlib
import dataclasses
import gc
import importlib
import importlib.util
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

from .kernels import blas

DEFAULT_THREADS = 2
MODEL_NAMES = ("pix2pix", "dcgan_mnist", "dcgan_cifar10", "cyclegan", "lsgan", "wgan", "cgan", "infogan", "acgan", "sgan")
# models whose bench code lives in a module of its own: step_flops, label, make_tinygan_step, make_torch_step
OWN_MODULE = {"cyclegan": "tinygan.bench_cyclegan"}
OWN_MODULE.update({m: f"tinygan.bench_gans.{m}" for m in ("lsgan", "wgan", "cgan", "infogan", "acgan", "sgan")})


# ================================================================================================
# threads and torch
# ================================================================================================

def torch_or_none():
    """``torch`` when it is importable, else None (every bench runs without it and omits the ratio)."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def set_threads(n, use_torch=True, blas_threads=None):
    """Use ``n`` threads in Numba, NumPy's OpenBLAS (``blas_threads`` if given: an experiment knob; the comparison with
    PyTorch is only like for like with the default) and (when installed and wanted) PyTorch; returns what each
    now uses."""
    import numba
    n = max(1, int(n))
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    info = {"requested": n, "numba": numba.get_num_threads(), "blas": None, "torch": None}
    lib = blas.numpy_openblas()
    if lib is not None:
        info["blas"] = blas.set_threads(lib, blas_threads or n)
    torch = torch_or_none() if use_torch else None
    if torch is not None:
        torch.set_num_threads(n)
        info["torch"] = torch.get_num_threads()
    return info


# ================================================================================================
# timing
# ================================================================================================

def timed(fn, inner=1):
    """Seconds per call of ``fn`` over ``inner`` back-to-back calls."""
    t0 = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - t0) / inner


def calibrate_inner(seconds, target=0.02, cap=50):
    """Calls per sample so that one sample of a fast op lasts about ``target`` seconds."""
    if seconds <= 0:
        return cap
    return int(min(cap, max(1, target // seconds)))


def alternating_median(samplers, repeat, warmup=1, inner=None, pause=lambda: 0.0):
    """Time the frameworks in ``samplers`` (name -> ``sample(inner)`` returning seconds per call) alternately:
    a, b, a, b, ... ``repeat`` rounds after ``warmup`` rounds of one call each. ``inner`` (calls per sample, the
    same for all) defaults to :func:`calibrate_inner` of the fastest warm-up call. ``pause()`` runs before every
    call and returns the seconds it waited (see :func:`quiet_pause`).

    Returns ``({name: [seconds per call, ...]}, inner, [seconds paused before each sample])``; take medians."""
    warm = {}
    for _ in range(max(1, warmup)):
        for name, sample in samplers.items():
            pause()
            warm[name] = sample(1)
    if inner is None:
        inner = calibrate_inner(min(warm.values()))
    samples, waits = {name: [] for name in samplers}, []
    for _ in range(repeat):
        for name, sample in samplers.items():
            waits.append(pause())
            samples[name].append(sample(inner))
    return samples, inner, waits


# ---- waiting for a quiet machine ----------------------------------------------------------------------

QUIET_BUSY = 0.10     # a machine is quiet when less than this fraction of its CPU time is busy
QUIET_CAP = 1.0       # seconds: the longest wait for it before a sample


def _cpu_jiffies():
    """(busy, total) CPU time of all CPUs so far, from /proc/stat's aggregate line; None where it cannot be read."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    total = sum(fields)                 # user nice system idle iowait irq softirq steal (guest is inside user)
    return total - fields[3] - fields[4], total


def wait_quiet(max_seconds=QUIET_CAP, busy_below=QUIET_BUSY, window=0.015):
    """Wait until the machine is quiet: a ``window`` in which less than ``busy_below`` of all CPUs' time was
    busy, or ``max_seconds``. Returns the seconds waited.

    Worker threads keep spinning after a parallel region (OpenBLAS up to ~2**28 cycles, ~80 ms; OpenMP its spin
    count), and on a 2-core machine the spinning pool of the framework that just ran would slow down the one
    timed next; any other process's load counts the same."""
    t0 = time.perf_counter()
    before = _cpu_jiffies()
    while before is not None and time.perf_counter() - t0 < max_seconds:
        time.sleep(window)
        now = _cpu_jiffies()
        busy, total = now[0] - before[0], now[1] - before[1]
        if total > 0 and busy < busy_below * total:
            break
        before = now
    return time.perf_counter() - t0


def quiet_pause(gap=0.0, max_seconds=QUIET_CAP):
    """The pause before a timed sample: ``gap`` seconds of idle time at least, then :func:`wait_quiet`; returns
    the seconds ``wait_quiet`` took."""
    time.sleep(gap)
    return wait_quiet(max_seconds)


def gemm_rate(n=2048, repeat=7):
    """Float32 ``np.matmul`` rate of two n x n matrices in GFLOP/s: per-sample rates (median is the rate)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), np.float32)
    np.matmul(a, b, out=out)
    return [2.0 * n ** 3 / timed(lambda: np.matmul(a, b, out=out)) / 1e9 for _ in range(repeat)]


def torch_gemm_rate(n=2048, repeat=7):
    """The same for ``torch.mm`` (an empty list without torch)."""
    torch = torch_or_none()
    if torch is None:
        return []
    a, b = torch.randn(n, n), torch.randn(n, n)
    out = torch.empty(n, n)
    torch.mm(a, b, out=out)
    return [2.0 * n ** 3 / timed(lambda: torch.mm(a, b, out=out)) / 1e9 for _ in range(repeat)]


# ================================================================================================
# the book's layer shapes and FLOP counts
# ================================================================================================

def tf_same_pads(n, k, s):
    """TensorFlow 'same' padding of one axis: (before, after), any odd pixel after."""
    total = max((-(-n // s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


@dataclasses.dataclass
class Layer:
    """One GEMM layer of a book model at a given batch size. ``kind`` is 'conv', 'convT' or 'dense'.
    For 'conv'/'convT' (h, w) is the *input* size and padding is 'same'; for 'dense' cin/cout are features."""
    name: str
    kind: str
    n: int
    h: int
    w: int
    cin: int
    cout: int
    k: int = 1
    s: int = 1
    bn: bool = False          # followed by BatchNormalization
    act: str = ""             # 'lrelu', 'relu', 'sigmoid', 'tanh' or ''
    dropout: float = 0.0

    @property
    def out_hw(self):
        if self.kind == "conv":
            return -(-self.h // self.s), -(-self.w // self.s)
        if self.kind == "convT":
            return self.h * self.s, self.w * self.s
        return 1, 1

    @property
    def out_shape(self):
        """NHWC (or (N, features) for dense)."""
        if self.kind == "dense":
            return (self.n, self.cout)
        return (self.n, *self.out_hw, self.cout)

    @property
    def in_shape(self):
        if self.kind == "dense":
            return (self.n, self.cin)
        return (self.n, self.h, self.w, self.cin)

    @property
    def fwd_flops(self):
        if self.kind == "dense":
            return 2.0 * self.n * self.cin * self.cout
        pixels = self.out_hw[0] * self.out_hw[1] if self.kind == "conv" else self.h * self.w
        return 2.0 * self.n * pixels * self.k * self.k * self.cin * self.cout

    @property
    def n_params(self):
        return self.k * self.k * self.cin * self.cout + self.cout + (2 * self.cout if self.bn else 0)

    def param_shapes(self):
        """Trainable parameter shapes in Keras layouts (kernel, bias, then BN gamma and beta)."""
        if self.kind == "dense":
            shapes = [(self.cin, self.cout), (self.cout,)]
        elif self.kind == "conv":
            shapes = [(self.k, self.k, self.cin, self.cout), (self.cout,)]
        else:
            shapes = [(self.k, self.k, self.cout, self.cin), (self.cout,)]
        return shapes + ([(self.cout,), (self.cout,)] if self.bn else [])

    def label(self):
        if self.kind == "dense":
            return f"{self.n}x{self.cin}->{self.cout}"
        return f"{self.n}x{self.h}x{self.w}x{self.cin}->{self.cout} k{self.k}s{self.s}"


def with_batch(layers, n):
    return [dataclasses.replace(layer, n=n) for layer in layers]


def fwd_flops(layers):
    return sum(layer.fwd_flops for layer in layers)


def bwd_flops(layers, weights=True, input_of_first=False):
    """Backward GEMM FLOPs: weight gradients (if ``weights``) and input gradients of every layer but the
    first (and of the first too if ``input_of_first``, e.g. D fed by G in the composite step)."""
    total = 0.0
    for i, layer in enumerate(layers):
        if weights:
            total += layer.fwd_flops
        if i > 0 or input_of_first:
            total += layer.fwd_flops
    return total


def pix2pix_layers(size=256, batch=1, ngf=64, ndf=64, channels=3, n_dropout=3):
    """(D, G) GEMM layers of the book's Pix2Pix at ``size`` px (the U-Net of tinygan.gans.pix2pix.define_generator)."""
    d_spec = [(ndf, 2, False), (ndf * 2, 2, True), (ndf * 4, 2, True), (ndf * 8, 2, True), (ndf * 8, 1, True)]
    d, h, cin = [], size, 2 * channels
    for i, (cout, s, bn) in enumerate(d_spec):
        d.append(Layer(f"D{i + 1}", "conv", batch, h, h, cin, cout, 4, s, bn=bn, act="lrelu"))
        h, cin = -(-h // s), cout
    d.append(Layer("D6", "conv", batch, h, h, cin, 1, 4, 1, act="sigmoid"))

    depth = int(math.log2(size))
    enc = [ngf * min(2 ** i, 8) for i in range(depth - 1)]
    g, h, cin = [], size, channels
    for i, cout in enumerate(enc):
        g.append(Layer(f"e{i + 1}", "conv", batch, h, h, cin, cout, 4, 2, bn=i > 0, act="lrelu"))
        h, cin = h // 2, cout
    g.append(Layer("bottleneck", "conv", batch, h, h, cin, ngf * 8, 4, 2, act="relu"))
    h, cin = h // 2, ngf * 8
    for i, cout in enumerate(reversed(enc)):
        g.append(Layer(f"d{i + 1}", "convT", batch, h, h, cin, cout, 4, 2, bn=True, act="relu",
                       dropout=0.5 if i < n_dropout else 0.0))
        h, cin = h * 2, 2 * cout
    g.append(Layer("out", "convT", batch, h, h, cin, channels, 4, 2, act="tanh"))
    return d, g


# Sequential DCGANs: ('conv'|'convT', filters, k, s) / ('dense', units) / ('lrelu'|'sigmoid'|'tanh',)
# / ('dropout', rate) / ('reshape', (h, w, c)) / ('flatten',)
DCGAN_SPECS = {
    "dcgan_mnist": {
        "in_shape": (28, 28, 1), "latent_dim": 100,
        "D": [("conv", 64, 3, 2), ("lrelu",), ("dropout", 0.4), ("conv", 64, 3, 2), ("lrelu",), ("dropout", 0.4),
              ("flatten",), ("dense", 1), ("sigmoid",)],
        "G": [("dense", 128 * 7 * 7), ("lrelu",), ("reshape", (7, 7, 128)), ("convT", 128, 4, 2), ("lrelu",),
              ("convT", 128, 4, 2), ("lrelu",), ("conv", 1, 7, 1), ("sigmoid",)],
    },
    "dcgan_cifar10": {
        "in_shape": (32, 32, 3), "latent_dim": 100,
        "D": [("conv", 64, 3, 1), ("lrelu",), ("conv", 128, 3, 2), ("lrelu",), ("conv", 128, 3, 2), ("lrelu",),
              ("conv", 256, 3, 2), ("lrelu",), ("flatten",), ("dropout", 0.4), ("dense", 1), ("sigmoid",)],
        "G": [("dense", 256 * 4 * 4), ("lrelu",), ("reshape", (4, 4, 256)), ("convT", 128, 4, 2), ("lrelu",),
              ("convT", 128, 4, 2), ("lrelu",), ("convT", 128, 4, 2), ("lrelu",), ("conv", 3, 3, 1), ("tanh",)],
    },
}


def sequential_layers(spec, in_shape, batch, prefix):
    """GEMM layers of a Sequential spec; activations/dropout are attached to the layer before them."""
    layers, shape = [], tuple(in_shape)
    for item in spec:
        kind = item[0]
        if kind in ("conv", "convT"):
            _, cout, k, s = item
            layers.append(Layer(f"{prefix}{len(layers) + 1}", kind, batch, shape[0], shape[1], shape[2], cout, k, s))
            shape = (*layers[-1].out_hw, cout)
        elif kind == "dense":
            feats = int(np.prod(shape))
            layers.append(Layer(f"{prefix}{len(layers) + 1}", "dense", batch, 1, 1, feats, item[1]))
            shape = (item[1],)
        elif kind == "reshape":
            shape = tuple(item[1])
        elif kind == "flatten":
            shape = (int(np.prod(shape)),)
        elif kind == "dropout":
            layers[-1].dropout = item[1] if layers else 0.0
        else:
            layers[-1].act = kind
    return layers


def dcgan_layers(model, batch):
    spec = DCGAN_SPECS[model]
    return (sequential_layers(spec["D"], spec["in_shape"], batch, "D"),
            sequential_layers(spec["G"], (spec["latent_dim"],), batch, "G"))


# ---- sizes and train-step FLOPs ----------------------------------------------------------------

def model_sizes(quick):
    """Image size / batch per model: the book's, or small ones for ``--quick`` (Pix2Pix 64 px, DCGAN batch 16)."""
    if quick:
        return {"pix2pix": {"size": 64, "batch": 1}, "dcgan_mnist": {"batch": 16}, "dcgan_cifar10": {"batch": 16}}
    return {"pix2pix": {"size": 256, "batch": 1}, "dcgan_mnist": {"batch": 256}, "dcgan_cifar10": {"batch": 128}}


def step_flops(model, quick=False):
    """GEMM FLOPs of one book train step (see the module docstring for what is counted)."""
    if model in OWN_MODULE:
        return importlib.import_module(OWN_MODULE[model]).step_flops(quick)
    sz = model_sizes(quick)[model]
    if model == "pix2pix":
        d, g = pix2pix_layers(sz["size"], sz["batch"])
        d_update = fwd_flops(d) + bwd_flops(d)
        composite = fwd_flops(g) + fwd_flops(d) + bwd_flops(d, weights=False, input_of_first=True) + bwd_flops(g)
        return fwd_flops(g) + 2 * d_update + composite
    n = sz["batch"]
    half = n // 2
    d_full, g_full = dcgan_layers(model, n)
    d_half, g_half = dcgan_layers(model, half)
    composite = fwd_flops(g_full) + fwd_flops(d_full) + bwd_flops(d_full, weights=False, input_of_first=True) \
        + bwd_flops(g_full)
    if model == "dcgan_mnist":     # chapter 7: D on vstack(128 real, 128 fake)
        return fwd_flops(g_half) + fwd_flops(d_full) + bwd_flops(d_full) + composite
    # chapter 8: D on 64 real, then on 64 fake
    return fwd_flops(g_half) + 2 * (fwd_flops(d_half) + bwd_flops(d_half)) + composite


def model_label(model, quick=False):
    if model in OWN_MODULE:
        return importlib.import_module(OWN_MODULE[model]).label(quick)
    sz = model_sizes(quick)[model]
    if model == "pix2pix":
        return f"pix2pix step {sz['size']}px b{sz['batch']}"
    return f"{model.replace('_', '-')} step b{sz['batch']}"


# ================================================================================================
# PyTorch references (built lazily; NCHW, the same work as the Keras layers)
# ================================================================================================

def _torch_modules():
    """Module classes that need torch.nn, defined on first use."""
    torch = torch_or_none()
    nn, F = torch.nn, torch.nn.functional

    class TFConv(nn.Module):
        """Keras Conv2D(padding='same'): symmetric padding in the conv, an odd extra pixel via F.pad."""

        def __init__(self, layer):
            super().__init__()
            (pt, pb), (pl, pr) = tf_same_pads(layer.h, layer.k, layer.s), tf_same_pads(layer.w, layer.k, layer.s)
            self.pad = None if (pt == pb and pl == pr) else (pl, pr, pt, pb)
            self.conv = nn.Conv2d(layer.cin, layer.cout, layer.k, layer.s, padding=0 if self.pad else (pt, pl))

        def forward(self, x):
            return self.conv(F.pad(x, self.pad) if self.pad else x)

    class TFConvT(nn.Module):
        """Keras Conv2DTranspose(padding='same'): output in*s, cropping total//2 top/left, the rest bottom/right."""

        def __init__(self, layer):
            super().__init__()
            oh, ow = layer.out_hw
            (pt, pb), (pl, pr) = tf_same_pads(oh, layer.k, layer.s), tf_same_pads(ow, layer.k, layer.s)
            self.crop = (pb - pt, pr - pl)
            self.conv = nn.ConvTranspose2d(layer.cin, layer.cout, layer.k, layer.s, padding=(pt, pl))

        def forward(self, x):
            y = self.conv(x)
            if any(self.crop):
                y = y[:, :, :y.shape[2] - self.crop[0], :y.shape[3] - self.crop[1]]
            return y

    return TFConv, TFConvT


def torch_layer(layer):
    """The GEMM module of one Layer (Keras RandomNormal(0.02)-like init; the init does not change the work)."""
    torch = torch_or_none()
    TFConv, TFConvT = _torch_modules()
    if layer.kind == "dense":
        mod = torch.nn.Linear(layer.cin, layer.cout)
    elif layer.kind == "conv":
        mod = TFConv(layer)
    else:
        mod = TFConvT(layer)
    for p in mod.parameters():
        if p.dim() > 1:
            torch.nn.init.normal_(p, 0.0, 0.02)
    return mod


def _torch_post(layer, training_dropout=True):
    """BN (Keras momentum 0.99 = torch 0.01, eps 1e-3), dropout and activation after a GEMM layer."""
    nn = torch_or_none().nn
    mods = []
    if layer.bn:
        mods.append(nn.BatchNorm2d(layer.cout, eps=1e-3, momentum=0.01))
    if layer.dropout and training_dropout:
        mods.append(nn.Dropout(layer.dropout))
    act = {"lrelu": lambda: nn.LeakyReLU(0.2), "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}.get(layer.act)
    if act:
        mods.append(act())
    return mods


def torch_pix2pix(size=256, batch=1):
    """(D, G) of the book's Pix2Pix in PyTorch. D takes (src, target) and concatenates them on channels."""
    torch = torch_or_none()
    nn = torch.nn
    d_layers, g_layers = pix2pix_layers(size, batch)

    class D(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(*[m for lay in d_layers for m in [torch_layer(lay), *_torch_post(lay)]])

        def forward(self, a, b):
            return self.body(torch.cat([a, b], 1))

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            n_enc = (len(g_layers) - 2) // 2
            enc, bott, dec, out = g_layers[:n_enc], g_layers[n_enc], g_layers[n_enc + 1:-1], g_layers[-1]
            self.enc = nn.ModuleList(nn.Sequential(torch_layer(lay), *_torch_post(lay)) for lay in enc)
            self.bottleneck = nn.Sequential(torch_layer(bott), nn.ReLU())
            # decoder block: convT -> BN -> [dropout] -> concat skip -> relu
            self.dec = nn.ModuleList(nn.Sequential(torch_layer(lay), *[m for m in _torch_post(dataclasses.replace(
                lay, act=""))]) for lay in dec)
            self.out = nn.Sequential(torch_layer(out), nn.Tanh())

        def forward(self, x):
            skips = []
            for block in self.enc:
                x = block(x)
                skips.append(x)
            x = self.bottleneck(x)
            for block, skip in zip(self.dec, reversed(skips)):
                x = torch.relu(torch.cat([block(x), skip], 1))
            return self.out(x)

    return D(), UNet()


def torch_sequential(model, which):
    """The D or G of a book DCGAN in PyTorch (NCHW; Flatten/Reshape order differs from NHWC, not the work)."""
    torch = torch_or_none()
    nn = torch.nn
    spec = DCGAN_SPECS[model]
    layers = iter(sequential_layers(spec[which], spec["in_shape"] if which == "D" else (spec["latent_dim"],), 1, which))

    class Reshape(nn.Module):
        def __init__(self, hwc):
            super().__init__()
            self.chw = (hwc[2], hwc[0], hwc[1])

        def forward(self, x):
            return x.reshape(x.shape[0], *self.chw)

    mods = []
    for item in spec[which]:
        kind = item[0]
        if kind in ("conv", "convT", "dense"):
            mods.append(torch_layer(next(layers)))
        elif kind == "reshape":
            mods.append(Reshape(item[1]))
        elif kind == "flatten":
            mods.append(nn.Flatten())
        elif kind == "dropout":
            mods.append(nn.Dropout(item[1]))
        elif kind == "lrelu":
            mods.append(nn.LeakyReLU(0.2))
        elif kind == "sigmoid":
            mods.append(nn.Sigmoid())
        elif kind == "tanh":
            mods.append(nn.Tanh())
    return nn.Sequential(*mods)


def _torch_adam(params):
    torch = torch_or_none()
    return torch.optim.Adam(params, lr=0.0002, betas=(0.5, 0.999), eps=1e-7)


def _torch_params(*modules):
    """Parameters plus BN running statistics: the same count as Keras's count_params."""
    return sum(int(t.numel()) for m in modules for t in [*m.parameters(), *m.buffers()] if t.dtype.is_floating_point)


def _set_trainable(module, flag):
    for p in module.parameters():
        p.requires_grad_(flag)


# ---- train steps ---------------------------------------------------------------------------------

def make_torch_step(model, quick=False, sizes=None, device="cpu"):
    """One book train step in PyTorch (same work as the tinygan step); returns (step, n_params of G+D).

    ``sizes`` overrides :func:`model_sizes` (e.g. ``{"size": 256, "batch": 16}``); ``device`` is a torch device
    ("cuda" for the GPU benchmark: modules, data and labels live there)."""
    if model in OWN_MODULE:
        return importlib.import_module(OWN_MODULE[model]).make_torch_step(quick)
    torch = torch_or_none()
    F = torch.nn.functional
    gen = torch.Generator().manual_seed(0)
    sz = sizes or model_sizes(quick)[model]

    def put(*tensors):
        return [t.to(device) for t in tensors]

    if model == "pix2pix":
        size, n = sz["size"], sz["batch"]
        d, g = (m.to(device) for m in torch_pix2pix(size, n))
        d.train(), g.train()
        opt_d, opt_g = _torch_adam(d.parameters()), _torch_adam(g.parameters())
        a, b = put(torch.rand(n, 3, size, size, generator=gen) * 2 - 1, torch.rand(n, 3, size, size, generator=gen) * 2 - 1)
        patch = pix2pix_layers(size, n)[0][-1].out_hw[0]
        y_real, y_fake = put(torch.ones(n, 1, patch, patch), torch.zeros(n, 1, patch, patch))

        def d_update(src, tar, y):
            opt_d.zero_grad()
            loss = 0.5 * F.binary_cross_entropy(d(src, tar), y)
            loss.backward()
            opt_d.step()

        def step():
            with torch.no_grad():
                fake = g(a)
            d_update(a, b, y_real)
            d_update(a, fake, y_fake)
            _set_trainable(d, False)
            opt_g.zero_grad()
            out = g(a)
            loss = F.binary_cross_entropy(d(a, out), y_real) + 100.0 * F.l1_loss(out, b)
            loss.backward()
            opt_g.step()
            _set_trainable(d, True)

        return step, _torch_params(d, g)

    n = sz["batch"]
    half = n // 2
    spec = DCGAN_SPECS[model]
    d, g = torch_sequential(model, "D").to(device), torch_sequential(model, "G").to(device)
    d.train(), g.train()
    opt_d, opt_g = _torch_adam(d.parameters()), _torch_adam(g.parameters())
    h, w, c = spec["in_shape"]
    x_real, z_half, z_full = put(torch.rand(half, c, h, w, generator=gen),
                                 torch.randn(half, spec["latent_dim"], generator=gen),
                                 torch.randn(n, spec["latent_dim"], generator=gen))
    ones_half, zeros_half, ones_full = put(torch.ones(half, 1), torch.zeros(half, 1), torch.ones(n, 1))
    y_stack = torch.cat([ones_half, zeros_half])

    def d_update(x, y):
        opt_d.zero_grad()
        loss = F.binary_cross_entropy(d(x), y)
        loss.backward()
        opt_d.step()

    def composite():
        _set_trainable(d, False)
        opt_g.zero_grad()
        loss = F.binary_cross_entropy(d(g(z_full)), ones_full)
        loss.backward()
        opt_g.step()
        _set_trainable(d, True)

    if model == "dcgan_mnist":
        def step():
            with torch.no_grad():
                fake = g(z_half)
            d_update(torch.cat([x_real, fake]), y_stack)
            composite()
    else:
        def step():
            d_update(x_real, ones_half)
            with torch.no_grad():
                fake = g(z_half)
            d_update(fake, zeros_half)
            composite()

    return step, _torch_params(d, g)


def _keras_params(*models):
    """Every weight of the models (trainable or not, BN moving statistics included), as Keras count_params."""
    return sum(int(m.count_params()) for m in models)


def _quiet(step):
    """The step with the Keras-2 'trainable weights discrepancy' warning (expected: the book freezes D after
    compiling it) silenced."""
    def run():
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Discrepancy between trainable weights")
            step()
    return run


def make_tinygan_step(model, quick=False, sizes=None):
    """One book train step on tinygan.keras (the gans modules' own define_* functions); returns (step, n_params).

    ``sizes`` overrides :func:`model_sizes`. The step's fixed data and labels live on the current device (as
    the PyTorch reference's do); what ``g.predict`` returns is a NumPy array, as in Keras, and goes back to the
    device in the next ``train_on_batch``."""
    from tinygan import backend
    if model in OWN_MODULE:
        return importlib.import_module(OWN_MODULE[model]).make_tinygan_step(quick)
    rng = np.random.default_rng(0)
    sz = sizes or model_sizes(quick)[model]
    xp, put = backend.xp(), backend.asarray
    if model == "pix2pix":
        from tinygan.gans import pix2pix as p2p
        size, n = sz["size"], sz["batch"]
        shape = (size, size, 3)
        d = p2p.define_discriminator(shape)
        g = p2p.define_generator(shape)
        gan = p2p.define_gan(g, d, shape)
        a = put(rng.uniform(-1, 1, (n, *shape)).astype(np.float32))
        b = put(rng.uniform(-1, 1, (n, *shape)).astype(np.float32))
        patch = d.output_shape[1]
        y_real, y_fake = xp.ones((n, patch, patch, 1), np.float32), xp.zeros((n, patch, patch, 1), np.float32)

        def step():
            fake = g.predict(a)
            d.train_on_batch([a, b], y_real)
            d.train_on_batch([a, fake], y_fake)
            gan.train_on_batch(a, [y_real, b])

        return _quiet(step), _keras_params(d) + _keras_params(g)

    mod = importlib.import_module(f"tinygan.gans.{model}")
    n = sz["batch"]
    half = n // 2
    spec = DCGAN_SPECS[model]
    latent = spec["latent_dim"]
    d = mod.define_discriminator()
    g = mod.define_generator(latent)
    gan = mod.define_gan(g, d)
    x_real = put(rng.uniform(0 if model == "dcgan_mnist" else -1, 1, (half, *spec["in_shape"])).astype(np.float32))
    z_half = put(rng.standard_normal((half, latent)).astype(np.float32))
    z_full = put(rng.standard_normal((n, latent)).astype(np.float32))
    ones_half, zeros_half, ones_full = (xp.ones((half, 1), np.float32), xp.zeros((half, 1), np.float32),
                                        xp.ones((n, 1), np.float32))

    if model == "dcgan_mnist":
        y_stack = xp.vstack([ones_half, zeros_half])

        def step():
            fake = g.predict(z_half)
            d.train_on_batch(xp.vstack([x_real, put(fake)]), y_stack)
            gan.train_on_batch(z_full, ones_full)
    else:
        def step():
            d.train_on_batch(x_real, ones_half)
            fake = g.predict(z_half)
            d.train_on_batch(fake, zeros_half)
            gan.train_on_batch(z_full, ones_full)

    return _quiet(step), _keras_params(d) + _keras_params(g)


# ================================================================================================
# cases
# ================================================================================================

@dataclasses.dataclass
class Case:
    """One row: a tinygan callable and (when torch is installed) the same work in PyTorch.

    ``make_tinygan`` / ``make_torch`` build the inputs and return the callable to time; they run lazily so a
    missing module only skips its own rows. ``flops`` counts GEMM work only (None: not GEMM-bound)."""
    name: str
    group: str
    flops: float | None
    make_tinygan: object
    make_torch: object = None
    model: str | None = None
    note: str = ""


def _tg_tensor(shape, rng, requires_grad):
    from tinygan.autograd.tensor import Tensor
    return Tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=requires_grad)


def _nchw(shape):
    return (shape[0], shape[3], shape[1], shape[2]) if len(shape) == 4 else shape


def _conv_case(model, layer, needs_dx):
    op = "conv" if layer.kind == "conv" else "convT"
    flops = layer.fwd_flops * (3 if needs_dx else 2)

    def make_tg():
        from tinygan import ops
        from tinygan.autograd.tensor import Tensor
        rng = np.random.default_rng(0)
        x = _tg_tensor(layer.in_shape, rng, needs_dx)
        w = _tg_tensor(layer.param_shapes()[0], rng, True)
        w.data *= 0.02
        b = _tg_tensor((layer.cout,), rng, True)
        g = Tensor(rng.standard_normal(layer.out_shape).astype(np.float32))
        fn = ops.conv2d if layer.kind == "conv" else ops.conv_transpose2d
        s = (layer.s, layer.s)

        def run():
            x.grad = w.grad = b.grad = None
            fn(x, w, b, strides=s, padding="same").backward(g)
        return run

    def make_torch():
        torch = torch_or_none()
        mod = torch_layer(layer)
        x = torch.randn(*_nchw(layer.in_shape), requires_grad=needs_dx)
        g = torch.randn(*_nchw(layer.out_shape))
        params = list(mod.parameters())

        def run():
            x.grad = None
            for p in params:
                p.grad = None
            mod(x).backward(g)
        return run

    tag = "" if needs_dx else " (no dx)"
    return Case(f"{op} {model}.{layer.name} {layer.label()}{tag}", "ops", flops, make_tg, make_torch)


def _bn_case(shape):
    c = shape[-1]

    def make_tg():
        from tinygan import ops
        from tinygan.autograd.tensor import Tensor
        rng = np.random.default_rng(0)
        x = _tg_tensor(shape, rng, True)
        gamma = Tensor(np.ones(c, np.float32), requires_grad=True)
        beta = Tensor(np.zeros(c, np.float32), requires_grad=True)
        mm, mv = np.zeros(c, np.float32), np.ones(c, np.float32)
        g = Tensor(rng.standard_normal(shape).astype(np.float32))

        def run():
            x.grad = gamma.grad = beta.grad = None
            y, mean, var = ops.batch_norm(x, gamma, beta, eps=1e-3, training=True)
            mm[...] = 0.99 * mm + 0.01 * mean      # the layer's moving averages, as torch's running stats
            mv[...] = 0.99 * mv + 0.01 * var
            y.backward(g)
        return run

    def make_torch():
        torch = torch_or_none()
        bn = torch.nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)
        bn.train()
        x = torch.randn(*_nchw(shape), requires_grad=True)
        g = torch.randn(*_nchw(shape))

        def run():
            x.grad = bn.weight.grad = bn.bias.grad = None
            bn(x).backward(g)
        return run

    return Case(f"batchnorm {'x'.join(map(str, shape))}", "ops", None, make_tg, make_torch)


def _lrelu_case(shape):
    def make_tg():
        from tinygan import ops
        from tinygan.autograd.tensor import Tensor
        rng = np.random.default_rng(0)
        x = _tg_tensor(shape, rng, True)
        g = Tensor(rng.standard_normal(shape).astype(np.float32))

        def run():
            x.grad = None
            ops.leaky_relu(x, 0.2).backward(g)
        return run

    def make_torch():
        torch = torch_or_none()
        x = torch.randn(*_nchw(shape), requires_grad=True)
        g = torch.randn(*_nchw(shape))

        def run():
            x.grad = None
            torch.nn.functional.leaky_relu(x, 0.2).backward(g)
        return run

    return Case(f"leaky_relu {'x'.join(map(str, shape))}", "ops", None, make_tg, make_torch)


def _adam_case(shapes, label, torch_variant="default"):
    n = sum(int(np.prod(s)) for s in shapes)

    def make_tg():
        from tinygan.autograd.tensor import Tensor
        from tinygan.keras.optimizers import Adam
        rng = np.random.default_rng(0)
        params = [Tensor(rng.standard_normal(s).astype(np.float32) * 0.02) for s in shapes]
        grads = [rng.standard_normal(s).astype(np.float32) * 0.01 for s in shapes]
        opt = Adam(lr=0.0002, beta_1=0.5)
        return lambda: opt.apply_gradients(params, grads)

    def make_torch():
        torch = torch_or_none()
        params = [torch.nn.Parameter(torch.randn(*s) * 0.02) for s in shapes]
        for p in params:
            p.grad = torch.randn(*p.shape) * 0.01
        kw = {"fused": True} if torch_variant == "fused" else {}
        opt = torch.optim.Adam(params, lr=0.0002, betas=(0.5, 0.999), eps=1e-7, **kw)
        return opt.step

    return Case(f"adam {label} {n / 1e6:.1f}M params vs torch {torch_variant}", "ops", None, make_tg, make_torch)


def op_cases(quick=False):
    """Every op row: convs at every layer shape, BN and LeakyReLU at every shape they see, Adam over G."""
    sizes = model_sizes(quick)
    p2p_d, p2p_g = pix2pix_layers(sizes["pix2pix"]["size"], sizes["pix2pix"]["batch"])
    nets = [("p2p", p2p_d, True), ("p2p", p2p_g, False)]
    for model in ("dcgan_mnist", "dcgan_cifar10"):
        d, g = dcgan_layers(model, sizes[model]["batch"])
        short = "mnist" if model == "dcgan_mnist" else "cifar"
        nets += [(short, d, True), (short, g, False)]
    cases, bn_shapes, lrelu_shapes = [], [], []
    for short, layers, first_needs_dx in nets:
        for i, layer in enumerate(layers):
            if layer.kind != "dense":
                cases.append(_conv_case(short, layer, needs_dx=i > 0 or first_needs_dx))
            if layer.bn and layer.out_shape not in bn_shapes:
                bn_shapes.append(layer.out_shape)
            if layer.act == "lrelu" and layer.out_shape not in lrelu_shapes:
                lrelu_shapes.append(layer.out_shape)
    cases += [_bn_case(s) for s in sorted(bn_shapes, key=np.prod, reverse=True)]
    cases += [_lrelu_case(s) for s in sorted(lrelu_shapes, key=np.prod, reverse=True)]
    g_shapes = [s for layer in p2p_g for s in layer.param_shapes()]
    cases.append(_adam_case(g_shapes, "p2p.G", "default"))
    cases.append(_adam_case(g_shapes, "p2p.G", "fused"))
    return cases


def model_cases(quick=False):
    cases = []
    for model in MODEL_NAMES:
        cases.append(Case(model_label(model, quick), "models", step_flops(model, quick),
                          lambda m=model: make_tinygan_step(m, quick)[0],
                          lambda m=model: make_torch_step(m, quick)[0], model=model))
    return cases


def select_cases(which="all", quick=False, pattern=None):
    cases = []
    if which in ("ops", "all"):
        cases += op_cases(quick)
    if which in ("models", "all"):
        cases += model_cases(quick) + [importlib.import_module("tinygan.bench_inception").case(quick)]
    if pattern:
        cases = [c for c in cases if pattern.lower() in c.name.lower()]
    return cases


# ================================================================================================
# running and reporting
# ================================================================================================

@dataclasses.dataclass
class Row:
    """One timed case: seconds per call of each sample (tinygan's, torch's), calls per sample, the seconds waited
    for a quiet machine before each sample, and the error or note that went with it."""
    name: str
    group: str
    flops: float | None
    tinygan_s: list
    torch_s: list
    inner: int = 1
    error: str = ""
    note: str = ""
    waits: list = dataclasses.field(default_factory=list)

    @property
    def tinygan_median(self):
        return statistics.median(self.tinygan_s) if self.tinygan_s else None

    @property
    def torch_median(self):
        return statistics.median(self.torch_s) if self.torch_s else None

    def derived(self, gemm_gflops):
        t, T = self.tinygan_median, self.torch_median
        out = {"name": self.name, "group": self.group, "flops": self.flops, "tinygan_ms": t and t * 1e3,
               "torch_ms": T and T * 1e3, "gflops": None, "floor_ms": None, "x_floor": None, "torch_x_floor": None,
               "x_torch": None,
               "calls_per_sample": self.inner, "samples": len(self.tinygan_s), "error": self.error, "note": self.note,
               "tinygan_samples_ms": [s * 1e3 for s in self.tinygan_s],
               "torch_samples_ms": [s * 1e3 for s in self.torch_s],
               "quiet_wait_ms": [s * 1e3 for s in self.waits]}
        if t and self.flops:
            out["gflops"] = self.flops / t / 1e9
            if gemm_gflops:
                out["floor_ms"] = self.flops / (gemm_gflops * 1e9) * 1e3
                out["x_floor"] = t * 1e3 / out["floor_ms"]
                if T:
                    out["torch_x_floor"] = T * 1e3 / out["floor_ms"]
        if t and T:
            out["x_torch"] = t / T
        return out


def _short_error(exc):
    text = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return text[:110]


DEFAULT_GAP = {True: 0.01, False: 0.05}      # quick: full -> minimum seconds idle before each timed sample


# ---- worker processes ------------------------------------------------------------------------------

# The workers' entry points. The tinygan worker applies tinygan.configure_cpu() before NumPy loads, as the tinygan
# command does. The torch worker imports torch, and with it its OpenMP runtime (which reads OMP_WAIT_POLICY once,
# as it loads), before anything of tinygan, and never applies tinygan's defaults.
_TINYGAN_FIRST = ("import runpy, tinygan; tinygan.configure_cpu(); "
                  "runpy.run_module('tinygan.benchmarks', run_name='__main__', alter_sys=True)")
_TORCH_FIRST = ("import os, runpy, torch; torch.set_num_threads(int(os.environ['OMP_NUM_THREADS'])); "
                "runpy.run_module('tinygan.benchmarks', run_name='__main__', alter_sys=True)")
_IMPORT_DEFAULTS = ("OMP_WAIT_POLICY", "OPENBLAS_THREAD_TIMEOUT")  # what tinygan.configure_cpu() sets


def torch_installed():
    """Whether torch can be imported, found without importing it (the parent process only coordinates)."""
    return importlib.util.find_spec("torch") is not None


def _imported_before(first, second):
    """True when module ``first`` was imported before ``second`` (or ``second`` not at all): sys.modules keeps
    insertion order."""
    names = list(sys.modules)
    return first in names and (second not in names or names.index(first) < names.index(second))


def _startup_environ():
    """This process's environment as it started: /proc/self/environ keeps it, while os.environ may since have
    taken the defaults of tinygan.configure_cpu(). os.environ where /proc cannot be read."""
    try:
        with open("/proc/self/environ", "rb") as fh:
            raw = fh.read()
    except OSError:
        return dict(os.environ)
    return dict(entry.decode(errors="surrogateescape").partition("=")[::2] for entry in raw.split(b"\0") if entry)


def _child_command(framework, args):
    """argv of a benchmark subprocess of ``framework`` running ``tinygan.benchmarks ARGS``: the tinygan one after
    tinygan.configure_cpu(), the torch one after importing torch (see _TINYGAN_FIRST, _TORCH_FIRST)."""
    entry = ["-c", _TORCH_FIRST if framework == "torch" else _TINYGAN_FIRST]
    return [sys.executable, *entry, *args]


def _options(quick, threads, blas_threads):
    """The options every benchmark subprocess takes."""
    return (["--threads", str(threads)] + (["--quick"] if quick else [])
            + (["--blas-threads", str(blas_threads)] if blas_threads else []))


def _child_env(framework, threads, blas_threads=None):
    """Environment of a benchmark subprocess: the user's, with the defaults tinygan.configure_cpu() set in this
    process taken back (each framework applies its own), the thread counts, and for torch TINYGAN_HOST_MEMORY=system so
    that tinygan's malloc policy (tinygan.host_memory) stays out of its process. OPENBLAS_CORETYPE and the rest
    pass through as the user set them."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(blas_threads or threads),
               NUMBA_NUM_THREADS=str(max(threads, 1)))
    startup = _startup_environ()
    for key in _IMPORT_DEFAULTS:
        env.pop(key, None)
        if key in startup:
            env[key] = startup[key]
    if framework == "torch":
        env["TINYGAN_HOST_MEMORY"] = "system"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


def omp_wait_policy(framework):
    """The OMP_WAIT_POLICY ``framework``'s OpenMP runtime read when it loaded, and where it came from."""
    startup = _startup_environ().get("OMP_WAIT_POLICY")
    loaded_first = framework == "torch" and _imported_before("torch", "tinygan")
    value = startup if loaded_first else os.environ.get("OMP_WAIT_POLICY")
    if value is None:
        return "unset (OpenMP default)"
    return f"{value} ({'environment' if value == startup else 'set by tinygan.configure_cpu()'})"


def openblas_thread_timeout():
    """The OPENBLAS_THREAD_TIMEOUT this process's OpenBLAS read when it loaded, and where it came from."""
    from . import cpu_defaults
    value = os.environ.get("OPENBLAS_THREAD_TIMEOUT")
    if value is None:
        return "unset (OpenBLAS default, 2**28 cycles)"
    set_here = "OPENBLAS_THREAD_TIMEOUT" in (cpu_defaults.APPLIED or {}).get("environ", {})
    return f"{value} ({'set by tinygan.configure_cpu()' if set_here else 'environment'})"


def worker_info(framework, threads_info):
    """What ``framework``'s process runs with: versions (``torch``: the torch loaded in this process, None in the
    tinygan worker, which never imports it), threads, OpenMP wait policy, tinygan's host memory policy and the
    kernel set of NumPy's OpenBLAS (pinned or not by OPENBLAS_CORETYPE)."""
    import numba

    from . import host_memory
    lib = blas.numpy_openblas()
    info = {"framework": framework, "pid": os.getpid(), "python": platform.python_version(), "numpy": np.__version__,
            "numba": numba.__version__, "torch": getattr(sys.modules.get("torch"), "__version__", None),
            "threads": threads_info,
            "omp_wait_policy": omp_wait_policy(framework), "host_memory": host_memory.POLICY,
            "openblas_core": blas.corename(lib) if lib is not None else None,
            "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
            "openblas_thread_timeout": openblas_thread_timeout()}
    if framework == "torch":
        info["torch_imported_first"] = _imported_before("torch", "tinygan")
    return info


class CaseServer:
    """The worker's side of the protocol (see :func:`serve`): one case set up at a time, in one framework."""

    def __init__(self, framework, quick, threads_info):
        self.framework, self.quick, self.threads_info = framework, quick, threads_info
        self.cases = None
        self.fn = None

    def cmd_env(self):
        return worker_info(self.framework, self.threads_info)

    def cmd_gemm(self, n, repeat):
        rate = torch_gemm_rate if self.framework == "torch" else gemm_rate
        return {"rates": rate(n, repeat)}

    def cmd_setup(self, case):
        """Build this framework's callable of the case named ``case`` in select_cases (the parent's list)."""
        self.cmd_free()
        if self.cases is None:
            self.cases = {c.name: c for c in select_cases("all", self.quick)}
        if case not in self.cases:
            raise LookupError(f"no case named {case!r}")
        make = self.cases[case].make_torch if self.framework == "torch" else self.cases[case].make_tinygan
        if make is None:
            raise LookupError(f"{case!r} has no {self.framework} version")
        self.fn = make()
        return {}

    def cmd_sample(self, inner=1):
        """Seconds per call over ``inner`` timed calls, after one untimed call: the parent has just let the
        machine idle (gap, quiet wait), and the first call after an idle spell pays a wake-up cost that
        back-to-back training steps never see (on this VM ~25 ms after 0.2 s idle, in both frameworks)."""
        if self.fn is None:
            raise RuntimeError("no case set up")
        self.fn()
        return {"seconds": timed(self.fn, inner)}

    def cmd_free(self):
        self.fn = None
        gc.collect()
        return {}


def serve(framework, quick, threads_info, stdin, stdout):
    """The worker's loop: one JSON command per line on ``stdin``, one JSON reply per line on ``stdout``.

    Commands (``{"cmd": NAME, ...arguments}``): ``env`` (:func:`worker_info`), ``gemm`` (n, repeat: GFLOP/s
    samples of ``np.matmul``, of ``torch.mm`` in the torch worker), ``setup`` (case: build the named case's
    callable), ``sample`` (inner: seconds per call over ``inner`` calls; the parent's first samples are the
    warm-up), ``free``, ``quit``. A command that raises answers ``{"error": ...}`` and the worker goes on."""
    server = CaseServer(framework, quick, threads_info)
    for line in stdin:
        request = json.loads(line)
        name = request.pop("cmd")
        if name == "quit":
            break
        try:
            reply = getattr(server, f"cmd_{name}")(**request)
        except Exception as exc:      # the case's own error: report it, stay up for the next case
            reply = {"error": _short_error(exc)}
        stdout.write(json.dumps(reply) + "\n")
        stdout.flush()


class WorkerError(RuntimeError):
    """A worker answered an error or died; the message starts with the framework's name."""


class Worker:
    """The parent's handle on one framework's worker process (``python -m tinygan.benchmarks worker FRAMEWORK``)."""

    def __init__(self, framework, quick=False, threads=DEFAULT_THREADS, blas_threads=None):
        self.framework = framework
        self.command = _child_command(framework, ["worker", framework, *_options(quick, threads, blas_threads)])
        self.env = _child_env(framework, threads, blas_threads)
        self.start()

    def start(self):
        """Start the process; its stderr goes to a file, whose last line explains a death."""
        self.stderr = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
                                     text=True, env=self.env)

    def call(self, cmd, **args):
        """Send one command and return its reply. A worker that died is started again first."""
        if self.proc.poll() is not None:
            self.close()
            self.start()
        try:
            self.proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            raise WorkerError(f"{self.framework}: worker died ({self._last_words()})")
        reply = json.loads(line)
        if "error" in reply:
            raise WorkerError(f"{self.framework}: {reply['error']}")
        return reply

    def sample(self, inner):
        return self.call("sample", inner=inner)["seconds"]

    def _last_words(self):
        try:
            status = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            status = "still running"
        self.stderr.seek(0)
        lines = self.stderr.read().strip().splitlines()
        return f"exit status {status}" + (f": {lines[-1][:110]}" if lines else "")

    def close(self):
        """Ask the worker to quit; terminate it if it does not (a Ctrl-C may leave it in the middle of a command)."""
        try:
            self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.terminate()
            self.proc.wait()
        self.proc.stdout.close()
        self.stderr.close()


@contextlib.contextmanager
def start_workers(frameworks, quick=False, threads=DEFAULT_THREADS, blas_threads=None):
    """One :class:`Worker` per framework, as a dict; every one is stopped however the block ends (Ctrl-C too)."""
    workers = {}
    try:
        for framework in frameworks:
            workers[framework] = Worker(framework, quick, threads, blas_threads)
        yield workers
    finally:
        for worker in workers.values():
            worker.close()


def run_case(case, workers, repeat, warmup=1, gap=0.0, quiet_cap=QUIET_CAP):
    """Set ``case`` up in each framework's worker, time them alternately with a quiet pause before each sample,
    free it. When tinygan fails (to build or to run the case) the error becomes the row's ``error``; torch failing
    to build it becomes a ``note`` and the row keeps tinygan's time."""
    ready, note = {}, ""
    try:
        for framework, worker in workers.items():
            try:
                worker.call("setup", case=case.name)
            except WorkerError as exc:
                if framework == "tinygan":
                    return Row(case.name, case.group, case.flops, [], [], error=str(exc))
                note = str(exc)
                continue
            ready[framework] = worker
        try:
            samples, inner, waits = alternating_median({fw: w.sample for fw, w in ready.items()}, repeat, warmup,
                                                       pause=lambda: quiet_pause(gap, quiet_cap))
        except WorkerError as exc:
            return Row(case.name, case.group, case.flops, [], [], error=str(exc))
        return Row(case.name, case.group, case.flops, samples["tinygan"], samples.get("torch", []), inner,
                   note=note, waits=waits)
    finally:
        for worker in ready.values():
            with contextlib.suppress(WorkerError):
                worker.call("free")


def worker_gemm_rate(worker, n, repeat, quiet_cap=QUIET_CAP):
    """GFLOP/s samples of the worker's float32 GEMM (np.matmul or torch.mm), measured on a quiet machine."""
    wait_quiet(quiet_cap)
    return worker.call("gemm", n=n, repeat=repeat)["rates"]


def quiet_summary(rows):
    """How long the samples of ``rows`` waited for a quiet machine: median and max ms, and how many hit the cap."""
    waits = [w for r in rows for w in r.waits]
    if not waits:
        return None
    return {"samples": len(waits), "median_ms": statistics.median(waits) * 1e3, "max_ms": max(waits) * 1e3,
            "capped": sum(w >= QUIET_CAP for w in waits), "cap_s": QUIET_CAP, "busy_below": QUIET_BUSY}


# ---- the table ---------------------------------------------------------------------------------------

def _fmt(v, spec, width):
    return f"{'-':>{width}}" if v is None else f"{v:{width}{spec}}"


def format_table(rows, gemm_gflops, title=None):
    """The plain-text table: one line per row, the columns described in the module docstring."""
    derived = [r.derived(gemm_gflops) if isinstance(r, Row) else r for r in rows]
    width = max([len(d["name"]) for d in derived] + [10])
    head = (f"{'case':<{width}}  {'ms':>10}  {'GFLOP/s':>8}  {'floor ms':>9}  {'x floor':>7}  {'torch ms':>10}"
            f"  {'torch x floor':>13}  {'x torch':>7}")
    lines = ([title] if title else []) + [head, "-" * len(head)]
    group = None
    for d in derived:
        if group is not None and d["group"] != group:
            lines.append("")
        group = d["group"]
        if d["error"]:
            lines.append(f"{d['name']:<{width}}  {d['error']}")
            continue
        line = (f"{d['name']:<{width}}  {_fmt(d['tinygan_ms'], '.2f', 10)}  {_fmt(d['gflops'], '.1f', 8)}  "
                f"{_fmt(d['floor_ms'], '.2f', 9)}  {_fmt(d['x_floor'], '.2f', 7)}  {_fmt(d['torch_ms'], '.2f', 10)}  "
                f"{_fmt(d['torch_x_floor'], '.2f', 13)}  {_fmt(d['x_torch'], '.2f', 7)}")
        if d["note"]:
            line += f"  [{d['note']}]"
        lines.append(line)
    return "\n".join(lines)


def format_memory(mem_rows):
    if not mem_rows:
        return ""
    head = (f"{'peak memory of one train step':<30}  {'tinygan MiB':>11}  {'torch MiB':>9}  {'x torch':>7}  "
            f"{'tg step MiB':>11}  {'torch step':>10}  {'tg tracemalloc':>14}")
    lines = [head, "-" * len(head)]
    for m in mem_rows:
        tg, th = m.get("tinygan") or {}, m.get("torch") or {}
        if tg.get("error") or th.get("error"):
            lines.append(f"{m['name']:<30}  tinygan: {tg.get('error', 'ok')}; torch: {th.get('error', 'ok')}")
            continue
        ratio = tg["peak_mib"] / th["peak_mib"] if tg.get("peak_mib") and th.get("peak_mib") else None
        lines.append(f"{m['name']:<30}  {_fmt(tg.get('peak_mib'), '.0f', 11)}  {_fmt(th.get('peak_mib'), '.0f', 9)}  "
                     f"{_fmt(ratio, '.2f', 7)}  {_fmt(tg.get('step_mib'), '.0f', 11)}  "
                     f"{_fmt(th.get('step_mib'), '.0f', 10)}  {_fmt(tg.get('tracemalloc_mib'), '.0f', 14)}")
    lines.append("(MiB above the RSS after imports, fresh subprocess per framework with its own malloc and OpenMP "
                 "defaults; 'step' = above the RSS just before the measured step)")
    return "\n".join(lines)


# ---- peak memory (subprocess) ----------------------------------------------------------------------

def _proc_status(key):
    with open("/proc/self/status") as fh:
        m = re.search(rf"^{key}:\s+(\d+) kB", fh.read(), re.M)
    return int(m.group(1)) * 1024 if m else None


def _reset_hwm():
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def memory_child(model, framework, quick, threads, blas_threads=None):
    """Runs inside the subprocess: returns the measurement dict (see the module docstring)."""
    set_threads(threads, use_torch=framework == "torch", blas_threads=blas_threads)
    if framework == "tinygan":     # the imports belong to the baseline (the torch child imported torch first)
        importlib.import_module(f"tinygan.gans.{model}")
    gc.collect()
    rss_imports = _proc_status("VmRSS")
    step, n_params = (make_torch_step if framework == "torch" else make_tinygan_step)(model, quick)
    step()
    step()
    gc.collect()
    rss_before = _proc_status("VmRSS")
    exact = _reset_hwm()
    step()
    hwm = _proc_status("VmHWM")
    out = {"framework": framework, "model": model, "n_params": n_params, "rss_imports_mib": rss_imports / 2 ** 20,
           "rss_before_mib": rss_before / 2 ** 20, "hwm_mib": hwm / 2 ** 20,
           "peak_mib": (hwm - rss_imports) / 2 ** 20, "step_mib": (hwm - rss_before) / 2 ** 20 if exact else None,
           "hwm_reset": exact}
    if framework == "tinygan":
        import tracemalloc
        gc.collect()
        tracemalloc.start()
        step()
        out["tracemalloc_mib"] = tracemalloc.get_traced_memory()[1] / 2 ** 20
        tracemalloc.stop()
    return out


def _memory_result(proc, stdout, stderr):
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    if lines:
        return json.loads(lines[-1])
    err = (stderr.strip().splitlines() or [f"exit status {proc.returncode}, no output"])[-1]
    return {"error": err[:110]}


def measure_memory(models, frameworks=("tinygan", "torch"), quick=False, threads=DEFAULT_THREADS, timeout=900,
                   blas_threads=None):
    """Peak memory of one train step of each model in each framework, each in a fresh subprocess.

    The frameworks of one model run side by side (RSS is per process, so they do not disturb each other's
    numbers; the models run one after the other to bound the machine's memory). Returns {model: {framework: dict}}.
    """
    out, options = {}, _options(quick, threads, blas_threads)
    for model in models:
        procs = {fw: subprocess.Popen(_child_command(fw, ["memory", model, fw, *options]), stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, env=_child_env(fw, threads, blas_threads))
                 for fw in frameworks}
        out[model] = {}
        for fw, proc in procs.items():
            try:
                stdout, stderr = proc.communicate(timeout=timeout)
                out[model][fw] = _memory_result(proc, stdout, stderr)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                out[model][fw] = {"error": f"timed out after {timeout}s"}
    return out


def memory_rows(models, quick=False, threads=DEFAULT_THREADS, use_torch=True, blas_threads=None):
    frameworks = ("tinygan", "torch") if use_torch and torch_installed() else ("tinygan",)
    measured = measure_memory(models, frameworks, quick, threads, blas_threads=blas_threads)
    return [{"name": model_label(model, quick), "model": model, **measured[model]} for model in models]


# ---- profile ---------------------------------------------------------------------------------------

def profile_step(model, quick=False, top=15, sort="tottime", threads=DEFAULT_THREADS, blas_threads=None):
    """cProfile of one tinygan train step after a warm-up step; returns the pstats text (top ``top``)."""
    import cProfile
    import io
    import pstats
    set_threads(threads, use_torch=False, blas_threads=blas_threads)
    step, _ = make_tinygan_step(model, quick)
    step()
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    step()
    prof.disable()
    wall = time.perf_counter() - t0
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats(sort).print_stats(top)
    return f"cProfile of one {model_label(model, quick)} (wall {wall:.2f} s under the profiler)\n" + buf.getvalue()


# ---- the whole benchmark ---------------------------------------------------------------------------

SEPARATE_WORKERS = "one worker process per framework, each with its own defaults"


def environment(workers, gemm, gemm_torch, quick, repeat, gap=None, rows=(), layout=SEPARATE_WORKERS):
    """The run's environment for the header and the JSON: ``workers`` is {framework: :func:`worker_info`}."""
    tg, th = workers["tinygan"], workers.get("torch") or {}
    return {"python": tg["python"], "numpy": tg["numpy"], "numba": tg["numba"], "torch": th.get("torch"),
            "machine": platform.machine(), "cpus": os.cpu_count(), "layout": layout, "workers": workers,
            "threads": {"numba": tg["threads"]["numba"], "blas": tg["threads"]["blas"],
                        "torch": (th.get("threads") or {}).get("torch")},
            "openblas_core": tg["openblas_core"], "openblas_coretype": tg["openblas_coretype"],
            "gemm_gflops": statistics.median(gemm) if gemm else None, "gemm_samples": gemm,
            "torch_gemm_gflops": statistics.median(gemm_torch) if gemm_torch else None,
            "quick": quick, "repeat": repeat, "gap_s": gap, "quiet_wait": quiet_summary(rows),
            "loadavg_end": _loadavg()}


def _loadavg():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def openblas_text(core, coretype):
    """'OpenBLAS core Haswell (pinned by OPENBLAS_CORETYPE=Haswell in the environment)' and the like."""
    if core is None:
        return "OpenBLAS core unknown (NumPy's BLAS does not say)"
    how = (f"pinned by OPENBLAS_CORETYPE={coretype} in the environment" if coretype
           else "chosen by OpenBLAS for this CPU")
    return f"OpenBLAS core {core} ({how})"


def _pause_text(env):
    """What came before each sample: the idle gap and the wait for a quiet machine, with how long it took."""
    text = "before each sample: " + (f"{env['gap_s'] * 1e3:.0f} ms idle, then " if env.get("gap_s") else "")
    text += f"a wait for a quiet machine (< {QUIET_BUSY:.0%} of CPU time busy, at most {QUIET_CAP:g} s)"
    q = env.get("quiet_wait")
    if q:
        text += (f": median {q['median_ms']:.0f} ms, max {q['max_ms']:.0f} ms, {q['capped']} of {q['samples']} "
                 "samples at the cap")
    return text


def header_text(env):
    t = env["threads"]
    lines = [f"tinygan bench  (numpy {env['numpy']}, numba {env['numba']}, torch {env['torch'] or 'not used'}, "
             f"{env['cpus']} CPUs; threads numba={t['numba']} blas={t['blas'] if t['blas'] is not None else '?'} "
             f"torch={t['torch'] if t['torch'] is not None else '-'})",
             f"{env['layout']}:"]
    for name, info in env["workers"].items():
        lines.append(f"  {name + ':':<8} OpenMP wait policy {info['omp_wait_policy']}; host memory: "
                     f"{info['host_memory']}")
        if name == "tinygan":
            lines.append(f"  {'':<8} OpenBLAS thread timeout {info['openblas_thread_timeout']}")
    lines.append(openblas_text(env["openblas_core"], env["openblas_coretype"]))
    lines.append(f"GEMM floor: np.matmul float32 {env['gemm_gflops']:.1f} GFLOP/s (median of "
                 f"{len(env['gemm_samples'])} samples, {min(env['gemm_samples']):.0f}-{max(env['gemm_samples']):.0f}, "
                 "measured before and after the cases)")
    if env["torch_gemm_gflops"]:
        lines.append(f"            torch.mm float32 {env['torch_gemm_gflops']:.1f} GFLOP/s (same run, for reference)")
    lines.append(f"{'quick shapes' if env['quick'] else 'book shapes'}; medians of {env['repeat']} alternating samples "
                 "(tinygan, torch, tinygan, ...); x torch = tinygan / torch")
    lines.append(_pause_text(env))
    if env.get("loadavg_end"):
        lines.append(f"machine load average at the end (1/5/15 min): {env['loadavg_end']} on {env['cpus']} CPUs "
                     "(other processes share these cores; only same-run ratios count)")
    return "\n".join(lines)


def _timed_rows(selected, workers, repeat, quick, gap, gemm_rate_now, log):
    """Run each selected case in the workers, logging one progress line per case."""
    rows = []
    for i, case in enumerate(selected):
        rep = repeat or (3 if quick else (5 if case.group == "ops" else 3))
        t0 = time.perf_counter()
        row = run_case(case, workers, rep, gap=gap)
        rows.append(row)
        d = row.derived(gemm_rate_now)
        summary = row.error or (f"{d['tinygan_ms']:.2f} ms"
                                + (f", torch {d['torch_ms']:.2f} ms" if d["torch_ms"] else "")
                                + f"; quiet wait median {statistics.median(row.waits) * 1e3:.0f} ms")
        log(f"[{i + 1}/{len(selected)}] {case.name}: {summary}  ({time.perf_counter() - t0:.1f} s)")
    return rows


def _start_info(workers, log):
    """Each worker's :func:`worker_info`; a torch worker that cannot start is dropped with a log line."""
    info = {}
    for framework, worker in list(workers.items()):
        try:
            info[framework] = worker.call("env")
        except WorkerError as exc:
            if framework == "tinygan":
                raise
            log(f"{exc}; timing tinygan alone")
            worker.close()
            del workers[framework]
    return info


def run_benchmarks(cases="all", repeat=None, quick=False, threads=DEFAULT_THREADS, use_torch=True, pattern=None,
                   memory=True, gemm_size=None, gap=None, blas_threads=None, log=print):
    """Run the selected cases in one worker process per framework and (for models) the peak-memory comparison.
    Returns a JSON-able dict and the printed text. ``log`` gets progress lines."""
    frameworks = ("tinygan", "torch") if use_torch and torch_installed() else ("tinygan",)
    gap = DEFAULT_GAP[quick] if gap is None else gap
    gemm_n, gemm_rep = (1024, 10) if quick else (2048, 7)
    gemm_n = gemm_size or gemm_n
    selected = select_cases(cases, quick, pattern)
    with start_workers(frameworks, quick, threads, blas_threads) as workers:
        info = _start_info(workers, log)
        gemm = worker_gemm_rate(workers["tinygan"], gemm_n, gemm_rep)
        gemm_torch = worker_gemm_rate(workers["torch"], gemm_n, 3) if "torch" in workers else []
        rows = _timed_rows(selected, workers, repeat, quick, gap, statistics.median(gemm), log)
        gemm += worker_gemm_rate(workers["tinygan"], gemm_n, gemm_rep)
    env = environment(info, gemm, gemm_torch, quick, repeat or ("3" if quick else "5 (ops) / 3 (models)"), gap, rows)
    rate = env["gemm_gflops"]
    mem = []
    models = sorted({c.model for c in selected if c.model}, key=MODEL_NAMES.index)
    if quick:
        models = [m for m in models if m == "pix2pix"]     # the one the issue asks for; keeps --quick short
    if memory and models:
        log("peak memory: " + ", ".join(models))
        t0 = time.perf_counter()
        mem = memory_rows(models, quick, threads, "torch" in workers, blas_threads)
        log(f"peak memory done ({time.perf_counter() - t0:.1f} s)")
    text = header_text(env) + "\n\n" + format_table(rows, rate)
    if mem:
        text += "\n\n" + format_memory(mem)
    result = {"environment": env, "rows": [r.derived(rate) for r in rows], "memory": mem}
    return result, text


# ---- the subprocesses' entry point -----------------------------------------------------------------

def _parser():
    parser = argparse.ArgumentParser(prog="python -m tinygan.benchmarks")
    sub = parser.add_subparsers(dest="cmd", required=True)
    mem = sub.add_parser("memory", help="(internal) peak memory of one train step, printed as JSON")
    mem.add_argument("model", choices=MODEL_NAMES)
    worker = sub.add_parser("worker", help="(internal) time cases for the parent: JSON lines on stdin/stdout")
    for p in (mem, worker):
        p.add_argument("framework", choices=("tinygan", "torch"))
        p.add_argument("--quick", action="store_true")
        p.add_argument("--threads", type=int, default=DEFAULT_THREADS)
        p.add_argument("--blas-threads", type=int, default=None)
    return parser


def _run_worker(args):
    """Serve the parent on stdin/stdout, with file descriptor 1 pointed at stderr so that nothing else (a print,
    a C library's message) can get into the replies."""
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    threads_info = set_threads(args.threads, use_torch=args.framework == "torch", blas_threads=args.blas_threads)
    serve(args.framework, args.quick, threads_info, sys.stdin, replies)
    return 0


def _main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    if args.framework == "torch" and not _imported_before("torch", "tinygan"):
        # started as `python -m tinygan.benchmarks`, which imports the tinygan package first: start over, torch first
        os.execve(sys.executable, _child_command("torch", argv), _child_env("torch", args.threads, args.blas_threads))
    if args.cmd == "worker":
        return _run_worker(args)
    try:
        print(json.dumps(memory_child(args.model, args.framework, args.quick, args.threads, args.blas_threads)))
    except Exception as exc:
        print(json.dumps({"error": _short_error(exc)}))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_main())
