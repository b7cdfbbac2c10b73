"""A long run does not leak: the resident memory of a 10,000-step gan1d run (the book's full chapter 6 run, with its
summaries, checkpoints and run page) stays within 5% between step 2,000 and step 10,000."""
import json
import subprocess
import sys

import pytest

from robust_helpers import ROOT, child_env

CHILD = r"""
import json, sys
from tinygan import random as tg_random
from tinygan.gans import gan1d

def rss_kib():
    with open("/proc/self/status") as f:
        return int(next(line for line in f if line.startswith("VmRSS")).split()[1])

samples = {}
def log(msg):
    if msg.startswith(">") or msg[:1].isdigit():   # the book's evaluation line, every n_eval steps
        samples[len(samples) + 1] = rss_kib()
tg_random.seed(1)
d, g = gan1d.define_discriminator(), gan1d.define_generator(5)
gan = gan1d.define_gan(g, d)
gan1d.train(g, d, gan, 5, n_epochs=10000, n_eval=1000, out_dir=sys.argv[1], checkpoint_every=1000, log=log)
print(json.dumps(samples))
"""


@pytest.mark.slow
def test_rss_is_flat_over_10000_steps(tmp_path):
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], cwd=ROOT,
                          env=dict(child_env(), MPLBACKEND="Agg"),
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rss = {int(k): v for k, v in json.loads(proc.stdout.strip().splitlines()[-1]).items()}
    assert len(rss) == 10, rss  # one sample per 1,000 steps
    early, late = rss[2], rss[10]
    assert late <= 1.05 * early, f"RSS grew from {early} KiB at step 2,000 to {late} KiB at step 10,000: {rss}"
