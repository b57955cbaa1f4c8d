r"""Blocks of an image for exact tiled evaluation: where they lie and how far they
reach (Galerne et al. 2024, "Scaling Painting Style Transfer").

An image too large to evaluate whole is cut into blocks. Each block has an *inner*
area, and the inner areas partition the image; the block itself is its inner area
widened by a *margin* on every side that is not the image's edge. The network runs
on the whole block, but a block only answers for the features whose positions fall
in its inner area. Those features are the whole image's features exactly when the
margin covers everything they see, which this module derives from the layer table
of :mod:`naah.architecture`.

Reach of a feature
    Follow one axis through the network. At a layer of total stride :math:`s` (the
    product of the poolings' strides below it), position :math:`j` depends on the
    input pixels :math:`[s j - a,\; s j + b]`. The input itself has :math:`s = 1`,
    :math:`a = b = 0`. A 3x3 convolution with padding 1 reads positions
    :math:`j - 1 \ldots j + 1` of the layer below, so :math:`a` and :math:`b` each
    grow by that layer's stride :math:`s`. A 2x2 pooling of stride 2 reads
    :math:`2j` and :math:`2j + 1`: :math:`a` stays, :math:`b` grows by :math:`s`,
    and the stride doubles. For VGG-19 this gives, at conv5_1, :math:`s = 16`,
    :math:`a = 70` and :math:`b = 85 = 15 + 70`: the 16-pixel cell of a position
    plus 70 pixels on either side, a receptive field of 156 pixels.
Margin
    A feature of the inner area sees at most :math:`h = \max(a, b - s + 1)` pixels
    past the inner area's edge (its *halo*; 70 at conv5_1, 38 at conv4_2). The
    margin is the halo of the deepest layer used, rounded up to a multiple of that
    layer's stride :math:`S` (80 pixels for conv5_1). Up to the block's own edge
    the zero padding of the convolutions then never reaches an inner feature,
    except where the block's edge is the image's, where the whole image is padded
    the same way.
Alignment
    Inner areas start at multiples of :math:`S` (and so do blocks, the margin being
    one), so that every pooling of the block pairs the same pixels as the pooling of
    the whole image: position :math:`j` of a layer of stride :math:`s` in the image
    is position :math:`j - o/s` in a block that starts at pixel :math:`o`. With
    MatConvNet's floor pooling an axis of :math:`n` pixels has
    :math:`\lfloor n / s \rfloor` positions at that layer, and a block that ends at
    the image's edge has the image's last positions.

Examples
--------
>>> field("conv5_1")
Field(stride=16, before=70, after=85)
>>> margin(["conv4_2", "conv5_1"])
80
>>> blocks = layout((300, 200), 128, ["conv5_1"])
>>> len(blocks), blocks[-1].rows
(6, Span(inner=(256, 300), outer=(176, 300), size=300))
>>> blocks[-1].cells("conv5_1"), blocks[-1].crops(["conv5_1"])
((slice(16, 18, None), slice(8, 12, None)), [[5, 7, 5, 9]])
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from naah.architecture import CONV_PADDING, MATCONVNET_LAYERS, POOL_WINDOW

__all__ = [
    "Block",
    "Field",
    "Span",
    "block_count",
    "field",
    "halo",
    "layer_positions",
    "layout",
    "margin",
    "stride",
    "work_ratio",
]

#: The name blocks use for the image itself (stride 1, reach 0).
IMAGE = "image"


class Field(NamedTuple):
    """Position ``j`` of a layer depends on input pixels
    ``[stride * j - before, stride * j + after]``, along either axis."""

    stride: int
    before: int
    after: int


def field(layer: str) -> Field:
    """The reach of a feature of ``layer`` (a MatConvNet name, or ``"image"``)
    back to the input, derived from the layer table (module docstring).

    Raises
    ------
    KeyError
        For a name that is not a layer of the table.
    """
    if layer == IMAGE:
        return Field(1, 0, 0)
    stride, before, after = 1, 0, 0
    for info in MATCONVNET_LAYERS:
        if info.type == "conv":
            before += CONV_PADDING * stride
            after += CONV_PADDING * stride
        elif info.type == "pool":
            after += (POOL_WINDOW - 1) * stride
            stride *= POOL_WINDOW
        if info.name == layer or _relu_of(info.name) == layer:
            return Field(stride, before, after)
    raise KeyError(f"{layer!r} is not a layer of VGG-19 up to pool5")


def _relu_of(name: str) -> str:
    return name.replace("conv", "relu") if name.startswith("conv") else ""


def stride(layers: Iterable[str]) -> int:
    """The largest total stride among ``layers`` (1 for none)."""
    return max((field(n).stride for n in layers), default=1)


def halo(layer: str) -> int:
    """How far past its cell a feature of ``layer`` sees, in pixels."""
    f = field(layer)
    return max(f.before, f.after - f.stride + 1)


def margin(layers: Iterable[str]) -> int:
    """The margin a block needs so that the inner features of every one of
    ``layers`` are exact: the largest halo, rounded up to a multiple of the
    largest stride."""
    names = list(layers)
    step = stride(names)
    reach = max((halo(n) for n in names), default=0)
    return step * math.ceil(reach / step)


def layer_positions(pixels: int, layer: str) -> int:
    """Positions of ``layer`` along an axis of ``pixels`` input pixels (floor
    pooling, as MatConvNet's VGG-19)."""
    return pixels // field(layer).stride


@dataclass(frozen=True)
class Span:
    """One block along one axis of ``size`` pixels: its ``inner`` and ``outer``
    pixel ranges ``[start, stop)``."""

    inner: tuple[int, int]
    outer: tuple[int, int]
    size: int

    def cells(self, layer: str) -> tuple[int, int]:
        """The inner area's positions at ``layer``, in the whole image's layer."""
        s = field(layer).stride
        start, stop = self.inner
        end = layer_positions(self.size, layer) if stop == self.size else stop // s
        return start // s, end

    def crop(self, layer: str) -> tuple[int, int]:
        """The inner area's positions at ``layer``, in the block's layer."""
        start, stop = self.cells(layer)
        offset = self.outer[0] // field(layer).stride
        return start - offset, stop - offset


@dataclass(frozen=True)
class Block:
    """One block: its spans along the rows and the columns."""

    rows: Span
    cols: Span

    @property
    def outer(self) -> tuple[slice, slice]:
        """Rows and columns of the block in the image."""
        return slice(*self.rows.outer), slice(*self.cols.outer)

    @property
    def inner(self) -> tuple[slice, slice]:
        """Rows and columns of its inner area in the image."""
        return slice(*self.rows.inner), slice(*self.cols.inner)

    @property
    def shape(self) -> tuple[int, int]:
        """Its height and width in pixels, margins included."""
        return _length(self.rows.outer), _length(self.cols.outer)

    def cells(self, layer: str) -> tuple[slice, slice]:
        """Its inner positions at ``layer`` in the whole image's layer."""
        return slice(*self.rows.cells(layer)), slice(*self.cols.cells(layer))

    def crops(self, layers: Sequence[str]) -> list[list[int]]:
        """Its inner positions in its own layers, one row ``[top, bottom, left,
        right]`` per layer (``"image"``: its pixels)."""
        return [[*self.rows.crop(n), *self.cols.crop(n)] for n in layers]


def _length(span: tuple[int, int]) -> int:
    return span[1] - span[0]


def spans(size: int, tile: int, layers: Sequence[str]) -> list[Span]:
    """The blocks along an axis of ``size`` pixels: inner areas of ``tile`` pixels
    (a multiple of the largest stride) from the start, the last one taking the
    rest; a rest shorter than the stride joins the block before it, so that every
    inner area has positions at every layer."""
    step = stride(layers)
    reach = margin(layers)
    starts = list(range(0, size, tile))
    if len(starts) > 1 and size - starts[-1] < step:
        starts.pop()
    stops = [*starts[1:], size]
    return [
        Span((start, stop), (max(0, start - reach), min(size, stop + reach)), size)
        for start, stop in zip(starts, stops, strict=True)
    ]


def layout(shape: Sequence[int], tile_size: int, layers: Sequence[str]) -> list[Block]:
    """The blocks of an image of ``shape`` (H, W, ...) whose inner areas are at
    most ``tile_size`` pixels square, row by row.

    ``tile_size`` is rounded down to a multiple of the largest stride of
    ``layers`` (and is at least that stride).

    Raises
    ------
    ValueError
        For a tile size that is not a positive integer.
    """
    rows, cols = _axis_spans(shape, tile_size, layers)
    return [Block(r, c) for r in rows for c in cols]


def _axis_spans(
    shape: Sequence[int], tile_size: int, layers: Sequence[str]
) -> tuple[list[Span], list[Span]]:
    """The spans of :func:`layout`'s blocks down the rows and across the columns
    (the blocks are every pair)."""
    if isinstance(tile_size, bool) or not isinstance(tile_size, int) or tile_size < 1:
        raise ValueError(f"tile_size must be a positive integer, got {tile_size!r}")
    step = stride(layers)
    tile = max(step, tile_size // step * step)
    height, width = int(shape[0]), int(shape[1])
    return spans(height, tile, layers), spans(width, tile, layers)


def block_count(shape: Sequence[int], tile_size: int, layers: Sequence[str]) -> int:
    """How many blocks :func:`layout` makes (counted, not made: a huge image in
    small blocks has millions).

    Examples
    --------
    >>> block_count((100_000, 75_000), 16, ["conv5_1"])
    29293750
    """
    rows, cols = _axis_spans(shape, tile_size, layers)
    return len(rows) * len(cols)


def work_ratio(shape: Sequence[int], tile_size: int, layers: Sequence[str]) -> float:
    """The pixels the network computes per pass over the blocks, margins
    included, over the image's own (1 for one block).

    Examples
    --------
    >>> round(work_ratio((2048, 2048), 1024, ["conv5_1"]), 3)
    1.162
    """
    rows, cols = _axis_spans(shape, tile_size, layers)
    # A block's area is its rows' extent times its columns': the sum over every
    # pair is the product of the sums.
    heights = sum(_length(r.outer) for r in rows)
    widths = sum(_length(c.outer) for c in cols)
    return heights * widths / (int(shape[0]) * int(shape[1]))
