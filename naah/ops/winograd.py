"""Winograd convolution F(2x2, 3x3) for 3x3 stride-1 layers (Lavin & Gray, 2016).

A 3x3 correlation of a 4x4 input tile ``d`` with a kernel ``g`` gives a 2x2 output
tile ``Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A`` with

.. code-block:: text

    Bᵀ = [[1, 0,-1, 0],    G = [[ 1,   0,  0 ],    Aᵀ = [[1, 1, 1, 0],
          [0, 1, 1, 0],         [1/2, 1/2, 1/2],         [0, 1,-1,-1]]
          [0,-1, 1, 0],         [1/2,-1/2, 1/2],
          [0, 1, 0,-1]]         [ 0,   0,  1 ]]

Summed over input channels, the elementwise product becomes 16 independent matrix
products, one per position ξ of the 4x4 transformed tile:
``M[ξ] (O x tiles) = U[ξ] (O x C) @ V[ξ] (C x tiles)``. That is 16 multiply-adds per
2x2 outputs and channel pair instead of 36: 2.25x fewer than direct convolution,
and all of them inside BLAS. The transforms themselves are additions only.

Accuracy: every transform coefficient is 0, ±1 or ±1/2, exact in binary, so the
rounding error stays at the level of direct convolution in float32 (a few 1e-7 of
the output's scale; see ``tests/ops/test_winograd.py``). The larger F(4x4, 3x3) would
cut multiplies by a further 1.8x, but its coefficients (1/6, 1/24, ...) lose about
two decimal digits in float32, so naah does not use it.

The input gradient of a 3x3 convolution is a 3x3 convolution with the kernels
flipped and transposed. Flipping a kernel reverses the rows of ``G`` up to swapping
its first and last rows, so the flipped kernels' transforms are the original ones
with tile positions 0 and 3 swapped along each axis (:data:`FLIPPED_POSITION`); the
gradient reuses :func:`kernel_transform` and transposes ``U[ξ]`` inside BLAS.

Tiles are processed in blocks of tile rows so that a block's transformed input and
products (:data:`BLOCK_BYTES`) stay in cache between the transforms and the GEMMs.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from naah.ops import geometry
from naah.ops.blas import gemm
from naah.ops.padding import pad_rows

# Bytes of transformed input plus products per block of tile rows: the GEMMs are
# wide enough for BLAS to run at full speed and the block stays in the L2/L3 cache.
BLOCK_BYTES = 1 << 22

# Position of each transformed-tile row (or column) for the flipped kernel.
FLIPPED_POSITION = (3, 1, 2, 0)


@njit(cache=True, nogil=True)
def plane_stride(n):
    """Elements between the 16 planes of a transformed array of ``n`` per plane.

    Rounded up to a cache line, plus one: planes a power of two apart fall on the
    same cache sets, and writing all 16 at once would thrash them.
    """
    return (n + 15) // 16 * 16 + 16


@njit(cache=True, nogil=True, boundscheck=False, inline="always")
def _row_times_gt(u, s, plane, t0, t1, t2):
    """One row of (G g) Gᵀ: four values, one per plane, from a row of G g."""
    u[s] = t0
    u[s + plane] = 0.5 * (t0 + t1 + t2)
    u[s + 2 * plane] = 0.5 * (t0 - t1 + t2)
    u[s + 3 * plane] = t2


@njit(cache=True, nogil=True)
def kernel_transform(w):
    """``U = G g Gᵀ`` of (O, C, 3, 3) kernels, as 16 planes of (O, C).

    Returns the flat array and the distance between planes (:func:`plane_stride`).
    """
    o, c, _, _ = w.shape
    plane = plane_stride(o * c)
    u = np.empty(16 * plane, w.dtype)
    transform_kernels(w, u, plane, 0, o)
    return u, plane


@njit(cache=True, nogil=True, boundscheck=False)
def transform_kernels(w, u, plane, first, last):
    """Output channels first:last of :func:`kernel_transform`, into ``u``."""
    c = w.shape[1]
    for a in range(first, last):
        for b in range(c):
            g = w[a, b]
            # G g (rows t0..t3 of 4x3), in scalars: a temporary array per kernel
            # would cost more than the arithmetic.
            t00, t01, t02 = g[0, 0], g[0, 1], g[0, 2]
            t10 = 0.5 * (g[0, 0] + g[1, 0] + g[2, 0])
            t11 = 0.5 * (g[0, 1] + g[1, 1] + g[2, 1])
            t12 = 0.5 * (g[0, 2] + g[1, 2] + g[2, 2])
            t20 = 0.5 * (g[0, 0] - g[1, 0] + g[2, 0])
            t21 = 0.5 * (g[0, 1] - g[1, 1] + g[2, 1])
            t22 = 0.5 * (g[0, 2] - g[1, 2] + g[2, 2])
            t30, t31, t32 = g[2, 0], g[2, 1], g[2, 2]
            q = a * c + b
            _row_times_gt(u, q, plane, t00, t01, t02)
            _row_times_gt(u, q + 4 * plane, plane, t10, t11, t12)
            _row_times_gt(u, q + 8 * plane, plane, t20, t21, t22)
            _row_times_gt(u, q + 12 * plane, plane, t30, t31, t32)


@njit(cache=True, nogil=True, boundscheck=False)
def _input_transform(band, rows, tw, v, plane):
    """``V = Bᵀ d B`` of ``rows`` tile rows of a padded band, into 16 planes of (C, P).

    Tile row r spans rows 2r:2r+4 of the band; tile (r, q) of the block is column
    ``r*tw + q`` of each plane.
    """
    c, _, wp = band.shape
    p = rows * tw
    e = np.empty((4, wp), band.dtype)
    for ch in range(c):
        for r in range(rows):
            d0, d1 = band[ch, 2 * r], band[ch, 2 * r + 1]
            d2, d3 = band[ch, 2 * r + 2], band[ch, 2 * r + 3]
            # Bᵀ d for the whole band at once (contiguous, vectorised) ...
            for k in range(wp):
                e[0, k] = d0[k] - d2[k]
                e[1, k] = d1[k] + d2[k]
                e[2, k] = d2[k] - d1[k]
                e[3, k] = d1[k] - d3[k]
            # ... then (Bᵀ d) B along each band row, tile by tile.
            base = ch * p + r * tw
            for i in range(4):
                ei = e[i]
                s = 4 * i * plane + base
                v0, v1 = v[s : s + tw], v[s + plane : s + plane + tw]
                v2, v3 = v[s + 2 * plane : s + 2 * plane + tw], v[s + 3 * plane :]
                for q in range(tw):
                    a0, a1 = ei[2 * q], ei[2 * q + 1]
                    a2, a3 = ei[2 * q + 2], ei[2 * q + 3]
                    v0[q] = a0 - a2
                    v1[q] = a1 + a2
                    v2[q] = a2 - a1
                    v3[q] = a1 - a3


@njit(cache=True, nogil=True, boundscheck=False)
def _output_transform(m, plane, t0, rows, tw, out, bias):
    """``Y = Aᵀ M A`` (plus ``bias[k]`` when given) of a block's products into output
    rows 2*t0... of (O, H, W)."""
    o, ho, wo = out.shape
    p = rows * tw
    half = wo // 2
    even = np.empty((4, tw), m.dtype)  # M A, first output column of each tile
    odd = np.empty((4, tw), m.dtype)  # M A, second output column
    for k in range(o):
        # The bias rides on the first row of M A: Aᵀ's first column is (1, 0).
        shift = bias[k] if bias.size else 0.0
        for r in range(rows):
            base = k * p + r * tw
            for i in range(4):
                s = 4 * i * plane + base
                m0, m1 = m[s : s + tw], m[s + plane : s + plane + tw]
                m2, m3 = m[s + 2 * plane : s + 2 * plane + tw], m[s + 3 * plane :]
                for q in range(tw):
                    even[i, q] = m0[q] + m1[q] + m2[q]
                    odd[i, q] = m1[q] - m2[q] - m3[q]
            if shift != 0.0:
                for q in range(tw):
                    even[1, q] += shift
                    odd[1, q] += shift
            y = 2 * (t0 + r)
            row = out[k, y]
            for q in range(half):
                row[2 * q] = even[0, q] + even[1, q] + even[2, q]
                row[2 * q + 1] = odd[0, q] + odd[1, q] + odd[2, q]
            if wo % 2:
                row[wo - 1] = even[0, half] + even[1, half] + even[2, half]
            if y + 1 < ho:
                row = out[k, y + 1]
                for q in range(half):
                    row[2 * q] = even[1, q] - even[2, q] - even[3, q]
                    row[2 * q + 1] = odd[1, q] - odd[2, q] - odd[3, q]
                if wo % 2:
                    row[wo - 1] = even[1, half] - even[2, half] - even[3, half]


# The one output-length formula (:func:`naah.ops.geometry.output_size`), compiled.
output_size = njit(cache=True, nogil=True)(geometry.output_size)


@njit(cache=True, nogil=True)
def output_shape(x_shape, out_channels, pad_top, pad_bottom, pad_left, pad_right):
    """(N, O, H_out, W_out) of a 3x3 stride-1 correlation."""
    n, _, h, w = x_shape
    return (
        n,
        out_channels,
        output_size(h, 3, 1, pad_top, pad_bottom),
        output_size(w, 3, 1, pad_left, pad_right),
    )


@njit(cache=True, nogil=True)
def tile_rows(out_shape):
    """Rows of 2x2 output tiles of all images: the unit of work of :func:`correlate`."""
    n, _, ho, _ = out_shape
    return n * ((ho + 1) // 2)


@njit(cache=True, nogil=True)
def correlate(x, u, plane, adjoint, pad_top, pad_left, rows, channels, bias, out):
    """Part of a 3x3 stride-1 correlation: tile rows ``rows = (first, last)``
    (counted over all images) and output channels ``channels = (first, last)``,
    plus ``bias`` per output channel unless it is empty.

    ``u`` holds (O, C) planes for the forward convolution; with ``adjoint`` it holds
    the (C_out, C_in) planes of the kernels whose flipped transposes are applied
    (the input gradient), and each plane is read transposed. Results are written to
    their place in ``out``; disjoint parts can run on separate threads.
    """
    _, c, _, _ = x.shape
    _, o_all, ho, wo = out.shape
    k0, k1 = channels
    o = k1 - k0
    th, tw = (ho + 1) // 2, (wo + 1) // 2
    rows_per_block = max(1, min(th, BLOCK_BYTES // (16 * (c + o) * tw * x.itemsize)))
    vplane = plane_stride(c * rows_per_block * tw)
    mplane = plane_stride(o * rows_per_block * tw)
    v = np.empty(16 * vplane, x.dtype)
    m = np.empty(16 * mplane, x.dtype)
    bands = np.empty(c * (2 * rows_per_block + 2) * (2 * tw + 2), x.dtype)
    start, last = rows
    while start < last:
        b, t0 = start // th, start % th
        block = min(rows_per_block, th - t0, last - start)
        p = block * tw
        # A C-contiguous band, so that the transform's loops vectorise.
        band = bands[: c * (2 * block + 2) * (2 * tw + 2)].reshape(
            c, 2 * block + 2, 2 * tw + 2
        )
        pad_rows(x[b], pad_top, pad_left, 2 * t0, band)
        _input_transform(band, block, tw, v, vplane)
        for xi in range(16):
            if adjoint:
                src = 4 * FLIPPED_POSITION[xi // 4] + FLIPPED_POSITION[xi % 4]
                a_offset, lda = src * plane + k0, o_all
            else:
                a_offset, lda = xi * plane + k0 * c, c
            # One line per operand (array, offset, leading dimension), then the
            # sizes and beta, as BLAS orders them.
            gemm(
                u, a_offset, lda, adjoint,
                v, xi * vplane, p,
                m, xi * mplane, p,
                o, p, c, 0.0,
            )  # fmt: skip
        channel_bias = bias[k0:k1] if bias.size else bias
        _output_transform(m, mplane, t0, block, tw, out[b, k0:k1], channel_bias)
        start += block


@njit(cache=True, nogil=True)
def conv3x3(x, w, pad_top, pad_bottom, pad_left, pad_right):
    """Stride-1 cross-correlation of an (N, C, H, W) batch with (O, C, 3, 3) kernels."""
    return _correlate_all(x, w, False, pad_top, pad_bottom, pad_left, pad_right)


@njit(cache=True, nogil=True)
def grad_input_padding(pad_top, pad_bottom, pad_left, pad_right):
    """Padding of the correlation that gives a 3x3 convolution's input gradient."""
    return 2 - pad_top, 2 - pad_bottom, 2 - pad_left, 2 - pad_right


@njit(cache=True, nogil=True)
def conv3x3_grad_input(gz, w, pad_top, pad_bottom, pad_left, pad_right):
    """Input gradient of :func:`conv3x3` for an (N, O, H_out, W_out) output gradient.

    The padding is the forward convolution's, at most 2 on each side.
    """
    pad = grad_input_padding(pad_top, pad_bottom, pad_left, pad_right)
    return _correlate_all(gz, w, True, *pad)


@njit(cache=True, nogil=True)
def _correlate_all(x, w, adjoint, pad_top, pad_bottom, pad_left, pad_right):
    """All of :func:`correlate` on one thread, kernels transformed first."""
    u, plane = kernel_transform(w)
    out_channels = w.shape[1] if adjoint else w.shape[0]
    shape = output_shape(
        x.shape, out_channels, pad_top, pad_bottom, pad_left, pad_right
    )
    out = np.empty(shape, x.dtype)
    everything = (0, tile_rows(shape)), (0, shape[1])
    no_bias = np.empty(0, x.dtype)
    correlate(x, u, plane, adjoint, pad_top, pad_left, *everything, no_bias, out)
    return out
