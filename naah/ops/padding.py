"""Zero padding of row bands, for kernels that work on a block of rows at a time."""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def pad_rows(image, pad_top, pad_left, row0, band):
    """Fill ``band`` (C, rows, width) with rows ``row0:row0+rows`` of the zero-padded
    (C, H, W) ``image``.

    Padded row r is image row ``r - pad_top`` and padded column q is image column
    ``q - pad_left``; rows and columns outside the image are zeros. Padding only the
    band a block needs, into a buffer the kernel reuses, keeps a copy of the whole
    padded image out of memory.
    """
    _, h, w = image.shape
    rows, width = band.shape[1:]
    lo, hi = max(row0, pad_top), min(row0 + rows, pad_top + h)
    cols = min(w, width - pad_left)
    if hi <= lo or cols <= 0:
        band[:] = 0
        return
    top, bottom = lo - row0, hi - row0
    band[:, :top] = 0
    band[:, bottom:] = 0
    band[:, top:bottom, :pad_left] = 0
    band[:, top:bottom, pad_left + cols :] = 0
    band[:, top:bottom, pad_left : pad_left + cols] = image[
        :, lo - pad_top : hi - pad_top, :cols
    ]
