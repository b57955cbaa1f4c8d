"""One interface to every optimiser of :data:`naah.optim.OPTIMIZERS`: the three the
report compares (L-BFGS, GD and Adam) and momentum.

All of them minimise a :class:`naah.problem.StyleProblem` over its generated image,
record a :class:`History` and call ``callback(record, image)`` after every iteration.
A :class:`Minimizer` runs one of them with a state that can be saved between any two
evaluations and restored (:meth:`Minimizer.state`, :meth:`Minimizer.restore`), after
which the run follows the same iterates as if it had never stopped.

Divergence guard: the loss and the gradient are checked after every evaluation. On a
NaN or an infinity the run rolls back to the last iterate whose loss was finite and
goes on with a fresh L-BFGS memory (L-BFGS) or half the step and fresh moments (GD,
Adam and momentum). After :data:`MAX_ROLLBACKS` rollbacks it raises
:class:`DivergenceError`. The Minimizer keeps this guard and the records; each
optimiser's own steps and state are its registry entry's
(:class:`naah.optim.strategy.Optimizer`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from naah.checks import (
    boolean,
    check_fields,
    positive_float,
    setting,
    unit_interval,
)
from naah.io.checkpoint import CheckpointError
from naah.optim.history import History, IterationRecord
from naah.optim.registry import METHODS, OPTIMIZERS
from naah.optim.strategy import NonFinite, Optimizer, SavedArray

if TYPE_CHECKING:
    from naah.problem import Evaluation, StyleProblem

# Rollbacks of the divergence guard before a run gives up.
MAX_ROLLBACKS = 3


def _method(value: object) -> str:
    if value not in METHODS:
        raise ValueError(f"unknown optimizer {value!r}; choose one of {METHODS}")
    return str(value)


def _learning_rate(value: object) -> float:
    try:
        return positive_float(value)
    except ValueError:
        raise ValueError(
            f"the learning rate must be positive and finite, got {value!r}"
        ) from None


@dataclass(frozen=True)
class OptimizerSettings:
    """Settings of :func:`minimize`: which optimiser, and its hyperparameters.

    Every field but ``epsilon`` is a setting (:mod:`naah.checks`).

    Parameters
    ----------
    method : str
        A name of :data:`naah.optim.OPTIMIZERS`: 'lbfgs', 'adam', 'gd' or 'momentum'.
    learning_rate : float
        The step of 'adam', 'gd' and 'momentum', in pixel units.
    beta1, beta2, epsilon : float
        Adam's (:func:`naah.optim.adam`).
    bounds : bool
        Keep pixels in 0–255: L-BFGS-B's box constraints, or a clip after each step
        of the others.
    momentum : float
        The momentum μ of 'momentum' (:func:`naah.optim.momentum`).

    Examples
    --------
    >>> OptimizerSettings("momentum", learning_rate=0.1, momentum=0.8).momentum
    0.8
    """

    method: str = setting(
        "lbfgs",
        name="optimizer",
        check=_method,
        choices=METHODS,
        help="optimiser: L-BFGS (Gatys et al.); Adam, gradient descent or momentum "
        "(the report's comparison)",
    )
    learning_rate: float = setting(
        1.0,
        check=_learning_rate,
        metavar="LR",
        help="step size of adam, gd and momentum, in pixel units",
    )
    beta1: float = setting(
        0.9, check=unit_interval, metavar="B1", help="Adam's beta1, in [0, 1)"
    )
    beta2: float = setting(
        0.999, check=unit_interval, metavar="B2", help="Adam's beta2, in [0, 1)"
    )
    epsilon: float = 1e-8
    bounds: bool = setting(
        True,
        check=boolean,
        metavar="true|false",
        help="keep pixels within 0–255 (L-BFGS-B's box, or a clip after each step)",
    )
    momentum: float = setting(
        0.9,
        check=unit_interval,
        metavar="MU",
        help="momentum μ of the momentum optimiser, in [0, 1)",
    )

    def __post_init__(self) -> None:
        check_fields(self)


Callback = Callable[[IterationRecord, np.ndarray], None]


class DivergenceError(FloatingPointError):
    """The loss or its gradient stayed NaN or infinite: the run cannot go on.

    Attributes
    ----------
    iteration : int
        The last iteration with a finite loss (-1 when even the start was not).
    """

    def __init__(self, message: str, iteration: int) -> None:
        super().__init__(message)
        self.iteration = iteration


@dataclass
class MinimizerState:
    """Everything a :class:`Minimizer` needs to continue: plain arrays and JSON values.

    Attributes
    ----------
    method : str
    arrays : dict of str to ndarray or StoredArray
        ``image`` (the current iterate, (1, 3, H, W)), ``best_image`` and the
        optimiser's own arrays (``lbfgs.*``: L-BFGS-B's workspace and line search,
        or with a memory budget naah's float32 L-BFGS's pairs, vectors and line
        search; ``first_order.*``: Adam's step count and moments, momentum's
        velocity). A state read from a checkpoint keeps them in the file
        (:class:`naah.io.checkpoint.StoredArray`) until :meth:`Minimizer.restore`
        has checked their shapes.
    info : dict
        JSON-serialisable scalars: learning rate, rollbacks, best iteration and loss…
    history : History
    source : str, optional
        The checkpoint it was read from, which a refusal names.
    """

    method: str
    arrays: dict[str, SavedArray]
    info: dict[str, Any]
    history: History = field(default_factory=History)
    source: str | None = None


class Minimizer:
    """One optimiser's run over a problem's image, resumable between evaluations.

    Parameters
    ----------
    problem : StyleProblem
    settings : OptimizerSettings
    initial : ndarray of shape (1, 3, H, W)
        Preprocessed start image.

    Attributes
    ----------
    history : History
        One record per iteration so far (0 is the start).
    best_image : ndarray of shape (1, 3, H, W), float32
        The iterate with the lowest total loss so far (for L-BFGS, whose loss only
        decreases, the last one).
    best_iteration : int
    rollbacks : int
        Rollbacks of the divergence guard so far.
    learning_rate : float
        The current step of GD, Adam and momentum (halved by each rollback).
    status : str
        Why the last :meth:`run` ended: ``'iterations'`` or, for L-BFGS, the solver's
        reason (``'converged'``, ``'line search failed'``).

    Examples
    --------
    >>> run = Minimizer(problem, OptimizerSettings("adam"), initial)  # doctest: +SKIP
    >>> run.run(100)  # doctest: +SKIP
    >>> state = run.state()  # save it; later, maybe elsewhere:  # doctest: +SKIP
    >>> run = Minimizer.restore(problem, OptimizerSettings("adam"), state)  # doctest: +SKIP
    >>> run.run(200)  # iterations 101-200, as if the run had never stopped  # doctest: +SKIP
    """

    def __init__(
        self,
        problem: StyleProblem,
        settings: OptimizerSettings | None,
        initial: np.ndarray,
    ) -> None:
        self._setup(problem, settings or OptimizerSettings(), History())
        self._image = np.asarray(initial, np.float32).reshape(problem.nchw_shape)
        self.best_image = self._image.copy()

    def _setup(
        self, problem: StyleProblem, settings: OptimizerSettings, history: History
    ) -> None:
        self.problem = problem
        self.settings = settings
        self.history = history
        self.best_iteration = -1
        self.best_loss = float("inf")
        self.rollbacks = 0
        self.learning_rate = settings.learning_rate
        self.status = "iterations"
        self._optimizer: Optimizer[Any] = OPTIMIZERS[settings.method]
        # The optimiser's own state: None until the first run starts it.
        self._progress: Any = None
        self._callback: Callback | None = None
        self._clock: tuple[float, int] | None = None

    @property
    def iteration(self) -> int:
        """Iterations done: the number of the current iterate."""
        if self._progress is not None and not self._optimizer.recorded(self._progress):
            return len(self.history)
        return len(self.history) - 1

    @property
    def image(self) -> np.ndarray:
        """The current iterate, (1, 3, H, W) float32."""
        if self._progress is not None:
            return self._optimizer.image(self, self._progress)
        return self._image

    def run(self, iterations: int, callback: Callback | None = None) -> np.ndarray:
        """Iterate until iteration ``iterations`` (a total, counting earlier runs).

        ``callback(record, image)`` gets each new :class:`IterationRecord` and the
        preprocessed iterate it describes. It may raise to stop the run; the state
        stays consistent and :meth:`state` saves it.

        Returns
        -------
        ndarray of shape (1, 3, H, W), float32
            The current (last) iterate.

        Raises
        ------
        DivergenceError
            When the loss stays non-finite after :data:`MAX_ROLLBACKS` rollbacks, or is
            non-finite at the start.
        """
        if iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {iterations}")
        self._clock = (
            time.perf_counter() - (self.history[-1].time if self.history else 0.0),
            self.problem.evaluations
            - (self.history[-1].evaluations if self.history else 0),
        )
        self._callback = callback
        # On the "c" backend naah's kernels split their work between threads and BLAS
        # stays on one (naah.ops.threads); holding that for the whole run also keeps
        # L-BFGS-B's own vector work, 1.1-3x slower on two BLAS threads, on one.
        try:
            with self.problem.runtime.activate(self.problem.backend):
                self._iterate(iterations)
        finally:
            self._callback = None
        return self.image

    def _iterate(self, iterations: int) -> None:
        """The divergence guard around the optimiser's own iterations."""
        optimizer = self._optimizer
        if self._progress is None:
            try:
                self._progress = optimizer.start(self)
            except NonFinite as bad:
                self._lost_the_last_finite_iterate(bad.evaluation)
        while True:
            try:
                self.status = optimizer.iterate(self, self._progress, iterations)
                return
            except NonFinite as bad:
                self._rolled_back(bad.evaluation)
            try:
                self._progress = optimizer.roll_back(self, self._progress)
            except NonFinite as bad:
                # Nothing left to continue from but the best iterate: a later run
                # (or a resumed checkpoint) starts the optimiser afresh there.
                self._progress = None
                self._image = self.best_image
                self._lost_the_last_finite_iterate(bad.evaluation)

    # -- records -------------------------------------------------------------------

    def record(self, evaluation: Evaluation, image: np.ndarray) -> None:
        """Add the record of an iterate and its evaluation to the history, and pass
        both to the run's callback: what the optimiser calls at each iterate."""
        assert self._clock is not None
        start, evaluations_before = self._clock
        record = IterationRecord(
            iteration=len(self.history),
            total=evaluation.total,
            content=evaluation.content,
            style=evaluation.style,
            tv=evaluation.tv,
            tv_raw=evaluation.tv_raw,
            time=time.perf_counter() - start,
            evaluations=self.problem.evaluations - evaluations_before,
            style_layers=dict(evaluation.style_layers),
        )
        self.history.append(record)
        if record.total < self.best_loss:
            self.best_loss = record.total
            self.best_iteration = record.iteration
            self.best_image = np.array(image, np.float32).reshape(
                self.problem.nchw_shape
            )
        if self._callback is not None:
            self._callback(record, image)

    def _rolled_back(self, evaluation: Evaluation) -> None:
        """Count a rollback, or give up when there have been too many."""
        self.rollbacks += 1
        if not self.history:
            raise DivergenceError(
                f"the loss of the start image is not finite ({_terms(evaluation)}): "
                f"{self._likely_cause(evaluation, start=True)}",
                -1,
            )
        if self.rollbacks > MAX_ROLLBACKS:
            raise DivergenceError(
                f"the loss became non-finite ({_terms(evaluation)}) again after "
                f"{MAX_ROLLBACKS} rollbacks to the last finite iterate; "
                f"{self._likely_cause(evaluation, start=False)}",
                self.iteration,
            )

    def _lost_the_last_finite_iterate(self, evaluation: Evaluation) -> None:
        """The iterate a start or a rollback returned to is not finite either."""
        self._rolled_back(evaluation)  # raises at the start
        raise DivergenceError(
            f"the last finite iterate no longer has a finite loss "
            f"({_terms(evaluation)})",
            self.iteration,
        ) from None

    def _likely_cause(self, evaluation: Evaluation, *, start: bool) -> str:
        parts = (evaluation.content, evaluation.style, evaluation.tv_raw)
        if not all(np.isfinite(p) for p in parts):
            return (
                "a loss term itself is not finite: the weights file or an image "
                "probably holds NaN or infinite values"
            )
        if start:
            return (
                "the loss weights are too large for float32 (alpha, beta or "
                "tv-weight: keep alpha*content + beta*style below about 1e38)"
            )
        return self._optimizer.likely_cause(self.settings)

    # -- saving and restoring ------------------------------------------------------

    def state(self) -> MinimizerState:
        """A copy of everything needed to continue (see :meth:`restore`)."""
        arrays: dict[str, SavedArray] = {
            "image": self.image,
            "best_image": self.best_image.copy(),
        }
        info: dict[str, Any] = {
            "learning_rate": self.learning_rate,
            "rollbacks": self.rollbacks,
            "best_iteration": self.best_iteration,
            "best_loss": self.best_loss,
            "started": self._progress is not None,
        }
        if self._progress is not None:
            own_arrays, own_info = self._optimizer.save(self._progress)
            arrays.update(own_arrays)
            info.update(own_info)
        return MinimizerState(self.settings.method, arrays, info, History(self.history))

    @classmethod
    def restore(
        cls,
        problem: StyleProblem,
        settings: OptimizerSettings | None,
        state: MinimizerState,
    ) -> Minimizer:
        """A minimizer that continues exactly where the one that gave ``state`` was.

        Every saved array's shape is checked against the problem's before it is
        read, and the optimiser's state before it is used.

        Raises
        ------
        ValueError
            If ``state`` is of another optimiser, of another image size, or was
            written by a scipy whose L-BFGS-B state layout differs; a
            :class:`~naah.io.checkpoint.CheckpointError` naming the file, for a
            state read from one.
        """
        settings = settings or OptimizerSettings()
        try:
            return cls._restore(problem, settings, state)
        except CheckpointError:
            raise
        except ValueError as error:
            if state.source is None:
                raise
            raise CheckpointError(f"{state.source}: {error}") from None

    @classmethod
    def _restore(
        cls, problem: StyleProblem, settings: OptimizerSettings, state: MinimizerState
    ) -> Minimizer:
        if state.method != settings.method:
            raise ValueError(
                f"the saved state is of optimizer {state.method!r}, not "
                f"{settings.method!r}"
            )
        for name in ("image", "best_image"):
            shape = np.shape(state.arrays[name])  # the listing's: nothing read yet
            if shape != tuple(problem.nchw_shape):
                what = "image" if name == "image" else "best image"
                raise ValueError(
                    f"the saved {what} is {shape}, the problem's {problem.nchw_shape}"
                )
        self = cls.__new__(cls)
        self._setup(problem, settings, History(state.history))
        info = state.info
        self._image = np.asarray(state.arrays["image"], np.float32)
        self.best_image = np.asarray(state.arrays["best_image"], np.float32)
        self.best_iteration = int(info["best_iteration"])
        self.best_loss = float(info["best_loss"])
        self.rollbacks = int(info["rollbacks"])
        self.learning_rate = float(info["learning_rate"])
        if info.get("started"):
            self._progress = self._optimizer.restore(self, state)
        return self


def minimize(
    problem: StyleProblem,
    initial: np.ndarray,
    iterations: int,
    settings: OptimizerSettings | None = None,
    callback: Callback | None = None,
) -> tuple[np.ndarray, History]:
    """Minimise the problem's total loss over its image.

    Parameters
    ----------
    problem : StyleProblem
    initial : ndarray of shape (1, 3, H, W)
        Preprocessed start image.
    iterations : int
        L-BFGS iterations (each may take a few evaluations) or steps of the others.
    settings : OptimizerSettings
    callback : callable(record, image), optional
        Called with the :class:`IterationRecord` and the preprocessed image after
        iteration 0 (the start) and after each iteration.

    Returns
    -------
    image : ndarray of shape (1, 3, H, W), float32
        The last iterate.
    history : History

    See Also
    --------
    Minimizer : the same, with a state to save and restore.
    """
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    run = Minimizer(problem, settings, initial)
    image = run.run(iterations, callback)
    return image, run.history


def _terms(evaluation: Evaluation) -> str:
    return ", ".join(
        f"{name} {getattr(evaluation, name):.3g}"
        for name in ("total", "content", "style", "tv")
    )
