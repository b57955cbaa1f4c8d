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

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from naah.optim.strategy import SavedArray, check_saved, read_into

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
# mainlb's integers in isave[21:41], in order ("_": a slot it does not use).
_MAINLB_SAVED = (
    "nintol", "_1", "_2", "iback", "nskip", "head", "col", "itail", "iter", "iupdat",
    "_10", "nseg", "nfgv", "info", "ifun", "iword", "nfree", "nact", "ileave",
    "nenter",
)  # fmt: skip
# Counters a run leaves below this (2^30: far from C's int overflow on increments).
_MAX_COUNT = 1 << 30
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
        state: Mapping[str, SavedArray],
        bounds: tuple[np.ndarray, np.ndarray] | None = None,
        settings: LBFGSBSettings = LBFGSBSettings(),
    ) -> LBFGSB:
        """A solver that continues exactly where the one that gave ``state`` was.

        Each array's dtype and size is checked before any is read, and the
        integers of L-BFGS-B's workspace before setulb, which trusts them as
        indices, is called (:func:`integer_state_problem`).

        Raises
        ------
        ValueError
            If ``state`` lacks an array, has one of the wrong size or type, or
            integers no run of L-BFGS-B leaves.
        """
        if "x" not in state:
            raise ValueError("L-BFGS-B state lacks its 'x' array")
        n = math.prod(state["x"].shape)
        check_saved(state, _state_layout(n, settings.m), "L-BFGS-B state")
        solver = cls(np.asarray(state["x"]), bounds, settings)
        for name in _STATE_ARRAYS:
            read_into(solver.arrays[name], state[name])
        problem = integer_state_problem(solver.arrays, settings)
        if problem is not None:
            raise ValueError(
                f"L-BFGS-B state is spoilt: {problem}; it was not written by naah, "
                "or was damaged: start the run again"
            )
        return solver


def _state_layout(n: int, m: int) -> dict[str, tuple[type, tuple[int, ...]]]:
    """Each array of L-BFGS-B's state for n values and m pairs: dtype and shape."""
    ints = {"task": 2, "ln_task": 2, "lsave": 4, "isave": 44, "iwa": 3 * n}
    floats = {"x": n, "g": n, "wa": 2 * m * n + 5 * n + 11 * m * m + 8 * m, "dsave": 29}
    return {
        "f": (np.float64, ()),
        **{name: (np.float64, (size,)) for name, size in floats.items()},
        **{name: (np.int32, (size,)) for name, size in ints.items()},
    }


def integer_state_problem(
    arrays: Mapping[str, np.ndarray], settings: LBFGSBSettings
) -> str | None:
    """What is wrong with the integers of L-BFGS-B's state, in words; None if they
    are such as a run leaves.

    setulb (scipy's __lbfgsb.c) takes every offset into its workspace, every count
    and ring position of its memory and every variable index from these arrays
    without checking them: garbage there makes it read and write outside the
    arrays, and the process dies (SIGSEGV). Between two calls a run leaves

    * ``task`` a status that setulb continues from (START, NEW_X or FG) or one
      where the solver stops (and setulb is not called again);
    * ``isave[0:16]``: the partition of the workspace ``wa``, computed from n
      and m at the start;
    * in ``isave[21:41]`` (mainlb's own): the ring's ``head`` and ``itail`` in
      [0, m), the pairs held ``col`` in [0, m], the updates ``iupdat`` >= 0
      (from which ``col`` and ``itail`` are computed), the free variables
      ``nfree`` and the bounds ``nenter``, ``ileave`` of the changes to the free
      set in [0, n] (:func:`_ranges`; mainlb's counters and flags are only
      compared);
    * ``lsave`` flags of 0 or 1;
    * ``iwa``: variable indices in [0, n) in its first and last thirds (the free
      set and the breakpoints); its middle third (where each variable is) is
      only compared, never used as an index.

    Examples
    --------
    >>> solver = LBFGSB(np.zeros(3))
    >>> _ = solver.step(lambda x: (float((x - 1) @ (x - 1)), 2 * (x - 1)))
    >>> integer_state_problem(solver.arrays, solver.settings) is None
    True
    >>> solver.arrays["iwa"][0] = 7
    >>> integer_state_problem(solver.arrays, solver.settings)
    'iwa holds a variable index 7 outside [0, 3)'
    """
    task = int(arrays["task"][0])
    if task not in _STATUS:
        return f"task {task} is no status of L-BFGS-B"
    if task not in (_NEW_X, _FG):
        return None  # setulb starts afresh, or is not called again
    n, m = arrays["x"].size, settings.m
    isave = arrays["isave"].astype(np.int64)
    partition = _partition(n, m)
    if not np.array_equal(isave[: len(partition)], partition):
        return "isave[0:16] is not the partition of the workspace for this size"
    local = dict(zip(_MAINLB_SAVED, isave[21:41].tolist(), strict=True))
    for name, (low, high) in _ranges(n, m).items():
        if not low <= local[name] <= high:
            return f"{name} (isave) is {local[name]}, outside [{low}, {high}]"
    flags = arrays["lsave"]
    if not np.isin(flags, (0, 1)).all():
        return f"lsave holds {flags.tolist()}, not flags of 0 or 1"
    iwa = arrays["iwa"]
    for part in (iwa[:n], iwa[2 * n :]):  # index and indx2
        outside = (part < 0) | (part >= n)
        if outside.any():
            return (
                f"iwa holds a variable index {int(part[outside.argmax()])} outside "
                f"[0, {n})"
            )
    return None


def _ranges(n: int, m: int) -> dict[str, tuple[int, int]]:
    """The range of each of mainlb's integers that setulb uses as an index or a
    count of indices (the others are counters and flags it only compares)."""
    return {
        "head": (0, m - 1),  # the oldest pair's row of the ring
        "itail": (0, m - 1),  # the newest pair's row
        "col": (0, m),  # pairs held
        "iupdat": (0, _MAX_COUNT),  # updates so far: col = min(iupdat, m)
        "nfree": (0, n),  # free variables: index[0:nfree]
        "nenter": (0, n),  # variables entering the free set: indx2[0:nenter]
        "ileave": (0, n),  # ... and leaving it: indx2[ileave:n]
    }


def _partition(n: int, m: int) -> np.ndarray:
    """setulb's isave[0:16] for n values and m pairs: the sizes m*n, m*m and 4*m*m,
    then the offsets of the 13 parts of ``wa`` (ws, wy, sy, ss, wt, wn, snd,
    z, r, d, t, xp and its own wa), computed in C's 32-bit ints."""
    sizes = [m * n, m * n, m * m, m * m, m * m, 4 * m * m, 4 * m * m] + [n] * 5
    offsets = np.cumsum([0, *sizes], dtype=np.int64)
    values = np.array([m * n, m * m, 4 * m * m, *offsets], dtype=np.int64)
    return values.astype(np.int32).astype(np.int64)  # wrapped as C's ints wrap


def state_version() -> str:
    """The scipy version whose L-BFGS-B state layout a saved state needs."""
    return f"scipy-{_scipy_version()}"
