"""Zero padding of row bands, for kernels that work on a block of rows at a time."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def padded_rows(image, pad_top, pad_left, row0, rows, width):
    """Rows ``row0:row0+rows`` of the zero-padded (C, H, W) ``image``, ``width`` wide.

    Padded row r is image row ``r - pad_top`` and padded column q is image column
    ``q - pad_left``; rows and columns outside the image are zeros. Padding only the
    band a block needs keeps a copy of the whole padded image out of memory.
    """
    c, h, w = image.shape
    band = np.zeros((c, rows, width), image.dtype)
    lo, hi = max(row0, pad_top), min(row0 + rows, pad_top + h)
    cols = min(w, width - pad_left)
    if hi > lo and cols > 0:
        band[:, lo - row0 : hi - row0, pad_left : pad_left + cols] = image[
            :, lo - pad_top : hi - pad_top, :cols
        ]
    return band
