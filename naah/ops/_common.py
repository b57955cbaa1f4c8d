"""Helpers shared by naah's Ops: argument checking and PyTensor version shims."""

from __future__ import annotations

import pytensor.tensor as pt
from pytensor.graph.basic import Variable


def pair(value, name: str) -> tuple[int, int]:
    """``value`` as a (vertical, horizontal) pair of positive ints."""
    values = (value, value) if isinstance(value, int) else tuple(value)
    if len(values) != 2 or not all(isinstance(v, int) and v > 0 for v in values):
        raise ValueError(
            f"{name} must be a positive int or a pair of them, got {value!r}"
        )
    return values


def padding(value) -> tuple[int, int, int, int]:
    """``value`` as MatConvNet's (top, bottom, left, right) padding.

    An int pads all four sides, a pair pads (vertical, horizontal).
    """
    if isinstance(value, int):
        values = (value,) * 4
    else:
        values = tuple(value)
        if len(values) == 2:
            values = (values[0], values[0], values[1], values[1])
    if len(values) != 4 or not all(isinstance(v, int) and v >= 0 for v in values):
        raise ValueError(
            "padding must be a non-negative int, a (vertical, horizontal) pair or "
            f"MatConvNet's (top, bottom, left, right), got {value!r}"
        )
    return values


def as_batch(x, name: str) -> Variable:
    """``x`` as a float tensor variable of rank 4 (an NCHW batch or OIHW kernel)."""
    x = pt.as_tensor_variable(x)
    if x.type.ndim != 4:
        raise TypeError(
            f"{name} must be a 4-d tensor (N, C, H, W), got {x.type.ndim}-d"
        )
    if x.type.dtype not in ("float32", "float64"):
        raise TypeError(f"{name} must be float32 or float64, got {x.type.dtype}")
    return x


def static_size(size, window, stride, before, after):
    """Static output length when the input length is known, else None."""
    if size is None:
        return None
    return (size + before + after - window) // stride + 1


def node_and_shapes(args):
    """Unpack ``infer_shape`` arguments: PyTensor 3.0 passes (fgraph, node, shapes),
    later releases (node, shapes)."""
    return args[-2], args[-1]
