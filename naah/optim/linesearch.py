r"""Moré and Thuente's line search, one trial step at a time.

Along a descent direction, with :math:`\phi(\alpha)` the loss at step
:math:`\alpha` and :math:`\phi'(\alpha)` its derivative, it looks for a step that
satisfies the strong Wolfe conditions

.. math::

    \phi(\alpha) \le \phi(0) + \mathrm{ftol}\,\alpha\,\phi'(0), \qquad
    |\phi'(\alpha)| \le \mathrm{gtol}\,|\phi'(0)|,

keeping an interval that contains such a step and choosing each trial by cubic,
quadratic or secant interpolation of the values and derivatives seen, safeguarded
by bisection and extrapolation bounds. It is MINPACK-2's ``dcsrch`` and ``dcstep``
(J. J. Moré and D. J. Thuente, "Line search algorithms with guaranteed sufficient
decrease", ACM TOMS 20 (1994), 286-307), in the version that L-BFGS-B 3.0 carries,
whose parameters :data:`FTOL`, :data:`GTOL` and :data:`XTOL` are the defaults, so
that :class:`naah.optim.float_lbfgs.FloatLBFGS` searches as scipy's L-BFGS-B does.

The search asks for evaluations instead of making them (reverse communication), and
its whole state is a few floats (:meth:`MoreThuente.pack`), so a search can be saved
between two trial steps and continued.
"""

from __future__ import annotations

import math
from dataclasses import astuple, dataclass

import numpy as np

# L-BFGS-B's line-search tolerances (lnsrlb in scipy/optimize/src/lbfgsb.c):
# sufficient decrease, curvature, and the relative width of an interval of
# uncertainty small enough to stop in.
FTOL, GTOL, XTOL = 1e-3, 0.9, 0.1
# Before a step is bracketed, the next trial lies between these multiples of the
# last move beyond the best step (dcsrch's xtrapl and xtrapu).
EXTRAPOLATE_MIN, EXTRAPOLATE_MAX = 1.1, 4.0
# A bracket that did not shrink below this fraction of its width two trials ago is
# bisected (dcsrch's p66; dcstep also keeps a trial within it of the far end).
SHRINK = 0.66


