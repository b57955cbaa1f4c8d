"""One run of an optimiser over a prepared problem, and what it gives back.

:func:`optimize` is the one per-iteration path of :class:`naah.StyleTransfer` and
:mod:`naah.experiments`: snapshots, callbacks, the progress display, checkpoints and
early stops. It returns a :class:`StyleResult`; an interrupt or a divergence ends
the run with :class:`RunInterrupted` or :class:`RunDiverged`, which carry the
result so far. :func:`run_stage` is one :class:`Stage` of a request (a run at one
size): the problem prepared by a :class:`naah.session.Session`, the start image,
the checkpoint's description, and the colour control's recolouring of what the
run shows and gives back.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from naah.checkpointing import Checkpointer, PyramidPosition, RunDescription, RunRecord
from naah.io.images import (
    deprocess,
    load_image,
    preprocess,
    save_image,
    to_pil,
    to_uint8,
)
from naah.optim import (
    DivergenceError,
    History,
    IterationRecord,
    Minimizer,
    MinimizerState,
    OptimizerSettings,
)
from naah.progress import RunDisplay, interactive, losses
from naah.request import RunRequest, start_image
from naah.session import Session

Callback = Callable[[IterationRecord, np.ndarray], None]
Recolor = Callable[[np.ndarray], np.ndarray]

if TYPE_CHECKING:
    from tqdm import tqdm

    from naah.problem import StyleProblem


@dataclass
class StyleResult:
    """What :meth:`StyleTransfer.run` returns.

    Attributes
    ----------
    image : ndarray of shape (H, W, 3), uint8
        The iterate with the lowest total loss (``history[best_iteration]``). For
        L-BFGS, whose loss only decreases, it is the last one; GD and Adam may
        have passed a better image than their last.
    history : History
        Per iteration: total, content and style loss, each style layer's E_l, time
        and evaluations.
    snapshots : dict of int to ndarray (H, W, 3) uint8
        The image at each requested iteration.
    best_iteration : int
    last_image : ndarray of shape (H, W, 3), uint8, or None
        The last iterate (None when it is not finite: a diverged run).
    status : str
        ``'finished'`` (all iterations done), ``'stopped'`` (a ``stop`` check or
        L-BFGS-B converged), ``'interrupted'`` or ``'diverged'``.
    checkpoint : Path or None
        The checkpoint written last, if any.
    float_image : ndarray of shape (H, W, 3), float32, or None
        ``image`` before its rounding to 8 bits: values in [0, 255] with what lies
        between the levels, for :meth:`save` at 16 bits. None in a result made
        without it (a 16-bit save then widens ``image``).
    """

    image: np.ndarray
    history: History
    snapshots: dict[int, np.ndarray] = field(default_factory=dict)
    best_iteration: int = -1
    last_image: np.ndarray | None = None
    status: str = "finished"
    checkpoint: Path | None = None
    float_image: np.ndarray | None = field(default=None, repr=False)

    @property
    def pil(self) -> Image.Image:
        """The image as a PIL image."""
        return to_pil(self.image)

    def save(
        self, path: str | os.PathLike, *, bit_depth: int = 8, dpi: float | None = None
    ) -> Path:
        """Write the image (format from the extension), atomically.

        ``bit_depth=16`` (PNG, TIFF) writes :attr:`float_image` to 16 bits per
        channel; ``dpi`` records a resolution. See :func:`naah.save_image`.
        """
        image = self.image
        if bit_depth == 16 and self.float_image is not None:
            image = self.float_image
        return save_image(path, image, bit_depth=bit_depth, dpi=dpi)

    def recolored(self, recolor: Recolor | None) -> StyleResult:
        """This result with ``recolor`` applied to its images (a colour mode's
        :attr:`naah.color.Recoloring.result`; None: as it is)."""
        if recolor is None:
            return self

        def swap(image: np.ndarray) -> np.ndarray:
            return to_uint8(recolor(image))

        last = None if self.last_image is None else swap(self.last_image)
        snapshots = {k: swap(v) for k, v in self.snapshots.items()}
        precise = self.float_image
        if precise is not None:
            precise = np.clip(recolor(precise), 0, 255).astype(np.float32)
        return replace(
            self,
            image=swap(self.image),
            last_image=last,
            snapshots=snapshots,
            float_image=precise,
        )


class StopRun(Exception):
    """Raise from a ``stop`` check of :func:`optimize` to end a run early."""


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C (or a signal turned into this): what it had done.

    Attributes
    ----------
    result : StyleResult or None
        The best image so far and the history; None if the interrupt came before
        the first evaluation finished.
    reason : BaseException
        The original interrupt (a KeyboardInterrupt or a subclass).
    """

    def __init__(self, result: StyleResult | None, reason: BaseException) -> None:
        super().__init__(str(reason))
        self.result = result
        self.reason = reason


