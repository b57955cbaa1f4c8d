"""``naah stylize --dry-run``: the memory estimate, and the seconds per iteration
from a short calibration (the checks themselves are :mod:`naah.plan`'s)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from naah.blocks import block_count, margin, work_ratio
from naah.estimate import MemoryEstimate, available_memory, format_bytes
from naah.io.images import ImageLike, image_size, long_edge_size, preprocess
from naah.optim import OPTIMIZERS
from naah.plan import largest_edge
from naah.regions import Region
from naah.style_transfer import StyleTransfer

__all__ = ["CALIBRATION_EDGE", "dry_run"]

# Long edge of the --dry-run calibration (larger sizes are scaled by their area).
CALIBRATION_EDGE = 256
# A tiled evaluation's work over a whole one's, beside the margins' area: pass 1
# adds a forward pass to pass 2's forward and backward (about 3 forwards' work).
TILED_PASSES = 4 / 3


def dry_run(
    transfer: StyleTransfer,
    estimate: MemoryEstimate | None,
    content: ImageLike,
    style: Any,
    regions: Sequence[Region] | None,
) -> int:
    """--dry-run: the estimate, and seconds per iteration from a short calibration."""
    settings = transfer.config
    images = settings.images
    budget = settings.compute.max_memory
    print(
        f"memory: about {estimate} of "
        + (
            f"{format_bytes(available_memory())} available"
            if budget is None
            else f"the --max-memory {format_bytes(budget)}"
        )
    )
    size = largest_edge(settings) or max(image_size(content))
    problem = transfer.prepare(
        content,
        style,
        size=min(size, CALIBRATION_EDGE),
        regions=regions,
        style_scale=images.style_scale,
        style_blend=images.style_blend,
        guide_mode=images.guide_mode,
    )
    image = preprocess(transfer.initial_image("noise", problem), problem.mean_pixel)
    problem.evaluate(image)  # the first evaluation includes first-use compilation
    start = time.perf_counter()
    problem.evaluate(image)
    seconds = time.perf_counter() - start
    height, width = problem.shape[:2]
    shape = long_edge_size(problem.shape[:2], size)
    scaled = seconds * (shape[0] * shape[1]) / (height * width)
    if estimate is not None and estimate.tile_size is not None:
        layers = [*settings.loss.content_layers, *settings.loss.style_layers]
        blocks = block_count(shape, estimate.tile_size, layers)
        work = work_ratio(shape, estimate.tile_size, layers) * TILED_PASSES
        print(
            f"tiles: {blocks} blocks of {estimate.tile_size} px (with margins of "
            f"{margin(layers)} px), about {work:.2f} times the work of the whole "
            "image (naah.tiled)"
        )
        scaled *= work
    per_iteration = OPTIMIZERS[settings.optimizer.method].evaluations_per_iteration
    total = settings.schedule.total
    print(
        f"time: about {scaled * per_iteration:.2f} s per iteration at {shape[1]}x"
        f"{shape[0]} ({seconds:.3f} s per evaluation measured at {width}x{height}, "
        f"scaled by the area), about {total * scaled * per_iteration / 60:.1f} min "
        f"for {total} iterations"
    )
    return 0
