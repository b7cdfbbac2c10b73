"""Every CUDA kernel of kernels/cuda/ against its NumPy reference, run under Numba's CUDA simulator.

The simulator has to be switched on (``NUMBA_ENABLE_CUDASIM=1``) before ``numba.cuda`` is first
imported, which a shared pytest process cannot promise. So this module has two faces:

* in an ordinary run it holds one test, ``test_cuda_kernels_under_the_simulator``, which runs this same
  file in a fresh ``python -m pytest`` with the variable set and fails with that run's output if any
  simulator test fails (or none ran);
* in that child run (the variable set) it holds the kernel tests themselves.

To run the kernel tests directly: ``NUMBA_ENABLE_CUDASIM=1 python -m pytest tests/test_cuda_kernels_sim.py``.
Shapes are tiny on purpose: the simulator runs every GPU thread as a Python thread.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SIM = os.environ.get("NUMBA_ENABLE_CUDASIM", "") == "1"
ROOT = Path(__file__).resolve().parents[1]

if not SIM:

    def test_cuda_kernels_under_the_simulator():
        env = {k: v for k, v in os.environ.items() if k not in ("TINYGAN_DEVICE", "TINYGAN_KERNELS")}
        env.update(NUMBA_ENABLE_CUDASIM="1", PYTHONDONTWRITEBYTECODE="1")
        cmd = [sys.executable, "-m", "pytest", str(Path(__file__).resolve()), "-q", "-p", "no:cacheprovider",
               "-p", "no:randomly", "-o", "addopts=", "-m", "not gpu and not slow"]
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, "simulator run failed:\n" + out[-6000:]
        passed = re.search(r"(\d+) passed", out)
        assert passed and int(passed.group(1)) >= 30, "simulator run passed too few tests:\n" + out[-3000:]

    def test_cuda_kernels_compile_to_ptx_in_float32_and_float64():
        """The simulator runs kernels as Python, so it cannot catch what only the CUDA compiler rejects (typing,
        unsupported builtins) or an accidental float64 promotion in a float32 kernel. Where Numba finds NVVM
        (``pip install numba-cuda[cu12]``; no GPU needed) every kernel is compiled to PTX for both dtypes."""
        from numba import types
        from numba.cuda import compile_ptx

        from tinygan.kernels import cuda as kc
        from tinygan.kernels.cuda import conv_lowering as C, elementwise as E, norm as N, optim as O, reduce as R

        try:
            compile_ptx(kc._probe_kernel.py_func, (types.Array(types.int32, 1, "C"),), cc=(7, 5))
        except Exception as exc:
            pytest.skip(f"Numba cannot compile CUDA here ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})")
        i64, f64 = types.int64, types.float64

        def a(dt, nd):
            return types.Array(dt, nd, "C")
        for dt in (types.float32, types.float64):
            sigs = {
                C._im2col_kernel: (a(dt, 4), a(dt, 2)) + (i64,) * 8,
                C._col2im_kernel: (a(dt, 2), a(dt, 4)) + (i64,) * 8 + (dt,),
                N._centered_sums_kernel: (a(dt, 3), a(dt, 3)) + (a(f64, 2),) * 2 + (a(f64, 3),) * 2,
                N._channel_affine_kernel: (a(dt, 2),) * 3 + (i64, a(dt, 2)),
                N._channel_affine2_kernel: (a(dt, 2),) * 5 + (i64, a(dt, 2)),
                E._leaky_relu_forward_kernel: (a(dt, 1), dt, a(dt, 1)),
                E._leaky_relu_backward_kernel: (a(dt, 1), a(dt, 1), dt, a(dt, 1)),
                E._dropout_apply_kernel: (a(dt, 1), a(types.uint8, 1), dt, dt, a(dt, 1)),
                E._dropout_apply_float_kernel: (a(dt, 1), a(dt, 1), dt, a(dt, 1)),
                O._adam_kernel: (a(dt, 1),) * 5 + (dt,) * 5,  # lr_t is read from a one-element array
                R._bce_kernel: (a(dt, 1),) * 2 + (dt,) * 4 + (a(dt, 1),),
                R._bce_grad_kernel: (a(dt, 1),) * 3 + (dt,) * 4 + (a(dt, 1),),
                R._row_mean_kernel: (a(dt, 2), a(dt, 2), types.boolean, a(dt, 1)),
            }
            # kernels whose float32 version may use float64 on purpose (accumulators)
            f64_ok = {N._centered_sums_kernel, R._row_mean_kernel}
            for kernel, sig in sigs.items():
                ptx, _ = compile_ptx(kernel.py_func, sig, cc=(7, 5))
                if dt == types.float32 and kernel not in f64_ok:
                    promoted = [line for line in ptx.splitlines() if ".f64" in line and not line.lstrip().startswith("//")]
                    assert not promoted, f"{kernel.py_func.__name__} computes in float64 for float32 data: {promoted[:3]}"

else:
    from numba import cuda as numba_cuda

    from tinygan.kernels import activation, conv_lowering, dispatch, norm, optim
    from tinygan.kernels import cuda as kc
    from tinygan.kernels.cuda import conv_lowering as cconv
    from tinygan.kernels.cuda import elementwise as celem
    from tinygan.kernels.cuda import norm as cnorm
    from tinygan.kernels.cuda import optim as coptim
    from tinygan.kernels.cuda import reduce as creduce

    DTYPES = [np.float32, np.float64]

    def _tol(dtype):
        return dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-6, atol=2e-6)

    def _rng(seed):
        return np.random.default_rng(seed)

    def test_simulator_is_really_on_and_kernels_available():
        assert kc.SIMULATOR and numba_cuda.is_available()
        assert kc.available() and kc.unavailable_reason() is None

    # ---- im2col / col2im ----------------------------------------------------------------------

    # (x shape, kh, kw, sh, sw, pad_t, pad_b, pad_l, pad_r)
    GEOMETRIES = [
        ((2, 5, 6, 3), 3, 3, 1, 1, 1, 1, 1, 1),   # 'same' 3x3
        ((1, 6, 6, 2), 4, 4, 2, 2, 1, 2, 1, 2),   # pix2pix 4x4/2 'same' (asymmetric TF split)
        ((2, 5, 4, 2), 2, 3, 2, 1, 0, 1, 2, 0),   # rectangular kernel, mixed strides, lopsided pads
        ((1, 4, 4, 5), 1, 1, 1, 1, 0, 0, 0, 0),   # 1x1
        ((1, 3, 3, 1), 3, 3, 3, 3, 0, 0, 0, 0),   # one output pixel
        ((1, 5, 5, 2), 2, 2, 3, 3, 0, 0, 0, 0),   # stride > kernel: some pixels never read
    ]

    @pytest.mark.parametrize("geom", GEOMETRIES, ids=lambda g: "x".join(map(str, g[0])) + "_k%dx%d_s%dx%d_p%d%d%d%d" % g[1:])
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_im2col_col2im_match_reference(geom, dtype):
        shape, kh, kw, sh, sw, *pads = geom
        x = _rng(0).standard_normal(shape).astype(dtype)
        cols = cconv.im2col(x, kh, kw, sh, sw, *pads)
        want = conv_lowering.im2col_reference(x, kh, kw, sh, sw, *pads)
        assert cols.dtype == dtype and cols.shape == want.shape
        np.testing.assert_array_equal(cols, want)  # pure copies: exact
        g = _rng(1).standard_normal(want.shape).astype(dtype)
        back = cconv.col2im(g, shape, kh, kw, sh, sw, tuple(pads))
        ref = conv_lowering.col2im_reference(g, shape, kh, kw, sh, sw, tuple(pads))
        assert back.dtype == dtype and back.shape == shape
        np.testing.assert_array_equal(back, ref)  # same summation order as the reference: exact
        # and col2im is the adjoint of im2col: <im2col(x), g> == <x, col2im(g)>
        np.testing.assert_allclose(np.vdot(cols, g), np.vdot(x, back), rtol=1e-5 if dtype == np.float32 else 1e-12)

    def test_im2col_of_a_non_contiguous_input():
        x = _rng(2).standard_normal((2, 6, 5, 4)).astype(np.float32)[:, ::2, :, 1:3]
        np.testing.assert_array_equal(cconv.im2col(x, 2, 2, 1, 1, 0, 1, 1, 0),
                                      conv_lowering.im2col_reference(np.ascontiguousarray(x), 2, 2, 1, 1, 0, 1, 1, 0))

    def test_conv_lowering_rejects_bad_geometry():
        with pytest.raises(ValueError, match="does not fit"):
            cconv.im2col(np.zeros((1, 2, 2, 1), np.float32), 3, 3, 1, 1, 0, 0, 0, 0)
        with pytest.raises(ValueError, match="expected"):
            cconv.col2im(np.zeros((3, 9), np.float32), (1, 3, 3, 1), 3, 3, 1, 1, (0, 0, 0, 0))

    # ---- normalisation passes -----------------------------------------------------------------

    # (G, M, C): M large enough for several row groups and rows per thread; C not a multiple of the tile
    NORM_SHAPES = [(1, 200, 3), (3, 17, 10), (2, 1, 1)]

    @pytest.mark.parametrize("shape", NORM_SHAPES)
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_centered_sums_match_reference(shape, dtype):
        rng = _rng(3)
        u, v = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
        su, sv = rng.standard_normal((shape[0], shape[2])), rng.standard_normal((shape[0], shape[2]))
        got, want = cnorm.centered_sums(u, v, su, sv), norm.centered_sums_reference(u, v, su, sv)
        for a, b in zip(got, want):
            assert a.dtype == np.float64 and a.shape == (shape[0], shape[2])
            np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-11)

    def test_centered_sums_uses_several_row_groups_and_keeps_precision():
        assert kc.row_groups(200) > 1
        x = (1e4 + 1e-2 * _rng(4).standard_normal((1, 200, 2))).astype(np.float32)
        shift = x[:, 0, :].astype(np.float64)
        s1, s2 = cnorm.centered_sums(x, x, shift, shift)
        d = s1 / 200
        np.testing.assert_allclose(s2 / 200 - d * d, x.astype(np.float64).var(axis=1), rtol=1e-9)

    def test_centered_sums_with_the_real_gpu_launch_shape(monkeypatch):
        """The simulator normally uses small tiles; this runs the reduction with the GPU's (32 x 8 threads,
        up to 256 row groups), with a partly filled channel tile and several row groups."""
        for mod in (kc, cnorm):
            monkeypatch.setattr(mod, "TILE_C", 32)
            monkeypatch.setattr(mod, "TILE_R", 8)
        monkeypatch.setattr(kc, "MAX_ROW_GROUPS", 256)
        shape = (2, 300, 40)
        assert kc.row_groups(300) == 3
        rng = _rng(18)
        u, v = (rng.standard_normal(shape).astype(np.float32) for _ in range(2))
        su, sv = rng.standard_normal((2, 40)), rng.standard_normal((2, 40))
        for a, b in zip(cnorm.centered_sums(u, v, su, sv), norm.centered_sums_reference(u, v, su, sv)):
            np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-11)

    @pytest.mark.parametrize("shape", NORM_SHAPES)
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_channel_affine_passes_match_reference(shape, dtype):
        rng = _rng(5)
        g, x = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
        p, q, r = (rng.standard_normal((shape[0], shape[2])) for _ in range(3))
        y = cnorm.channel_affine(x, p, q)
        assert y.dtype == dtype and y.shape == shape
        np.testing.assert_allclose(y, norm.channel_affine_reference(x, p, q), **_tol(dtype))
        dx = cnorm.channel_affine2(g, p, x, q, r)
        assert dx.dtype == dtype
        np.testing.assert_allclose(dx, norm.channel_affine2_reference(g, p, x, q, r), **_tol(dtype))

    def test_channel_affine_broadcasts_a_per_channel_coefficient():
        x = _rng(6).standard_normal((3, 4, 2)).astype(np.float32)
        a, b = np.array([[2.0, -1.0]]), np.float64(0.5)
        np.testing.assert_allclose(cnorm.channel_affine(x, a, b), x * a.astype(np.float32) + np.float32(0.5), rtol=1e-6)

    def _batch_norm_via(mod, x, gamma, beta, g, eps):
        """Batch norm forward and backward composed from the three passes, as tinygan/ops/norm.py does."""
        x3, g3 = x.reshape(1, -1, x.shape[-1]), g.reshape(1, -1, x.shape[-1])
        m = x3.shape[1]
        shift = x3[:, 0, :].astype(np.float64)
        s1, s2 = mod.centered_sums(x3, x3, shift, shift)
        d = s1 / m
        mean, var = shift + d, np.maximum(s2 / m - d * d, 0.0)
        inv = 1.0 / np.sqrt(var + eps)
        a = gamma * inv
        y = mod.channel_affine(x3, a, beta - mean * a).reshape(x.shape)
        sum_g, sum_gd = mod.centered_sums(g3, x3, np.zeros_like(mean), mean)
        sum_gxhat = sum_gd * inv
        p = gamma * inv
        q = -p * (sum_gxhat / m) * inv
        r = -p * (sum_g / m) - q * mean
        dx = mod.channel_affine2(g3, p, x3, q, r).reshape(x.shape)
        return y, dx, sum_gxhat[0], sum_g[0]

    def test_batch_norm_forward_backward_from_cuda_passes_matches_closed_form():
        rng = _rng(7)
        x = rng.standard_normal((2, 3, 4, 5))
        gamma, beta, g = rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal(x.shape)
        y, dx, dgamma, dbeta = _batch_norm_via(cnorm, x, gamma, beta, g, 1e-3)
        mu, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
        xhat = (x - mu) / np.sqrt(var + 1e-3)
        np.testing.assert_allclose(y, xhat * gamma + beta, rtol=1e-10, atol=1e-10)
        m = x.size // 5
        want_dx = gamma / np.sqrt(var + 1e-3) / m * (m * g - g.sum(axis=(0, 1, 2)) - xhat * (g * xhat).sum(axis=(0, 1, 2)))
        np.testing.assert_allclose(dx, want_dx, rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(dgamma, (g * xhat).sum(axis=(0, 1, 2)), rtol=1e-10)
        np.testing.assert_allclose(dbeta, g.sum(axis=(0, 1, 2)), rtol=1e-10)

    def test_instance_norm_forward_from_cuda_passes_is_keras_contrib():
        # keras-contrib InstanceNormalization: (x - mean) / (std + eps) per sample and channel
        rng = _rng(8)
        x = rng.standard_normal((3, 4, 4, 2)).astype(np.float32)
        x3 = x.reshape(3, -1, 2)
        shift = x3[:, 0, :].astype(np.float64)
        s1, s2 = cnorm.centered_sums(x3, x3, shift, shift)
        d = s1 / 16
        mean, std = shift + d, np.sqrt(np.maximum(s2 / 16 - d * d, 0.0))
        inv = 1.0 / (std + 1e-3)
        y = cnorm.channel_affine(x3, inv, -mean * inv).reshape(x.shape)
        xd = x.astype(np.float64)
        want = (xd - xd.mean(axis=(1, 2), keepdims=True)) / (xd.std(axis=(1, 2), keepdims=True) + 1e-3)
        np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)

    # ---- elementwise --------------------------------------------------------------------------

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_leaky_relu_matches_reference_bitwise(dtype):
        rng = _rng(9)
        x = rng.standard_normal((3, 5, 7)).astype(dtype)
        x[0, 0, :3] = [0.0, -0.0, np.inf]
        g = rng.standard_normal(x.shape).astype(dtype)
        y = celem.leaky_relu_forward(x, 0.2)
        assert y.dtype == dtype
        np.testing.assert_array_equal(y, activation.leaky_relu_forward_reference(x, 0.2))
        dx = celem.leaky_relu_backward(x, g, 0.2)
        np.testing.assert_array_equal(dx, activation.leaky_relu_backward_reference(x, g, 0.2))
        assert dx[0, 0, 0] == g[0, 0, 0] * dtype(0.2)  # slope alpha at exactly 0

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_dropout_apply_with_bool_and_float_masks(dtype):
        rng = _rng(10)
        x = rng.standard_normal((4, 9)).astype(dtype)
        x[0, 0] = np.nan
        keep = rng.random(x.shape) >= 0.5
        keep[0, 0] = False
        scale = 1 / (1 - 0.5)
        want = dispatch.dropout_apply_reference(x, keep, scale)
        np.testing.assert_array_equal(celem.dropout_apply(x, keep, scale), want)
        assert np.isnan(want[0, 0])  # x * 0 keeps NaN, like the reference multiply
        fmask = keep.astype(dtype) * dtype(scale)  # a pre-scaled float mask
        np.testing.assert_array_equal(celem.dropout_apply(x, fmask), x * fmask)
        np.testing.assert_array_equal(celem.dropout_apply(x, keep.astype(np.int8), scale), want)
        with pytest.raises(ValueError, match="differ in shape"):
            celem.dropout_apply(x, keep[:1], scale)

    # ---- Adam ---------------------------------------------------------------------------------

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_adam_update_in_place_matches_reference_over_steps(dtype):
        rng = _rng(11)
        shape = (7, 5)
        p0 = rng.standard_normal(shape).astype(dtype)
        p_k, m_k, v_k = p0.copy(), np.zeros(shape, dtype), np.zeros(shape, dtype)
        p_r, m_r, v_r = p0.copy(), np.zeros(shape, dtype), np.zeros(shape, dtype)
        lr, b1, b2, eps = 2e-4, 0.5, 0.999, 1e-7
        for t in range(1, 4):
            g = rng.standard_normal(shape).astype(dtype)
            lr_t = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            assert coptim.adam_update(p_k, g, m_k, v_k, lr_t, b1, b2, eps) is None
            optim.adam_update_reference(p_r, g, m_r, v_r, lr_t, b1, b2, eps)
        for a, b in ((p_k, p_r), (m_k, m_r), (v_k, v_r)):
            assert a.dtype == dtype
            np.testing.assert_allclose(a, b, **_tol(dtype))
        assert not np.array_equal(p_k, p0)

    def test_adam_update_rejects_mismatched_arrays():
        p = np.zeros((3, 2), np.float32)
        with pytest.raises(ValueError, match="C-contiguous"):
            coptim.adam_update(p, np.zeros((3, 2)), np.zeros_like(p), np.zeros_like(p), 1e-3, 0.9, 0.999, 1e-7)
        with pytest.raises(ValueError, match="C-contiguous"):
            coptim.adam_update(p, p.T.copy().T, np.zeros((2, 3), np.float32).T, np.zeros_like(p), 1e-3, 0.9, 0.999, 1e-7)

    # ---- losses -------------------------------------------------------------------------------

    def _bce_data(dtype):
        rng = _rng(12)
        p = rng.random((4, 6)).astype(dtype)
        eps = dtype(1e-7)
        p[0, :6] = [0.0, 1.0, eps, dtype(1) - eps, 1e-9, 0.5]
        t = (rng.random(p.shape) > 0.5).astype(dtype)
        t[1, :2] = 0.3  # soft labels (label smoothing)
        return t, p

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_binary_crossentropy_matches_reference(dtype):
        t, p = _bce_data(dtype)
        got = creduce.binary_crossentropy(t, p)
        want = dispatch.binary_crossentropy_reference(t, p)
        assert got.dtype == dtype and got.shape == p.shape
        np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)
        assert np.all(np.isfinite(got))
        # labels given as float64 / int still compute in y_pred's dtype
        np.testing.assert_allclose(creduce.binary_crossentropy(t.astype(np.float64), p), got, rtol=1e-6)

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_binary_crossentropy_grad_matches_reference_and_zero_where_clipped(dtype):
        t, p = _bce_data(dtype)
        g = _rng(13).standard_normal(p.shape).astype(dtype)
        got = creduce.binary_crossentropy_grad(t, p, g)
        want = dispatch.binary_crossentropy_grad_reference(t, p, g)
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)
        assert got[0, 0] == 0 and got[0, 1] == 0 and got[0, 4] == 0   # clipped: no gradient
        assert got[0, 2] != 0 and got[0, 3] != 0                      # at the bounds: passes (TF clip)

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_mse_mae_rows_match_reference(dtype):
        rng = _rng(14)
        p = rng.standard_normal((2, 3, 5, 3)).astype(dtype)
        t = rng.standard_normal(p.shape).astype(dtype)
        for fn, ref in ((creduce.mean_squared_error_rows, dispatch.mean_squared_error_rows_reference),
                        (creduce.mean_absolute_error_rows, dispatch.mean_absolute_error_rows_reference)):
            got = fn(t, p)
            assert got.dtype == dtype and got.shape == p.shape[:-1]
            np.testing.assert_allclose(got, ref(t, p), **_tol(dtype))

    # ---- dispatch under the simulator ---------------------------------------------------------

    def test_dispatch_routes_numpy_to_numba_unless_told_cuda():
        x = np.zeros((1, 2, 2, 1), np.float32)
        assert dispatch.route(x) == "numba"
        with dispatch.use("cuda"):
            assert dispatch.route(x) == "cuda"
        with dispatch.use("reference"):
            assert dispatch.route(x) == "reference"
        assert dispatch.route(x.astype(np.float16)) == "reference"

    @pytest.fixture
    def cuda_calls(monkeypatch):
        """Counts every call into a kernels.cuda.* public function while the test runs in 'cuda' mode."""
        calls = {}
        for mod in (cconv, cnorm, celem, coptim, creduce):
            for name in ("im2col", "col2im", "centered_sums", "channel_affine", "channel_affine2",
                         "leaky_relu_forward", "leaky_relu_backward", "dropout_apply", "adam_update",
                         "binary_crossentropy", "binary_crossentropy_grad", "mean_squared_error_rows",
                         "mean_absolute_error_rows"):
                fn = getattr(mod, name, None)
                if fn is None:
                    continue

                def spy(*a, _fn=fn, _name=name, **k):
                    calls[_name] = calls.get(_name, 0) + 1
                    return _fn(*a, **k)
                monkeypatch.setattr(mod, name, spy)
        with dispatch.use("cuda"):
            yield calls

    def test_every_dispatch_function_reaches_its_cuda_kernel_and_agrees_with_cpu(cuda_calls):
        rng = _rng(15)
        x = rng.standard_normal((1, 4, 4, 2)).astype(np.float32)
        cases = {
            "im2col": lambda: dispatch.im2col(x, 2, 2, 2, 2, 0, 0, 0, 0),
            "col2im": lambda: dispatch.col2im(np.ones((4, 8), np.float32), x.shape, 2, 2, 2, 2, (0, 0, 0, 0)),
            "centered_sums": lambda: dispatch.centered_sums(x.reshape(1, 16, 2), x.reshape(1, 16, 2),
                                                            np.zeros((1, 2)), np.zeros((1, 2))),
            "channel_affine": lambda: dispatch.channel_affine(x.reshape(1, 16, 2), np.ones((1, 2)), np.ones((1, 2))),
            "channel_affine2": lambda: dispatch.channel_affine2(x.reshape(1, 16, 2), np.ones((1, 2)), x.reshape(1, 16, 2),
                                                                np.ones((1, 2)), np.ones((1, 2))),
            "leaky_relu_forward": lambda: dispatch.leaky_relu_forward(x, 0.2),
            "leaky_relu_backward": lambda: dispatch.leaky_relu_backward(x, x, 0.2),
            "dropout_apply": lambda: dispatch.dropout_apply(x, x > 0, 2.0),
            "binary_crossentropy": lambda: dispatch.binary_crossentropy(x > 0, np.abs(x) / 4),
            "binary_crossentropy_grad": lambda: dispatch.binary_crossentropy_grad(x > 0, np.abs(x) / 4, x),
            "mean_squared_error_rows": lambda: dispatch.mean_squared_error_rows(x, x * 2),
            "mean_absolute_error_rows": lambda: dispatch.mean_absolute_error_rows(x, x * 2),
        }
        for name, call in cases.items():
            got = call()
            with dispatch.use("auto"):
                want = call()
            for a, b in zip(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,)):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=name)
        p = [x.copy() for _ in range(2)]
        mv = [[np.zeros_like(x), np.zeros_like(x)] for _ in range(2)]
        dispatch.adam_update(p[0], x, *mv[0], 1e-3, 0.9, 0.999, 1e-7)
        with dispatch.use("auto"):
            dispatch.adam_update(p[1], x, *mv[1], 1e-3, 0.9, 0.999, 1e-7)
        np.testing.assert_allclose(p[0], p[1], rtol=1e-6)
        assert set(cuda_calls) == set(cases) | {"adam_update"}

    def test_dispatch_falls_back_to_reference_for_broadcast_masks_and_labels(cuda_calls):
        x = np.ones((2, 3, 4), np.float32)
        y = dispatch.dropout_apply(x, np.array([[[1], [0], [1]]], bool), 2.0)  # noise_shape-style mask
        np.testing.assert_array_equal(y[:, 1], 0)
        np.testing.assert_array_equal(y[:, 0], 2)
        assert "dropout_apply" not in cuda_calls

    # ---- the ops, once they call kernels.dispatch ---------------------------------------------

    @pytest.mark.parametrize("op", ["batch_norm", "instance_norm"])
    def test_norm_ops_through_the_cuda_passes_match_cpu(cuda_calls, monkeypatch, op):
        """tinygan.ops.norm forward and backward with its passes taken from kernels.dispatch (the wiring
        ``_kernel = lambda name: getattr(dispatch, name)``), in 'cuda' mode, against the CPU kernels."""
        import tinygan as tg
        from tinygan import ops
        from tinygan.ops import norm as norm_ops

        monkeypatch.setattr(norm_ops, "_kernel", lambda name: getattr(dispatch, name), raising=False)
        rng = _rng(17)
        x = rng.standard_normal((2, 5, 4, 3)).astype(np.float32)
        gamma, beta = rng.standard_normal(3).astype(np.float32), rng.standard_normal(3).astype(np.float32)
        g = rng.standard_normal(x.shape).astype(np.float32)

        def run():
            ts = [tg.Tensor(a.copy(), requires_grad=True) for a in (x, gamma, beta)]
            out = getattr(ops, op)(*ts, eps=1e-3)
            y = out[0] if isinstance(out, tuple) else out
            y.backward(tg.Tensor(g))
            return [y.numpy()] + [t.grad.numpy() for t in ts]

        got = run()
        with dispatch.use("auto"):
            want = run()
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
        assert {"centered_sums", "channel_affine", "channel_affine2"} <= set(cuda_calls)

    @pytest.mark.parametrize("noise_shape", [None, (None, 1, 5)])
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_dropout_op_through_the_cuda_kernel_matches_cpu_bitwise(cuda_calls, dtype, noise_shape):
        """ops.dropout forward and backward with the same seeded mask: the CUDA kernel for a full mask (one call
        each way), the array code for a noise_shape mask, both bit for bit the CPU result."""
        import tinygan as tg
        from tinygan import random as tg_random
        from tinygan.ops.random import dropout

        rng = _rng(19)
        x, g = (rng.standard_normal((3, 4, 5)).astype(dtype) for _ in range(2))

        def run():
            tg_random.seed(7)
            xt = tg.Tensor(x, requires_grad=True)
            y = dropout(xt, 0.4, noise_shape=noise_shape)
            y.backward(tg.Tensor(g))
            return y.numpy(), xt.grad.numpy()

        got = run()
        with dispatch.use("auto"):
            want = run()
        for a, b in zip(got, want):
            assert a.dtype == dtype
            np.testing.assert_array_equal(a, b)
        assert cuda_calls == ({} if noise_shape else {"dropout_apply": 2})

    LOSS_KERNELS = {"binary_crossentropy": {"binary_crossentropy", "binary_crossentropy_grad"},
                    "mean_squared_error": {"mean_squared_error_rows"},
                    "mean_absolute_error": {"mean_absolute_error_rows"}}

    @pytest.mark.parametrize("loss", sorted(LOSS_KERNELS))
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_loss_ops_through_the_cuda_kernels_match_cpu(cuda_calls, dtype, loss):
        """The loss op's value, its gradients in y_true and y_pred, and the second derivatives of the y_pred
        gradient (BCE's goes through the gradient kernel again), in 'cuda' mode against the CPU."""
        import tinygan as tg
        from tinygan import ops

        t, p = _bce_data(dtype)
        rng = _rng(20)
        g, u = rng.standard_normal(p.shape[0]).astype(dtype), rng.standard_normal(p.shape).astype(dtype)

        def run():
            tt, pt = tg.Tensor(t, requires_grad=True), tg.Tensor(p, requires_grad=True)
            out = getattr(ops, loss)(tt, pt)
            gt, gp = tg.grad(out, [tt, pt], grad_outputs=tg.Tensor(g), create_graph=True)
            return [out, gt, gp] + tg.grad(ops.sum(gp * tg.Tensor(u)), [tt, pt])

        got = [a.numpy() for a in run()]
        with dispatch.use("auto"):
            want = [a.numpy() for a in run()]
        # the simulator evaluates math.log/exp in double precision, so float32 results differ in the last bits
        tol = _tol(dtype) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
        for name, a, b in zip(["value", "d/dt", "d/dp", "d2/dp dt", "d2/dp2"], got, want):
            assert a.dtype == dtype
            np.testing.assert_allclose(a, b, err_msg=name, **tol)
        assert set(cuda_calls) == LOSS_KERNELS[loss]

    def test_ops_train_step_through_cuda_kernels_matches_cpu(cuda_calls):
        """A conv -> batch norm -> leaky_relu -> conv -> sigmoid -> BCE step, forward and backward, with the
        kernels in 'cuda' mode against the same step on the CPU kernels. Whatever the ops route through
        kernels.dispatch is exercised on the CUDA kernels; which kernels that was is reported."""
        import tinygan as tg
        from tinygan import ops

        rng = _rng(16)
        x = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
        w1 = (0.3 * rng.standard_normal((4, 4, 3, 4))).astype(np.float32)
        w2 = (0.3 * rng.standard_normal((3, 3, 4, 1))).astype(np.float32)
        gamma, beta = np.ones(4, np.float32), np.zeros(4, np.float32)
        target = (rng.random((2, 3, 3, 1)) > 0.5).astype(np.float32)

        def step():
            params = [tg.Tensor(a.copy(), requires_grad=True) for a in (w1, w2, gamma, beta)]
            h = ops.conv2d(tg.Tensor(x), params[0], strides=(2, 2), padding="same")
            h, _, _ = ops.batch_norm(h, params[2], params[3], eps=1e-3, training=True)
            h = ops.leaky_relu(h, 0.2)
            y = ops.sigmoid(ops.conv2d(h, params[1], padding="same"))
            loss = ops.mean(ops.binary_crossentropy(tg.Tensor(target), y))
            loss.backward()
            return [loss.numpy()] + [p.grad.numpy() for p in params]

        got = step()
        with dispatch.use("auto"):
            want = step()
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
        print("kernels.cuda functions the ops reached:", dict(sorted(cuda_calls.items())) or "none (ops not wired)")
        assert {"binary_crossentropy", "binary_crossentropy_grad"} <= set(cuda_calls)
