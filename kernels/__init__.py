"""Hot loops as Numba kernels, each next to the plain NumPy reference its tests compare against.

Importable as ``tinygan.kernels`` (setup.py maps this folder there; in a source checkout ``tinygan/__init__.py``
loads it under that name) and by nothing else: the ops, the Keras optimizers and the benchmarks import it; it
imports only NumPy, Numba (CuPy in `cuda/`) and its own modules. Kernels take and return raw
arrays and know nothing of Tensors or the graph.

Importing it first sets two thread defaults (a user's own setting of either wins). A conv step alternates
Numba kernels (im2col, col2im, norm passes) with OpenBLAS GEMMs, and on a 2-core machine the two thread
pools must hand the cores over quickly instead of spinning against each other:

* ``OMP_WAIT_POLICY=passive``: Numba's OpenMP workers sleep after each parallel kernel (conv forward+backward
  was 3x slower with them spinning against the GEMM that follows). Read at the first parallel kernel.
* ``OPENBLAS_THREAD_TIMEOUT=4``: OpenBLAS's workers sleep after 2**4 cycles instead of spinning 2**28 (about
  80 ms) after every GEMM, through the im2col band that follows it (the CIFAR-10 DCGAN step's im2col ran at
  8.0 GB/s with them spinning, 18.8 GB/s without; the step 762/709 -> 724/650 ms). OpenBLAS reads it once, when
  NumPy loads it, so it only applies where tinygan is imported before NumPy (the ``tinygan`` command, or a
  script that imports tinygan first); ``BLAS_TIMEOUT_SET`` says whether it did.
"""
import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "passive")

BLAS_TIMEOUT_SET = "numpy" not in sys.modules and "OPENBLAS_THREAD_TIMEOUT" not in os.environ
if BLAS_TIMEOUT_SET:
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = "4"
