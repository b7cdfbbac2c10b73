"""The passes of batch and instance normalisation as CUDA kernels: same signatures as ``kernels.norm``.

Both norms see x as (G, M, C) -- G groups with their own statistics (1 for batch norm, N for instance
norm), M positions, C channels -- and ``tinygan/ops/norm.py`` builds forward and backward from three
passes, so those three are what runs on the GPU:

* ``centered_sums(u, v, su, sv)`` -> ``(sum(u - su), sum((u - su) * (v - sv)))`` per (group, channel),
  float64. Forward: u = v = x, su = sv = a sample of x (mean and variance in one centred pass).
  Backward: u = g, su = 0, v = x, sv = mean (sum(g) and sum(g * (x - mean))).
  Two stages, deterministic (no atomics): stage 1 is a grid (channel tiles, row groups, groups) of
  (TILE_C, TILE_R) blocks; threadIdx.x runs along the channels so each warp reads contiguous NHWC
  memory, each thread accumulates a strided subset of the rows in float64, then a shared-memory tree
  over threadIdx.y leaves one partial per (group, row group, channel). Stage 2 sums the (few hundred at
  most) row groups with one CuPy reduction.
* ``channel_affine(x, a, b)`` -> ``x * a + b``, the normalise pass (a, b per (group, channel)).
* ``channel_affine2(g, p, x, q, r)`` -> ``g * p + x * q + r``, the fused dx pass.

The affine passes compute in x's dtype (float32 stays float32), like the CPU kernels.
"""
from numba import cuda, float64

from . import TILE_C, TILE_R, TPB, array_module, blocks_1d, contiguous, launch, row_groups


@cuda.jit
def _centered_sums_kernel(u, v, su, sv, part1, part2):
    m = u.shape[1]
    c_n = u.shape[2]
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    c = cuda.blockIdx.x * TILE_C + tx
    rg = cuda.blockIdx.y
    gi = cuda.blockIdx.z
    n_rg = cuda.gridDim.y
    acc1 = 0.0
    acc2 = 0.0
    if c < c_n:
        mu = su[gi, c]
        mv = sv[gi, c]
        for i in range(rg * TILE_R + ty, m, n_rg * TILE_R):
            du = float64(u[gi, i, c]) - mu
            acc1 += du
            acc2 += du * (float64(v[gi, i, c]) - mv)
    sh1 = cuda.shared.array((TILE_R, TILE_C), float64)
    sh2 = cuda.shared.array((TILE_R, TILE_C), float64)
    sh1[ty, tx] = acc1
    sh2[ty, tx] = acc2
    cuda.syncthreads()
    stride = TILE_R // 2
    while stride > 0:
        if ty < stride:
            sh1[ty, tx] += sh1[ty + stride, tx]
            sh2[ty, tx] += sh2[ty + stride, tx]
        cuda.syncthreads()
        stride //= 2
    if ty == 0 and c < c_n:
        part1[gi, rg, c] = sh1[0, tx]
        part2[gi, rg, c] = sh2[0, tx]


@cuda.jit
def _channel_affine_kernel(x, a, b, m, out):
    # x and out are (G*M, C) views; a and b are (G, C).
    c_n = x.shape[1]
    total = x.shape[0] * c_n
    for idx in range(cuda.grid(1), total, cuda.gridsize(1)):
        row = idx // c_n
        c = idx - row * c_n
        gi = row // m
        out[row, c] = x[row, c] * a[gi, c] + b[gi, c]


@cuda.jit
def _channel_affine2_kernel(g, p, x, q, r, m, out):
    c_n = x.shape[1]
    total = x.shape[0] * c_n
    for idx in range(cuda.grid(1), total, cuda.gridsize(1)):
        row = idx // c_n
        c = idx - row * c_n
        gi = row // m
        out[row, c] = g[row, c] * p[gi, c] + x[row, c] * q[gi, c] + r[gi, c]


def _check3(name, *arrays):
    shape = tuple(arrays[0].shape)
    for a in arrays:
        if a.ndim != 3 or tuple(a.shape) != shape:
            raise ValueError(f"{name}: needs arrays of one (G, M, C) shape, got "
                             + ", ".join(str(tuple(b.shape)) for b in arrays))
    return shape


def _coef(mod, a, shape, dtype):
    """A per-(group, channel) coefficient (anything broadcastable to (G, C)) as a contiguous (G, C) array
    of ``dtype`` on the device."""
    a = mod.asarray(a, dtype=dtype)
    if tuple(a.shape) != tuple(shape):
        a = mod.broadcast_to(a, shape).copy()  # a real (writable) array: tiny, (G, C)
    return mod.ascontiguousarray(a)


def centered_sums(u, v, su, sv):
    """Per (group, channel) over M: ``sum(u - su)`` and ``sum((u - su) * (v - sv))``, as float64 (G, C)."""
    u, v = contiguous(u), contiguous(v)
    g_n, m, c_n = _check3("centered_sums", u, v)
    mod = array_module(u)
    su = _coef(mod, su, (g_n, c_n), "float64")
    sv = _coef(mod, sv, (g_n, c_n), "float64")
    n_rg = row_groups(m)
    part1 = mod.zeros((g_n, n_rg, c_n), "float64")
    part2 = mod.zeros((g_n, n_rg, c_n), "float64")
    if u.size:
        grid = ((c_n + TILE_C - 1) // TILE_C, n_rg, g_n)
        launch(_centered_sums_kernel, grid, (TILE_C, TILE_R), u, v, su, sv, part1, part2)
    return part1.sum(axis=1), part2.sum(axis=1)


def channel_affine(x, a, b):
    """``x * a + b`` with a, b per (group, channel), in x's dtype."""
    x = contiguous(x)
    g_n, m, c_n = _check3("channel_affine", x)
    mod = array_module(x)
    out = mod.empty_like(x)
    if x.size:
        launch(_channel_affine_kernel, blocks_1d(x.size), TPB, x.reshape(g_n * m, c_n),
               _coef(mod, a, (g_n, c_n), x.dtype), _coef(mod, b, (g_n, c_n), x.dtype), m, out.reshape(g_n * m, c_n))
    return out


def channel_affine2(g, p, x, q, r):
    """``g * p + x * q + r`` with p, q, r per (group, channel), in x's dtype."""
    x = contiguous(x)
    mod = array_module(x)
    g = mod.ascontiguousarray(g, dtype=x.dtype)
    g_n, m, c_n = _check3("channel_affine2", x, g)
    out = mod.empty_like(x)
    if x.size:
        p, q, r = (_coef(mod, c, (g_n, c_n), x.dtype) for c in (p, q, r))
        flat = (g_n * m, c_n)
        launch(_channel_affine2_kernel, blocks_1d(x.size), TPB, g.reshape(flat), p, x.reshape(flat), q, r, m,
               out.reshape(flat))
    return out
