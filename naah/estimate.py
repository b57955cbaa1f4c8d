"""Peak memory of a style transfer, known before the weights are loaded.

:func:`estimate_memory` predicts the peak resident memory (RSS, bytes) of
:meth:`naah.StyleTransfer.run` from the image sizes, the backend, the optimiser and
the layers asked for, by walking the VGG-19 layer table of :mod:`naah.architecture`;
it loads nothing and imports neither PyTensor nor Numba. :func:`available_memory`
says how much the machine (or the container's cgroup) can still give, and
:func:`largest_size` the largest long edge whose estimate fits.

The parts of the estimate (bytes, the keys of :attr:`MemoryEstimate.breakdown`):

``baseline``
    Python, numpy, PyTensor, naah's Numba kernels, the compiled graphs and the
    optimiser's code; measured (see the constants below), plus a little per
    convolution compiled.
``weights``
    Kernels and biases of the convolutions up to the deepest layer used: naah loads
    no others (:attr:`naah.StyleTransfer.net`).
``activations``
    The forward values the gradient needs: every ReLU output up to the deepest
    layer, ``C * H * W * 4`` bytes each (float32), at the image's size.
``gradients``
    What the backward pass holds besides, at its worst layer: the ReLU outputs of
    the layers above it are freed by then, and two gradient buffers of its size
    and the total-variation term's four image-sized buffers are alive.
``overhead``
    What the allocator does not give back between the evaluations' arrays
    (measured, 13 % of the evaluation's arrays); for ``"jax"``, XLA's buffers too.
``target_pass``
    The computation of the targets (one forward pass over the content image, one
    over the style image) comes before the optimiser allocates anything, and its
    freed memory is reused: when it needs more than the evaluation and the
    optimiser together (a style image much larger than the content image), the
    difference. Usually 0.
``workspaces``
    Scratch of naah's convolution kernels: the Winograd transform of the largest
    kernel (16 planes of O x C) and each worker thread's transformed tiles and
    padded band (:mod:`naah.ops.winograd`).
``images``
    The content, style and generated images, the gradient, and the targets
    :math:`P^l` and :math:`A^l` with the Gram matrices :math:`G^l`.
``optimizer``
    L-BFGS-B: scipy's float64 workspace ``wa`` of ``2mn + 5n + 11m² + 8m`` values
    (m = 10 corrections, n = 3HW values), its integer workspace, the iterate,
    gradient and bounds; with ``lbfgs_history=m``, naah's float32 L-BFGS instead
    (what a run with a memory budget for its optimiser uses when L-BFGS-B's state
    does not fit: :func:`naah.optim.lbfgs.lbfgs_implementation`), ``(2m + 3)n``
    float32 values (:func:`lbfgs_state`); Adam: its two moments; momentum: its
    velocity; those two and gradient descent, a copy of the image.

Checkpoints (``naah stylize`` writes them by default) add nothing: a write copies
the optimiser's state between two evaluations, into the memory their arrays
freed, which is always the larger (measured: 961 against 946 MB at 512x512 with a
checkpoint every iteration).

Accuracy: the estimate was between 5 % below and 11 % above the peak RSS that
``benchmarks/bench_memory.py`` measured at long edges 256–2048 on the ``"c"``
backend (L-BFGS, Adam and GD, default and other layers; ``docs/performance.md``,
"Memory known before the start"); ±25 % is the promise. ``"numba"`` is fitted
to three measurements (warm Numba cache; the first run compiles the graph
in-process and needs about 1.6 GB more), ``"jax"`` scaled from one older table,
the roughest.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from naah import blocks
from naah.architecture import (
    CONV_LAYERS,
    CONV_PADDING,
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_STYLE_LAYERS,
    FEATURE_LAYERS,
    MATCONVNET_LAYERS,
    POOL_WINDOW,
    expected_kernel_shape,
)
from naah.ops.geometry import output_size

BACKENDS = ("c", "numba", "jax")
OPTIMIZERS = ("lbfgs", "adam", "gd", "momentum")

FLOAT32, FLOAT64, INT32 = 4, 8, 4
MiB = 2**20

# -- measured constants ---------------------------------------------------------------
# Measurements: benchmarks/bench_memory.py on the "c" backend, Runtime(keep_freed_
# memory=True) as the command line runs, a VGG-19 file of the real sizes with random
# weights; docs/performance.md has the tables. MB = 10**6 bytes.
#
# Process baseline: python, numpy, PyTensor, naah, its Numba kernels and the two
# compiled graphs (targets; loss and gradient). The prepare phase's high-water mark
# at 32x32 (where images and activations weigh < 2 MB) for one content layer at
# conv1_1 ... conv5_4 (six depths, no style layers) fitted
# 231.0 MB + 2.2 MB per convolution compiled + 1.0 x the weights + 2.1 x the largest
# kernel (its Winograd transform, counted in "workspaces"); residuals < 5 MB.
# The "numba" backend (the whole graph one Numba function, naah's kernels serial)
# holds its compiled graph too: warm-cache runs at 32, 256 and 512 fitted a
# baseline 70 MB above "c"'s and 1.26 x "c"'s evaluation arrays (residuals
# < 0.3 MB). Its first run with an empty Numba cache compiles the graph with LLVM
# in-process and peaked 1.6 GB higher (2248 against 606 MB at 256): not counted.
BASELINE_BYTES = {"c": 231_000_000, "numba": 301_000_000, "jax": 1_013 * MiB}
PER_LAYER_BYTES = {"c": 2_200_000, "numba": 2_200_000, "jax": 2_200_000}
# What the optimiser loads on top (run phase minus prepare phase at 32x32): scipy's
# L-BFGS-B module (22.5 MB, mean of the six depths); for Adam and GD their compiled
# update step (16 MB: the default layers' run peak at 32x32 is 6 MB below
# L-BFGS's). Momentum's update step (GD's plus a velocity) is not measured: GD's.
OPTIMIZER_BASELINE_BYTES = {
    "lbfgs": 22_500_000,
    "adam": 16_000_000,
    "gd": 16_000_000,
    "momentum": 16_000_000,
}

# glibc's heap does not reuse every hole the evaluations' freed arrays leave: with
# freed memory kept (Runtime(keep_freed_memory=True)), the peak RSS grew by 8-18 %
# more than the arrays alive at the evaluation's peak (activations + gradients +
# images per pixel, 1356 bytes at the default layers, against an RSS slope of
# 1465 bytes per pixel for Adam at 256-512 and 1529-1605 for L-BFGS at 256-1024
# once its state is subtracted). Without it (naah's library default) the long-run
# peak was 3 % lower at 512x512 (915 against 946 MB): the estimate is then a little
# high.
ALLOCATOR_OVERHEAD = 0.13

# The evaluation's arrays per backend, relative to "c"'s. "numba": fitted with its
# baseline (above). "jax": XLA keeps more intermediates; one evaluation at 256 and
# 512 in docs/performance.md ("Latest run", peak RSS 1271 and 2044 MiB against 429
# and 718 for "c") grew by 3932 bytes per pixel against 1541 for "c", 2.55 times
# as much; its baseline (1013 MiB above) is that line's intercept. Not re-measured
# (no JAX on this machine).
EVALUATION_FACTOR = {"c": 1.0, "numba": 1.26, "jax": 2.55}

# L-BFGS history size (naah.optim's LBFGS_MEMORY, scipy's default).
LBFGS_MEMORY = 10
# Bytes per optimised value (n = 3HW) beside scipy's float64 workspace: the iterate,
# gradient and the two bounds in float64 (4 x 8), the bound types and integer
# workspace iwa of 3n (4 + 12, int32), and naah's float64 copies of the last
# iterate and gradient (2 x 8): naah/optim/lbfgsb.py and minimize.py. (Measured:
# L-BFGS's peak minus Adam's was 893 and 838 bytes per pixel at 256 and 512; this
# and scipy's workspace give 792, Adam's moments 36.)
LBFGS_BYTES_PER_VALUE = 4 * FLOAT64 + INT32 + 3 * INT32 + 2 * FLOAT64
# naah's float32 L-BFGS (naah.optim.float_lbfgs.VECTORS; tests/test_estimate.py
# checks the two agree): besides its m pairs (s, y), float32 vectors of n values for
# the iterate, its gradient and the search direction. The bounds are per channel
# and the gradient is the problem's own: nothing more per value.
FLOAT_LBFGS_VECTORS = 3
# Adam's two moments (float32, the image's shape; naah.optim.updates.adam), the
# momentum update's velocity (one float32 array, naah.optim.updates.momentum) and,
# for Adam, momentum and GD, the copy of the image each step records (Minimizer):
# bytes per value.
ADAM_BYTES_PER_VALUE = 2 * FLOAT32 + FLOAT32
MOMENTUM_BYTES_PER_VALUE = FLOAT32 + FLOAT32
GD_BYTES_PER_VALUE = FLOAT32
# The optimisers whose state is only arrays of the image's shape (L-BFGS adds
# scipy's workspace, lbfgs_workspace), bytes per value.
STATE_BYTES_PER_VALUE = {
    "adam": ADAM_BYTES_PER_VALUE,
    "gd": GD_BYTES_PER_VALUE,
    "momentum": MOMENTUM_BYTES_PER_VALUE,
}

# The total-variation term is in every graph (its weight is a shared variable): its
# vertical and horizontal differences and their gradients, four image-sized float32
# buffers.
TV_BUFFERS = 4
# Image-sized float32 arrays besides the style image: the content image, the
# generated image (a shared variable), its preprocessed input and the gradient.
IMAGE_BUFFERS = 4
# Gradient buffers of the layer being differentiated: the gradient arriving at its
# ReLU output (from the pooling's or the next convolution's gradient) and the
# ReLU's gradient.
LAYER_GRADIENT_BUFFERS = 2

# naah.ops.winograd.BLOCK_BYTES: transformed input plus products per block of tile
# rows (tests/test_estimate.py checks the two agree).
WINOGRAD_BLOCK_BYTES = 1 << 22


@dataclass(frozen=True)
class MemoryEstimate:
    """Predicted peak resident memory of a style transfer.

    Attributes
    ----------
    total : int
        Bytes: the sum of :attr:`breakdown`.
    breakdown : dict of str to int
        Bytes per part: ``baseline``, ``weights``, ``activations``, ``gradients``,
        ``overhead``, ``target_pass``, ``workspaces``, ``images``, ``optimizer``
        (see :mod:`naah.estimate`).
    shape, style_shape : (int, int)
        (H, W) of the content (and generated) image and of the style image.
    backend, optimizer : str
    layers : tuple of str
        The convolutions whose weights are loaded, in order.
    tile_size : int or None
        The blocks' inner edge of a tiled evaluation (None: whole).

    Examples
    --------
    >>> estimate = estimate_memory((512, 512), threads=2)
    >>> estimate.total == sum(estimate.breakdown.values())
    True
    >>> print(estimate)  # doctest: +ELLIPSIS
    927 MiB (baseline 269 MiB, weights 49 MiB, activations 290 MiB, ...)
    >>> estimate.fits(available_memory())  # doctest: +SKIP
    True
    """

    total: int
    breakdown: Mapping[str, int]
    shape: tuple[int, int] = (0, 0)
    style_shape: tuple[int, int] = (0, 0)
    backend: str = "c"
    optimizer: str = "lbfgs"
    layers: tuple[str, ...] = ()
    tile_size: int | None = None

    def fits(self, available: int) -> bool:
        """Whether the estimate is at most ``available`` bytes."""
        return self.total <= available

    def __str__(self) -> str:
        parts = ", ".join(
            f"{k} {format_bytes(v)}" for k, v in self.breakdown.items() if v
        )
        return f"{format_bytes(self.total)} ({parts})"


def format_bytes(count: float) -> str:
    """Bytes in binary units: ``'512 MiB'``, ``'1.9 GiB'``.

    Examples
    --------
    >>> format_bytes(3 * 2**20), format_bytes(1.9 * 2**30), format_bytes(512)
    ('3 MiB', '1.9 GiB', '512 B')
    """
    if count >= 2**30:
        return f"{count / 2**30:.1f} GiB"
    if count >= MiB:
        return f"{count / MiB:.0f} MiB"
    if count >= 1024:
        return f"{count / 1024:.0f} KiB"
    return f"{count:.0f} B"


# -- the network's geometry -----------------------------------------------------------
@dataclass(frozen=True)
class _Conv:
    """A convolution of the table at one image size: its ReLU output is C x H x W."""

    name: str
    in_channels: int
    channels: int
    height: int
    width: int
    # The input's elements (the image, a pooling's output or the previous ReLU's).
    input_elements: int

    @property
    def elements(self) -> int:
        return self.channels * self.height * self.width


def _geometry(shape: tuple[int, int]) -> Iterator[tuple[str, str, int, int, int]]:
    """(name, type, channels, height, width) of each feature layer's output at
    ``shape``, in order: the one place the estimate follows the table's geometry.

    Every VGG convolution is 3x3 with padding 1 and stride 1 (same size); each 2x2
    stride-2 pooling halves the side, rounding down (MatConvNet's floor mode). The
    Ops' own :func:`naah.ops.output_size` sizes both.
    """
    height, width = shape
    channels = 3
    for info in MATCONVNET_LAYERS:
        if info.name not in FEATURE_LAYERS:
            return
        if info.type == "pool":
            height = output_size(height, POOL_WINDOW, POOL_WINDOW, 0, 0)
            width = output_size(width, POOL_WINDOW, POOL_WINDOW, 0, 0)
        elif info.type == "conv":
            channels, _, kh, kw = expected_kernel_shape(info.name)
            height = output_size(height, kh, 1, CONV_PADDING, CONV_PADDING)
            width = output_size(width, kw, 1, CONV_PADDING, CONV_PADDING)
        yield info.name, info.type, channels, height, width


def _convs(shape: tuple[int, int], deepest: int) -> list[_Conv]:
    """The convolutions up to feature layer ``FEATURE_LAYERS[deepest]`` at ``shape``."""
    convs: list[_Conv] = []
    input_elements = 3 * shape[0] * shape[1]
    for name, kind, channels, height, width in _geometry(shape):
        if _position(name) > deepest:
            break
        if kind == "pool":
            input_elements = convs[-1].channels * height * width
        elif kind == "conv":
            in_channels = expected_kernel_shape(name)[1]
            convs.append(
                _Conv(name, in_channels, channels, height, width, input_elements)
            )
            input_elements = channels * height * width
    return convs


def _position(name: str) -> int:
    """Index of feature layer ``name`` in :data:`FEATURE_LAYERS`."""
    try:
        return FEATURE_LAYERS.index(name)
    except ValueError:
        raise ValueError(
            f"{name!r} is not a VGG-19 feature layer; choose from "
            f"{', '.join(FEATURE_LAYERS)}"
        ) from None


def _feature_elements(name: str, shape: tuple[int, int]) -> int:
    """Elements of feature layer ``name``'s output (a conv name means its ReLU's)."""
    _position(name)
    sizes = {layer: c * h * w for layer, _, c, h, w in _geometry(shape)}
    return sizes[name]


# -- the parts ------------------------------------------------------------------------
def _backward_peak(convs: Sequence[_Conv], shape: tuple[int, int]) -> int:
    """Elements alive at the worst step of an evaluation (loss and gradient).

    The forward pass keeps every ReLU output; the backward pass, from the deepest
    layer up, frees them as it goes. At layer l the ReLU outputs up to l and two
    gradient buffers of l's size are alive, with the total-variation term's
    buffers. (Measured with tracemalloc during one evaluation: the arrays alive at
    the peak were 1185 bytes per pixel above a constant between 256x256 and
    512x512, against 1160 for the ReLU outputs alone and 1264 for this count: the
    Gram gradients and the content gradient are taken in as they are made.)
    """
    peak = 0
    kept = 0
    for conv in convs:
        kept += conv.elements
        peak = max(peak, kept + LAYER_GRADIENT_BUFFERS * conv.elements)
    height, width = shape
    return peak + TV_BUFFERS * 3 * height * width


def _forward_peak(convs: Sequence[_Conv]) -> int:
    """Elements held at the worst step of a forward pass alone (the targets): a
    convolution's input, its output and its ReLU's output."""
    return max(c.input_elements + 2 * c.elements for c in convs)


def _plane_stride(n: int) -> int:
    """naah.ops.winograd.plane_stride: planes rounded up to a cache line, plus one."""
    return (n + 15) // 16 * 16 + 16


def _winograd_scratch(c: int, o: int, height: int, width: int) -> int:
    """Elements one worker allocates in naah.ops.winograd.correlate for a 3x3
    correlation of c input and o output channels: transformed tiles V, products
    M and the padded band."""
    th, tw = (height + 1) // 2, (width + 1) // 2
    rows = max(1, min(th, WINOGRAD_BLOCK_BYTES // (16 * (c + o) * tw * FLOAT32)))
    v = 16 * _plane_stride(c * rows * tw)
    m = 16 * _plane_stride(o * rows * tw)
    band = c * (2 * rows + 2) * (2 * tw + 2)
    return v + m + band


def _workspaces(convs: Sequence[_Conv], workers: int) -> int:
    """Bytes of kernel scratch at the worst convolution (forward or input gradient):
    the kernel transform U (16 planes of O x C) and each worker's tiles."""
    worst = 0
    for conv in convs:
        transform = 16 * _plane_stride(conv.channels * conv.in_channels)
        for c, o in (
            (conv.in_channels, conv.channels),
            (conv.channels, conv.in_channels),
        ):
            tiles = _winograd_scratch(c, o, conv.height, conv.width)
            worst = max(worst, transform + workers * tiles)
    return worst * FLOAT32


