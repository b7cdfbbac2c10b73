"""The harness: one worker process per framework (``python -m tinygan.benchmarks worker tinygan|torch``, JSON lines
on stdin/stdout), each started with its own defaults, and the parent's side that times a case alternately in
both (``run_case``) after waiting for a quiet machine.
"""
import contextlib
import gc
import importlib
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

import numpy as np

from ..kernels import blas
from .case import Row, _short_error
from .model_cases import select_cases
from .registry import DEFAULT_THREADS
from .timing import QUIET_BUSY, QUIET_CAP, alternating_median, gemm_rate, quiet_pause, timed, torch_gemm_rate, wait_quiet


DEFAULT_GAP = {True: 0.01, False: 0.05}      # quick: full -> minimum seconds idle before each timed sample


# The workers' entry points. The tinygan worker applies tinygan.configure_cpu() before NumPy loads, as the tinygan
# command does. The torch worker imports torch, and with it its OpenMP runtime (which reads OMP_WAIT_POLICY once,
# as it loads), before anything of tinygan, and never applies tinygan's defaults.
_TINYGAN_FIRST = ("import runpy, tinygan; tinygan.configure_cpu(); "
                  "runpy.run_module('tinygan.benchmarks', run_name='__main__', alter_sys=True)")
_TORCH_FIRST = ("import os, runpy, torch; torch.set_num_threads(int(os.environ['OMP_NUM_THREADS'])); "
                "runpy.run_module('tinygan.benchmarks', run_name='__main__', alter_sys=True)")
_IMPORT_DEFAULTS = ("OMP_WAIT_POLICY", "OPENBLAS_THREAD_TIMEOUT")  # what tinygan.configure_cpu() sets


def torch_installed():
    """Whether torch can be imported, found without importing it (the parent process only coordinates)."""
    return importlib.util.find_spec("torch") is not None


def _imported_before(first, second):
    """True when module ``first`` was imported before ``second`` (or ``second`` not at all): sys.modules keeps
    insertion order."""
    names = list(sys.modules)
    return first in names and (second not in names or names.index(first) < names.index(second))


def _startup_environ():
    """This process's environment as it started: /proc/self/environ keeps it, while os.environ may since have
    taken the defaults of tinygan.configure_cpu(). os.environ where /proc cannot be read."""
    try:
        with open("/proc/self/environ", "rb") as fh:
            raw = fh.read()
    except OSError:
        return dict(os.environ)
    return dict(entry.decode(errors="surrogateescape").partition("=")[::2] for entry in raw.split(b"\0") if entry)


def _child_command(framework, args):
    """argv of a benchmark subprocess of ``framework`` running ``tinygan.benchmarks ARGS``: the tinygan one after
    tinygan.configure_cpu(), the torch one after importing torch (see _TINYGAN_FIRST, _TORCH_FIRST)."""
    entry = ["-c", _TORCH_FIRST if framework == "torch" else _TINYGAN_FIRST]
    return [sys.executable, *entry, *args]


def _options(quick, threads, blas_threads):
    """The options every benchmark subprocess takes."""
    return (["--threads", str(threads)] + (["--quick"] if quick else [])
            + (["--blas-threads", str(blas_threads)] if blas_threads else []))


def _child_env(framework, threads, blas_threads=None):
    """Environment of a benchmark subprocess: the user's, with the defaults tinygan.configure_cpu() set in this
    process taken back (each framework applies its own), the thread counts, and for torch TINYGAN_HOST_MEMORY=system so
    that tinygan's malloc policy (tinygan.host_memory) stays out of its process. OPENBLAS_CORETYPE and the rest
    pass through as the user set them."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(blas_threads or threads),
               NUMBA_NUM_THREADS=str(max(threads, 1)))
    startup = _startup_environ()
    for key in _IMPORT_DEFAULTS:
        env.pop(key, None)
        if key in startup:
            env[key] = startup[key]
    if framework == "torch":
        env["TINYGAN_HOST_MEMORY"] = "system"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


def omp_wait_policy(framework):
    """The OMP_WAIT_POLICY ``framework``'s OpenMP runtime read when it loaded, and where it came from."""
    startup = _startup_environ().get("OMP_WAIT_POLICY")
    loaded_first = framework == "torch" and _imported_before("torch", "tinygan")
    value = startup if loaded_first else os.environ.get("OMP_WAIT_POLICY")
    if value is None:
        return "unset (OpenMP default)"
    return f"{value} ({'environment' if value == startup else 'set by tinygan.configure_cpu()'})"


