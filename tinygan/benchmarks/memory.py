"""Peak memory of one train step, each framework in a fresh subprocess
(``python -m tinygan.benchmarks memory MODEL FRAMEWORK``): RSS high-water mark over the RSS after imports, and
for tinygan the ``tracemalloc`` peak of one more step.
"""
import gc
import importlib
import json
import re
import subprocess

from .model_cases import make_tinygan_step
from .model_specs import model_label
from .registry import DEFAULT_THREADS
from .timing import set_threads
from .torch_reference import make_torch_step
from .workers import _child_command, _child_env, _options, torch_installed


def _proc_status(key):
    with open("/proc/self/status") as fh:
        m = re.search(rf"^{key}:\s+(\d+) kB", fh.read(), re.M)
    return int(m.group(1)) * 1024 if m else None


def _reset_hwm():
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def memory_child(model, framework, quick, threads, blas_threads=None):
    """Runs inside the subprocess: returns the measurement dict (see the module docstring)."""
    set_threads(threads, use_torch=framework == "torch", blas_threads=blas_threads)
    if framework == "tinygan":     # the imports belong to the baseline (the torch child imported torch first)
        importlib.import_module(f"tinygan.gans.{model}")
    gc.collect()
    rss_imports = _proc_status("VmRSS")
    step, n_params = (make_torch_step if framework == "torch" else make_tinygan_step)(model, quick)
    step()
    step()
    gc.collect()
    rss_before = _proc_status("VmRSS")
    exact = _reset_hwm()
    step()
    hwm = _proc_status("VmHWM")
    out = {"framework": framework, "model": model, "n_params": n_params, "rss_imports_mib": rss_imports / 2 ** 20,
           "rss_before_mib": rss_before / 2 ** 20, "hwm_mib": hwm / 2 ** 20,
           "peak_mib": (hwm - rss_imports) / 2 ** 20, "step_mib": (hwm - rss_before) / 2 ** 20 if exact else None,
           "hwm_reset": exact}
    if framework == "tinygan":
        import tracemalloc
        gc.collect()
        tracemalloc.start()
        step()
        out["tracemalloc_mib"] = tracemalloc.get_traced_memory()[1] / 2 ** 20
        tracemalloc.stop()
    return out


def _memory_result(proc, stdout, stderr):
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    if lines:
        return json.loads(lines[-1])
    err = (stderr.strip().splitlines() or [f"exit status {proc.returncode}, no output"])[-1]
    return {"error": err[:110]}


def measure_memory(models, frameworks=("tinygan", "torch"), quick=False, threads=DEFAULT_THREADS, timeout=900,
                   blas_threads=None):
    """Peak memory of one train step of each model in each framework, each in a fresh subprocess.

    The frameworks of one model run side by side (RSS is per process, so they do not disturb each other's
    numbers; the models run one after the other to bound the machine's memory). Returns {model: {framework: dict}}.
    """
    out, options = {}, _options(quick, threads, blas_threads)
    for model in models:
        procs = {fw: subprocess.Popen(_child_command(fw, ["memory", model, fw, *options]), stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, env=_child_env(fw, threads, blas_threads))
                 for fw in frameworks}
        out[model] = {}
        for fw, proc in procs.items():
            try:
                stdout, stderr = proc.communicate(timeout=timeout)
                out[model][fw] = _memory_result(proc, stdout, stderr)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                out[model][fw] = {"error": f"timed out after {timeout}s"}
    return out


def memory_rows(models, quick=False, threads=DEFAULT_THREADS, use_torch=True, blas_threads=None):
    frameworks = ("tinygan", "torch") if use_torch and torch_installed() else ("tinygan",)
    measured = measure_memory(models, frameworks, quick, threads, blas_threads=blas_threads)
    return [{"name": model_label(model, quick), "model": model, **measured[model]} for model in models]
