"""Hot loops as Numba kernels, each next to the plain NumPy reference its tests compare against.

Importable as ``tinygan.kernels`` (``tinygan/kernels`` links here). Kernels take and return raw
arrays and know nothing of Tensors or the graph.
"""
import os

# Numba's OpenMP workers otherwise spin after each parallel kernel and starve the BLAS threads
# of the GEMM that follows it (conv forward+backward 3x slower on a 2-core machine, see the
# conv benches). Must be set before the first parallel kernel runs; a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")
