"""Device selection (backend.set_device, TINYGAN_DEVICE, the CLI's --device) and kernel routing
(kernels.dispatch) on a machine without a GPU.

CuPy is hidden (``sys.modules['cupy'] = None``) where a test needs "no CuPy", so these tests say the
same thing on a GPU machine as on CI.
"""
import os
import subprocess
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest

import tinygan as tg
from tinygan import backend, cli, ops
from tinygan.kernels import activation, conv_lowering, dispatch, norm, optim

ROOT = Path(__file__).resolve().parents[1]
HIDE_CUPY = "import sys; sys.modules['cupy'] = None; "


@pytest.fixture(autouse=True)
def _back_to_cpu():
    yield
    backend.set_device("cpu")


def _child(code, **env):
    full = {k: v for k, v in os.environ.items() if k not in ("TINYGAN_DEVICE", "TINYGAN_KERNELS", "NUMBA_ENABLE_CUDASIM")}
    full.update(env)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=full, capture_output=True, text=True, timeout=120)


# ---- backend.set_device ---------------------------------------------------------------------------

def test_cpu_is_the_default_and_case_insensitive():
    tg.set_device("CPU")
    assert tg.get_device() == "cpu" and backend.xp() is np


@pytest.mark.parametrize("name", ["cuda", "gpu", "CUDA"])
def test_cuda_without_cupy_raises_device_error_naming_the_fix(monkeypatch, name):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy -> ImportError
    with pytest.raises(backend.DeviceError) as err:
        tg.set_device(name)
    msg = str(err.value)
    assert "CuPy" in msg and "pip install tinygan[cuda12]" in msg and "'cpu'" in msg
    assert isinstance(err.value, RuntimeError)
    assert tg.get_device() == "cpu" and backend.xp() is np  # a failed switch changes nothing


def test_unknown_device_is_rejected():
    with pytest.raises(backend.DeviceError, match="unknown device 'tpu'"):
        tg.set_device("tpu")
    assert tg.get_device() == "cpu"


def _fake_cupy(count=None, error=None):
    def get_device_count():
        if error is not None:
            raise error
        return count
    mod = types.ModuleType("cupy")
    mod.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=get_device_count))
    return mod


def test_cupy_without_a_usable_gpu_raises_device_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(error=RuntimeError("cudaErrorNoDevice: no CUDA-capable device")))
    with pytest.raises(backend.DeviceError, match="no usable GPU.*cudaErrorNoDevice"):
        tg.set_device("cuda")
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(count=0))
    with pytest.raises(backend.DeviceError, match="no GPU is visible"):
        tg.set_device("cuda")
    assert tg.get_device() == "cpu"


# ---- TINYGAN_DEVICE ---------------------------------------------------------------------------------

def test_env_var_cpu_selects_cpu():
    proc = _child("import tinygan; print(tinygan.get_device(), tinygan.backend.xp().__name__)", TINYGAN_DEVICE="cpu")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["cpu", "numpy"]


def test_env_var_cuda_without_cupy_fails_at_import_with_the_message():
    """The device is set as the engine loads (tinygan.backend, imported by the first op or Tensor)."""
    proc = _child(HIDE_CUPY + "import tinygan.ops", TINYGAN_DEVICE="cuda")
    assert proc.returncode != 0
    assert "DeviceError" in proc.stderr and "needs CuPy" in proc.stderr and "pip install tinygan[cuda12]" in proc.stderr


def test_env_var_unknown_device_fails_at_import():
    proc = _child("import tinygan.ops", TINYGAN_DEVICE="tpu")
    assert proc.returncode != 0 and "unknown device 'tpu'" in proc.stderr


# ---- tinygan --device -------------------------------------------------------------------------------

@pytest.fixture
def noop_command(monkeypatch):
    """A stand-in application module with one sub-command that records that it ran."""
    ran = []
    mod = types.ModuleType("_tinygan_test_noop_cli")

    def register(sub):
        p = sub.add_parser("noop", help="does nothing")
        p.set_defaults(func=lambda args: ran.append(backend.get_device()) or 0)
    mod.register = register
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    monkeypatch.setattr(cli, "COMMAND_MODULES", [mod.__name__])
    return ran


