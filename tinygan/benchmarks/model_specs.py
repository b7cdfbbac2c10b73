"""The book models' layer shapes and their GEMM FLOP counts: ``Layer``, the Pix2Pix and DCGAN layer lists, the
image size and batch of each model (``model_sizes``), and the FLOPs of one train step (``step_flops``).

Pure arithmetic (no tinygan, no torch); the cases, the PyTorch references and the report use it.
"""
import dataclasses
import importlib
import math

import numpy as np

from .registry import OWN_MODULE


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
