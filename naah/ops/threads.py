"""naah's kernels on several cores: shares of each output on worker threads.

Threaded BLAS splits each matrix product between the cores, but the transforms and
copies around the products run on one core, the many small products of a blocked
convolution split badly, and BLAS's idle threads spin between products, taking
cores from everything else. naah's kernels release the GIL, so inside
:func:`parallel` the Ops' ``perform`` gives each of :func:`workers` threads a
contiguous share of its output instead, and BLAS stays on one thread. On two cores
one 256x256 style-transfer evaluation took 0.40 s this way against 0.50 s with two
BLAS threads (``docs/performance.md``).

:class:`naah.runtime.Runtime` enters :func:`parallel` around the calls of naah's
compiled functions on the ``"c"`` backend. Outside it the kernels run serially with
BLAS's own threads, as they do on PyTensor's Numba backend.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache

import numpy as np
from threadpoolctl import LibController, ThreadpoolController

from naah.ops import kernels, winograd

# Below this many 2x2 output tiles per worker, products over a share of the tiles
# are too narrow to run well, and the workers share the output channels instead
# (conv5_1 at 256x256 has 64 tiles).
MIN_TILES_PER_WORKER = 128

_local = threading.local()


@lru_cache(maxsize=1)
def _blas_libraries() -> list[LibController]:
    # Created once: inspecting the loaded libraries takes milliseconds. naah.ops.blas
    # has loaded the BLAS the kernels call by the time this runs.
    return ThreadpoolController().select(user_api="blas").lib_controllers


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix="naah")


# A forked child has the pool object but none of its threads: give it a new one.
os.register_at_fork(after_in_child=_pool.cache_clear)


def workers() -> int:
    """Threads naah's kernels use now: 1 outside :func:`parallel`.

    Examples
    --------
    >>> workers()
    1
    """
    return getattr(_local, "workers", 1)


class _BlasLimit:
    """BLAS held to one thread while any thread is inside :func:`parallel`.

    BLAS libraries are process-wide, so the limit is reference-counted under one
    lock: the first thread to enter saves the libraries' thread counts and the last
    to leave restores them, whatever order the threads leave in.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._saved: list[int] = []

    def acquire(self) -> int:
        """Hold BLAS to one thread; return the BLAS thread count before any hold."""
        with self._lock:
            libraries = _blas_libraries()
            if self._holders == 0:
                self._saved = [lib.get_num_threads() or 1 for lib in libraries]
                for lib in libraries:
                    lib.set_num_threads(1)
            self._holders += 1
            return max(self._saved, default=1)

    def release(self) -> None:
        with self._lock:
            self._holders -= 1
            if self._holders == 0:
                for lib, count in zip(_blas_libraries(), self._saved, strict=True):
                    lib.set_num_threads(count)

    @contextmanager
    def widened(self, count: int) -> Iterator[None]:
        """BLAS on ``count`` threads for a kernel that does not split its work."""
        self._set(count)
        try:
            yield
        finally:
            self._set(1)

    def _set(self, count: int) -> None:
        with self._lock:
            if self._holders:
                for lib in _blas_libraries():
                    lib.set_num_threads(count)


_blas_limit = _BlasLimit()


@contextmanager
def parallel(count: int | None = None) -> Iterator[None]:
    """Run naah's kernels on ``count`` worker threads, BLAS on one, in this thread.

    ``count`` defaults to the BLAS setting in effect (``OPENBLAS_NUM_THREADS``,
    ``MKL_NUM_THREADS``, a threadpoolctl limit...), so a limit the user sets is
    respected. BLAS libraries are process-wide: while any thread is inside, BLAS
    calls made by other threads also run on one thread. Contexts of several threads
    may overlap in any order; the last one to leave restores BLAS's thread count.
    Usually entered through :meth:`naah.runtime.Runtime.activate`.

    Examples
    --------
    >>> import numpy as np
    >>> with parallel(2):
    ...     y = conv2d_forward(np.ones((1, 3, 8, 8)), np.ones((4, 3, 3, 3)), 1, 1, 1, 1, 1, 1)
    >>> y.shape
    (1, 4, 8, 8)
    """
    if count is not None and (not isinstance(count, int) or count < 1):
        raise ValueError(f"worker count must be a positive int, got {count!r}")
    if workers() > 1:  # already inside: the outer context owns the setting
        yield
        return
    blas_count = _blas_limit.acquire()
    _local.workers = blas_count if count is None else count
    try:
        yield
    finally:
        _local.workers = 1
        _blas_limit.release()


@contextmanager
def _serial() -> Iterator[None]:
    """For kernels that do not split their work: BLAS's own threads, as outside
    :func:`parallel`, for the kernel's length."""
    if workers() > 1:
        with _blas_limit.widened(workers()):
            yield
    else:
        yield


