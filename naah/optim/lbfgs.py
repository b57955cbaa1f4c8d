"""L-BFGS-B over a problem's image: the registry's ``'lbfgs'``.

It drives :class:`naah.optim.lbfgsb.LBFGSB` (scipy's L-BFGS-B, one iteration at a
time) with the problem's loss and gradient, and saves that driver's arrays, so a
restored run follows the same iterates (also from the middle of a line search). On a
non-finite loss it starts afresh, with an empty memory, from the last iterate:
L-BFGS-B's loss only decreases, so that is the best one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

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


@dataclass
class _Progress:
    solver: LBFGSB
    # The last point evaluated and its evaluation: after an iteration, the solver's
    # iterate is almost always that point, whose record needs no new evaluation.
    last: tuple[np.ndarray, Evaluation] | None = None


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
        progress = self._start_at(run, run.image)
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
            if progress.last is None or not np.array_equal(x, progress.last[0]):
                evaluate(x)
            assert progress.last is not None
            run.record(progress.last[1], x.reshape(shape))
        return "iterations"

    def roll_back(self, run: Minimizer, progress: _Progress) -> _Progress:
        return self._start_at(run, run.best_image)

    def image(self, run: Minimizer, progress: _Progress) -> np.ndarray:
        return progress.solver.x.reshape(run.problem.nchw_shape).astype(np.float32)

    def save(self, progress: _Progress) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {f"{_PREFIX}{k}": v for k, v in progress.solver.state().items()}
        return arrays, {"lbfgs_layout": state_version()}

    def restore(self, run: Minimizer, state: MinimizerState) -> _Progress:
        layout = state.info.get("lbfgs_layout")
        if layout != state_version():
            raise ValueError(
                f"the L-BFGS-B state was saved with {layout}; this is {state_version()}, "
                "whose state layout may differ: resume with the scipy that wrote it"
            )
        arrays = {
            k.removeprefix(_PREFIX): v
            for k, v in state.arrays.items()
            if k.startswith(_PREFIX)
        }
        solver = LBFGSB.from_state(arrays, self._bounds(run), self.settings)
        return _Progress(solver)

    def _start_at(self, run: Minimizer, image: np.ndarray) -> _Progress:
        """A fresh solver at ``image``, told its loss and gradient there."""
        x0 = np.asarray(image, np.float64).ravel()
        progress = _Progress(LBFGSB(x0, self._bounds(run), self.settings))
        loss, grad = self._evaluator(run.problem, progress)(progress.solver.x)
        progress.solver.know(loss, grad)
        return progress

    def _bounds(self, run: Minimizer) -> tuple[np.ndarray, np.ndarray] | None:
        return lbfgs_bounds(run.problem) if run.settings.bounds else None

    @staticmethod
    def _evaluator(
        problem: StyleProblem, progress: _Progress
    ) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
        """The solver's ``loss_and_grad``: float64 in and out, keeping the last
        evaluation, and :class:`NonFinite` on a NaN or infinite loss or gradient."""
        shape = problem.nchw_shape

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
