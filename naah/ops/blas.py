"""General matrix multiply from Numba code, through scipy's BLAS.

``np.dot`` inside Numba only multiplies whole contiguous arrays. The shift-GEMM
convolution in :mod:`naah.ops.kernels` needs BLAS's full interface: matrices that are
windows into a larger buffer (a leading dimension larger than the row length) and
accumulation into the output (``beta = 1``). This module calls Numba's own BLAS entry
point (``numba_xxgemm``, which forwards to ``scipy.linalg.cython_blas``, the BLAS scipy
and Numba already load) with raw pointers, so no operand is copied and compiled
kernels can still be cached on disk.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.np.linalg import ensure_blas

ensure_blas()

_xxgemm = types.ExternalFunction(
    "numba_xxgemm",
    types.intc(
        types.char,  # kind: 's' float32, 'd' float64
        types.char,  # transa
        types.char,  # transb
        types.intp,  # m
        types.intp,  # n
        types.intp,  # k
        types.voidptr,  # alpha
        types.voidptr,  # a
        types.intp,  # lda
        types.voidptr,  # b
        types.intp,  # ldb
        types.voidptr,  # beta
        types.voidptr,  # c
        types.intp,  # ldc
    ),
)

_NO_TRANS = ord("n")
_TRANS = ord("t")


@njit(cache=True, nogil=True)
def gemm(a, a_offset, lda, trans_a, b, b_offset, ldb, c, c_offset, ldc, m, n, k, beta):
    """``C = A @ B + beta * C`` on row-major windows of flat buffers.

    ``A`` is the (m, k) matrix starting at ``a[a_offset]`` with rows ``lda`` elements
    apart, or with ``trans_a`` the transpose of the (k, m) matrix stored there.
    ``B`` is (k, n) at ``b[b_offset]`` with row stride ``ldb``; ``C`` is (m, n) at
    ``c[c_offset]`` with row stride ``ldc``. ``a``, ``b`` and ``c`` are 1-d
    contiguous arrays of one float dtype (float32 or float64). The caller guarantees
    the windows lie inside the buffers.
    """
    # Fortran BLAS is column-major: a row-major (m, n) matrix with row stride ld is
    # its (n, m) transpose, so compute C^T = B^T A^T.
    scalars = np.empty(2, a.dtype)
    scalars[0] = 1.0
    scalars[1] = beta
    kind = ord("s") if a.itemsize == 4 else ord("d")
    status = _xxgemm(
        kind,
        _NO_TRANS,
        _TRANS if trans_a else _NO_TRANS,
        n,
        m,
        k,
        scalars[0:].ctypes,
        b[b_offset:].ctypes,
        ldb,
        a[a_offset:].ctypes,
        lda,
        scalars[1:].ctypes,
        c[c_offset:].ctypes,
        ldc,
    )
    if status != 0:
        raise RuntimeError("BLAS gemm failed")
