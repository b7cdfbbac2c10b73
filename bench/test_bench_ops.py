"""Per-op forward+backward at the book's shapes, next to PyTorch and the GEMM floor (see tinygan.benchmarks)."""
from bench import common


def test_op(op_case, benchmark, bench_session):
    row = common.run_with_benchmark(op_case, benchmark, bench_session.repeat("ops"), bench_session.use_torch,
                                   gap=bench_session.gap)
    d = row.derived(bench_session.rate)
    benchmark.extra_info.update(gflops=d["gflops"], floor_ms=d["floor_ms"], x_floor=d["x_floor"],
                                gemm_gflops=bench_session.rate)
    bench_session.rows.append(row)
