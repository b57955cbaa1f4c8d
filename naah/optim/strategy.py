"""What :class:`naah.optim.Minimizer` needs of an optimiser: the :class:`Optimizer`
interface, one object per name in :data:`naah.optim.OPTIMIZERS`.

The Minimizer keeps what every optimiser shares (the history, the best iterate, the
divergence guard's count of rollbacks, the step size) and hands the rest to the
registry's entry for ``settings.method``. That object keeps nothing of a run, as
optax's transformations keep no parameters: :meth:`Optimizer.start` and
:meth:`Optimizer.restore` return the run's own state (its *progress*: L-BFGS-B's
workspace, or the moments of a compiled step), which the other methods take. One
object therefore serves every run, and a run's progress is all that
:meth:`Optimizer.save` has to write.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import numpy as np

from naah.io.checkpoint import StoredArray

if TYPE_CHECKING:
    from naah.optim.minimize import Minimizer, MinimizerState, OptimizerSettings
    from naah.problem import Evaluation

#: An optimiser's state within one run.
Progress = TypeVar("Progress")
#: An array of a saved state: in memory, or in a checkpoint's file, whose dtype and
#: shape are known before it is read (``numpy.asarray`` reads it).
SavedArray = np.ndarray | StoredArray


def read_into(target: np.ndarray, saved: SavedArray) -> None:
    """Copy a saved array into ``target`` (of its dtype and shape); one in a
    checkpoint is read straight into it, with no array of its size besides."""
    if isinstance(saved, StoredArray) and target.flags.c_contiguous:
        saved.read(out=target)
    else:
        target[...] = np.asarray(saved)


def check_saved(
    arrays: Mapping[str, SavedArray],
    wanted: Mapping[str, tuple[Any, tuple[int, ...]]],
    what: str,
    why: str = "",
) -> None:
    """Refuse saved ``arrays`` that lack one of ``wanted`` (name: dtype, shape) or
    hold one of another dtype or shape, before any is read; the message names
    ``what`` they are, and ends with ``why`` those shapes.

    Raises
    ------
    ValueError
        Naming the array, what it is and what was expected.
    """
    for name, (dtype, shape) in wanted.items():
        if name not in arrays:
            raise ValueError(f"{what} lacks its {name!r} array")
        got = arrays[name]
        if got.shape != tuple(shape) or got.dtype != np.dtype(dtype):
            raise ValueError(
                f"{what} array {name!r} is {got.dtype}{list(got.shape)}, expected "
                f"{np.dtype(dtype)}{list(shape)}{why}"
            )


class NonFinite(Exception):
    """The loss or its gradient at an iterate is NaN or infinite.

    An :class:`Optimizer` raises it from :meth:`~Optimizer.start`,
    :meth:`~Optimizer.iterate` or :meth:`~Optimizer.roll_back`; the Minimizer's
    divergence guard counts a rollback and calls :meth:`~Optimizer.roll_back`.
    """

    def __init__(self, evaluation: Evaluation) -> None:
        super().__init__(evaluation)
        self.evaluation = evaluation


class Optimizer(ABC, Generic[Progress]):
    """One optimiser as :class:`naah.optim.Minimizer` runs it.

    ``run`` is the Minimizer: an optimiser reads its ``problem``, ``settings``,
    ``learning_rate`` (which its :meth:`roll_back` may halve), ``history``,
    ``best_image``, ``image`` (before :meth:`start`: the start image) and
    ``iteration``, and calls ``run.record(evaluation, image)`` for each iterate it
    reaches.

    Examples
    --------
    Two entries of the registry:

    >>> from naah.optim import OPTIMIZERS
    >>> OPTIMIZERS["lbfgs"]
    LBFGS(settings=LBFGSBSettings(m=10, factr=10.0, pgtol=0.0, maxls=20))
    >>> OPTIMIZERS["momentum"]
    FirstOrder(momentum, ('momentum',))
    """

    #: Loss-and-gradient evaluations an iteration takes, about (for the time a run
    #: will take: ``naah stylize --dry-run``).
    evaluations_per_iteration: ClassVar[float] = 1.0

    @abstractmethod
    def start(self, run: Minimizer) -> Progress:
        """Begin at ``run.image``; an optimiser that evaluates it records it as
        iteration 0 when the history is empty."""

    @abstractmethod
    def iterate(self, run: Minimizer, progress: Progress, iterations: int) -> str:
        """Iterate until ``run.iteration`` is ``iterations``, recording every iterate.

        Returns
        -------
        str
            Why it stopped: ``'iterations'``, or the optimiser's own reason for
            stopping earlier (L-BFGS-B's ``'converged'``, say).

        Raises
        ------
        NonFinite
            At an iterate whose loss or gradient is not finite; ``progress`` stays
            as it was then, for :meth:`roll_back`.
        """

    @abstractmethod
    def roll_back(self, run: Minimizer, progress: Progress) -> Progress:
        """Go back to the last iterate with a finite loss, with fresh memory (and,
        for the step-size methods, half the step), after :meth:`iterate` raised
        :class:`NonFinite`."""

    @abstractmethod
    def image(self, run: Minimizer, progress: Progress) -> np.ndarray:
        """The current iterate, (1, 3, H, W)."""

    def recorded(self, progress: Progress) -> bool:
        """Whether the current iterate is in the history: always, unless the
        optimiser evaluates an iterate only as it moves on from it."""
        return True

    @abstractmethod
    def save(self, progress: Progress) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Copies of the optimiser's arrays and JSON scalars, each name prefixed
        by the optimiser's family (``lbfgs.``, ``first_order.``): they go into the
        :class:`~naah.optim.MinimizerState` beside the Minimizer's own."""

    @abstractmethod
    def restore(self, run: Minimizer, state: MinimizerState) -> Progress:
        """The progress that :meth:`save` wrote into ``state``.

        Raises
        ------
        ValueError
            If the state's arrays do not fit this optimiser and problem.
        """

    def likely_cause(self, settings: OptimizerSettings) -> str:
        """The probable reason why a run that started finite diverged, for the
        message of :class:`naah.optim.DivergenceError`."""
        return "the loss weights (alpha, beta, tv-weight) are probably too large"
