"""Array kernels behind naah's Ops: numpy code that Numba can also compile.

Every kernel is compiled by Numba (``njit``, cached on disk after the first call) and
serves both the Ops' ``perform`` (the C VM linker naah uses) and their Numba
registrations (:mod:`naah.ops.numba_backend`): one source for both backends. Matrix
products go through ``np.dot``, which Numba maps to scipy's BLAS, the same library
scipy's L-BFGS-B uses, so one evaluation never alternates between two BLAS thread
pools. Loops are over channels and rows, never Python loops over pixels. Arrays are NCHW batches
and OIHW kernels; convolution is cross-correlation (no kernel flip), as in
MatConvNet's ``vl_nnconv`` and Caffe.

Convolution has three methods, chosen by shape in :func:`conv2d_forward`:

* 3x3 kernels, stride 1: Winograd F(2x2, 3x3) (:mod:`naah.ops.winograd`), 16 matrix
  products over transformed tiles, 2.25x fewer multiplies than the others;
* other stride-1 kernels on at least 16 channels: shift-GEMM, one matrix product per
  kernel tap on windows of the padded input (:func:`_conv2d_shift_gemm`);
* anything else: im2col, one matrix product per block of output rows: the input
  patches of a block are copied into a ``(KH*KW*C, rows*W_out)`` matrix whose
  product with the ``(O, KH*KW*C)`` kernel matrix is the block's output.

Every method works in blocks of output rows, so scratch memory stays proportional to
the activations at any image size.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from naah.ops import geometry, winograd
from naah.ops.blas import gemm
from naah.ops.padding import pad_rows

# Below this many input channels a shift-GEMM's inner dimension is too short for
# BLAS to run well (conv1_1 has 3), and im2col's single product of depth 9*C wins.
SHIFT_GEMM_MIN_CHANNELS = 16

# Run serially, on BLAS's threads, 3x3 stride-1 convolutions use Winograd
# F(2x2, 3x3) (:mod:`naah.ops.winograd`, 2.25x fewer multiplies) unless both
# channel counts are at least SHIFT_GEMM_MIN_CHANNELS and their product is below
# this. There (conv1_2, 64 -> 64 at full resolution) the serial transforms, whose
# cost grows with C + O per pixel, outweigh the saving on GEMMs whose cost grows
# with C * O, and shift-GEMM is faster (``benchmarks/conv_variants.py``). With fewer
# channels shift-GEMM and im2col are both inefficient, and Winograd is 1.5-2.7x
# faster. (Split over threads by :mod:`naah.ops.threads`, Winograd wins everywhere.)
WINOGRAD_MIN_CHANNEL_PAIRS = 128 * 128

# Bytes of output a shift-GEMM accumulates per block of rows: about L2-sized, so the
# KH*KW accumulations hit cache rather than memory.
OUTPUT_BLOCK_BYTES = 1 << 20

# Upper bound on the elements of one im2col patch matrix (64 MiB in float32). Large
# enough that each GEMM is hundreds of columns wide (BLAS efficiency), small enough
# that a 2048x2048 image needs no more than a few activations' worth of scratch.
PATCH_BUDGET = 1 << 24


# The one output-length formula (:func:`naah.ops.geometry.output_size`), compiled.
output_size = njit(cache=True, nogil=True)(geometry.output_size)


@njit(cache=True, nogil=True)
def _rows_per_block(patch_rows, out_width, out_height):
    per_row = patch_rows * out_width
    return max(1, min(out_height, PATCH_BUDGET // max(per_row, 1)))


@njit(cache=True, nogil=True)
def _padded(image, pad_top, pad_bottom, pad_left, pad_right):
    """Zero-padded copy of one (C, H, W) image."""
    c, h, w = image.shape
    out = np.zeros((c, h + pad_top + pad_bottom, w + pad_left + pad_right), image.dtype)
    out[:, pad_top : pad_top + h, pad_left : pad_left + w] = image
    return out


@njit(cache=True, nogil=True)
def _im2col(xpad, kh, kw, sh, sw, r0, r1, wo):
    """Patches of output rows r0:r1 as a (KH*KW*C, (r1-r0)*W_out) matrix.

    Row index is ``(i*KW + j)*C + c`` for kernel tap (i, j) and channel c, matching
    :func:`_kernel_matrix`.
    """
    c = xpad.shape[0]
    rows = r1 - r0
    cols = np.empty((kh * kw, c, rows, wo), xpad.dtype)
    for i in range(kh):
        top = i + r0 * sh
        for j in range(kw):
            cols[i * kw + j] = xpad[
                :, top : top + (rows - 1) * sh + 1 : sh, j : j + (wo - 1) * sw + 1 : sw
            ]
    return cols.reshape(kh * kw * c, rows * wo)


@njit(cache=True, nogil=True)
def _kernel_matrix(w):
    """OIHW kernel as an (O, KH*KW*C) matrix whose columns follow :func:`_im2col`."""
    o, c, kh, kw = w.shape
    return np.ascontiguousarray(w.transpose(0, 2, 3, 1)).reshape(o, kh * kw * c)


@njit(cache=True, nogil=True)
def use_winograd(in_channels, out_channels, kh, kw):
    """Whether a stride-1 convolution runs as Winograd F(2x2, 3x3)."""
    if kh != 3 or kw != 3:
        return False
    few = min(in_channels, out_channels) < SHIFT_GEMM_MIN_CHANNELS
    return few or in_channels * out_channels >= WINOGRAD_MIN_CHANNEL_PAIRS


@njit(cache=True, nogil=True)
def conv2d_forward(x, w, pad_top, pad_bottom, pad_left, pad_right, stride_h, stride_w):
    """Cross-correlation of an (N, C, H, W) batch with (O, C, KH, KW) kernels."""
    # Op.perform checks first with detailed messages; these guard the Numba backend.
    if x.shape[1] != w.shape[1]:
        raise ValueError("input channels do not match the kernels' input channels")
    if x.shape[2] + pad_top + pad_bottom < w.shape[2] or (
        x.shape[3] + pad_left + pad_right < w.shape[3]
    ):
        raise ValueError("the kernel does not fit the padded input")
    if stride_h == 1 and stride_w == 1:
        if use_winograd(x.shape[1], w.shape[0], w.shape[2], w.shape[3]):
            return winograd.conv3x3(x, w, pad_top, pad_bottom, pad_left, pad_right)
        if x.shape[1] >= SHIFT_GEMM_MIN_CHANNELS:
            return _conv2d_shift_gemm(x, w, pad_top, pad_bottom, pad_left, pad_right)
    return _conv2d_im2col(
        x, w, pad_top, pad_bottom, pad_left, pad_right, stride_h, stride_w
    )


@njit(cache=True, nogil=True)
def _conv2d_im2col(x, w, pad_top, pad_bottom, pad_left, pad_right, stride_h, stride_w):
    """Any stride: one GEMM of the kernel matrix with each block's patch matrix."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    ho = output_size(h, kh, stride_h, pad_top, pad_bottom)
    wo = output_size(wd, kw, stride_w, pad_left, pad_right)
    out = np.empty((n, o, ho, wo), x.dtype)
    wmat = _kernel_matrix(w)
    block = _rows_per_block(kh * kw * c, wo, ho)
    for b in range(n):
        xpad = _padded(x[b], pad_top, pad_bottom, pad_left, pad_right)
        for r0 in range(0, ho, block):
            r1 = min(ho, r0 + block)
            cols = _im2col(xpad, kh, kw, stride_h, stride_w, r0, r1, wo)
            out[b, :, r0:r1, :] = np.dot(wmat, cols).reshape(o, r1 - r0, wo)
    return out


