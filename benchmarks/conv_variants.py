"""Per-layer milliseconds of naah's convolution methods, to choose between them.

For every VGG-19 convolution up to conv5_1 at one image size, the best of
``--repeats`` times in milliseconds of the forward convolution (``fwd``) and its
input gradient (``gin``) by:

* ``direct``: shift-GEMM (stride 1, at least 16 channels) or im2col, the methods
  of :mod:`naah.ops.kernels` without Winograd;
* ``winograd``: :mod:`naah.ops.winograd`'s F(2x2, 3x3), kernel transform included;
* ``floor``: the layer's direct-convolution FLOPs at the float32 GEMM rate of the
  BLAS Numba calls, measured on a (256 x 2304) @ (2304 x 4096) product.

The last columns give Winograd's relative error against a float64 reference, next
to direct convolution's. Run on a quiet machine::

    python benchmarks/conv_variants.py --size 256
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from numba import njit

from naah.ops import kernels, winograd

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


def direct_forward(x, w):
    if x.shape[1] >= kernels.SHIFT_GEMM_MIN_CHANNELS:
        return kernels._conv2d_shift_gemm(x, w, 1, 1, 1, 1)
    return kernels._conv2d_im2col(x, w, 1, 1, 1, 1, 1, 1)


def direct_grad_input(gz, w):
    flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    return direct_forward(gz, flipped)


def relative_error(got, reference) -> float:
    return float(np.abs(got - reference).max() / np.abs(reference).max())


def layer_row(x, w, gz, rate, repeats) -> tuple[list[float], list[float]]:
    """Times (fwd, gin for each method, floor) and errors (direct, Winograd)."""
    flops = 2.0 * w.size * x.shape[2] * x.shape[3]
    functions = [
        lambda: direct_forward(x, w),
        lambda: direct_grad_input(gz, w),
        lambda: winograd.conv3x3(x, w, 1, 1, 1, 1),
        lambda: winograd.conv3x3_grad_input(gz, w, 1, 1, 1, 1),
    ]
    times = [best_ms(f, repeats) for f in functions] + [flops / rate / 1e6]
    reference = direct_forward(x.astype(np.float64), w.astype(np.float64))
    errors = [
        relative_error(direct_forward(x, w), reference),
        relative_error(winograd.conv3x3(x, w, 1, 1, 1, 1), reference),
    ]
    return times, errors


def measure(size: int, repeats: int) -> list[list[str]]:
    rng = np.random.default_rng(0)
    rate = gemm_rate(repeats)
    rows, totals = [], np.zeros(5)
    for name, c, o, divisor in LAYERS:
        side = size // divisor
        x = rng.standard_normal((1, c, side, side), dtype=np.float32)
        w = rng.standard_normal((o, c, 3, 3), dtype=np.float32)
        gz = rng.standard_normal((1, o, side, side), dtype=np.float32)
        times, errors = layer_row(x, w, gz, rate, repeats)
        totals += times
        rows.append(
            [name, f"{c}->{o} @{side}", *(f"{t:.1f}" for t in times)]
            + [f"{e:.1e}" for e in errors]
        )
    rows.append(
        ["total", f"GEMM {rate:.0f} GFLOP/s", *(f"{t:.0f}" for t in totals), "", ""]
    )
    return rows


def main(argv=None) -> None:
    from bench_style import markdown

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    header = ["layer", "shape", "direct fwd", "direct gin", "winograd fwd"]
    header += ["winograd gin", "floor", "direct err", "winograd err"]
    print(f"milliseconds, best of {args.repeats}, at {args.size}x{args.size}\n")
    print(markdown(header, measure(args.size, args.repeats)))


if __name__ == "__main__":
    main()
