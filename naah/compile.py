"""The one place naah calls ``pytensor.function`` and chooses how graphs run.

Backends
--------
``"c"`` (default)
    PyTensor's C VM linker (``Mode(linker="cvm", optimizer="fast_run")``). Elementwise
    work is compiled C; naah's convolution, pooling and Gram Ops run their Numba
    kernels with BLAS matrix products. This was the fastest CPU path measured. Without
    a C compiler PyTensor cannot use it, and naah falls back to the Python VM
    (``linker="vm"``), which is slower but runs the same kernels.
``"numba"``
    PyTensor's Numba linker (PyTensor 3's own default): the whole graph becomes one
    Numba function. Slower to compile the first time.
``"jax"``
    PyTensor's JAX linker, for GPUs; needs the ``jax`` extra.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import pytensor
from pytensor.compile import Function
from pytensor.compile.mode import Mode
from pytensor.graph.basic import Variable

BACKENDS = ("c", "numba", "jax")


def get_mode(backend: str = "c") -> Mode:
    """The PyTensor compilation mode naah uses for ``backend``.

    Examples
    --------
    >>> get_mode("c").linker.use_cloop  # the C VM
    True
    """
    if backend == "c":
        _find_blas_quietly()
        linker = "cvm" if pytensor.config.cxx else "vm"
        return Mode(linker=linker, optimizer="fast_run")
    if backend == "numba":
        import naah.ops.numba_backend  # noqa: F401  (registers naah's Ops with Numba)

        return pytensor.compile.mode.get_mode("NUMBA")
    if backend == "jax":
        _require_jax()
        return pytensor.compile.mode.get_mode("JAX")
    raise ValueError(
        f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}"
    )


def _find_blas_quietly() -> None:
    """Let PyTensor look for its BLAS link flags now, without its pip warning.

    The search runs once, on first use of the setting; naah's Ops call BLAS
    through numpy and scipy, so the warning does not apply to them. The setting
    is left as PyTensor finds it (see :mod:`naah._runtime`).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="PyTensor could not link to a BLAS", category=UserWarning
        )
        _ = pytensor.config.blas__ldflags


def _require_jax() -> None:
    try:
        import jax  # noqa: F401
    except ImportError as error:
        raise ImportError(
            "the 'jax' backend needs JAX: pip install 'naah[jax]' (or jax[cuda12] "
            "for a GPU)"
        ) from error
    import naah.ops.jax_backend  # noqa: F401  (registers naah's Ops with JAX)


def function(
    inputs: Sequence[Variable],
    outputs: Variable | Iterable[Variable] | None,
    *,
    updates: Iterable[tuple[Variable, Variable]]
    | dict[Variable, Variable]
    | None = None,
    backend: str = "c",
    name: str | None = None,
    **kwargs: Any,
) -> Function:
    """Compile ``outputs`` as a function of ``inputs`` in naah's mode for ``backend``.

    A thin wrapper of :func:`pytensor.function`; extra keyword arguments pass through.
    The result is a plain PyTensor ``Function``: it copies and pickles as PyTensor's
    do. Call it inside :meth:`naah.runtime.Runtime.activate` for naah's kernels to
    share their work between the cores; outside, they run serially.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> x = pt.vector("x")
    >>> function([x], 2 * x)([1.0, 2.0])
    array([2., 4.])
    """
    return pytensor.function(
        list(inputs),
        outputs,
        updates=updates,
        mode=get_mode(backend),
        name=name,
        **kwargs,
    )
