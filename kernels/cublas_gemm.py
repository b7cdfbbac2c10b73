"""Row-major GEMM on CuPy arrays through tinygan's own cuBLAS handle, so that a CUDA graph can record it.

Why not ``cupy.matmul``: CuPy refuses any cuBLAS call while a stream is being captured ("calling cuBLAS API
during stream capture is currently unsupported"), although cuBLAS itself supports capture when the handle has
a workspace of its own (cuBLAS guide, "CUDA Graphs support"). Every convolution and Dense layer is a GEMM, so
without this no training step could be a graph (keras/engine/graph_step.py).

``matmul(a, b)`` takes 2-D float32/float64 CuPy arrays that are C- or F-contiguous (a transposed view of a
C-contiguous array is F-contiguous, as in the conv lowering's ``g2d @ w2d.T`` and ``cols.T @ g2d``) and
returns C-contiguous ``a @ b``, computed by ``cublas<S|D>gemm`` on CuPy's current stream. cuBLAS is
column-major: the row-major C = A @ B is the column-major C^T = B^T @ A^T, which :func:`plan` spells out as
cuBLAS arguments. Anything else (other dtypes, strided views, no cuBLAS library found) returns None and the
caller uses ``a @ b``.

The library is the libcublas that CuPy itself loaded (found in ``/proc/self/maps``), called through ctypes;
the handle gets a 32 MiB workspace (what cuBLAS uses on Hopper) from CuPy's pool, kept for the process.
"""
import ctypes

OP_N, OP_T = 0, 1
WORKSPACE_BYTES = 32 * 2**20
_lib = {}


def plan(a_shape, a_c_contiguous, b_shape, b_c_contiguous):
    """cuBLAS gemm arguments (transa, transb, m, n, k, lda, ldb, ldc) computing the row-major ``a @ b`` into a
    C-contiguous output: the column-major product C^T = op(B) @ op(A), with B passed as cuBLAS's A and A as its
    B. A C-contiguous (r x c) operand is, read column-major, its transpose with leading dimension c (op N); an
    F-contiguous one is itself with leading dimension r, so it is transposed back (op T)."""
    (m, k), (_, n) = a_shape, b_shape
    op_b, ld_b = (OP_N, max(1, n)) if b_c_contiguous else (OP_T, max(1, k))
    op_a, ld_a = (OP_N, max(1, k)) if a_c_contiguous else (OP_T, max(1, m))
    return op_b, op_a, n, m, k, ld_b, ld_a, max(1, n)


def _library():
    """The libcublas CuPy loaded, with one handle and its workspace; None when it cannot be found."""
    if "lib" not in _lib:
        _lib["lib"] = None
        try:
            import cupy
            cupy.ones((2, 2), cupy.float32) @ cupy.ones((2, 2), cupy.float32)  # makes CuPy load cuBLAS
            with open("/proc/self/maps") as maps:
                paths = {line.split()[-1] for line in maps if "/libcublas.so" in line}
            lib = ctypes.CDLL(sorted(paths)[0]) if paths else None
            if lib is not None:
                handle = ctypes.c_void_p()
                _check(lib.cublasCreate_v2(ctypes.byref(handle)), "cublasCreate_v2")
                workspace = cupy.empty(WORKSPACE_BYTES, cupy.uint8)
                _check(lib.cublasSetWorkspace_v2(handle, ctypes.c_void_p(workspace.data.ptr),
                                                 ctypes.c_size_t(WORKSPACE_BYTES)), "cublasSetWorkspace_v2")
                _lib.update(lib=lib, handle=handle, workspace=workspace,
                            gemm={"float32": (lib.cublasSgemm_v2, ctypes.c_float),
                                  "float64": (lib.cublasDgemm_v2, ctypes.c_double)})
        except (OSError, AttributeError, RuntimeError, ImportError):  # no usable cuBLAS: CuPy's matmul instead
            _lib["lib"] = None
    return _lib["lib"]


def _check(status, what):
    if status != 0:
        raise RuntimeError(f"{what} failed with cuBLAS status {status}")


def available():
    return _library() is not None


def matmul(a, b):
    """``a @ b`` for 2-D C- or F-contiguous float32/float64 CuPy arrays of one dtype; None for anything else."""
    if a.ndim != 2 or b.ndim != 2 or a.dtype != b.dtype or a.dtype.name not in ("float32", "float64") \
            or not (a.flags.c_contiguous or a.flags.f_contiguous) \
            or not (b.flags.c_contiguous or b.flags.f_contiguous) or a.shape[1] != b.shape[0] \
            or _library() is None:
        return None
    import cupy
    out = cupy.empty((a.shape[0], b.shape[1]), a.dtype)
    if out.size == 0 or a.shape[1] == 0:
        out.fill(0)
        return out
    fn, ctype = _lib["gemm"][a.dtype.name]
    op_b, op_a, m, n, k, ld_b, ld_a, ld_c = plan(a.shape, a.flags.c_contiguous, b.shape, b.flags.c_contiguous)
    lib, handle = _lib["lib"], _lib["handle"]
    _check(lib.cublasSetStream_v2(handle, ctypes.c_void_p(cupy.cuda.get_current_stream().ptr)), "cublasSetStream_v2")
    one, zero = ctype(1.0), ctype(0.0)
    _check(fn(handle, op_b, op_a, m, n, k, ctypes.byref(one), ctypes.c_void_p(b.data.ptr), ld_b,
              ctypes.c_void_p(a.data.ptr), ld_a, ctypes.byref(zero), ctypes.c_void_p(out.data.ptr), ld_c),
           f"cublas gemm {a.shape} @ {b.shape}")
    return out
