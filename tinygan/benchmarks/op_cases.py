"""Op cases: forward + backward of ``conv2d``/``conv_transpose2d`` at every book layer shape, ``batch_norm`` and
``leaky_relu`` at every shape they see, and Adam over the Pix2Pix generator, each with its PyTorch twin.
"""
import numpy as np

from .case import Case
from .model_specs import dcgan_layers, model_sizes, pix2pix_layers
from .timing import torch_or_none
from .torch_reference import torch_layer


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
