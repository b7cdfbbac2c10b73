"""The train steps of the book's chapter 15-20 GANs (LSGAN, WGAN, cGAN, InfoGAN, AC-GAN, SGAN) for
``tinygan bench --cases models``: tinygan next to PyTorch, same architecture, same update order.

One module per model (``tinygan.bench_gans.lsgan`` ...) gives ``tinygan.benchmarks`` its four functions; the work
is all here, shared by the six:

* the models are the chapter modules' own ``define_*`` (the book's batch sizes and latent sizes);
* :data:`PLANS` states each chapter's loop body once, as a list of ``predict`` / ``train_on_batch`` calls on named
  models and arrays, and :func:`run_plan` runs it in either framework (WGAN: 5 critic rounds, then G; SGAN: the
  supervised classifier, D on real, D on fake, then G; ...);
* the PyTorch reference is *translated from the Keras graph* (:class:`TorchGraph`): every layer becomes its torch
  counterpart (NCHW; Keras 'same' padding through ``benchmarks.TFConv``/``TFConvT``; BatchNorm eps 1e-3 and momentum
  1 - Keras's; Embedding, Concatenate on channels, SGAN's ``custom_activation``), layers shared between Keras models
  share one torch module (InfoGAN's D/Q trunk, D inside the composite), and each compiled Keras model trains exactly
  the layers its compile-time trainable set holds (``requires_grad_`` on the others off, gradients still flow through
  them) with its own optimizer (Adam or RMSprop with Keras's epsilon 1e-7) and loss; the WGAN critic's kernels are
  clamped after each update as ``ClipConstraint`` does. ``predict`` runs under ``no_grad``.
* the GEMM FLOPs of a step are counted on the Keras graph (:func:`plan_flops`): every Conv2D, Conv2DTranspose and
  Dense forward, weight gradients of the layers the updated model trains, input gradients where something upstream
  trains.

The torch worker builds the Keras models to translate them; their graphs stay (a few MB of NumPy weights, which the
torch column of a peak-memory row would include).
"""
import numpy as np

from tinygan import benchmarks as B

# name: (book batch size, latent size of the generator input, steps of the loop body)
# a step: ("predict", model, [inputs], output name) or ("train", model, [inputs], [targets]); names index the data
_CRITIC_ROUND = [("predict", "g", ["z_half"], "fake"), ("train", "d", ["real"], ["minus_half"]),
                 ("train", "d", ["fake"], ["ones_half"])]
PLANS = {
    "lsgan": (64, 100, [("predict", "g", ["z_half"], "fake"), ("train", "d", ["real"], ["ones_half"]),
                        ("train", "d", ["fake"], ["zeros_half"]), ("train", "gan", ["z"], ["ones"])]),
    "wgan": (64, 50, _CRITIC_ROUND * 5 + [("train", "gan", ["z"], ["minus"])]),
    "cgan": (128, 100, [("train", "d", ["real", "real_labels"], ["ones_half"]),
                        ("predict", "g", ["z_half", "labels_half"], "fake"),
                        ("train", "d", ["fake", "labels_half"], ["zeros_half"]),
                        ("train", "gan", ["z", "labels"], ["ones"])]),
    "infogan": (64, 72, [("train", "d", ["real"], ["ones_half"]), ("predict", "g", ["zc_half"], "fake"),
                         ("train", "d", ["fake"], ["zeros_half"]), ("train", "gan", ["zc"], ["ones", "codes"])]),
    "acgan": (64, 100, [("train", "d", ["real"], ["ones_half", "real_labels"]),
                        ("predict", "g", ["z_half", "labels_half"], "fake"),
                        ("train", "d", ["fake"], ["zeros_half", "labels_half"]),
                        ("train", "gan", ["z", "labels"], ["ones", "labels"])]),
    "sgan": (100, 100, [("train", "c", ["real"], ["real_labels"]), ("train", "d", ["real"], ["ones_half"]),
                        ("predict", "g", ["z_half"], "fake"), ("train", "d", ["fake"], ["zeros_half"]),
                        ("train", "gan", ["z"], ["ones"])]),
}
NAMES = tuple(PLANS)
QUICK_BATCH = 16


def batch_size(name, quick):
    return QUICK_BATCH if quick else PLANS[name][0]


def label(name, quick):
    return f"{name} step b{batch_size(name, quick)}"


