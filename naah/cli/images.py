"""The input images of ``naah stylize``: styles, regions, and sizes large enough for
the deepest layer used (checked before anything is loaded)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from naah.architecture import (
    CONVS_PER_BLOCK,
    FEATURE_LAYERS,
    MATCONVNET_LAYERS,
    POOLING_FACTOR,
)
from naah.cli.common import UsageError
from naah.io.images import ImageError, load_image, resize_to_long_edge
from naah.problem import blend_weights
from naah.regions import Region
from naah.style_transfer import StyleTransfer, style_edge

# VGG-19's poolings are 2x2 windows of stride 2 in MatConvNet's floor mode
# (naah.architecture): each halves a side, rounding down, so a layer that follows k
# of them needs an input side of at least POOL_STRIDE ** k (pool5: POOLING_FACTOR).
POOL_STRIDE = round(POOLING_FACTOR ** (1 / len(CONVS_PER_BLOCK)))


def _read_image(path: str, what: str) -> np.ndarray:
    """Load an input image now, so that a bad one stops the command before work."""
    try:
        return load_image(path)
    except (OSError, ImageError) as error:
        raise UsageError(f"cannot read {what} {path!r}: {error}") from None


# -- image sizes -----------------------------------------------------------------------
def _min_image_side(layers: Iterable[str]) -> tuple[str, int]:
    """The deepest of VGG-19's feature ``layers`` and the smallest image side that
    reaches it: each of the poolings up to it (itself included) halves a side,
    rounding down.

    Examples
    --------
    >>> _min_image_side(["conv1_1", "conv4_2", "conv5_1"])
    ('conv5_1', 16)
    >>> _min_image_side(["pool5"])
    ('pool5', 32)
    """
    deepest = max(layers, key=FEATURE_LAYERS.index)
    pools = 0
    for layer in MATCONVNET_LAYERS:
        pools += layer.type == "pool"
        if layer.name == deepest:
            break
    return deepest, POOL_STRIDE**pools


def _sized_images(
    content: np.ndarray,
    styles: list[np.ndarray],
    args: argparse.Namespace,
    transfer: StyleTransfer,
) -> np.ndarray:
    """The content image resized as StyleTransfer.run resizes it, once it and every
    style image at its scale are known to be large enough for the deepest layer
    used."""
    weights = transfer.loss_weights
    deepest, need = _min_image_side([*weights.content_layers, *weights.style_layers])
    needs = f"smaller than the {need}x{need} that {deepest} (deepest layer used) needs"
    resized = resize_to_long_edge(content, args.size)
    if min(resized.shape[:2]) < need:
        raise UsageError(
            f"content image {args.content!r} is {_shape(resized)} at --size "
            f"{args.size}, {needs}; give --size "
            f"{_least_long_edge(content.shape[:2], need)} or more"
        )
    for (what, path), style, scale in zip(
        _style_files(args), styles, args.style_scales, strict=True
    ):
        style_edge = _style_edge(args.size, scale)
        resized_style = resize_to_long_edge(style, style_edge)
        if min(resized_style.shape[:2]) < need:
            least = _least_style_scale(style.shape[:2], need, args.size)
            raise UsageError(
                f"{what} {path!r} is {_shape(resized_style)} at --style-scale "
                f"{scale:g} (long edge {style_edge}), {needs}; "
                f"give --style-scale {least} or more"
            )
    return resized


def _style_plan(args: argparse.Namespace) -> None:
    """Check STYLE, --style-blend, --style-scale and --region against each other;
    ``args.style_scale`` becomes what StyleTransfer.run takes."""
    styles, regions = args.styles, args.region or []
    if styles and regions:
        raise UsageError("give STYLE images or --region options, not both")
    if not styles and not regions:
        raise UsageError("give a STYLE image (several to blend) or --region MASK=STYLE")
    count = len(styles) or len(regions)
    if len(args.style_scale) not in (1, count):
        raise UsageError(
            f"--style-scale has {len(args.style_scale)} values for {count} style "
            "images; give one for all, or one per style"
        )
    scales = tuple(args.style_scale)
    args.style_scales = scales * count if len(scales) == 1 else scales
    args.style_scale = scales[0] if len(scales) == 1 else scales
    if args.style_blend is not None:
        if regions:
            raise UsageError("--style-blend is for several STYLE images, not --region")
        try:
            blend_weights(args.style_blend, len(styles), name="--style-blend")
        except ValueError as error:
            raise UsageError(str(error)) from None


def _style_files(args: argparse.Namespace) -> list[tuple[str, str]]:
    """(what, path) of each style image: the STYLE arguments or the regions'."""
    if args.region:
        return [(f"--region {mask}'s style image", style)
                for mask, style, _ in args.region]  # fmt: skip
    if len(args.styles) == 1:
        return [("style image", args.styles[0])]
    return [(f"style image {k + 1}", path) for k, path in enumerate(args.styles)]


def _style_inputs(args: argparse.Namespace) -> dict[str, str]:
    """Every style-side input file, for the never-write-over-an-input check."""
    inputs = dict(_style_files(args))
    for mask, _, style_mask in args.region or []:
        inputs[f"--region mask {mask}"] = mask
        if style_mask is not None:
            inputs[f"--region style mask {style_mask}"] = style_mask
    return inputs


def _regions(args: argparse.Namespace, shape: tuple[int, ...]) -> list[Region] | None:
    """The --region options as Regions, their masks checked against the content's
    shape now (a missing, unreadable or empty mask stops the command here)."""
    if not args.region:
        return None
    regions = []
    for mask, style, style_mask in args.region:
        region = Region(mask, style, style_mask, name=Path(mask).stem)
        try:
            region.resolved((shape[0], shape[1]))
        except (OSError, ValueError) as error:
            raise UsageError(f"--region {mask}={style}: {error}") from None
        regions.append(region)
    return regions


def _style_edge(size: int, style_scale: float) -> int:
    """The style image's long edge, as StyleTransfer.run computes it."""
    try:
        return style_edge(size, style_scale)
    except OverflowError:
        raise UsageError(
            f"--style-scale {style_scale:g} is too large for --size {size}"
        ) from None


def _least_long_edge(shape: tuple[int, ...], need: int) -> int:
    """The smallest long edge at which an image of ``shape`` (H, W) has both sides
    of ``need`` pixels or more, each side rounded as naah.io.images resizes:
    ``round(side * edge / long_side)``."""
    long, short = max(shape[:2]), min(shape[:2])
    edge = max(need, math.floor((need - 0.5) * long / short) - 1)  # just below
    while round(short * (edge / long)) < need:
        edge += 1
    return edge


def _least_style_scale(shape: tuple[int, ...], need: int, size: int) -> str:
    """The smallest --style-scale, in few digits, that gives an image of ``shape``
    both sides of ``need`` pixels or more at ``--size size``."""
    edge = _least_long_edge(shape, need)
    for digits in range(2, 18):
        scale = float(f"{edge / size:.{digits}g}")
        if _style_edge(size, scale) >= edge:
            return f"{scale:g}" if digits <= 6 else repr(scale)
    return repr(edge / size)


def _shape(image: np.ndarray) -> str:
    height, width = image.shape[:2]
    return f"{width}x{height} pixels (width x height)"
