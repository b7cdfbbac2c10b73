"""tinygan.host_memory: freed host memory is kept for reuse unless the user tuned malloc or opted out."""
import resource

import numpy as np
import pytest

from tinygan import host_memory


@pytest.mark.parametrize("environ, applies", [
    ({}, True),
    ({"TINYGAN_HOST_MEMORY": "system"}, False),
    ({"MALLOC_MMAP_THRESHOLD_": "131072"}, False),
    ({"MALLOC_TRIM_THRESHOLD_": "0"}, False),
    ({"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=131072"}, False),
    ({"GLIBC_TUNABLES": "glibc.rtld.optional_static_tls=512"}, True),
])
def test_policy_defers_to_the_user(environ, applies):
    policy = host_memory.keep_freed_memory(environ)
    if applies and "no glibc" in policy:
        pytest.skip("no glibc mallopt on this platform")
    assert ("kept for reuse" in policy) == applies, policy
    if not applies:
        assert policy.startswith("system malloc")


def _minor_faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def test_a_freed_big_array_is_reused_without_page_faults():
    if "kept for reuse" not in host_memory.POLICY:
        pytest.skip(f"policy not active here: {host_memory.POLICY}")
    n = (64 << 20) // 4                     # 64 MiB: far over glibc's default mmap threshold
    a = np.ones(n, np.float32)
    del a
    before = _minor_faults()
    b = np.ones(n, np.float32)              # the same size again: served from the kept heap
    faults = _minor_faults() - before
    del b
    assert faults < 64, f"{faults} page faults re-touching 64 MiB (16384 4-KiB pages if it were mmapped afresh)"
