"""Hot loops as Numba kernels, each next to the plain NumPy reference its tests compare against.

Importable as ``tinygan.kernels`` (setup.py maps this folder there; in a source checkout ``tinygan/__init__.py``
loads it under that name) and by nothing else: the ops, the Keras optimizers and the benchmarks import it; it
imports only NumPy, Numba (CuPy in `cuda/`) and its own modules. Kernels take and return raw arrays and know
nothing of Tensors or the graph. Importing them changes nothing in the process; the thread-pool settings they run
best under are ``tinygan.configure_cpu()`` (``tinygan/cpu_defaults.py``).
"""
