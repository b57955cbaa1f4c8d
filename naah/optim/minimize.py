"""One interface to the three optimisers the report compares: L-BFGS, GD and Adam.

All of them minimise a :class:`naah.problem.StyleProblem` over its generated image,
record a :class:`History` and call ``callback(record, image)`` after every iteration.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile.sharedvalue import SharedVariable

from naah.compile import function
from naah.optim.history import History, IterationRecord
from naah.optim.updates import adam, sgd

if TYPE_CHECKING:
    from naah.problem import Evaluation, StyleProblem

METHODS = ("lbfgs", "adam", "gd")

# L-BFGS history size: scipy's default, and what Gatys-style implementations use.
LBFGS_MEMORY = 10


@dataclass(frozen=True)
class OptimizerSettings:
    """Settings of :func:`minimize`.

    ``learning_rate`` is for 'gd' and 'adam' (pixel units). ``bounds`` keeps pixels
    in 0–255: L-BFGS-B's box constraints, or a clip after each GD/Adam step.
    """

    method: str = "lbfgs"
    learning_rate: float = 1.0
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    bounds: bool = True

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(
                f"unknown optimizer {self.method!r}; choose one of {METHODS}"
            )
        if not self.learning_rate > 0:
            raise ValueError(
                f"learning rate must be positive, got {self.learning_rate}"
            )
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")


Callback = Callable[[IterationRecord, np.ndarray], None]


class _Recorder:
    """Turns evaluations into history records and forwards them to the callback."""

    def __init__(self, problem: StyleProblem, callback: Callback | None) -> None:
        self.problem = problem
        self.callback = callback
        self.history = History()
        self.start = time.perf_counter()

    def record(self, evaluation: Evaluation, image_nchw: np.ndarray) -> None:
        record = IterationRecord(
            iteration=len(self.history),
            total=evaluation.total,
            content=evaluation.content,
            style=evaluation.style,
            tv=evaluation.tv,
            time=time.perf_counter() - self.start,
            evaluations=self.problem.evaluations,
            style_layers=dict(evaluation.style_layers),
        )
        self.history.append(record)
        if self.callback is not None:
            self.callback(record, image_nchw)


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
    history : History
    """
    settings = settings or OptimizerSettings()
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    recorder = _Recorder(problem, callback)
    # On the "c" backend naah's kernels split their work between threads and BLAS
    # stays on one (naah.ops.threads); holding that for the whole run also keeps
    # L-BFGS-B's own vector work, 1.1-3x slower on two BLAS threads, on one.
    with problem.runtime.activate(problem.backend):
        if settings.method == "lbfgs":
            image = _lbfgs(problem, initial, iterations, settings, recorder)
        else:
            image = _first_order(problem, initial, iterations, settings, recorder)
    return image, recorder.history


def _lbfgs(
    problem: StyleProblem,
    initial: np.ndarray,
    iterations: int,
    settings: OptimizerSettings,
    recorder: _Recorder,
) -> np.ndarray:
    """One scipy L-BFGS-B run for all iterations, so its memory spans the whole run."""
    last: dict = {}

    def loss_and_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
        # scipy starts by evaluating x0, which iteration 0 already did.
        if "x" in last and np.array_equal(x, last["x"]):
            return last["evaluation"].total, last["grad"].copy()
        evaluation, grad = problem.evaluate(x)
        last.update(
            x=x.copy(), evaluation=evaluation, grad=grad.ravel().astype(np.float64)
        )
        return evaluation.total, last["grad"].copy()

    def on_iteration(x: np.ndarray) -> None:
        if not np.array_equal(x, last["x"]):
            loss_and_grad(x)
        recorder.record(last["evaluation"], x.reshape(problem.nchw_shape))

    x0 = np.asarray(initial, dtype=np.float64).ravel()
    loss_and_grad(x0)
    recorder.record(last["evaluation"], x0.reshape(problem.nchw_shape))
    if iterations == 0:
        return x0.reshape(problem.nchw_shape).astype(np.float32)
    from scipy.optimize import fmin_l_bfgs_b  # 0.14 s to import: only when used

    bounds = _lbfgs_bounds(problem) if settings.bounds else None
    x, _, _ = fmin_l_bfgs_b(
        loss_and_grad,
        x0,
        bounds=bounds,
        m=LBFGS_MEMORY,
        maxiter=iterations,
        maxfun=max(15000, 20 * iterations),
        factr=10.0,
        pgtol=0.0,
        callback=on_iteration,
    )
    return x.reshape(problem.nchw_shape).astype(np.float32)


def _lbfgs_bounds(problem: StyleProblem) -> np.ndarray:
    low, high = problem.pixel_bounds()
    shape = problem.nchw_shape
    lows = np.broadcast_to(low, shape).ravel().astype(np.float64)
    highs = np.broadcast_to(high, shape).ravel().astype(np.float64)
    return np.stack([lows, highs], axis=1)


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


def _first_order(
    problem: StyleProblem,
    initial: np.ndarray,
    iterations: int,
    settings: OptimizerSettings,
    recorder: _Recorder,
) -> np.ndarray:
    """GD or Adam: a compiled step that returns the losses before updating the image."""
    problem.set_image(initial)
    image = problem.image
    step = _first_order_step(problem, settings)
    step.reset(problem, settings.learning_rate)
    for _ in range(iterations):
        before = image.get_value()
        values = dict(zip(step.names, (float(v) for v in step.function()), strict=True))
        problem.evaluations += 1
        recorder.record(problem.evaluation_from_terms(values), before)
    evaluation, _ = problem.evaluate()
    result = image.get_value()
    recorder.record(evaluation, result)
    return result
