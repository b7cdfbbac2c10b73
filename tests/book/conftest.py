"""Fixtures for the book acceptance tests; the machinery is in ``book_harness.py``."""
import gc
import os

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest

from book_harness import run_listing


@pytest.fixture
def listing(tmp_path):
    """``listing(name, defs_only=False)`` -> (namespace, stdout); big models are freed afterwards."""
    namespaces = []

    def run(name, **kwargs):
        namespace, out = run_listing(name, tmp_path, **kwargs)
        namespaces.append(namespace)
        return namespace, out

    run.workdir = tmp_path
    yield run
    for namespace in namespaces:
        namespace.clear()
    gc.collect()
