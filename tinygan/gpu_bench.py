"""GPU train-step benchmark: tinygan (CuPy + its CUDA kernels) next to PyTorch eager + cuDNN on one device.

``python -m tinygan.gpu_bench --out DIR`` times one book train step of each model below on the GPU, in
tinygan and in PyTorch, and writes ``gpu_bench.md`` (a table) and ``gpu_bench.json`` to DIR.
``bench/gpu_check.sh`` runs it after the GPU tests. ``--dry`` runs the same code on the CPU at toy sizes,
one step each, so CI checks the script up to the point where it needs a device.

The work per step is the book's loop body, built by :func:`tinygan.benchmarks.make_tinygan_step` and
:func:`tinygan.benchmarks.make_torch_step` (the same functions the CPU benchmark uses), with the data and
labels on the device in both frameworks. Keras's ``g.predict`` returns a NumPy array, so tinygan's step also
copies the fake batch to the host and back (the same round trip a book program makes).

Timing: ``warmup`` untimed steps (Numba compiles the CUDA kernels, CuPy its elementwise kernels, cuDNN picks
its algorithms), then ``rounds`` samples of ``steps`` back-to-back steps each, each sample ending with a device
synchronisation; the table gives the median sample divided by ``steps``. The frameworks alternate sample by
sample. PyTorch runs twice: in strict float32 (``allow_tf32 = False`` for cuDNN and cuBLAS, the arithmetic
tinygan does) and with its defaults (TF32 tensor-core convolutions on Hopper); the ratio is against the
float32 run.

Peak memory: after the timed samples, each framework in turn builds the case afresh with nothing else of its own
alive, runs one step, then two more with its peak counter reset: PyTorch's ``max_memory_allocated``, and for
tinygan the high-water mark of CuPy's memory pool ``used_bytes`` (a ``cupy.cuda.MemoryHook`` sees every
allocation), less what was in use before the build. Both count live arrays (weights, optimizer state, the step's
activations), not the cached blocks either allocator keeps.
"""
import argparse
import contextlib
import cProfile
import gc
import io
import json
import os
import pstats
import statistics
import sys
import time
import warnings


# (label, model, sizes): the book's models at the sizes issue 17 asks for
GPU_CASES = [
    ("Pix2Pix 256 px, batch 1", "pix2pix", {"size": 256, "batch": 1}),
    ("Pix2Pix 256 px, batch 16", "pix2pix", {"size": 256, "batch": 16}),
    ("DCGAN-MNIST, batch 256", "dcgan_mnist", {"batch": 256}),
    ("CIFAR-10 DCGAN, batch 128", "dcgan_cifar10", {"batch": 128}),
]
DRY_SIZES = {"pix2pix": {"size": 32, "batch": 1}, "dcgan_mnist": {"batch": 8}, "dcgan_cifar10": {"batch": 8}}


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


class Framework:
    """Build, synchronise and measure peak memory for one framework on one device."""

    def __init__(self, name, device):
        self.name, self.device, self.gpu = name, device, device == "cuda"

    def sync(self):
        pass

    def build(self, model, sizes):
        raise NotImplementedError

    def in_use(self):
        """Device bytes in use now (None on the CPU)."""
        return None

    @contextlib.contextmanager
    def peak_memory(self, result):
        """Sets ``result['peak_mib']`` to the most bytes in use during the block (None on the CPU)."""
        if not self.gpu:
            yield
            result["peak_mib"] = None
            return
        with self._device_peak(result):
            yield

    def _device_peak(self, result):
        raise NotImplementedError


class Tinygan(Framework):
    """tinygan as it runs by default (train steps and predicts replayed as CUDA graphs), or (``graphs='off'``)
    launching every kernel from Python, which shows what the graphs are worth in a whole step."""

    def __init__(self, device, graphs="auto"):
        super().__init__("tinygan" if graphs == "auto" else "tinygan (no graphs)", device)
        import tinygan
        tinygan.set_device(device)
        self.graphs = graphs

    def sync(self):
        if self.gpu:
            import cupy
            cupy.cuda.Device().synchronize()

    def build(self, model, sizes):
        from tinygan import random
        from tinygan.benchmarks import make_tinygan_step
        from tinygan.keras.engine import graph_step
        random.seed(0)
        step, n_params = make_tinygan_step(model, sizes=sizes)
        graphs = self.graphs

        def run():
            with graph_step.using(graphs):
                step()
        return run, n_params

    def in_use(self):
        if not self.gpu:
            return None
        import cupy
        from tinygan.keras.engine import graph_step
        return cupy.get_default_memory_pool().used_bytes() + graph_step.pool_bytes()

    @contextlib.contextmanager
    def _device_peak(self, result):
        import cupy
        pool = cupy.get_default_memory_pool()
        self.sync()
        hook = pool_peak_hook(pool)
        with hook:
            yield
            self.sync()
        result["peak_mib"] = hook.peak


