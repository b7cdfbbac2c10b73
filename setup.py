"""Packaging beyond pyproject.toml: the top-level ``kernels/`` folder is installed as ``tinygan.kernels``.

setuptools' ``package_dir`` maps it, so a wheel holds ``tinygan/kernels/`` and an editable install's finder
points ``tinygan.kernels`` at ``kernels/``; a source checkout reaches it through ``tinygan/__init__.py``.
"""
from setuptools import find_packages, setup

KERNELS = ["tinygan.kernels"] + [f"tinygan.kernels.{p}" for p in find_packages("kernels")]

setup(packages=find_packages(include=["tinygan", "tinygan.*"]) + KERNELS,
      package_dir={p: p.replace("tinygan.kernels", "kernels", 1).replace(".", "/") for p in KERNELS})
