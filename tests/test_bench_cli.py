"""Fast checks of the benchmark harness (tinygan.benchmarks, ``tinygan bench``) on tiny cases.

The benchmarks themselves live in bench/ and are not part of the default test run. The worker tests start the
tinygan worker process only; the one that needs torch is skipped without it.
"""
import json
import os

import numpy as np
import pytest

from tinygan import benchmarks as B


# ---- FLOP counting and the book's shapes ------------------------------------------------------------

def test_conv_flops_and_shapes():
    conv = B.Layer("c", "conv", 2, 28, 28, 1, 64, 3, 2)
    assert conv.out_hw == (14, 14)
    assert conv.fwd_flops == 2 * 2 * 14 * 14 * 3 * 3 * 1 * 64
    convt = B.Layer("t", "convT", 1, 7, 7, 128, 64, 4, 2)
    assert convt.out_shape == (1, 14, 14, 64)
    assert convt.fwd_flops == 2 * 1 * 7 * 7 * 4 * 4 * 128 * 64       # counted on input pixels
    dense = B.Layer("d", "dense", 4, 1, 1, 100, 10)
    assert dense.fwd_flops == 2 * 4 * 100 * 10
    layers = [conv, convt]
    assert B.bwd_flops(layers) == 2 * conv.fwd_flops + 2 * convt.fwd_flops - conv.fwd_flops
    assert B.bwd_flops(layers, weights=False, input_of_first=True) == conv.fwd_flops + convt.fwd_flops


def test_tf_same_pads():
    assert B.tf_same_pads(28, 3, 2) == (0, 1)       # odd: the extra pixel goes after
    assert B.tf_same_pads(256, 4, 2) == (1, 1)
    assert B.tf_same_pads(16, 4, 1) == (1, 2)
    assert B.tf_same_pads(28, 7, 1) == (3, 3)


def test_book_models_have_the_books_parameter_counts():
    d, g = B.pix2pix_layers(256, 1)
    assert sum(layer.n_params for layer in g) == 54_419_459
    assert sum(layer.n_params for layer in d) == 6_965_441
    assert d[-1].out_shape == (1, 16, 16, 1)
    for model, (n_d, n_g) in {"dcgan_mnist": (40_705, 1_164_289), "dcgan_cifar10": (522_497, 1_466_115)}.items():
        dl, gl = B.dcgan_layers(model, 1)
        assert sum(layer.n_params for layer in dl) == n_d
        assert sum(layer.n_params for layer in gl) == n_g


def test_step_flops_count_each_update():
    d, g = B.pix2pix_layers(64, 1)
    f = B.fwd_flops
    expected = (f(g) + 2 * (f(d) + B.bwd_flops(d))
                + f(g) + f(d) + B.bwd_flops(d, weights=False, input_of_first=True) + B.bwd_flops(g))
    assert B.step_flops("pix2pix", quick=True) == expected
    for model in B.MODEL_NAMES:
        assert B.step_flops(model) > B.step_flops(model, quick=True) > 0


def test_case_lists_cover_every_layer():
    cases = B.op_cases(quick=True)
    names = [c.name for c in cases]
    d, g = B.pix2pix_layers(64, 1)
    assert sum(n.startswith(("conv p2p.", "convT p2p.")) for n in names) == len(d) + len(g)
    assert any(n.startswith("batchnorm") for n in names) and any(n.startswith("leaky_relu") for n in names)
    assert any(n.startswith("adam") for n in names)
    assert len(set(names)) == len(names)
    assert [c.model for c in B.model_cases(quick=True)] == list(B.MODEL_NAMES)


# ---- timer and table ----------------------------------------------------------------------------------

def test_alternating_median_alternates_and_pauses_before_every_call():
    calls = []

    def sampler(name):
        def sample(inner):
            calls.append((name, inner))
            return 0.001
        return sample

    def pause():
        calls.append("pause")
        return 0.5

    samples, inner, waits = B.alternating_median({"a": sampler("a"), "b": sampler("b")}, repeat=3, warmup=1,
                                                 inner=2, pause=pause)
    assert inner == 2
    assert calls == ["pause", ("a", 1), "pause", ("b", 1)] + ["pause", ("a", 2), "pause", ("b", 2)] * 3
    assert samples == {"a": [0.001] * 3, "b": [0.001] * 3}
    assert waits == [0.5] * 6
    assert B.alternating_median({"a": sampler("a")}, repeat=1)[1] == 20       # calibrated: 20 ms / 1 ms