def pool_peak_hook(pool):
    """A CuPy memory hook recording the high-water mark of ``pool.used_bytes()``, plus what CUDA graphs hold in
    their own pools (all of it: a replay reuses their free blocks), while it is active."""
    import cupy
    from tinygan.keras.engine import graph_step

    class PoolPeak(cupy.cuda.MemoryHook):
        """High-water mark of tinygan's device memory, updated after every allocation."""
        name = "PoolPeak"

        def __init__(self, pool):
            self.pool = pool
            self.peak = self.now()

        def now(self):
            return self.pool.used_bytes() + graph_step.pool_bytes()

        def malloc_postprocess(self, **kwargs):
            self.peak = max(self.peak, self.now())

    return PoolPeak(pool)


class Torch(Framework):
    def __init__(self, device, tf32):
        super().__init__("torch (TF32)" if tf32 else "torch", device)
        self.torch = _torch()
        self.tf32 = tf32

    def _precision(self):
        t = self.torch
        if self.gpu:
            t.backends.cudnn.benchmark = True
            t.backends.cudnn.allow_tf32 = self.tf32
            t.backends.cuda.matmul.allow_tf32 = self.tf32

    def sync(self):
        if self.gpu:
            self.torch.cuda.synchronize()

    def build(self, model, sizes):
        from tinygan.benchmarks import make_torch_step
        self.torch.manual_seed(0)
        self._precision()
        step, n_params = make_torch_step(model, sizes=sizes, device=self.device)
        precision = self._precision

        def run():
            precision()  # the two torch runs share one process: each sets its own precision before stepping
            step()
        return run, n_params

    @contextlib.contextmanager
    def _device_peak(self, result):
        self.sync()
        self.torch.cuda.reset_peak_memory_stats()
        yield
        self.sync()
        result["peak_mib"] = self.torch.cuda.max_memory_allocated()

    def in_use(self):
        return self.torch.cuda.memory_allocated() if self.gpu else None


def _sample(fw, step, steps):
    fw.sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    fw.sync()
    return (time.perf_counter() - t0) / steps


def profile_text(label, fw, step, steps=2, top=25):
    """cProfile of ``steps`` steps ending in a device synchronisation: on a GPU the time in ``synchronize`` (or
    ``get``) is the host waiting for the device, the rest is the host's own work (Python, launches)."""
    prof = cProfile.Profile()
    fw.sync()
    prof.enable()
    for _ in range(steps):
        step()
    fw.sync()
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    return f"==== {label}: {fw.name}, {steps} steps\n{out.getvalue()}"


class _Marks:
    """Time stamps on the device's stream (CUDA events, read after one synchronisation at the end) or, on the
    CPU (``--dry``), the host clock."""

    def __init__(self, gpu):
        self.gpu = gpu

    def mark(self):
        if not self.gpu:
            return time.perf_counter()
        import cupy
        event = cupy.cuda.Event()
        event.record()
        return event

    def ms(self, a, b):
        if not self.gpu:
            return 1e3 * (b - a)
        import cupy
        return cupy.cuda.get_elapsed_time(a, b)


def op_times_text(label, model, sizes, device, steps=3, top=30):
    """Where a tinygan step's *device* time goes (not the host's: see ``profile_text``): every op's forward and
    backward, run eagerly, is bracketed by CUDA events, and their elapsed times are summed per op and input
    shape. Nested calls (an op inside another's backward) count in the outer one only. The remainder of the
    step (optimizer, moving averages, loss copies, idle gaps) is the last line."""
    import importlib
    from tinygan.keras.engine import graph_step
    T = importlib.import_module("tinygan.autograd.tensor")  # the module (the package exports a function `tensor`)
    fw = Tinygan(device, graphs="off")
    step, _ = fw.build(model, sizes)
    step()
    fw.sync()
    marks, records, depth = _Marks(fw.gpu), [], [0]

    def timed(key, fn, *args, **kwargs):
        if depth[0]:
            return fn(*args, **kwargs)
        depth[0] += 1
        start = marks.mark()
        try:
            return fn(*args, **kwargs)
        finally:
            records.append((key, start, marks.mark()))
            depth[0] -= 1

    def shape_of(xs):
        return "x".join(str(d) for d in getattr(xs[0], "shape", ())) if xs else ""

    apply, call_backward = T.Function.__dict__["apply"], T._call_backward
    T.Function.apply = classmethod(lambda cls, *xs, **kw: timed((cls.__name__, "fwd", shape_of(xs)),
                                                                  apply.__func__, cls, *xs, **kw))
    T._call_backward = lambda fn, g, needs: timed((type(fn).__name__, "bwd", shape_of(fn.inputs)),
                                                  call_backward, fn, g, needs)
    try:
        with graph_step.using("off"):
            begin = marks.mark()
            for _ in range(steps):
                step()
            end = marks.mark()
            fw.sync()
    finally:
        T.Function.apply, T._call_backward = apply, call_backward
    total = marks.ms(begin, end) / steps
    sums = {}
    for key, a, b in records:
        sums[key] = sums.get(key, 0.0) + marks.ms(a, b) / steps
    lines = [f"==== {label}: {'device' if fw.gpu else 'host'} time per step {total:.2f} ms (eager, marks around "
             "every op)"]
    for (name, kind, shape), ms in sorted(sums.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"{ms:8.3f} ms  {name} {kind} {shape}")
    lines.append(f"{total - sum(sums.values()):8.3f} ms  outside ops (optimizer, moving averages, copies, gaps)")
    return "\n".join(lines)


