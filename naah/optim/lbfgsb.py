"""scipy's L-BFGS-B, driven one iteration at a time with a state that can be saved.

``scipy.optimize.fmin_l_bfgs_b`` runs to the end in one call and keeps its memory
(the correction pairs s_k, y_k and the line search's progress) to itself, so a run
restarted from its last image is a different run. The same L-BFGS-B code is reachable
through its reverse-communication entry point, ``scipy.optimize._lbfgsb.setulb``: it
returns to the caller whenever it wants the loss and gradient at ``x`` ("FG") and
after every iteration ("NEW_X"), and all of its state lives in a handful of arrays
that the caller owns. :class:`LBFGSB` holds those arrays, so that

* its iterates are exactly those of ``fmin_l_bfgs_b`` with the same settings (the
  tests check it against scipy's own function), and
* :meth:`LBFGSB.state` / :meth:`LBFGSB.from_state` save and restore it between two
  iterations, after which the run continues with the very same iterates.

``setulb`` is scipy's private interface; its C version (scipy >= 1.15) is the one
supported. The arrays' layout belongs to that code, so a saved state is only restored
with the scipy version that wrote it (:data:`STATE_VERSION`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# setulb's task codes (scipy/optimize/_lbfgsb_py.py, status_messages).
_START, _NEW_X, _FG, _CONVERGENCE, _STOP = 0, 1, 3, 4, 5
_STATUS = {
    0: "start",
    1: "new iterate",
    2: "restart",
    3: "wants loss and gradient",
    4: "converged",
    5: "stopped",
    6: "warning",
    7: "error in the input",
    8: "line search failed",
}
# Bound types of setulb's ``nbd``: 0 none, 1 lower only, 2 both, 3 upper only.
_BOTH_BOUNDS = 2
# The arrays setulb reads and writes: together, L-BFGS-B's whole state.
_STATE_ARRAYS = (
    "x",
    "f",
    "g",
    "wa",
    "iwa",
    "task",
    "ln_task",
    "lsave",
    "isave",
    "dsave",
)


def _scipy_version() -> str:
    import scipy

    return scipy.__version__


@dataclass(frozen=True)
class LBFGSBSettings:
    """Settings of :class:`LBFGSB`: those of ``fmin_l_bfgs_b`` (``m``, ``factr``,
    ``pgtol``, ``maxls``)."""

    m: int = 10
    factr: float = 10.0
    pgtol: float = 0.0
    maxls: int = 20


class LBFGSB:
    """scipy's L-BFGS-B over a float64 vector, one iteration per :meth:`step`.

    Parameters
    ----------
    x0 : ndarray, shape (n,)
        Start point; it is projected into the bounds.
    bounds : tuple of two ndarrays of shape (n,), optional
        Lower and upper bounds (finite), or None for none.
    settings : LBFGSBSettings

    Examples
    --------
    >>> target = np.array([1.0, -2.0, 3.0])
    >>> def loss_and_grad(x):
    ...     return float(((x - target) ** 2).sum()), 2 * (x - target)
    >>> solver = LBFGSB(np.zeros(3))
    >>> for _ in range(5):
    ...     _ = solver.step(loss_and_grad)
    >>> np.allclose(solver.x, target)
    True
    """

    def __init__(
        self,
        x0: np.ndarray,
        bounds: tuple[np.ndarray, np.ndarray] | None = None,
        settings: LBFGSBSettings = LBFGSBSettings(),
    ) -> None:
        n = x0.size
        m = settings.m
        self.settings = settings
        self.low = np.zeros(n)
        self.high = np.zeros(n)
        self.nbd = np.zeros(n, np.int32)
        x = np.array(x0, dtype=np.float64).ravel()
        if bounds is not None:
            self.low[:] = bounds[0]
            self.high[:] = bounds[1]
            self.nbd[:] = _BOTH_BOUNDS
            np.clip(x, self.low, self.high, out=x)
        self.arrays: dict[str, np.ndarray] = {
            "x": x,
            "f": np.zeros((), np.float64),
            "g": np.zeros(n, np.float64),
            "wa": np.zeros(2 * m * n + 5 * n + 11 * m * m + 8 * m, np.float64),
            "iwa": np.zeros(3 * n, np.int32),
            "task": np.zeros(2, np.int32),
            "ln_task": np.zeros(2, np.int32),
            "lsave": np.zeros(4, np.int32),
            "isave": np.zeros(44, np.int32),
            "dsave": np.zeros(29, np.float64),
        }
        # The first FG request is for x0: a caller that already evaluated it can say
        # so with `know` and save one evaluation.
        self._known: tuple[float, np.ndarray] | None = None

    @property
    def x(self) -> np.ndarray:
        """The current iterate (a view: copy it to keep it)."""
        return self.arrays["x"]

    @property
    def loss(self) -> float:
        """The loss at the current iterate."""
        return float(self.arrays["f"])

    @property
    def status(self) -> str:
        """What the solver is doing or why it stopped, in words."""
        return _STATUS.get(int(self.arrays["task"][0]), "unknown")

    @property
    def finished(self) -> bool:
        """True once L-BFGS-B has converged or given up (its line search failed)."""
        return int(self.arrays["task"][0]) not in (_START, _NEW_X, _FG)

    def know(self, loss: float, grad: np.ndarray) -> None:
        """Give the loss and gradient at the start point, already evaluated."""
        self._known = (float(loss), np.asarray(grad, np.float64).ravel())

    def step(
        self,
        loss_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
    ) -> bool:
        """Run one iteration: evaluations until L-BFGS-B accepts a new iterate.

        Parameters
        ----------
        loss_and_grad : callable(x) -> (float, ndarray of shape (n,))

        Returns
        -------
        bool
            True when a new iterate was reached; False when the solver has finished
            (see :attr:`status`), leaving :attr:`x` at its best point.
        """
        from scipy.optimize import _lbfgsb  # 0.14 s to import: only when used

        a = self.arrays
        s = self.settings
        while True:
            task = int(a["task"][0])
            # An FG request is answered before setulb is called again: also the one
            # pending in a state saved while its evaluation was interrupted.
            if task == _FG:
                if self._known is not None:
                    loss, grad = self._known
                    self._known = None
                else:
                    loss, grad = loss_and_grad(a["x"])
                a["f"][...] = loss
                a["g"][:] = grad
            elif task not in (_START, _NEW_X):
                return False
            _lbfgsb.setulb(
                s.m,
                a["x"],
                self.low,
                self.high,
                self.nbd,
                a["f"],
                a["g"],
                s.factr,
                s.pgtol,
                a["wa"],
                a["iwa"],
                a["task"],
                a["lsave"],
                a["isave"],
                a["dsave"],
                s.maxls,
                a["ln_task"],
            )
            if int(a["task"][0]) == _NEW_X:
                return True

    def state(self) -> dict[str, np.ndarray]:
        """Copies of the arrays that hold the solver's whole state."""
        return {name: self.arrays[name].copy() for name in _STATE_ARRAYS}

    @classmethod
    def from_state(
        cls,
        state: dict[str, np.ndarray],
        bounds: tuple[np.ndarray, np.ndarray] | None = None,
        settings: LBFGSBSettings = LBFGSBSettings(),
    ) -> LBFGSB:
        """A solver that continues exactly where the one that gave ``state`` was.

        Raises
        ------
        ValueError
            If ``state`` lacks an array or has one of the wrong size or type.
        """
        solver = cls(np.asarray(state["x"]), bounds, settings)
        for name in _STATE_ARRAYS:
            if name not in state:
                raise ValueError(f"L-BFGS-B state lacks its {name!r} array")
            want = solver.arrays[name]
            got = np.asarray(state[name])
            if got.shape != want.shape or got.dtype != want.dtype:
                raise ValueError(
                    f"L-BFGS-B state array {name!r} is {got.dtype}{list(got.shape)}, "
                    f"expected {want.dtype}{list(want.shape)}"
                )
            want[...] = got
        return solver


def state_version() -> str:
    """The scipy version whose L-BFGS-B state layout a saved state needs."""
    return f"scipy-{_scipy_version()}"
