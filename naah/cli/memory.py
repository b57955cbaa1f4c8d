"""``naah stylize --dry-run``: the memory estimate, and the time per iteration
from a short calibration (the checks themselves are :mod:`naah.plan`'s).

The calibration runs the run's own optimiser for a few seconds on the run's
problem (its images, layers, weights and optimiser), at the run's size up to
:data:`CALIBRATION_EDGE`, and times whole iterations: the loss and gradient, and
what the optimiser does between them. Timing the evaluation alone missed the
optimiser's share, which is most of an iteration with narrow weights (scipy's
L-BFGS-B costs about two evaluations of the fixture network at 256 px), and its
first evaluation, which includes first-use work. ``benchmarks/bench_dry_run.py``
compares the prediction with runs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from naah.blocks import block_count, margin, work_ratio
from naah.estimate import MemoryEstimate, available_memory, format_bytes
from naah.io.images import ImageLike, image_size, long_edge_size, preprocess
from naah.optim import OPTIMIZERS, IterationRecord
from naah.plan import largest_edge
from naah.progress import format_duration
from naah.regions import Region
from naah.settings import AUTO
from naah.style_transfer import StyleTransfer, optimize

__all__ = [
    "CALIBRATION_EDGE",
    "Calibration",
    "calibrate",
    "dry_run",
]

# Long edge of the calibration: the run's own up to this, larger runs scaled by
# their area. Below, the time per pixel is not constant (each evaluation's fixed
# costs; L-BFGS-B's state, 200 bytes a value, partly in the processor's caches),
# so the calibration times the run's own size while that takes seconds.
CALIBRATION_EDGE = 512
# Iterations not timed: the first evaluation (first-use compilation) and the first
# iteration (the optimiser's imports and allocations).
UNTIMED_ITERATIONS = 1
# The timed part lasts CALIBRATION_SECONDS and MIN_TIMED_ITERATIONS at least, and
# FULL_ITERATIONS unless that takes over MAX_SECONDS: from then on L-BFGS-B holds
# its m = 10 pairs and an iteration costs what a long run's do (its first ones are
# cheaper). Never more than MAX_ITERATIONS (a quick problem converges first).
CALIBRATION_SECONDS = 2.0
MIN_TIMED_ITERATIONS = 3
FULL_ITERATIONS = 12
MAX_SECONDS = 10.0
MAX_ITERATIONS = 200
# A tiled evaluation's work over a whole one's, beside the margins' area: pass 1
# adds a forward pass to pass 2's forward and backward (about 3 forwards' work).
TILED_PASSES = 4 / 3


@dataclass(frozen=True)
class Calibration:
    """Iterations of a run's optimiser, timed at ``shape`` (H, W) after the untimed
    first ones: ``seconds`` over ``evaluations`` loss-and-gradient evaluations in
    ``iterations`` iterations; ``startup`` is the seconds from preparing the
    problem to the end of its first evaluation (loading, compiling)."""

    shape: tuple[int, int]
    seconds: float
    evaluations: int
    iterations: int
    startup: float

    @property
    def per_evaluation(self) -> float:
        """Seconds per evaluation, the optimiser's work between them included."""
        return self.seconds / max(self.evaluations, 1)


def calibrate(
    transfer: StyleTransfer,
    content: ImageLike,
    style: Any,
    regions: Sequence[Region] | None,
    edge: int,
) -> Calibration:
    """Time the run's optimiser on its problem at long edge ``edge``, evaluated
    whole; see the module's docstring."""
    images = transfer.config.images
    start = time.perf_counter()
    problem = transfer.prepare(
        content,
        style,
        size=edge,
        regions=regions,
        style_scale=images.style_scale,
        style_blend=images.style_blend,
        guide_mode=images.guide_mode,
        tile_size=AUTO,
        max_memory=None,
    )
    initial = preprocess(transfer.initial_image("noise", problem), problem.mean_pixel)
    marks: list[tuple[float, int]] = []  # (clock, evaluations) at each iterate

    def enough(record: IterationRecord) -> bool:
        marks.append((time.perf_counter(), record.evaluations))
        timed = marks[UNTIMED_ITERATIONS:]
        if not timed:
            return False
        iterations, seconds = len(timed) - 1, timed[-1][0] - timed[0][0]
        return (
            iterations >= MIN_TIMED_ITERATIONS
            and seconds >= CALIBRATION_SECONDS
            and (iterations >= FULL_ITERATIONS or seconds >= MAX_SECONDS)
        )

    optimize(problem, initial, MAX_ITERATIONS, transfer.config.optimizer, stop=enough)
    startup = marks[0][0] - start
    timed = marks[UNTIMED_ITERATIONS:] if len(marks) > UNTIMED_ITERATIONS + 1 else marks
    if len(timed) < 2:  # the optimiser stopped at the start: time one evaluation
        before = time.perf_counter()
        problem.evaluate(initial)
        timed = [(before, 0), (time.perf_counter(), 1)]
    (first, evaluated), (last, evaluations) = timed[0], timed[-1]
    height, width = problem.shape[:2]
    return Calibration(
        shape=(height, width),
        seconds=last - first,
        evaluations=evaluations - evaluated,
        iterations=len(timed) - 1,
        startup=startup,
    )


def dry_run(
    transfer: StyleTransfer,
    estimate: MemoryEstimate | None,
    content: ImageLike,
    style: Any,
    regions: Sequence[Region] | None,
) -> int:
    """--dry-run: the estimate, and the time per iteration from a calibration."""
    settings = transfer.config
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
    measured = calibrate(transfer, content, style, regions, min(size, CALIBRATION_EDGE))
    height, width = measured.shape
    shape = long_edge_size(measured.shape, size)
    work = 1.0
    if estimate is not None and estimate.tile_size is not None:
        layers = [*settings.loss.content_layers, *settings.loss.style_layers]
        blocks = block_count(shape, estimate.tile_size, layers)
        work = work_ratio(shape, estimate.tile_size, layers) * TILED_PASSES
        print(
            f"tiles: {blocks} blocks of {estimate.tile_size} px (with margins of "
            f"{margin(layers)} px), about {work:.2f} times the work of the whole "
            "image (naah.tiled)"
        )
    evaluations = OPTIMIZERS[settings.optimizer.method].evaluations_per_iteration

    def per_evaluation(edge: int) -> float:
        """At long edge ``edge``, scaled by the area (and the blocks' work at the
        largest)."""
        scaled = long_edge_size(measured.shape, edge)
        ratio = scaled[0] * scaled[1] / (height * width)
        return measured.per_evaluation * ratio * (work if edge == size else 1.0)

    schedule = settings.schedule
    edges = schedule.scales or (size,)
    seconds = sum(
        count * per_evaluation(edge) * evaluations
        for edge, count in zip(edges, schedule.per_scale, strict=True)
    )
    where = (
        f"measured over {measured.evaluations} evaluations"
        if shape == measured.shape
        else f"scaled by the area from {measured.per_evaluation:.3g} s measured at "
        f"{width}x{height} over {measured.evaluations} evaluations"
    )
    scales = f" over {len(edges)} scales" if schedule.scales else ""
    print(
        f"time: about {per_evaluation(size) * evaluations:.2g} s per iteration at "
        f"{shape[1]}x{shape[0]} ({per_evaluation(size):.3g} s per evaluation, the "
        f"optimiser's work included; {where}), about {format_duration(seconds)} for "
        f"{schedule.total} iterations{scales} after loading and compiling "
        f"({format_duration(measured.startup)} here)"
    )
    return 0