def _weights(convs: Sequence[_Conv]) -> int:
    """Bytes of the kernels and biases of ``convs`` (float32)."""
    total = 0
    for conv in convs:
        kernel = expected_kernel_shape(conv.name)
        total += math.prod(kernel) + kernel[0]
    return total * FLOAT32


def _optimizer(optimizer: str, values: int, lbfgs_history: int | None) -> int:
    """Bytes of the optimiser's state for ``values`` optimised values."""
    if optimizer == "lbfgs":
        return lbfgs_state(values, lbfgs_history)
    return STATE_BYTES_PER_VALUE[optimizer] * values


def lbfgs_state(n: int, history: int | None = None) -> int:
    """Bytes of L-BFGS's state for n values: scipy's L-BFGS-B (``history`` None:
    its float64 workspace for m = 10, the iterate, gradient and bounds), or naah's
    float32 L-BFGS with ``history`` pairs (``(2 history + 3) n`` float32).

    Examples
    --------
    >>> n = 3 * 2048 * 1536
    >>> round(lbfgs_state(n) / 2**30, 2), round(lbfgs_state(n, 4) / 2**30, 2)
    (2.32, 0.39)
    """
    if history is None:
        return lbfgs_workspace(n) + LBFGS_BYTES_PER_VALUE * n
    return FLOAT32 * (2 * history + FLOAT_LBFGS_VECTORS) * n


