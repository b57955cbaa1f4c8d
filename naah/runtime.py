"""How naah's compiled functions run: one execution policy, passed down explicitly.

Importing naah changes no PyTensor setting and no process setting. What makes
naah fast on a CPU changes process-wide state, so it is switched on only for the
length of a call or a run, by a :class:`Runtime`:

- **Worker threads and the BLAS limit.** On the ``"c"`` backend naah's kernels
  split each convolution, pooling, ReLU and Gram matrix over worker threads, with
  BLAS held to one thread meanwhile (:mod:`naah.ops.threads`). The BLAS limit is
  reference-counted under one lock, so runs in several threads (a notebook, Dask
  workers) may overlap in any order: the last to finish restores BLAS's own thread
  count.
- **Memory policy.** ``keep_freed_memory=True`` asks glibc to keep freed blocks
  for the next evaluation (:mod:`naah.ops.memory`): 16 % faster at 512x512, but
  the process then keeps its peak memory until it exits, and glibc cannot undo it.
  It is off by default; the ``naah`` command line turns it on.
- **Compiled code cache.** PyTensor caches compiled C code in its ``compiledir``
  and Numba in ``NUMBA_CACHE_DIR``. Both are read when those libraries are
  imported, so set them in the environment before importing naah (for Dask
  workers: in their environment); :meth:`Runtime.cache_dirs` says where they are.

:class:`naah.problem.StyleProblem`, :func:`naah.optim.minimize`,
:class:`naah.StyleTransfer` and :mod:`naah.classify` take a ``runtime=`` argument;
the default is ``Runtime()``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Runtime:
    """The execution settings of naah's compiled functions.

    Parameters
    ----------
    threads : int, optional
        Worker threads for naah's kernels on the ``"c"`` backend. Default: the
        BLAS thread count in effect (``OPENBLAS_NUM_THREADS``, a threadpoolctl
        limit...), so a limit set by the user is respected. 1 runs the kernels
        serially with BLAS's own threads.
    keep_freed_memory : bool
        Ask glibc to keep freed memory for reuse (see :mod:`naah.runtime`); a
        change that lasts until the process exits.

    Examples
    --------
    >>> import numpy as np, pytensor.tensor as pt
    >>> from naah.compile import function
    >>> x = pt.vector("x")
    >>> double = function([x], 2 * x)
    >>> with Runtime(threads=2).activate():
    ...     double(np.ones(2))
    array([2., 2.])
    """

    threads: int | None = None
    keep_freed_memory: bool = False

    def __post_init__(self) -> None:
        if self.threads is not None and (
            isinstance(self.threads, bool)
            or not isinstance(self.threads, int)
            or self.threads < 1
        ):
            raise ValueError(
                f"Runtime(threads=...) must be a positive int or None, got "
                f"{self.threads!r}"
            )

    @contextlib.contextmanager
    def activate(self, backend: str = "c") -> Iterator[None]:
        """Apply these settings for the length of a ``with`` block.

        Nested blocks in one thread keep the outer settings; blocks in several
        threads may overlap in any order.
        """
        # Imported here: the kernels load Numba, which building graphs never needs.
        from naah.ops import memory, threads

        if self.keep_freed_memory:
            memory.keep_freed_memory()
        if backend != "c" or self.threads == 1:
            yield
            return
        with threads.parallel(self.threads):
            yield

    @staticmethod
    def cache_dirs() -> dict[str, Path | None]:
        """Where PyTensor and Numba cache compiled code (None: Numba's default,
        beside each module's source)."""
        import pytensor

        numba_dir = os.environ.get("NUMBA_CACHE_DIR")
        return {
            "pytensor": Path(pytensor.config.compiledir),
            "numba": Path(numba_dir) if numba_dir else None,
        }


#: The settings used when none are given.
DEFAULT = Runtime()
