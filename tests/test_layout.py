"""The top-level kernels/ folder is tinygan.kernels without a symlink (setup.py maps it for installs; a source
checkout loads it from tinygan/__init__.py)."""
import os

import tinygan
import tinygan.kernels
from tinygan.kernels import dispatch
from tinygan.kernels.cuda import conv_lowering

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_kernels_come_from_the_top_level_folder_in_a_checkout():
    here = os.path.dirname(os.path.abspath(tinygan.__file__))
    if os.path.dirname(here) != ROOT:
        return  # tinygan is installed from a wheel: its own tinygan/kernels/ is what it should use
    assert not os.path.lexists(os.path.join(here, "kernels"))
    top = os.path.join(ROOT, "kernels")
    for module in (tinygan.kernels, dispatch, conv_lowering):
        assert os.path.abspath(module.__file__).startswith(top + os.sep)
    assert tinygan.kernels.__name__ == "tinygan.kernels" and conv_lowering.__name__ == "tinygan.kernels.cuda." \
        "conv_lowering"


def test_setup_maps_every_kernels_package(monkeypatch):
    """setup.py's packages and package_dir, as setuptools receives them: every kernels/ package, each mapped to a
    folder that exists; the rest of tinygan found as usual."""
    import runpy

    import setuptools
    seen = {}
    monkeypatch.setattr(setuptools, "setup", lambda **kw: seen.update(kw))
    monkeypatch.chdir(ROOT)
    runpy.run_path(os.path.join(ROOT, "setup.py"))
    packages, package_dir = seen["packages"], seen["package_dir"]
    assert {"tinygan", "tinygan.keras", "tinygan.gans", "tinygan.kernels", "tinygan.kernels.cuda"} <= set(packages)
    assert package_dir["tinygan.kernels"] == "kernels" and package_dir["tinygan.kernels.cuda"] == "kernels/cuda"
    assert all(os.path.isfile(os.path.join(ROOT, d, "__init__.py")) for d in package_dir.values())
