"""Reference implementations for the tests, in numpy and scipy only.

Written independently of naah (this module never imports it) and as plainly as
possible: loops over windows or kernel taps, scipy's correlation, float64
throughout. The tests compare naah's Ops, their gradients and their gradients'
gradients against these and against :func:`central_differences`.

Conventions are naah's: NCHW batches, OIHW kernels, cross-correlation (no kernel
flip); padding is an int (all sides), a (vertical, horizontal) pair or MatConvNet's
(top, bottom, left, right); pooling padding never wins a max and is left out of an
average, and max pooling's gradient goes to the first maximum in row-major order.
"""

import math

import numpy as np
from scipy.signal import correlate2d


def as_pair(value):
    """An int as (value, value); a pair as a tuple."""
    return (value, value) if isinstance(value, int) else tuple(value)


def four_sided(pad):
    """``pad`` as (top, bottom, left, right)."""
    if isinstance(pad, int):
        return (pad, pad, pad, pad)
    if len(pad) == 2:
        return (pad[0], pad[0], pad[1], pad[1])
    return tuple(pad)


def _pad_spatial(x, pad):
    top, bottom, left, right = four_sided(pad)
    return np.pad(
        np.asarray(x, np.float64), ((0, 0), (0, 0), (top, bottom), (left, right))
    )


# -- convolution ---------------------------------------------------------------------
def conv2d(x, w, pad=0, stride=1):
    """Cross-correlation by scipy, one (image, kernel, channel) plane at a time,
    summed over the channels; strides subsample the stride-1 output."""
    sh, sw = as_pair(stride)
    x = _pad_spatial(x, pad)
    w = np.asarray(w, np.float64)
    out = np.array(
        [
            [
                sum(
                    correlate2d(plane, taps, mode="valid")
                    for plane, taps in zip(image, kernel, strict=True)
                )
                for kernel in w
            ]
            for image in x
        ]
    )
    return out[:, :, ::sh, ::sw]