def openblas_thread_timeout():
    """The OPENBLAS_THREAD_TIMEOUT this process's OpenBLAS read when it loaded, and where it came from."""
    from .. import cpu_defaults
    value = os.environ.get("OPENBLAS_THREAD_TIMEOUT")
    if value is None:
        return "unset (OpenBLAS default, 2**28 cycles)"
    set_here = "OPENBLAS_THREAD_TIMEOUT" in (cpu_defaults.APPLIED or {}).get("environ", {})
    return f"{value} ({'set by tinygan.configure_cpu()' if set_here else 'environment'})"


def worker_info(framework, threads_info):
    """What ``framework``'s process runs with: versions (``torch``: the torch loaded in this process, None in the
    tinygan worker, which never imports it), threads, OpenMP wait policy, tinygan's host memory policy and the
    kernel set of NumPy's OpenBLAS (pinned or not by OPENBLAS_CORETYPE)."""
    import numba

    from .. import host_memory
    lib = blas.numpy_openblas()
    info = {"framework": framework, "pid": os.getpid(), "python": platform.python_version(), "numpy": np.__version__,
            "numba": numba.__version__, "torch": getattr(sys.modules.get("torch"), "__version__", None),
            "threads": threads_info,
            "omp_wait_policy": omp_wait_policy(framework), "host_memory": host_memory.POLICY,
            "openblas_core": blas.corename(lib) if lib is not None else None,
            "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
            "openblas_thread_timeout": openblas_thread_timeout()}
    if framework == "torch":
        info["torch_imported_first"] = _imported_before("torch", "tinygan")
    return info


class CaseServer:
    """The worker's side of the protocol (see :func:`serve`): one case set up at a time, in one framework."""

    def __init__(self, framework, quick, threads_info):
        self.framework, self.quick, self.threads_info = framework, quick, threads_info
        self.cases = None
        self.fn = None

    def cmd_env(self):
        return worker_info(self.framework, self.threads_info)

    def cmd_gemm(self, n, repeat):
        rate = torch_gemm_rate if self.framework == "torch" else gemm_rate
        return {"rates": rate(n, repeat)}

    def cmd_setup(self, case):
        """Build this framework's callable of the case named ``case`` in select_cases (the parent's list)."""
        self.cmd_free()
        if self.cases is None:
            self.cases = {c.name: c for c in select_cases("all", self.quick)}
        if case not in self.cases:
            raise LookupError(f"no case named {case!r}")
        make = self.cases[case].make_torch if self.framework == "torch" else self.cases[case].make_tinygan
        if make is None:
            raise LookupError(f"{case!r} has no {self.framework} version")
        self.fn = make()
        return {}

    def cmd_sample(self, inner=1):
        """Seconds per call over ``inner`` timed calls, after one untimed call: the parent has just let the
        machine idle (gap, quiet wait), and the first call after an idle spell pays a wake-up cost that
        back-to-back training steps never see (on this VM ~25 ms after 0.2 s idle, in both frameworks)."""
        if self.fn is None:
            raise RuntimeError("no case set up")
        self.fn()
        return {"seconds": timed(self.fn, inner)}

    def cmd_free(self):
        self.fn = None
        gc.collect()
        return {}


def serve(framework, quick, threads_info, stdin, stdout):
    """The worker's loop: one JSON command per line on ``stdin``, one JSON reply per line on ``stdout``.

    Commands (``{"cmd": NAME, ...arguments}``): ``env`` (:func:`worker_info`), ``gemm`` (n, repeat: GFLOP/s
    samples of ``np.matmul``, of ``torch.mm`` in the torch worker), ``setup`` (case: build the named case's
    callable), ``sample`` (inner: seconds per call over ``inner`` calls; the parent's first samples are the
    warm-up), ``free``, ``quit``. A command that raises answers ``{"error": ...}`` and the worker goes on."""
    server = CaseServer(framework, quick, threads_info)
    for line in stdin:
        request = json.loads(line)
        name = request.pop("cmd")
        if name == "quit":
            break
        try:
            reply = getattr(server, f"cmd_{name}")(**request)
        except Exception as exc:      # the case's own error: report it, stay up for the next case
            reply = {"error": _short_error(exc)}
        stdout.write(json.dumps(reply) + "\n")
        stdout.flush()


