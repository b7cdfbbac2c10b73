"""CycleGAN (chapters 25-26): the book's parameter counts, the image pool, the training loop's outputs, exact
resume, the command line and its bad-input lines."""
import json
import os
import random as py_random
import re

import numpy as np
import pytest
from PIL import Image

from tinygan import random as tg_random
from tinygan.gans import cyclegan as cg
from tinygan.training import checkpoint_extra, read_csv

pytestmark = pytest.mark.filterwarnings("ignore:Discrepancy between trainable weights")

SIZE = 16
SHAPE = (SIZE, SIZE, 3)
SMALL = dict(n_resnet=1, ngf=4, ndf=4)


# ---- the book's models ------------------------------------------------------------------------------------------
def test_discriminator_matches_the_books_summary():
    d = cg.define_discriminator((256, 256, 3))
    per_layer = [layer.count_params() for layer in d.layers if layer.count_params()]
    assert per_layer == [3136, 131200, 256, 524544, 512, 2097664, 1024, 4194816, 1024, 8193]
    assert d.count_params() == 6962369 and d.output_shape == (None, 16, 16, 1)
    assert cg.define_discriminator((128, 128, 3)).output_shape == (None, 8, 8, 1)


def test_generator_and_composite_parameter_counts():
    tg_random.seed(0)
    g = cg.define_generator((256, 256, 3))
    assert g.count_params() == 35276553
    # the concatenating blocks: 256 more channels per block, 2560 into u128
    u128 = next(layer for layer in g.layers if type(layer).__name__ == "Conv2DTranspose")
    assert u128.input_shape[-1] == 2560 and g.output_shape == (None, 256, 256, 3)
    assert cg.define_generator((128, 128, 3), n_resnet=6).count_params() == 18461961
    g2 = cg.define_generator((256, 256, 3))
    d = cg.define_discriminator((256, 256, 3))
    c = cg.define_composite_model(g, d, g2, (256, 256, 3))
    trainable = sum(int(np.prod(w.shape)) for w in c.trainable_weights)
    assert c.count_params() == 77515475 and trainable == 35276553
    assert [tuple(s) for s in c.output_shape] == [(None, 16, 16, 1)] + [(None, 256, 256, 3)] * 3


def test_composite_trains_only_its_first_generator():
    tg_random.seed(0)
    m = cg.define_models(SHAPE, **SMALL)
    before = {k: [w.copy() for w in m[k].get_weights()] for k in ("g_model_AtoB", "g_model_BtoA", "d_model_B")}
    rng = np.random.default_rng(0)
    a, b = rng.uniform(-1, 1, (2, 1, *SHAPE)).astype(np.float32)
    y = np.ones((1, *m["d_model_B"].output_shape[1:]), np.float32)
    losses = m["c_model_AtoB"].train_on_batch([a, b], [y, b, a, b])
    assert len(losses) == 5 and losses[0] == pytest.approx(losses[1] + 5 * losses[2] + 10 * losses[3]
                                                           + 10 * losses[4], rel=1e-5)
    changed = {k: any(not np.array_equal(x, y) for x, y in zip(before[k], m[k].get_weights())) for k in before}
    assert changed == {"g_model_AtoB": True, "g_model_BtoA": False, "d_model_B": False}


def test_instance_norm_relu_pairs_fuse_with_unchanged_numbers():
    """InstanceNormalization -> Activation('relu') runs as one op (no pre-activation kept); same losses and weights
    after a composite update as with the pairs run apart."""
    rng = np.random.default_rng(0)
    a, b = rng.uniform(-1, 1, (2, 1, *SHAPE)).astype(np.float32)
    results = []
    for fuse in (True, False):
        m = build(0)
        g = m["g_model_AtoB"]
        assert sum(alpha == 0.0 for _, alpha in g._fusions.values()) == 6  # c7s1, d128, d256, R1 conv1, u128, u64
        if not fuse:
            m["g_model_AtoB"]._fusions, m["g_model_BtoA"]._fusions = {}, {}
        y = np.ones((1, *m["d_model_B"].output_shape[1:]), np.float32)
        losses = m["c_model_AtoB"].train_on_batch([a, b], [y, b, a, b])
        results.append((losses, g.get_weights(), g.predict(a)))
    assert results[0][0] == results[1][0]
    for x, y in zip(results[0][1] + [results[0][2]], results[1][1] + [results[1][2]]):
        np.testing.assert_array_equal(x, y)


