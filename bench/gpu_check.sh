#!/usr/bin/env bash
# Every GPU test and the GPU benchmarks in one run, for a device machine lent for a few minutes (issue 17).
#
#   OUT=results/ bash bench/gpu_check.sh          # on a machine with an NVIDIA GPU, CuPy, numba-cuda, PyTorch
#   OUT=results/ bash bench/gpu_check.sh --dry    # anywhere: everything up to the point that needs a device
#
# Steps, each with its own time limit so the whole run stays under 8 minutes on an H200-class machine:
#   1. install tinygan from this working tree without dependencies (the machine has no network);
#   2. print the device, CuPy, Numba CUDA and PyTorch versions;
#   3. pytest -m gpu: the CUDA kernels against the NumPy/CuPy references on real device memory, Pix2Pix and
#      DCGAN train steps on the GPU against the CPU, checkpoints CPU <-> GPU;
#   4. python -m tinygan.gpu_bench: the book's train steps, tinygan (with and without CUDA graphs) vs PyTorch +
#      cuDNN (gpu_bench.md, .json), and where tinygan's device time goes, op by op (op_times.txt);
#   5. the kernel and op benchmarks of bench/test_bench_gpu.py (pytest-benchmark).
# Results go to $OUT (default: a new temporary folder): check.log (every step's output), gpu_bench.md and .json,
# profile.txt (where a tinygan step's host time goes), op_times.txt (its device time), summary.txt.
# --dry skips the install and the device, collects the GPU tests and runs step 4 on the CPU at toy sizes.
# Exit status: 0 when every step passed.
set -uo pipefail
cd "$(dirname "$0")/.."
DRY=0
[ "${1:-}" = "--dry" ] && DRY=1
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
T0=$(date +%s)
FAILED=()

stage() { echo; echo "== $1 (t = $(( $(date +%s) - T0 )) s)"; }
# run NAME LIMIT_S CMD...: the command's output to the terminal and $OUT/check.log; a failure is remembered
run() {
    local name=$1 limit=$2
    shift 2
    echo "---- $name" >> "$OUT/check.log"
    timeout --kill-after=10 "$limit" "$@" 2>&1 | tee -a "$OUT/check.log"
    local rc=${PIPESTATUS[0]}
    [ "$rc" -eq 0 ] || { FAILED+=("$name (exit $rc)"); echo "!! $name failed with exit status $rc"; }
}

if [ "$DRY" -eq 1 ]; then
    stage "dry run: no install, no device"
    run collect_gpu_tests 120 "$PY" -m pytest -m gpu --collect-only -q -p no:cacheprovider tests bench/test_bench_gpu.py
    run gpu_bench 300 "$PY" -m tinygan.gpu_bench --dry --out "$OUT" --profile --op-times
else
    stage "1. install tinygan (no dependencies, no network)"
    run install 180 "$PY" -m pip install --no-deps --no-build-isolation --no-index -q .
    stage "2. device"
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 | tee -a "$OUT/check.log"
    run versions 120 "$PY" -c "
import cupy, numba, numpy
from numba import cuda
print('numpy', numpy.__version__, '| cupy', cupy.__version__, '| numba', numba.__version__)
print('cuda runtime', cupy.cuda.runtime.runtimeGetVersion(), '| driver', cupy.cuda.runtime.driverGetVersion())
print('numba.cuda.is_available():', cuda.is_available())
from tinygan.kernels import cuda as kc
print('tinygan CUDA kernels:', 'yes' if kc.available() else 'NO: ' + str(kc.unavailable_reason()))
try:
    import torch; print('torch', torch.__version__, '| cuda', torch.cuda.is_available(), '| cudnn', torch.backends.cudnn.version())
except ImportError:
    print('torch: not installed')
"
    stage "3. GPU tests"
    run pytest_gpu 300 "$PY" -m pytest -m gpu -q -rfEs -p no:cacheprovider tests
    stage "4. train steps: tinygan vs PyTorch + cuDNN"
    run gpu_bench 300 "$PY" -m tinygan.gpu_bench --out "$OUT" --profile --op-times
    stage "5. kernel and op benchmarks"
    run bench_ops 120 "$PY" -m pytest -m gpu -q -p no:cacheprovider bench/test_bench_gpu.py \
        --benchmark-columns=median,iqr,min,rounds --benchmark-group-by=group --benchmark-sort=name
fi

stage "done"
{
    echo "gpu_check $( [ "$DRY" -eq 1 ] && echo '(dry)' ) finished in $(( $(date +%s) - T0 )) s"
    if [ ${#FAILED[@]} -eq 0 ]; then echo "all steps passed"; else printf 'FAILED: %s\n' "${FAILED[@]}"; fi
    [ -f "$OUT/gpu_bench.md" ] && cat "$OUT/gpu_bench.md"
} | tee "$OUT/summary.txt"
[ ${#FAILED[@]} -eq 0 ]