def lbfgs_workspace(n: int, m: int = LBFGS_MEMORY) -> int:
    """Bytes of scipy L-BFGS-B's float64 workspace ``wa`` for n values and m
    corrections: ``2mn + 5n + 11m² + 8m`` values (scipy.optimize._lbfgsb_py).

    Examples
    --------
    >>> lbfgs_workspace(3 * 512 * 512) / 2**20  # doctest: +ELLIPSIS
    150.0...
    """
    return FLOAT64 * (2 * m * n + 5 * n + 11 * m * m + 8 * m)


def _images_and_targets(
    convs: Sequence[_Conv],
    shape: tuple[int, int],
    style_shape: tuple[int, int],
    content_layers: Sequence[str],
    style_layers: Sequence[str],
) -> int:
    """Bytes of the images, the gradient, P^l, and A^l and G^l per style layer."""
    height, width = shape
    elements = IMAGE_BUFFERS * 3 * height * width + 3 * style_shape[0] * style_shape[1]
    elements += sum(_feature_elements(n, shape) for n in content_layers)
    channels = {c.name: c.channels for c in convs}
    for name in style_layers:
        conv = name if name in channels else _conv_of(name)
        elements += 2 * channels[conv] ** 2
    return elements * FLOAT32


def _block_shape(
    shape: tuple[int, int], tile_size: int, layers: Sequence[str]
) -> tuple[int, int]:
    """The largest block of an image cut into tiles of ``tile_size`` (naah.blocks):
    the tile, rounded to the stride, with a margin on both sides; at most the
    image."""
    step = blocks.stride(layers)
    tile = max(step, tile_size // step * step)
    # A rest shorter than the stride joins the last block (naah.blocks.spans).
    reach = tile + step - 1 + 2 * blocks.margin(layers)
    return min(shape[0], reach), min(shape[1], reach)


def _block_buffers(block: tuple[int, int]) -> int:
    """A tiled evaluation's copies of one block: its pixels and its gradient."""
    return 2 * 3 * block[0] * block[1] * FLOAT32


def _conv_of(name: str) -> str:
    """The last convolution at or before feature layer ``name``."""
    position = _position(name)
    return [n for n in FEATURE_LAYERS[: position + 1] if n in CONV_LAYERS][-1]


def _as_shape(shape: Sequence[int], what: str) -> tuple[int, int]:
    values = tuple(shape)
    if len(values) == 3 and values[2] == 3:
        values = values[:2]
    if len(values) != 2 or not all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values
    ):
        raise ValueError(
            f"{what} must be (height, width) in pixels, positive ints, got {shape!r}"
        )
    return values[0], values[1]


