"""Averaging gradients over the ranks in few all-reduce calls.

Small gradients (biases, BatchNorm's gamma and beta, small kernels) are packed into flat buckets of at most
``BUCKET_BYTES`` per dtype and reduced as one array each; a gradient at least that big is reduced in place on
its own. Every rank gets the same sum: MPI and NCCL hand each rank the one reduced result.

Under MPI (NumPy arrays) the buckets' all-reduces overlap the backward pass: ``tinygan.autograd.grad``'s
``on_final`` hook hands in each gradient as soon as every op that uses it has been processed (the last layers'
first), and a bucket starts as soon as it is full (:class:`BucketedMean`). With NCCL (CuPy arrays) the buckets are
reduced after the backward, on the compute stream (overlap there would need a second stream).
"""
import numpy

from .. import backend

BUCKET_BYTES = 4 << 20


def plan(arrays, bucket_bytes=None):
    """Groups of indices into ``arrays``: one group per bucket (same dtype, at most ``bucket_bytes`` together,
    default ``BUCKET_BYTES``) or per big array, in parameter order."""
    bucket_bytes = bucket_bytes or BUCKET_BYTES
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
    return BucketedMean(group, arrays, what).result(arrays)


class BucketedMean:
    """The average over the ranks of one step's gradients, packed into the buckets of :func:`plan`.

    With ``overlap`` (MPI, NumPy arrays) the backward hands in each gradient as soon as it is complete
    (:meth:`gradient_done`, the ``on_final`` hook of ``tinygan.autograd.grad``) and a bucket's all-reduce starts,
    non-blocking, once all of its gradients are in; every later hand-in lets MPI progress the started ones.
    :meth:`result` packs what was not handed in, reduces it, waits for everything and returns the averages. The
    buckets, their contents and MPI's sums are the same with or without overlap, so the results are bitwise equal.
    """

    def __init__(self, group, like, what="gradient all-reduce", overlap=False):
        self.group, self.what, self.overlap = group, what, overlap
        self.like = list(like)  # arrays with the gradients' shapes and dtypes (the parameters, or the gradients)
        self.groups = plan(self.like)
        self.bucket_of = {i: b for b, members in enumerate(self.groups) for i in members}
        self.missing = [len(members) for members in self.groups]
        self.parts = [None] * len(self.like)
        self.buffers = [None] * len(self.groups)
        self.started = [False] * len(self.groups)
        self.requests = []

    def gradient_done(self, i, gradient):
        """The backward's hook: ``gradient`` (a Tensor) of parameter ``i`` is complete."""
        self.add(i, gradient.data)

    def add(self, i, array):
        self.parts[i] = array.astype(self.like[i].dtype, copy=False)
        b = self.bucket_of[i]
        self.missing[b] -= 1
        if not self.missing[b]:
            self._pack(b)
            if self.overlap:
                self.requests += self.group.start_allreduce_sum([self.buffers[b]])
                self.started[b] = True
        if self.overlap and self.requests:
            self.group.test(self.requests)

    def _pack(self, b):
        members = self.groups[b]
        first = self.parts[members[0]]
        xp = numpy if isinstance(first, numpy.ndarray) else backend.xp()  # CuPy arrays: NCCL
        self.buffers[b] = (xp.array(first, copy=True, order="C") if len(members) == 1 else
                           xp.concatenate([self.parts[i].reshape(-1) for i in members]))

    def result(self, arrays):
        """The averages of every gradient (``arrays``: all of them, in parameter order; those handed in already
        are not read again)."""
        for i, a in enumerate(arrays):
            if self.parts[i] is None:
                self.add(i, a)
        rest = [buf for buf, started in zip(self.buffers, self.started) if not started]
        n = len(self.buffers)
        what = f"{self.what} ({n} bucket{'s' * (n > 1)})"
        if self.requests:
            self.group.wait(self.requests, what)
        if rest:
            self.group.allreduce_sum(rest, what)
        out = [None] * len(self.like)
        for members, buf in zip(self.groups, self.buffers):
            buf *= buf.dtype.type(1.0 / self.group.size)
            offset = 0
            for i in members:
                out[i] = buf[offset:offset + self.like[i].size].reshape(self.like[i].shape)
                offset += self.like[i].size
        return out
