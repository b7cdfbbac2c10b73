"""One random stream per rank, derived from the run's seed, and kept per rank in checkpoints.

Rank 0 draws from the stream of the seed itself, so a run on one process and rank 0 of a run on N start from the
same weights; rank r > 0 draws from ``SeedSequence(seed, spawn_key=(r,))``, independent of every other rank
(its own batches, dropout masks, latent points). A checkpoint keeps the states of all ranks; resumed on the same
number of ranks each rank continues its own stream exactly, and a rank the checkpoint did not have (more ranks
than before) derives a fresh stream from rank 0's saved state.
"""
import numpy

from .world import group, launched_size


def rank_seed(seed, rank=None):
    """The seed rank ``rank`` (default: this one) uses for the run seed ``seed`` (None stays None: OS entropy)."""
    if seed is None:
        return None
    if rank is None:
        rank = group().rank if launched_size() > 1 else 0
    if rank == 0:
        return seed
    return int(numpy.random.SeedSequence(int(seed), spawn_key=(int(rank),)).generate_state(1, numpy.uint64)[0])


def gather_states(state):
    """Every rank's RNG state (``tinygan.random.get_state()``), in rank order; None when alone."""
    g = group() if launched_size() > 1 else None
    if g is None or g.size == 1:
        return None
    return g.allgather_object(state)


def own_state(saved, saved_per_rank):
    """The RNG state this rank resumes with: its own saved one, else (a rank the checkpoint did not have) a
    stream seeded from a draw of rank 0's saved stream."""
    g = group() if launched_size() > 1 else None
    rank = 0 if g is None else g.rank
    if saved_per_rank and rank < len(saved_per_rank):
        return saved_per_rank[rank]
    if rank == 0:
        return saved
    draw = numpy.random.Generator(numpy.random.PCG64())
    draw.bit_generator.state = saved["generator"]
    seed = rank_seed(int(draw.integers(2**63)), rank)
    return {"generator": numpy.random.PCG64(seed).state,
            "legacy": numpy.random.RandomState(seed % 2**32).get_state()}