def _layer_names(layers: Iterable[str] | Mapping[str, float], what: str) -> list[str]:
    if isinstance(layers, str):
        raise ValueError(f"{what} must be a sequence of layer names, got {layers!r}")
    names = list(layers)
    for name in names:
        _position(name)
    return names


def estimate_memory(
    shape: Sequence[int],
    style_shape: Sequence[int] | None = None,
    *,
    backend: str = "c",
    optimizer: str = "lbfgs",
    content_layers: Sequence[str] = DEFAULT_CONTENT_LAYERS,
    style_layers: Sequence[str] | Mapping[str, float] = DEFAULT_STYLE_LAYERS,
    threads: int | None = None,
    tile_size: int | None = None,
    lbfgs_history: int | None = None,
) -> MemoryEstimate:
    """Peak resident memory of a style transfer, from the layer table alone.

    Parameters
    ----------
    shape : (int, int)
        (H, W) of the content image at the size it is optimised at (an
        ``(H, W, 3)`` array shape is accepted too).
    style_shape : (int, int), optional
        (H, W) of the style image as used; default ``shape``.
    backend : {'c', 'numba', 'jax'}
    optimizer : {'lbfgs', 'adam', 'gd', 'momentum'}
    content_layers, style_layers : sequence of str
        As for :class:`naah.StyleTransfer` (a mapping of style layers to weights
        counts its keys). Default: conv4_2; conv1_1, conv2_1 … conv5_1.
    threads : int, optional
        Worker threads of naah's kernels on the ``"c"`` backend (each has its own
        scratch); default: the usable cores.
    tile_size : int, optional
        Evaluate block by block (:mod:`naah.tiled`) with inner areas of this many
        pixels: the evaluation's parts (activations, gradients, overhead,
        workspaces, the target pass) are those of the largest block, margins
        included; the images, the content targets and the optimiser's state stay
        the whole image's.
    lbfgs_history : int, optional
        For ``optimizer='lbfgs'``: count naah's float32 L-BFGS with this many
        pairs (m) instead of scipy's float64 L-BFGS-B, as a run whose optimiser
        has a memory budget too small for L-BFGS-B uses
        (:func:`naah.optim.float_lbfgs.lbfgs_history_for` gives m for a budget).

    Returns
    -------
    MemoryEstimate

    Raises
    ------
    ValueError
        For an unknown backend, optimiser or layer, a shape that is not two
        positive ints, or an ``lbfgs_history`` that is not a positive int or is
        given for another optimiser.

    Examples
    --------
    >>> small, large = estimate_memory((256, 256)), estimate_memory((1024, 1024))
    >>> large.breakdown["activations"] == 16 * small.breakdown["activations"]
    True
    >>> shallow = estimate_memory((512, 512), content_layers=["conv2_2"],
    ...                           style_layers=["conv1_1", "conv2_1"])
    >>> shallow.total < estimate_memory((512, 512)).total
    True
    >>> float32 = estimate_memory((2048, 1536), lbfgs_history=4)
    >>> float32.breakdown["optimizer"] == 4 * (2 * 4 + 3) * 3 * 2048 * 1536
    True
    """
    if backend not in BACKENDS:
        raise ValueError(
            f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}"
        )
    if optimizer not in OPTIMIZERS:
        raise ValueError(
            f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}"
        )
    if lbfgs_history is not None:
        if optimizer != "lbfgs":
            raise ValueError(
                f"lbfgs_history is L-BFGS's memory; optimizer {optimizer!r} has none"
            )
        if (
            not isinstance(lbfgs_history, int)
            or isinstance(lbfgs_history, bool)
            or lbfgs_history < 1
        ):
            raise ValueError(
                f"lbfgs_history must be a positive int (pairs kept), got "
                f"{lbfgs_history!r}"
            )
    size = _as_shape(shape, "shape")
    style_size = size if style_shape is None else _as_shape(style_shape, "style_shape")
    content = _layer_names(content_layers, "content_layers")
    style = _layer_names(style_layers, "style_layers")
    if not content and not style:
        raise ValueError("no content and no style layers: there is nothing to optimise")
    deepest = max(_position(n) for n in [*content, *style])
    smallest = minimum_side([*content, *style])
    for what, (h, w) in (("shape", size), ("style_shape", style_size)):
        if min(h, w) < smallest:
            raise ValueError(
                f"{what} {(h, w)} is too small: the poolings before "
                f"{FEATURE_LAYERS[deepest]} need at least {smallest} pixels a side"
            )
    used = [*content, *style]
    block = size if tile_size is None else _block_shape(size, tile_size, used)
    style_block = (
        style_size if tile_size is None else _block_shape(style_size, tile_size, used)
    )
    convs = _convs(block, deepest)
    style_convs = _convs(style_block, deepest)
    workers = 1 if backend != "c" else threads or _usable_cores()

    activations = FLOAT32 * sum(c.elements for c in convs)
    evaluation = FLOAT32 * _backward_peak(convs, block)
    target_pass = FLOAT32 * max(_forward_peak(convs), _forward_peak(style_convs))
    values = 3 * size[0] * size[1]
    state = _optimizer(optimizer, values, lbfgs_history)
    scale = EVALUATION_FACTOR[backend] * (1 + ALLOCATOR_OVERHEAD)
    # The targets' forward passes end before the optimiser allocates its state,
    # and their freed memory is reused: the larger phase sets the peak.
    evaluation_phase = scale * evaluation + state
    targets_phase = scale * target_pass
    breakdown = {
        "baseline": BASELINE_BYTES[backend]
        + PER_LAYER_BYTES[backend] * len(convs)
        + OPTIMIZER_BASELINE_BYTES[optimizer],
        "weights": _weights(convs),
        "activations": activations,
        "gradients": evaluation - activations,
        "overhead": round((scale - 1) * evaluation),
        "target_pass": round(max(0.0, targets_phase - evaluation_phase)),
        "workspaces": _workspaces(convs, workers),
        "images": _images_and_targets(convs, size, style_size, content, style)
        + (0 if tile_size is None else _block_buffers(block)),
        "optimizer": state,
    }
    return MemoryEstimate(
        total=sum(breakdown.values()),
        breakdown=breakdown,
        shape=size,
        style_shape=style_size,
        backend=backend,
        optimizer=optimizer,
        layers=tuple(c.name for c in convs),
        tile_size=tile_size,
    )


