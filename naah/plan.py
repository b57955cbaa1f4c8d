"""What a run needs before it starts: the sizes of its images, whether they are
large enough for the deepest layer used, and whether the run fits in memory.

These checks need the images' shapes only, so ``naah stylize`` makes them before
it loads the weights or compiles anything; :class:`naah.StyleTransfer` resolves
``size="auto"`` with :func:`auto_size`. The memory estimate is
:mod:`naah.estimate`'s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from naah import estimate
from naah.architecture import FEATURE_LAYERS
from naah.checks import SettingError, Spelled
from naah.estimate import (
    MemoryEstimate,
    estimate_memory,
    format_bytes,
    largest_size,
    minimum_side,
)
from naah.io.images import image_size, long_edge_size
from naah.optim.float_lbfgs import MIN_HISTORY, lbfgs_history_for
from naah.request import RunRequest, style_edge
from naah.settings import AUTO, TILE_STRIDE, Settings

__all__ = [
    "MEMORY_MARGIN",
    "NotEnoughMemory",
    "Tiling",
    "auto_size",
    "blocks_for_workers",
    "check_memory",
    "check_sizes",
    "deepest",
    "first_edge",
    "least_long_edge",
    "least_style_scale",
    "memory_budget",
    "sized",
    "tiling",
]

# The estimate is within about ±10 % of the measured peak (docs/performance.md):
# plan with this share of the memory available.
MEMORY_MARGIN = 0.9

Shape = Sequence[int]


class NotEnoughMemory(Spelled, MemoryError):
    """A run that would not fit in the memory available; the message says what
    would."""


def _options(settings: Settings) -> dict[str, object]:
    loss = settings.loss
    return {
        "backend": settings.compute.backend,
        "optimizer": settings.optimizer.method,
        "content_layers": loss.content_layers,
        "style_layers": loss.style_layers,
    }


def _first_scale(settings: Settings) -> float:
    scale = settings.images.style_scale
    return scale[0] if isinstance(scale, tuple) else scale


def auto_size(
    settings: Settings,
    content: Shape,
    style: Shape,
    available: int | None = None,
) -> int:
    """``size="auto"``: the largest long edge whose run fits in memory (with
    :data:`MEMORY_MARGIN`), at most the content image's own.

    Parameters
    ----------
    settings : Settings
    content, style : (int, int)
        The shapes of the content and the first style image, as given.
    available : int, optional
        Bytes; default :func:`naah.estimate.available_memory`.

    Raises
    ------
    SettingError
        With coarse-to-fine scales (they give the sizes themselves).
    NotEnoughMemory
        If not even the smallest image fits.
    """
    if settings.schedule.scales is not None:
        raise SettingError(
            "{size} auto and {scales}: give the scales themselves", "size", "scales"
        )
    budget = int(
        (estimate.available_memory() if available is None else available)
        * MEMORY_MARGIN
    )
    edge = largest_size(
        budget,
        tuple(content[:2]),
        _first_scale(settings),
        style_aspect=tuple(style[:2]),
        **_options(settings),  # type: ignore[arg-type]
    )
    if edge <= 0:
        raise NotEnoughMemory(
            "size auto: not even the smallest image fits in the memory available"
        )
    return min(edge, max(content[:2]))


def sized(request: RunRequest, available: int | None = None) -> RunRequest:
    """``request`` with ``size="auto"`` replaced by :func:`auto_size`'s long edge
    (the images' sizes read from their headers, no pixel decoded); any other
    request as it is."""
    settings = request.settings
    if settings.images.size != AUTO:
        return request
    content, style = (
        image_size(image) for image in (request.content, request.styles.images[0])
    )
    size = auto_size(settings, content, style, available)
    return replace(request, settings=Settings.of({"size": size}, settings))


def first_edge(settings: Settings) -> int | None:
    """The long edge the run starts at: its first scale's, or its size (None:
    the content's own, or auto)."""
    scales = settings.schedule.scales
    size = settings.images.size
    return scales[0] if scales else size if isinstance(size, int) else None


def largest_edge(settings: Settings) -> int | None:
    """The long edge the run reaches: its last scale's, or its size."""
    scales = settings.schedule.scales
    size = settings.images.size
    return scales[-1] if scales else size if isinstance(size, int) else None


def memory_budget(settings: Settings, available: int | None = None) -> int:
    """The bytes a run may use: ``max_memory``, or :data:`MEMORY_MARGIN` of the
    memory available (``available``, default :func:`naah.estimate.available_memory`)."""
    given = settings.compute.max_memory
    if given is not None:
        return given
    free = estimate.available_memory() if available is None else available
    return int(free * MEMORY_MARGIN)


@dataclass(frozen=True)
class Tiling:
    """How a run at one size is evaluated: ``tile_size`` None for whole, and the
    memory estimate of that choice."""

    tile_size: int | None
    estimate: MemoryEstimate
    budget: int

    @property
    def optimizer_budget(self) -> int:
        """The bytes left for the optimiser's state within the budget: L-BFGS
        keeps scipy's float64 state when it fits, else a float32 one with the
        history that fits (:func:`naah.optim.lbfgs.lbfgs_implementation`)."""
        rest = self.estimate.total - self.estimate.breakdown["optimizer"]
        return max(0, self.budget - rest)


def tiling(
    settings: Settings,
    shape: Shape,
    style_shape: Shape,
    *,
    available: int | None = None,
) -> Tiling:
    """Whether, and in which blocks, a run with images of ``shape`` and
    ``style_shape`` (H, W) is evaluated (:mod:`naah.tiled`).

    ``tile_size`` N tiles with blocks of N px. ``"auto"`` evaluates the image
    whole when its estimate fits the budget (:func:`memory_budget`), else in the
    largest blocks whose estimate fits, the optimiser's state included; when none
    does, the largest blocks whose evaluation fits (what
    :meth:`naah.StyleTransfer.prepare` needs; :func:`check_memory` refuses such a
    run).
    """
    options = _options(settings)
    size, style_size = tuple(shape[:2]), tuple(style_shape[:2])
    budget = memory_budget(settings, available)

    def needed(tile: int | None) -> MemoryEstimate:
        return _within(budget, size, style_size, tile, options)

    tile = settings.compute.tile_size
    if isinstance(tile, int):
        return Tiling(tile, needed(tile), budget)
    whole = needed(None)
    if whole.total <= budget:
        return Tiling(None, whole, budget)
    candidates = _tile_candidates(max(size), TILE_STRIDE)
    fitting = [t for t in candidates if needed(t).total <= budget]
    if not fitting:  # no run fits: blocks for an evaluation, as prepare() makes
        fitting = [t for t in candidates if _without_optimizer(needed(t)) <= budget]
    best = fitting[0] if fitting else TILE_STRIDE
    return Tiling(best, needed(best), budget)


def _without_optimizer(needed: MemoryEstimate) -> int:
    return needed.total - needed.breakdown["optimizer"]


def _within(
    budget: int,
    size: tuple[int, ...],
    style_size: tuple[int, ...],
    tile: int | None,
    options: dict[str, object],
) -> MemoryEstimate:
    """The estimate of a run evaluated whole (``tile`` None) or in blocks, with
    the L-BFGS state it would keep in ``budget``: scipy's when the run fits with
    it, else naah's float32 one with the longest history that fits."""
    whole = estimate_memory(size, style_size, tile_size=tile, **options)  # type: ignore[arg-type]
    if whole.total <= budget or options["optimizer"] != "lbfgs":
        return whole
    rest = whole.total - whole.breakdown["optimizer"]
    try:
        history = lbfgs_history_for(budget - rest, 3 * size[0] * size[1])
    except ValueError:
        history = MIN_HISTORY  # does not fit either way; the smallest state
    return estimate_memory(
        size,
        style_size,
        tile_size=tile,
        lbfgs_history=history,
        **options,  # type: ignore[arg-type]
    )


def blocks_for_workers(shape: Shape) -> int:
    """A tile size for a run on a cluster whose image would fit whole: about
    four blocks, so that the workers share each evaluation."""
    half = max(shape[:2]) // 2
    return max(TILE_STRIDE, half // TILE_STRIDE * TILE_STRIDE)


def _tile_candidates(long_edge: int, step: int) -> list[int]:
    """Tile sizes to try, largest first: multiples of ``step`` from the long edge
    down in steps of a quarter, and every multiple of ``step`` up to 256 (where a
    little more tile saves much margin)."""
    sizes = {t for t in range(step, min(long_edge, 256) + 1, step)}
    t = long_edge
    while t > step:
        sizes.add(max(step, t // step * step))
        t = t * 3 // 4
    return sorted(sizes, reverse=True)


def check_memory(
    settings: Settings,
    content: Shape,
    style: Shape,
    *,
    available: int | None = None,
    force: bool = False,
) -> MemoryEstimate | None:
    """The run's memory estimate at its largest size, tiled as :func:`tiling`
    says; unless ``force``, refuse a run that would not fit (None: too small to
    estimate, which :func:`check_sizes` says)."""
    edge = largest_edge(settings)
    shape = tuple(content[:2]) if edge is None else long_edge_size(content, edge)
    style_shape = (
        tuple(style[:2])
        if edge is None
        else long_edge_size(style, _style_edge(edge, _first_scale(settings)))
    )
    try:
        plan = tiling(settings, shape, style_shape, available=available)
    except ValueError:
        return None
    needed = plan.estimate
    if needed.total > plan.budget and not force:
        if settings.compute.max_memory is not None:
            raise NotEnoughMemory(
                "a {width}x{height} run needs about {estimate} even in the smallest "
                "blocks, more than {max_memory} {budget}; give a larger "
                "{max_memory} or a smaller {size}",
                "max_memory",
                "size",
                width=shape[1],
                height=shape[0],
                estimate=needed,
                budget=format_bytes(plan.budget),
            )
        free = estimate.available_memory() if available is None else available
        fits = largest_size(
            int(free * MEMORY_MARGIN),
            shape,
            _first_scale(settings),
            style_aspect=style_shape,
            **_options(settings),  # type: ignore[arg-type]
        )
        raise NotEnoughMemory(
            "a {width}x{height} run needs about {estimate}, but {free} is available; "
            "the largest {size} that fits is {fits} (or {size} auto); {force} runs it "
            "anyway",
            "size",
            "force",
            width=shape[1],
            height=shape[0],
            estimate=needed,
            free=format_bytes(free),
            fits=fits,
        )
    return needed


def check_sizes(
    settings: Settings,
    content: Shape,
    styles: Sequence[Shape],
    *,
    content_name: str = "the content image",
    names: Sequence[str] = (),
) -> None:
    """Refuse a content image, or a style image at its scale, too small for the
    deepest layer used, naming the size or style scale that would do.

    ``names`` are the style images' names for the message (default ``style image
    1`` …). The smallest scale of a coarse-to-fine run is the one checked.
    """
    layers = [*settings.loss.content_layers, *settings.loss.style_layers]
    if not layers:
        return
    need = minimum_side(layers)
    size = first_edge(settings)
    if size is None:  # the content's own size, or auto: fits by then
        return
    needs = (
        f"smaller than the {need}x{need} that {deepest(layers)} (deepest layer used) "
        "needs"
    )
    resized = long_edge_size(content, size)
    if min(resized) < need:
        raise SettingError(
            "{name} is {shape} at {size} {edge}, {needs}; give {size} {least} or more",
            "size",
            name=content_name,
            shape=_shape(resized),
            edge=size,
            needs=needs,
            least=least_long_edge(content, need),
        )
    scales = settings.images.style_scale
    per_style = scales if isinstance(scales, tuple) else (scales,) * len(styles)
    for k, (style, scale) in enumerate(zip(styles, per_style, strict=True)):
        edge = _style_edge(size, scale)
        resized_style = long_edge_size(style, edge)
        if min(resized_style) < need:
            name = names[k] if k < len(names) else f"style image {k + 1}"
            raise SettingError(
                "{name} is {shape} at {style_scale} {scale:g} (long edge {edge}), "
                "{needs}; give {style_scale} {least} or more",
                "style_scale",
                name=name,
                shape=_shape(resized_style),
                scale=scale,
                edge=edge,
                needs=needs,
                least=least_style_scale(style, need, size),
            )


def deepest(layers: Sequence[str]) -> str:
    """The deepest of VGG-19's feature ``layers``.

    Examples
    --------
    >>> deepest(["conv5_1", "conv1_1", "conv4_2"])
    'conv5_1'
    """
    return max(layers, key=FEATURE_LAYERS.index)


def _style_edge(size: int, style_scale: float) -> int:
    try:
        return style_edge(size, style_scale)
    except OverflowError:
        raise SettingError(
            "{style_scale} {scale:g} is too large for {size} {edge}",
            "style_scale",
            "size",
            scale=style_scale,
            edge=size,
        ) from None


def least_long_edge(shape: Shape, need: int) -> int:
    """The smallest long edge at which an image of ``shape`` (H, W) has both sides
    of ``need`` pixels or more, each side rounded as naah.io.images resizes:
    ``round(side * edge / long_side)``.

    Examples
    --------
    >>> least_long_edge((30, 40), 16)
    21
    """
    long, short = max(shape[:2]), min(shape[:2])
    edge = max(need, math.floor((need - 0.5) * long / short) - 1)  # just below
    while round(short * (edge / long)) < need:
        edge += 1
    return edge


def least_style_scale(shape: Shape, need: int, size: int) -> str:
    """The smallest style scale, in few digits, that gives an image of ``shape``
    both sides of ``need`` pixels or more at a content ``size``.

    Examples
    --------
    >>> least_style_scale((30, 30), 16, 32)
    '0.5'
    """
    edge = least_long_edge(shape, need)
    for digits in range(2, 18):
        scale = float(f"{edge / size:.{digits}g}")
        if _style_edge(size, scale) >= edge:
            return f"{scale:g}" if digits <= 6 else repr(scale)
    return repr(edge / size)


def _shape(shape: Shape) -> str:
    height, width = shape[:2]
    return f"{width}x{height} pixels (width x height)"