def build_models(name):
    """The chapter's Keras models by plan name: ``g``, ``d``, ``gan`` (and SGAN's ``c``, InfoGAN's ``q``)."""
    from importlib import import_module
    m = import_module(f"tinygan.gans.{name}")
    latent = PLANS[name][1]
    if name == "wgan":
        d, g = m.define_critic(), m.define_generator(latent)
    elif name == "infogan":
        g = m.define_generator(latent)
        d, q = m.define_discriminator(10)
        return {"g": g, "d": d, "q": q, "gan": m.define_gan(g, d, q)}
    elif name == "sgan":
        (d, c), g = m.define_discriminator(), m.define_generator(latent)
        return {"g": g, "d": d, "c": c, "gan": m.define_gan(g, d)}
    else:
        d, g = m.define_discriminator(), m.define_generator(latent)
    return {"g": g, "d": d, "gan": m.define_gan(g, d)}


def make_data(name, n, seed=0):
    """The fixed arrays a step reads (NHWC images in [-1,1], int labels, float targets), by the plan's names."""
    rng = np.random.default_rng(seed)
    half = n // 2
    latent = PLANS[name][1]
    data = {"real": rng.uniform(-1, 1, (half, 28, 28, 1)).astype(np.float32),
            "real_labels": rng.integers(0, 10, half), "labels_half": rng.integers(0, 10, half),
            "labels": rng.integers(0, 10, n), "z_half": rng.standard_normal((half, latent)).astype(np.float32),
            "z": rng.standard_normal((n, latent)).astype(np.float32)}
    codes = np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)]
    data["codes"] = codes
    data["zc"] = np.hstack([data["z"][:, :latent - 10], codes])
    data["zc_half"] = data["zc"][:half].copy()
    for key, size in (("half", half), ("", n)):
        suffix = "_" + key if key else ""
        data["ones" + suffix] = np.ones((size, 1), np.float32)
        data["zeros" + suffix] = np.zeros((size, 1), np.float32)
        data["minus" + suffix] = -np.ones((size, 1), np.float32)
    return data


def run_plan(plan, data, predict, train):
    """Run one loop body: ``predict(model, inputs)`` returns an array stored under the step's output name,
    ``train(model, inputs, targets)`` makes one update."""
    values = dict(data)
    for kind, model, inputs, out in plan:
        xs = [values[k] for k in inputs]
        if kind == "predict":
            values[out] = predict(model, xs)
        else:
            train(model, xs, [values[k] for k in out])


# ------------------------------------------------------------------------------------------------ tinygan
def make_tinygan_step(name, quick=False):
    models = build_models(name)
    data = make_data(name, batch_size(name, quick))
    plan = PLANS[name][2]

    def unpack(xs):
        return xs[0] if len(xs) == 1 else xs

    def step():
        run_plan(plan, data, lambda m, xs: models[m].predict(unpack(xs)),
                 lambda m, xs, ys: models[m].train_on_batch(unpack(xs), unpack(ys)))

    return B._quiet(step), _keras_params(models)


def _keras_params(models):
    """Every distinct weight of the models (shared layers once, BN moving statistics included)."""
    weights = {id(w): w for m in models.values() for w in m.weights}
    return sum(int(np.prod(w.shape)) for w in weights.values())


# ------------------------------------------------------------------------------------------------ FLOPs
def _gemm_layer(layer, shape, n):
    """The benchmarks.Layer of a Conv2D/Conv2DTranspose/Dense called on an input of Keras ``shape``, or None."""
    kind = {"Conv2D": "conv", "Conv2DTranspose": "convT", "Dense": "dense"}.get(type(layer).__name__)
    if kind is None:
        return None
    if kind == "dense":
        rows = n * int(np.prod(shape[1:-1], dtype=np.int64))
        return B.Layer(layer.name, "dense", rows, 1, 1, shape[-1], layer.units)
    cfg = layer.get_config()
    return B.Layer(layer.name, kind, n, shape[1], shape[2], shape[3], cfg["filters"], cfg["kernel_size"][0],
                   cfg["strides"][0])


def _graph_flops(model, needs_grad, trained, n):
    """(FLOPs, output needs-grad flags) of ``model`` on inputs flagged ``needs_grad`` (nested networks
    flattened): forward, weight gradients of layers in ``trained`` (None: forward only), input gradients where the
    input depends on a trained layer."""
    from tinygan.keras.engine.network import Network
    flags = {id(x): f for x, f in zip(model.inputs, needs_grad)}
    total = 0.0
    for node, _ in model._steps:
        layer = node.outbound_layer
        ins = [flags[id(x)] for x in node.input_tensors]
        if isinstance(layer, Network):
            flops, outs = _graph_flops(layer, ins, trained, n)
            total += flops
        else:
            own = trained is not None and id(layer) in trained
            gemm = _gemm_layer(layer, node.input_shapes[0], n)
            if gemm is not None:
                total += gemm.fwd_flops
                if trained is not None:
                    total += gemm.fwd_flops * (int(own) + int(any(ins)))
            outs = [own or any(ins)] * len(node.output_tensors)
        flags.update((id(x), f) for x, f in zip(node.output_tensors, outs))
    return total, [flags[id(x)] for x in model.outputs]


