"""naah's float32 L-BFGS: its iterates against scipy's ``fmin_l_bfgs_b`` (collected
with its callback, never stored numbers), bounds, exact resume and its memory.

Agreement measured when this was written (relative 2-norm error of each iterate):
the quadratic below at most 1.1e-6 over 30 iterations, Rosenbrock's 5-d function
1.7e-5 at iteration 10 and 4.9e-5 at 12, after which float32's rounding of x and
the (s, y) pairs sends it along another path to the same minimum.
"""

import tracemalloc

import numpy as np
import pytest
from scipy.optimize import fmin_l_bfgs_b, rosen, rosen_der

from naah.optim.float_lbfgs import (
    MIN_HISTORY,
    FloatLBFGS,
    lbfgs_history_for,
    state_bytes,
)
from naah.optim.lbfgsb import LBFGSBSettings


def quadratic(n=50, condition=100.0, seed=0):
    """0.5 x'Ax - b'x with A = Q diag(1 ... condition) Q', and its minimiser."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    a = (q * np.logspace(0, np.log10(condition), n)) @ q.T
    b = rng.standard_normal(n)

    def loss_and_grad(x):
        x = np.asarray(x, np.float64).ravel()
        ax = a @ x
        return 0.5 * x @ ax - b @ x, ax - b

    return loss_and_grad, np.linalg.solve(a, b)


def rosenbrock(x):
    x = np.asarray(x, np.float64).ravel()
    return rosen(x), rosen_der(x)


def least_squares(rows=40, columns=12, seed=1):
    """0.5 |Ax - b|^2 with float32 A and b (the loss in float64)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((rows, columns)).astype(np.float32).astype(np.float64)
    b = rng.standard_normal(rows).astype(np.float32).astype(np.float64)

    def loss_and_grad(x):
        residual = a @ np.asarray(x, np.float64).ravel() - b
        return 0.5 * residual @ residual, a.T @ residual

    return loss_and_grad


def scipys_iterates(loss_and_grad, x0, m=10, iterations=30, bounds=None):
    seen = []
    fmin_l_bfgs_b(
        loss_and_grad, np.asarray(x0, np.float64), m=m, factr=10.0, pgtol=0.0,
        maxiter=iterations, bounds=bounds, callback=lambda x: seen.append(x.copy()),
    )  # fmt: skip
    return seen


def our_iterates(solver, loss_and_grad, iterations):
    seen = []
    while len(seen) < iterations and solver.step(loss_and_grad):
        seen.append(solver.x.astype(np.float64).ravel())
    return seen


def relative_errors(ours, theirs):
    return [
        np.linalg.norm(a - b) / np.linalg.norm(b)
        for a, b in zip(ours, theirs, strict=True)
    ]


# -- the iterates of scipy's L-BFGS-B ------------------------------------------------


def test_on_a_quadratic_every_iterate_is_scipys():
    loss_and_grad, _ = quadratic()
    x0 = np.zeros(50, np.float32)
    theirs = scipys_iterates(loss_and_grad, x0, iterations=30)
    ours = our_iterates(FloatLBFGS(x0), loss_and_grad, 30)
    assert len(ours) == len(theirs) == 30
    assert max(relative_errors(ours, theirs)) < 1e-5


def test_on_rosenbrocks_function_the_first_iterates_are_scipys():
    """Float32 rounding then moves it along another path (see the docstring)."""
    x0 = np.array([-1.2, 1.0, -1.2, 1.0, -1.2], np.float32)
    theirs = scipys_iterates(rosenbrock, x0, iterations=12)
    ours = our_iterates(FloatLBFGS(x0), rosenbrock, 12)
    errors = relative_errors(ours, theirs)
    assert len(errors) == 12
    assert max(errors[:10]) < 1e-4
    assert max(errors) < 1e-3


def test_both_reach_rosenbrocks_minimum():
    x0 = np.array([-1.2, 1.0, -1.2, 1.0, -1.2], np.float32)
    solver = FloatLBFGS(x0)
    while solver.step(rosenbrock):
        pass
    assert solver.status == "converged"
    np.testing.assert_allclose(solver.x, np.ones(5), atol=1e-4)
    assert solver.loss < 1e-8


@pytest.mark.parametrize("m", [3, 10])
def test_on_float32_least_squares_the_iterates_are_scipys(m):
    loss_and_grad = least_squares()
    x0 = np.zeros(12, np.float32)
    theirs = scipys_iterates(loss_and_grad, x0, m=m, iterations=15)
    ours = our_iterates(FloatLBFGS(x0, settings=LBFGSBSettings(m=m)), loss_and_grad, 15)
    assert len(ours) == len(theirs) == 15
    assert max(relative_errors(ours, theirs)) < 1e-5


# -- bounds --------------------------------------------------------------------------


