"""The two records of a benchmark: a ``Case`` (a tinygan callable and the PyTorch one doing the same work) and
a ``Row`` (its timed samples and the columns derived from them). Imports nothing of the package.
"""
import dataclasses
import statistics


@dataclasses.dataclass
class Case:
    """One row: a tinygan callable and (when torch is installed) the same work in PyTorch.

    ``make_tinygan`` / ``make_torch`` build the inputs and return the callable to time; they run lazily so a
    missing module only skips its own rows. ``flops`` counts GEMM work only (None: not GEMM-bound)."""
    name: str
    group: str
    flops: float | None
    make_tinygan: object
    make_torch: object = None
    model: str | None = None
    note: str = ""


@dataclasses.dataclass
class Row:
    """One timed case: seconds per call of each sample (tinygan's, torch's), calls per sample, the seconds waited
    for a quiet machine before each sample, and the error or note that went with it."""
    name: str
    group: str
    flops: float | None
    tinygan_s: list
    torch_s: list
    inner: int = 1
    error: str = ""
    note: str = ""
    waits: list = dataclasses.field(default_factory=list)

    @property
    def tinygan_median(self):
        return statistics.median(self.tinygan_s) if self.tinygan_s else None

    @property
    def torch_median(self):
        return statistics.median(self.torch_s) if self.torch_s else None

    def derived(self, gemm_gflops):
        t, T = self.tinygan_median, self.torch_median
        out = {"name": self.name, "group": self.group, "flops": self.flops, "tinygan_ms": t and t * 1e3,
               "torch_ms": T and T * 1e3, "gflops": None, "floor_ms": None, "x_floor": None, "torch_x_floor": None,
               "x_torch": None,
               "calls_per_sample": self.inner, "samples": len(self.tinygan_s), "error": self.error, "note": self.note,
               "tinygan_samples_ms": [s * 1e3 for s in self.tinygan_s],
               "torch_samples_ms": [s * 1e3 for s in self.torch_s],
               "quiet_wait_ms": [s * 1e3 for s in self.waits]}
        if t and self.flops:
            out["gflops"] = self.flops / t / 1e9
            if gemm_gflops:
                out["floor_ms"] = self.flops / (gemm_gflops * 1e9) * 1e3
                out["x_floor"] = t * 1e3 / out["floor_ms"]
                if T:
                    out["torch_x_floor"] = T * 1e3 / out["floor_ms"]
        if t and T:
            out["x_torch"] = t / T
        return out


def _short_error(exc):
    text = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return text[:110]
