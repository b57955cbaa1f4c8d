"""Tests for naah.runtime: one execution policy, applied only while active."""

import subprocess
import sys

import numpy as np
import pytensor.tensor as pt
import pytest
from threadpoolctl import threadpool_limits

from naah.compile import function
from naah.ops import memory, threads
from naah.runtime import Runtime


def test_activate_runs_kernels_on_the_requested_threads_then_restores():
    with threadpool_limits(limits=2, user_api="blas"):
        with Runtime().activate():
            assert threads.workers() == 2
        with Runtime(threads=3).activate():
            assert threads.workers() == 3
        with Runtime(threads=1).activate():
            assert threads.workers() == 1
        with Runtime().activate(backend="numba"):  # Numba runs its own serial kernels
            assert threads.workers() == 1
    assert threads.workers() == 1


def test_functions_compiled_by_naah_are_serial_outside_a_runtime(monkeypatch):
    seen = []
    x = pt.vector("x")
    f = function([x], 2 * x)
    with threadpool_limits(limits=2, user_api="blas"):
        f([1.0])
        seen.append(threads.workers())
        with Runtime().activate():
            np.testing.assert_array_equal(f([1.0]), [2.0])
            seen.append(threads.workers())
    assert seen == [1, 2]


@pytest.mark.parametrize("threads_", [0, -1, 1.5, True, "2"])
def test_a_bad_thread_count_is_refused_with_its_value(threads_):
    with pytest.raises(ValueError, match="positive int"):
        Runtime(threads=threads_)


def test_memory_is_kept_only_when_asked(monkeypatch):
    calls = []
    monkeypatch.setattr(memory, "keep_freed_memory", lambda: calls.append(1))
    with Runtime().activate():
        pass
    assert calls == []
    with Runtime(keep_freed_memory=True).activate():
        pass
    assert calls == [1]


def test_importing_naah_changes_no_pytensor_setting_and_warns_nothing():
    code = (
        "import warnings; warnings.simplefilter('error')\n"
        "import pytensor\n"
        "before = {k: str(getattr(pytensor.config, k)) for k in "
        "('blas__ldflags', 'mode', 'linker', 'floatX', 'cxx')}\n"
        "import naah\n"
        "after = {k: str(getattr(pytensor.config, k)) for k in before}\n"
        "assert before == after, (before, after)\n"
    )
    # blas__ldflags is evaluated lazily: read it under the same filter as naah.
    code = code.replace(
        "import pytensor\n",
        "import pytensor\nwith warnings.catch_warnings():\n"
        "    warnings.simplefilter('ignore')\n"
        "    _ = pytensor.config.blas__ldflags\n",
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_cache_dirs_name_pytensors_compiledir():
    dirs = Runtime.cache_dirs()
    assert dirs["pytensor"].name.startswith("compiledir")
