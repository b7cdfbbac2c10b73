"""Hot loops as Numba kernels, each next to the plain NumPy reference its tests compare against.

Importable as ``tinygan.kernels`` (``tinygan/kernels`` links here). Kernels take and return raw
arrays and know nothing of Tensors or the graph. Importing them changes nothing in the process; the
thread-pool settings they run best under are ``tinygan.configure_cpu()`` (``tinygan/cpu_defaults.py``).
"""