def run_case(label, model, sizes, frameworks, warmup, rounds, steps, log, profiles=None):
    """Times one model in every framework; returns the case's result dict. With ``profiles`` (a list), appends
    a cProfile of tinygan's step to it."""
    built, out = {}, {"case": label, "model": model, "sizes": sizes, "results": {}}
    for fw in frameworks:
        res = out["results"][fw.name] = {"samples_ms": []}
        try:
            t0 = time.perf_counter()
            step, n_params = fw.build(model, sizes)
            for _ in range(warmup):
                step()
            fw.sync()
            res.update(params=int(n_params), build_and_warmup_s=round(time.perf_counter() - t0, 2))
            built[fw.name] = step
        except Exception as exc:  # one framework failing a case must not hide the others' rows
            res["error"] = f"{type(exc).__name__}: {exc}"
            log(f"  {fw.name}: {res['error']}")
    for _ in range(rounds):
        for fw in frameworks:
            if fw.name in built:
                out["results"][fw.name]["samples_ms"].append(1e3 * _sample(fw, built[fw.name], steps))
    for fw in frameworks:
        res = out["results"][fw.name]
        if fw.name in built:
            res["ms"] = statistics.median(res["samples_ms"])
            if profiles is not None and fw.name == "tinygan":
                profiles.append(profile_text(label, fw, built[fw.name]))
    built.clear()
    for fw in frameworks:  # one framework's models alive at a time: the two tinygan runs share CuPy's pool
        res = out["results"][fw.name]
        if "ms" in res:
            res["peak_mib"] = peak_memory_mib(fw, model, sizes)
            log(f"  {fw.name}: {res['ms']:.2f} ms/step (samples {', '.join(f'{v:.1f}' for v in res['samples_ms'])})"
                + (f", peak {res['peak_mib']:.0f} MiB" if res.get("peak_mib") else ""))
    return out


def peak_memory_mib(fw, model, sizes):
    """The most device memory one framework's train step holds (weights, optimizer state, the step's arrays),
    built afresh with nothing else of it alive: bytes in use at the peak of two steps after a warm-up one, less
    what was in use before the build (left over from earlier cases)."""
    gc.collect()
    if fw.gpu and isinstance(fw, Tinygan):  # earlier cases' graphs are gone: their scratch must not be reused
        from tinygan.keras.engine import graph_step
        graph_step.release_free_blocks()
    base = fw.in_use()
    step, _ = fw.build(model, sizes)
    step()
    result = {}
    with fw.peak_memory(result):
        for _ in range(2):
            step()
    del step
    gc.collect()
    return None if result["peak_mib"] is None else (result["peak_mib"] - base) / 2**20


def _ratio(a, b):
    return f"{a / b:.2f}" if a and b else "-"


def _mib(v):
    return f"{v:.0f}" if v else "-"


def format_table(cases):
    """The markdown table of the README: tinygan vs PyTorch fp32 (and TF32) ms, ratio, peak memory."""
    lines = ["| train step | tinygan | PyTorch fp32 | x PyTorch | PyTorch TF32 | tinygan, no CUDA graphs "
             "| peak MiB tinygan | peak MiB PyTorch | x memory |", "|---|---|---|---|---|---|---|---|---|"]
    for c in cases:
        r = c["results"]
        runs = [r.get(k, {}) for k in ("tinygan", "torch", "torch (TF32)", "tinygan (no graphs)")]
        tg, th = runs[:2]
        ms = [x.get("ms") for x in runs]
        cells = [f"{v:.1f} ms" if v else (x.get("error", "-")[:60] if x else "-") for v, x in zip(ms, runs)]
        lines.append(f"| {c['case']} | {cells[0]} | {cells[1]} | {_ratio(ms[0], ms[1])} | {cells[2]} | {cells[3]} | "
                     f"{_mib(tg.get('peak_mib'))} | {_mib(th.get('peak_mib'))} | "
                     f"{_ratio(tg.get('peak_mib'), th.get('peak_mib'))} |")
    return "\n".join(lines)