def test_with_bounds_it_reaches_scipys_bounded_minimum():
    loss_and_grad, free_minimum = quadratic()
    low, high = np.float32(-0.1), np.float32(0.1)
    assert np.abs(free_minimum).max() > 0.5  # some bounds are active at the minimum
    x0 = np.zeros(50, np.float32)
    theirs = fmin_l_bfgs_b(
        loss_and_grad, x0.astype(np.float64), bounds=[(low, high)] * 50, m=10,
        factr=10.0, pgtol=0.0, maxiter=500,
    )[0]  # fmt: skip
    solver = FloatLBFGS(x0, (low, high))
    steps = 0
    while solver.step(loss_and_grad):
        steps += 1
        assert low <= solver.x.min() and solver.x.max() <= high
    assert solver.status == "converged" and steps < 500
    np.testing.assert_allclose(solver.x, theirs, atol=1e-4)
    at_bounds = (theirs == low) | (theirs == high)
    assert at_bounds.sum() >= 5
    np.testing.assert_array_equal(solver.x[at_bounds], theirs[at_bounds])


def test_bounds_that_are_never_reached_change_no_iterate():
    """With no bound active and none hit, the projected method is plain L-BFGS."""
    loss_and_grad, _ = quadratic()
    x0 = np.zeros((5, 10), np.float32)  # any shape; bounds broadcast to it
    free = our_iterates(FloatLBFGS(x0), loss_and_grad, 25)
    low = np.full((5, 1), -100, np.float32)
    bounded = our_iterates(FloatLBFGS(x0, (low, np.float32(100))), loss_and_grad, 25)
    assert len(free) == len(bounded) == 25
    for a, b in zip(free, bounded, strict=True):
        np.testing.assert_array_equal(a, b)


def test_bounds_per_leading_row_or_per_value_give_the_same_iterates():
    """Per-row bounds are kept as scalars, per-value bounds as vectors."""
    loss_and_grad, _ = quadratic()
    x0 = np.zeros((5, 10), np.float32)
    rows = np.linspace(-0.3, -0.7, 5, dtype=np.float32).reshape(5, 1)
    per_row = FloatLBFGS(x0, (rows, -rows))
    per_value = FloatLBFGS(
        x0, (np.broadcast_to(rows, (5, 10)).copy(), np.broadcast_to(-rows, (5, 10)))
    )
    for a, b in zip(
        our_iterates(per_row, loss_and_grad, 20),
        our_iterates(per_value, loss_and_grad, 20),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)


def test_the_start_is_projected_into_the_box():
    solver = FloatLBFGS(np.array([-3.0, 0.5, 3.0], np.float32), (-1.0, 1.0))
    np.testing.assert_array_equal(solver.x, [-1.0, 0.5, 1.0])


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        ((np.zeros(4), np.ones(4)), r"do not broadcast to the iterate's shape \(3,\)"),
        ((1.0, 0.0), "lower bound is above"),
    ],
)
def test_bad_bounds_are_refused(bounds, message):
    with pytest.raises(ValueError, match=message):
        FloatLBFGS(np.zeros(3, np.float32), bounds)


# -- stopping ------------------------------------------------------------------------


def test_a_run_stops_when_the_loss_no_longer_decreases():
    loss_and_grad, minimum = quadratic(n=10, condition=10)
    solver = FloatLBFGS(np.zeros(10, np.float32))
    steps = 0
    while solver.step(loss_and_grad):
        steps += 1
    assert solver.finished and solver.status == "converged"
    assert steps < 100
    np.testing.assert_allclose(solver.x, minimum, atol=1e-5)
    assert solver.step(loss_and_grad) is False  # and stays stopped


def test_a_search_that_finds_no_step_fails_leaving_the_start():
    """A gradient of the wrong sign: no step decreases the loss along -g."""
    x0 = np.array([1.0, 2.0], np.float32)
    solver = FloatLBFGS(x0, settings=LBFGSBSettings(maxls=5))
    calls = []

    def wrong_gradient(x):
        calls.append(1)
        return float(np.sum(x)), -np.ones(2)

    assert solver.step(wrong_gradient) is False
    assert solver.status == "line search failed"
    np.testing.assert_array_equal(solver.x, x0)
    assert len(calls) == 1 + 5  # the start and maxls trials


def test_a_non_finite_loss_raises_and_the_evaluation_can_be_made_again():
    loss_and_grad, _ = quadratic(n=10)
    x0 = np.zeros(10, np.float32)
    whole = our_iterates(FloatLBFGS(x0), loss_and_grad, 6)
    solver = FloatLBFGS(x0)
    ours = our_iterates(solver, loss_and_grad, 3)
    with pytest.raises(FloatingPointError, match="not finite"):
        solver.step(lambda x: (float("nan"), np.zeros(10)))
    assert solver.status == "wants loss and gradient"
    ours += our_iterates(solver, loss_and_grad, 3)
    for mine, uninterrupted in zip(ours, whole, strict=True):
        np.testing.assert_array_equal(mine, uninterrupted)


# -- saving and restoring ------------------------------------------------------------


class Interrupt(Exception):
    pass


def interrupted_at(loss_and_grad, call):
    count = [0]

    def patched(x):
        count[0] += 1
        if count[0] == call:
            raise Interrupt
        return loss_and_grad(x)

    return patched


