"""Averaging gradients over the ranks in few all-reduce calls.

Small gradients (biases, BatchNorm's gamma and beta, small kernels) are packed into flat buckets of at most
``BUCKET_BYTES`` per dtype and reduced as one array each; a gradient at least that big is reduced in place on
its own. All buckets are started at once (non-blocking) and waited for together. Every rank gets the same sum:
MPI and NCCL hand each rank the one reduced result.

There is no overlap with the backward pass: tinygan's ``grad()`` returns the gradients together when the walk
ends, and on this project's 2-core machines the ranks have no idle core that could progress a reduction while
the backward runs.
"""
import numpy

BUCKET_BYTES = 4 << 20


def plan(arrays, bucket_bytes=BUCKET_BYTES):
    """Groups of indices into ``arrays``: one group per bucket (same dtype, at most ``bucket_bytes`` together)
    or per big array, in parameter order."""
    groups, open_bucket = [], {}
    for i, a in enumerate(arrays):
        if a.nbytes >= bucket_bytes:
            groups.append([i])
            continue
        key = str(a.dtype)
        bucket = open_bucket.get(key)
        if bucket is None or sum(arrays[j].nbytes for j in bucket) + a.nbytes > bucket_bytes:
            bucket = open_bucket[key] = []
            groups.append(bucket)
        bucket.append(i)
    return groups


def allreduce_mean(group, arrays, what="gradient all-reduce"):
    """Each array averaged over the ranks (new contiguous arrays; the inputs are left alone)."""
    if group.size == 1:
        return list(arrays)
    from .. import backend
    xp = backend.xp() if arrays and not isinstance(arrays[0], numpy.ndarray) else numpy
    arrays = list(arrays)
    buffers, groups = [], plan(arrays)
    for g in groups:
        if len(g) == 1:
            buffers.append(xp.array(arrays[g[0]], copy=True, order="C"))
        else:
            buffers.append(xp.concatenate([arrays[i].reshape(-1) for i in g]))
    group.allreduce_sum(buffers, f"{what} ({len(buffers)} bucket{'s' * (len(buffers) > 1)})")
    out = [None] * len(arrays)
    for g, buf in zip(groups, buffers):
        buf *= buf.dtype.type(1.0 / group.size)
        offset = 0
        for i in g:
            n = arrays[i].size
            out[i] = buf[offset:offset + n].reshape(arrays[i].shape)
            offset += n
    return out
