"""``tinygan bench --scaling``: data-parallel scaling on this machine, 1 rank against N (one thread each).

Each configuration runs in its own ``mpiexec -n R`` job (loopback only) of ``python -m tinygan.distributed.bench``.
Every rank builds the book's train step (:func:`tinygan.benchmarks.make_tinygan_step`: Pix2Pix at batch 1,
DCGAN-MNIST at batch 256 per rank, so R ranks train on R times the samples per step), runs a warm-up step and
then ``repeat`` timed steps (of each kind); rank 0 reports the median step time and the time per step the training thread
spends in all-reduce calls (gradients with their packing and unpacking, losses, synchronized BatchNorm; waits for
the slower rank included; with the gradients' all-reduces overlapped with the backward, their starts, the tests
that move them along and the final wait). In the N-rank job the steps alternate between the two ways of starting
the gradient all-reduces, during the backward and after it (``TINYGAN_OVERLAP=0``), so both see the same load. A last measurement all-reduces a 64 MiB float32 buffer to give the all-reduce bandwidth the README's
extrapolation uses.
"""
import json
import os
import shutil
import subprocess
import sys
import time

import numpy

MODELS = ("dcgan_mnist", "pix2pix")
MODES = ("during", "after")  # when the gradient all-reduces start: during the backward (overlap), after it
BANDWIDTH_BYTES = 64 << 20


class CommClock:
    """Wraps a group's collective calls (blocking all-reduces; the start, test and wait of the ones overlapped
    with the backward) to add up the seconds the training thread spends in them and the bytes they reduce. A call
    made inside another (an all-reduce's wait) is not counted twice."""

    CALLS = ("allreduce_sum", "start_allreduce_sum", "test", "wait")

    def __init__(self, group):
        self.seconds, self.bytes, self._depth, self._group = 0.0, 0, 0, group
        for name in self.CALLS:
            if hasattr(group, name):
                setattr(group, name, self._timed(getattr(group, name), name in self.CALLS[:2]))

    def _timed(self, call, reduces):
        def timed(*args):
            self._depth += 1
            t0 = time.perf_counter()
            try:
                return call(*args)
            finally:
                self._depth -= 1
                if not self._depth:
                    self.seconds += time.perf_counter() - t0
                    self.bytes += sum(a.nbytes for a in args[0]) if reduces else 0
        return timed

    def remove(self):
        for name in self.CALLS:
            self._group.__dict__.pop(name, None)


