"""The WGAN (chapter 16) train step in ``tinygan bench --cases models`` (see :mod:`tinygan.bench_gans`)."""
from . import model_api

step_flops, label, make_tinygan_step, make_torch_step = model_api("wgan")
