"""The CycleGAN train step for ``tinygan bench --cases models``: tinygan next to PyTorch, same architecture, same
update order (chapter 26, Listing 26.17).

One step: both generators translate a real image of the other domain (``predict``), the B->A composite is trained
(D_A and G_AtoB frozen: adversarial least squares + 5 x identity + 10 x each cycle L1, G_BtoA used three times),
D_A on a real and on a fake image (least squares, weight 0.5), the A->B composite, D_B likewise. The image pools
only pick which fake D sees; the step uses the fresh fakes (the same work). The book's sizes: 256 px, 9
concatenating ResNet blocks (35.3 M parameters per generator); ``--quick``: 64 px, same layers.

The PyTorch reference: NCHW, Keras 'same' padding reproduced (``benchmarks.TFConv``/``TFConvT``),
``InstanceNorm2d(affine=True, eps=1e-3)``, the same concatenations, Adam(2e-4, betas (0.5, 0.999), eps 1e-7), the
frozen models by ``requires_grad_(False)`` (gradients still flow through them to the trained generator),
``predict`` under ``no_grad``.
"""
import numpy as np

from . import benchmarks as B

N_RESNET = 9


def size(quick):
    return 64 if quick else 256


def label(quick):
    return f"cyclegan step {size(quick)}px b1"