def test_wait_quiet_returns_within_its_cap():
    for cap in (0.0, 0.2):
        waited = B.wait_quiet(max_seconds=cap)
        assert 0.0 <= waited <= cap + 0.15
    assert 0.05 <= B.quiet_pause(gap=0.05, max_seconds=0.1) + 0.05 <= 0.35    # the gap comes on top of the wait


def test_gemm_rate_is_positive():
    rates = B.gemm_rate(n=64, repeat=2)
    assert len(rates) == 2 and all(r > 0 for r in rates)


def test_table_columns():
    rows = [B.Row("conv tiny", "ops", 2e9, [0.1, 0.2, 0.3], [0.1, 0.1, 0.1]),
            B.Row("leaky_relu tiny", "ops", None, [0.002], []),
            B.Row("pix2pix step", "models", None, [], [], error="tinygan: ModuleNotFoundError: x")]
    d = rows[0].derived(gemm_gflops=40.0)
    assert d["tinygan_ms"] == pytest.approx(200.0)
    assert d["gflops"] == pytest.approx(10.0)
    assert d["floor_ms"] == pytest.approx(50.0)
    assert d["x_floor"] == pytest.approx(4.0)
    assert d["x_torch"] == pytest.approx(2.0)
    assert d["torch_x_floor"] == pytest.approx(2.0)          # torch's 100 ms over the same 50 ms floor
    assert rows[1].derived(40.0)["torch_x_floor"] is None    # no FLOPs, no torch samples: no floor to compare
    text = B.format_table(rows, 40.0)
    lines = text.splitlines()
    assert "x floor" in lines[0] and "torch x floor" in lines[0] and "x torch" in lines[0]
    assert "conv tiny" in text and "4.00" in text and "2.00" in text
    assert any(ln.startswith("leaky_relu tiny") and ln.rstrip().endswith("-") for ln in lines)
    assert "ModuleNotFoundError" in text


def test_openblas_text_says_when_the_environment_pins_the_core():
    assert B.openblas_text("Haswell", "Haswell") == \
        "OpenBLAS core Haswell (pinned by OPENBLAS_CORETYPE=Haswell in the environment)"
    assert B.openblas_text("SkylakeX", None) == "OpenBLAS core SkylakeX (chosen by OpenBLAS for this CPU)"


# ---- the worker processes ------------------------------------------------------------------------------

def test_child_env_gives_each_framework_its_own_defaults():
    startup = B._startup_environ()
    tg, th = B._child_env("tinygan", 2), B._child_env("torch", 2)
    for env in (tg, th):
        assert env.get("OMP_WAIT_POLICY") == startup.get("OMP_WAIT_POLICY")   # as this process started
        assert env.get("OPENBLAS_CORETYPE") == os.environ.get("OPENBLAS_CORETYPE")
        assert env.get("MALLOC_MMAP_THRESHOLD_") == os.environ.get("MALLOC_MMAP_THRESHOLD_")   # nothing forced
        assert env["OMP_NUM_THREADS"] == "2"
    assert th["TINYGAN_HOST_MEMORY"] == "system"
    assert tg.get("TINYGAN_HOST_MEMORY") == os.environ.get("TINYGAN_HOST_MEMORY")
    assert B._child_command("tinygan", ["worker", "tinygan"])[1:] == ["-c", B._TINYGAN_FIRST, "worker", "tinygan"]
    assert B._child_command("torch", ["worker", "torch"])[1:3] == ["-c", B._TORCH_FIRST]


@pytest.fixture(scope="module")
def tinygan_worker():
    with B.start_workers(("tinygan",), quick=True) as workers:
        yield workers


def test_tinygan_worker_reports_its_environment(tinygan_worker):
    from tinygan import host_memory
    info = tinygan_worker["tinygan"].call("env")
    assert info["framework"] == "tinygan" and info["pid"] != os.getpid()
    assert info["torch"] is None                                   # the tinygan worker never imports torch
    # the worker applied tinygan.configure_cpu(): the policy it reports is the one this environment gets
    assert info["host_memory"] == host_memory.keep_freed_memory(dict(os.environ))
    assert info["omp_wait_policy"].startswith(os.environ.get("OMP_WAIT_POLICY", "passive"))
    assert info["threads"]["numba"] >= 1
    assert info["openblas_coretype"] == os.environ.get("OPENBLAS_CORETYPE")
    assert B.worker_gemm_rate(tinygan_worker["tinygan"], n=64, repeat=2, quiet_cap=0.1)[0] > 0


