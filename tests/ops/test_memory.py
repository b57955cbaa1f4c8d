"""Tests for naah.ops.memory: freed evaluation-sized blocks are reused, not refaulted."""

import resource
import sys

import numpy as np
import pytest

from naah.ops import memory


def faults_filling(nbytes: int) -> int:
    """Minor page faults taken by allocating and filling ``nbytes``."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = np.empty(nbytes, np.uint8)
    block.fill(1)
    del block
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_a_freed_64_mb_block_is_reused_without_page_faults():
    if not memory.keep_freed_memory():
        pytest.skip("not glibc, or NAAH_KEEP_FREED_MEMORY=0")
    nbytes = 64 << 20
    faults_filling(nbytes)
    # 64 MiB is 16384 pages of 4 KiB (32 of 2 MiB); a reused block takes almost none.
    assert faults_filling(nbytes) < 16


def test_the_environment_variable_turns_it_off(monkeypatch):
    monkeypatch.setenv("NAAH_KEEP_FREED_MEMORY", "0")
    assert memory.keep_freed_memory.__wrapped__() is False
