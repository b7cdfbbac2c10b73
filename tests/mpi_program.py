"""Programs that tests/test_distributed.py runs under ``mpiexec -n N`` (and alone, as the 1-process reference).

``python tests/mpi_program.py SCENARIO OUT [options]``; rank 0 writes its results to the npz OUT.

* ``steps``: ``--steps k`` train_on_batch steps of a small MLP (``--bn sync|local``: with a BatchNormalization)
  on a fixed global batch of 8 per step, each rank taking its contiguous 8/N share (``--bucket-bytes``: gradient
  buckets this small, so that several start during the backward).
* ``resume``: a loop that draws its batches at random from the rank's shard of a dataset (the book's way),
  ``--steps k``, checkpoint ``--ckpt`` at the end, ``--resume`` to start from it.
* ``lost``: train forever; rank 1 kills itself (``--how kill``) or stops (``--how stop``) at step 3, when the
  collective deadline drops to ``--deadline`` seconds.
"""
import argparse
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from tinygan import distributed, random as tg_random  # noqa: E402
from tinygan.distributed import buckets  # noqa: E402
from tinygan.keras.layers import BatchNormalization, Dense, Input, LeakyReLU  # noqa: E402
from tinygan.keras.models import Model  # noqa: E402
from tinygan.keras.optimizers import Adam  # noqa: E402


def mlp(bn):
    """Dense-LeakyReLU-Dense-sigmoid; ``bn``: 'sync' or 'local' puts a BatchNormalization after the first Dense."""
    x = Input(shape=(6,))
    h = Dense(16, use_bias=not bn)(x)  # a bias before BatchNorm has a zero gradient: Adam would amplify its noise
    if bn:
        h = BatchNormalization(synchronized=bn == "sync")(h)
    h = LeakyReLU(0.2)(h)
    out = Dense(1, activation="sigmoid")(h)
    model = Model(x, out)
    model.compile(optimizer=Adam(lr=0.01, beta_1=0.5), loss="binary_crossentropy")
    return model


def global_batches(steps, batch=8):
    data = np.random.RandomState(42)
    x = data.normal(size=(steps, batch, 6)).astype("float32")
    y = (data.uniform(size=(steps, batch, 1)) > 0.5).astype("float32")
    return x, y


def steps(args):
    tg_random.seed(3)  # rank 1 draws other initial weights: compile must give it rank 0's
    if args.bucket_bytes:
        buckets.BUCKET_BYTES = args.bucket_bytes
    early = _count_early_buckets()
    model = mlp(args.bn)
    at_compile = _spread(model.get_weights())
    x, y = global_batches(args.steps)
    n, r = distributed.size(), distributed.rank()
    share = x.shape[1] // n
    losses = [model.train_on_batch(x[k, r * share:(r + 1) * share], y[k, r * share:(r + 1) * share])
              for k in range(args.steps)]
    return {"losses": np.asarray(losses), "spread_at_compile": at_compile, "early_buckets": sum(early),
            **{f"w{i}": w for i, w in enumerate(model.get_weights())}}


def _count_early_buckets():
    """A list that gets, at each step, how many gradient buckets the backward started (0 without overlap)."""
    counts, result = [], buckets.BucketedMean.result

    def counting(self, arrays):
        counts.append(sum(self.started))
        return result(self, arrays)
    buckets.BucketedMean.result = counting
    return counts


def resume(args):
    from tinygan.training import load_checkpoint, save_checkpoint
    tg_random.seed(5)
    model = mlp(None)
    data_x, data_y = global_batches(1, batch=64)
    mine_x, mine_y = distributed.shard([data_x[0], data_y[0]])
    start = load_checkpoint(args.ckpt, {"m": model})[0] if args.resume else 0
    loaded = [w.copy() for w in model.get_weights()]
    losses = []
    for _ in range(start, start + args.steps):
        ix = np.random.randint(0, len(mine_x), 4)
        losses.append(model.train_on_batch(mine_x[ix], mine_y[ix]))
    save_checkpoint(args.ckpt, {"m": model}, start + args.steps)
    weights = model.get_weights()
    return {"losses": np.asarray(losses), "start": start, "size": distributed.size(), "spread": _spread(weights),
            **{f"w{i}": w for i, w in enumerate(weights)}, **{f"loaded{i}": w for i, w in enumerate(loaded)}}


def _spread(arrays):
    """The largest difference between any rank's ``arrays`` and rank 0's (0: every rank holds the same)."""
    rank0 = [a.copy() for a in arrays]
    distributed.group().broadcast(rank0)
    mine = np.array([max(float(np.abs(a - a0).max()) for a, a0 in zip(arrays, rank0))])
    return float(distributed.group().allreduce_max(mine)[0])


def lost(args):
    """Three steps together under the launch's generous deadline (start-up on a loaded machine can take seconds),
    then every rank lowers its collective deadline to ``--deadline`` and rank 1 goes away before the 4th step."""
    tg_random.seed(1)
    model = mlp(None)
    x, y = global_batches(1)
    for k in range(10 ** 6):
        if k == 3:
            distributed.group().timeout = args.deadline
            if distributed.rank() == 1:
                os.kill(os.getpid(), signal.SIGKILL if args.how == "kill" else signal.SIGSTOP)
        model.train_on_batch(x[0], y[0])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("scenario", choices=["steps", "resume", "lost"])
    p.add_argument("out")
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--bn", choices=["sync", "local"])
    p.add_argument("--bucket-bytes", type=int, help="gradient bucket size (small: several buckets)")
    p.add_argument("--ckpt")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--how", choices=["kill", "stop"], default="kill")
    p.add_argument("--deadline", type=float, default=3.0, help="collective deadline from the 4th step on")
    args = p.parse_args()
    result = {"steps": steps, "resume": resume, "lost": lost}[args.scenario](args)
    if distributed.is_root():
        np.savez(args.out, **result)


if __name__ == "__main__":
    main()