def device_text(device):
    if device != "cuda":
        return "dry run on the CPU (toy sizes): no GPU timing"
    import cupy
    props = cupy.cuda.runtime.getDeviceProperties(0)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    parts = [f"{name}, {props['totalGlobalMem'] / 2**30:.0f} GiB, CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()}",
             f"CuPy {cupy.__version__}"]
    torch = _torch()
    if torch is not None:
        parts.append(f"PyTorch {torch.__version__} (cuDNN {torch.backends.cudnn.version()})")
    from tinygan.kernels import dispatch
    parts.append(f"tinygan kernels: {'Numba CUDA' if dispatch._cuda_ready() else 'CuPy array code (no NVVM)'}")
    return "; ".join(parts)


def write_results(args, header, cases, profiles, op_texts):
    """gpu_bench.json, gpu_bench.md (the table), profile.txt and op_times.txt (when asked for) in ``args.out``."""
    table = format_table(cases)
    meta = {"device": header, "rounds": args.rounds, "steps": args.steps, "warmup": args.warmup, "dry": args.dry}
    with open(os.path.join(args.out, "gpu_bench.json"), "w") as f:
        json.dump({"meta": meta, "cases": cases}, f, indent=1)
    with open(os.path.join(args.out, "gpu_bench.md"), "w") as f:
        f.write(f"{header}\n\nmedian of {args.rounds} samples of {args.steps} steps, after {args.warmup} warm-up "
                f"steps\n\n{table}\n")
    for name, texts in (("profile.txt", profiles), ("op_times.txt", op_texts)):
        if texts:
            with open(os.path.join(args.out, name), "w") as f:
                f.write("\n\n".join(texts) + "\n")


def _parser():
    p = argparse.ArgumentParser(prog="python -m tinygan.gpu_bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=".", help="folder for gpu_bench.md and gpu_bench.json (default: .)")
    p.add_argument("--dry", action="store_true", help="CPU, toy sizes, one step each: checks the script itself")
    p.add_argument("--rounds", type=int, default=5, help="timed samples per framework and case (default 5)")
    p.add_argument("--steps", type=int, default=5, help="steps per sample (default 5)")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first (default 5)")
    p.add_argument("-k", dest="pattern", default="", help="only cases whose label contains this text")
    p.add_argument("--no-torch", action="store_true", help="time tinygan only")
    p.add_argument("--profile", action="store_true", help="also write profile.txt: a cProfile of each tinygan step")
    p.add_argument("--op-times", action="store_true",
                   help="also write op_times.txt: each op's device time in a tinygan step (CUDA events)")
    return p


def main(argv=None):
    args = _parser().parse_args(argv)
    device = "cpu" if args.dry else "cuda"
    if args.dry:
        args.rounds, args.steps, args.warmup = 1, 1, 1
    os.makedirs(args.out, exist_ok=True)

    def log(msg):
        print(msg, flush=True)

    frameworks = [Tinygan(device), Tinygan(device, graphs="off")]
    if not args.no_torch and _torch() is not None and (args.dry or _torch().cuda.is_available()):
        frameworks += [Torch(device, tf32=False)] + ([Torch(device, tf32=True)] if not args.dry else [])
    header = device_text(device)
    log(f"# tinygan GPU benchmark: {header}")
    cases, profiles, op_texts = [], [] if args.profile else None, []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Discrepancy between trainable weights")
        for label, model, sizes in GPU_CASES:
            if args.pattern and args.pattern.lower() not in label.lower():
                continue
            if args.dry:
                if any(c["model"] == model for c in cases):
                    continue
                sizes = DRY_SIZES[model]
                label = f"{model} (dry run, {sizes})"
            log(f"{label} ({model}, {sizes})")
            cases.append(run_case(label, model, sizes, frameworks, args.warmup, args.rounds, args.steps, log, profiles))
            if args.op_times:
                op_texts.append(op_times_text(label, model, sizes, device, steps=1 if args.dry else 3))
            write_results(args, header, cases, profiles, op_texts)  # after every case: a cut run keeps its rows
    log(format_table(cases))
    failed = [c["case"] for c in cases for r in c["results"].values() if "error" in r]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