@njit(cache=True, nogil=True)
def _conv2d_shift_gemm(x, w, pad_top, pad_bottom, pad_left, pad_right):
    """Stride-1 convolution as shift-GEMM (see :func:`shift_gemm_rows`)."""
    shape = shift_gemm_output_shape(
        x.shape, w.shape, pad_top, pad_bottom, pad_left, pad_right
    )
    out = np.empty(shape, x.dtype)
    shift_gemm_rows(x, w, pad_top, pad_left, 0, shape[0] * shape[2], out)
    return out


@njit(cache=True, nogil=True)
def shift_gemm_output_shape(x_shape, w_shape, pad_top, pad_bottom, pad_left, pad_right):
    """(N, O, H_out, W_out) of a stride-1 convolution."""
    n, _, h, wd = x_shape
    o, _, kh, kw = w_shape
    return (
        n,
        o,
        output_size(h, kh, 1, pad_top, pad_bottom),
        output_size(wd, kw, 1, pad_left, pad_right),
    )


@njit(cache=True, nogil=True)
def shift_gemm_rows(x, w, pad_top, pad_left, first, last, out):
    """Output rows first:last (counted over all images) of a stride-1 convolution,
    without patch matrices: one GEMM per kernel tap, accumulated.

    In a band of the padded image flattened per channel, the input seen by tap
    (i, j) for every output position of the band is one window at offset
    ``i*W_pad + j`` whose rows (the channels) lie a band apart: a plain BLAS
    operand. The products land in an output W_pad wide; the last KW-1 columns of
    each row mix neighbouring rows and are dropped. Disjoint row ranges can run on
    separate threads.
    """
    c = x.shape[1]
    o, _, kh, kw = w.shape
    _, _, ho, wo = out.shape
    wp = wo + kw - 1
    taps = np.ascontiguousarray(w.transpose(2, 3, 0, 1)).ravel()  # (KH, KW, O, C)
    # Blocks of output rows small enough that the accumulating output stays in
    # cache across the KH*KW products.
    block = max(1, min(ho, OUTPUT_BLOCK_BYTES // (o * wp * x.itemsize)))
    frame = (block + kh - 1) * wp
    # KW elements of slack: the last tap's window runs KW-1 past the last channel.
    band = np.empty(c * frame + kw, x.dtype)
    band[c * frame :] = 0
    wide = np.empty(o * block * wp, x.dtype)
    start = first
    while start < last:
        b, r0 = start // ho, start % ho
        rows = min(block, ho - r0, last - start)
        window = band[: c * frame].reshape(c, block + kh - 1, wp)[:, : rows + kh - 1]
        pad_rows(x[b], pad_top, pad_left, r0, window)
        for i in range(kh):
            for j in range(kw):
                tap = i * kw + j
                # One line per operand (array, offset, leading dimension), then
                # the sizes and beta, as BLAS orders them.
                gemm(
                    taps, tap * o * c, c, False,
                    band, i * wp + j, frame,
                    wide, 0, rows * wp,
                    o, rows * wp, c, 0.0 if tap == 0 else 1.0,
                )  # fmt: skip
        out[b, :, r0 : r0 + rows, :] = wide[: o * rows * wp].reshape(o, rows, wp)[
            :, :, :wo
        ]
        start += rows


@njit(cache=True, nogil=True, boundscheck=False)
def add_bias_planes(out, bias, first, last):
    """Add ``bias[c]`` to planes first:last (image-major over (N, C)) of ``out``."""
    c = out.shape[1]
    for k in range(first, last):
        out[k // c, k % c] += bias[k % c]


@njit(cache=True, nogil=True)
def conv2d_grad_input(
    gz, w, height, width, pad_top, pad_bottom, pad_left, pad_right, stride_h, stride_w
):
    """Gradient of :func:`conv2d_forward` with respect to its input.

    ``gz`` is the (N, O, H_out, W_out) output gradient; (height, width) is the
    input's spatial size, which strided convolutions do not determine.
    """
    n, o, ho, wo = gz.shape
    _, c, kh, kw = w.shape
    full_top, full_bottom = kh - 1 - pad_top, kh - 1 - pad_bottom
    full_left, full_right = kw - 1 - pad_left, kw - 1 - pad_right
    if (
        stride_h == 1
        and stride_w == 1
        and min(full_top, full_bottom, full_left, full_right) >= 0
    ):
        if use_winograd(o, c, kh, kw):
            return winograd.conv3x3_grad_input(
                gz, w, pad_top, pad_bottom, pad_left, pad_right
            )
        # With stride 1 the input gradient is itself a convolution: of the output
        # gradient, padded to "full" size, with the kernels flipped and transposed.
        flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
        return conv2d_forward(
            gz, flipped, full_top, full_bottom, full_left, full_right, 1, 1
        )
    wmat_t = np.ascontiguousarray(_kernel_matrix(w).T)
    gx = np.empty((n, c, height, width), gz.dtype)
    block = _rows_per_block(kh * kw * c, wo, ho)
    for b in range(n):
        gxpad = np.zeros(
            (c, height + pad_top + pad_bottom, width + pad_left + pad_right), gz.dtype
        )
        for r0 in range(0, ho, block):
            r1 = min(ho, r0 + block)
            rows = r1 - r0
            gblock = np.ascontiguousarray(gz[b, :, r0:r1, :]).reshape(o, rows * wo)
            gcols = np.dot(wmat_t, gblock).reshape(kh * kw, c, rows, wo)
            for i in range(kh):
                top = i + r0 * stride_h
                for j in range(kw):
                    gxpad[
                        :,
                        top : top + (rows - 1) * stride_h + 1 : stride_h,
                        j : j + (wo - 1) * stride_w + 1 : stride_w,
                    ] += gcols[i * kw + j]
        gx[b] = gxpad[:, pad_top : pad_top + height, pad_left : pad_left + width]
    return gx


@njit(cache=True, nogil=True)
def conv2d_grad_kernel(
    x, gz, kh, kw, pad_top, pad_bottom, pad_left, pad_right, stride_h, stride_w
):
    """Gradient of :func:`conv2d_forward` with respect to its (O, C, KH, KW) kernel."""
    n, c, _, _ = x.shape
    _, o, ho, wo = gz.shape
    gwmat = np.zeros((o, kh * kw * c), x.dtype)
    block = _rows_per_block(kh * kw * c, wo, ho)
    for b in range(n):
        xpad = _padded(x[b], pad_top, pad_bottom, pad_left, pad_right)
        for r0 in range(0, ho, block):
            r1 = min(ho, r0 + block)
            cols = _im2col(xpad, kh, kw, stride_h, stride_w, r0, r1, wo)
            gblock = np.ascontiguousarray(gz[b, :, r0:r1, :]).reshape(o, (r1 - r0) * wo)
            gwmat += np.dot(gblock, np.ascontiguousarray(cols.T))
    return np.ascontiguousarray(gwmat.reshape(o, kh, kw, c).transpose(0, 3, 1, 2))


@njit(cache=True, nogil=True)
def _window_bounds(o, stride, pad_before, window, size):
    """Input index range [start, stop) of output position ``o``, padding excluded."""
    start = o * stride - pad_before
    stop = min(start + window, size)
    return max(start, 0), stop


@njit(cache=True, nogil=True)
def pool_output_shape(x_shape, window, stride, pad, ceil_mode):
    """(N, C, H_out, W_out) of :func:`pool2d_forward`; raises if it is empty."""
    n, c, h, w = x_shape
    ho = output_size(h, window[0], stride[0], pad[0], pad[1], ceil_mode)
    wo = output_size(w, window[1], stride[1], pad[2], pad[3], ceil_mode)
    if ho < 1 or wo < 1:
        raise ValueError("the input is smaller than the pooling window")
    return (n, c, ho, wo)


@njit(cache=True, nogil=True)
def pool2d_forward(x, is_max, window, stride, pad, ceil_mode):
    """Max or average pooling of an (N, C, H, W) batch.

    Padding never wins a max and is left out of an average (MatConvNet's rule).
    """
    out = np.empty(pool_output_shape(x.shape, window, stride, pad, ceil_mode), x.dtype)
    n, c = x.shape[:2]
    pool2d_forward_planes(x, out, is_max, window, stride, pad, ceil_mode, 0, n * c)
    return out


@njit(cache=True, nogil=True)
def pool2d_forward_planes(x, out, is_max, window, stride, pad, ceil_mode, first, last):
    """Planes first:last (image-major over (N, C)) of :func:`pool2d_forward`."""
    c, h, w = x.shape[1:]
    tiles = _tiles(h, w, window, stride, pad, ceil_mode)
    for k in range(first, last):
        plane, pooled = x[k // c, k % c], out[k // c, k % c]
        if tiles:
            _pool_tiles(plane, pooled, is_max, window[0], window[1])
        else:
            _pool_windows(plane, pooled, is_max, window, stride, pad)


@njit(cache=True, nogil=True)
def _pool_windows(plane, pooled, is_max, window, stride, pad):
    h, w = plane.shape
    ho, wo = pooled.shape
    for oi in range(ho):
        i0, i1 = _window_bounds(oi, stride[0], pad[0], window[0], h)
        for oj in range(wo):
            j0, j1 = _window_bounds(oj, stride[1], pad[2], window[1], w)
            if is_max:
                acc = -np.inf
                for i in range(i0, i1):
                    for j in range(j0, j1):
                        acc = max(acc, plane[i, j])
            else:
                acc = 0.0
                for i in range(i0, i1):
                    for j in range(j0, j1):
                        acc += plane[i, j]
                acc /= max((i1 - i0) * (j1 - j0), 1)
            pooled[oi, oj] = acc


@njit(cache=True, nogil=True, boundscheck=False)
def _pool_tiles(plane, pooled, is_max, kh, kw):
    """:func:`_pool_windows` for windows that tile the plane, a row at a time."""
    ho, wo = pooled.shape
    for oi in range(ho):
        row = pooled[oi]
        row[:] = -np.inf if is_max else 0.0
        for i in range(kh):
            src = plane[oi * kh + i]
            for j in range(kw):
                for oj in range(wo):
                    if is_max:
                        row[oj] = max(row[oj], src[oj * kw + j])
                    else:
                        row[oj] += src[oj * kw + j]
        if not is_max:
            row /= kh * kw


@njit(cache=True, nogil=True)
def pool2d_grad(x, gz, is_max, window, stride, pad, ceil_mode):
    """Gradient of :func:`pool2d_forward` with respect to its input.

    Max pooling sends each window's gradient to its first maximum in row-major
    order, as MatConvNet and Caffe do; ties do not split it.
    """
    gx = np.empty_like(x)
    n, c = x.shape[:2]
    pool2d_grad_planes(x, gz, gx, is_max, window, stride, pad, ceil_mode, 0, n * c)
    return gx


@njit(cache=True, nogil=True)
def pool2d_grad_planes(x, gz, gx, is_max, window, stride, pad, ceil_mode, first, last):
    """Planes first:last (image-major over (N, C)) of :func:`pool2d_grad`."""
    c, h, w = x.shape[1:]
    tiles = _tiles(h, w, window, stride, pad, ceil_mode)
    for k in range(first, last):
        b, ch = k // c, k % c
        plane, g, grad = x[b, ch], gz[b, ch], gx[b, ch]
        grad[:] = 0
        if tiles:
            _pool_tiles_grad(plane, g, grad, is_max, window[0], window[1])
        else:
            _pool_windows_grad(plane, g, grad, is_max, window, stride, pad)


@njit(cache=True, nogil=True)
def _pool_windows_grad(plane, g, grad, is_max, window, stride, pad):
    h, w = plane.shape
    ho, wo = g.shape
    for oi in range(ho):
        i0, i1 = _window_bounds(oi, stride[0], pad[0], window[0], h)
        for oj in range(wo):
            j0, j1 = _window_bounds(oj, stride[1], pad[2], window[1], w)
            if is_max:
                best_i, best_j = _first_max(plane, i0, i1, j0, j1)
                grad[best_i, best_j] += g[oi, oj]
            else:
                share = g[oi, oj] / max((i1 - i0) * (j1 - j0), 1)
                for i in range(i0, i1):
                    for j in range(j0, j1):
                        grad[i, j] += share


@njit(cache=True, nogil=True)
def _first_max(plane, i0, i1, j0, j1):
    """(row, column) of the first maximum of ``plane[i0:i1, j0:j1]`` in row-major
    order: the pixel a max window's gradient goes to."""
    best_i, best_j, best = i0, j0, plane[i0, j0]
    for i in range(i0, i1):
        for j in range(j0, j1):
            if plane[i, j] > best:
                best_i, best_j, best = i, j, plane[i, j]
    return best_i, best_j


@njit(cache=True, nogil=True, boundscheck=False)
def _pool_tiles_grad(plane, g, grad, is_max, kh, kw):
    """:func:`_pool_windows_grad` for windows that tile the plane: no bounds to
    clip and no overlaps to accumulate."""
    ho, wo = g.shape
    for oi in range(ho):
        for oj in range(wo):
            top, left = oi * kh, oj * kw
            if not is_max:
                grad[top : top + kh, left : left + kw] = g[oi, oj] / (kh * kw)
                continue
            best_i, best_j, best = top, left, plane[top, left]
            for i in range(top, top + kh):
                row = plane[i]
                for j in range(left, left + kw):
                    if row[j] > best:
                        best_i, best_j, best = i, j, row[j]
            grad[best_i, best_j] = g[oi, oj]


@njit(cache=True, nogil=True)
def max_pool2d_grad_grad(x, gx, window, stride, pad, ceil_mode):
    """Gradient of :func:`pool2d_grad` (max) with respect to its output gradient.

    ``pool2d_grad`` sends each window's gradient to the window's first maximum;
    this reads ``gx`` (shaped like ``x``) back at the same pixel, one value per
    window: Theano's ``DownsampleFactorMaxGradGrad``.
    """
    out = np.empty(pool_output_shape(x.shape, window, stride, pad, ceil_mode), x.dtype)
    n, c = x.shape[:2]
    max_pool2d_grad_grad_planes(x, gx, out, window, stride, pad, 0, n * c)
    return out


@njit(cache=True, nogil=True)
def max_pool2d_grad_grad_planes(x, gx, out, window, stride, pad, first, last):
    """Planes first:last (image-major over (N, C)) of :func:`max_pool2d_grad_grad`.

    Always by window bounds, tiling or not: both paths of :func:`pool2d_grad` pick
    the first maximum in row-major order, as :func:`_first_max` does, so ties are
    read where they were sent. (Second derivatives are rare enough to do without
    the tiled fast path.)
    """
    c, h, w = x.shape[1:]
    ho, wo = out.shape[2:]
    for k in range(first, last):
        plane, g, picked = x[k // c, k % c], gx[k // c, k % c], out[k // c, k % c]
        for oi in range(ho):
            i0, i1 = _window_bounds(oi, stride[0], pad[0], window[0], h)
            for oj in range(wo):
                j0, j1 = _window_bounds(oj, stride[1], pad[2], window[1], w)
                best_i, best_j = _first_max(plane, i0, i1, j0, j1)
                picked[oi, oj] = g[best_i, best_j]


@njit(cache=True, nogil=True)
def _tiles(h, w, window, stride, pad, ceil_mode):
    """Whether the pooling windows tile the input: no overlap, padding or partial
    window (VGG's 2x2 pooling with stride 2). Rows and columns left over in floor
    mode are outside every window."""
    if window != stride or max(pad) > 0:
        return False
    return not ceil_mode or (h % window[0] == 0 and w % window[1] == 0)


# -- elementwise and matrix-product kernels for the ReLU, MatMul and Gram Ops ----


@njit(cache=True, nogil=True, boundscheck=False)
def relu(x, out, first, last):
    """``out[i] = max(x[i], 0)`` for i in first:last of flat arrays."""
    for i in range(first, last):
        out[i] = 0 if x[i] <= 0 else x[i]  # NaN stays NaN, as in maximum(x, 0)


@njit(cache=True, nogil=True, boundscheck=False)
def relu_grad(y, gz, out, first, last):
    """ReLU's gradient from its output ``y``: ``gz`` where ``y > 0``, else 0."""
    for i in range(first, last):
        out[i] = gz[i] if y[i] > 0 else 0


@njit(cache=True, nogil=True)
def matmul(a, b):
    return np.dot(np.ascontiguousarray(a), np.ascontiguousarray(b))


@njit(cache=True, nogil=True)
def gram(f):
    # f.T is a Fortran-ordered view that BLAS reads as the transpose of f: copying
    # it to C order first made the product 2-4x slower.
    return np.dot(f, f.T)


@njit(cache=True, nogil=True)
def product_rows(a, b, first, last, out):
    """Rows first:last of ``a @ b`` into ``out``."""
    np.dot(a[first:last], b, out[first:last])
