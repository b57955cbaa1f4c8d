"""The registry's 'lbfgs' with a memory budget for its state: which implementation
runs (scipy's L-BFGS-B or naah's float32 L-BFGS), how it compares with scipy's run,
and that its checkpoints resume bit for bit.

Fixture weights and two real 48x48 images, as tests/optim/test_resume.py; every
comparison is with another run made here, never with stored numbers.
"""

import math
from pathlib import Path

import numpy as np
import pytest

from naah import StyleTransfer
from naah.estimate import lbfgs_state
from naah.io.checkpoint import read_checkpoint, write_checkpoint
from naah.io.images import load_image, preprocess
from naah.optim import Minimizer, MinimizerState, OptimizerSettings
from naah.optim.float_lbfgs import state_bytes
from naah.optim.lbfgs import FLOAT32_LAYOUT, lbfgs_bounds, lbfgs_implementation
from naah.optim.lbfgsb import LBFGSB, LBFGSBSettings
from naah.testing import write_vgg19_mat

IMAGES = Path(__file__).resolve().parents[2] / "data"
if not (IMAGES / "tubingen.jpg").exists():
    IMAGES = Path("/work/shared/images")
SHAPE = (48, 48, 3)
VALUES = math.prod(SHAPE)
LBFGS = OptimizerSettings("lbfgs")


@pytest.fixture(scope="module")
def problem(tmp_path_factory):
    weights = write_vgg19_mat(tmp_path_factory.mktemp("weights") / "vgg19.mat")
    content = load_image(IMAGES / "tubingen.jpg", size=SHAPE[:2])
    style = load_image(IMAGES / "starry_night.jpg", size=SHAPE[:2])
    return StyleTransfer(weights).prepare(content, style)


@pytest.fixture(scope="module")
def initial(problem):
    noise = np.random.default_rng(0).uniform(0, 255, SHAPE).astype(np.float32)
    return preprocess(noise, problem.mean_pixel)


@pytest.fixture
def budget(problem, monkeypatch):
    """Set the problem's optimizer_budget for one test."""

    def set_budget(value):
        monkeypatch.setattr(problem, "optimizer_budget", value)

    return set_budget


def totals(history):
    return history.column("total")


def run(problem, initial, iterations, settings=LBFGS):
    minimizer = Minimizer(problem, settings, initial)
    seen = []
    minimizer.run(iterations, lambda record, image: seen.append(image.copy()))
    return minimizer, seen


# -- the choice ----------------------------------------------------------------------


def test_without_a_budget_the_run_is_scipys_l_bfgs_b(problem, initial, budget):
    budget(None)  # prepare() sets a share of the memory available
    assert lbfgs_implementation(problem) == ("scipy", 10)
    minimizer, _ = run(problem, initial, 2)
    state = minimizer.state()
    assert "lbfgs.wa" in state.arrays
    assert set(state.info) >= {"lbfgs_layout"} and "lbfgs_history" not in state.info


def test_a_budget_that_holds_scipys_state_keeps_scipys_l_bfgs_b(problem, budget):
    budget(lbfgs_state(VALUES))
    assert lbfgs_implementation(problem) == ("scipy", 10)
    budget(lbfgs_state(VALUES) - 1)
    assert lbfgs_implementation(problem) == ("float32", 10)


@pytest.mark.parametrize("m", [3, 5, 10])
def test_a_smaller_budget_gets_the_longest_float32_history_that_fits(
    problem, budget, m
):
    budget(state_bytes(VALUES, m))
    assert lbfgs_implementation(problem) == ("float32", m)
    if m > 3:
        budget(state_bytes(VALUES, m) - 1)
        assert lbfgs_implementation(problem) == ("float32", m - 1)


def test_a_budget_too_small_for_any_l_bfgs_is_a_clear_error(problem, initial, budget):
    budget(1000)
    with pytest.raises(ValueError, match="cannot hold L-BFGS's state"):
        Minimizer(problem, LBFGS, initial).run(1)


# -- the float32 run -----------------------------------------------------------------


