r"""naah's own L-BFGS: a float32 state, box bounds by projection, one iteration a step.

scipy's L-BFGS-B keeps about 25 float64 per optimised value (its workspace ``wa`` of
:math:`(2m + 5)n + 11m^2 + 8m` values, 1.9 GB for a 2048x1536 image, and the
iterate, gradient and bounds). :class:`FloatLBFGS` keeps :math:`2m + 3` float32 per
value (:func:`state_bytes`; 0.87 GB there with m = 10): the m correction pairs
:math:`s_k = x_{k+1} - x_k`, :math:`y_k = g_{k+1} - g_k` in two preallocated (m, n)
arrays used as a ring, the iterate x, its gradient g and the search direction d.
The line search's trial point and its gradient use the ring's free row; when the
ring is full, the oldest pair gives up its row as the search starts (it was used
for the direction already), so a pair skipped at the end of that search leaves
m - 1. :func:`lbfgs_history_for` picks the largest m whose state fits a budget.

The algorithm (Nocedal and Wright, *Numerical Optimization*, 2nd ed., Algorithms
7.4 and 7.5), with L-BFGS-B's choices wherever it has one:

* The direction is :math:`d = -H g` by the two-loop recursion, with
  :math:`H_0 = \gamma I`, :math:`\gamma = s^T y / y^T y` of the newest pair (1 with
  none yet: the first direction is :math:`-g`). A pair whose curvature
  :math:`s^T y` is at most :data:`SKIP` :math:`\cdot\, y^T y` is not stored.
* Dot products are accumulated in float64 (``np.einsum(..., dtype=float64)``);
  vector updates run in float32 block by block (:data:`BLOCK`), so an iteration
  allocates no array of n values.
* The line search is Moré and Thuente's (:mod:`naah.optim.linesearch`) with
  L-BFGS-B's tolerances and at most ``maxls`` evaluations. Its first trial step is
  1, as L-BFGS-B's, but for the first iteration without bounds (and after the
  memory was cleared), where it is :math:`1/\|d\|`; with bounds the first
  iteration tries :math:`P(x - g)`, L-BFGS-B's first Cauchy point. If the search
  fails, the memory is cleared and the iteration starts again along :math:`-g`;
  with an empty memory the run stops (``'line search failed'``), as L-BFGS-B
  does.
* Box bounds by projection: a value at a bound whose gradient pushes it out is
  held there (the recursion runs on the gradient with those values zeroed, and the
  direction is zero for them). If the first trial point :math:`x + d` lies in the
  box, the search runs along d up to the nearest bound, so that with no bound
  active and none reached this is plain L-BFGS, iterate for iterate. Else d
  becomes :math:`P(x + d) - x` (P: the projection on the box) and the search runs
  over :math:`\alpha \in (0, 1]`, every trial in the box; should that not
  descend, the scaled steepest descent :math:`-\gamma g`, projected, is taken.
* It stops as L-BFGS-B does: when
  :math:`(f_k - f_{k+1}) / \max(|f_k|, |f_{k+1}|, 1) \le` ``factr`` times
  float64's epsilon, or when the largest component of the projected gradient is
  at most ``pgtol``.

Without bounds its iterates are L-BFGS-B's (whose compact representation of the
same matrix gives the same directions) to within float32 rounding:
``tests/optim/test_float_lbfgs.py`` compares them with ``fmin_l_bfgs_b``'s.

:meth:`FloatLBFGS.state` and :meth:`FloatLBFGS.from_state` save and restore the
whole state, also in the middle of a line search (the trial point lives in the
ring's free row), and the restored solver continues with bit-identical iterates.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from naah.estimate import format_bytes
from naah.optim.lbfgsb import LBFGSBSettings
from naah.optim.linesearch import PACKED_SIZE, MoreThuente
from naah.optim.strategy import SavedArray, check_saved, read_into

# Float32 vectors of n values besides the m pairs: the iterate x, its gradient g and
# the direction d (the trial point and its gradient use the ring's free row).
VECTORS = 3
# Values per block of the block-wise updates: 128 KiB of float32, within L2.
BLOCK = 1 << 15
# L-BFGS-B's largest step without bounds (lnsrlb's stpmx in scipy's lbfgsb.c).
MAX_STEP = 1e10
# A pair with s'y <= SKIP * y'y is skipped: float32's epsilon, the precision in
# which s and y are stored.
SKIP = float(np.finfo(np.float32).eps)
# factr is in units of float64's epsilon, as for L-BFGS-B.
EPS64 = float(np.finfo(np.float64).eps)
# The least memory lbfgs_history_for gives: with fewer pairs L-BFGS is little
# better than a scaled gradient descent.
MIN_HISTORY = 3
# Bounds constant along all but at most this many leading rows are kept as
# scalars; others as two float32 vectors of n values.
MAX_SEGMENTS = 64

# What the next step does, and the status words (those of naah.optim.lbfgsb).
_START, _READY, _SEARCH, _CONVERGED, _FAILED = range(5)
_STATUS = {
    _START: "start",
    _READY: "new iterate",
    _SEARCH: "wants loss and gradient",
    _CONVERGED: "converged",
    _FAILED: "line search failed",
}
# The scalars and counters of a saved state, in their arrays' order.
_SCALARS = ("f", "f_old", "gamma", "stp")
_COUNTERS = ("task", "head", "count", "evaluations", "iterations", "fresh")
# The arrays of a saved state of m values or fewer.
_SMALL_ARRAYS = ("curvature", "search", "scalars", "counters")

# fmin_l_bfgs_b's defaults: m = 10, factr = 10, pgtol = 0, maxls = 20.
_DEFAULTS = LBFGSBSettings()

LossAndGrad = Callable[[np.ndarray], tuple[float, np.ndarray]]


def state_bytes(n: int, m: int) -> int:
    """Bytes of :meth:`FloatLBFGS.state` for n values and m pairs:
    ``4 (2m + 3) n`` and a few hundred bytes of scalars.

    Examples
    --------
    >>> state_bytes(3 * 2048 * 1536, 10) / 2**20  # doctest: +ELLIPSIS
    828.0...
    """
    small = 8 * (m + PACKED_SIZE + len(_SCALARS) + len(_COUNTERS))
    return 4 * (2 * m + VECTORS) * n + small


def lbfgs_history_for(budget_bytes: int, n: int, m_max: int = 10) -> int:
    """The largest memory m <= ``m_max`` whose state for n values fits the budget.

    Raises
    ------
    ValueError
        If not even m = :data:`MIN_HISTORY` fits: the message says the budget
        needed.

    Examples
    --------
    >>> n = 3 * 2048 * 1536
    >>> lbfgs_history_for(500 * 2**20, n), lbfgs_history_for(2**30, n)
    (5, 10)
    """
    if m_max < MIN_HISTORY:
        raise ValueError(f"m_max must be at least {MIN_HISTORY}, got {m_max}")
    for m in range(m_max, MIN_HISTORY - 1, -1):
        if state_bytes(n, m) <= budget_bytes:
            return m
    need = state_bytes(n, MIN_HISTORY)
    raise ValueError(
        f"the optimiser's memory budget of {format_bytes(budget_bytes)} cannot hold "
        f"L-BFGS's state for {n} values: its {MIN_HISTORY} pairs need "
        f"{format_bytes(need)} ({need} bytes); give it at least that (a larger "
        "--max-memory), or optimise a smaller image"
    )


class FloatLBFGS:
    """L-BFGS over a float32 array, one iteration per :meth:`step`.

    Parameters
    ----------
    x0 : ndarray
        Start point, any shape (the iterate keeps it); projected into the bounds.
    bounds : (low, high), optional
        Arrays that broadcast to ``x0``'s shape (a per-channel (1, 3, 1, 1) pair
        costs nothing per value), or None.
    settings : LBFGSBSettings
        ``m`` pairs, ``factr``, ``pgtol`` and ``maxls`` as for ``fmin_l_bfgs_b``.

    Examples
    --------
    >>> target = np.array([1.0, -2.0, 3.0], np.float32)
    >>> def loss_and_grad(x):
    ...     return float(((x - target) ** 2).sum()), 2 * (x - target)
    >>> solver = FloatLBFGS(np.zeros(3, np.float32), settings=LBFGSBSettings(m=5))
    >>> while solver.step(loss_and_grad):
    ...     pass
    >>> solver.status, np.allclose(solver.x, target)
    ('converged', True)
    """

    def __init__(
        self,
        x0: np.ndarray,
        bounds: tuple[np.ndarray, np.ndarray] | None = None,
        settings: LBFGSBSettings = _DEFAULTS,
    ) -> None:
        x = np.array(x0, dtype=np.float32)
        m, n = settings.m, x.size
        if m < 1 or n < 1:
            raise ValueError(f"L-BFGS needs m >= 1 pairs and values, got m={m}, n={n}")
        self.settings = settings
        self.shape = x.shape
        self._blocks = _blocks(x.shape, bounds)
        self.bounded = bounds is not None
        if bounds is not None:
            np.clip(x, *(np.asarray(b, np.float32) for b in bounds), out=x)
        self._x = x.reshape(n)
        self._g = np.zeros(n, np.float32)
        self._d = np.zeros(n, np.float32)
        self._s = np.zeros((m, n), np.float32)
        self._y = np.zeros((m, n), np.float32)
        self._curvature = np.zeros(m)  # s'y of each row of the ring
        self._f = self._f_old = math.nan
        self._gamma, self._stp = 1.0, 0.0
        self._task, self._head, self._count = _START, 0, 0
        self._evaluations = self._iterations = 0
        self._fresh = True  # the memory is empty: a first iteration's step
        self._search: MoreThuente | None = None
        self._known: tuple[float, np.ndarray] | None = None
        # Scratch of the block-wise updates: fixed, small.
        self._work = np.empty((2, BLOCK), np.float32)
        self._masks = np.empty((3, BLOCK), bool)

    # -- what a caller reads -------------------------------------------------------

    @property
    def x(self) -> np.ndarray:
        """The current iterate, ``x0``'s shape (a view: copy it to keep it)."""
        return self._x.reshape(self.shape)

    @property
    def loss(self) -> float:
        """The loss at the current iterate."""
        return self._f

    @property
    def status(self) -> str:
        """What the solver is doing or why it stopped, in words."""
        return _STATUS[self._task]

    @property
    def finished(self) -> bool:
        """True once it has converged or its line search failed."""
        return self._task in (_CONVERGED, _FAILED)

    @property
    def pairs(self) -> int:
        """Correction pairs held now (at most ``settings.m``)."""
        return self._count

    def know(self, loss: float, grad: np.ndarray) -> None:
        """Give the loss and gradient at the start point, already evaluated."""
        self._known = (float(loss), np.asarray(grad))

    # -- iterating -----------------------------------------------------------------

    def step(self, loss_and_grad: LossAndGrad) -> bool:
        """Run one iteration: evaluations until the line search accepts a step.

        Parameters
        ----------
        loss_and_grad : callable(x) -> (float, ndarray)
            The loss and its gradient (any float dtype, ``x``'s size) at ``x``, an
            array of ``x0``'s shape that is the solver's own: read it, do not keep
            it.

        Returns
        -------
        bool
            True when a new iterate was reached (it is always the point evaluated
            last); False when the solver has finished (see :attr:`status`),
            leaving :attr:`x` at its best point.

        Raises
        ------
        FloatingPointError
            If the loss or the gradient (at a trial point: along the direction)
            is not finite; the solver waits for that evaluation again.
        """
        while not self.finished:
            if self._task == _START:
                loss, grad = self._known or loss_and_grad(self.x)
                self._known = None
                np.copyto(self._g, np.reshape(grad, -1), casting="same_kind")
                total = float(np.sum(self._g, dtype=np.float64))
                if not (math.isfinite(loss) and math.isfinite(total)):
                    raise FloatingPointError(
                        f"the loss ({loss}) or its gradient at the start is not finite"
                    )
                self._f = float(loss)
                self._task = _READY
            elif self._task == _READY:
                self._begin_iteration()
            elif self._search_step(loss_and_grad):
                return True
        return False

    def _begin_iteration(self) -> None:
        """The stopping tests at the current iterate, then a direction and the
        line search's first trial point (or a stop)."""
        s = self.settings
        if self._steepest(self._d) <= s.pgtol:
            self._task = _CONVERGED
            return
        scale = max(abs(self._f_old), abs(self._f), 1.0)
        if self._iterations and self._f_old - self._f <= s.factr * EPS64 * scale:
            self._task = _CONVERGED
            return
        found = self._direction()
        if found is None:
            self._restart_or_fail()
            return
        stp, stpmax, slope = found
        self._search, self._stp = MoreThuente.start(stp, self._f, slope, stpmax=stpmax)
        if self._count == s.m:  # the oldest pair's row takes the trial point
            self._head = (self._head + 1) % s.m
            self._count -= 1
        self._evaluations = 0
        self._trial()
        self._task = _SEARCH

    def _direction(self) -> tuple[float, float, float] | None:
        """The direction into ``d`` (which holds the projected steepest descent),
        its first and largest steps and its slope g'd; None if neither the L-BFGS
        direction nor the scaled steepest descent descends."""
        attempts = (True, False) if self._count else (True,)
        for memory in attempts:
            if memory:
                self._two_loop(self._d)
            else:
                self._steepest(self._d)
                np.multiply(self._d, np.float32(self._gamma), out=self._d)
            self._hold_active(self._d)
            slope = _dot(self._g, self._d)
            if not slope < 0:
                continue
            # L-BFGS-B's first step: 1/|d| without bounds; with them, the whole
            # projected step P(x + d) - x (its generalised Cauchy point when the
            # memory is empty and d = -g).
            unit_step = self._fresh and not self.bounded
            stp = 1.0 / math.sqrt(_dot(self._d, self._d)) if unit_step else 1.0
            stpmax = MAX_STEP
            if self.bounded:
                stpmax = min(self._max_step(), MAX_STEP)
                if stp > stpmax:  # the first trial would leave the box: project d
                    self._project(stp)
                    stp = stpmax = 1.0
                    slope = _dot(self._g, self._d)
                    if not slope < 0:
                        continue
            return min(stp, stpmax), stpmax, slope
        return None

    def _search_step(self, loss_and_grad: LossAndGrad) -> bool:
        """Evaluate the trial point; True if the search accepted it."""
        row = (self._head + self._count) % self.settings.m
        loss, grad = loss_and_grad(self._s[row].reshape(self.shape))
        loss = float(loss)
        y = self._y[row]
        np.copyto(y, np.reshape(grad, -1), casting="same_kind")
        slope = _dot(y, self._d)
        if not (math.isfinite(loss) and math.isfinite(slope)):
            raise FloatingPointError(
                f"the loss ({loss}) or its slope ({slope}) at a trial point is not "
                "finite"
            )
        self._evaluations += 1
        assert self._search is not None
        stp, outcome = self._search.next(self._stp, loss, slope)
        if outcome != "evaluate":
            self._accept(row, loss)
            return True
        if self._evaluations >= self.settings.maxls:
            self._restart_or_fail()
            return False
        self._stp = stp
        self._trial()
        return False

    def _accept(self, row: int, loss: float) -> None:
        """The trial point in ``row`` becomes the iterate; its pair is stored
        unless its curvature is too small."""
        s, y, x, g, work = self._s[row], self._y[row], self._x, self._g, self._work
        for part, _, _ in self._blocks:
            k = part.stop - part.start
            # s = trial - x, x = trial; y = g(trial) - g, g = g(trial): exactly.
            for pair, vector in ((s, x), (y, g)):
                trial = work[0, :k]
                np.copyto(trial, pair[part])
                np.subtract(trial, vector[part], out=pair[part])
                vector[part] = trial
        self._f_old, self._f = self._f, loss
        sy, yy = _dot(s, y), _dot(y, y)
        if sy > SKIP * yy:
            self._curvature[row] = sy
            self._count += 1
            self._gamma = sy / yy
        self._fresh = False
        self._iterations += 1
        self._search = None
        self._task = _READY

    def _restart_or_fail(self) -> None:
        """No acceptable step: clear the memory and start the iteration again
        along the steepest descent, or stop if the memory was already empty."""
        self._search = None
        if self._count == 0:
            self._task = _FAILED
            return
        self._head = self._count = 0
        self._gamma = 1.0
        self._fresh = True
        self._task = _READY

    # -- vector work, block by block -----------------------------------------------

    def _two_loop(self, d: np.ndarray) -> None:
        """``d`` (a gradient) times the inverse Hessian approximation, in place."""
        m = self.settings.m
        rows = [(self._head + i) % m for i in range(self._count)]
        alphas = []
        for row in reversed(rows):
            alpha = _dot(self._s[row], d) / self._curvature[row]
            self._axpy(-alpha, self._y[row], d)
            alphas.append(alpha)
        np.multiply(d, np.float32(self._gamma), out=d)
        for row, alpha in zip(rows, reversed(alphas), strict=True):
            beta = _dot(self._y[row], d) / self._curvature[row]
            self._axpy(alpha - beta, self._s[row], d)

    def _axpy(self, a: float, x: np.ndarray, y: np.ndarray) -> None:
        """y += a x, in float32."""
        a32 = np.float32(a)
        for part, _, _ in self._blocks:
            work = self._work[0, : part.stop - part.start]
            np.multiply(x[part], a32, out=work)
            np.add(y[part], work, out=y[part])

    def _free(self, part: slice, low: Any, high: Any) -> np.ndarray:
        """Which values of a block are free: not at a bound that the gradient
        pushes them against."""
        k = part.stop - part.start
        out, other, scratch = (mask[:k] for mask in self._masks)
        x, g = self._x[part], self._g[part]
        np.less_equal(x, low, out=out)
        np.logical_and(out, np.greater(g, 0, out=scratch), out=out)
        np.greater_equal(x, high, out=other)
        np.logical_and(other, np.less(g, 0, out=scratch), out=other)
        np.logical_or(out, other, out=out)
        return np.logical_not(out, out=out)

    def _steepest(self, out: np.ndarray) -> float:
        """``out`` = -g with the active values zeroed (the projected steepest
        descent); returns its largest magnitude."""
        largest = []
        for part, low, high in self._blocks:
            o = out[part]
            np.negative(self._g[part], out=o)
            if low is not None:
                np.multiply(o, self._free(part, low, high), out=o)
            work = self._work[0, : part.stop - part.start]
            largest.append(np.abs(o, out=work).max())
        return float(np.max(largest))

    def _hold_active(self, d: np.ndarray) -> None:
        for part, low, high in self._blocks:
            if low is not None:
                np.multiply(d[part], self._free(part, low, high), out=d[part])

    def _max_step(self) -> float:
        """The largest step along d that stays in the box."""
        fastest = 0.0  # the largest fraction of its room a value crosses per step
        for part, low, high in self._blocks:
            k = part.stop - part.start
            x, d = self._x[part], self._d[part]
            up, down = self._work[0, :k], self._work[1, :k]
            np.subtract(high, x, out=up)
            np.subtract(low, x, out=down)
            with np.errstate(divide="ignore", invalid="ignore"):
                np.divide(d, up, out=up)  # > 0 when rising, inf at the bound
                np.divide(d, down, out=down)  # > 0 when falling
            # fmax ignores the NaN of 0/0 (a value at a bound that stays).
            fastest = max(fastest, float(np.fmax.reduce(np.fmax(up, down, out=up))))
        return 1.0 / fastest if fastest > 0 else math.inf

    def _project(self, stp: float) -> None:
        """d = P(x + stp d) - x."""
        for part, low, high in self._blocks:
            x, d = self._x[part], self._d[part]
            np.multiply(d, np.float32(stp), out=d)
            np.add(d, x, out=d)
            np.clip(d, low, high, out=d)
            np.subtract(d, x, out=d)

    def _trial(self) -> None:
        """The trial point P(x + stp d) into the ring's free row."""
        out = self._s[(self._head + self._count) % self.settings.m]
        for part, low, high in self._blocks:
            o = out[part]
            np.multiply(self._d[part], np.float32(self._stp), out=o)
            np.add(o, self._x[part], out=o)
            if low is not None:
                np.clip(o, low, high, out=o)

    # -- saving and restoring ------------------------------------------------------

    def state(self) -> dict[str, np.ndarray]:
        """Copies of the arrays that hold the solver's whole state
        (:func:`state_bytes` bytes)."""
        search = self._search.pack() if self._search else np.full(PACKED_SIZE, np.nan)
        counters = (
            self._task,
            self._head,
            self._count,
            self._evaluations,
            self._iterations,
            self._fresh,
        )
        return {
            "x": self.x.copy(),
            "g": self._g.copy(),
            "d": self._d.copy(),
            "s": self._s.copy(),
            "y": self._y.copy(),
            "curvature": self._curvature.copy(),
            "search": search,
            "scalars": np.array([self._f, self._f_old, self._gamma, self._stp]),
            "counters": np.array(counters, np.int64),
        }

    @classmethod
    def from_state(
        cls,
        state: Mapping[str, SavedArray],
        bounds: tuple[np.ndarray, np.ndarray] | None = None,
        settings: LBFGSBSettings = _DEFAULTS,
    ) -> FloatLBFGS:
        """A solver that continues exactly where the one that gave ``state`` was.

        Raises
        ------
        ValueError
            If ``state`` lacks an array or has one of the wrong size or type (one
            of another ``settings.m``, say).
        """
        if "x" not in state:
            raise ValueError("the float32 L-BFGS state lacks its 'x' array")
        shape = tuple(state["x"].shape)
        n, m = math.prod(shape), settings.m
        wanted = {
            "x": (np.float32, shape),
            "g": (np.float32, (n,)),
            "d": (np.float32, (n,)),
            "s": (np.float32, (m, n)),
            "y": (np.float32, (m, n)),
            "curvature": (np.float64, (m,)),
            "search": (np.float64, (PACKED_SIZE,)),
            "scalars": (np.float64, (len(_SCALARS),)),
            "counters": (np.int64, (len(_COUNTERS),)),
        }
        check_saved(state, wanted, "float32 L-BFGS state", f" (m={m}, n={n})")
        arrays = {name: np.asarray(state[name]) for name in _SMALL_ARRAYS}
        solver = cls(np.asarray(state["x"]), bounds, settings)
        for name in ("g", "d", "s", "y"):  # the large ones, straight into place
            read_into(getattr(solver, f"_{name}"), state[name])
        solver._curvature[...] = arrays["curvature"]
        solver._f, solver._f_old, solver._gamma, solver._stp = arrays[
            "scalars"
        ].tolist()
        task, head, count, evaluations, iterations, fresh = arrays["counters"].tolist()
        if (
            task not in _STATUS
            or not 0 <= head < m
            or not 0 <= count <= m
            or min(evaluations, iterations) < 0
            or fresh not in (0, 1)
        ):
            raise ValueError(
                f"float32 L-BFGS state counters are spoilt: {arrays['counters']}"
            )
        solver._task, solver._head, solver._count = task, head, count
        solver._evaluations, solver._iterations = evaluations, iterations
        solver._fresh = bool(fresh)
        if task == _SEARCH:
            solver._search = MoreThuente.unpack(arrays["search"])
        return solver


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """a'b of two float32 vectors, accumulated in float64 (np.dot would accumulate
    in float32), without a float64 copy of either."""
    return float(np.einsum("i,i->", a, b, dtype=np.float64))


