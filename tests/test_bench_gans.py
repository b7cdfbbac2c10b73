"""The chapter 15-20 GAN rows of ``tinygan bench --cases models`` (tinygan.bench_gans): each case builds and runs a
step in tinygan and, where torch is installed, in PyTorch, on the same architecture (the same parameter count)."""
import pytest

from tinygan import bench_gans, benchmarks

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_every_gan_is_a_bench_model():
    assert set(bench_gans.NAMES) <= set(benchmarks.MODEL_NAMES)
    assert {benchmarks.model_label(n, True) for n in bench_gans.NAMES} == {f"{n} step b16" for n in bench_gans.NAMES}


def test_flops_count_the_composite_without_the_frozen_weights():
    """LSGAN at batch 2 by hand: D = conv 64 (14x14 out) + conv 128 (7x7 out) + dense 6272->1; G = dense 100->12544
    + convT 256->128 (7x7 in) + convT 128->64 (14x14 in) + conv 64->1 (28x28 out), 2*n*pixels*k*k*cin*cout each.
    A D update: forward, weight gradients and input gradients but the first layer's (3x forward less D1);
    the composite: G 3x forward less G1's input gradient, D forward and input gradients only (2x)."""
    n = 1            # half batch; the composite runs on 2
    d = [2 * 14 * 14 * 16 * 1 * 64, 2 * 7 * 7 * 16 * 64 * 128, 2 * 6272]
    g = [2 * 100 * 12544, 2 * 7 * 7 * 16 * 256 * 128, 2 * 14 * 14 * 16 * 128 * 64, 2 * 28 * 28 * 49 * 64]
    d_update = n * (3 * sum(d) - d[0])
    composite = 2 * n * (3 * sum(g) - g[0] + 2 * sum(d))
    predict = n * sum(g)
    assert bench_gans.plan_flops("lsgan", bench_gans.build_models("lsgan"), 2) == predict + 2 * d_update + composite


@pytest.mark.parametrize("name", bench_gans.NAMES)
def test_case_runs_a_step_in_both_frameworks(name):
    step, n_params = bench_gans.make_tinygan_step(name, quick=True)
    step()
    if benchmarks.torch_or_none() is None:
        pytest.skip("torch is not installed: the PyTorch half of the row is not run")
    torch_step, torch_params = bench_gans.make_torch_step(name, quick=True)
    torch_step()
    assert torch_params == n_params
