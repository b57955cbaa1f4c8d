"""naah's own PyTensor Ops: convolution, pooling, ReLU and Gram matrices with
their gradients.

PyTensor no longer ships ``conv2d`` or pooling; these are naah's, with a numpy/BLAS
``perform`` for the C VM linker and registrations for the Numba linker in
:mod:`naah.ops.numba_backend`. Importing PyTensor's Numba dispatch costs about a
second, so naah imports it only when :func:`naah.compile.get_mode` is asked for the
``"numba"`` backend; to compile naah's Ops with ``pytensor.function(...,
mode="NUMBA")`` directly, ``import naah.ops.numba_backend`` first.

The names below are loaded on first use: :mod:`naah.ops.geometry`, which imports
nothing, serves :mod:`naah.estimate` without loading PyTensor.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from naah.ops._common import IntOrInts
    from naah.ops.activation import Relu, ReluGrad, relu
    from naah.ops.conv import Conv2d, Conv2dGradInput, Conv2dGradKernel, conv2d
    from naah.ops.geometry import output_size
    from naah.ops.linalg import Gram, MatMul, gram, matmul
    from naah.ops.pool import (
        MaxPool2dGradGrad,
        Pool2d,
        Pool2dGrad,
        check_pool_mode,
        pool2d,
    )

# Each public name and the module that defines it.
_SOURCES = {
    "IntOrInts": "naah.ops._common",
    "Relu": "naah.ops.activation",
    "ReluGrad": "naah.ops.activation",
    "relu": "naah.ops.activation",
    "Conv2d": "naah.ops.conv",
    "Conv2dGradInput": "naah.ops.conv",
    "Conv2dGradKernel": "naah.ops.conv",
    "conv2d": "naah.ops.conv",
    "output_size": "naah.ops.geometry",
    "Gram": "naah.ops.linalg",
    "MatMul": "naah.ops.linalg",
    "gram": "naah.ops.linalg",
    "matmul": "naah.ops.linalg",
    "MaxPool2dGradGrad": "naah.ops.pool",
    "Pool2d": "naah.ops.pool",
    "Pool2dGrad": "naah.ops.pool",
    "check_pool_mode": "naah.ops.pool",
    "pool2d": "naah.ops.pool",
}

__all__ = [
    "Conv2d",
    "Conv2dGradInput",
    "Conv2dGradKernel",
    "Gram",
    "IntOrInts",
    "MatMul",
    "MaxPool2dGradGrad",
    "Pool2d",
    "Pool2dGrad",
    "Relu",
    "ReluGrad",
    "check_pool_mode",
    "conv2d",
    "gram",
    "matmul",
    "output_size",
    "pool2d",
    "relu",
]


def __getattr__(name: str) -> Any:
    """Load public ``name`` from its module on first use (PEP 562)."""
    try:
        source = _SOURCES[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(source), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