def _blocks(
    shape: tuple[int, ...], bounds: tuple[np.ndarray, np.ndarray] | None
) -> list[tuple[slice, Any, Any]]:
    """The flat vector as blocks of at most :data:`BLOCK` values, each with its
    bounds: float32 scalars, float32 arrays of the block's size, or None."""
    n = math.prod(shape)
    if bounds is None:
        segments: list[tuple[int, int, Any, Any]] = [(0, n, None, None)]
    else:
        segments = _segments(shape, *(np.asarray(b, np.float32) for b in bounds))
    blocks = []
    for start, stop, low, high in segments:
        for first in range(start, stop, BLOCK):
            last = min(first + BLOCK, stop)
            if np.ndim(low):
                blocks.append((slice(first, last), low[first:last], high[first:last]))
            else:
                blocks.append((slice(first, last), low, high))
    return blocks


def _segments(
    shape: tuple[int, ...], low: np.ndarray, high: np.ndarray
) -> list[tuple[int, int, Any, Any]]:
    """Runs of the flat vector with constant bounds (one per channel for naah's
    (1, 3, 1, 1) pixel bounds), or one run with the bounds as flat vectors."""
    try:
        full = np.broadcast_shapes(low.shape, high.shape, shape)
    except ValueError:
        full = None
    if full != shape:
        raise ValueError(
            f"bounds of shapes {low.shape} and {high.shape} do not broadcast to the "
            f"iterate's shape {shape}"
        )
    if np.any(low > high):
        raise ValueError("a lower bound is above its upper bound")
    ndim, n = len(shape), math.prod(shape)
    low = low.reshape((1,) * (ndim - low.ndim) + low.shape)
    high = high.reshape((1,) * (ndim - high.ndim) + high.shape)
    axis = ndim  # the bounds are constant along axes axis...ndim-1
    while axis and low.shape[axis - 1] == high.shape[axis - 1] == 1:
        axis -= 1
    rows, width = math.prod(shape[:axis]), math.prod(shape[axis:])
    if rows > MAX_SEGMENTS:
        lows = np.ascontiguousarray(np.broadcast_to(low, shape)).reshape(n)
        highs = np.ascontiguousarray(np.broadcast_to(high, shape)).reshape(n)
        return [(0, n, lows, highs)]
    leading = shape[:axis] + (1,) * (ndim - axis)
    lows = np.broadcast_to(low, leading).reshape(rows)
    highs = np.broadcast_to(high, leading).reshape(rows)
    return [(r * width, (r + 1) * width, lows[r], highs[r]) for r in range(rows)]
