"""What naah's VGG-19 weight readers share: the error, the parameter record, checks.

The format readers (:mod:`._weights_matconvnet`, :mod:`._weights_keras`) and the
public :mod:`naah.io.weights` import from here; this module imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from naah._lazy import lazy_import
from naah.architecture import WEIGHT_LAYERS, expected_kernel_shape, kernel_size

if TYPE_CHECKING:  # the real module, for annotations
    import h5py
else:
    h5py = lazy_import("h5py")  # MATLAB v7.3 and Keras files only
# Where the pretrained models are published.
MATCONVNET_URL = "https://www.vlfeat.org/matconvnet/pretrained/"
KERAS_URL = "https://github.com/fchollet/deep-learning-models/releases/tag/v0.1"
# Largest temporary copy made while reordering a kernel.
TRANSPOSE_BLOCK_BYTES = 1 << 20
# What h5py raises when the bytes of a file are damaged: it turns the HDF5 error
# stack into one of these, RuntimeError when no other fits.
HDF5_ERRORS = (OSError, KeyError, ValueError, TypeError, RuntimeError)

ShapeTable = dict[str, tuple[tuple[int, ...], int]]


class WeightsError(ValueError):
    """A weights file cannot be used; the message says which file, what and why."""


@dataclass(frozen=True, eq=False)
class ConvParams:
    """The parameters of one convolution (fully connected layers included).

    Attributes
    ----------
    kernel : ndarray of float32, shape (out, in, height, width)
        For cross-correlation (no flip), input channels in RGB order for conv1_1.
    bias : ndarray of float32, shape (out,)
    pad : tuple of 4 ints
        Zero padding (top, bottom, left, right), MatConvNet's order.
    stride : tuple of 2 ints
        (vertical, horizontal).
    """

    kernel: np.ndarray
    bias: np.ndarray
    pad: tuple[int, int, int, int]
    stride: tuple[int, int]

    def __repr__(self) -> str:
        return (
            f"ConvParams(kernel={self.kernel.shape} {self.kernel.dtype}, "
            f"bias={self.bias.shape}, pad={self.pad}, stride={self.stride})"
        )


class Network(NamedTuple):
    """What a format reader returns to :func:`naah.io.load_weights`."""

    params: dict[str, ConvParams]
    mean_pixel: np.ndarray
    class_descriptions: tuple[str, ...] | None
    class_names: tuple[str, ...] | None
    release: str


def label(filename: str) -> str:
    """How error messages name a weights file."""
    return f"weights file '{filename}'"


def open_h5(filename: str) -> h5py.File:
    """Open an HDF5 file for reading, as a WeightsError if it cannot be opened."""
    try:
        return h5py.File(filename, "r")
    except HDF5_ERRORS as exc:
        raise WeightsError(
            f"{label(filename)} starts like an HDF5 file but cannot be opened ({exc}):"
            " it is probably truncated or corrupt. Download it again."
        ) from exc


def check_shapes(shapes: ShapeTable, filename: str) -> None:
    """Check kernel shapes (out, in, h, w) and bias lengths against VGG-19's chain.

    Narrower networks (the tests' stand-ins) pass; a layer with more output
    channels than VGG-19's does not, so no kernel larger than VGG-19's is ever read.
    """
    previous_out, previous_name = 3, "the RGB input"
    for name in WEIGHT_LAYERS:
        if name not in shapes:
            continue
        kernel, bias_length = shapes[name]
        problem = _shape_problem(name, kernel, bias_length, previous_out, previous_name)
        if problem:
            raise WeightsError(
                f"{label(filename)}: layer {name} {problem}. The file is not a "
                "consistent VGG-19 network; download it again."
            )
        previous_out, previous_name = kernel[0], name


def _shape_problem(
    name: str, kernel: tuple[int, ...], bias_length: int, in_channels: int, source: str
) -> str | None:
    shown = f"kernel shape (out, in, height, width) = {kernel}"
    if len(kernel) != 4:
        return f"has a {len(kernel)}-D kernel, expected 4-D; {shown}"
    size = kernel_size(name)
    widest = expected_kernel_shape(name)[0]
    if kernel[0] > widest:
        return f"has {kernel[0]:,} output channels, VGG-19's has {widest:,}; {shown}"
    if kernel[2:] != (size, size):
        return f"has a {kernel[2]}x{kernel[3]} kernel, expected {size}x{size}; {shown}"
    if kernel[1] != in_channels:
        return (
            f"has {kernel[1]} input channels, but {source} has {in_channels} "
            f"output channels; {shown}"
        )
    if bias_length != kernel[0]:
        return f"has {bias_length} biases for {kernel[0]} output channels; {shown}"
    return None