def test_a_budgeted_run_uses_float32_l_bfgs_and_its_state_fits(
    problem, initial, budget
):
    budget(state_bytes(VALUES, 4))
    minimizer, seen = run(problem, initial, 3)
    state = minimizer.state()
    assert state.info["lbfgs_layout"] == FLOAT32_LAYOUT
    assert state.info["lbfgs_history"] == 4
    own = {k: v for k, v in state.arrays.items() if k.startswith("lbfgs.")}
    assert own["lbfgs.s"].shape == (4, VALUES) and own["lbfgs.s"].dtype == np.float32
    assert sum(v.nbytes for v in own.values()) == state_bytes(VALUES, 4)
    low, high = problem.pixel_bounds()
    for image in seen:
        assert image.dtype == np.float32
        assert (image >= low).all() and (image <= high).all()


def scipys_losses(problem, initial, m, iterations, bounds=True):
    """The loss at each iterate of scipy's L-BFGS-B with m pairs (naah's driver of
    it, whose iterates are fmin_l_bfgs_b's: tests/optim/test_resume.py)."""
    box = lbfgs_bounds(problem) if bounds else None
    solver = LBFGSB(initial.ravel().astype(np.float64), box, LBFGSBSettings(m=m))

    def loss_and_grad(x):
        evaluation, grad = problem.evaluate(x.reshape(problem.nchw_shape))
        return evaluation.total, grad.ravel().astype(np.float64)

    losses = []
    while len(losses) < iterations and solver.step(loss_and_grad):
        losses.append(solver.loss)
    return np.array(losses)


def test_without_bounds_float32_l_bfgs_follows_scipys_losses(problem, initial, budget):
    """Plain L-BFGS both: the same losses but for float32's rounding."""
    theirs = scipys_losses(problem, initial, 10, 30, bounds=False)
    budget(state_bytes(VALUES, 10))
    ours, _ = run(problem, initial, 30, OptimizerSettings("lbfgs", bounds=False))
    mine = np.array(totals(ours.history)[1:])
    # Measured: within 2e-6 of scipy's loss at iteration 10, 7e-5 at 20, 0.3 % at
    # 25 and 1.4 % at most up to 30, as the loss falls from 3.9e6 to 1.4e2.
    np.testing.assert_allclose(mine[:20], theirs[:20], rtol=1e-3)
    np.testing.assert_allclose(mine, theirs, rtol=0.05)


@pytest.mark.parametrize("m", [10, 4])
def test_with_bounds_float32_l_bfgs_lowers_the_loss_as_scipys_does(
    problem, initial, budget, m
):
    """The two keep the pixel bounds in different ways (L-BFGS-B by its Cauchy
    point and subspace minimisation, naah's by projection): the same first steps,
    then paths that the random fixture network's landscape pulls apart.

    Measured with m = 10 and 4, here and from three other start images: after 60
    iterations (the loss falls from 3.9e6 to 20-40) naah's loss was 0.74-1.50
    times L-BFGS-B's with the same m, and the geometric mean of the ratio over the
    run 0.91-1.25: sometimes ahead, sometimes behind, neither consistently. A
    method that stalled would be orders of magnitude off.
    """
    theirs = scipys_losses(problem, initial, m, 60)
    budget(state_bytes(VALUES, m))
    ours, _ = run(problem, initial, 60)
    mine = np.array(totals(ours.history)[1:])
    assert (np.diff(mine) < 0).all()
    np.testing.assert_allclose(mine[:5], theirs[:5], rtol=0.02)
    ratio = mine / theirs
    assert 0.5 < ratio[-1] < 2
    assert 0.67 < np.exp(np.log(ratio).mean()) < 1.5


def test_a_resumed_float32_run_continues_bit_for_bit(problem, initial, budget):
    budget(state_bytes(VALUES, 4))
    whole, whole_seen = run(problem, initial, 12)
    first, _ = run(problem, initial, 5)
    state = first.state()
    first.run(8)  # the original goes on: the state is a copy
    resumed = Minimizer.restore(problem, LBFGS, state)
    seen = []
    resumed.run(12, lambda record, image: seen.append(image.copy()))
    for mine, uninterrupted in zip(seen, whole_seen[6:], strict=True):
        np.testing.assert_array_equal(mine, uninterrupted)
    assert totals(resumed.history) == totals(whole.history)


