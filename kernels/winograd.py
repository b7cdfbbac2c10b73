"""Winograd F(2x2, 2x2) for 4x4 stride-2 convolutions: the book's every down- and up-sampling layer.

A 4x4 stride-2 conv is a 2x2 stride-1 conv of the space-to-depth image S, whose pixel (p, q) holds the 2x2
block of (padded) input pixels at (2p, 2q) as 4*C channels. F(2x2, 2x2) makes each 2x2 block of that conv's
outputs from one 3x3 tile of S with 9 channel products (GEMMs over all tiles at once) instead of 16: 1.78x
fewer multiply-adds. In one dimension, for y0 = x0 g0 + x1 g1 and y1 = x1 g0 + x2 g1:

    m0 = (x0 - x1) g0,   m1 = x1 (g0 + g1),   m2 = (x2 - x1) g1;      y0 = m0 + m1,   y1 = m1 + m2

that is V = B^T x = (x0 - x1, x1, x2 - x1), U = G g = (g0, g0 + g1, g1), y = A^T m = (m0 + m1, m1 + m2);
in two dimensions each transform runs along both axes and the 9 products are M[xi] = V[xi] @ U[xi]. Every
transform coefficient is 0 or +-1, so float32 rounding is that of a direct sum of a few more terms.

The three products a conv layer needs, all built from the same tiles:

* forward        y = A^T [ V(S) @ U(w) ] A
* weight grad    dU = V(S)^T @ (A dy A^T) summed over tiles, then dw = G^T dU G
* input grad     one 2x2 stride-1 conv per output phase (a, b) of dx (rows 2i+a, columns 2j+b), over dy with
                 the kernel's taps (3-a-2dy, 3-b-2dx), channels swapped (derived for the 'same' padding
                 (1, 1, 1, 1) of an even-sized input, the only one it is used for)

The lowering in conv_lowering.py sends a conv here when it has enough tiles to repay the kernel transform
(``worth_it``); everything else, and the results these are tested against, is im2col + GEMM.
"""
import numpy
from numba import njit, prange

from .parallel import parallel_kernel

# Below these the im2col lowering was as fast or faster (per-layer timings at the book's shapes, 2 cores):
MIN_TILES = 256                # 2x2 output tiles, forward and weight gradient: fewer and the thin GEMMs lose
MIN_TILES_INPUT_GRAD = 2048    # the input gradient splits into four phase convs, each needs this many
MIN_CHANNELS = 16              # channels on either side: fewer and the 9 GEMMs are too thin to run fast
MAX_EDGE_WASTE = 1.1           # tiled outputs / real outputs: a 7x7 output takes 4x4 tiles (1.31x) and loses
BAND_BYTES = 32 << 20          # target size of one band of transformed tiles (16 MiB bands were slower: README)
MIN_BAND_TILES = 256           # but at least this many tiles per band (GEMM efficiency)