def layers(px, batch=1, n_resnet=N_RESNET, ngf=64, ndf=64, channels=3):
    """(D, G) GEMM layers of tinygan.gans.cyclegan's models (``bn`` marks an InstanceNormalization here)."""
    d, h, cin = [], px, channels
    for i, (cout, s, norm) in enumerate([(ndf, 2, False), (ndf * 2, 2, True), (ndf * 4, 2, True),
                                         (ndf * 8, 2, True), (ndf * 8, 1, True)]):
        d.append(B.Layer(f"D{i + 1}", "conv", batch, h, h, cin, cout, 4, s, bn=norm, act="lrelu"))
        h, cin = -(-h // s), cout
    d.append(B.Layer("D6", "conv", batch, h, h, cin, 1, 4, 1))
    g = [B.Layer("c7s1", "conv", batch, px, px, channels, ngf, 7, 1, bn=True, act="relu"),
         B.Layer("d128", "conv", batch, px, px, ngf, ngf * 2, 3, 2, bn=True, act="relu"),
         B.Layer("d256", "conv", batch, px // 2, px // 2, ngf * 2, ngf * 4, 3, 2, bn=True, act="relu")]
    h, cin = px // 4, ngf * 4
    for i in range(n_resnet):
        g.append(B.Layer(f"R{i + 1}a", "conv", batch, h, h, cin, ngf * 4, 3, 1, bn=True, act="relu"))
        g.append(B.Layer(f"R{i + 1}b", "conv", batch, h, h, ngf * 4, ngf * 4, 3, 1, bn=True))
        cin += ngf * 4
    g.append(B.Layer("u128", "convT", batch, h, h, cin, ngf * 2, 3, 2, bn=True, act="relu"))
    g.append(B.Layer("u64", "convT", batch, 2 * h, 2 * h, ngf * 2, ngf, 3, 2, bn=True, act="relu"))
    g.append(B.Layer("c7s1-3", "conv", batch, px, px, ngf, channels, 7, 1, bn=True, act="tanh"))
    return d, g


def step_flops(quick=False):
    """GEMM FLOPs of one step: 2 predicts; per composite G1 three times (weights and inputs), G2 twice forward and
    once backward to its input, D forward and backward to its input; four D updates."""
    d, g = layers(size(quick))
    fd, fg = B.fwd_flops(d), B.fwd_flops(g)
    composite = 5 * fg + fd + 3 * B.bwd_flops(g) + B.bwd_flops(g, weights=False, input_of_first=True) \
        + B.bwd_flops(d, weights=False, input_of_first=True)
    return 2 * fg + 2 * composite + 4 * (fd + B.bwd_flops(d))


def make_tinygan_step(quick=False):
    from tinygan.gans import cyclegan as cg
    px = size(quick)
    shape = (px, px, 3)
    m = cg.define_models(shape, n_resnet=N_RESNET)
    rng = np.random.default_rng(0)
    a, b = (rng.uniform(-1, 1, (1, *shape)).astype(np.float32) for _ in range(2))
    patch = m["d_model_A"].output_shape[1:]
    y_real, y_fake = np.ones((1, *patch), np.float32), np.zeros((1, *patch), np.float32)

    def step():
        fake_a = m["g_model_BtoA"].predict(b)
        fake_b = m["g_model_AtoB"].predict(a)
        m["c_model_BtoA"].train_on_batch([b, a], [y_real, a, b, a])
        m["d_model_A"].train_on_batch(a, y_real)
        m["d_model_A"].train_on_batch(fake_a, y_fake)
        m["c_model_AtoB"].train_on_batch([a, b], [y_real, b, a, b])
        m["d_model_B"].train_on_batch(b, y_real)
        m["d_model_B"].train_on_batch(fake_b, y_fake)

    return B._quiet(step), sum(int(m[k].count_params()) for k in ("g_model_AtoB", "g_model_BtoA", "d_model_A",
                                                                     "d_model_B"))


def torch_models(px):
    """(D, G) in PyTorch."""
    torch = B.torch_or_none()
    nn = torch.nn
    d_layers, g_layers = layers(px)

    def block(layer, act=True):
        mods = [B.torch_layer(layer)]
        if layer.bn:
            mods.append(nn.InstanceNorm2d(layer.cout, affine=True, eps=1e-3))
        if act and layer.act:
            mods.append({"lrelu": lambda: nn.LeakyReLU(0.2), "relu": nn.ReLU, "tanh": nn.Tanh}[layer.act]())
        return nn.Sequential(*mods)

    class ResNetG(nn.Module):
        def __init__(self):
            super().__init__()
            self.down = nn.Sequential(*[block(lay) for lay in g_layers[:3]])
            self.res = nn.ModuleList(nn.Sequential(block(g_layers[3 + 2 * i]), block(g_layers[4 + 2 * i]))
                                     for i in range(N_RESNET))
            self.up = nn.Sequential(*[block(lay) for lay in g_layers[3 + 2 * N_RESNET:]])

        def forward(self, x):
            x = self.down(x)
            for r in self.res:
                x = torch.cat([r(x), x], 1)
            return self.up(x)

    return nn.Sequential(*[block(lay) for lay in d_layers]), ResNetG()


def make_torch_step(quick=False):
    torch = B.torch_or_none()
    F = torch.nn.functional
    gen = torch.Generator().manual_seed(0)
    px = size(quick)
    d_a, g_ab = torch_models(px)
    d_b, g_ba = torch_models(px)
    opts = {id(m): B._torch_adam(m.parameters()) for m in (d_a, d_b, g_ab, g_ba)}
    a, b = (torch.rand(1, 3, px, px, generator=gen) * 2 - 1 for _ in range(2))
    patch = layers(px)[0][-1].out_hw
    y_real, y_fake = torch.ones(1, 1, *patch), torch.zeros(1, 1, *patch)

    def d_update(d, x, y):
        opts[id(d)].zero_grad()
        (0.5 * F.mse_loss(d(x), y)).backward()
        opts[id(d)].step()

    def composite(g1, d, g2, x_gen, x_id):
        B._set_trainable(d, False)
        B._set_trainable(g2, False)
        opts[id(g1)].zero_grad()
        gen1 = g1(x_gen)
        loss = F.mse_loss(d(gen1), y_real) + 5 * F.l1_loss(g1(x_id), x_id) + 10 * F.l1_loss(g2(gen1), x_gen) \
            + 10 * F.l1_loss(g1(g2(x_id)), x_id)
        loss.backward()
        opts[id(g1)].step()
        B._set_trainable(d, True)
        B._set_trainable(g2, True)

    def step():
        with torch.no_grad():
            fake_a, fake_b = g_ba(b), g_ab(a)
        composite(g_ba, d_a, g_ab, b, a)
        d_update(d_a, a, y_real)
        d_update(d_a, fake_a, y_fake)
        composite(g_ab, d_b, g_ba, a, b)
        d_update(d_b, b, y_real)
        d_update(d_b, fake_b, y_fake)

    return step, B._torch_params(d_a, d_b, g_ab, g_ba)
