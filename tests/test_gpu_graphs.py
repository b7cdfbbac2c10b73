"""CUDA graphs on a real GPU (keras/engine/graph_step.py): recorded steps equal eager steps.

The CPU suite checks the bookkeeping with ``emulate`` (test_graph_step.py); this runs the same training loops
on a GPU with real stream capture ('auto') and without ('off'), from the same seeds, and compares losses and
weights. Both modes run the same kernels in the same order on the same data (dropout masks come from CuPy's
generator, whose state lives on the device), so they agree to rounding; the bound below leaves room only for
a library picking another algorithm inside a capture. Marked ``gpu``: skipped without CuPy and a device.
"""
import numpy as np
import pytest

from test_gpu import _why_no_gpu, on_device
from test_graph_step import dcgan_run, pix2pix_run, train_small

pytestmark = [pytest.mark.gpu, pytest.mark.filterwarnings("ignore:Discrepancy between trainable weights")]
if _why_no_gpu():
    pytestmark.append(pytest.mark.skip(reason=_why_no_gpu()))


def _assert_same(graphed, eager, what):
    graphed, eager = np.asarray(graphed, np.float64), np.asarray(eager, np.float64)
    np.testing.assert_allclose(graphed, eager, rtol=1e-5, atol=1e-6, err_msg=what)


def _recorded(*models):
    for m in models:
        assert getattr(m, "_graph_failure", None) is None, f"{m.name}: {m._graph_failure}"
        assert any(not isinstance(s, str) for s in m._graphs.values()), f"{m.name} recorded nothing"


def test_pix2pix_graph_steps_equal_eager_steps_on_the_gpu():
    with on_device("cuda"):
        eager, w_eager, _ = pix2pix_run("off", steps=5, size=64)
        graphed, w_graphed, models = pix2pix_run("auto", steps=5, size=64)
    _recorded(*models)
    _assert_same(graphed, eager, "losses")
    for a, b in zip(w_graphed, w_eager):
        _assert_same(a, b, "weights")


def test_dcgan_graph_steps_with_dropout_equal_eager_steps_on_the_gpu():
    with on_device("cuda"):
        (eager, w_eager), (graphed, w_graphed) = dcgan_run("off", half=32), dcgan_run("auto", half=32)
    _assert_same(graphed, eager, "losses")
    for a, b in zip(w_graphed, w_eager):
        _assert_same(a, b, "weights")


@pytest.mark.parametrize("restore_at", [None, 4])
def test_restored_state_is_recorded_again_on_the_gpu(restore_at):
    with on_device("cuda"):
        eager, m_eager = train_small("off", restore_at)
        graphed, m_graphed = train_small("auto", restore_at)
    _recorded(m_graphed)
    _assert_same(graphed, eager, "losses")
    for a, b in zip(m_graphed.get_weights(), m_eager.get_weights()):
        _assert_same(a, b, "weights")


@pytest.mark.parametrize("a_t,b_t", [(False, False), (True, False), (False, True)])
def test_own_cublas_gemm_equals_cupy_matmul_and_records_in_a_graph(a_t, b_t):
    import cupy
    from kernels import cublas_gemm
    rng = np.random.default_rng(0)
    a = cupy.asarray(rng.standard_normal((300, 70) if a_t else (70, 300)).astype(np.float32))
    b = cupy.asarray(rng.standard_normal((90, 300) if b_t else (300, 90)).astype(np.float32))
    a, b = (a.T if a_t else a), (b.T if b_t else b)
    out = cublas_gemm.matmul(a, b)
    np.testing.assert_allclose(out.get(), (a @ b).get(), rtol=1e-5, atol=1e-4)
    stream = cupy.cuda.Stream()
    with stream:
        stream.begin_capture()
        recorded = cublas_gemm.matmul(a, b)
        graph = stream.end_capture()
        a *= 2
        graph.launch(stream)
        stream.synchronize()
    np.testing.assert_allclose(recorded.get(), 2 * out.get(), rtol=1e-5, atol=1e-4)
