"""The Inception v3 row of ``tinygan bench`` (issue 14): one forward pass of 50 images at 299 px, the FID
feature extractor's workload, tinygan next to PyTorch CPU and the GEMM floor.

Both frameworks hold the same weights: each worker builds tinygan's InceptionV3 (the Keras 2 architecture) and
gives it :func:`~tinygan.keras.applications.seeded_weights.set_seeded_weights`; the torch worker then runs that
same graph, node by node, as PyTorch functional calls on NCHW tensors (TensorFlow 'same' padding is symmetric for
every stride-1 Inception conv; stride-2 convs and max pools are 'valid'; average pools leave the padding out of
the count, ``count_include_pad=False``; BatchNorm in inference mode, eps 1e-3). FLOPs count the convolutions and
the Dense layer. ``--quick`` runs 8 images at 139 px.
"""
import numpy as np

SEED = 14


def shape(quick):
    """(batch, side)."""
    return (8, 139) if quick else (50, 299)


def label(quick):
    batch, side = shape(quick)
    return f"inception_v3 fwd b{batch} {side}px"


def _model(side):
    from .keras.applications.inception_v3 import InceptionV3
    from .keras.applications.seeded_weights import set_seeded_weights
    return set_seeded_weights(InceptionV3(weights=None, input_shape=(side, side, 3)), SEED)


def _images(batch, side):
    return np.random.default_rng(SEED).uniform(-1, 1, (batch, side, side, 3)).astype(np.float32)


def forward_flops(quick):
    """2 x multiply-adds of every Conv2D and the Dense layer, from the layer shapes."""
    from .keras.applications.inception_v3 import InceptionV3
    batch, side = shape(quick)
    model = InceptionV3(weights=None, input_shape=(side, side, 3))
    total = 0
    for node, _ in model._steps:
        layer, (out,) = node.outbound_layer, node.output_tensors
        kind = type(layer).__name__
        if kind == "Conv2D":
            kh, kw, cin, cout = layer.kernel.shape
            total += 2 * batch * out.shape[1] * out.shape[2] * kh * kw * cin * cout
        elif kind == "Dense":
            total += 2 * batch * np.prod(layer.kernel.shape)
    return float(total)


def make_tinygan(quick):
    batch, side = shape(quick)
    model, x = _model(side), _images(batch, side)
    return lambda: model.predict(x, batch_size=batch)


def make_torch(quick):
    import torch
    batch, side = shape(quick)
    forward = torch_forward(_model(side), torch)
    x = torch.from_numpy(_images(batch, side)).permute(0, 3, 1, 2).contiguous()

    def run():
        with torch.inference_mode():
            return forward(x)
    return run


def torch_forward(model, torch):
    """A PyTorch function computing tinygan ``model``'s graph (the layer kinds of Inception v3) on NCHW input."""
    import torch.nn.functional as F

    steps = []
    for node, dead in model._steps:
        layer = node.outbound_layer
        kind, weights = type(layer).__name__, [torch.from_numpy(np.asarray(w)) for w in layer.get_weights()]
        if kind == "Conv2D":
            kernel = weights[0].permute(3, 2, 0, 1).contiguous()
            kh, kw = kernel.shape[2:]
            pad = (kh // 2, kw // 2) if layer.padding == "same" else (0, 0)
            if layer.padding == "same" and (layer.strides != (1, 1) or kh % 2 == 0 or kw % 2 == 0):
                raise NotImplementedError(f"{layer.name}: only odd stride-1 'same' convs are translated")
            fn = lambda x, k=kernel, s=tuple(layer.strides), p=pad: F.conv2d(x, k, None, s, p)  # noqa: E731
        elif kind == "BatchNormalization":
            beta, mean, var = weights
            fn = lambda x, b=beta, m=mean, v=var, e=layer.epsilon: F.batch_norm(x, m, v, None, b, False, 0.0, e)  # noqa: E731
        elif kind == "Activation":
            fn = F.relu
        elif kind == "MaxPooling2D":
            fn = lambda x, k=tuple(layer.pool_size), s=tuple(layer.strides): F.max_pool2d(x, k, s)  # noqa: E731
        elif kind == "AveragePooling2D":
            pad = (layer.pool_size[0] // 2, layer.pool_size[1] // 2) if layer.padding == "same" else (0, 0)
            fn = (lambda x, k=tuple(layer.pool_size), s=tuple(layer.strides), p=pad:  # noqa: E731
                  F.avg_pool2d(x, k, s, p, count_include_pad=False))
        elif kind == "Concatenate":
            fn = lambda *xs: torch.cat(xs, dim=1)  # noqa: E731
        elif kind == "GlobalAveragePooling2D":
            fn = lambda x: x.mean(dim=(2, 3))  # noqa: E731
        elif kind == "Dense":
            fn = lambda x, w=weights[0].T.contiguous(), b=weights[1]: torch.softmax(F.linear(x, w, b), dim=1)  # noqa: E731
        else:
            raise NotImplementedError(f"{layer.name}: no PyTorch translation for {kind}")
        steps.append((fn, [id(t) for t in node.input_tensors], id(node.output_tensors[0]), dead))
    source, result = id(model.inputs[0]), id(model.outputs[0])

    def forward(x):
        values = {source: x}
        for fn, inputs, output, dead in steps:
            values[output] = fn(*[values[i] for i in inputs])
            for i in dead:  # freed after their last use, as tinygan's Network does
                del values[i]
        return values[result]
    return forward


def case(quick):
    from .benchmarks import Case
    return Case(label(quick), "models", forward_flops(quick), lambda: make_tinygan(quick), lambda: make_torch(quick),
                note="forward only, inference mode")
