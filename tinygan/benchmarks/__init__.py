"""Benchmarks: tinygan next to PyTorch CPU and the GEMM floor (issue 6).

Everything ``tinygan bench`` and the pytest-benchmark suite in ``bench/`` print comes from here, so the
command works from an installed package without the repository's ``bench/`` directory.

What is measured
----------------
* **ops**: forward + backward of one op at the book's shapes: ``conv2d`` and ``conv_transpose2d`` at every
  Pix2Pix (256 px, batch 1), DCGAN-MNIST (batch 256) and CIFAR-10 DCGAN (batch 128) layer, ``batch_norm`` and
  ``leaky_relu(0.2)`` at every shape they see in those models, and one Adam update over the Pix2Pix generator's
  54.4 M parameters.
* **models**: one train step of each book model, the book's loop body: Pix2Pix (``g.predict``, D on the real
  pair, D on the fake pair, the composite with D frozen), DCGAN-MNIST chapter 7 (``g.predict`` of 128, D on the
  stacked 256, the composite on 256), CIFAR-10 DCGAN chapter 8 (D on 64 real, ``g.predict`` of 64, D on 64 fake,
  the composite on 128). Plus the peak memory of a train step, tinygan next to PyTorch.

Columns
-------
``ms``: median wall time of one call. ``GFLOP/s``: the case's GEMM FLOPs / ``ms``. ``floor``: the case's GEMM
FLOPs / the float32 ``np.matmul`` rate measured in the same run (the time it would take if every convolution
ran at big-GEMM speed and nothing else cost anything), ``x floor`` = ms / floor. ``torch ms`` and ``x torch``:
the same work in PyTorch, timed alternately with tinygan in the same run (t, T, t, T, ...), medians of ``repeat``
samples each; ``torch x floor`` is PyTorch's ms over the same floor (how far the reference itself stays from it).
Fast ops repeat the call inside a sample (the same count for both frameworks) so one sample lasts about 20 ms.

How it is timed
---------------
Each framework runs in its own worker process (``python -m tinygan.benchmarks worker tinygan|torch``, JSON lines
on stdin/stdout), in its own default configuration, as its users run it: the tinygan worker calls
``tinygan.configure_cpu()`` as the ``tinygan`` command does (``OMP_WAIT_POLICY=passive`` for its kernels, freed
memory kept for reuse by tinygan.host_memory), and in a shared process PyTorch would run under both (a torch Pix2Pix step took 589 ms under passive OpenMP, 530 ms with
its defaults). So the torch worker imports torch, and sets its threads, before anything of tinygan, and runs with
``TINYGAN_HOST_MEMORY=system``; the tinygan worker never imports torch. The parent only coordinates: it asks each
worker to build the case by name, takes the warm-up calls and then the alternating samples, and every sample and
the GEMM rate (``np.matmul`` in the tinygan worker, ``torch.mm`` in the torch one) is timed inside its worker.

Before each sample the parent waits ``--gap`` seconds at least, then until the machine is quiet (less than 10% of
all CPUs' time busy over a ~15 ms window of /proc/stat, at most 1 s): worker threads keep spinning after a parallel
region (OpenBLAS up to ~2**28 cycles, ~80 ms; OpenMP for its spin count), and on a 2-core machine the spinning
pool of the framework that just ran slowed the other one's samples by up to 2x. The header reports how long these
waits took. Each sample then makes one untimed call before its timed ones: after an idle spell the first call pays
a wake-up cost that back-to-back training steps never see (on this project's VM about 25 ms after 0.2 s of idle,
in both frameworks; a 6 ms op was timed at 14-32 ms without it). The untimed call does not refill the caches,
though: after the idle gap a memory-bound op runs slower for several calls, most likely because its arrays left
the caches while the core idled (on the current Intel VM a LeakyReLU forward+backward of 256x14x14x64 took
2.6-2.8 ms per call over the 8 calls after gaps of 50-200 ms and 1.4 ms back to back), so op rows of memory-bound
work are upper bounds for both frameworks alike; model rows, one long step each, barely notice. A case that raises in a worker comes back as its row's error; a worker that dies is
started again.

The PyTorch reference does the same work: NCHW tensors; Keras 'same' padding reproduced exactly (symmetric
padding inside the conv, an odd extra pixel through ``F.pad``; transposed convs crop like TensorFlow);
BatchNorm2d(eps=1e-3, momentum=0.01) in training mode; LeakyReLU(0.2); Dropout where the book has it;
``torch.optim.Adam(lr=2e-4, betas=(0.5, 0.999), eps=1e-7)`` with PyTorch's default implementation (the Adam op
rows also compare against ``fused=True``); BCE on sigmoid outputs (D loss weight 0.5 for Pix2Pix) plus
100 x L1 for the Pix2Pix composite; D frozen in the composite step by ``requires_grad_(False)`` (no D weight
gradients, gradients still flow through D to G); ``g.predict`` under ``torch.no_grad()``. Both frameworks use
the same thread count (``torch.set_num_threads``, ``numba.set_num_threads`` and OpenBLAS's own setter). The
header names NumPy's OpenBLAS kernel set and whether ``OPENBLAS_CORETYPE`` pins it (tinygan never sets that
variable), tinygan's host memory policy and the OpenMP wait policy of each worker; the JSON has them too.

FLOPs count only the GEMM work of convolutions and Dense layers (2*N*OH*OW*kh*kw*Cin*Cout for a conv; a
transposed conv costs the same as the conv it is the adjoint of, counted on its input pixels). Forward +
backward = forward + weight gradient + input gradient, the input gradient left out where nothing needs it (the
first layer of a network fed with data, every weight gradient of the frozen D in the composite step).
BatchNorm, activations, losses and Adam are not counted (memory-bound; their columns show '-').

Peak memory
-----------
Each framework runs in a fresh subprocess (``python -m tinygan.benchmarks memory MODEL FRAMEWORK``; the two
frameworks of one model side by side, since RSS is per process) with the same thread count and, like the timing
workers, its own defaults: tinygan keeps freed blocks in its heap for the next step, the torch child imports
torch first and has glibc's default malloc (``TINYGAN_HOST_MEMORY=system``). The subprocess notes its RSS after
the imports, builds the models, runs two warm-up steps, resets the kernel's RSS high-water mark
(``/proc/self/clear_refs``) and runs one step. ``peak`` = high-water RSS - RSS after imports (models, optimizer
state, JIT residue, the memory the malloc in use keeps and the step's transients: what the user pays for),
``step`` = high-water RSS - RSS before the step (what the step adds on top; small for tinygan, whose warm-up
steps have already faulted in the blocks it reuses). For tinygan the ``tracemalloc`` peak of one more step is
reported too (NumPy reports its buffers to tracemalloc; PyTorch does not, so it has no such column).

Running
-------
``tinygan bench [--cases ops|models|all] [--repeat N] [--quick] [--json PATH] [-k TEXT]`` prints the table;
``tinygan bench --profile pix2pix`` prints a cProfile of one train step instead. ``--blas-threads N`` is an
experiment knob: OpenBLAS threads for tinygan different from ``--threads`` (on a shared 2-core machine
OpenBLAS's 2-thread GEMMs can be many times slower than 1-thread ones; the PyTorch ratio is then no longer
like for like in threads). The pytest-benchmark suite is
``python -m pytest bench --benchmark-only [--bench-quick]`` (not part of the default test run); pytest-benchmark
owns its timing loop, so that suite times both frameworks in its own process (same quiet wait, but PyTorch then
runs under tinygan's OpenMP and malloc policies; the header says so).

The package
-----------
``registry`` (the models: ``MODEL_NAMES``, ``OWN_MODULE``), ``timing`` (threads, timing, the quiet wait, GEMM
rates), ``model_specs`` (layer shapes and FLOPs), ``torch_reference`` (the PyTorch twins), ``case`` (``Case``,
``Row``), ``op_cases``, ``model_cases``, ``workers`` (the worker processes and the parent's timing loop),
``memory`` (peak memory), ``report`` (header and tables), ``run`` (``run_benchmarks``, ``profile_step``) and
``__main__`` (the subprocesses' entry point). The layer above the models: it may import anything of tinygan;
only ``tinygan.bench_*``, ``tinygan.gpu_bench``, ``tinygan.distributed.bench``, ``bench/`` and the tests import it.
Its names are re-exported here, so ``from tinygan import benchmarks as B; B.step_flops(...)`` keeps working.
"""
from .registry import (  # noqa: F401
    DEFAULT_THREADS, MODEL_NAMES, OWN_MODULE
)
from .timing import (  # noqa: F401
    torch_or_none, set_threads, timed, calibrate_inner, alternating_median, QUIET_BUSY, QUIET_CAP, _cpu_jiffies,
    wait_quiet, quiet_pause, gemm_rate, torch_gemm_rate
)
from .model_specs import (  # noqa: F401
    tf_same_pads, Layer, with_batch, fwd_flops, bwd_flops, pix2pix_layers, DCGAN_SPECS, sequential_layers,
    dcgan_layers, model_sizes, step_flops, model_label
)
from .torch_reference import (  # noqa: F401
    _torch_modules, torch_layer, _torch_post, torch_pix2pix, torch_sequential, _torch_adam, _torch_params,
    _set_trainable, make_torch_step
)
from .case import (  # noqa: F401
    Case, Row, _short_error
)
from .op_cases import (  # noqa: F401
    _tg_tensor, _nchw, _conv_case, _bn_case, _lrelu_case, _adam_case, op_cases
)
from .model_cases import (  # noqa: F401
    _keras_params, _quiet, make_tinygan_step, model_cases, select_cases
)
from .workers import (  # noqa: F401
    DEFAULT_GAP, _TINYGAN_FIRST, _TORCH_FIRST, _IMPORT_DEFAULTS, torch_installed, _imported_before,
    _startup_environ, _child_command, _options, _child_env, omp_wait_policy, openblas_thread_timeout, worker_info,
    CaseServer, serve, WorkerError, Worker, start_workers, run_case, worker_gemm_rate, quiet_summary
)
from .memory import (  # noqa: F401
    _proc_status, _reset_hwm, memory_child, _memory_result, measure_memory, memory_rows
)
from .report import (  # noqa: F401
    _fmt, format_table, format_memory, SEPARATE_WORKERS, environment, _loadavg, openblas_text, _pause_text,
    header_text
)
from .run import (  # noqa: F401
    profile_step, _timed_rows, _start_info, run_benchmarks
)