def test_a_restored_solver_continues_with_bit_identical_iterates():
    x0 = np.array([-1.2, 1.0, -1.2, 1.0, -1.2], np.float32)
    settings = LBFGSBSettings(m=4)
    whole = our_iterates(FloatLBFGS(x0, (-1.5, 1.5), settings), rosenbrock, 30)
    first = FloatLBFGS(x0, (-1.5, 1.5), settings)
    head = our_iterates(first, rosenbrock, 12)
    state = first.state()
    our_iterates(first, rosenbrock, 5)  # the original goes on: the state is a copy
    resumed = FloatLBFGS.from_state(state, (-1.5, 1.5), settings)
    tail = our_iterates(resumed, rosenbrock, 18)
    for mine, uninterrupted in zip(head + tail, whole, strict=True):
        np.testing.assert_array_equal(mine, uninterrupted)


def test_a_solver_saved_in_the_middle_of_a_line_search_continues_bit_for_bit():
    x0 = np.array([-1.2, 1.0, -1.2, 1.0, -1.2], np.float32)
    settings = LBFGSBSettings(m=3)
    whole = FloatLBFGS(x0, settings=settings)
    losses = []
    while len(losses) < 25 and whole.step(rosenbrock):
        losses.append((whole.x.copy(), whole.loss))
    # The first interrupt that falls after a line search's first trial.
    for call in range(2, 60):
        solver = FloatLBFGS(x0, settings=settings)
        done = []
        with pytest.raises(Interrupt):
            while solver.step(interrupted_at(rosenbrock, call)):
                done.append((solver.x.copy(), solver.loss))
        if solver.status == "wants loss and gradient" and solver.state()["counters"][3]:
            break
    else:
        pytest.fail("no line search took two trials")
    resumed = FloatLBFGS.from_state(solver.state(), settings=settings)
    while len(done) < 25 and resumed.step(rosenbrock):
        done.append((resumed.x.copy(), resumed.loss))
    assert len(done) == 25
    for (x, loss), (x_whole, loss_whole) in zip(done, losses, strict=True):
        np.testing.assert_array_equal(x, x_whole)
        assert loss == loss_whole


def test_a_state_of_another_memory_or_size_is_refused():
    state = FloatLBFGS(np.zeros(6, np.float32), settings=LBFGSBSettings(m=4)).state()
    with pytest.raises(ValueError, match=r"'s' is float32\[4, 6\], expected .*m=5"):
        FloatLBFGS.from_state(state, settings=LBFGSBSettings(m=5))
    del state["curvature"]
    with pytest.raises(ValueError, match="lacks its 'curvature'"):
        FloatLBFGS.from_state(state, settings=LBFGSBSettings(m=4))


# -- memory --------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "m"), [(1000, 3), (4096, 10), (7, 1)])
def test_the_state_takes_2mn_plus_3n_float32_and_a_few_scalars(n, m):
    solver = FloatLBFGS(np.zeros(n, np.float32), settings=LBFGSBSettings(m=m))
    nbytes = sum(array.nbytes for array in solver.state().values())
    assert nbytes == state_bytes(n, m)
    assert 0 < nbytes - (2 * m * n * 4 + 3 * n * 4) < 512


def test_an_iteration_allocates_no_array_of_n_values():
    """Block-wise updates and float64 dot products need only fixed scratch."""
    n = 1 << 20
    rng = np.random.default_rng(0)
    scale = rng.uniform(1, 10, n).astype(np.float32)
    grad = np.empty(n, np.float32)

    def loss_and_grad(x):  # 0.5 sum(scale x^2), allocating nothing of n values
        np.multiply(x.ravel(), scale, out=grad)
        return 0.5 * float(np.einsum("i,i->", grad, x.ravel(), dtype=np.float64)), grad

    x0 = rng.uniform(-1, 1, n).astype(np.float32)
    solver = FloatLBFGS(x0, (-1.0, 1.0), LBFGSBSettings(m=3))
    for _ in range(4):  # fill the memory
        solver.step(loss_and_grad)
    tracemalloc.start()
    try:
        for _ in range(3):
            assert solver.step(loss_and_grad)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < n  # a float32 vector of n values is 4n bytes


def test_the_history_for_a_budget_is_the_longest_that_fits():
    n = 3 * 2048 * 1536
    for budget in (state_bytes(n, MIN_HISTORY), 5 * 10**8, 10**9, 10**12):
        m = lbfgs_history_for(budget, n)
        assert MIN_HISTORY <= m <= 10
        assert state_bytes(n, m) <= budget
        assert m == 10 or state_bytes(n, m + 1) > budget
    assert lbfgs_history_for(10**12, n, m_max=6) == 6


def test_a_budget_too_small_for_three_pairs_says_what_is_needed():
    n = 3 * 2048 * 1536
    need = state_bytes(n, MIN_HISTORY)
    with pytest.raises(ValueError, match=f"need .*{need} bytes"):
        lbfgs_history_for(need - 1, n)
