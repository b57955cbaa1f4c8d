"""Keeping freed memory for reuse: evaluations allocate the same big arrays each time.

Every evaluation allocates and frees the same activations and gradients, tens of
megabytes each at 512x512. glibc returns blocks that large to the system when they
are freed (``mmap`` and ``trim`` thresholds), so the next evaluation takes every page
again from the kernel, zero-filled: at 512x512 that was a third of a second of system
time per evaluation and 16 % of its wall time. :func:`keep_freed_memory` raises both
thresholds, so freed blocks stay in the process for the next evaluation. The peak
memory is unchanged; what changes is that the process keeps that peak until it exits.

It is opt-in: :class:`naah.runtime.Runtime` calls it when created with
``keep_freed_memory=True``, as the ``naah`` command line does. glibc has no way to
read the thresholds back, so the change lasts until the process exits. It only
acts with glibc, and ``NAAH_KEEP_FREED_MEMORY=0`` turns it off even when asked for.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from functools import lru_cache

# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# Blocks up to this size come from (and return to) the heap.
_KEEP_BLOCKS_UP_TO = 1 << 30


@lru_cache(maxsize=1)
def keep_freed_memory() -> bool:
    """Ask glibc to keep freed blocks for reuse; True if it did.

    Examples
    --------
    >>> keep_freed_memory() in (True, False)
    True
    """
    if os.environ.get("NAAH_KEEP_FREED_MEMORY", "1") == "0":
        return False
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(
        mallopt(_M_MMAP_THRESHOLD, _KEEP_BLOCKS_UP_TO)
        and mallopt(_M_TRIM_THRESHOLD, 2 * _KEEP_BLOCKS_UP_TO - 1)
    )
