"""Tests for naah.ops.threads: kernels split over worker threads inside parallel()."""

import os
import signal
import threading
import time
import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from naah.ops import threads
from tests._reference import conv2d as reference


def blas_threads():
    return {lib["filepath"]: lib["num_threads"] for lib in threadpool_info()
            if lib["user_api"] == "blas"}  # fmt: skip


def random(shape, dtype="float32", seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def test_outside_parallel_kernels_use_one_worker():
    assert threads.workers() == 1


def test_parallel_uses_the_blas_thread_count_and_holds_blas_to_one_thread():
    with threadpool_limits(limits=3, user_api="blas"):
        before = blas_threads()
        with threads.parallel():
            assert threads.workers() == 3
            assert set(blas_threads().values()) == {1}
            with threads.parallel():  # nested: unchanged
                assert threads.workers() == 3
            assert set(blas_threads().values()) == {1}
        assert threads.workers() == 1
        assert blas_threads() == before


def test_overlapping_contexts_of_two_threads_restore_blas_in_any_order():
    # A enters, B enters, A exits, B exits: both get the BLAS count, and BLAS ends
    # where it started.
    steps = {name: (threading.Event(), threading.Event()) for name in "AB"}
    seen = {}

    def body(name):
        entered, leave = steps[name]
        with threads.parallel():
            seen[name] = threads.workers()
            entered.set()
            leave.wait(10)
        seen[f"{name} after"] = set(blas_threads().values())

    with threadpool_limits(limits=2, user_api="blas"):
        before = blas_threads()
        a = threading.Thread(target=body, args="A")
        b = threading.Thread(target=body, args="B")
        a.start()
        steps["A"][0].wait(10)
        b.start()
        steps["B"][0].wait(10)
        steps["A"][1].set()
        a.join(10)
        steps["B"][1].set()
        b.join(10)
        after = blas_threads()
    assert (seen["A"], seen["B"]) == (2, 2)
    assert seen["B after"] == set(before.values())
    assert after == before


def test_an_explicit_worker_count_overrides_blas_and_must_be_positive():
    with threadpool_limits(limits=1, user_api="blas"), threads.parallel(3):
        assert threads.workers() == 3
    with pytest.raises(ValueError, match="positive int"):
        with threads.parallel(0):
            pass


def test_a_one_thread_blas_limit_keeps_the_kernels_serial():
    with threadpool_limits(limits=1, user_api="blas"), threads.parallel():
        assert threads.workers() == 1


def test_parallel_restores_blas_threads_after_an_error():
    with threadpool_limits(limits=2, user_api="blas"):
        before = blas_threads()
        with pytest.raises(RuntimeError, match="boom"), threads.parallel():
            raise RuntimeError("boom")
        assert blas_threads() == before
        assert threads.workers() == 1


@pytest.mark.parametrize(("count", "parts"), [(10, 3), (2, 5), (1, 2), (0, 2)])
def test_run_covers_every_index_once(count, parts):
    seen = np.zeros(count, int)
    lock = threading.Lock()

    def task(first, last):
        with lock:
            seen[first:last] += 1

    threads.run(task, count, parts)
    assert (seen == 1).all()


def test_run_raises_a_workers_error_after_all_shares_finish():
    finished = []

    def task(first, last):
        if first > 0:
            raise ValueError("bad share")
        finished.append(first)

    with pytest.raises(ValueError, match="bad share"):
        threads.run(task, 4, 2)
    assert finished == [0]


# x shape, w shape, padding: Winograd split by tile rows or (few tiles) by output
# channels, shift-GEMM (3x2 kernel), and a 5x5 kernel on 3 channels (im2col, not
# split).
CASES = {
    "Winograd, tile rows": ((2, 3, 34, 40), (8, 3, 3, 3), (1, 1, 1, 1)),
    "Winograd, output channels": ((1, 128, 6, 5), (130, 128, 3, 3), (1, 0, 2, 1)),
    "Winograd, 64 -> 64 channels": ((2, 64, 9, 11), (64, 64, 3, 3), (1, 1, 1, 1)),
    "shift-GEMM": ((2, 32, 9, 11), (16, 32, 3, 2), (1, 1, 0, 1)),
    "im2col": ((1, 3, 9, 8), (4, 3, 5, 5), (2, 2, 2, 2)),
}


@pytest.mark.parametrize(("x_shape", "w_shape", "pad"), CASES.values(), ids=CASES)
def test_split_convolutions_match_scipy(x_shape, w_shape, pad):
    x, w = random(x_shape, seed=1), random(w_shape, seed=2)
    expected = reference(x, w, pad)
    gz = random(expected.shape, seed=3)
    with threadpool_limits(limits=2, user_api="blas"), threads.parallel():
        y = threads.conv2d_forward(x, w, *pad, 1, 1)
        gx = threads.conv2d_grad_input(gz, w, *x_shape[2:], *pad, 1, 1)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)
    # The input gradient is the adjoint: <conv(x), gz> = <x, grad_input(gz)>.
    assert np.vdot(x.astype(np.float64), gx) == pytest.approx(
        np.vdot(expected, gz), rel=1e-4
    )


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_working_worker_threads():
    threads.run(lambda a, b: None, 4, 2)  # the parent's pool exists
    with warnings.catch_warnings():
        # Python 3.12 warns about forking a process that has threads, and JAX (if
        # another test imported it) about forking at all; the child uses neither.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        pid = os.fork()
    if pid == 0:  # child: would hang on the parent's pool, whose threads it lacks
        seen = []
        threads.run(lambda a, b: seen.append((a, b)), 4, 2)
        os._exit(0 if sorted(seen) == [(0, 2), (2, 4)] else 1)
    deadline = time.monotonic() + 30
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung on the parent's worker threads")
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(done[1]) == 0
