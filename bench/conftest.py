"""pytest-benchmark suite: ``python -m pytest bench --benchmark-only`` (not part of the default test run).

Options: ``--bench-quick`` (small shapes), ``--bench-repeat N`` (alternating samples per case),
``--bench-threads N`` (default 2), ``--bench-no-torch``. The session measures the float32 GEMM rate at its
start and end and prints the same table as ``tinygan bench`` in the terminal summary; per-test numbers
(tinygan/torch medians, ratio, GFLOP/s, floor) are also in each benchmark's ``extra_info`` (``--benchmark-json``).
"""
import statistics

import pytest

from bench import common

IN_PROCESS = "both frameworks in this one process (pytest-benchmark), so torch runs under tinygan's settings"


def pytest_addoption(parser):
    group = parser.getgroup("tinygan bench")
    group.addoption("--bench-quick", action="store_true", help="small shapes (Pix2Pix 64 px, DCGAN batch 16)")
    group.addoption("--bench-repeat", type=int, default=None, help="alternating samples per case")
    group.addoption("--bench-threads", type=int, default=common.DEFAULT_THREADS, help="threads for every framework")
    group.addoption("--bench-no-torch", action="store_true", help="do not time PyTorch")


def pytest_generate_tests(metafunc):
    quick = metafunc.config.getoption("--bench-quick")
    if "op_case" in metafunc.fixturenames:
        cases = common.op_cases(quick)
        metafunc.parametrize("op_case", cases, ids=[c.name.replace(" ", "_") for c in cases])
    if "model_case" in metafunc.fixturenames:
        cases = common.model_cases(quick)
        metafunc.parametrize("model_case", cases, ids=[c.model for c in cases])
    if "memory_model" in metafunc.fixturenames:
        metafunc.parametrize("memory_model", list(common.MODEL_NAMES))


class BenchSession:
    def __init__(self, config):
        self.config = config
        self.quick = config.getoption("--bench-quick")
        self.threads_info = common.set_threads(config.getoption("--bench-threads"))
        self.use_torch = not config.getoption("--bench-no-torch") and common.torch_or_none() is not None
        self.workers = {fw: common.worker_info(fw, self.threads_info)
                        for fw in (("tinygan", "torch") if self.use_torch else ("tinygan",))}
        self.gemm_n, self.gemm_rep = (1024, 10) if self.quick else (2048, 7)
        self.gemm = common.gemm_rate(self.gemm_n, self.gemm_rep)
        self.torch_gemm = common.torch_gemm_rate(self.gemm_n, 3) if self.use_torch else []
        self.gap = common.DEFAULT_GAP[self.quick]
        self.rows, self.memory = [], []

    def repeat(self, group):
        rep = self.config.getoption("--bench-repeat")
        return rep or (3 if self.quick else (5 if group == "ops" else 3))

    @property
    def rate(self):
        return statistics.median(self.gemm)


_SESSION = {}


@pytest.fixture(scope="session")
def bench_session(request):
    if "s" not in _SESSION:
        _SESSION["s"] = BenchSession(request.config)
    return _SESSION["s"]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    s = _SESSION.get("s")
    if s is None or not (s.rows or s.memory):
        return
    from tinygan.benchmarks import environment, header_text
    s.gemm += common.gemm_rate(s.gemm_n, s.gemm_rep)
    env = environment(s.workers, s.gemm, s.torch_gemm, s.quick,
                      config.getoption("--bench-repeat") or ("3" if s.quick else "5 (ops) / 3 (models)"), s.gap,
                      s.rows, layout=IN_PROCESS)
    tr = terminalreporter
    tr.section("tinygan bench")
    tr.write_line(header_text(env))
    tr.write_line("")
    for line in common.format_table(s.rows, s.rate).splitlines():
        tr.write_line(line)
    if s.memory:
        tr.write_line("")
        for line in common.format_memory(s.memory).splitlines():
            tr.write_line(line)