@dataclass
class MoreThuente:
    """The state of one line search (names as in ``dcsrch``).

    Make it with :meth:`start`; give :meth:`next` the loss and derivative at each
    step it asks for, until it says the step is accepted.

    Examples
    --------
    :math:`\\phi(\\alpha) = (\\alpha - 3)^2` from :math:`\\alpha = 1`, asking for a slope of
    at most a tenth of the first:

    >>> search, step = MoreThuente.start(1.0, 9.0, -6.0, gtol=0.1)
    >>> while True:
    ...     step, outcome = search.next(step, (step - 3) ** 2, 2 * (step - 3))
    ...     if outcome != "evaluate":
    ...         break
    >>> outcome, round(step, 6)
    ('converged', 3.0)
    """

    stpmin: float
    stpmax: float
    ftol: float
    gtol: float
    xtol: float
    brackt: bool
    stage: int
    finit: float
    ginit: float
    gtest: float
    # The best step so far, its loss and derivative; the other end of the interval.
    stx: float
    fx: float
    gx: float
    sty: float
    fy: float
    gy: float
    # Where the next trial may lie, and the interval's width now and before.
    stmin: float
    stmax: float
    width: float
    width1: float

    @classmethod
    def start(
        cls,
        stp: float,
        f: float,
        g: float,
        *,
        stpmin: float = 0.0,
        stpmax: float = 1e10,
        ftol: float = FTOL,
        gtol: float = GTOL,
        xtol: float = XTOL,
    ) -> tuple[MoreThuente, float]:
        """A search from loss ``f`` and derivative ``g < 0`` at step 0, and its
        first trial step (``stp``).

        Raises
        ------
        ValueError
            If ``g`` is not negative, ``stp`` is outside [stpmin, stpmax] or a
            tolerance is negative.
        """
        if not g < 0:
            raise ValueError(f"the line search needs a descent direction, got {g}")
        if not stpmin <= stp <= stpmax:
            raise ValueError(f"the first step {stp} is outside [{stpmin}, {stpmax}]")
        if min(ftol, gtol, xtol, stpmin) < 0:
            raise ValueError("the line search's tolerances must be non-negative")
        width = stpmax - stpmin
        search = cls(
            stpmin, stpmax, ftol, gtol, xtol,
            brackt=False, stage=1, finit=f, ginit=g, gtest=ftol * g,
            stx=0.0, fx=f, gx=g, sty=0.0, fy=f, gy=g,
            stmin=0.0, stmax=stp + EXTRAPOLATE_MAX * stp,
            width=width, width1=width / 0.5,
        )  # fmt: skip
        return search, stp

    def next(self, stp: float, f: float, g: float) -> tuple[float, str]:
        """The loss ``f`` and derivative ``g`` at trial step ``stp``.

        Returns
        -------
        step : float
            The next trial step, or the accepted one.
        outcome : str
            ``'evaluate'`` (evaluate at ``step`` and call again), ``'converged'``
            (``step`` satisfies both conditions) or ``'warning: ...'`` (no step can
            be found that does: ``step`` is the best one seen, which satisfies the
            sufficient decrease, and is accepted too, as L-BFGS-B accepts it).
        """
        ftest = self.finit + stp * self.gtest
        if self.stage == 1 and f <= ftest and g >= 0:
            self.stage = 2
        outcome = "evaluate"
        if self.brackt and (stp <= self.stmin or stp >= self.stmax):
            outcome = "warning: rounding errors prevent progress"
        if self.brackt and self.stmax - self.stmin <= self.xtol * self.stmax:
            outcome = "warning: xtol test satisfied"
        if stp == self.stpmax and f <= ftest and g <= self.gtest:
            outcome = "warning: stp = stpmax"
        if stp == self.stpmin and (f > ftest or g >= self.gtest):
            outcome = "warning: stp = stpmin"
        if f <= ftest and abs(g) <= self.gtol * -self.ginit:
            outcome = "converged"
        if outcome != "evaluate":
            return stp, outcome

        if self.stage == 1 and self.fx >= f > ftest:
            # A lower loss without sufficient decrease: interpolate the modified
            # function psi(a) = phi(a) - phi(0) - ftol a phi'(0) instead.
            gtest = self.gtest
            fxm, gxm = self.fx - self.stx * gtest, self.gx - gtest
            fym, gym = self.fy - self.sty * gtest, self.gy - gtest
            fm, gm = f - stp * gtest, g - gtest
            stx, fxm, gxm, sty, fym, gym, stp, self.brackt = _dcstep(
                self.stx, fxm, gxm, self.sty, fym, gym, stp, fm, gm,
                self.brackt, self.stmin, self.stmax,
            )  # fmt: skip
            self.stx, self.fx, self.gx = stx, fxm + stx * gtest, gxm + gtest
            self.sty, self.fy, self.gy = sty, fym + sty * gtest, gym + gtest
        else:
            (
                self.stx, self.fx, self.gx, self.sty, self.fy, self.gy,
                stp, self.brackt,
            ) = _dcstep(
                self.stx, self.fx, self.gx, self.sty, self.fy, self.gy, stp, f, g,
                self.brackt, self.stmin, self.stmax,
            )  # fmt: skip

        if self.brackt:
            if abs(self.sty - self.stx) >= SHRINK * self.width1:
                stp = self.stx + 0.5 * (self.sty - self.stx)
            self.width1 = self.width
            self.width = abs(self.sty - self.stx)
            self.stmin = min(self.stx, self.sty)
            self.stmax = max(self.stx, self.sty)
        else:
            self.stmin = stp + EXTRAPOLATE_MIN * (stp - self.stx)
            self.stmax = stp + EXTRAPOLATE_MAX * (stp - self.stx)
        stp = min(max(stp, self.stpmin), self.stpmax)
        if self.brackt and (
            stp <= self.stmin
            or stp >= self.stmax
            or self.stmax - self.stmin <= self.xtol * self.stmax
        ):
            stp = self.stx  # no further progress is possible: the best step
        return stp, "evaluate"

    def pack(self) -> np.ndarray:
        """The whole state as a float64 array (:meth:`unpack` reads it)."""
        return np.array(astuple(self), np.float64)

    @classmethod
    def unpack(cls, values: np.ndarray) -> MoreThuente:
        """The search that :meth:`pack` gave ``values``."""
        numbers = [float(v) for v in np.asarray(values, np.float64).ravel()]
        search = cls(*numbers)  # type: ignore[arg-type]
        search.brackt = bool(search.brackt)
        search.stage = int(search.stage)
        return search