def allreduce_bandwidth(group, nbytes=BANDWIDTH_BYTES, repeat=5):
    """Median seconds of one all-reduce of ``nbytes`` of float32, and the bus bandwidth in GB/s
    (2 (N-1)/N x bytes / seconds: what each rank sends and receives in a ring all-reduce)."""
    buf = numpy.ones(nbytes // 4, dtype=numpy.float32)
    times = []
    for _ in range(repeat + 1):
        group.allreduce_max(numpy.zeros(1), "barrier")
        t0 = time.perf_counter()
        group.allreduce_sum([buf], "bandwidth probe")
        times.append(time.perf_counter() - t0)
    seconds = float(numpy.median(times[1:]))
    bus = 2 * (group.size - 1) / group.size * nbytes / seconds / 1e9 if group.size > 1 else None
    return seconds, bus


def worker(models, quick, repeat):
    """One rank of a scaling job: time the steps; rank 0 prints one JSON line. On several ranks the steps alternate
    between gradient all-reduces overlapped with the backward and all-reduces after it (``TINYGAN_OVERLAP``, set
    alike on every rank), so that the two are compared under the same load."""
    import warnings
    warnings.filterwarnings("ignore", message="Discrepancy between trainable weights")
    from .. import benchmarks, distributed
    group = distributed.group()
    modes = MODES if group.size > 1 else ("alone",)
    result = {"ranks": group.size, "models": {}}
    barrier = group.comm.Barrier if group.size > 1 else (lambda: None)  # not through the clock's calls
    for model in models:
        step, n_params = benchmarks.make_tinygan_step(model, quick)
        step()  # warm-up: compiles kernels, broadcasts the weights, makes the optimizer slots
        clock = CommClock(group)
        times, comm, sent = ({m: [] for m in modes} for _ in range(3))
        for k in range(repeat * len(modes)):
            mode = modes[k % len(modes)]
            os.environ["TINYGAN_OVERLAP"] = "0" if mode == "after" else "1"
            barrier()
            seconds, nbytes, t0 = clock.seconds, clock.bytes, time.perf_counter()
            step()
            times[mode].append(time.perf_counter() - t0)
            comm[mode].append(clock.seconds - seconds)
            sent[mode].append(clock.bytes - nbytes)
        clock.remove()
        result["models"][model] = {
            "params": n_params, "per_rank_batch": benchmarks.model_sizes(quick)[model]["batch"],
            **{m: {"step_s": float(numpy.median(times[m])), "comm_s": float(numpy.mean(comm[m])),
                   "comm_bytes": float(numpy.mean(sent[m]))} for m in modes}}
    if group.size > 1:
        result["allreduce_s"], result["bus_gbps"] = allreduce_bandwidth(group)
        result["allreduce_bytes"] = BANDWIDTH_BYTES
    if group.rank == 0:
        print("SCALING " + json.dumps(result), flush=True)


def launch(ranks, models, quick, repeat, timeout=1800):
    """Run :func:`worker` on ``ranks`` processes (one thread each); its result dict."""
    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")
    if mpiexec is None:
        raise RuntimeError("no mpiexec: pip install 'tinygan[mpi]' (mpi4py and the mpich wheel)")
    cmd = [mpiexec, "-launcher", "fork", "-hosts", "localhost", "-iface", "lo", "-n", str(ranks), sys.executable,
           "-m", "tinygan.distributed.bench", ",".join(models), str(int(quick)), str(repeat)]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("SCALING ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"the {ranks}-rank scaling job failed (exit {proc.returncode}): "
                           f"{(proc.stderr or proc.stdout).strip()[-800:]}")
    return json.loads(lines[-1][len("SCALING "):])


def run(ranks=2, models=MODELS, quick=False, repeat=5, log=print):
    """The table: per model, 1 rank and ``ranks`` ranks (gradient all-reduces during the backward, and after it):
    step time, time in all-reduce calls per step, samples/s."""
    results = []
    for r in (1, ranks):
        log(f"scaling: {r} rank(s), {', '.join(models)} ...")
        results.append(launch(r, models, quick, repeat))
    lines = ["| model | ranks | gradient all-reduces | global batch | step | in all-reduce calls per step | "
             "MB reduced per step | samples/s | weak-scaling efficiency |", "|---|---|---|---|---|---|---|---|---|"]
    for model in models:
        base = results[0]["models"][model]["alone"]
        for res in results:
            n, per_rank = res["ranks"], res["models"][model]["per_rank_batch"]
            for mode in (MODES if n > 1 else ("alone",)):
                m = res["models"][model][mode]
                when = "" if n == 1 else f"{mode} the backward"
                rate = n * per_rank / m["step_s"]
                eff = base["step_s"] / m["step_s"]
                lines.append(f"| {model} | {n} | {when} | {n} x {per_rank} | {m['step_s'] * 1e3:.0f} ms | "
                             f"{m['comm_s'] * 1e3:.0f} ms | {m['comm_bytes'] / 1e6:.0f} | {rate:.1f} | {eff:.2f} |")
    last = results[-1]
    if "bus_gbps" in last:
        lines.append(f"\nall-reduce of {last['allreduce_bytes'] >> 20} MiB float32 on {last['ranks']} ranks: "
                     f"{last['allreduce_s'] * 1e3:.1f} ms, bus bandwidth {last['bus_gbps']:.2f} GB/s")
    lines.append("One thread per rank (OPENBLAS/NUMBA/OMP_NUM_THREADS=1); times are medians of "
                 f"{repeat} steps after a warm-up. On a shared machine only same-run ratios mean anything.")
    return {"results": results}, "\n".join(lines)


if __name__ == "__main__":
    worker(sys.argv[1].split(","), bool(int(sys.argv[2])), int(sys.argv[3]))
