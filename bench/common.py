"""Shared helpers of the pytest-benchmark suite.

The measuring code itself lives in :mod:`tinygan.benchmarks` (so ``tinygan bench`` works from an installed
package); this module re-exports what the suite uses and adds the glue to pytest-benchmark:

* GEMM rate: :func:`gemm_rate` (float32 ``np.matmul`` GFLOP/s samples, measured in the same run)
* FLOP counting: :class:`Layer`, :func:`fwd_flops`, :func:`bwd_flops`, :func:`step_flops`
* the timer: :func:`timed`, :func:`calibrate_inner`, and :func:`quiet_pause` (a minimum idle gap, then a wait
  for a quiet machine) before each sample
* torch availability: :func:`torch_or_none`
* peak memory: :func:`measure_memory` (fresh subprocess per framework, RSS high-water mark)
"""
import statistics

from tinygan.benchmarks import (  # noqa: F401 - re-exported for the suite
    DEFAULT_GAP, DEFAULT_THREADS, MODEL_NAMES, Case, Layer, Row, bwd_flops, calibrate_inner, format_memory,
    format_table, fwd_flops, gemm_rate, measure_memory, memory_rows, model_cases, model_label, op_cases, quiet_pause,
    set_threads, step_flops, timed, torch_gemm_rate, torch_or_none, worker_info)


def run_with_benchmark(case, benchmark, repeat, use_torch=True, warmup=1, gap=0.05):
    """Time ``case`` under pytest-benchmark, alternating with PyTorch.

    pytest-benchmark times the tinygan callable (``benchmark.pedantic``, one round per sample); its untimed
    ``setup`` hook runs the PyTorch callable before each round, so the order is T, t, T, t, ... Both sides are
    also timed here with ``perf_counter`` so the ratio does not depend on pytest-benchmark's internals.
    Both frameworks run in this process (pytest-benchmark owns the timing loop; ``tinygan bench`` uses one worker
    process per framework instead). Before each sample comes :func:`quiet_pause`: ``gap`` seconds of idle time,
    then a wait until the machine is quiet (see ``tinygan.benchmarks.wait_quiet``).
    Returns the :class:`Row` (``error`` set and the test skipped when tinygan cannot build the case).
    """
    import pytest

    try:
        tg = case.make_tinygan()
    except Exception as exc:  # a module that has not landed, an op that fails
        pytest.skip(f"tinygan cannot run {case.name}: {type(exc).__name__}: {exc}")
    th = None
    if use_torch and case.make_torch is not None and torch_or_none() is not None:
        th = case.make_torch()
    warm = [timed(tg)] + ([timed(th)] if th else [])
    for _ in range(warmup - 1):
        timed(tg)
        th and timed(th)
    inner = calibrate_inner(min(warm))
    t_samples, torch_samples, waits = [], [], []

    def setup():
        if th is not None:
            waits.append(quiet_pause(gap))
            torch_samples.append(timed(th, inner))
        waits.append(quiet_pause(gap))

    def target():
        t_samples.append(timed(tg, inner))

    benchmark.pedantic(target, setup=setup, rounds=repeat, iterations=1, warmup_rounds=0)
    row = Row(case.name, case.group, case.flops, t_samples, torch_samples, inner, waits=waits)
    benchmark.extra_info.update({
        "calls_per_round": inner,
        "gemm_flops": case.flops,
        "tinygan_ms": statistics.median(t_samples) * 1e3,
        "torch_ms": statistics.median(torch_samples) * 1e3 if torch_samples else None,
        "x_torch": statistics.median(t_samples) / statistics.median(torch_samples) if torch_samples else None,
    })
    return row
