"""The same collectives on CuPy arrays, through NCCL (``cupy.cuda.nccl``), GPU memory to GPU memory.

MPI still starts the ranks and carries NCCL's unique id from rank 0 to the others; then each rank drives the
GPU ``local rank % GPUs on the node`` (``MPI_LOCALRANKID`` / ``OMPI_COMM_WORLD_LOCAL_RANK``). NCCL collectives
run on the current CuPy stream and return at once; the rank then synchronizes the stream under the same
deadline as the MPI collectives, and a timeout aborts the NCCL communicator before aborting the job.
"""
import os

LOCAL_RANK_VARIABLES = ("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID")


def local_rank(default):
    for name in LOCAL_RANK_VARIABLES:
        value = os.environ.get(name)
        if value and value.isdigit():
            return int(value)
    return default


def nccl_dtype(nccl, dtype):
    """NCCL's code for a NumPy/CuPy dtype, or a clear error for one it cannot reduce."""
    codes = {"float16": nccl.NCCL_FLOAT16, "float32": nccl.NCCL_FLOAT32, "float64": nccl.NCCL_FLOAT64,
             "int32": nccl.NCCL_INT32, "int64": nccl.NCCL_INT64, "uint8": nccl.NCCL_UINT8}
    try:
        return codes[str(dtype)]
    except KeyError:
        raise TypeError(f"NCCL collectives take {sorted(codes)} arrays, got {dtype}") from None


class NCCLGroup:
    """An NCCL communicator over the ranks of ``mpi`` (an ``MPIGroup``), made on the first CuPy collective."""

    def __init__(self, mpi):
        import cupy
        from cupy.cuda import nccl
        self.cupy, self.nccl, self.mpi = cupy, nccl, mpi
        self.rank, self.size = mpi.rank, mpi.size
        cupy.cuda.Device(local_rank(mpi.rank) % cupy.cuda.runtime.getDeviceCount()).use()
        uid = mpi.broadcast_object(nccl.get_unique_id() if mpi.rank == 0 else None)
        self.comm = nccl.NcclCommunicator(mpi.size, uid, mpi.rank)
        mpi._on_abort.append(self.comm.abort)

    def _run(self, arrays, what, call):
        stream = self.cupy.cuda.get_current_stream()
        for a in arrays:
            if not a.flags.c_contiguous:
                raise ValueError(f"{what}: NCCL needs contiguous arrays, got one of shape {a.shape}")
            call(a, nccl_dtype(self.nccl, a.dtype), stream.ptr)
        with self.mpi.deadline(f"NCCL {what}"):
            stream.synchronize()
        return arrays

    def allreduce_sum(self, arrays, what="all-reduce"):
        def call(a, dtype, stream):
            self.comm.allReduce(a.data.ptr, a.data.ptr, a.size, dtype, self.nccl.NCCL_SUM, stream)
        return self._run(arrays, what, call)

    def broadcast(self, arrays, what="broadcast"):
        def call(a, dtype, stream):
            self.comm.bcast(a.data.ptr, a.size, dtype, 0, stream)
        return self._run(arrays, what, call)