def run(
    task: Callable[[int, int], object], count: int, parts: int | None = None
) -> None:
    """``task(first, last)`` on contiguous shares of ``range(count)``, one per worker.

    ``task`` must release the GIL (a ``nogil`` Numba function) for the shares to
    run at the same time.

    Examples
    --------
    >>> shares = []
    >>> run(lambda first, last: shares.append((first, last)), 10, parts=2)
    >>> sorted(shares)
    [(0, 5), (5, 10)]
    """
    parts = workers() if parts is None else parts
    bounds = [count * i // parts for i in range(parts + 1)]
    shares = [(a, b) for a, b in itertools.pairwise(bounds) if b > a]
    futures = [_pool().submit(task, a, b) for a, b in shares[1:]]
    try:
        if shares:
            task(*shares[0])
    finally:
        for future in futures:
            future.result()


def _winograd(
    x: np.ndarray,
    w: np.ndarray,
    pad: tuple[int, int, int, int],
    adjoint: bool,
    bias: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`winograd.conv3x3` (or its input gradient) split over the workers.

    Each worker takes a share of the tile rows, or, when there are too few tiles
    for wide products, a share of the output channels.
    """
    out_channels, in_channels = w.shape[:2]
    plane = winograd.plane_stride(out_channels * in_channels)
    u = np.empty(16 * plane, w.dtype)
    if adjoint:
        pad = winograd.grad_input_padding(*pad)
        out_channels = in_channels
    shape = winograd.output_shape(x.shape, out_channels, *pad)
    out = np.empty(shape, x.dtype)
    rows, channels = winograd.tile_rows(shape), shape[1]
    bias = np.empty(0, x.dtype) if bias is None else bias

    def transform(first: int, last: int) -> None:
        winograd.transform_kernels(w, u, plane, first, last)

    def correlate_rows(first: int, last: int) -> None:
        winograd.correlate(
            x,
            u,
            plane,
            adjoint,
            pad[0],
            pad[2],
            (first, last),
            (0, channels),
            bias,
            out,
        )

    def correlate_channels(first: int, last: int) -> None:
        winograd.correlate(
            x, u, plane, adjoint, pad[0], pad[2], (0, rows), (first, last), bias, out
        )

    run(transform, w.shape[0])
    if rows * ((shape[3] + 1) // 2) >= workers() * MIN_TILES_PER_WORKER:
        run(correlate_rows, rows)
    else:
        run(correlate_channels, channels)
    return out


def _shift_gemm(
    x: np.ndarray, w: np.ndarray, pad: tuple[int, int, int, int]
) -> np.ndarray:
    """:func:`kernels.shift_gemm_rows` over all output rows, split over the workers."""
    shape = kernels.shift_gemm_output_shape(x.shape, w.shape, *pad)
    out = np.empty(shape, x.dtype)

    def rows(first: int, last: int) -> None:
        kernels.shift_gemm_rows(x, w, pad[0], pad[2], first, last, out)

    run(rows, shape[0] * shape[2])
    return out


def conv2d_forward(
    x: np.ndarray,
    w: np.ndarray,
    pad_top: int,
    pad_bottom: int,
    pad_left: int,
    pad_right: int,
    stride_h: int,
    stride_w: int,
    bias: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`naah.ops.kernels.conv2d_forward` on :func:`workers` threads, plus
    ``bias`` per output channel if given.

    Stride-1 convolutions split their output between the workers; others run on
    BLAS's threads. With the transforms split too, Winograd beats shift-GEMM for
    every 3x3 layer, conv1_2 included (17 against 26 ms at 256x256 on two cores),
    and adds the bias for free in its output transform.
    """
    pad = (pad_top, pad_bottom, pad_left, pad_right)
    if workers() > 1 and (stride_h, stride_w) == (1, 1):
        _, c, h, wd = x.shape
        kh, kw = w.shape[2:]
        if h + pad_top + pad_bottom >= kh and wd + pad_left + pad_right >= kw:
            if (kh, kw) == (3, 3):
                return _winograd(x, w, pad, False, bias)
            if c >= kernels.SHIFT_GEMM_MIN_CHANNELS:
                return _add_bias(_shift_gemm(x, w, pad), bias)
    with _serial():
        out = kernels.conv2d_forward(x, w, *pad, stride_h, stride_w)
    return _add_bias(out, bias)


def _add_bias(out: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    if bias is not None:
        run(
            lambda a, b: kernels.add_bias_planes(out, bias, a, b),
            out.shape[0] * out.shape[1],
        )
    return out


def conv2d_grad_input(
    gz: np.ndarray,
    w: np.ndarray,
    height: int,
    width: int,
    pad_top: int,
    pad_bottom: int,
    pad_left: int,
    pad_right: int,
    stride_h: int,
    stride_w: int,
) -> np.ndarray:
    """:func:`naah.ops.kernels.conv2d_grad_input` on :func:`workers` threads.

    With stride 1 and padding smaller than the kernel, the gradient is a
    convolution of the output gradient and runs as :func:`conv2d_forward` does.
    """
    pad = (pad_top, pad_bottom, pad_left, pad_right)
    kh, kw = w.shape[2:]
    full = (
        kh - 1 - pad_top,
        kh - 1 - pad_bottom,
        kw - 1 - pad_left,
        kw - 1 - pad_right,
    )
    if workers() > 1 and (stride_h, stride_w) == (1, 1) and min(full) >= 0:
        if (kh, kw) == (3, 3):
            return _winograd(gz, w, pad, True)
        flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
        return conv2d_forward(gz, flipped, *full, 1, 1)
    with _serial():
        return kernels.conv2d_grad_input(gz, w, height, width, *pad, stride_h, stride_w)


def conv2d_grad_kernel(
    x: np.ndarray, gz: np.ndarray, kh: int, kw: int, *geometry: int
) -> np.ndarray:
    """:func:`naah.ops.kernels.conv2d_grad_kernel`, on BLAS's threads."""
    with _serial():
        return kernels.conv2d_grad_kernel(x, gz, kh, kw, *geometry)