def trained_layers(model):
    """ids of the layers whose weights ``model`` (compiled) updates: its compile-time trainable set."""
    from tinygan.keras.engine.training import _all_layers
    ids = {id(w) for w in model._train_weights}
    return {id(layer) for layer in _all_layers(model) if any(id(w) in ids for w in layer._trainable_weights)}


def plan_flops(name, models, n):
    """GEMM FLOPs of one loop body of ``name`` at batch size ``n`` (see the module docstring)."""
    data = make_data(name, n)
    total = 0.0
    for kind, model, inputs, _ in PLANS[name][2]:
        m = models[model]
        rows = n // 2 if inputs[0] == "fake" else len(data[inputs[0]])
        trained = None if kind == "predict" else trained_layers(m)
        total += _graph_flops(m, [False] * len(m.inputs), trained, rows)[0]
    return total


def step_flops(name, quick=False):
    return plan_flops(name, build_models(name), batch_size(name, quick))


# ------------------------------------------------------------------------------------------------ PyTorch
def _torch_activation(name):
    torch = B.torch_or_none()
    return {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
            "softmax": lambda x: torch.softmax(x, dim=-1)}.get(name)


def _custom_activation(x):
    """SGAN's Lambda (Listing 20.4): Z / (Z + 1) with Z the sum of the exponentiated logits."""
    z = x.exp().sum(dim=-1, keepdim=True)
    return z / (z + 1.0)


def _torch_layer_fn(layer, node):
    """A torch module computing the Keras ``layer`` at ``node`` in NCHW (see the module docstring)."""
    torch = B.torch_or_none()
    nn = torch.nn
    kind = type(layer).__name__
    cfg = layer.get_config()
    shape = node.input_shapes[0]
    gemm = _gemm_layer(layer, shape, 1)
    if gemm is not None:
        act = _torch_activation(cfg.get("activation"))
        mod = B.torch_layer(gemm)
        return nn.Sequential(mod, _fn_module(act)) if act else mod
    if kind == "BatchNormalization":
        bn = nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d
        return bn(shape[-1], eps=cfg["epsilon"], momentum=1.0 - cfg["momentum"])
    if kind == "Embedding":
        return nn.Embedding(cfg["input_dim"], cfg["output_dim"])
    if kind == "Dropout":
        return nn.Dropout(cfg["rate"])
    if kind == "LeakyReLU":
        return nn.LeakyReLU(cfg["alpha"])
    if kind == "Activation":
        return _fn_module(_torch_activation(cfg["activation"]) or (lambda x: x))
    if kind == "Flatten":
        return nn.Flatten()
    if kind == "Reshape":
        target = tuple(cfg["target_shape"])
        chw = (target[2], target[0], target[1]) if len(target) == 3 else target
        return _fn_module(lambda x: x.reshape(x.shape[0], *chw))
    if kind == "Concatenate":
        return _fn_module(lambda *xs: torch.cat(xs, dim=1 if xs[0].dim() == 4 else -1))
    if kind == "Lambda" and layer.function.__name__ == "custom_activation":
        return _fn_module(_custom_activation)
    raise NotImplementedError(f"no PyTorch counterpart for the {kind} layer {layer.name}")


def _fn_module(fn):
    """A parameterless torch module around ``fn``."""
    nn = B.torch_or_none().nn

    class Fn(nn.Module):
        def forward(self, *xs):
            return fn(*xs)
    return Fn()


class TorchGraph:
    """The torch counterpart of Keras models: one torch module per Keras layer (shared where the layer is), and
    a forward pass per model that walks its graph as ``Network._run_graph`` does."""

    def __init__(self):
        self.modules = {}        # id(keras layer) -> torch module

    def build(self, model):
        """Create the modules of every layer of ``model`` (nested networks included)."""
        from tinygan.keras.engine.network import Network
        for node, _ in model._steps:
            layer = node.outbound_layer
            if isinstance(layer, Network):
                self.build(layer)
            elif id(layer) not in self.modules:
                self.modules[id(layer)] = _torch_layer_fn(layer, node)

    def forward(self, model, xs):
        from tinygan.keras.engine.network import Network
        values = {id(x): t for x, t in zip(model.inputs, xs)}
        for node, _ in model._steps:
            layer = node.outbound_layer
            ins = [values[id(x)] for x in node.input_tensors]
            outs = self.forward(layer, ins) if isinstance(layer, Network) else [self.modules[id(layer)](*ins)]
            values.update((id(x), t) for x, t in zip(node.output_tensors, outs))
        return [values[id(x)] for x in model.outputs]

    def parameters(self, layer_ids=None):
        return [p for key, m in self.modules.items() if layer_ids is None or key in layer_ids
                for p in m.parameters()]


