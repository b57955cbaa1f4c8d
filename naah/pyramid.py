"""Coarse-to-fine bookkeeping (Gatys et al. 2017, section 6): scales, their
iterations, and the records of each scale turned into the whole run's."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from naah.checkpointing import history_rows
from naah.optim import History, IterationRecord


@dataclass(frozen=True)
class Pyramid:
    """The scales of a coarse-to-fine run and the iterations of each."""

    scales: tuple[int, ...]
    iterations: tuple[int, ...]

    def offset(self, k: int) -> int:
        """The iteration number at which scale ``k`` starts."""
        return sum(self.iterations[:k])

    def meta(self, k: int, earlier: History) -> dict[str, Any]:
        """The checkpoint's record of where in the pyramid a run is."""
        return {
            "scales": list(self.scales),
            "scale_iterations": list(self.iterations),
            "scale_index": k,
            "earlier_history": history_rows(earlier),
        }

    def tagger(
        self, k: int, earlier: History
    ) -> Callable[[IterationRecord], IterationRecord]:
        """Turns scale ``k``'s own records into the whole run's."""
        offset = self.offset(k)
        time0 = earlier[-1].time if earlier else 0.0
        evaluations0 = earlier[-1].evaluations if earlier else 0
        scale = self.scales[k]

        def tag(record: IterationRecord) -> IterationRecord:
            return replace(
                record,
                iteration=record.iteration + offset,
                time=record.time + time0,
                evaluations=record.evaluations + evaluations0,
                scale=scale,
            )

        return tag

    @staticmethod
    def callback(
        callback: Callable[[IterationRecord, np.ndarray], None] | None,
        tag: Callable[[IterationRecord], IterationRecord],
    ) -> Callable[[IterationRecord, np.ndarray], None] | None:
        """``callback`` given the whole run's records (:meth:`tagger`)."""
        if callback is None:
            return None
        user = callback

        def tagged(record: IterationRecord, image: np.ndarray) -> None:
            user(tag(record), image)

        return tagged

    @classmethod
    def of(
        cls, run: Mapping[str, Any], iterations: int | Sequence[int] | None
    ) -> Pyramid | None:
        """The pyramid of a checkpoint's ``run`` metadata (None for one scale),
        with the iterations per scale replaced by ``iterations`` if given."""
        if "scales" not in run:
            return None
        scales = tuple(run["scales"])
        counts = (
            tuple(run["scale_iterations"])
            if iterations is None
            else per_scale(iterations, len(scales))
        )
        return cls(scales, counts)


def checked_scales(scales: Sequence[int]) -> tuple[int, ...]:
    """``scales`` as a tuple, once they are positive ints that increase.

    Examples
    --------
    >>> checked_scales([256, 512])
    (256, 512)
    """
    values = tuple(scales)
    if not values or not all(isinstance(v, int) and v > 0 for v in values):
        raise ValueError(f"scales must be positive ints, got {scales!r}")
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise ValueError(f"scales must increase, coarse to fine; got {scales!r}")
    return values


def per_scale(iterations: int | Sequence[int], count: int) -> tuple[int, ...]:
    """One iterations value per scale: ``iterations`` for all, or one each.

    Examples
    --------
    >>> per_scale(100, 3), per_scale((500, 200), 2)
    ((100, 100, 100), (500, 200))
    """
    values = (iterations,) * count if isinstance(iterations, int) else tuple(iterations)
    if len(values) != count:
        raise ValueError(
            f"give one iterations value, or one per scale ({count}); got {iterations!r}"
        )
    if not all(isinstance(v, int) and v >= 0 for v in values):
        raise ValueError(f"iterations must be non-negative ints, got {iterations!r}")
    return values
