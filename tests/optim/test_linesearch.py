"""Moré and Thuente's line search against the tables of their paper, the strong
Wolfe conditions it promises, and its saved state."""

import numpy as np
import pytest

from naah.optim.linesearch import PACKED_SIZE, MoreThuente


def moré_thuente_1(alpha, beta=2.0):
    """phi(a) = -a / (a^2 + beta): the paper's first test function."""
    return -alpha / (alpha**2 + beta), (alpha**2 - beta) / (alpha**2 + beta) ** 2


def moré_thuente_2(alpha, beta=0.004):
    """phi(a) = (a + beta)^5 - 2 (a + beta)^4: the paper's second."""
    a = alpha + beta
    return a**5 - 2 * a**4, 5 * a**4 - 8 * a**3


def search(phi, first, **tolerances):
    """(step, outcome, evaluations) of a search from step 0."""
    f, g = phi(0.0)
    line, step = MoreThuente.start(first, f, g, **tolerances)
    evaluations = 0
    while True:
        f, g = phi(step)
        evaluations += 1
        step, outcome = line.next(step, f, g)
        if outcome != "evaluate":
            return step, outcome, evaluations


# J. J. Moré and D. J. Thuente, ACM TOMS 20 (1994), Tables 1 and 2: first step,
# evaluations and the step found (to the paper's two digits).
TABLE_1 = [(1e-3, 6, 1.4), (1e-1, 3, 1.4), (1e1, 1, 10.0), (1e3, 4, 37.0)]
TABLE_2 = [(1e-3, 12, 1.6), (1e-1, 8, 1.6), (1e1, 8, 1.6), (1e3, 11, 1.6)]


@pytest.mark.parametrize(("first", "evaluations", "found"), TABLE_1)
def test_the_first_function_takes_the_papers_evaluations(first, evaluations, found):
    step, outcome, count = search(
        moré_thuente_1, first, ftol=1e-3, gtol=0.1, xtol=1e-10
    )
    assert (outcome, count) == ("converged", evaluations)
    assert step == pytest.approx(found, rel=0.05)


@pytest.mark.parametrize(("first", "evaluations", "found"), TABLE_2)
def test_the_second_function_takes_the_papers_evaluations(first, evaluations, found):
    step, outcome, count = search(moré_thuente_2, first, ftol=0.1, gtol=0.1, xtol=1e-10)
    assert (outcome, count) == ("converged", evaluations)
    assert step == pytest.approx(found, rel=0.01)


def quartic(alpha):
    """phi(a) = (a - 2)^4: flat at its minimum."""
    return (alpha - 2.0) ** 4, 4 * (alpha - 2.0) ** 3


@pytest.mark.parametrize("first", [1e-4, 1e-2, 1.0, 1e2, 1e4])
@pytest.mark.parametrize("phi", [moré_thuente_1, moré_thuente_2, quartic])
def test_a_converged_step_satisfies_the_strong_wolfe_conditions(phi, first):
    ftol, gtol = 1e-3, 0.1
    f0, g0 = phi(0.0)
    step, outcome, _ = search(phi, first, ftol=ftol, gtol=gtol, xtol=1e-10)
    f, g = phi(step)
    assert outcome == "converged"
    assert f <= f0 + ftol * step * g0
    assert abs(g) <= gtol * abs(g0)


def test_a_step_capped_by_stpmax_is_accepted_with_a_warning():
    """phi(a) = -a has no minimum: the search runs to stpmax and stops there."""
    step, outcome, _ = search(lambda a: (-a, -1.0), 1.0, stpmax=50.0)
    assert (step, outcome) == (50.0, "warning: stp = stpmax")


def test_a_search_packed_between_two_steps_continues_the_same():
    f, g = moré_thuente_2(0.0)
    line, step = MoreThuente.start(1e3, f, g, ftol=0.1, gtol=0.1, xtol=1e-10)
    for _ in range(4):
        step, outcome = line.next(step, *moré_thuente_2(step))
        assert outcome == "evaluate"
    packed = line.pack()
    assert packed.shape == (PACKED_SIZE,) and packed.dtype == np.float64
    copy = MoreThuente.unpack(packed)
    assert copy == line
    assert copy.next(step, *moré_thuente_2(step)) == line.next(
        step, *moré_thuente_2(step)
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((1.0, 0.0, 0.0), "descent direction"),
        ((1.0, 0.0, 1.0), "descent direction"),
        ((2.0, 0.0, -1.0, {"stpmax": 1.0}), r"outside \[0.0, 1.0\]"),
        ((1.0, 0.0, -1.0, {"ftol": -1.0}), "non-negative"),
    ],
)
def test_a_search_that_cannot_start_says_why(arguments, message):
    *positional, keywords = (*arguments, {}) if len(arguments) == 3 else arguments
    with pytest.raises(ValueError, match=message):
        MoreThuente.start(*positional, **keywords)