def test_a_float32_checkpoint_file_resumes_bit_for_bit(
    problem, initial, budget, tmp_path
):
    budget(state_bytes(VALUES, 3))
    whole, _ = run(problem, initial, 9)
    first, _ = run(problem, initial, 4)
    state = first.state()
    path = write_checkpoint(tmp_path / "run.ckpt", state.arrays, {"info": state.info})
    saved = read_checkpoint(path)
    restored = MinimizerState(
        "lbfgs", saved.arrays, saved.metadata["info"], state.history
    )
    resumed = Minimizer.restore(problem, LBFGS, restored)
    resumed.run(9)
    assert totals(resumed.history) == totals(whole.history)
    np.testing.assert_array_equal(resumed.image, whole.image)


class Interrupt(Exception):
    pass


def test_a_float32_run_resumes_from_the_middle_of_a_line_search(
    problem, initial, budget, monkeypatch
):
    budget(state_bytes(VALUES, 3))
    whole, _ = run(problem, initial, 8)
    evaluate = problem.evaluate
    calls = []

    def interrupted(*args):
        calls.append(1)
        if len(calls) == 7:
            raise Interrupt
        return evaluate(*args)

    monkeypatch.setattr(problem, "evaluate", interrupted)
    minimizer = Minimizer(problem, LBFGS, initial)
    with pytest.raises(Interrupt):
        minimizer.run(8)
    monkeypatch.setattr(problem, "evaluate", evaluate)
    state = minimizer.state()
    counters = state.arrays["lbfgs.counters"]
    assert counters[0] == 2  # waiting for a trial point's evaluation
    resumed = Minimizer.restore(problem, LBFGS, state)
    resumed.run(8)
    assert totals(resumed.history) == totals(whole.history)
    np.testing.assert_array_equal(resumed.image, whole.image)


def test_a_float32_run_rolls_back_on_a_nan_and_stays_float32(
    problem, initial, budget, monkeypatch
):
    budget(state_bytes(VALUES, 3))
    evaluate = problem.evaluate
    calls = [0]

    def nan_once(*args):
        calls[0] += 1
        evaluation, grad = evaluate(*args)
        if calls[0] == 5:
            grad = grad.copy()
            grad.flat[0] = np.nan
        return evaluation, grad

    monkeypatch.setattr(problem, "evaluate", nan_once)
    minimizer, _ = run(problem, initial, 8)
    assert minimizer.rollbacks == 1 and minimizer.iteration == 8
    assert minimizer.state().info["lbfgs_layout"] == FLOAT32_LAYOUT
    assert np.isfinite(totals(minimizer.history)).all()


# -- restoring into the other implementation -----------------------------------------


def test_a_float32_state_is_not_restored_into_scipys_l_bfgs_b(problem, initial, budget):
    budget(state_bytes(VALUES, 4))
    state = run(problem, initial, 2)[0].state()
    budget(None)
    with pytest.raises(
        ValueError, match="naah's float32 L-BFGS's, but this run uses scipy's.*no "
    ):
        Minimizer.restore(problem, LBFGS, state)


def test_a_scipy_state_is_not_restored_into_float32_l_bfgs(problem, initial, budget):
    state = run(problem, initial, 2)[0].state()
    budget(state_bytes(VALUES, 4))
    with pytest.raises(
        ValueError, match="scipy's float64 L-BFGS-B's, but this run uses naah's"
    ):
        Minimizer.restore(problem, LBFGS, state)


def test_a_float32_state_longer_than_the_budget_allows_is_refused(
    problem, initial, budget
):
    budget(state_bytes(VALUES, 6))
    state = run(problem, initial, 2)[0].state()
    budget(state_bytes(VALUES, 4))
    with pytest.raises(ValueError, match="saved with 6 pairs.*holds 4"):
        Minimizer.restore(problem, LBFGS, state)
    budget(state_bytes(VALUES, 8))  # a larger budget continues with the saved 6
    resumed = Minimizer.restore(problem, LBFGS, state)
    resumed.run(3)
    assert resumed.state().info["lbfgs_history"] == 6