#: Floats in :meth:`MoreThuente.pack`'s array.
PACKED_SIZE = len(MoreThuente.__dataclass_fields__)


def _dcstep(
    stx: float,
    fx: float,
    dx: float,
    sty: float,
    fy: float,
    dy: float,
    stp: float,
    fp: float,
    dp: float,
    brackt: bool,
    stpmin: float,
    stpmax: float,
) -> tuple[float, float, float, float, float, float, float, bool]:
    """A safeguarded trial step, and the interval updated with the step ``stp``.

    ``stx`` is the best step so far (loss ``fx``, derivative ``dx``, which points
    towards ``stp``), ``sty`` the interval's other end. Returns the new ``stx, fx,
    dx, sty, fy, dy``, the next trial step and whether a minimiser is bracketed.
    """
    sgnd = dp * (dx / abs(dx)) if dx != 0 else math.nan
    if fp > fx:
        # A higher loss: the minimum is bracketed. The cubic step if it is closer
        # to stx than the quadratic one, else their mean.
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        s = max(abs(theta), abs(dx), abs(dp))
        gamma = s * _root((theta / s) ** 2 - (dx / s) * (dp / s))
        if stp < stx:
            gamma = -gamma
        p = (gamma - dx) + theta
        q = ((gamma - dx) + gamma) + dp
        stpc = stx + p / q * (stp - stx)
        stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2.0) * (stp - stx)
        if abs(stpc - stx) < abs(stpq - stx):
            stpf = stpc
        else:
            stpf = stpc + (stpq - stpc) / 2.0
        brackt = True
    elif sgnd < 0.0:
        # A lower loss and derivatives of opposite signs: bracketed. The cubic
        # step if it is farther from stp than the secant step, else the secant.
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        s = max(abs(theta), abs(dx), abs(dp))
        gamma = s * _root((theta / s) ** 2 - (dx / s) * (dp / s))
        if stp > stx:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = ((gamma - dp) + gamma) + dx
        stpc = stp + p / q * (stx - stp)
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        stpf = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
        brackt = True
    elif abs(dp) < abs(dx):
        # A lower loss, derivatives of the same sign, decreasing in magnitude.
        # The cubic step only if the cubic tends to infinity in the step's
        # direction or its minimum is beyond stp; else the secant step.
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        s = max(abs(theta), abs(dx), abs(dp))
        gamma = s * _root((theta / s) ** 2 - (dx / s) * (dp / s))
        if stp > stx:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = (gamma + (dx - dp)) + gamma
        r = p / q
        if r < 0.0 and gamma != 0.0:
            stpc = stp + r * (stx - stp)
        elif stp > stx:
            stpc = stpmax
        else:
            stpc = stpmin
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        if brackt:
            # Bracketed: the step closer to stp, kept away from the far end.
            stpf = stpc if abs(stpc - stp) < abs(stpq - stp) else stpq
            if stp > stx:
                stpf = min(stp + SHRINK * (sty - stp), stpf)
            else:
                stpf = max(stp + SHRINK * (sty - stp), stpf)
        else:
            stpf = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
            stpf = max(stpmin, min(stpmax, stpf))
    elif brackt:
        # A lower loss, derivatives of the same sign, not decreasing: the cubic
        # step between stp and sty.
        theta = 3.0 * (fp - fy) / (sty - stp) + dy + dp
        s = max(abs(theta), abs(dy), abs(dp))
        gamma = s * _root((theta / s) ** 2 - (dy / s) * (dp / s))
        if stp > sty:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = ((gamma - dp) + gamma) + dy
        stpf = stp + p / q * (sty - stp)
    else:
        stpf = stpmax if stp > stx else stpmin

    if fp > fx:
        sty, fy, dy = stp, fp, dp
    else:
        if sgnd < 0.0:
            sty, fy, dy = stx, fx, dx
        stx, fx, dx = stp, fp, dp
    return stx, fx, dx, sty, fy, dy, stpf, brackt


def _root(value: float) -> float:
    """The square root of a discriminant that only rounding makes negative (the
    third case of dcstep takes 0 there; the others would take a NaN)."""
    return math.sqrt(max(0.0, value))
