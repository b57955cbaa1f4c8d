"""Coarse to fine (Gatys et al. 2017, section 6): the scales of a run, one stage
each, and the records of each scale turned into the whole run's.

A run with ``scales=(256, 512, 1024)`` optimises at 256 px, upsamples the result
to start the 512 px stage, and so on; the one compiled problem serves every
scale. :func:`run_scales` drives the stages; what a stage does (prepare the
problem at its size, optimise, write checkpoints) is the caller's, given as a
function of a :class:`Stage`, so that a plain run is the same function called
once. Iteration numbers run on across scales, and each scale's start is recorded
at the number where the previous one ended; the history's ``scale`` column says
which scale a record is of.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from naah.checkpointing import PyramidPosition, SavedRun
from naah.optim import History, IterationRecord, MinimizerState
from naah.request import RunRequest
from naah.runs import RunDiverged, RunInterrupted, Stage, StyleResult, run_stage
from naah.session import Session

__all__ = ["Pyramid", "run_request", "run_scales"]

Callback = Callable[[IterationRecord, np.ndarray], None]
Tag = Callable[[IterationRecord], IterationRecord]


@dataclass(frozen=True)
class Pyramid:
    """The scales of a coarse-to-fine run and the iterations of each."""

    scales: tuple[int, ...]
    iterations: tuple[int, ...]

    def offset(self, k: int) -> int:
        """The iteration number at which scale ``k`` starts."""
        return sum(self.iterations[:k])

    def position(self, k: int, earlier: History) -> PyramidPosition:
        """The checkpoint's record of where in the pyramid a run is."""
        return PyramidPosition(self.scales, self.iterations, k, History(earlier))

    def tagger(self, k: int, earlier: History) -> Tag:
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


def run_request(
    request: RunRequest, session: Session, saved: SavedRun | None = None
) -> StyleResult:
    """Run a request on ``session``: one stage at its size, or its scales coarse
    to fine; a ``saved`` run continues from its state, at the scale it was at.

    The request's size is a length here (:func:`naah.plan.sized` resolves
    ``'auto'``).
    """
    stages = functools.partial(run_stage, request, session=session)
    schedule = request.settings.schedule
    state, done = (None, 0) if saved is None else (saved.state, saved.iteration)
    if schedule.scales is None:
        size = request.settings.images.size
        if isinstance(size, str):
            raise ValueError(f"size {size!r}: resolve it first (naah.plan.sized)")
        stage = Stage(
            size,
            schedule.total,
            request.snapshots,
            request.callback,
            state=state,
            done=done,
        )
        return stages(stage)
    position = None if saved is None else saved.description.run.pyramid
    return run_scales(
        stages,
        Pyramid(schedule.scales, schedule.per_scale),
        snapshots=request.snapshots,
        callback=request.callback,
        first=0 if position is None else position.scale_index,
        earlier=None if position is None else position.earlier_history,
        state=state,
        done=done,
    )


def run_scales(
    run_stage: Callable[[Stage], StyleResult],
    pyramid: Pyramid,
    *,
    snapshots: Iterable[int] = (),
    callback: Callback | None = None,
    first: int = 0,
    earlier: History | None = None,
    state: MinimizerState | None = None,
    done: int = 0,
) -> StyleResult:
    """Run the scales of ``pyramid`` from scale ``first`` on, one stage each.

    Parameters
    ----------
    run_stage : callable(Stage) -> StyleResult
        Runs one stage.
    pyramid : Pyramid
    snapshots, callback
        Of the whole run: iteration numbers and records run on across scales.
    first : int
        The scale to start at (a resumed run's).
    earlier : History, optional
        The records of the scales before ``first``.
    state, done
        The first stage's saved state and the iterations it had done (resume).

    Returns
    -------
    StyleResult
        The last scale's, with the whole run's history and snapshots.
    """
    history = History(earlier or ())
    kept: dict[int, np.ndarray] = {}
    wanted = set(snapshots)
    previous: np.ndarray | None = None
    result: StyleResult | None = None
    for k in range(first, len(pyramid.scales)):
        count, offset = pyramid.iterations[k], pyramid.offset(k)
        tag = pyramid.tagger(k, history)
        stage = Stage(
            size=pyramid.scales[k],
            iterations=count,
            snapshots=tuple(
                i - offset for i in wanted if offset <= i <= offset + count
            ),
            callback=_tagged_callback(callback, tag),
            previous=previous,
            state=state if k == first else None,
            done=done if k == first else 0,
            position=pyramid.position(k, history),
        )
        with _tagged_results(history, tag):
            result = run_stage(stage)
        history.extend(tag(r) for r in result.history)
        kept.update({i + offset: v for i, v in result.snapshots.items()})
        previous = result.image
    if result is None:
        raise ValueError(f"scale {first} is past the last of {pyramid.scales}")
    return _tagged(result, history, kept)


def _tagged_callback(callback: Callback | None, tag: Tag) -> Callback | None:
    """``callback`` given the whole run's records."""
    if callback is None:
        return None
    user = callback

    def tagged(record: IterationRecord, image: np.ndarray) -> None:
        user(tag(record), image)

    return tagged


@contextlib.contextmanager
def _tagged_results(earlier: History, tag: Tag) -> Iterator[None]:
    """Give the result of an interrupted or diverged scale the whole history."""
    try:
        yield
    except (RunInterrupted, RunDiverged) as stopped:
        partial = stopped.result
        if partial is not None:
            history = History([*earlier, *(tag(r) for r in partial.history)])
            stopped.result = _tagged(partial, history, partial.snapshots)
        raise


def _tagged(
    result: StyleResult, history: History, snapshots: dict[int, np.ndarray]
) -> StyleResult:
    """``result`` of the last scale run with the whole run's ``history``."""
    return replace(
        result,
        history=history,
        snapshots=snapshots,
        best_iteration=len(history) - len(result.history) + result.best_iteration,
    )
