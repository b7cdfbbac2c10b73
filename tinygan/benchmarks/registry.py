"""The benchmark's model registry: which book models ``tinygan bench`` times, and which of them keep their bench
code (``step_flops``, ``label``, ``make_tinygan_step``, ``make_torch_step``) in a module of their own.

Add a model with one entry in ``MODEL_NAMES`` (and, for a model benchmarked outside :mod:`.model_specs` /
:mod:`.model_cases`, one in ``OWN_MODULE``). Imports nothing; everything in the package may import it.
"""


DEFAULT_THREADS = 2
MODEL_NAMES = ("pix2pix", "dcgan_mnist", "dcgan_cifar10", "cyclegan", "lsgan", "wgan", "cgan", "infogan", "acgan", "sgan")
# models whose bench code lives in a module of its own: step_flops, label, make_tinygan_step, make_torch_step
OWN_MODULE = {"cyclegan": "tinygan.bench_cyclegan"}
OWN_MODULE.update({m: f"tinygan.bench_gans.{m}" for m in ("lsgan", "wgan", "cgan", "infogan", "acgan", "sgan")})