def test_cli_device_cuda_without_cupy_exits_2_with_a_clear_message(monkeypatch, capsys, noop_command):
    monkeypatch.setitem(sys.modules, "cupy", None)
    with pytest.raises(SystemExit) as exc:
        cli.main(["--device", "cuda", "noop"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("tinygan: device 'cuda' needs CuPy") and "Traceback" not in err
    assert noop_command == []  # the command never started


def test_cli_device_cpu_runs_the_command_on_cpu(noop_command):
    assert cli.main(["--device", "cpu", "noop"]) == 0
    assert noop_command == ["cpu"]


def test_cli_unknown_device_exits_2(capsys, noop_command):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--device", "tpu", "noop"])
    assert exc.value.code == 2 and "unknown device 'tpu'" in capsys.readouterr().err
    assert noop_command == []


def test_real_entry_point_reports_missing_cupy_without_a_traceback():
    """``python -m tinygan --device cuda pix2pix translate M I``: the arguments parse, then the device check
    stops the command before it looks at M (a missing model would be a different one-line error)."""
    code = HIDE_CUPY + "import runpy; sys.argv = ['tinygan', '--device', 'cuda', 'pix2pix', 'translate', " \
        "'no_such_model.h5', 'no_such_image.png']; runpy.run_module('tinygan', run_name='__main__')"
    proc = _child(code)
    assert proc.returncode == 2 and "needs CuPy" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_every_command_module_registers():
    """cli.py drops no command module: one that fails to import raises instead of vanishing from --help."""
    commands = [a for a in cli.build_parser()._actions if isinstance(getattr(a, "choices", None), dict)]
    assert {"pix2pix", "bench", "dcgan"} <= set(commands[0].choices)


def test_a_command_module_that_fails_to_import_raises(monkeypatch):
    monkeypatch.setattr(cli, "COMMAND_MODULES", ["tinygan.gans.no_such_cli"])
    with pytest.raises(ModuleNotFoundError, match="no_such_cli"):
        cli.build_parser()


# ---- kernels.dispatch on the CPU --------------------------------------------------------------------

def test_numpy_arrays_route_to_numba_and_odd_dtypes_to_reference():
    x = np.zeros((2, 3), np.float32)
    assert dispatch.route(x) == "numba" and dispatch.route(x.astype(np.float64)) == "numba"
    assert dispatch.route(x.astype(np.float16)) == "reference"
    with dispatch.use("reference"):
        assert dispatch.route(x) == "reference"
    assert dispatch.get_mode() == "auto"
    with pytest.raises(ValueError, match="not understood"):
        dispatch.set_mode("fast")


def test_bad_tinygan_kernels_env_var_is_rejected():
    proc = _child("import tinygan.kernels.dispatch", TINYGAN_KERNELS="fast")
    assert proc.returncode != 0 and "TINYGAN_KERNELS='fast' is not understood" in proc.stderr
    proc = _child("from tinygan.kernels import dispatch; print(dispatch.get_mode())", TINYGAN_KERNELS="reference")
    assert proc.stdout.strip() == "reference", proc.stderr


class _FakeGpuArray:
    """Looks like a CuPy array to the router (it has a CUDA array interface) but no GPU exists."""
    dtype = np.dtype(np.float32)
    shape = (2, 2)
    __cuda_array_interface__ = {"shape": (2, 2), "typestr": "<f4", "data": (0, False), "version": 3}


@pytest.mark.skipif(os.environ.get("NUMBA_ENABLE_CUDASIM") == "1", reason="the simulator makes CUDA 'available'")
def test_gpu_arrays_without_buildable_cuda_kernels_warn_once_and_use_the_reference(monkeypatch):
    monkeypatch.setattr(dispatch, "_state", dict(dispatch._state, warned=False))
    monkeypatch.delitem(dispatch._state, "cuda_ok", raising=False)
    with pytest.warns(RuntimeWarning, match="cannot build CUDA kernels.*numba-cuda"):
        assert dispatch.route(_FakeGpuArray()) == "reference"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert dispatch.route(_FakeGpuArray()) == "reference"  # once only


@pytest.mark.skipif(os.environ.get("NUMBA_ENABLE_CUDASIM") == "1", reason="the simulator makes CUDA 'available'")
def test_cuda_kernel_modules_import_without_a_gpu_and_say_why_they_cannot_run():
    import importlib
    for topic in ("conv_lowering", "norm", "elementwise", "optim", "reduce"):
        importlib.import_module(f"tinygan.kernels.cuda.{topic}")  # defining kernels compiles nothing
    from tinygan.kernels import cuda as kc
    if not kc.available():  # the usual case on CI; a machine with a GPU and NVVM may really have them
        assert kc.unavailable_reason()


def test_dispatch_cpu_results_equal_the_numba_kernels():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 5, 3)).astype(np.float32)
    np.testing.assert_array_equal(dispatch.im2col(x, 3, 3, 2, 2, 1, 1, 1, 1), conv_lowering.im2col(x, 3, 3, 2, 2, 1, 1, 1, 1))
    cols = rng.standard_normal((2 * 9, 27)).astype(np.float32)
    np.testing.assert_array_equal(dispatch.col2im(cols, x.shape, 3, 3, 2, 2, (1, 1, 1, 1)),
                                  conv_lowering.col2im(cols, x.shape, 3, 3, 2, 2, (1, 1, 1, 1)))
    x3, s = x.reshape(2, 25, 3), np.zeros((2, 3))
    for a, b in zip(dispatch.centered_sums(x3, x3, s, s), norm.centered_sums(x3, x3, s, s)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(dispatch.channel_affine(x3, s + 2, s), norm.channel_affine(x3, s + 2, s))
    np.testing.assert_array_equal(dispatch.channel_affine2(x3, s + 1, x3, s, s), norm.channel_affine2(x3, s + 1, x3, s, s))
    np.testing.assert_array_equal(dispatch.leaky_relu_forward(x, 0.2), activation.leaky_relu_forward(x, 0.2))
    np.testing.assert_array_equal(dispatch.leaky_relu_backward(x, x, 0.2), activation.leaky_relu_backward(x, x, 0.2))
    ps = [x.copy(), x.copy()]
    mvs = [[np.zeros_like(x), np.zeros_like(x)] for _ in ps]
    dispatch.adam_update(ps[0], x, *mvs[0], 1e-3, 0.9, 0.999, 1e-7)
    optim.adam_update(ps[1], x, *mvs[1], 1e-3, 0.9, 0.999, 1e-7)
    np.testing.assert_array_equal(ps[0], ps[1])
    # a non-contiguous parameter cannot take the fused kernel: the reference updates it in place
    p = np.ones((4, 6), np.float32)[:, ::2]
    dispatch.adam_update(p, np.ones_like(p), np.zeros_like(p), np.zeros_like(p), 1e-3, 0.9, 0.999, 1e-7)
    assert np.all(p < 1)


def test_dropout_apply_reference_is_inverted_dropout_and_broadcasts():
    x = np.arange(1, 7, dtype=np.float32).reshape(2, 3)
    keep = np.array([[True], [False]])
    y = dispatch.dropout_apply(x, keep, 1 / (1 - 0.25))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, [[4 / 3, 8 / 3, 4], [0, 0, 0]], rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loss_references_agree_with_the_ops(dtype):
    """The fused loss kernels are checked against these references under the simulator; here the
    references are checked against the ops' Keras numerics (value and gradient)."""
    rng = np.random.default_rng(1)
    p = rng.random((3, 4)).astype(dtype)
    p[0, :4] = [0.0, 1.0, 1e-9, 0.5]
    t = (rng.random(p.shape) > 0.5).astype(dtype)
    pt = tg.Tensor(p, requires_grad=True)
    loss = ops.binary_crossentropy(tg.Tensor(t), pt)
    per_elem = dispatch.binary_crossentropy(t, p)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(per_elem.mean(axis=-1), loss.numpy(), **tol)
    g = rng.standard_normal(loss.shape).astype(dtype)
    loss.backward(tg.Tensor(g))
    want = dispatch.binary_crossentropy_grad(t, p, np.broadcast_to(g[:, None] / p.shape[-1], p.shape).astype(dtype))
    np.testing.assert_allclose(want, pt.grad.numpy(), **tol)
    q = rng.standard_normal((2, 3, 5)).astype(dtype)
    np.testing.assert_allclose(dispatch.mean_squared_error_rows(q, q * 2),
                               ops.mean_squared_error(tg.Tensor(q), tg.Tensor(q * 2)).numpy(), **tol)
    np.testing.assert_allclose(dispatch.mean_absolute_error_rows(q, q * 2),
                               ops.mean_absolute_error(tg.Tensor(q), tg.Tensor(q * 2)).numpy(), **tol)
