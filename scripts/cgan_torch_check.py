"""Does the book's cGAN (chapter 17) collapse on the embedded digits in PyTorch too? A check that the collapse seen
with tinygan is the model's and not tinygan's.

The PyTorch models are translated from tinygan's own Keras graphs (tinygan.bench_gans.TorchGraph: same layers,
trained/frozen sets, optimizers and losses), initialised as Keras does by default (glorot-uniform kernels, zero
biases, Embedding U(-0.05, 0.05)), and trained with chapter 17's loop body on the 4,000 training digits of the
embedded MNIST sample. Every ``--every`` steps it prints the losses and what the generator draws: the mean pixel
(-1 is blank paper), the spread across the batch, and the share of saturated pixels (|x| > 0.99).

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python scripts/cgan_torch_check.py [--batch 128] [--steps 61] [--seed 1]
"""
import argparse
import time

import numpy as np


def keras_default_init(graph):
    import torch
    for module in graph.modules.values():
        for sub in module.modules():
            if isinstance(sub, torch.nn.Embedding):
                torch.nn.init.uniform_(sub.weight, -0.05, 0.05)
            elif isinstance(sub, (torch.nn.Linear, torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                torch.nn.init.xavier_uniform_(sub.weight)
                torch.nn.init.zeros_(sub.bias)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=128, help="batch size (the book's 128)")
    ap.add_argument("--steps", type=int, default=61)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--every", type=int, default=20)
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    from tinygan import bench_gans as G
    from tinygan.gans.conditional import load_labelled
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    graph = G.TorchGraph()
    keras_models = G.build_models("cgan")
    for m in keras_models.values():
        graph.build(m)
    keras_default_init(graph)
    models = {k: G.TorchModel(graph, m) for k, m in keras_models.items()}
    X, y = load_labelled()
    n, half = args.batch, args.batch // 2
    t0 = time.time()
    for k in range(args.steps):
        ix = rng.integers(0, len(X), half)
        data = {"real": X[ix], "real_labels": y[ix], "labels_half": rng.integers(0, 10, half),
                "labels": rng.integers(0, 10, n), "z_half": rng.standard_normal((half, 100)).astype(np.float32),
                "z": rng.standard_normal((n, 100)).astype(np.float32), "ones_half": np.ones((half, 1), np.float32),
                "zeros_half": np.zeros((half, 1), np.float32), "ones": np.ones((n, 1), np.float32)}
        data = {key: G._to_torch(v) for key, v in data.items()}
        losses = []

        def train(m, xs, ys):
            losses.append(models[m].train(xs, ys))
        G.run_plan(G.PLANS["cgan"][2], data, lambda m, xs: models[m].predict(xs), train)
        if k % args.every == 0 or k == args.steps - 1:
            img = models["g"].predict([data["z"], data["labels"]])
            print(f">{k + 1}, d1={float(losses[0]):.3f}, d2={float(losses[1]):.3f} g={float(losses[2]):.3f}; samples: mean pixel "
                  f"{float(img.mean()):.3f}, spread over the batch {float(img.std(0).mean()):.4f}, saturated "
                  f"{float((img.abs() > 0.99).float().mean()):.2f}  ({time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
