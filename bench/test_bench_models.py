"""One book train step per model (Pix2Pix 256 px b1, DCGAN-MNIST b256, CIFAR-10 DCGAN b128), next to PyTorch and
the GEMM floor, and the peak memory of a train step next to PyTorch's (see tinygan.benchmarks)."""
import pytest

from bench import common


def test_train_step(model_case, benchmark, bench_session):
    row = common.run_with_benchmark(model_case, benchmark, bench_session.repeat("models"), bench_session.use_torch,
                                   gap=bench_session.gap)
    d = row.derived(bench_session.rate)
    benchmark.extra_info.update(gflops=d["gflops"], floor_ms=d["floor_ms"], x_floor=d["x_floor"],
                                torch_x_floor=d["torch_x_floor"], gemm_gflops=bench_session.rate)
    bench_session.rows.append(row)


def test_peak_memory(memory_model, benchmark, bench_session):
    """Fresh subprocess per framework; the benchmark fixture only times the measurement (so --benchmark-only
    keeps it). The MiB numbers are in extra_info and the terminal summary."""
    holder = {}

    def measure():
        holder["row"] = common.memory_rows([memory_model], bench_session.quick, bench_session.threads_info["requested"],
                                           bench_session.use_torch)[0]

    benchmark.pedantic(measure, rounds=1, iterations=1)
    row = holder["row"]
    if row["tinygan"].get("error"):
        pytest.skip(f"tinygan cannot run {memory_model}: {row['tinygan']['error']}")
    bench_session.memory.append(row)
    benchmark.extra_info.update(tinygan_peak_mib=row["tinygan"]["peak_mib"],
                                torch_peak_mib=(row.get("torch") or {}).get("peak_mib"))
