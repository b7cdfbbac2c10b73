"""The PyTorch references: the same layers and train steps as the book's Keras models (NCHW; Keras 'same' padding,
BatchNorm, Dropout and Adam settings reproduced), built lazily so the package imports without torch.

Used by the op and model cases and by :mod:`tinygan.gpu_bench`; imports torch only inside its functions.
"""
import dataclasses
import importlib

from .model_specs import DCGAN_SPECS, model_sizes, pix2pix_layers, sequential_layers, tf_same_pads
from .registry import OWN_MODULE
from .timing import torch_or_none


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
