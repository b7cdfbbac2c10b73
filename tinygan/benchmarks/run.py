"""The whole benchmark as ``tinygan bench`` runs it: start the workers, time the selected cases, measure peak
memory, and return the JSON result and the printed text; or a cProfile of one train step (``--profile``).
"""
import statistics
import time

from .memory import memory_rows
from .model_cases import make_tinygan_step, select_cases
from .model_specs import model_label
from .registry import DEFAULT_THREADS, MODEL_NAMES
from .report import environment, format_memory, format_table, header_text
from .timing import set_threads
from .workers import DEFAULT_GAP, WorkerError, run_case, start_workers, torch_installed, worker_gemm_rate


def profile_step(model, quick=False, top=15, sort="tottime", threads=DEFAULT_THREADS, blas_threads=None):
    """cProfile of one tinygan train step after a warm-up step; returns the pstats text (top ``top``)."""
    import cProfile
    import io
    import pstats
    set_threads(threads, use_torch=False, blas_threads=blas_threads)
    step, _ = make_tinygan_step(model, quick)
    step()
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    step()
    prof.disable()
    wall = time.perf_counter() - t0
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats(sort).print_stats(top)
    return f"cProfile of one {model_label(model, quick)} (wall {wall:.2f} s under the profiler)\n" + buf.getvalue()


def _timed_rows(selected, workers, repeat, quick, gap, gemm_rate_now, log):
    """Run each selected case in the workers, logging one progress line per case."""
    rows = []
    for i, case in enumerate(selected):
        rep = repeat or (3 if quick else (5 if case.group == "ops" else 3))
        t0 = time.perf_counter()
        row = run_case(case, workers, rep, gap=gap)
        rows.append(row)
        d = row.derived(gemm_rate_now)
        summary = row.error or (f"{d['tinygan_ms']:.2f} ms"
                                + (f", torch {d['torch_ms']:.2f} ms" if d["torch_ms"] else "")
                                + f"; quiet wait median {statistics.median(row.waits) * 1e3:.0f} ms")
        log(f"[{i + 1}/{len(selected)}] {case.name}: {summary}  ({time.perf_counter() - t0:.1f} s)")
    return rows


def _start_info(workers, log):
    """Each worker's :func:`worker_info`; a torch worker that cannot start is dropped with a log line."""
    info = {}
    for framework, worker in list(workers.items()):
        try:
            info[framework] = worker.call("env")
        except WorkerError as exc:
            if framework == "tinygan":
                raise
            log(f"{exc}; timing tinygan alone")
            worker.close()
            del workers[framework]
    return info


def run_benchmarks(cases="all", repeat=None, quick=False, threads=DEFAULT_THREADS, use_torch=True, pattern=None,
                   memory=True, gemm_size=None, gap=None, blas_threads=None, log=print):
    """Run the selected cases in one worker process per framework and (for models) the peak-memory comparison.
    Returns a JSON-able dict and the printed text. ``log`` gets progress lines."""
    frameworks = ("tinygan", "torch") if use_torch and torch_installed() else ("tinygan",)
    gap = DEFAULT_GAP[quick] if gap is None else gap
    gemm_n, gemm_rep = (1024, 10) if quick else (2048, 7)
    gemm_n = gemm_size or gemm_n
    selected = select_cases(cases, quick, pattern)
    with start_workers(frameworks, quick, threads, blas_threads) as workers:
        info = _start_info(workers, log)
        gemm = worker_gemm_rate(workers["tinygan"], gemm_n, gemm_rep)
        gemm_torch = worker_gemm_rate(workers["torch"], gemm_n, 3) if "torch" in workers else []
        rows = _timed_rows(selected, workers, repeat, quick, gap, statistics.median(gemm), log)
        gemm += worker_gemm_rate(workers["tinygan"], gemm_n, gemm_rep)
    env = environment(info, gemm, gemm_torch, quick, repeat or ("3" if quick else "5 (ops) / 3 (models)"), gap, rows)
    rate = env["gemm_gflops"]
    mem = []
    models = sorted({c.model for c in selected if c.model}, key=MODEL_NAMES.index)
    if quick:
        models = [m for m in models if m == "pix2pix"]     # the one the issue asks for; keeps --quick short
    if memory and models:
        log("peak memory: " + ", ".join(models))
        t0 = time.perf_counter()
        mem = memory_rows(models, quick, threads, "torch" in workers, blas_threads)
        log(f"peak memory done ({time.perf_counter() - t0:.1f} s)")
    text = header_text(env) + "\n\n" + format_table(rows, rate)
    if mem:
        text += "\n\n" + format_memory(mem)
    result = {"environment": env, "rows": [r.derived(rate) for r in rows], "memory": mem}
    return result, text