@pytest.mark.parametrize("which,pattern", [("ops", "batchnorm 1x2x2x512"), ("models", "mnist")])
def test_tinygan_worker_times_an_op_and_a_model(tinygan_worker, which, pattern):
    [case] = B.select_cases(which, quick=True, pattern=pattern)
    row = B.run_case(case, tinygan_worker, repeat=2, quiet_cap=0.2)
    d = row.derived(gemm_gflops=50.0)
    assert not row.error and d["tinygan_ms"] > 0 and d["torch_ms"] is None
    assert len(row.tinygan_s) == len(row.waits) == 2


def test_a_failing_case_is_an_error_row_and_the_worker_goes_on(tinygan_worker):
    bad = B.run_case(B.Case("no such case", "ops", None, None), tinygan_worker, repeat=1, quiet_cap=0.1)
    assert bad.error.startswith("tinygan: LookupError") and not bad.tinygan_s
    with pytest.raises(B.WorkerError, match="no case set up"):
        tinygan_worker["tinygan"].sample(1)
    [case] = B.select_cases("ops", quick=True, pattern="leaky_relu 1x4x4x512")
    assert not B.run_case(case, tinygan_worker, repeat=1, quiet_cap=0.1).error


def test_torch_worker_imports_torch_before_tinygan():
    pytest.importorskip("torch")
    with B.start_workers(("torch",), quick=True) as workers:
        info = workers["torch"].call("env")
    assert info["torch_imported_first"] and info["torch"]
    assert info["host_memory"].startswith("system malloc")
    assert "set by tinygan" not in info["omp_wait_policy"]


def test_memory_formatting():
    rows = [{"name": "m", "tinygan": {"peak_mib": 200.0, "step_mib": 50.0, "tracemalloc_mib": 40.0},
             "torch": {"peak_mib": 100.0, "step_mib": 30.0}},
            {"name": "n", "tinygan": {"error": "boom"}}]
    text = B.format_memory(rows)
    assert "2.00" in text and "boom" in text


# ---- the command -------------------------------------------------------------------------------------

def test_cli_quick_tiny_case(tmp_path, capsys):
    from tinygan import cli
    out = tmp_path / "bench.json"
    rc = cli.main(["bench", "--quick", "--cases", "ops", "-k", "batchnorm 1x2x2x512", "--repeat", "1",
                   "--no-torch", "--no-memory", "--gemm-size", "256", "-q", "--json", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "GEMM floor" in text and "batchnorm 1x2x2x512" in text and "OpenBLAS core" in text
    result = json.loads(out.read_text())
    env = result["environment"]
    assert env["gemm_gflops"] > 0 and list(env["workers"]) == ["tinygan"]
    assert env["workers"]["tinygan"]["host_memory"] and env["workers"]["tinygan"]["omp_wait_policy"]
    assert env["openblas_coretype"] == os.environ.get("OPENBLAS_CORETYPE")
    assert env["quiet_wait"]["samples"] == 1
    assert [r["name"] for r in result["rows"]] == ["batchnorm 1x2x2x512"]
    assert result["rows"][0]["tinygan_ms"] > 0


# ---- the PyTorch references do the same work (TF 'same' padding reproduced exactly) ------------------

@pytest.mark.parametrize("kind,h,k,s", [("conv", 7, 3, 2), ("conv", 8, 4, 1), ("conv", 6, 3, 1), ("convT", 3, 4, 2),
                                        ("convT", 3, 3, 2)])
def test_torch_reference_layers_match_tinygan(kind, h, k, s):
    torch = pytest.importorskip("torch")
    from tinygan import ops
    layer = B.Layer("x", kind, 2, h, h, 3, 5, k, s)
    mod = B.torch_layer(layer)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(layer.in_shape).astype(np.float32)
    conv = mod.conv
    w = conv.weight.detach().numpy()          # conv: (out, in, kh, kw); convT: (in, out, kh, kw)
    b = conv.bias.detach().numpy()
    if kind == "conv":
        y = ops.conv2d(x, w.transpose(2, 3, 1, 0), b, strides=(s, s), padding="same").numpy()
    else:
        y = ops.conv_transpose2d(x, w.transpose(2, 3, 1, 0), b, strides=(s, s), padding="same").numpy()
    with torch.no_grad():
        yt = mod(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy().transpose(0, 2, 3, 1)
    assert y.shape == yt.shape == layer.out_shape
    np.testing.assert_allclose(y, yt, rtol=1e-4, atol=1e-5)


def test_set_threads_reports_and_sets_blas():
    info = B.set_threads(2, use_torch=False, blas_threads=1)
    try:
        assert info["numba"] >= 1
        if info["blas"] is not None:          # NumPy's OpenBLAS was found
            assert info["blas"] == 1
    finally:
        B.set_threads(2, use_torch=False)
