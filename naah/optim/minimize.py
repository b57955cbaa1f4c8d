"""One interface to the three optimisers the report compares: L-BFGS, GD and Adam.

All of them minimise a :class:`naah.problem.StyleProblem` over its generated image,
record a :class:`History` and call ``callback(record, image)`` after every iteration.
A :class:`Minimizer` runs one of them with a state that can be saved between any two
evaluations and restored (:meth:`Minimizer.state`, :meth:`Minimizer.restore`), after
which the run follows the same iterates as if it had never stopped.

Divergence guard: the loss and the gradient are checked after every evaluation. On a
NaN or an infinity the run rolls back to the last iterate whose loss was finite and
goes on with a fresh L-BFGS memory (L-BFGS) or half the step and fresh moments (GD
and Adam). After :data:`MAX_ROLLBACKS` rollbacks it raises :class:`DivergenceError`.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile.sharedvalue import SharedVariable

from naah.checks import (
    boolean,
    check_fields,
    positive_float,
    setting,
    unit_interval,
)
from naah.compile import function
from naah.optim.history import History, IterationRecord
from naah.optim.lbfgsb import LBFGSB, LBFGSBSettings, state_version
from naah.optim.updates import adam, sgd

if TYPE_CHECKING:
    from naah.problem import Evaluation, StyleProblem

METHODS = ("lbfgs", "adam", "gd")

# L-BFGS history size: scipy's default, and what Gatys-style implementations use.
LBFGS_MEMORY = 10
# fmin_l_bfgs_b's settings of naah's runs before the driver of naah.optim.lbfgsb:
# stop on iterations only (factr 10 and pgtol 0 almost never trigger).
LBFGS_SETTINGS = LBFGSBSettings(m=LBFGS_MEMORY, factr=10.0, pgtol=0.0)
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

    ``learning_rate`` is for the first-order methods (pixel units). ``bounds``
    keeps pixels in 0–255: L-BFGS-B's box constraints, or a clip after each step.
    Every field but ``epsilon`` is a setting (:mod:`naah.checks`).
    """

    method: str = setting(
        "lbfgs",
        name="optimizer",
        check=_method,
        choices=METHODS,
        help="optimiser: L-BFGS (Gatys et al.), Adam or gradient descent",
    )
    learning_rate: float = setting(
        1.0,
        check=_learning_rate,
        metavar="LR",
        help="step size of adam and gd, in pixel units",
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


class _NonFinite(Exception):
    def __init__(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation


@dataclass
class MinimizerState:
    """Everything a :class:`Minimizer` needs to continue: plain arrays and JSON values.

    Attributes
    ----------
    method : str
    arrays : dict of str to ndarray
        ``image`` (the current iterate, (1, 3, H, W)), ``best_image`` and the
        optimiser's own arrays (``lbfgs.*``: L-BFGS-B's workspace and line search;
        ``first_order.*``: Adam's moments and step count).
    info : dict
        JSON-serialisable scalars: learning rate, rollbacks, best iteration and loss…
    history : History
    """

    method: str
    arrays: dict[str, np.ndarray]
    info: dict[str, Any]
    history: History = field(default_factory=History)


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
        The current step of GD and Adam (halved by each rollback).
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
        self._solver: LBFGSB | None = None
        self._step: _FirstOrderStep | None = None
        # GD/Adam: whether the current image's loss is in the history (the compiled
        # step evaluates an image and moves on in one call), and the last image with
        # a finite loss, where a rollback returns.
        self._recorded = False
        self._anchor: np.ndarray | None = None
        self._last: tuple[np.ndarray, Evaluation] | None = None
        self._clock: tuple[float, int] | None = None

    @property
    def iteration(self) -> int:
        """Iterations done: the number of the current iterate."""
        if self._step is not None and not self._recorded:
            return len(self.history)
        return len(self.history) - 1

    @property
    def image(self) -> np.ndarray:
        """The current iterate, (1, 3, H, W) float32."""
        if self._solver is not None:
            return self._solver.x.reshape(self.problem.nchw_shape).astype(np.float32)
        if self._step is not None:
            return self.problem.image.get_value()
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
        # On the "c" backend naah's kernels split their work between threads and BLAS
        # stays on one (naah.ops.threads); holding that for the whole run also keeps
        # L-BFGS-B's own vector work, 1.1-3x slower on two BLAS threads, on one.
        with self.problem.runtime.activate(self.problem.backend):
            if self.settings.method == "lbfgs":
                self._run_lbfgs(iterations, callback)
            else:
                self._run_first_order(iterations, callback)
        return self.image

    # -- records -------------------------------------------------------------------

    def _record(
        self, evaluation: Evaluation, image: np.ndarray, callback: Callback | None
    ) -> None:
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
        if callback is not None:
            callback(record, image)

    def _rolled_back(self, evaluation: Evaluation) -> None:
        """Count a rollback, or give up when there have been too many."""
        self.rollbacks += 1
        if not self.history:
            raise DivergenceError(
                f"the loss of the start image is not finite ({_terms(evaluation)}): "
                f"{_likely_cause(evaluation, self.settings, start=True)}",
                -1,
            )
        if self.rollbacks > MAX_ROLLBACKS:
            raise DivergenceError(
                f"the loss became non-finite ({_terms(evaluation)}) again after "
                f"{MAX_ROLLBACKS} rollbacks to the last finite iterate; "
                f"{_likely_cause(evaluation, self.settings, start=False)}",
                self.iteration,
            )

    # -- L-BFGS --------------------------------------------------------------------

    def _evaluate_checked(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        evaluation, grad = self.problem.evaluate(x.reshape(self.problem.nchw_shape))
        if not (np.isfinite(evaluation.total) and np.isfinite(grad).all()):
            raise _NonFinite(evaluation)
        self._last = (x.copy(), evaluation)
        return evaluation.total, grad.ravel().astype(np.float64)

    def _start_lbfgs(self, callback: Callback | None) -> LBFGSB:
        bounds = _lbfgs_bounds(self.problem) if self.settings.bounds else None
        x0 = np.asarray(self._image, np.float64).ravel()
        solver = LBFGSB(x0, bounds, LBFGS_SETTINGS)
        try:
            loss, grad = self._evaluate_checked(solver.x)
        except _NonFinite as bad:
            self._rolled_back(bad.evaluation)  # raises at the start
            raise DivergenceError(
                f"the last finite iterate no longer has a finite loss "
                f"({_terms(bad.evaluation)})",
                self.iteration,
            ) from None
        solver.know(loss, grad)
        self._solver = solver
        if not self.history:
            assert self._last is not None
            self._record(self._last[1], self.image, callback)
        return solver

    def _run_lbfgs(self, iterations: int, callback: Callback | None) -> None:
        solver = self._solver or self._start_lbfgs(callback)
        while self.iteration < iterations:
            try:
                moved = solver.step(self._evaluate_checked)
            except _NonFinite as bad:
                self._rolled_back(bad.evaluation)
                # L-BFGS's loss only decreases, so the best iterate is the last one.
                self._image = self.best_image
                self._solver = None
                solver = self._start_lbfgs(callback)
                continue
            if not moved:
                self.status = solver.status
                return
            x = solver.x
            if self._last is None or not np.array_equal(x, self._last[0]):
                self._evaluate_checked(x)
            assert self._last is not None
            self._record(self._last[1], x.reshape(self.problem.nchw_shape), callback)
        self.status = "iterations"

    # -- GD and Adam ---------------------------------------------------------------

    def _run_first_order(self, iterations: int, callback: Callback | None) -> None:
        """A compiled step that returns the losses before it updates the image."""
        problem = self.problem
        image = problem.image
        if self._step is None:
            self._step = _first_order_step(problem, self.settings)
            self._step.reset(problem, self.learning_rate)
            problem.set_image(self._image)
        step = self._step
        while True:
            at_end = self.iteration == iterations
            if at_end and self._recorded:
                break
            before = image.get_value()
            if at_end:  # the last image: evaluate it without moving on
                evaluation, _ = problem.evaluate()
            else:
                values = [float(v) for v in step.function()]
                problem.evaluations += 1
                evaluation = problem.evaluation_from_terms(
                    dict(zip(step.names, values, strict=True))
                )
            if not np.isfinite(evaluation.total):
                self._rolled_back(evaluation)
                self._roll_back_first_order()
                continue
            if not self._recorded:
                self._anchor = before
                self._record(evaluation, before, callback)
            # A step moved on to an image not yet evaluated; the end evaluated one.
            self._recorded = at_end
        self.status = "iterations"

    def _roll_back_first_order(self) -> None:
        assert self._step is not None and self._anchor is not None
        self.learning_rate /= 2
        self._step.reset(self.problem, self.learning_rate)
        self.problem.set_image(self._anchor)
        self._recorded = True  # the anchor's loss is in the history

    # -- saving and restoring ------------------------------------------------------

    def state(self) -> MinimizerState:
        """A copy of everything needed to continue (see :meth:`restore`)."""
        arrays = {"image": self.image, "best_image": self.best_image.copy()}
        info: dict[str, Any] = {
            "learning_rate": self.learning_rate,
            "rollbacks": self.rollbacks,
            "best_iteration": self.best_iteration,
            "best_loss": self.best_loss,
            "started": self._solver is not None or self._step is not None,
        }
        if self._solver is not None:
            arrays.update({f"lbfgs.{k}": v for k, v in self._solver.state().items()})
            info["lbfgs_layout"] = state_version()
        if self._step is not None:
            for i, variable in enumerate(self._step.state):
                arrays[f"first_order.{i}"] = variable.get_value()
            info["recorded"] = self._recorded
            info["anchor"] = self._anchor is not None
            if self._anchor is not None:
                arrays["anchor"] = self._anchor
        return MinimizerState(self.settings.method, arrays, info, History(self.history))

    @classmethod
    def restore(
        cls,
        problem: StyleProblem,
        settings: OptimizerSettings | None,
        state: MinimizerState,
    ) -> Minimizer:
        """A minimizer that continues exactly where the one that gave ``state`` was.

        Raises
        ------
        ValueError
            If ``state`` is of another optimiser, of another image size, or was
            written by a scipy whose L-BFGS-B state layout differs.
        """
        settings = settings or OptimizerSettings()
        if state.method != settings.method:
            raise ValueError(
                f"the saved state is of optimizer {state.method!r}, not "
                f"{settings.method!r}"
            )
        image = np.asarray(state.arrays["image"], np.float32)
        if image.shape != problem.nchw_shape:
            raise ValueError(
                f"the saved image is {image.shape}, the problem's {problem.nchw_shape}"
            )
        self = cls.__new__(cls)
        self._setup(problem, settings, History(state.history))
        info = state.info
        self._image = image
        self.best_image = np.asarray(state.arrays["best_image"], np.float32)
        self.best_iteration = int(info["best_iteration"])
        self.best_loss = float(info["best_loss"])
        self.rollbacks = int(info["rollbacks"])
        self.learning_rate = float(info["learning_rate"])
        if not info.get("started"):
            return self
        if settings.method == "lbfgs":
            self._restore_lbfgs(state)
        else:
            self._restore_first_order(state)
        return self

    def _restore_lbfgs(self, state: MinimizerState) -> None:
        layout = state.info.get("lbfgs_layout")
        if layout != state_version():
            raise ValueError(
                f"the L-BFGS-B state was saved with {layout}; this is {state_version()}, "
                "whose state layout may differ: resume with the scipy that wrote it"
            )
        prefix = "lbfgs."
        arrays = {
            k[len(prefix) :]: v for k, v in state.arrays.items() if k.startswith(prefix)
        }
        bounds = _lbfgs_bounds(self.problem) if self.settings.bounds else None
        self._solver = LBFGSB.from_state(arrays, bounds, LBFGS_SETTINGS)

    def _restore_first_order(self, state: MinimizerState) -> None:
        step = _first_order_step(self.problem, self.settings)
        step.reset(self.problem, self.learning_rate)
        for i, variable in enumerate(step.state):
            want = variable.get_value(borrow=True)
            got = np.asarray(state.arrays[f"first_order.{i}"])
            if got.dtype != want.dtype or got.ndim != want.ndim:
                raise ValueError(
                    f"saved optimizer state {i} is {got.dtype}{list(got.shape)}, "
                    f"expected a {want.ndim}-d {want.dtype} array"
                )
            variable.set_value(got)
        self._step = step
        self.problem.set_image(self._image)
        self._recorded = bool(state.info["recorded"])
        if state.info.get("anchor"):
            self._anchor = np.asarray(state.arrays["anchor"], np.float32)


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
        L-BFGS iterations (each may take a few evaluations) or GD/Adam steps.
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


def _likely_cause(
    evaluation: Evaluation, settings: OptimizerSettings, *, start: bool
) -> str:
    parts = (evaluation.content, evaluation.style, evaluation.tv_raw)
    if not all(np.isfinite(p) for p in parts):
        return (
            "a loss term itself is not finite: the weights file or an image probably "
            "holds NaN or infinite values"
        )
    if start:
        return (
            "the loss weights are too large for float32 (alpha, beta or tv-weight: "
            "keep alpha*content + beta*style below about 1e38)"
        )
    if settings.method != "lbfgs":
        return (
            f"the learning rate ({settings.learning_rate:g}) is probably too large; "
            "or the loss weights (alpha, beta, tv-weight) are"
        )
    return "the loss weights (alpha, beta, tv-weight) are probably too large"


def _lbfgs_bounds(problem: StyleProblem) -> tuple[np.ndarray, np.ndarray]:
    low, high = problem.pixel_bounds()
    shape = problem.nchw_shape
    lows = np.broadcast_to(low, shape).ravel().astype(np.float64)
    highs = np.broadcast_to(high, shape).ravel().astype(np.float64)
    return lows, highs


@dataclass
class _FirstOrderStep:
    """A compiled GD or Adam step: returns the losses, then updates the image."""

    function: Callable
    names: list[str]
    learning_rate: SharedVariable  # shared float32 scalar
    state: list  # Adam's moments and step count: zeroed at each run's start

    def reset(self, problem: StyleProblem, learning_rate: float) -> None:
        self.learning_rate.set_value(np.float32(learning_rate))
        for variable in self.state:
            value = variable.get_value(borrow=True)
            shape = problem.nchw_shape if value.ndim == 4 else value.shape
            variable.set_value(np.zeros(shape, value.dtype))


# One compiled step per problem and optimiser: compiling takes seconds, and a
# comparison of learning rates or seeds runs the same step many times.
_steps: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _first_order_step(
    problem: StyleProblem, settings: OptimizerSettings
) -> _FirstOrderStep:
    key = (
        settings.method,
        settings.beta1,
        settings.beta2,
        settings.epsilon,
        settings.bounds,
    )
    cached = _steps.setdefault(problem, {})
    if key not in cached:
        cached[key] = _compile_first_order_step(problem, settings)
    return cached[key]


def _compile_first_order_step(
    problem: StyleProblem, settings: OptimizerSettings
) -> _FirstOrderStep:
    image = problem.image
    learning_rate = pytensor.shared(np.float32(settings.learning_rate), "learning_rate")
    if settings.method == "adam":
        updates = adam(
            [problem.gradient],
            [image],
            learning_rate,
            settings.beta1,
            settings.beta2,
            settings.epsilon,
        )
    else:
        updates = sgd([problem.gradient], [image], learning_rate)
    state = [variable for variable in updates if variable is not image]
    if settings.bounds:
        low, high = (np.asarray(b, dtype=np.float32) for b in problem.pixel_bounds())
        updates[image] = pt.clip(updates[image], low, high)
    names = list(problem.terms)
    step = function(
        [], [problem.terms[n] for n in names], updates=updates, backend=problem.backend
    )
    return _FirstOrderStep(step, names, learning_rate, state)
