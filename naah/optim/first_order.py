"""Gradient descent, Adam and momentum: one strategy, parametrised by an update rule.

The three differ only in the dictionary of symbolic updates that
:mod:`naah.optim.updates` returns (Lasagne's design) and in the settings it takes,
so :class:`FirstOrder` is one class and each is a line of the registry
(:data:`naah.optim.OPTIMIZERS`). Its compiled step returns the losses of the
current image and then updates the image (and the rule's own shared variables:
Adam's moments and step count, momentum's velocity), so one call is one iteration
and one evaluation.

The learning rate is a shared variable, so a run with another rate, or a rollback
that halves it, reuses the compiled step. The step is compiled once per problem
and per graph-changing setting, and kept in the problem's
:attr:`~naah.problem.StyleProblem.compiled`: it lives as long as the problem.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile.sharedvalue import SharedVariable

from naah.compile import function
from naah.optim.strategy import NonFinite, Optimizer, check_saved
from naah.optim.updates import Updates

if TYPE_CHECKING:
    from pytensor.compile import Function

    from naah.optim.minimize import Minimizer, MinimizerState, OptimizerSettings
    from naah.problem import StyleProblem

# Names of the arrays a first-order progress saves: first_order.<i> for the rule's
# i-th shared variable (its order in the update dict), and the rollback's anchor.
_PREFIX = "first_order."


@dataclass(frozen=True)
class _StepKey:
    """A compiled step's key in ``problem.compiled``: the rule, the settings that
    change its graph, and the clip to the pixel bounds."""

    rule: FirstOrder
    hyperparameters: tuple[float, ...]
    bounds: bool


@dataclass
class _Step:
    """A compiled first-order step: returns the losses, then updates the image."""

    function: Function
    names: list[str]
    learning_rate: SharedVariable  # shared float32 scalar
    state: list[SharedVariable]  # the rule's own: zeroed at each run's start

    def reset(self, problem: StyleProblem, learning_rate: float) -> None:
        self.learning_rate.set_value(np.float32(learning_rate))
        for variable in self.state:
            value = variable.get_value(borrow=True)
            shape = problem.nchw_shape if value.ndim == 4 else value.shape
            variable.set_value(np.zeros(shape, value.dtype))


@dataclass
class _Progress:
    step: _Step
    # Whether the current image's loss is in the history: the step evaluates an
    # image and moves on in one call, so the image it moved to has no record yet.
    recorded: bool = False
    # The last image with a finite loss, where a rollback returns.
    anchor: np.ndarray | None = None


@dataclass(frozen=True, repr=False)
class FirstOrder(Optimizer[_Progress]):
    """A first-order method: a compiled step of one of :mod:`naah.optim.updates`.

    Parameters
    ----------
    updates : callable(grads, params, learning_rate, **hyperparameters) -> dict
        The update rule, as :func:`naah.optim.sgd`, :func:`naah.optim.adam` and
        :func:`naah.optim.momentum` are.
    hyperparameters : tuple of str
        The :class:`~naah.optim.OptimizerSettings` fields that ``updates`` takes,
        by the same names. They are constants of the graph: other values compile
        another step.

    Examples
    --------
    >>> from naah.optim import adam
    >>> FirstOrder(adam, ("beta1", "beta2", "epsilon"))
    FirstOrder(adam, ('beta1', 'beta2', 'epsilon'))
    """

    updates: Callable[..., Updates]
    hyperparameters: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"FirstOrder({self.updates.__name__}, {self.hyperparameters})"

    def start(self, run: Minimizer) -> _Progress:
        step = self._step(run.problem, run.settings)
        step.reset(run.problem, run.learning_rate)
        run.problem.set_image(run.image)
        return _Progress(step)

    def iterate(self, run: Minimizer, progress: _Progress, iterations: int) -> str:
        problem = run.problem
        image = problem.image
        step = progress.step
        while True:
            at_end = run.iteration == iterations
            if at_end and progress.recorded:
                return "iterations"
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
                raise NonFinite(evaluation)
            if not progress.recorded:
                progress.anchor = before
                run.record(evaluation, before)
            # A step moved on to an image not yet evaluated; the end evaluated one.
            progress.recorded = at_end

    def roll_back(self, run: Minimizer, progress: _Progress) -> _Progress:
        assert progress.anchor is not None  # a record was made, or the guard raised
        run.learning_rate /= 2
        progress.step.reset(run.problem, run.learning_rate)
        run.problem.set_image(progress.anchor)
        progress.recorded = True  # the anchor's loss is in the history
        return progress

    def image(self, run: Minimizer, progress: _Progress) -> np.ndarray:
        return run.problem.image.get_value()

    def recorded(self, progress: _Progress) -> bool:
        return progress.recorded

    def save(self, progress: _Progress) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {
            f"{_PREFIX}{i}": variable.get_value()
            for i, variable in enumerate(progress.step.state)
        }
        info = {"recorded": progress.recorded, "anchor": progress.anchor is not None}
        if progress.anchor is not None:
            arrays["anchor"] = progress.anchor
        return arrays, info

    def restore(self, run: Minimizer, state: MinimizerState) -> _Progress:
        step = self._step(run.problem, run.settings)
        step.reset(run.problem, run.learning_rate)
        # Every array's dtype and shape before any is read: the step's own, and
        # the anchor an image.
        wanted = {
            f"{_PREFIX}{i}": (value.dtype, value.shape)
            for i, value in (
                (i, variable.get_value(borrow=True))
                for i, variable in enumerate(step.state)
            )
        }
        if state.info.get("anchor"):
            wanted["anchor"] = (np.float32, tuple(run.problem.nchw_shape))
        check_saved(state.arrays, wanted, f"the saved {run.settings.method} state")
        for i, variable in enumerate(step.state):
            variable.set_value(np.asarray(state.arrays[f"{_PREFIX}{i}"]))
        run.problem.set_image(run.image)
        progress = _Progress(step, recorded=bool(state.info["recorded"]))
        if state.info.get("anchor"):
            progress.anchor = np.asarray(state.arrays["anchor"], np.float32)
        return progress

    def likely_cause(self, settings: OptimizerSettings) -> str:
        return (
            f"the learning rate ({settings.learning_rate:g}) is probably too large; "
            "or the loss weights (alpha, beta, tv-weight) are"
        )

    def _step(self, problem: StyleProblem, settings: OptimizerSettings) -> _Step:
        """The problem's compiled step for these settings, compiled on first use
        (compiling takes seconds; a comparison of rates or seeds reuses it)."""
        values = tuple(getattr(settings, name) for name in self.hyperparameters)
        key = _StepKey(self, values, settings.bounds)
        step = problem.compiled.get(key)
        if step is None:
            step = problem.compiled[key] = self._compile(problem, settings)
        assert isinstance(step, _Step)
        return step

    def _compile(self, problem: StyleProblem, settings: OptimizerSettings) -> _Step:
        if getattr(problem, "gradient", None) is None:
            raise ValueError(
                f"the {settings.method} optimizer needs the image evaluated whole; "
                "this run is evaluated in blocks (tile_size, max_memory): use "
                "optimizer 'lbfgs', or a budget that fits the whole image"
            )
        image = problem.image
        learning_rate = pytensor.shared(
            np.float32(settings.learning_rate), "learning_rate"
        )
        updates = self.updates(
            [problem.gradient],
            [image],
            learning_rate,
            **{name: getattr(settings, name) for name in self.hyperparameters},
        )
        state = [
            variable
            for variable in updates
            if isinstance(variable, SharedVariable) and variable is not image
        ]
        if settings.bounds:
            low, high = (np.asarray(b, np.float32) for b in problem.pixel_bounds())
            updates[image] = pt.clip(updates[image], low, high)
        names = list(problem.terms)
        compiled = function(
            [],
            [problem.terms[n] for n in names],
            updates=updates,
            backend=problem.backend,
        )
        return _Step(compiled, names, learning_rate, state)