def minimum_side(layers: Iterable[str]) -> int:
    """The smallest image side the deepest of ``layers`` can be computed for: each
    2x2 pooling before it halves the side, and none may leave it empty.

    Examples
    --------
    >>> minimum_side(["conv1_1"]), minimum_side(["conv4_2", "conv5_1"])
    (1, 16)
    >>> minimum_side(["pool5"])
    32
    """
    deepest = max(_position(n) for n in layers)
    pools = sum(1 for n in FEATURE_LAYERS[: deepest + 1] if n.startswith("pool"))
    return POOL_WINDOW**pools


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# -- the machine ----------------------------------------------------------------------
# cgroup v1 reports "no limit" as a huge number (PAGE_COUNTER_MAX pages, ~2**63).
_UNLIMITED = 1 << 60


def available_memory(
    *,
    meminfo: str | os.PathLike = "/proc/meminfo",
    cgroup_root: str | os.PathLike = "/sys/fs/cgroup",
    proc_cgroup: str | os.PathLike = "/proc/self/cgroup",
) -> int:
    """Bytes of memory this process can still take: the least of the kernel's
    ``MemAvailable`` and what the memory cgroups it is in allow.

    A cgroup allows its limit (v2 ``memory.max``, v1 ``memory.limit_in_bytes``)
    minus its usage (``memory.current``, ``memory.usage_in_bytes``), plus the
    file cache it could drop (``inactive_file`` of ``memory.stat``); every
    ancestor up to ``cgroup_root`` counts, and so does a limit mounted at the root
    itself (a container's own cgroup). Off Linux: psutil's available memory if it
    is installed, else the free physical pages (``os.sysconf``), else the physical
    memory (Windows: ``GlobalMemoryStatusEx``).

    Parameters
    ----------
    meminfo, cgroup_root, proc_cgroup : path
        Where to read; for tests.

    Raises
    ------
    OSError
        If nothing says how much memory there is.

    Examples
    --------
    >>> available_memory() > 0
    True
    """
    limits = []
    try:
        limits.append(_meminfo_available(Path(meminfo)))
    except (OSError, ValueError):
        pass
    else:
        limits += _cgroup_available(Path(cgroup_root), Path(proc_cgroup))
        return min(limits)
    return _other_systems()


