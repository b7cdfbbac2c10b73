"""Importing tinygan changes nothing in the process; tinygan.configure_cpu() is the one explicit call that applies
the command's speed defaults (thread-pool environment, host memory policy)."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEED_VARS = ("OMP_WAIT_POLICY", "OPENBLAS_THREAD_TIMEOUT", "TINYGAN_HOST_MEMORY")


def _run(code, **extra_env):
    env = {k: v for k, v in os.environ.items() if k not in SPEED_VARS}
    env.update(PYTHONPATH=ROOT, **extra_env)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_leaves_the_environment_and_malloc_alone():
    result = _run("import json, os; before = dict(os.environ)\n"
                  "import tinygan, tinygan.ops, tinygan.keras.models, tinygan.kernels.dispatch\n"
                  "x = tinygan.Tensor([1.0]) * 2.0\n"
                  "print(json.dumps({'same': dict(os.environ) == before, 'policy': tinygan.host_memory.POLICY}))")
    assert result["same"]
    assert result["policy"] == "system malloc (tinygan.configure_cpu() not called)"


def test_configure_cpu_applies_the_defaults_before_numpy_loads():
    result = _run("import json, os, sys, tinygan\n"
                  "numpy_before = 'numpy' in sys.modules\n"
                  "applied = tinygan.configure_cpu()\n"
                  "print(json.dumps({'numpy_before': numpy_before, 'applied': applied, 'again': tinygan.configure_cpu(),"
                  " 'env': {k: os.environ.get(k) for k in ('OMP_WAIT_POLICY', 'OPENBLAS_THREAD_TIMEOUT')}}))")
    assert not result["numpy_before"]
    assert result["env"] == {"OMP_WAIT_POLICY": "passive", "OPENBLAS_THREAD_TIMEOUT": "4"}
    assert result["applied"]["environ"] == result["env"] and result["again"] == result["applied"]
    assert "kept for reuse" in result["applied"]["host_memory"] or "no glibc" in result["applied"]["host_memory"]


def test_configure_cpu_yields_to_the_users_settings():
    result = _run("import json, os, tinygan\napplied = tinygan.configure_cpu()\n"
                  "print(json.dumps({'applied': applied, 'omp': os.environ['OMP_WAIT_POLICY']}))",
                  OMP_WAIT_POLICY="active", TINYGAN_HOST_MEMORY="system")
    assert result["omp"] == "active" and "OMP_WAIT_POLICY" not in result["applied"]["environ"]
    assert result["applied"]["host_memory"].startswith("system malloc")


def test_the_command_applies_them():
    result = _run("import json, os, sys\nfrom tinygan import cli\n"
                  "cli.main = lambda argv=None: print(json.dumps({'numpy': 'numpy' in sys.modules, "
                  "'omp': os.environ.get('OMP_WAIT_POLICY')})) or 0\n"
                  "cli.command([])")
    assert result == {"numpy": False, "omp": "passive"}
