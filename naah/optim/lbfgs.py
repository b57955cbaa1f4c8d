"""L-BFGS-B over a problem's image: the registry's ``'lbfgs'``.

It drives :class:`naah.optim.lbfgsb.LBFGSB` (scipy's L-BFGS-B, one iteration at a
time) with the problem's loss and gradient, and saves that driver's arrays, so a
restored run follows the same iterates (also from the middle of a line search). On a
non-finite loss it starts afresh, with an empty memory, from the last iterate:
L-BFGS-B's loss only decreases, so that is the best one.

A problem with a memory budget for its optimiser
(:attr:`naah.problem.StyleProblem.optimizer_budget`, bytes) whose L-BFGS-B state
would not fit gets :class:`naah.optim.float_lbfgs.FloatLBFGS` instead: naah's own
L-BFGS in float32, with the longest history that fits
(:func:`lbfgs_implementation` chooses). Its state is saved and restored the same
way; a state of one implementation is not restored into the other.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from naah.estimate import format_bytes, lbfgs_state
from naah.optim.float_lbfgs import FloatLBFGS, lbfgs_history_for
from naah.optim.lbfgsb import LBFGSB, LBFGSBSettings, state_version
from naah.optim.strategy import NonFinite, Optimizer

if TYPE_CHECKING:
    from naah.optim.minimize import Minimizer, MinimizerState
    from naah.problem import Evaluation, StyleProblem

# L-BFGS history size: scipy's default, and what Gatys-style implementations use.
LBFGS_MEMORY = 10
# fmin_l_bfgs_b's settings of naah's runs before the driver of naah.optim.lbfgsb:
# stop on iterations only (factr 10 and pgtol 0 almost never trigger).
LBFGS_SETTINGS = LBFGSBSettings(m=LBFGS_MEMORY, factr=10.0, pgtol=0.0)
# Names of the driver's arrays in a saved state: lbfgs.x, lbfgs.wa, ...
_PREFIX = "lbfgs."
# The saved state's "lbfgs_layout" for naah's float32 L-BFGS (scipy's is
# "scipy-<version>", naah.optim.lbfgsb.state_version): the arrays of
# FloatLBFGS.state, version 1.
FLOAT32_LAYOUT = "naah-float32-1"
# The two implementations, as lbfgs_implementation names them and messages say.
_NAMES = {"scipy": "scipy's float64 L-BFGS-B", "float32": "naah's float32 L-BFGS"}


def lbfgs_implementation(
    problem: StyleProblem, settings: LBFGSBSettings = LBFGS_SETTINGS
) -> tuple[str, int]:
    """Which L-BFGS runs over ``problem``'s image, and its history length m.

    ``'scipy'`` (L-BFGS-B, ``settings.m`` pairs) when the problem sets no
    ``optimizer_budget`` or L-BFGS-B's state fits it
    (:func:`naah.estimate.lbfgs_state`); else ``'float32'``
    (:class:`~naah.optim.float_lbfgs.FloatLBFGS`) with the largest m <=
    ``settings.m`` whose state fits.

    Raises
    ------
    ValueError
        If not even the float32 state with 3 pairs fits the budget.

    Examples
    --------
    >>> class Problem:  # what is read of a StyleProblem
    ...     nchw_shape = (1, 3, 1536, 2048)
    ...     optimizer_budget = 500 * 2**20
    >>> lbfgs_implementation(Problem())
    ('float32', 5)
    >>> Problem.optimizer_budget = None
    >>> lbfgs_implementation(Problem())
    ('scipy', 10)
    """
    budget = getattr(problem, "optimizer_budget", None)
    values = math.prod(problem.nchw_shape)
    if budget is None or lbfgs_state(values) <= budget:
        return "scipy", settings.m
    return "float32", lbfgs_history_for(budget, values, settings.m)


@dataclass
class _Progress:
    solver: LBFGSB | FloatLBFGS
    # The last point evaluated and its evaluation: after an iteration, the solver's
    # iterate is almost always that point, whose record needs no new evaluation.
    # The point is None for FloatLBFGS, whose iterate always is that point.
    last: tuple[np.ndarray | None, Evaluation] | None = None

    def evaluated_at(self, x: np.ndarray) -> bool:
        """Whether the last evaluation was at ``x``."""
        if self.last is None:
            return False
        return self.last[0] is None or np.array_equal(x, self.last[0])


@dataclass(frozen=True)
class LBFGS(Optimizer[_Progress]):
    """L-BFGS-B, with the pixel bounds as its box when ``settings.bounds``.

    Parameters
    ----------
    settings : LBFGSBSettings
        Memory, tolerances and line-search length (:data:`LBFGS_SETTINGS`).
    """

    settings: LBFGSBSettings = LBFGS_SETTINGS
    # The line search evaluates about 1.2 times per iteration on style transfer
    # (the evaluations column of a run's history).
    evaluations_per_iteration: ClassVar[float] = 1.2

    def start(self, run: Minimizer) -> _Progress:
        implementation, m = lbfgs_implementation(run.problem, self.settings)
        settings = (
            self.settings if m == self.settings.m else replace(self.settings, m=m)
        )
        progress = self._start_at(run, run.image, implementation, settings)
        if not run.history:
            assert progress.last is not None
            run.record(progress.last[1], self.image(run, progress))
        return progress

    def iterate(self, run: Minimizer, progress: _Progress, iterations: int) -> str:
        shape = run.problem.nchw_shape
        solver = progress.solver
        evaluate = self._evaluator(run.problem, progress)
        while run.iteration < iterations:
            if not solver.step(evaluate):
                return solver.status
            x = solver.x
            if not progress.evaluated_at(x):
                evaluate(x)
            assert progress.last is not None
            run.record(progress.last[1], x.reshape(shape))
        return "iterations"

    def roll_back(self, run: Minimizer, progress: _Progress) -> _Progress:
        solver = progress.solver
        implementation = "float32" if isinstance(solver, FloatLBFGS) else "scipy"
        return self._start_at(run, run.best_image, implementation, solver.settings)

    def image(self, run: Minimizer, progress: _Progress) -> np.ndarray:
        return progress.solver.x.reshape(run.problem.nchw_shape).astype(np.float32)

    def save(self, progress: _Progress) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        solver = progress.solver
        arrays = {f"{_PREFIX}{k}": v for k, v in solver.state().items()}
        if isinstance(solver, FloatLBFGS):
            return arrays, {
                "lbfgs_layout": FLOAT32_LAYOUT,
                "lbfgs_history": solver.settings.m,
            }
        return arrays, {"lbfgs_layout": state_version()}

    def restore(self, run: Minimizer, state: MinimizerState) -> _Progress:
        layout = state.info.get("lbfgs_layout")
        saved = "float32" if layout == FLOAT32_LAYOUT else "scipy"
        implementation, m = lbfgs_implementation(run.problem, self.settings)
        if saved != implementation:
            raise ValueError(_other_implementation(run.problem, saved, implementation))
        arrays = {
            k.removeprefix(_PREFIX): v
            for k, v in state.arrays.items()
            if k.startswith(_PREFIX)
        }
        # The iterate's shape, as saved, against the problem's: the other arrays'
        # shapes follow from it, and each is checked before it is read.
        shape = run.problem.nchw_shape
        wanted = tuple(shape) if saved == "float32" else (math.prod(shape),)
        saved_x = np.shape(arrays["x"]) if "x" in arrays else None
        if saved_x != wanted:
            raise ValueError(
                f"the saved L-BFGS iterate 'lbfgs.x' has shape {saved_x}; this "
                f"problem's is {wanted}"
            )
        if saved == "float32":
            history = int(state.info["lbfgs_history"])
            if history > m:
                raise ValueError(
                    f"the float32 L-BFGS state was saved with {history} pairs; this "
                    f"run's optimizer_budget holds {m}: resume with the memory budget "
                    "it was saved with"
                )
            settings = replace(self.settings, m=history)
            bounds = self._pixel_bounds(run)
            return _Progress(FloatLBFGS.from_state(arrays, bounds, settings))
        if layout != state_version():
            raise ValueError(
                f"the L-BFGS-B state was saved with {layout}; this is {state_version()}, "
                "whose state layout may differ: resume with the scipy that wrote it"
            )
        solver = LBFGSB.from_state(arrays, self._bounds(run), self.settings)
        return _Progress(solver)

    def _start_at(
        self,
        run: Minimizer,
        image: np.ndarray,
        implementation: str,
        settings: LBFGSBSettings,
    ) -> _Progress:
        """A fresh solver at ``image``, told its loss and gradient there."""
        solver: LBFGSB | FloatLBFGS
        if implementation == "float32":
            image32 = np.asarray(image, np.float32)
            solver = FloatLBFGS(image32, self._pixel_bounds(run), settings)
        else:
            x0 = np.asarray(image, np.float64).ravel()
            solver = LBFGSB(x0, self._bounds(run), settings)
        progress = _Progress(solver)
        loss, grad = self._evaluator(run.problem, progress)(solver.x)
        solver.know(loss, grad)
        return progress

    def _bounds(self, run: Minimizer) -> tuple[np.ndarray, np.ndarray] | None:
        return lbfgs_bounds(run.problem) if run.settings.bounds else None

    def _pixel_bounds(self, run: Minimizer) -> tuple[np.ndarray, np.ndarray] | None:
        """FloatLBFGS's box: the (1, 3, 1, 1) pixel bounds, not expanded."""
        return run.problem.pixel_bounds() if run.settings.bounds else None

    @staticmethod
    def _evaluator(
        problem: StyleProblem, progress: _Progress
    ) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
        """The solver's ``loss_and_grad``, keeping the last evaluation, and
        :class:`NonFinite` on a NaN or infinite loss or gradient: float64 in and out
        for L-BFGS-B; the problem's float32 gradient itself for FloatLBFGS."""
        shape = problem.nchw_shape
        if isinstance(progress.solver, FloatLBFGS):

            def evaluate_float32(x: np.ndarray) -> tuple[float, np.ndarray]:
                evaluation, grad = problem.evaluate(x.reshape(shape))
                # A float64 sum of float32 values is finite iff they all are (and
                # needs no array of n booleans).
                total = float(np.sum(grad, dtype=np.float64))
                if not (math.isfinite(evaluation.total) and math.isfinite(total)):
                    raise NonFinite(evaluation)
                progress.last = (None, evaluation)
                return evaluation.total, grad

            return evaluate_float32

        def evaluate(x: np.ndarray) -> tuple[float, np.ndarray]:
            evaluation, grad = problem.evaluate(x.reshape(shape))
            if not (np.isfinite(evaluation.total) and np.isfinite(grad).all()):
                raise NonFinite(evaluation)
            progress.last = (x.copy(), evaluation)
            return evaluation.total, grad.ravel().astype(np.float64)

        return evaluate


def lbfgs_bounds(problem: StyleProblem) -> tuple[np.ndarray, np.ndarray]:
    """L-BFGS-B's box: the pixel bounds of every value of the flat float64 image."""
    low, high = problem.pixel_bounds()
    shape = problem.nchw_shape
    lows = np.broadcast_to(low, shape).ravel().astype(np.float64)
    highs = np.broadcast_to(high, shape).ravel().astype(np.float64)
    return lows, highs


def _other_implementation(problem: StyleProblem, saved: str, running: str) -> str:
    """Why a saved L-BFGS state does not fit this run, and what to do."""
    budget = getattr(problem, "optimizer_budget", None)
    if budget is None:
        why = "the problem has no optimizer_budget"
    else:
        values = math.prod(problem.nchw_shape)
        fits = "holds" if running == "scipy" else "is smaller than"
        why = (
            f"its optimizer_budget ({format_bytes(budget)}) {fits} L-BFGS-B's state "
            f"({format_bytes(lbfgs_state(values))})"
        )
    return (
        f"the saved L-BFGS state is {_NAMES[saved]}'s, but this run uses "
        f"{_NAMES[running]}: {why}. Resume with the memory budget the run was saved "
        "with"
    )
