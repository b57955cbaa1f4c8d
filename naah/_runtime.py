"""Process-wide settings naah needs before PyTensor's tensor module is imported.

PyTensor looks for a BLAS library to link its C code against when
``pytensor.tensor`` is first imported and warns when pip wheels provide none.
naah's heavy Ops call BLAS through numpy/scipy from ``perform``, so no link flags
are needed; setting ``blas__ldflags`` to the empty string skips the search and its
warning. A user's own ``PYTENSOR_FLAGS`` setting wins.
"""

from __future__ import annotations

import os

_flags = os.environ.get("PYTENSOR_FLAGS", "")
if "blas__ldflags" not in _flags and "blas.ldflags" not in _flags:
    import pytensor

    pytensor.config.blas__ldflags = ""
