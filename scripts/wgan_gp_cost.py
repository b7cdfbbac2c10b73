"""What a WGAN-GP training step costs against the book's weight-clipped WGAN step, measured in one process.

Both steps are chapter 16's (n_critic = 5 critic rounds of 32 real + 32 fake digits, then one generator update on
64 points); the GP critic has no BatchNorm (see tinygan/gans/wgan.py) and each of its rounds adds the penalty's
double backward. The two kinds alternate so machine load affects both alike; the ratio of medians is printed.

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python scripts/wgan_gp_cost.py [--steps 8]
"""
import argparse
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=8, help="timed steps of each kind (after one warm-up)")
    args = ap.parse_args()
    from tinygan import random as tg_random
    from tinygan.gans import wgan
    from tinygan.gans.conditional import generate_real_samples, latent_points, load_labelled
    tg_random.seed(1)
    X, y = load_labelled("mnist5k")
    X = X[y == 7]
    runs = {}
    for kind, gp in (("clip", None), ("gp", 10.0)):
        c = wgan.define_critic(gp=bool(gp))
        g = wgan.define_generator(50)
        gan = wgan.define_gan(g, c, wgan.gp_optimizer() if gp else None)
        runs[kind] = (g, c, gan, gp)
    times = {k: [] for k in runs}
    for i in range(args.steps + 1):
        for kind, (g, c, gan, gp) in runs.items():
            t = time.perf_counter()
            for _ in range(5):
                X_real, y_real = generate_real_samples(X, 32, label=-1.0)
                X_fake, y_fake = wgan.generate_fake_samples(g, 50, 32)
                if gp:
                    wgan.train_critic_gp(c, X_real, X_fake, gp)
                else:
                    c.train_on_batch(X_real, y_real)
                    c.train_on_batch(X_fake, y_fake)
            gan.train_on_batch(latent_points(50, 64), -np.ones((64, 1)))
            if i:
                times[kind].append(time.perf_counter() - t)
    clip, gp = np.median(times["clip"]), np.median(times["gp"])
    print("median step: clip %.3f s, gp %.3f s; gp / clip = %.2f (%d steps each)" % (clip, gp, gp / clip, args.steps))


if __name__ == "__main__":
    main()
