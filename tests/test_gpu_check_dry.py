"""bench/gpu_check.sh --dry: the device check runs on the CPU up to where it needs a GPU (issue 17), so a broken
script or benchmark is found here rather than in a few minutes of lent GPU time."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_dry_run_collects_the_gpu_tests_and_runs_the_benchmark_code(tmp_path):
    env = dict(os.environ, OUT=str(tmp_path), PYTHON=sys.executable, OPENBLAS_NUM_THREADS="1")
    env.pop("TINYGAN_DEVICE", None)
    proc = subprocess.run(["bash", str(ROOT / "bench" / "gpu_check.sh"), "--dry"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = (tmp_path / "summary.txt").read_text()
    assert "all steps passed" in summary
    log = (tmp_path / "check.log").read_text()
    assert "test_gpu.py::test_pix2pix_generator_gradients_gpu_match_cpu" in log  # collected, not run
    table = (tmp_path / "gpu_bench.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ") and "dry run" in line]
    assert len(rows) == 3 and all(" ms |" in row for row in rows), table
    assert "tinygan" in (tmp_path / "profile.txt").read_text()
    op_times = (tmp_path / "op_times.txt").read_text()  # each model's ops, on the host clock in a dry run
    assert op_times.count("==== ") == 3 and " Conv2D fwd " in op_times and "outside ops" in op_times, op_times
