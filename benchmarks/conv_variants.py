"""Where naah's convolution time goes, and what a block-parallel kernel would save.

For every VGG-19 convolution up to conv5_1 at one image size, the best of
``--repeats`` times in milliseconds of:

* ``fwd``, ``gin``: naah's :func:`~naah.ops.kernels.conv2d_forward` (shift-GEMM for
  stride 1 and at least 16 channels, im2col otherwise) and
  :func:`~naah.ops.kernels.conv2d_grad_input` (a flipped forward convolution);
* ``gemm floor``: the layer's FLOPs at the float32 GEMM rate of the BLAS Numba calls,
  measured on a (256 x 2304) @ (2304 x 4096) product;
* ``im2col``: naah's im2col path with patch blocks of ``--budget`` elements;
* ``im2col ∥``: the same with the blocks spread over Numba threads (``prange``),
  each thread doing its own copies and a single-threaded GEMM;
* ``bias+relu``: the elementwise pass naah's graph runs after each convolution.

Run with one BLAS thread and two Numba threads to compare the two ways of using two
cores::

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE \\
        python benchmarks/conv_variants.py --size 256
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from numba import njit, prange

from naah.ops import kernels

# (name, input channels, output channels, spatial divisor) up to conv5_1.
LAYERS = [
    ("conv1_1", 3, 64, 1), ("conv1_2", 64, 64, 1),
    ("conv2_1", 64, 128, 2), ("conv2_2", 128, 128, 2),
    ("conv3_1", 128, 256, 4), ("conv3_2", 256, 256, 4),
    ("conv3_3", 256, 256, 4), ("conv3_4", 256, 256, 4),
    ("conv4_1", 256, 512, 8), ("conv4_2", 512, 512, 8),
    ("conv4_3", 512, 512, 8), ("conv4_4", 512, 512, 8),
    ("conv5_1", 512, 512, 16),
]  # fmt: skip


@njit(cache=False, nogil=True)
def gemm(a, b):
    return np.dot(a, b)


@njit(cache=False, nogil=True)
def im2col_forward(x, w, budget):
    """naah's ``_conv2d_im2col`` for a 'same' 3x3 convolution, blocks of ``budget``."""
    _, c, h, wd = x.shape
    o = w.shape[0]
    out = np.empty((1, o, h, wd), x.dtype)
    wmat = kernels._kernel_matrix(w)
    xpad = kernels._padded(x[0], 1, 1, 1, 1)
    block = max(1, min(h, budget // (9 * c * wd)))
    for r0 in range(0, h, block):
        r1 = min(h, r0 + block)
        cols = kernels._im2col(xpad, 3, 3, 1, 1, r0, r1, wd)
        out[0, :, r0:r1, :] = np.dot(wmat, cols).reshape(o, r1 - r0, wd)
    return out


@njit(cache=False, parallel=True)
def im2col_forward_parallel(x, w, budget):
    """:func:`im2col_forward` with its row blocks spread over Numba threads."""
    _, c, h, wd = x.shape
    o = w.shape[0]
    out = np.empty((1, o, h, wd), x.dtype)
    wmat = kernels._kernel_matrix(w)
    xpad = kernels._padded(x[0], 1, 1, 1, 1)
    block = max(1, min(h, budget // (9 * c * wd)))
    for k in prange((h + block - 1) // block):
        r0 = k * block
        r1 = min(h, r0 + block)
        cols = kernels._im2col(xpad, 3, 3, 1, 1, r0, r1, wd)
        out[0, :, r0:r1, :] = np.dot(wmat, cols).reshape(o, r1 - r0, wd)
    return out


def bias_relu_pass(y, b):
    return np.maximum(y + b[None, :, None, None], 0)


def best_ms(function, repeats: int) -> float:
    function()
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return 1e3 * best


def gemm_rate(repeats: int) -> float:
    """GFLOP/s of Numba's np.dot on a conv3_x-like float32 product."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((256, 2304), dtype=np.float32)
    b = rng.standard_normal((2304, 4096), dtype=np.float32)
    return 2 * 256 * 2304 * 4096 / best_ms(lambda: gemm(a, b), repeats) / 1e6


def layer_times(x, w, b, gz, rate, args) -> list[float]:
    """The table's columns for one layer, milliseconds."""
    side = x.shape[2]
    flops = 2.0 * w.size * side * side
    y = kernels.conv2d_forward(x, w, 1, 1, 1, 1, 1, 1)
    functions = [
        lambda: kernels.conv2d_forward(x, w, 1, 1, 1, 1, 1, 1),
        lambda: kernels.conv2d_grad_input(gz, w, side, side, 1, 1, 1, 1, 1, 1),
        lambda: im2col_forward(x, w, args.budget),
        lambda: im2col_forward_parallel(x, w, args.budget),
        lambda: bias_relu_pass(y, b),
    ]
    times = [best_ms(f, args.repeats) for f in functions]
    return [*times[:2], flops / rate / 1e6, *times[2:]]


def measure(args) -> list[list[str]]:
    rng = np.random.default_rng(0)
    rate = gemm_rate(args.repeats)
    rows, totals = [], None
    for name, c, o, divisor in LAYERS:
        side = args.size // divisor
        x = rng.standard_normal((1, c, side, side), dtype=np.float32)
        w = rng.standard_normal((o, c, 3, 3), dtype=np.float32)
        b = rng.standard_normal(o, dtype=np.float32)
        gz = rng.standard_normal((1, o, side, side), dtype=np.float32)
        times = layer_times(x, w, b, gz, rate, args)
        totals = times if totals is None else np.add(totals, times)
        rows.append([name, f"{c}->{o} @{side}", *(f"{t:.1f}" for t in times)])
    rows.append(["total", f"GEMM {rate:.0f} GFLOP/s", *(f"{t:.0f}" for t in totals)])
    return rows


def main(argv=None) -> None:
    from bench_style import markdown

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--budget", type=int, default=1 << 20, help="im2col block")
    args = parser.parse_args(argv)
    header = ["layer", "shape", "fwd", "gin", "gemm floor", "im2col", "im2col ∥"]
    header.append("bias+relu")
    print(f"milliseconds, best of {args.repeats}, at {args.size}x{args.size}\n")
    print(markdown(header, measure(args)))


if __name__ == "__main__":
    main()