def test_update_image_pool_follows_image_pool_lua():
    np.random.seed(3)
    py_random.seed(3)
    pool = []
    imgs = [np.full((2, 2, 1), i, np.float32) for i in range(12)]
    out = cg.update_image_pool(pool, imgs[:3], max_size=3)
    assert [int(x[0, 0, 0]) for x in out] == [0, 1, 2] and [int(p[0, 0, 0]) for p in pool] == [0, 1, 2]
    # then per image: Python's random() < 0.5 uses it as it is, else numpy's randint(0, 3) picks a pooled image
    # to use instead, and the new one takes its place; replay both streams by hand
    py_state, np_state = py_random.getstate(), np.random.get_state()
    expected, ref_pool, swaps = [], [0, 1, 2], 0
    for i in range(3, 12):
        if py_random.random() < 0.5:
            expected.append(i)
        else:
            ix = np.random.randint(0, 3)
            expected.append(ref_pool[ix])
            ref_pool[ix] = i
            swaps += 1
    py_random.setstate(py_state)
    np.random.set_state(np_state)
    out = cg.update_image_pool(pool, imgs[3:], max_size=3)
    assert [int(x[0, 0, 0]) for x in out] == expected and [int(p[0, 0, 0]) for p in pool] == ref_pool
    assert 0 < swaps < 9 and out.shape == (9, 2, 2, 1)


def test_learning_rate_decays_linearly_over_the_second_half():
    assert cg.learning_rate(10, 100, 0.0002, None) == 0.0002
    assert cg.learning_rate(49, 100, 0.0002, 50) == 0.0002
    assert cg.learning_rate(75, 100, 0.0002, 50) == pytest.approx(0.0001)
    assert cg.learning_rate(100, 100, 0.0002, 50) == 0.0