def interrupt_in(error: BaseException) -> KeyboardInterrupt | None:
    """The interrupt that ``error`` is, or that caused it (None if none did).

    Ctrl-C during the import of an extension module comes out as an ImportError
    ("initialization failed": pybind11's) whose cause is the KeyboardInterrupt; a
    failure while handling an interrupt has it as its context. Either is an
    interrupt, not a failure of the run.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


class RunDiverged(DivergenceError):
    """The divergence guard gave up (:class:`naah.optim.DivergenceError`).

    Attributes
    ----------
    result : StyleResult or None
        The best image seen and the history; None if the start was not finite.
    """

    def __init__(self, message: str, iteration: int, result: StyleResult | None):
        super().__init__(message, iteration)
        self.result = result


def optimize(
    problem: StyleProblem,
    initial: np.ndarray | None,
    iterations: int,
    settings: OptimizerSettings,
    *,
    snapshots: Iterable[int] = (),
    callback: Callable[[IterationRecord, np.ndarray], None] | None = None,
    bar: tqdm | RunDisplay | None = None,
    stop: Callable[[IterationRecord], bool] | None = None,
    state: MinimizerState | None = None,
    checkpointer: Checkpointer | None = None,
) -> StyleResult:
    """Minimise a prepared problem from ``initial``: the one per-iteration path of
    :meth:`StyleTransfer.run` and :mod:`naah.experiments`.

    After each iteration it keeps the requested snapshots, calls ``callback`` with
    the (H, W, 3) float image, advances the progress ``bar`` (a tqdm bar), writes
    a checkpoint when one is due and ends the run when ``stop(record)`` is true.

    Parameters
    ----------
    problem : StyleProblem
    initial : ndarray of shape (1, 3, H, W) or None
        Preprocessed start image (None with ``state``).
    iterations : int
        The iteration to reach (a total, counting those of ``state``).
    settings : OptimizerSettings
    snapshots, callback, bar, stop : optional
        See above.
    state : MinimizerState, optional
        Continue this saved run instead of starting from ``initial``.
    checkpointer : Checkpointer, optional
        Writes checkpoints during the run, at its end, on an interrupt and when the
        divergence guard gives up.

    Returns
    -------
    StyleResult

    Raises
    ------
    RunInterrupted
        On KeyboardInterrupt, with the result so far (a checkpoint written first).
    RunDiverged
        When the divergence guard gives up, with the best result seen.
    """
    wanted = set(snapshots)
    kept: dict[int, np.ndarray] = {}
    if state is not None:
        run = Minimizer.restore(problem, settings, state)
    else:
        if initial is None:
            raise ValueError("optimize needs an initial image or a state")
        run = Minimizer(problem, settings, initial)

    def on_iteration(record: IterationRecord, image_nchw: np.ndarray) -> None:
        if record.iteration in wanted or callback is not None:
            image = deprocess(image_nchw, problem.mean_pixel)
            if record.iteration in wanted:
                kept[record.iteration] = to_uint8(image)
            if callback is not None:
                callback(record, image)
        if bar is not None and record.iteration > 0:
            bar.set_postfix_str(losses(record), refresh=False)
            bar.update(1)
        elif bar is not None:
            bar.update(0)  # the start is evaluated: compiling is over
        if checkpointer is not None and checkpointer.due(record.iteration):
            _write_checkpoint(checkpointer, run)
        if stop is not None and stop(record):
            raise StopRun

    def result(status: str) -> StyleResult:
        written = None
        if checkpointer is not None and run.history:
            written = _write_checkpoint(checkpointer, run, status)
        best = deprocess(run.best_image, problem.mean_pixel)
        return StyleResult(
            image=to_uint8(best),
            history=run.history,
            snapshots=kept,
            best_iteration=run.best_iteration,
            last_image=_finite_uint8(run.image, problem.mean_pixel),
            status=status,
            checkpoint=written,
            float_image=np.clip(best, 0, 255),
        )

    if state is not None and bar is not None:
        bar.update(0)  # restored: compiling is over, the iterations start
    try:
        run.run(iterations, on_iteration)
    except StopRun:
        return result("stopped")
    except KeyboardInterrupt as interrupt:
        partial = result("interrupted") if run.history else None
        raise RunInterrupted(partial, interrupt) from interrupt
    except DivergenceError as error:
        partial = result("diverged") if run.history else None
        raise RunDiverged(str(error), error.iteration, partial) from error
    return result("finished" if run.status == "iterations" else "stopped")


def _write_checkpoint(
    checkpointer: Checkpointer, run: Minimizer, status: str = "running"
) -> Path | None:
    """Write a checkpoint; if that fails (a full disk…), warn and let the run go on."""
    try:
        return checkpointer.write(run, status)
    except OSError as error:
        reason = error.strerror or str(error)
        warnings.warn(
            f"could not write checkpoint {checkpointer.path}: {reason}",
            RuntimeWarning,
            stacklevel=2,
        )
        return None


def _finite_uint8(image_nchw: np.ndarray, mean_pixel: np.ndarray) -> np.ndarray | None:
    """The image as uint8 RGB, or None if it holds NaN (a diverged iterate)."""
    if not np.isfinite(image_nchw).all():
        return None
    return to_uint8(deprocess(image_nchw, mean_pixel))


# -- one stage of a request -------------------------------------------------------------
@dataclass(frozen=True)
class Stage:
    """One optimisation at one size.

    Attributes
    ----------
    size : int or None
        The long edge (None: the content image's own size).
    iterations : int
        The iteration to reach, counted in this stage.
    snapshots : tuple of int
        Iterations of this stage at which to keep the image.
    callback : callable(record, image) or None
    previous : ndarray or None
        The previous scale's result, to upsample as this stage's start (None: the
        run's ``init``).
    state : MinimizerState or None
        A saved state to continue from (a resumed stage).
    done : int
        Iterations already done (of a resumed stage).
    position : PyramidPosition or None
        Where in a coarse-to-fine run this stage is (None for a plain run).
    """

    size: int | None
    iterations: int
    snapshots: tuple[int, ...] = ()
    callback: Callback | None = None
    previous: np.ndarray | None = None
    state: MinimizerState | None = None
    done: int = 0
    position: PyramidPosition | None = None


def run_stage(request: RunRequest, stage: Stage, session: Session) -> StyleResult:
    """Run one stage of ``request`` on ``session``'s problem: prepare it at the
    stage's size, start (from the previous scale, the request's start image or a
    saved state), optimise, and give the result the colour control's recolouring.
    """
    show = interactive() if request.progress is None else request.progress
    what = "loading and compiling" if session.problem is None else "starting"
    where = stage.position
    label = (
        ""
        if where is None
        else f"scale {where.scale_index + 1}/{len(where.scales)} ({stage.size} px)"
    )
    with RunDisplay(
        stage.iterations, show, initial=stage.done, what=what, label=label
    ) as display:
        problem, recoloring = session.prepared(
            request.content,
            request.styles,
            stage.size,
            request.settings,
            client=request.client,
            temporal=request.temporal,
        )
        initial = None
        if stage.state is None:
            if stage.previous is not None:
                start = load_image(stage.previous, size=problem.shape[:2])
            else:
                start = start_image(request.init, problem, request.settings.images.seed)
            initial = preprocess(start, problem.mean_pixel)
        recolor = recoloring.result
        try:
            result = optimize(
                problem,
                initial,
                stage.iterations,
                request.settings.optimizer,
                snapshots=stage.snapshots,
                callback=_recolored_callback(stage.callback, recolor),
                bar=display,
                state=stage.state,
                checkpointer=_checkpointer(request, stage, problem, session),
            )
        except (RunInterrupted, RunDiverged) as stopped:
            if stopped.result is not None:
                stopped.result = stopped.result.recolored(recolor)
            raise
    return result.recolored(recolor)


def _checkpointer(
    request: RunRequest, stage: Stage, problem: StyleProblem, session: Session
) -> Checkpointer | None:
    """The stage's checkpoints, described (None without a checkpoint path)."""
    if request.checkpoint is None:
        return None
    settings = request.settings
    images = settings.images
    record = RunRecord(
        stage.iterations, stage.size, images.style_scale, images.init, stage.position
    )
    weights = session.net.weights.source.identity()
    inputs = request.styles.record(request.content, problem, weights)
    description = RunDescription(settings, record, inputs, request.checkpoint_info)
    every = settings.schedule.checkpoint_every
    return Checkpointer(request.checkpoint, description, every)


def _recolored_callback(
    callback: Callback | None, recolor: Recolor | None
) -> Callback | None:
    """``callback`` shown the images recoloured, when the colour mode does that."""
    if callback is None or recolor is None:
        return callback
    user = callback

    def recolored(record: IterationRecord, image: np.ndarray) -> None:
        user(record, recolor(image))

    return recolored
