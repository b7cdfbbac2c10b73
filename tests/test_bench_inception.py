"""The InceptionV3 forward row of ``tinygan bench``: same graph and weights in PyTorch, FLOPs, case selection."""
import numpy as np
import pytest

from tinygan import bench_inception, benchmarks


def test_forward_flops_are_the_convs_and_dense_of_inception_v3():
    """5.713 G multiply-adds per 299 px image (published: 5.7 G), times 2 and the batch of 50."""
    assert bench_inception.forward_flops(False) == pytest.approx(2 * 50 * 5.713e9, rel=1e-3)
    assert bench_inception.forward_flops(True) < bench_inception.forward_flops(False) / 30


def test_the_case_is_a_models_row_and_can_be_picked_alone():
    [case] = benchmarks.select_cases("models", quick=True, pattern="inception")
    assert case.name == "inception_v3 fwd b8 139px" and case.group == "models" and case.model is None
    assert [c.name for c in benchmarks.select_cases("all", quick=True, pattern="inception_v3")] == [case.name]


def test_torch_runs_the_same_graph_with_the_same_weights():
    torch = pytest.importorskip("torch")
    model = bench_inception._model(107)
    x = bench_inception._images(2, 107)
    with torch.inference_mode():
        got = bench_inception.torch_forward(model, torch)(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous())
    want = model.predict(x)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-4, atol=1e-7)
    assert want.std() > 1e-4  # softmax outputs that differ between classes