def n_tiles(n, oh, ow):
    """How many 2x2 tiles cover n images of oh x ow outputs."""
    return n * (-(-oh // 2)) * (-(-ow // 2))


def worth_it(n, oh, ow, cin, cout, input_grad=False):
    """Whether F(2x2, 2x2) beats im2col for a 4x4 stride-2 conv of n images to oh x ow, cin -> cout channels."""
    least = MIN_TILES_INPUT_GRAD if input_grad else MIN_TILES
    tiles = n_tiles(n, oh, ow)
    return tiles >= least and min(cin, cout) >= MIN_CHANNELS and 4 * tiles <= MAX_EDGE_WASTE * n * oh * ow


# ---- tile transforms (Numba) ---------------------------------------------------------------------

@njit(cache=True, inline="always")
def _pixel(x, n, r, c, zero):
    """The channel vector of pixel (r, c) of image n, or zeros where that falls outside x (the padding)."""
    if 0 <= r < x.shape[1] and 0 <= c < x.shape[2]:
        return x[n, r, c]
    return zero


@parallel_kernel(work=lambda *args: args[-1].size)
def _input_tiles(x, s, off_r, off_c, th, tw, t0, t1, v):
    """v[xi, t - t0, (a*s + b)*C + c] = (B^T d B)[xi] for tiles t0..t1 (t = (n*th + ti)*tw + tj), where d is
    the 3x3 tile at (2ti, 2tj) of S[n, p, q, (a, b, c)] = x[n, s*p + a + off_r, s*q + b + off_c, c]
    (s = 2: space-to-depth of the padded input, s = 1: x itself shifted by the offsets)."""
    c = x.shape[3]
    zero = numpy.zeros(c, x.dtype)
    for tt in prange(t1 - t0):
        t = t0 + tt
        n, ti, tj = t // (th * tw), (t // tw) % th, t % tw
        for a in range(s):
            for b in range(s):
                r, q = s * 2 * ti + a + off_r, s * 2 * tj + b + off_c
                p00, p01, p02 = _pixel(x, n, r, q, zero), _pixel(x, n, r, q + s, zero), _pixel(x, n, r, q + 2 * s, zero)
                r += s
                p10, p11, p12 = _pixel(x, n, r, q, zero), _pixel(x, n, r, q + s, zero), _pixel(x, n, r, q + 2 * s, zero)
                r += s
                p20, p21, p22 = _pixel(x, n, r, q, zero), _pixel(x, n, r, q + s, zero), _pixel(x, n, r, q + 2 * s, zero)
                base = (a * s + b) * c
                for ch in range(c):
                    d01_11 = p01[ch] - p11[ch]
                    d21_11 = p21[ch] - p11[ch]
                    v[0, tt, base + ch] = (p00[ch] - p10[ch]) - d01_11
                    v[1, tt, base + ch] = d01_11
                    v[2, tt, base + ch] = (p02[ch] - p12[ch]) - d01_11
                    v[3, tt, base + ch] = p10[ch] - p11[ch]
                    v[4, tt, base + ch] = p11[ch]
                    v[5, tt, base + ch] = p12[ch] - p11[ch]
                    v[6, tt, base + ch] = (p20[ch] - p10[ch]) - d21_11
                    v[7, tt, base + ch] = d21_11
                    v[8, tt, base + ch] = (p22[ch] - p12[ch]) - d21_11


@parallel_kernel(work=lambda m, *_: m.size)
def _output_tiles(m, th, tw, t0, t1, bias, y):
    """y[n, 2ti + i, 2tj + j] = (A^T M A)[i, j] + bias for tiles t0..t1 (parts past y's edge dropped);
    y may be a strided view (one output phase of a bigger array)."""
    oh, ow, k = y.shape[1], y.shape[2], y.shape[3]
    for tt in prange(t1 - t0):
        t = t0 + tt
        n, ti, tj = t // (th * tw), (t // tw) % th, t % tw
        i0, j0 = 2 * ti, 2 * tj
        down, right = i0 + 1 < oh, j0 + 1 < ow
        for ch in range(k):
            a0 = m[0, tt, ch] + m[3, tt, ch]
            a1 = m[1, tt, ch] + m[4, tt, ch]
            a2 = m[2, tt, ch] + m[5, tt, ch]
            b0 = m[3, tt, ch] + m[6, tt, ch]
            b1 = m[4, tt, ch] + m[7, tt, ch]
            b2 = m[5, tt, ch] + m[8, tt, ch]
            y[n, i0, j0, ch] = a0 + a1 + bias[ch]
            if right:
                y[n, i0, j0 + 1, ch] = a1 + a2 + bias[ch]
            if down:
                y[n, i0 + 1, j0, ch] = b0 + b1 + bias[ch]
                if right:
                    y[n, i0 + 1, j0 + 1, ch] = b1 + b2 + bias[ch]


@parallel_kernel(work=lambda *args: args[-1].size)
def _grad_tiles(g, th, tw, t0, t1, dm):
    """dm[xi, t - t0] = (A dy A^T)[xi] for the 2x2 tile at (2ti, 2tj) of g (zeros past its edge): the
    output-gradient side of the weight gradient."""
    k = g.shape[3]
    zero = numpy.zeros(k, g.dtype)
    for tt in prange(t1 - t0):
        t = t0 + tt
        n, ti, tj = t // (th * tw), (t // tw) % th, t % tw
        i0, j0 = 2 * ti, 2 * tj
        y00, y01 = _pixel(g, n, i0, j0, zero), _pixel(g, n, i0, j0 + 1, zero)
        y10, y11 = _pixel(g, n, i0 + 1, j0, zero), _pixel(g, n, i0 + 1, j0 + 1, zero)
        for ch in range(k):
            c0 = y00[ch] + y10[ch]
            c1 = y01[ch] + y11[ch]
            dm[0, tt, ch] = y00[ch]
            dm[1, tt, ch] = y00[ch] + y01[ch]
            dm[2, tt, ch] = y01[ch]
            dm[3, tt, ch] = c0
            dm[4, tt, ch] = c0 + c1
            dm[5, tt, ch] = c1
            dm[6, tt, ch] = y10[ch]
            dm[7, tt, ch] = y10[ch] + y11[ch]
            dm[8, tt, ch] = y11[ch]


# ---- kernel transforms and layouts (array code: small next to the GEMMs) --------------------------

def expand_kernel(w2):
    """U = G w2 G^T: (2, 2, C, K) -> (9, C, K), each axis (g0, g1) -> (g0, g0 + g1, g1)."""
    u = numpy.empty((3, 3) + w2.shape[2:], w2.dtype)
    rows = (w2[0], None, w2[1])
    for i in (0, 2):
        u[i, 0], u[i, 2] = rows[i][0], rows[i][1]
        numpy.add(rows[i][0], rows[i][1], out=u[i, 1])
    numpy.add(u[0], u[2], out=u[1])
    return u.reshape((9,) + w2.shape[2:])


def contract_kernel(du):
    """dw2 = G^T dU G: (9, C, K) -> (2, 2, C, K), each axis (u0, u1, u2) -> (u0 + u1, u1 + u2)."""
    du = du.reshape((3, 3) + du.shape[1:])
    rows = (du[0] + du[1], du[1] + du[2])
    dw2 = numpy.empty((2, 2) + du.shape[2:], du.dtype)
    for i in (0, 1):
        numpy.add(rows[i][0], rows[i][1], out=dw2[i, 0])
        numpy.add(rows[i][1], rows[i][2], out=dw2[i, 1])
    return dw2


def to_space_to_depth(w):
    """A (4, 4, C, K) stride-2 kernel as the (2, 2, 4C, K) kernel of the space-to-depth image
    (w2[dy, dx, (a, b, c)] = w[2dy + a, 2dx + b, c])."""
    c, k = w.shape[2:]
    return w.reshape(2, 2, 2, 2, c, k).transpose(0, 2, 1, 3, 4, 5).reshape(2, 2, 4 * c, k)


def from_space_to_depth(w2):
    """The inverse of :func:`to_space_to_depth`."""
    c, k = w2.shape[2] // 4, w2.shape[3]
    return numpy.ascontiguousarray(w2.reshape(2, 2, 2, 2, c, k).transpose(0, 2, 1, 3, 4, 5).reshape(4, 4, c, k))


def phase_kernel(w, a, b):
    """The (2, 2, K, C) kernel that makes output phase (a, b) of the input gradient from the output gradient:
    taps (3 - a - 2dy, 3 - b - 2dx) of w (4, 4, C, K), channels swapped."""
    return numpy.ascontiguousarray(w[3 - a::-2, 3 - b::-2].transpose(0, 1, 3, 2))


# ---- the banded products ----------------------------------------------------------------------------

class _Tiles:
    """The 2x2 output tiles of a conv with (oh, ow) outputs per image, and how many go in one band."""

    def __init__(self, n, oh, ow, width, itemsize):
        self.th, self.tw = -(-oh // 2), -(-ow // 2)
        self.count = n * self.th * self.tw
        per_tile = 9 * width * itemsize
        self.band = int(min(max(BAND_BYTES // per_tile, MIN_BAND_TILES), self.count))

    def bands(self):
        for t0 in range(0, self.count, self.band):
            yield t0, min(t0 + self.band, self.count)


def _gemms(v, u, out):
    """out[xi] = v[xi] @ u[xi]: the 9 channel products of one band of tiles."""
    for xi in range(9):
        numpy.matmul(v[xi], u[xi], out=out[xi])


def _accumulate_at_b(v, dm, du, part, first):
    """du[xi] (+)= v[xi].T @ dm[xi]."""
    for xi in range(9):
        if first:
            numpy.matmul(v[xi].T, dm[xi], out=du[xi])
        else:
            numpy.matmul(v[xi].T, dm[xi], out=part[xi])
            du[xi] += part[xi]


def _work(scratch, tiles, *widths, dtype):
    """Views of one scratch buffer: a (9, band, width) block per width."""
    sizes = [9 * tiles.band * w for w in widths]
    buf = scratch(sum(sizes), dtype)
    out, at = [], 0
    for w, size in zip(widths, sizes):
        out.append(buf[at:at + size].reshape(9, tiles.band, w))
        at += size
    return out


def conv_stride2(x, w, pads, oh, ow, scratch, b=None, g=None):
    """The 4x4 stride-2 conv of x (N, H, W, C) with w (4, 4, C, K) padded by pads (t, b, l, r): y (N, oh, ow, K)
    (+ b), and, when the output gradient ``g`` is given, also dw (4, 4, C, K) from the same input tiles.
    ``scratch(n, dtype)`` lends the work buffer."""
    n, _, _, c = x.shape
    k = w.shape[3]
    dtype = numpy.result_type(x, w)
    u = expand_kernel(to_space_to_depth(w.astype(dtype, copy=False)))
    tiles = _Tiles(n, oh, ow, 4 * c + k * (1 if g is None else 2), x.itemsize)
    y = numpy.empty((n, oh, ow, k), dtype)
    bias = numpy.zeros(k, dtype) if b is None else b.astype(dtype, copy=False)
    if g is None:
        v, m = _work(scratch, tiles, 4 * c, k, dtype=dtype)
    else:
        v, m, dm = _work(scratch, tiles, 4 * c, k, k, dtype=dtype)
        du, part = numpy.empty_like(u), numpy.empty_like(u)
    for t0, t1 in tiles.bands():
        vb, mb = v[:, :t1 - t0], m[:, :t1 - t0]
        _input_tiles(x, 2, -pads[0], -pads[2], tiles.th, tiles.tw, t0, t1, vb)
        _gemms(vb, u, mb)
        _output_tiles(mb, tiles.th, tiles.tw, t0, t1, bias, y)
        if g is not None:
            _grad_tiles(g, tiles.th, tiles.tw, t0, t1, dm[:, :t1 - t0])
            _accumulate_at_b(vb, dm[:, :t1 - t0], du, part, t0 == 0)
    if g is None:
        return y
    return y, from_space_to_depth(contract_kernel(du))


def conv_stride2_grad_weight(x, g, pads, scratch):
    """dw (4, 4, C, K) of the 4x4 stride-2 conv of x (N, H, W, C) padded by pads, for output gradient g."""
    n, oh, ow, k = g.shape
    c = x.shape[3]
    dtype = numpy.result_type(x, g)
    tiles = _Tiles(n, oh, ow, 4 * c + k, x.itemsize)
    v, dm = _work(scratch, tiles, 4 * c, k, dtype=dtype)
    du = numpy.empty((9, 4 * c, k), dtype)
    part = numpy.empty_like(du)
    for t0, t1 in tiles.bands():
        vb, dmb = v[:, :t1 - t0], dm[:, :t1 - t0]
        _input_tiles(x, 2, -pads[0], -pads[2], tiles.th, tiles.tw, t0, t1, vb)
        _grad_tiles(g, tiles.th, tiles.tw, t0, t1, dmb)
        _accumulate_at_b(vb, dmb, du, part, t0 == 0)
    return from_space_to_depth(contract_kernel(du))


def conv_stride2_grad_input(g, w, scratch, b=None):
    """dx (N, 2*oh, 2*ow, C) (+ b) of the 4x4 stride-2 conv with 'same' padding (1, 1, 1, 1), from its output
    gradient g (N, oh, ow, K) and kernel w (4, 4, C, K): the transposed convolution, one phase at a time."""
    n, oh, ow, k = g.shape
    c = w.shape[2]
    dtype = numpy.result_type(g, w)
    w = w.astype(dtype, copy=False)
    dx = numpy.empty((n, 2 * oh, 2 * ow, c), dtype)
    bias = numpy.zeros(c, dtype) if b is None else b.astype(dtype, copy=False)
    tiles = _Tiles(n, oh, ow, k + c, g.itemsize)
    v, m = _work(scratch, tiles, k, c, dtype=dtype)
    for a in (0, 1):
        for bb in (0, 1):
            u = expand_kernel(phase_kernel(w, a, bb))
            phase = dx[:, a::2, bb::2]
            for t0, t1 in tiles.bands():
                vb, mb = v[:, :t1 - t0], m[:, :t1 - t0]
                _input_tiles(g, 1, a - 1, bb - 1, tiles.th, tiles.tw, t0, t1, vb)
                _gemms(vb, u, mb)
                _output_tiles(mb, tiles.th, tiles.tw, t0, t1, bias, phase)
    return dx