def conv2d_full_grad_input(gz, w, pad=0):
    """Input gradient of a stride-1 :func:`conv2d`, as the textbook identity has
    it: a 'full' correlation of the output gradient with the kernels flipped and
    transposed."""
    kh, kw = np.shape(w)[2:]
    top, bottom, left, right = four_sided(pad)
    flipped = np.asarray(w)[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    full = (kh - 1 - top, kh - 1 - bottom, kw - 1 - left, kw - 1 - right)
    return conv2d(gz, flipped, full)


def _taps(kernel_size, out_size, stride):
    """For each kernel tap (p, q), the slices of the padded input it reads."""
    (kh, kw), (ho, wo), (sh, sw) = kernel_size, out_size, stride
    for p in range(kh):
        for q in range(kw):
            rows = slice(p, p + (ho - 1) * sh + 1, sh)
            cols = slice(q, q + (wo - 1) * sw + 1, sw)
            yield p, q, rows, cols


def conv2d_grad_input(gz, w, input_size, pad=0, stride=1):
    """Gradient of :func:`conv2d` with respect to its input of spatial size
    ``input_size``: each kernel tap scatters its share back, one tap at a time;
    rows and columns no window reaches get 0."""
    top, bottom, left, right = four_sided(pad)
    height, width = input_size
    gz, w = np.asarray(gz, np.float64), np.asarray(w, np.float64)
    gx = np.zeros(
        (gz.shape[0], w.shape[1], height + top + bottom, width + left + right)
    )
    for p, q, rows, cols in _taps(w.shape[2:], gz.shape[2:], as_pair(stride)):
        gx[:, :, rows, cols] += np.einsum("nohw,oc->nchw", gz, w[:, :, p, q])
    return gx[:, :, top : top + height, left : left + width]


def conv2d_grad_kernel(x, gz, kernel_size, pad=0, stride=1):
    """Gradient of :func:`conv2d` with respect to its kernels of spatial size
    ``kernel_size``: each tap's gradient is the output gradient against the input
    that tap reads."""
    xpad = _pad_spatial(x, pad)
    gz = np.asarray(gz, np.float64)
    gw = np.empty((gz.shape[1], xpad.shape[1], *kernel_size))
    for p, q, rows, cols in _taps(kernel_size, gz.shape[2:], as_pair(stride)):
        gw[:, :, p, q] = np.einsum("nohw,nchw->oc", gz, xpad[:, :, rows, cols])
    return gw


# -- pooling -------------------------------------------------------------------------
def pool_length(size, window, stride, before, after, ceil_mode):
    """Output length: MatConvNet's floor, or Caffe's ceil with its correction."""
    span = size + before + after - window
    if not ceil_mode:
        return math.floor(span / stride) + 1
    out = math.ceil(span / stride) + 1
    # Caffe: the last window must start inside the image or its leading padding.
    if (out - 1) * stride - before >= size:
        out -= 1
    return out


def pool_windows(shape, window, stride=None, pad=0, ceil_mode=False):
    """Output size (H_out, W_out) and, for each output pixel, its in-bounds window
    as (i, j, rows, cols); ``stride`` None means the window."""
    height, width = shape[2:]
    kh, kw = as_pair(window)
    sh, sw = as_pair(window if stride is None else stride)
    top, bottom, left, right = four_sided(pad)
    ho = pool_length(height, kh, sh, top, bottom, ceil_mode)
    wo = pool_length(width, kw, sw, left, right, ceil_mode)
    windows = []
    for i in range(ho):
        r0 = i * sh - top
        rows = slice(max(r0, 0), min(r0 + kh, height))
        for j in range(wo):
            c0 = j * sw - left
            windows.append((i, j, rows, slice(max(c0, 0), min(c0 + kw, width))))
    return (ho, wo), windows


def pool2d(x, mode, window, stride=None, pad=0, ceil_mode=False):
    """Max or average pooling, window by window."""
    x = np.asarray(x, np.float64)
    size, windows = pool_windows(x.shape, window, stride, pad, ceil_mode)
    out = np.empty((*x.shape[:2], *size))
    reduce = np.max if mode == "max" else np.mean
    for i, j, rows, cols in windows:
        patch = x[:, :, rows, cols]
        assert patch.size, "a window saw only padding"
        out[:, :, i, j] = reduce(patch, axis=(2, 3))
    return out


def pool2d_grad(x, gz, mode, window, stride=None, pad=0, ceil_mode=False):
    """Gradient of :func:`pool2d`. Max: each window's gradient to its first maximum
    (``np.argmax``); avg: shared evenly over the window's in-bounds pixels."""
    gx = np.zeros(np.shape(x))
    _, windows = pool_windows(gx.shape, window, stride, pad, ceil_mode)
    for i, j, rows, cols in windows:
        for n in range(gx.shape[0]):
            for c in range(gx.shape[1]):
                patch = gx[n, c, rows, cols]
                if mode == "max":
                    first = np.argmax(x[n, c, rows, cols])
                    patch.flat[first] += gz[n, c, i, j]
                else:
                    patch += gz[n, c, i, j] / patch.size
    return gx


def max_pool2d_grad_grad(x, gx, window, stride=None, pad=0, ceil_mode=False):
    """Each window's value of ``gx`` at the first maximum of ``x`` in that window:
    the gradient of max :func:`pool2d_grad` with respect to its output gradient."""
    size, windows = pool_windows(np.shape(x), window, stride, pad, ceil_mode)
    out = np.empty((*np.shape(x)[:2], *size))
    for i, j, rows, cols in windows:
        for n in range(out.shape[0]):
            for c in range(out.shape[1]):
                first = np.argmax(x[n, c, rows, cols])
                out[n, c, i, j] = gx[n, c, rows, cols].flat[first]
    return out


# -- finite differences --------------------------------------------------------------
def central_differences(f, arrays, eps=1e-5):
    """Gradient of the scalar ``f(*arrays)`` with respect to each array, element by
    element: ``(f(a + eps) - f(a - eps)) / (2 eps)``."""
    arrays = [np.array(a, np.float64) for a in arrays]
    grads = []
    for a in arrays:
        grad = np.empty_like(a)
        for index in np.ndindex(a.shape):
            saved = a[index]
            a[index] = saved + eps
            above = f(*arrays)
            a[index] = saved - eps
            below = f(*arrays)
            a[index] = saved
            grad[index] = (above - below) / (2 * eps)
        grads.append(grad)
    return grads
