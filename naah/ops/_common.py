"""Helpers shared by naah's Ops: argument checking and PyTensor version shims."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.basic import Apply
from pytensor.tensor import TensorLike
from pytensor.tensor.variable import TensorVariable

# A size given per axis: one int for all, or one per axis.
#: An int for every axis, or one per axis: the form of pad, stride and window.
IntOrInts = int | Sequence[int]
# One input's symbolic shape in ``infer_shape``: a length per axis.
Shape = tuple[TensorVariable, ...]


def _ints(value: IntOrInts, count: int) -> tuple:
    """``value`` repeated ``count`` times if it is one int, else as a tuple."""
    if isinstance(value, (int, np.integer)):
        return (int(value),) * count
    try:
        return tuple(int(v) if isinstance(v, np.integer) else v for v in value)
    except TypeError:
        return (value,)  # not iterable: rejected by the caller's check


def pair(value: IntOrInts, name: str) -> tuple[int, int]:
    """``value`` as a (vertical, horizontal) pair of positive ints."""
    values = _ints(value, 2)
    if len(values) != 2 or not all(isinstance(v, int) and v > 0 for v in values):
        raise ValueError(
            f"{name} must be a positive int or a pair of them, got {value!r}"
        )
    return values


def padding(value: IntOrInts) -> tuple[int, int, int, int]:
    """``value`` as MatConvNet's (top, bottom, left, right) padding.

    An int pads all four sides, a pair pads (vertical, horizontal).
    """
    values = _ints(value, 4)
    if len(values) == 2:
        values = (values[0], values[0], values[1], values[1])
    if len(values) != 4 or not all(isinstance(v, int) and v >= 0 for v in values):
        raise ValueError(
            "padding must be a non-negative int, a (vertical, horizontal) pair or "
            f"MatConvNet's (top, bottom, left, right), got {value!r}"
        )
    return values


def as_batch(x: TensorLike, name: str) -> TensorVariable:
    """``x`` as a float tensor variable of rank 4 (an NCHW batch or OIHW kernel)."""
    x = pt.as_tensor_variable(x)
    if x.type.ndim != 4:
        raise TypeError(
            f"{name} must be a 4-d tensor (N, C, H, W), got {x.type.ndim}-d"
        )
    if x.type.dtype not in ("float32", "float64"):
        raise TypeError(f"{name} must be float32 or float64, got {x.type.dtype}")
    return x


def node_and_shapes(args: Sequence[Any]) -> tuple[Apply, list[Shape]]:
    """Unpack ``infer_shape`` arguments: PyTensor 3.0 passes (fgraph, node, shapes),
    later releases (node, shapes)."""
    return args[-2], args[-1]


def source_version(*paths: Path | str) -> int:
    """A 32-bit hash of these source files, to salt PyTensor's Numba cache keys.

    PyTensor caches compiled Numba graphs by Op type and props; the kernels' source
    is part of what was compiled, so editing or upgrading them must change the key.
    """
    digest = hashlib.sha256(b"".join(Path(p).read_bytes() for p in paths)).digest()
    return int.from_bytes(digest[:4], "big")
