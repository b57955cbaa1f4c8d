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

from collections.abc import Sequence

import pytensor
from pytensor.compile.mode import Mode

from naah.ops.threads import parallel

BACKENDS = ("c", "numba", "jax")


def get_mode(backend: str = "c") -> Mode:
    """The PyTensor compilation mode naah uses for ``backend``.

    Examples
    --------
    >>> get_mode("c").linker.use_cloop  # the C VM
    True
    """
    if backend == "c":
        linker = "cvm" if pytensor.config.cxx else "vm"
        return Mode(linker=linker, optimizer="fast_run")
    if backend == "numba":
        return pytensor.compile.mode.get_mode("NUMBA")
    if backend == "jax":
        _require_jax()
        return pytensor.compile.mode.get_mode("JAX")
    raise ValueError(
        f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}"
    )


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
    inputs: Sequence,
    outputs,
    *,
    updates=None,
    backend: str = "c",
    name: str | None = None,
    **kwargs,
):
    """Compile ``outputs`` as a function of ``inputs`` in naah's mode for ``backend``.

    A thin wrapper of :func:`pytensor.function`; extra keyword arguments pass through.
    On the ``"c"`` backend each call runs inside :func:`naah.ops.threads.parallel`,
    so naah's kernels share their work between the cores themselves.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> x = pt.vector("x")
    >>> function([x], 2 * x)([1.0, 2.0])
    array([2., 4.])
    """
    compiled = pytensor.function(
        list(inputs),
        outputs,
        updates=updates,
        mode=get_mode(backend),
        name=name,
        **kwargs,
    )
    return ParallelFunction(compiled) if backend == "c" else compiled


class ParallelFunction:
    """A compiled PyTensor function whose calls run in :func:`parallel`.

    Everything else (``maker``, ``trust_input``, ...) is the wrapped function's.
    """

    def __init__(self, compiled):
        self.function = compiled

    def __call__(self, *args, **kwargs):
        with parallel():
            return self.function(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.function, name)