def _torch_loss(loss):
    """The torch form of a Keras loss (name or the WGAN's ``wasserstein_loss``) on (prediction, target)."""
    torch = B.torch_or_none()
    F = torch.nn.functional
    name = getattr(loss, "__name__", loss)

    def log(p):
        return torch.log(p.clamp(1e-7, 1.0))
    return {"mse": F.mse_loss,
            "binary_crossentropy": lambda p, t: F.binary_cross_entropy(p.clamp(1e-7, 1 - 1e-7), t),
            "sparse_categorical_crossentropy": lambda p, t: F.nll_loss(log(p), t.reshape(-1)),
            "categorical_crossentropy": lambda p, t: -(t * log(p)).sum(dim=1).mean(),
            "wasserstein_loss": lambda p, t: (t * p).mean()}[name]


def _torch_optimizer(opt, params):
    torch = B.torch_or_none()
    cfg = opt.get_config()
    if type(opt).__name__ == "RMSprop":
        return torch.optim.RMSprop(params, lr=cfg["lr"], alpha=cfg["rho"], eps=cfg["epsilon"])
    return torch.optim.Adam(params, lr=cfg["lr"], betas=(cfg["beta_1"], cfg["beta_2"]), eps=cfg["epsilon"])


class TorchModel:
    """One compiled Keras model's training in torch: its trained layers, optimizer, losses and clipped kernels."""

    def __init__(self, graph, model):
        from tinygan.keras.engine.training import _all_layers
        self.graph, self.model = graph, model
        graph.build(model)
        if model.optimizer is None:          # a generator: predict only
            return
        trained = trained_layers(model)
        self.params = graph.parameters(trained)
        self.optimizer = _torch_optimizer(model.optimizer, self.params)
        losses = model.loss if isinstance(model.loss, (list, tuple)) else [model.loss]
        self.losses = [_torch_loss(loss) for loss in losses]
        self.clips = [(graph.modules[id(layer)], layer.kernel_constraint.clip_value) for layer in _all_layers(model)
                      if id(layer) in trained and hasattr(getattr(layer, "kernel_constraint", None), "clip_value")]

    def train(self, xs, ys):
        """One update (``train_on_batch``); returns the summed loss."""
        torch = B.torch_or_none()
        for p in self.graph.parameters():
            p.requires_grad_(False)
        for p in self.params:
            p.requires_grad_(True)
        self.optimizer.zero_grad()
        outs = self.graph.forward(self.model, xs)
        loss = sum(fn(p, t) for fn, p, t in zip(self.losses, outs, ys))
        loss.backward()
        self.optimizer.step()
        with torch.no_grad():
            for module, clip in self.clips:
                for p in module.parameters():
                    if p.dim() > 1:
                        p.clamp_(-clip, clip)
        return loss.detach()

    def predict(self, xs):
        torch = B.torch_or_none()
        with torch.no_grad():
            return self.graph.forward(self.model, xs)[0]


def _to_torch(a):
    """A plan array as torch sees it: images NCHW, int labels (n, 1) int64, the rest float32."""
    torch = B.torch_or_none()
    a = np.asarray(a)
    if a.dtype.kind in "iu":
        return torch.from_numpy(a.reshape(-1, 1).astype(np.int64))
    t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    return t.permute(0, 3, 1, 2).contiguous() if t.dim() == 4 else t


def make_torch_step(name, quick=False):
    torch = B.torch_or_none()
    torch.manual_seed(0)
    graph = TorchGraph()
    models = {key: TorchModel(graph, m) for key, m in build_models(name).items()}
    data = {k: _to_torch(v) for k, v in make_data(name, batch_size(name, quick)).items()}
    plan = PLANS[name][2]

    def step():
        run_plan(plan, data, lambda m, xs: models[m].predict(xs), lambda m, xs, ys: models[m].train(xs, ys))

    return step, B._torch_params(*graph.modules.values())


def model_api(name):
    """(step_flops, label, make_tinygan_step, make_torch_step) of one model, as ``benchmarks.OWN_MODULE`` wants."""
    return (lambda quick=False: step_flops(name, quick), lambda quick=False: label(name, quick),
            lambda quick=False: make_tinygan_step(name, quick), lambda quick=False: make_torch_step(name, quick))
