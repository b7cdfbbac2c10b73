"""``tinygan bench``: the benchmark table (tinygan next to PyTorch CPU and the GEMM floor) from the command line.

The work is done by :mod:`tinygan.benchmarks`; this module only adds the sub-command.
"""
import json
import sys

from .errors import UserInputError


def register(subparsers):
    p = subparsers.add_parser(
        "bench", help="benchmark ops and train steps against PyTorch CPU and the GEMM floor",
        description="Time forward+backward of every op at the book's shapes and one train step of each book "
                    "model, next to the GEMM floor (FLOPs / np.matmul rate measured in the same run) and, when "
                    "PyTorch is installed, the same work in PyTorch timed alternately in the same run. Each "
                    "framework runs in its own worker process with its own defaults, and every sample waits for "
                    "a quiet machine first. Model runs also compare the peak memory of one train step (fresh "
                    "subprocess per framework).")
    p.add_argument("--cases", choices=("ops", "models", "all"), default="all", help="which rows (default all)")
    p.add_argument("--repeat", type=int, default=None, metavar="N",
                   help="alternating samples per case (default 5 for ops, 3 for models, 3 with --quick)")
    p.add_argument("--quick", action="store_true",
                   help="small shapes (Pix2Pix 64 px, DCGAN batch 16) for a look in about a minute")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="threads for Numba, OpenBLAS and PyTorch alike (default 2)")
    p.add_argument("--blas-threads", type=int, default=None, metavar="N",
                   help="experiment: OpenBLAS threads for tinygan's GEMMs if not --threads (the PyTorch ratio is then "
                        "no longer like for like in threads)")
    p.add_argument("--gemm-size", type=int, default=None, metavar="N",
                   help="side of the square float32 matmul that sets the floor (default 2048, 1024 with --quick)")
    p.add_argument("--gap", type=float, default=None, metavar="SECONDS",
                   help="minimum idle time before each timed sample, before the wait for a quiet machine (less than "
                        "10%% of CPU time busy, at most 1 s) (default 0.05, 0.01 with --quick)")
    p.add_argument("-k", "--filter", default=None, metavar="TEXT", help="only cases whose name contains TEXT")
    p.add_argument("--no-torch", action="store_true", help="do not time PyTorch even if it is installed")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument("--json", default=None, metavar="PATH", help="also write every number (and raw samples) as JSON")
    p.add_argument("--profile", default=None, metavar="MODEL", choices=("pix2pix", "dcgan_mnist", "dcgan_cifar10", "cyclegan"),
                   help="instead of the table, cProfile one tinygan train step of MODEL (after a warm-up step)")
    p.add_argument("--top", type=int, default=15, help="rows of the --profile listing (default 15)")
    p.add_argument("--scaling", type=int, default=None, metavar="RANKS", help="instead of the table, data-parallel "
                   "scaling: DCGAN-MNIST and Pix2Pix train steps on 1 and on RANKS MPI ranks, one thread each (needs "
                   "tinygan[mpi]; tinygan/distributed/bench.py)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run)
    return p


def run(args):
    from . import benchmarks

    threads = args.threads or benchmarks.DEFAULT_THREADS
    if args.scaling:
        from .distributed import bench
        try:
            print(bench.run(args.scaling, quick=args.quick, repeat=args.repeat or 5,
                            log=lambda m: None if args.quiet else print(m, file=sys.stderr))[1])
        except RuntimeError as exc:  # no mpiexec, or a rank failed: one line, not a traceback
            print(f"tinygan bench --scaling: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.profile:
        print(benchmarks.profile_step(args.profile, quick=args.quick, top=args.top, threads=threads,
                                      blas_threads=args.blas_threads))
        return 0
    if args.repeat is not None and args.repeat < 1:
        raise UserInputError("--repeat must be at least 1")

    def log(msg):
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    result, text = benchmarks.run_benchmarks(cases=args.cases, repeat=args.repeat, quick=args.quick, threads=threads,
                                             use_torch=not args.no_torch, pattern=args.filter,
                                             memory=not args.no_memory, gemm_size=args.gemm_size, gap=args.gap,
                                             blas_threads=args.blas_threads, log=log)
    print(text)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)
        log(f"wrote {args.json}")
    return 0
