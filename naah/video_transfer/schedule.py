"""The order of a video run: which frame each step stylises, in which pass and
direction, and which frames its temporal loss compares with.

Ruder et al.'s multi-pass algorithm (section 3.5) goes over the clip
alternately forward and backward; in a backward pass a frame's "previous" frame
is the one after it. Everything here is pure, so the order is easy to check.
"""

from __future__ import annotations

from dataclasses import dataclass

from naah.video_transfer.settings import VideoSettings

__all__ = ["Step", "flow_pairs", "steps"]


@dataclass(frozen=True)
class Step:
    """One frame of one pass.

    Attributes
    ----------
    pass_ : int
        The pass, from 1.
    frame : int
        The frame's index in the clip, from 0.
    position : int
        Its place in this pass's order, from 0 (0: the pass's first frame).
    direction : int
        +1 forward, -1 backward.
    earlier : tuple of int
        The frames its temporal loss compares with, closest first: ``frame -
        direction * j`` for each long-term offset j inside the clip (empty when
        the pass has no temporal loss).
    """

    pass_: int
    frame: int
    position: int
    direction: int
    earlier: tuple[int, ...]

    @property
    def previous(self) -> int | None:
        """The frame before it in this pass's order (None for the first)."""
        return None if self.position == 0 else self.frame - self.direction

    @property
    def key(self) -> str:
        """``"pass/frame"``, 1-based, as the manifest names it."""
        return f"{self.pass_}/{self.frame + 1}"


def steps(count: int, settings: VideoSettings) -> list[Step]:
    """Every step of a run over ``count`` frames, in order.

    Examples
    --------
    >>> [(s.pass_, s.frame, s.earlier) for s in steps(3, VideoSettings(passes=2))]
    [(1, 0, ()), (1, 1, (0,)), (1, 2, (1,)), (2, 2, ()), (2, 1, (2,)), (2, 0, (1,))]
    """
    temporal = set(settings.temporal_passes)
    order: list[Step] = []
    for pass_ in range(1, settings.passes + 1):
        direction = 1 if pass_ % 2 else -1
        frames = range(count) if direction == 1 else range(count - 1, -1, -1)
        for position, frame in enumerate(frames):
            earlier = tuple(
                frame - direction * j
                for j in settings.long_term
                if pass_ in temporal and j <= position
            )
            order.append(Step(pass_, frame, position, direction, earlier))
    return order


def flow_pairs(count: int, settings: VideoSettings) -> list[tuple[int, int]]:
    """The flows a run needs, as (from, to) frame pairs: both directions between
    each frame and those its temporal loss, its start and the warping error read.

    Examples
    --------
    >>> flow_pairs(3, VideoSettings())
    [(0, 1), (1, 0), (1, 2), (2, 1)]
    """
    pairs: set[tuple[int, int]] = set()
    for step in steps(count, settings):
        for other in (*step.earlier, step.previous):
            if other is not None:
                pairs.update({(other, step.frame), (step.frame, other)})
    pairs.update(p for a in range(1, count) for p in ((a - 1, a), (a, a - 1)))
    return sorted(pairs)
