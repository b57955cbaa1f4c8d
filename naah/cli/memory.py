"""Memory for ``naah stylize``: ``--size auto``, the check before a run, and
``--dry-run`` (from :mod:`naah.estimate`)."""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from naah.cli.common import PROG, CommandError, UsageError
from naah.cli.images import _style_edge
from naah.io.images import long_edge_size
from naah.progress import printer
from naah.regions import Region
from naah.style_transfer import StyleTransfer

# The estimate is within about ±10 % of the measured peak (docs/performance.md):
# plan with this share of the memory available.
MEMORY_MARGIN = 0.9
# Long edge of the --dry-run calibration (larger sizes are scaled by their area).
CALIBRATION_EDGE = 256


def _estimate_options(
    args: argparse.Namespace, transfer: StyleTransfer
) -> dict[str, Any]:
    w = transfer.loss_weights
    return {
        "backend": args.backend,
        "optimizer": args.optimizer,
        "content_layers": w.content_layers,
        "style_layers": w.style_layers,
    }


def _auto_size(
    args: argparse.Namespace,
    transfer: StyleTransfer,
    content: np.ndarray,
    styles: list[np.ndarray],
) -> int:
    """--size auto: the largest long edge that fits, capped by the content's own."""
    from naah.estimate import available_memory, largest_size

    if args.scales is not None:
        raise UsageError("--size auto and --scales: give the scales themselves")
    available = int(available_memory() * MEMORY_MARGIN)
    edge = largest_size(
        available, content.shape[:2], args.style_scales[0],
        style_aspect=styles[0].shape[:2], **_estimate_options(args, transfer),
    )  # fmt: skip
    own = max(content.shape[:2])
    if edge <= 0:
        raise CommandError(
            "--size auto: not even the smallest image fits in the memory available"
        )
    size = min(edge, own)
    printer(args.quiet)(
        f"{PROG}: --size auto: {size} px ("
        + ("the content image's own size" if size == own else "the largest that fits")
        + ")"
    )
    return size


def _memory_check(
    args: argparse.Namespace,
    transfer: StyleTransfer,
    content: np.ndarray,
    styles: list[np.ndarray],
) -> Any:
    """The run's memory estimate; refuse a run that would not fit (unless --force)."""
    from naah.estimate import (
        available_memory,
        estimate_memory,
        format_bytes,
        largest_size,
    )

    size = args.scales[-1] if args.scales is not None else args.size
    shape = long_edge_size(content.shape[:2], size)
    style_shape = long_edge_size(
        styles[0].shape[:2], _style_edge(size, args.style_scales[0])
    )
    options = _estimate_options(args, transfer)
    try:
        estimate = estimate_memory(shape, style_shape, **options)
    except ValueError:  # too small for the deepest layer: _sized_images says so
        return None
    available = available_memory()
    if estimate.total > available * MEMORY_MARGIN and not args.force:
        fits = largest_size(
            int(available * MEMORY_MARGIN), shape, args.style_scales[0],
            style_aspect=style_shape, **options,
        )  # fmt: skip
        raise CommandError(
            f"a {shape[1]}x{shape[0]} run needs about {estimate}, but "
            f"{format_bytes(available)} is available; the largest "
            f"--size that fits is {fits} (or --size auto); --force runs it anyway"
        )
    return estimate


def _dry_run(
    args: argparse.Namespace,
    transfer: StyleTransfer,
    estimate: Any,
    content: np.ndarray,
    style: Any,
    regions: list[Region] | None,
) -> int:
    """--dry-run: the estimate, and seconds per iteration from a short calibration."""
    from naah.estimate import available_memory, format_bytes
    from naah.io.images import preprocess

    print(f"memory: about {estimate} of {format_bytes(available_memory())} available")
    size = args.scales[-1] if args.scales is not None else args.size
    edge = min(size, CALIBRATION_EDGE)
    problem = transfer.prepare(content, style, size=edge, style_scale=args.style_scale,
                               style_blend=args.style_blend, regions=regions,
                               guide_mode=args.guide_mode)  # fmt: skip
    image = preprocess(transfer.initial_image("noise", problem), problem.mean_pixel)
    problem.evaluate(image)  # the first evaluation includes first-use compilation
    start = time.perf_counter()
    problem.evaluate(image)
    seconds = time.perf_counter() - start
    height, width = problem.shape[:2]
    shape = long_edge_size(problem.shape[:2], size)
    scaled = seconds * (shape[0] * shape[1]) / (height * width)
    per_iteration = 1.2 if args.optimizer == "lbfgs" else 1.0  # evaluations
    total = args.total * scaled * per_iteration
    print(
        f"time: about {scaled * per_iteration:.2f} s per iteration at {shape[1]}x"
        f"{shape[0]} ({seconds:.3f} s per evaluation measured at {width}x{height}, "
        f"scaled by the area), about {total / 60:.1f} min for {args.total} iterations"
    )
    return 0