# ---- training ---------------------------------------------------------------------------------------------------
def toy_domains(n_a=6, n_b=9, seed=0):
    """Unequal domain sizes, as the book's horses (1,187) and zebras (1,474)."""
    rng = np.random.default_rng(seed)
    a = np.clip(rng.normal(0, 0.5, (n_a, SIZE // 8, SIZE // 8, 3)).repeat(8, 1).repeat(8, 2), -1, 1)
    b = np.clip(rng.normal(0.3, 0.3, (n_b, SIZE // 8, SIZE // 8, 3)).repeat(8, 1).repeat(8, 2), -1, 1)
    return [a.astype(np.float32), b.astype(np.float32)]


def build(seed=0, **kw):
    tg_random.seed(seed)
    py_random.seed(seed)
    return cg.define_models(SHAPE, **{**SMALL, **kw})


def run(models, dataset, out_dir, **kw):
    opts = dict(n_epochs=2, n_batch=1, summary_every=1, save_every=1, out_dir=str(out_dir), progress=False,
                log=None, pool_size=3)
    opts.update(kw)
    return cg.train(models["d_model_A"], models["d_model_B"], models["g_model_AtoB"], models["g_model_BtoA"],
                    models["c_model_AtoB"], models["c_model_BtoA"], dataset, **opts)


def test_train_writes_the_books_outputs(tmp_path, capsys):
    data = toy_domains()
    result = run(build(), data, tmp_path, val_dataset=toy_domains(3, 4, 1), log=print, log_every=1)
    out = capsys.readouterr().out
    lines = [s for s in out.splitlines() if s.startswith(">") and "dA[" in s]
    assert len(lines) == 12 and lines[0].startswith(">1, dA[") and lines[-1].startswith(">12, ")
    num = r"\d+\.\d{3}"
    assert all(re.fullmatch(rf">\d+, dA\[{num},{num}\] dB\[{num},{num}\] g\[{num},{num}\]", s) for s in lines)
    saved = ">Saved: %s and %s" % (tmp_path / "g_model_AtoB_000006.h5", tmp_path / "g_model_BtoA_000006.h5")
    assert saved in out and ">val_cycle[A " in out
    for name in ["AtoB_generated_plot_000006.png", "BtoA_generated_plot_000012.png", "AtoB_cycle_plot_000006.png",
                 "BtoA_cycle_plot_000012.png", "g_model_AtoB_000012.h5", "g_model_BtoA_000012.h5", "losses.csv",
                 "losses.png", "checkpoint.npz"]:
        assert (tmp_path / name).exists(), name
    rows = read_csv(tmp_path / "losses.csv")
    assert [r["step"] for r in rows] == list(range(1, 13))
    r = rows[0]
    # total = adversarial + 5 x identity + 10 x each cycle term, the book's weights; D losses carry the 0.5
    assert r["g_AtoB"] == pytest.approx(r["g_AtoB_adv"] + 5 * r["g_AtoB_id"] + 10 * (r["g_AtoB_fwd"]
                                                                                    + r["g_AtoB_bwd"]), rel=1e-4)
    assert rows[5]["val_cycle_A"] is not None and rows[0]["val_cycle_A"] is None
    assert result["step"] == 12 and checkpoint_extra(tmp_path / "checkpoint.npz")[0] == 12
    assert cg.LOG_FORMAT % (1, 2.284, 0.678, 1.422, 0.918, 18.747, 18.452) == \
        ">1, dA[2.284,0.678] dB[1.422,0.918] g[18.747,18.452]"


class StopAt:
    """Stands in for Ctrl-C: GracefulInterrupt sets .requested from the signal handler."""

    def __init__(self, step):
        self.step, self.requested = step, False

    def __call__(self, step, row):
        if step == self.step:
            self.requested = True


def _losses(rows):
    return [tuple(r[k] for k in cg.LOSS_FIELDS) for r in rows]


def test_interrupt_and_resume_reproduce_the_uninterrupted_loss_log(tmp_path):
    data = toy_domains(4, 7)
    kw = dict(n_epochs=2, summary_every=1, decay_from=5)  # pools of 3 fill up and swap; lr decay from step 5
    straight = build(0)
    res = run(straight, data, tmp_path / "a", **kw)
    stop = StopAt(6)  # mid-epoch, after the pools are full
    first = build(0)
    res1 = run(first, data, tmp_path / "b", stop=stop, callback=stop, **kw)
    assert res1["interrupted"] and res1["step"] == 6
    second = build(99)  # other weights, other random streams: everything must come from the checkpoint
    res2 = run(second, data, tmp_path / "b", resume_from=str(tmp_path / "b" / "checkpoint.npz"), **kw)
    assert [r["step"] for r in res2["history"]] == list(range(7, 9))
    assert _losses(res1["history"] + res2["history"]) == _losses(res["history"])
    assert _losses(read_csv(tmp_path / "b" / "losses.csv")) == _losses(read_csv(tmp_path / "a" / "losses.csv"))
    for name in ("g_model_AtoB", "g_model_BtoA", "d_model_A", "d_model_B"):
        for x, y in zip(straight[name].get_weights(), second[name].get_weights()):
            np.testing.assert_array_equal(x, y)


def test_resume_refuses_a_checkpoint_of_another_image_size(tmp_path):
    run(build(0), toy_domains(3, 3), tmp_path, n_epochs=1)
    big = cg.define_models((32, 32, 3), **SMALL)
    rng = np.random.default_rng(0)
    data32 = [rng.uniform(-1, 1, (3, 32, 32, 3)).astype(np.float32)] * 2
    with pytest.raises(ValueError, match=r"trained on 16x16x3 images but the data is 32x32x3"):
        run(big, data32, tmp_path, n_epochs=2, resume_from=str(tmp_path / "checkpoint.npz"))


def test_training_reduces_the_cycle_error(tmp_path):
    data = toy_domains(8, 8)
    m = build(0, ngf=8)
    before = cg.evaluate_cycles(m, data)["cycle"]
    run(m, data, tmp_path, n_epochs=12, summary_every=0, save_models_files=False)
    assert cg.evaluate_cycles(m, data)["cycle"] < 0.7 * before


# ---- command line -----------------------------------------------------------------------------------------------
def _write_domains(root, n_a=3, n_b=5):
    rng = np.random.default_rng(0)
    for folder, n in (("trainA", n_a), ("trainB", n_b), ("testA", 2), ("testB", 2)):
        (root / folder).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(root / folder / f"{i}.png")
    # a grayscale image, one of another size and a file that is not an image
    Image.fromarray(rng.integers(0, 255, (40, 40), dtype=np.uint8)).save(root / "trainA" / "gray.png")
    Image.fromarray(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)).save(root / "trainB" / "small.jpg")
    (root / "trainB" / "notes.txt").write_text("not an image")


def test_cli_prepare_reports_each_oddity_in_one_line(tmp_path, capsys):
    from tinygan.cli import main
    _write_domains(tmp_path / "h2z")
    out = tmp_path / "h2z_32.npz"
    assert main(["cyclegan", "prepare", str(tmp_path / "h2z"), "-o", str(out), "--size", "32"]) == 0
    text = capsys.readouterr().out
    assert "converted 1 image(s) to RGB (modes: L x1" in text
    assert "trainB: images of 2 different sizes (40x40 x5, 30x20 x1), all resized to 32x32" in text
    assert re.search(r"Skipped .*notes\.txt: not a readable image", text)
    with np.load(out) as d:
        # the book stacks test below train; the domains keep their own sizes
        assert d["arr_0"].shape == (3 + 1 + 2, 32, 32, 3) and d["arr_1"].shape == (5 + 1 + 2, 32, 32, 3)
        assert d["arr_0"].dtype == np.uint8
    # an empty trainA/: one clear line, exit code 2
    empty = tmp_path / "empty"
    (empty / "trainA").mkdir(parents=True)
    (empty / "trainB").mkdir()
    assert main(["cyclegan", "prepare", str(empty), "-o", str(tmp_path / "e.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "trainA holds no usable image" in err[0]
    assert main(["cyclegan", "prepare", str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_cli_train_resume_and_translate_both_ways(tmp_path, capsys):
    from tinygan.cli import main
    _write_domains(tmp_path / "h2z")
    assert main(["cyclegan", "prepare", str(tmp_path / "h2z"), "-o", str(tmp_path / "d.npz"), "--size", "16",
                 "--test-output", str(tmp_path / "t.npz")]) == 0
    out = tmp_path / "run"
    argv = ["cyclegan", "train", "--data", str(tmp_path / "d.npz"), "--val-data", str(tmp_path / "t.npz"), "--out",
            str(out), "--ngf", "4", "--ndf", "4", "--n-resnet", "1", "--epochs", "2", "--no-progress",
            "--log-every", "2", "--max-steps", "5", "--decay", "--identity-weight", "0"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert ">2, dA[" in text and "Held-out cycle L1 before training" in text
    metrics = json.load(open(out / "metrics.json"))
    assert metrics["step"] == 5 and metrics["val_cycle_trained"]["cycle_A"] > 0
    assert metrics["settings"]["identity_weight"] == 0 and metrics["settings"]["decay"]
    assert main(argv) == 2 and "already holds a run" in capsys.readouterr().err
    assert main(["cyclegan", "train", "--out", str(out), "--resume", "--max-steps", "8", "--no-progress"]) == 0
    assert "at step 5" in capsys.readouterr().out
    assert [r["step"] for r in read_csv(out / "losses.csv")] == list(range(1, 9))
    assert (out / "g_model_AtoB_000008.h5").exists() and (out / "g_model_BtoA_000008.h5").exists()
    # the book's inference programs (Listing 26.28) load them with a custom-object registry
    from tinygan.keras.layers import InstanceNormalization
    from tinygan.keras.models import load_model
    cust = {'InstanceNormalization': InstanceNormalization}
    model_AtoB = load_model(str(out / "g_model_AtoB_000008.h5"), cust)
    assert model_AtoB.count_params() == cg.define_generator((16, 16, 3), 1, 4).count_params()
    # translate: a run folder both ways (with the reverse generator: reconstruction and figure), an h5, an npz
    res = tmp_path / "res"
    img = tmp_path / "h2z" / "testA" / "0.png"
    assert main(["cyclegan", "translate", str(out), str(img), "-o", str(res)]) == 0
    assert (res / "0_generated.png").exists() and (res / "0_figure.png").exists()
    assert "cycle L1" in capsys.readouterr().out
    assert main(["cyclegan", "translate", str(out / "checkpoint.npz"), str(tmp_path / "h2z" / "testB"),
                 "--direction", "BtoA", "-o", str(res)]) == 0
    assert "B -> A translation(s)" in capsys.readouterr().out
    assert main(["cyclegan", "translate", str(out / "g_model_BtoA_000008.h5"), str(tmp_path / "t.npz"),
                 "--direction", "BtoA", "-n", "2", "-o", str(res)]) == 0
    assert (res / "t_BtoA_00001_figure.png").exists()
    assert np.asarray(Image.open(res / "t_BtoA_00001_generated.png")).shape == (16, 16, 3)


def test_cli_bad_data_gives_one_line(tmp_path, capsys):
    from tinygan.cli import main
    np.savez(tmp_path / "mixed.npz", np.zeros((2, 32, 32, 3), np.uint8), np.zeros((2, 64, 64, 3), np.uint8))
    np.savez(tmp_path / "empty.npz", np.zeros((0, 32, 32, 3), np.uint8), np.zeros((2, 32, 32, 3), np.uint8))
    np.savez(tmp_path / "gray.npz", np.zeros((2, 16, 16), np.uint8), np.zeros((3, 16, 16, 1), np.uint8))
    base = ["--ngf", "4", "--ndf", "4", "--n-resnet", "1", "--no-progress", "--max-steps", "1"]
    for name, message in (("mixed.npz", "domain A images are 32x32 but domain B images are 64x64"),
                          ("empty.npz", "arr_0 (domain A) is empty")):
        assert main(["cyclegan", "train", "--data", str(tmp_path / name), "--out", str(tmp_path / name[:-4])]
                    + base) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
    # grayscale arrays are fine: three equal channels
    assert main(["cyclegan", "train", "--data", str(tmp_path / "gray.npz"), "--out", str(tmp_path / "g")]
                + base) == 0
    capsys.readouterr()
    # resuming a run with data of another image size (a checkpoint from another image size): one line
    extra = checkpoint_extra(tmp_path / "g" / "checkpoint.npz")[1]
    assert extra["settings"]["image_shape"] == [16, 16, 3] and len(extra["pools"]) == 2
    np.savez(tmp_path / "gray.npz", np.zeros((2, 48, 48), np.uint8), np.zeros((3, 48, 48, 1), np.uint8))
    assert main(["cyclegan", "train", "--out", str(tmp_path / "g"), "--resume", "--max-steps", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "trained on 16x16x3 images but the data is 48x48x3" in err[0], err


def test_demo_data_is_unpaired_and_small():
    from tinygan.gans.cyclegan_data import default_dataset_path, load_unpaired
    from tinygan.gans.pix2pix_data import default_dataset_path as pairs_path
    A, B = load_unpaired(default_dataset_path("train"))
    assert A.shape == B.shape == (120, 64, 64, 3)
    with np.load(pairs_path("train")) as d:
        photos, drawings = d["arr_0"], d["arr_1"]
    # the photos of domain A never come with their own drawings in domain B
    a_ids = {p.tobytes() for p in photos[:120]}
    b_ids = {q.tobytes() for q in drawings[120:]}
    assert all(p.tobytes() in a_ids for p in np.round((A + 1) * 127.5).astype(np.uint8))
    assert all(q.tobytes() in b_ids for q in np.round((B + 1) * 127.5).astype(np.uint8))
    assert os.path.getsize(default_dataset_path("train")) + os.path.getsize(default_dataset_path("val")) < 3e6


def test_bench_layers_are_the_books_models():
    """The bench's FLOP count and PyTorch reference are built from these layers: the same parameters as the
    Keras models (InstanceNormalization counted as the 'bn' pair)."""
    from tinygan import bench_cyclegan
    d, g = bench_cyclegan.layers(256)
    assert sum(layer.n_params for layer in d) == 6962369 and sum(layer.n_params for layer in g) == 35276553
    assert bench_cyclegan.step_flops() == 16 * bench_cyclegan.step_flops(quick=True)


def test_demo_trains_on_one_thread_unless_told_otherwise(monkeypatch):
    """The demo's default of one thread (repeatable, and not slowed by other processes) yields to --threads and to
    thread counts set in the environment."""
    import numba
    from tinygan.gans import cyclegan_cli
    from tinygan.kernels import blas
    for name in cyclegan_cli.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert not cyclegan_cli._threads_set()
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    assert cyclegan_cli._threads_set()
    lib = blas.numpy_openblas()
    getter = blas.blas_fn(lib, "get_num_threads") if lib is not None else None
    before = numba.get_num_threads(), (getter() if getter is not None else None)
    try:
        assert cyclegan_cli._use_threads(1) == 1 == numba.get_num_threads()
        assert getter is None or getter() == 1
        with pytest.raises(ValueError, match="--threads 0"):
            cyclegan_cli._use_threads(0)
    finally:
        numba.set_num_threads(before[0])
        if lib is not None and before[1]:
            blas.set_threads(lib, before[1])