def _meminfo_available(path: Path) -> int:
    fields = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(":")
        parts = value.split()
        if parts and parts[0].isdigit():
            scale = 1024 if parts[1:] == ["kB"] else 1
            fields[key.strip()] = int(parts[0]) * scale
    if "MemAvailable" in fields:
        return fields["MemAvailable"]
    # Kernels before 3.14 have no MemAvailable: free memory plus page cache.
    free = [fields.get(k) for k in ("MemFree", "Buffers", "Cached")]
    if free[0] is None:
        raise ValueError(f"{path} has no MemAvailable or MemFree")
    return sum(v or 0 for v in free)


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _inactive_file(path: Path, key: str) -> int:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return 0
    for line in lines:
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return 0


def _cgroup_dirs(root: Path, relative: str) -> list[Path]:
    """``root/relative`` and its ancestors up to ``root``, existing ones only."""
    parts = [p for p in relative.split("/") if p]
    dirs = [root.joinpath(*parts[:i]) for i in range(len(parts), -1, -1)]
    return [d for d in dirs if d.is_dir()]


def _cgroup_available(root: Path, proc_cgroup: Path) -> list[int]:
    """What each limited memory cgroup of this process still allows, bytes."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        _, controllers, relative = [*line.split(":", 2), "", ""][:3]
        if controllers == "":  # v2: "0::/path"
            files = ("memory.max", "memory.current", "inactive_file")
            base = root
        elif "memory" in controllers.split(","):  # v1: "4:memory:/path"
            files = (
                "memory.limit_in_bytes",
                "memory.usage_in_bytes",
                "total_inactive_file",
            )
            base = root / "memory"
        else:
            continue
        for folder in _cgroup_dirs(base, relative):
            limit = _read_int(folder / files[0])  # None for "max": no limit
            if limit is None or limit >= _UNLIMITED:
                continue
            usage = _read_int(folder / files[1]) or 0
            reclaimable = _inactive_file(folder / "memory.stat", files[2])
            found.append(max(0, limit - usage + min(reclaimable, usage)))
    return found


def _other_systems() -> int:
    try:
        import psutil  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        pass
    else:
        return int(psutil.virtual_memory().available)
    if sys.platform == "win32":
        return _windows_memory()
    for pages in ("SC_AVPHYS_PAGES", "SC_PHYS_PAGES"):
        try:
            return os.sysconf(pages) * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            continue
    raise OSError("cannot tell how much memory this system has")


def _windows_memory() -> int:  # pragma: no cover - Windows only
    import ctypes

    class MemoryStatus(ctypes.Structure):
        _fields_ = [
            ("length", ctypes.c_ulong),
            ("load", ctypes.c_ulong),
            ("total_phys", ctypes.c_ulonglong),
            ("avail_phys", ctypes.c_ulonglong),
            ("total_page", ctypes.c_ulonglong),
            ("avail_page", ctypes.c_ulonglong),
            ("total_virtual", ctypes.c_ulonglong),
            ("avail_virtual", ctypes.c_ulonglong),
            ("avail_extended", ctypes.c_ulonglong),
        ]

    status = MemoryStatus()
    status.length = ctypes.sizeof(MemoryStatus)
    if not ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
        raise OSError("GlobalMemoryStatusEx failed")
    return int(status.avail_phys)


# -- the largest size that fits -------------------------------------------------------
def _shape_for(long_edge: int, aspect: tuple[int, int]) -> tuple[int, int]:
    """(H, W) with the given long edge and aspect (h, w), as
    :func:`naah.load_image` resizes (rounding the short side, at least 1)."""
    h, w = aspect
    if h >= w:
        return long_edge, max(1, round(long_edge * w / h))
    return max(1, round(long_edge * h / w)), long_edge


def largest_size(
    available: int,
    aspect: Sequence[int] = (1, 1),
    style_scale: float = 1.0,
    *,
    style_aspect: Sequence[int] | None = None,
    step: int = 16,
    backend: str = "c",
    optimizer: str = "lbfgs",
    content_layers: Sequence[str] = DEFAULT_CONTENT_LAYERS,
    style_layers: Sequence[str] | Mapping[str, float] = DEFAULT_STYLE_LAYERS,
    threads: int | None = None,
) -> int:
    """The largest long edge, a multiple of ``step``, whose estimate fits.

    The content image gets this long edge (as ``size=`` of
    :meth:`naah.StyleTransfer.run`), the style image ``long edge * style_scale``.
    The estimate grows with the size, so a bisection over multiples of ``step``
    finds the edge ``L`` with ``estimate(L) <= available < estimate(L + step)``.
    16 pixels by default: a finer edge changes the image by less than its own
    resampling does (VGG's four poolings below conv5_1 round sides down to a
    multiple of 16 anyway).

    Parameters
    ----------
    available : int
        Bytes, e.g. :func:`available_memory` (keep a margin: the estimate is
        within ±25 %).
    aspect : (int, int)
        (h, w) of the content image, any scale (its shape will do).
    style_scale : float
        As for :meth:`naah.StyleTransfer.run`.
    style_aspect : (int, int), optional
        (h, w) of the style image; default ``aspect``.
    step : int
        The long edge is a multiple of this (1 for any).
    backend, optimizer, content_layers, style_layers, threads
        As for :func:`estimate_memory`.

    Returns
    -------
    int
        The long edge in pixels; 0 if not even ``step`` pixels fit.

    Examples
    --------
    >>> edge = largest_size(2 * 2**30)  # 2 GiB
    >>> estimate_memory((edge, edge)).total <= 2 * 2**30
    True
    >>> estimate_memory((edge + 16, edge + 16)).total > 2 * 2**30
    True
    """
    if not isinstance(step, int) or step < 1:
        raise ValueError(f"step must be a positive int, got {step!r}")
    if not style_scale > 0:
        raise ValueError(f"style_scale must be positive, got {style_scale!r}")
    content_aspect = _as_shape(aspect, "aspect")
    style_ratio = (
        content_aspect
        if style_aspect is None
        else _as_shape(style_aspect, "style_aspect")
    )

    smallest_side = minimum_side([*content_layers, *style_layers])

    def shapes(multiple: int) -> tuple[tuple[int, int], tuple[int, int]]:
        edge = multiple * step
        style_edge = max(1, round(edge * style_scale))
        return _shape_for(edge, content_aspect), _shape_for(style_edge, style_ratio)

    def computable(multiple: int) -> bool:
        return min(*shapes(multiple)[0], *shapes(multiple)[1]) >= smallest_side

    def fits(multiple: int) -> bool:
        content_shape, style_shape = shapes(multiple)
        estimate = estimate_memory(
            content_shape,
            style_shape,
            backend=backend,
            optimizer=optimizer,
            content_layers=content_layers,
            style_layers=style_layers,
            threads=threads,
        )
        return estimate.total <= available

    # Both searches are over multiples of ``step``: first the smallest whose images
    # survive the poolings, then the largest that fits (the estimate grows with
    # the size).
    low = _first_true(computable)
    if not fits(low):
        return 0
    return step * (_first_true(lambda multiple: not fits(multiple), start=low) - 1)


def _first_true(predicate: Callable[[int], bool], start: int = 1) -> int:
    """The least k >= start with ``predicate(k)``, for a predicate false up to some
    k and true from there on: doubling, then bisection."""
    if predicate(start):
        return start
    low, high = start, 2 * start
    while not predicate(high):
        low, high = high, 2 * high
    while high - low > 1:
        middle = (low + high) // 2
        if predicate(middle):
            high = middle
        else:
            low = middle
    return high
