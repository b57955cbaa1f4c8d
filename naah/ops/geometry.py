"""The output length of a convolution or pooling window along one axis.

One formula, shared by everything that sizes an output: the Ops' static shapes and
``infer_shape``, their Numba kernels (:mod:`naah.ops.kernels` and
:mod:`naah.ops.winograd` compile this very function with ``njit``), the layers'
``output_shape`` and :mod:`naah.estimate`. It is plain Python arithmetic, so it runs
on ints, on symbolic PyTensor integer scalars and inside Numba alike, and this
module imports nothing: :mod:`naah.estimate` uses it without loading PyTensor or
Numba.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from pytensor.tensor.variable import TensorVariable

#: A length: a Python int, or a symbolic integer scalar in ``infer_shape``.
Length = TypeVar("Length", int, "TensorVariable")


def output_size(
    size: Length,
    window: Length | int,
    stride: int,
    pad_before: int,
    pad_after: int,
    ceil_mode: bool = False,
) -> Length:
    """Number of window positions along one axis of a padded input.

    Floor mode (default) is MatConvNet's ``vl_nnconv`` and ``vl_nnpool``:
    ``(size + pad_before + pad_after - window) // stride + 1``, so input left over
    after the last whole window is dropped. Ceil mode is Caffe's pooling: a last,
    partial window covers the remainder, but never one that starts inside the
    trailing padding.

    Parameters
    ----------
    size : int or symbolic integer scalar
        Input length along the axis.
    window : int or symbolic integer scalar
        Kernel or pooling window length.
    stride : int
        Step between windows.
    pad_before, pad_after : int
        Zero padding at the start and the end of the axis.
    ceil_mode : bool
        Round a partial last window up (Caffe) instead of down (MatConvNet).

    Returns
    -------
    int or symbolic integer scalar
        The output length; 0 or less when the window does not fit the padded input.

    Examples
    --------
    >>> output_size(224, 3, 1, 1, 1)  # VGG's 3x3 convolutions keep the size
    224
    >>> output_size(37, 2, 2, 0, 0), output_size(37, 2, 2, 0, 0, ceil_mode=True)
    (18, 19)
    """
    span = size + pad_before + pad_after - window
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    # Caffe drops a last window that would start in the trailing padding. The
    # comparison counts as 0 or 1 for ints, symbolic scalars and Numba alike.
    return out - ((out - 1) * stride >= size + pad_before)
