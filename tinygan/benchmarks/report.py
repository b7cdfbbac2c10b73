"""The printed report: the header (machine, threads, OpenBLAS, malloc and OpenMP policies, the quiet waits) and the
op/model and peak-memory tables. Formatting only; it measures nothing.
"""
import os
import platform
import statistics

from .case import Row
from .timing import QUIET_BUSY, QUIET_CAP
from .workers import quiet_summary


def _fmt(v, spec, width):
    return f"{'-':>{width}}" if v is None else f"{v:{width}{spec}}"


def format_table(rows, gemm_gflops, title=None):
    """The plain-text table: one line per row, the columns described in the module docstring."""
    derived = [r.derived(gemm_gflops) if isinstance(r, Row) else r for r in rows]
    width = max([len(d["name"]) for d in derived] + [10])
    head = (f"{'case':<{width}}  {'ms':>10}  {'GFLOP/s':>8}  {'floor ms':>9}  {'x floor':>7}  {'torch ms':>10}"
            f"  {'torch x floor':>13}  {'x torch':>7}")
    lines = ([title] if title else []) + [head, "-" * len(head)]
    group = None
    for d in derived:
        if group is not None and d["group"] != group:
            lines.append("")
        group = d["group"]
        if d["error"]:
            lines.append(f"{d['name']:<{width}}  {d['error']}")
            continue
        line = (f"{d['name']:<{width}}  {_fmt(d['tinygan_ms'], '.2f', 10)}  {_fmt(d['gflops'], '.1f', 8)}  "
                f"{_fmt(d['floor_ms'], '.2f', 9)}  {_fmt(d['x_floor'], '.2f', 7)}  {_fmt(d['torch_ms'], '.2f', 10)}  "
                f"{_fmt(d['torch_x_floor'], '.2f', 13)}  {_fmt(d['x_torch'], '.2f', 7)}")
        if d["note"]:
            line += f"  [{d['note']}]"
        lines.append(line)
    return "\n".join(lines)


def format_memory(mem_rows):
    if not mem_rows:
        return ""
    head = (f"{'peak memory of one train step':<30}  {'tinygan MiB':>11}  {'torch MiB':>9}  {'x torch':>7}  "
            f"{'tg step MiB':>11}  {'torch step':>10}  {'tg tracemalloc':>14}")
    lines = [head, "-" * len(head)]
    for m in mem_rows:
        tg, th = m.get("tinygan") or {}, m.get("torch") or {}
        if tg.get("error") or th.get("error"):
            lines.append(f"{m['name']:<30}  tinygan: {tg.get('error', 'ok')}; torch: {th.get('error', 'ok')}")
            continue
        ratio = tg["peak_mib"] / th["peak_mib"] if tg.get("peak_mib") and th.get("peak_mib") else None
        lines.append(f"{m['name']:<30}  {_fmt(tg.get('peak_mib'), '.0f', 11)}  {_fmt(th.get('peak_mib'), '.0f', 9)}  "
                     f"{_fmt(ratio, '.2f', 7)}  {_fmt(tg.get('step_mib'), '.0f', 11)}  "
                     f"{_fmt(th.get('step_mib'), '.0f', 10)}  {_fmt(tg.get('tracemalloc_mib'), '.0f', 14)}")
    lines.append("(MiB above the RSS after imports, fresh subprocess per framework with its own malloc and OpenMP "
                 "defaults; 'step' = above the RSS just before the measured step)")
    return "\n".join(lines)


SEPARATE_WORKERS = "one worker process per framework, each with its own defaults"


def environment(workers, gemm, gemm_torch, quick, repeat, gap=None, rows=(), layout=SEPARATE_WORKERS):
    """The run's environment for the header and the JSON: ``workers`` is {framework: :func:`worker_info`}."""
    tg, th = workers["tinygan"], workers.get("torch") or {}
    return {"python": tg["python"], "numpy": tg["numpy"], "numba": tg["numba"], "torch": th.get("torch"),
            "machine": platform.machine(), "cpus": os.cpu_count(), "layout": layout, "workers": workers,
            "threads": {"numba": tg["threads"]["numba"], "blas": tg["threads"]["blas"],
                        "torch": (th.get("threads") or {}).get("torch")},
            "openblas_core": tg["openblas_core"], "openblas_coretype": tg["openblas_coretype"],
            "gemm_gflops": statistics.median(gemm) if gemm else None, "gemm_samples": gemm,
            "torch_gemm_gflops": statistics.median(gemm_torch) if gemm_torch else None,
            "quick": quick, "repeat": repeat, "gap_s": gap, "quiet_wait": quiet_summary(rows),
            "loadavg_end": _loadavg()}


def _loadavg():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def openblas_text(core, coretype):
    """'OpenBLAS core Haswell (pinned by OPENBLAS_CORETYPE=Haswell in the environment)' and the like."""
    if core is None:
        return "OpenBLAS core unknown (NumPy's BLAS does not say)"
    how = (f"pinned by OPENBLAS_CORETYPE={coretype} in the environment" if coretype
           else "chosen by OpenBLAS for this CPU")
    return f"OpenBLAS core {core} ({how})"


def _pause_text(env):
    """What came before each sample: the idle gap and the wait for a quiet machine, with how long it took."""
    text = "before each sample: " + (f"{env['gap_s'] * 1e3:.0f} ms idle, then " if env.get("gap_s") else "")
    text += f"a wait for a quiet machine (< {QUIET_BUSY:.0%} of CPU time busy, at most {QUIET_CAP:g} s)"
    q = env.get("quiet_wait")
    if q:
        text += (f": median {q['median_ms']:.0f} ms, max {q['max_ms']:.0f} ms, {q['capped']} of {q['samples']} "
                 "samples at the cap")
    return text


def header_text(env):
    t = env["threads"]
    lines = [f"tinygan bench  (numpy {env['numpy']}, numba {env['numba']}, torch {env['torch'] or 'not used'}, "
             f"{env['cpus']} CPUs; threads numba={t['numba']} blas={t['blas'] if t['blas'] is not None else '?'} "
             f"torch={t['torch'] if t['torch'] is not None else '-'})",
             f"{env['layout']}:"]
    for name, info in env["workers"].items():
        lines.append(f"  {name + ':':<8} OpenMP wait policy {info['omp_wait_policy']}; host memory: "
                     f"{info['host_memory']}")
        if name == "tinygan":
            lines.append(f"  {'':<8} OpenBLAS thread timeout {info['openblas_thread_timeout']}")
    lines.append(openblas_text(env["openblas_core"], env["openblas_coretype"]))
    lines.append(f"GEMM floor: np.matmul float32 {env['gemm_gflops']:.1f} GFLOP/s (median of "
                 f"{len(env['gemm_samples'])} samples, {min(env['gemm_samples']):.0f}-{max(env['gemm_samples']):.0f}, "
                 "measured before and after the cases)")
    if env["torch_gemm_gflops"]:
        lines.append(f"            torch.mm float32 {env['torch_gemm_gflops']:.1f} GFLOP/s (same run, for reference)")
    lines.append(f"{'quick shapes' if env['quick'] else 'book shapes'}; medians of {env['repeat']} alternating samples "
                 "(tinygan, torch, tinygan, ...); x torch = tinygan / torch")
    lines.append(_pause_text(env))
    if env.get("loadavg_end"):
        lines.append(f"machine load average at the end (1/5/15 min): {env['loadavg_end']} on {env['cpus']} CPUs "
                     "(other processes share these cores; only same-run ratios count)")
    return "\n".join(lines)