class WorkerError(RuntimeError):
    """A worker answered an error or died; the message starts with the framework's name."""


class Worker:
    """The parent's handle on one framework's worker process (``python -m tinygan.benchmarks worker FRAMEWORK``)."""

    def __init__(self, framework, quick=False, threads=DEFAULT_THREADS, blas_threads=None):
        self.framework = framework
        self.command = _child_command(framework, ["worker", framework, *_options(quick, threads, blas_threads)])
        self.env = _child_env(framework, threads, blas_threads)
        self.start()

    def start(self):
        """Start the process; its stderr goes to a file, whose last line explains a death."""
        self.stderr = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
                                     text=True, env=self.env)

    def call(self, cmd, **args):
        """Send one command and return its reply. A worker that died is started again first."""
        if self.proc.poll() is not None:
            self.close()
            self.start()
        try:
            self.proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            raise WorkerError(f"{self.framework}: worker died ({self._last_words()})")
        reply = json.loads(line)
        if "error" in reply:
            raise WorkerError(f"{self.framework}: {reply['error']}")
        return reply

    def sample(self, inner):
        return self.call("sample", inner=inner)["seconds"]

    def _last_words(self):
        try:
            status = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            status = "still running"
        self.stderr.seek(0)
        lines = self.stderr.read().strip().splitlines()
        return f"exit status {status}" + (f": {lines[-1][:110]}" if lines else "")

    def close(self):
        """Ask the worker to quit; terminate it if it does not (a Ctrl-C may leave it in the middle of a command)."""
        try:
            self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.terminate()
            self.proc.wait()
        self.proc.stdout.close()
        self.stderr.close()


@contextlib.contextmanager
def start_workers(frameworks, quick=False, threads=DEFAULT_THREADS, blas_threads=None):
    """One :class:`Worker` per framework, as a dict; every one is stopped however the block ends (Ctrl-C too)."""
    workers = {}
    try:
        for framework in frameworks:
            workers[framework] = Worker(framework, quick, threads, blas_threads)
        yield workers
    finally:
        for worker in workers.values():
            worker.close()


def run_case(case, workers, repeat, warmup=1, gap=0.0, quiet_cap=QUIET_CAP):
    """Set ``case`` up in each framework's worker, time them alternately with a quiet pause before each sample,
    free it. When tinygan fails (to build or to run the case) the error becomes the row's ``error``; torch failing
    to build it becomes a ``note`` and the row keeps tinygan's time."""
    ready, note = {}, ""
    try:
        for framework, worker in workers.items():
            try:
                worker.call("setup", case=case.name)
            except WorkerError as exc:
                if framework == "tinygan":
                    return Row(case.name, case.group, case.flops, [], [], error=str(exc))
                note = str(exc)
                continue
            ready[framework] = worker
        try:
            samples, inner, waits = alternating_median({fw: w.sample for fw, w in ready.items()}, repeat, warmup,
                                                       pause=lambda: quiet_pause(gap, quiet_cap))
        except WorkerError as exc:
            return Row(case.name, case.group, case.flops, [], [], error=str(exc))
        return Row(case.name, case.group, case.flops, samples["tinygan"], samples.get("torch", []), inner,
                   note=note, waits=waits)
    finally:
        for worker in ready.values():
            with contextlib.suppress(WorkerError):
                worker.call("free")


def worker_gemm_rate(worker, n, repeat, quiet_cap=QUIET_CAP):
    """GFLOP/s samples of the worker's float32 GEMM (np.matmul or torch.mm), measured on a quiet machine."""
    wait_quiet(quiet_cap)
    return worker.call("gemm", n=n, repeat=repeat)["rates"]


def quiet_summary(rows):
    """How long the samples of ``rows`` waited for a quiet machine: median and max ms, and how many hit the cap."""
    waits = [w for r in rows for w in r.waits]
    if not waits:
        return None
    return {"samples": len(waits), "median_ms": statistics.median(waits) * 1e3, "max_ms": max(waits) * 1e3,
            "capped": sum(w >= QUIET_CAP for w in waits), "cap_s": QUIET_CAP, "busy_below": QUIET_BUSY}
