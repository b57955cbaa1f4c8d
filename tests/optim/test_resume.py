"""Minimizer: the same iterates as scipy's fmin_l_bfgs_b, true resume for every
optimiser (also from the middle of a line search), and the divergence guard.

Fixture weights and two real 48x48 images; iterates are compared with what an
uninterrupted run (or scipy's own function) gives, never with stored numbers.
"""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import fmin_l_bfgs_b

from naah import StyleTransfer
from naah.io.checkpoint import CheckpointError, open_checkpoint, write_checkpoint
from naah.io.images import load_image, preprocess
from naah.optim import (
    MAX_ROLLBACKS,
    DivergenceError,
    Minimizer,
    OptimizerSettings,
)
from naah.testing import write_vgg19_mat

IMAGES = Path(__file__).resolve().parents[2] / "data"
if not (IMAGES / "tubingen.jpg").exists():
    IMAGES = Path("/work/shared/images")
SHAPE = (48, 48, 3)
SETTINGS = {
    "lbfgs": OptimizerSettings("lbfgs"),
    "adam": OptimizerSettings("adam", learning_rate=5.0),
    "gd": OptimizerSettings("gd", learning_rate=1e-4),
    "momentum": OptimizerSettings("momentum", learning_rate=1e-3, momentum=0.9),
}
FIRST_ORDER = ["adam", "gd", "momentum"]


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


def totals(history):
    return np.array(history.column("total"))


def test_lbfgs_follows_the_iterates_of_scipys_fmin_l_bfgs_b(problem, initial):
    """The driver of naah.optim.lbfgsb is scipy's L-BFGS-B, step for step."""
    low, high = problem.pixel_bounds()
    bounds = list(
        zip(
            np.broadcast_to(low, problem.nchw_shape).ravel(),
            np.broadcast_to(high, problem.nchw_shape).ravel(),
            strict=True,
        )
    )

    def loss_and_grad(x):
        evaluation, grad = problem.evaluate(x.reshape(problem.nchw_shape))
        return evaluation.total, grad.ravel().astype(np.float64)

    theirs = []
    fmin_l_bfgs_b(
        loss_and_grad, initial.ravel().astype(np.float64), bounds=bounds, m=10,
        factr=10.0, pgtol=0.0, maxiter=8, callback=lambda x: theirs.append(x.copy()),
    )  # fmt: skip
    ours = []
    run = Minimizer(problem, SETTINGS["lbfgs"], initial)
    run.run(8, lambda record, image: ours.append(image.ravel().copy()))
    assert len(ours) == len(theirs) + 1  # ours also reports the start
    for mine, scipys in zip(ours[1:], theirs, strict=True):
        np.testing.assert_allclose(mine, scipys, rtol=0, atol=1e-9)


@pytest.mark.parametrize("method", list(SETTINGS))
def test_a_restored_run_follows_the_uninterrupted_iterates(problem, initial, method):
    settings = SETTINGS[method]
    whole = Minimizer(problem, settings, initial)
    whole.run(10)
    first = Minimizer(problem, settings, initial)
    first.run(4)
    state = first.state()
    first.run(6)  # the original goes on: the state is a copy
    resumed = Minimizer.restore(problem, settings, state)
    resumed.run(10)
    assert resumed.iteration == whole.iteration == 10
    np.testing.assert_allclose(totals(resumed.history), totals(whole.history), 1e-6)
    np.testing.assert_allclose(resumed.image, whole.image, rtol=0, atol=1e-4)
    assert resumed.best_iteration == whole.best_iteration


@pytest.mark.parametrize("method", list(SETTINGS))
def test_a_finished_run_continues_with_more_iterations(problem, initial, method):
    settings = SETTINGS[method]
    whole = Minimizer(problem, settings, initial)
    whole.run(9)
    part = Minimizer(problem, settings, initial)
    part.run(5)
    more = Minimizer.restore(problem, settings, part.state())
    more.run(9)
    np.testing.assert_allclose(totals(more.history), totals(whole.history), 1e-6)


def test_a_restored_momentum_run_continues_bit_for_bit(problem, initial):
    """The velocity is saved with the image: nothing of the run is recomputed."""
    settings = SETTINGS["momentum"]
    whole = Minimizer(problem, settings, initial)
    seen = []
    whole.run(10, lambda record, image: seen.append(image.copy()))
    first = Minimizer(problem, settings, initial)
    first.run(4)
    state = first.state()
    assert set(state.arrays) == {"image", "best_image", "first_order.0", "anchor"}
    resumed = Minimizer.restore(problem, settings, state)
    resumed_seen = []
    resumed.run(10, lambda record, image: resumed_seen.append(image.copy()))

    assert len(resumed_seen) == 6
    for mine, uninterrupted in zip(resumed_seen, seen[5:], strict=True):
        np.testing.assert_array_equal(mine, uninterrupted)
    assert totals(resumed.history).tolist() == totals(whole.history).tolist()


class Interrupt(Exception):
    pass


def test_lbfgs_resumes_from_the_middle_of_a_line_search(problem, initial, monkeypatch):
    """An interrupt inside an evaluation leaves a state that redoes that evaluation."""
    settings = SETTINGS["lbfgs"]
    whole = Minimizer(problem, settings, initial)
    whole.run(8)
    evaluate = problem.evaluate
    calls = []

    def interrupted(*args):
        calls.append(1)
        if len(calls) == 7:
            raise Interrupt
        return evaluate(*args)

    monkeypatch.setattr(problem, "evaluate", interrupted)
    run = Minimizer(problem, settings, initial)
    with pytest.raises(Interrupt):
        run.run(8)
    monkeypatch.setattr(problem, "evaluate", evaluate)
    state = run.state()
    resumed = Minimizer.restore(problem, settings, state)
    resumed.run(8)
    np.testing.assert_allclose(totals(resumed.history), totals(whole.history), 1e-6)


def nan_after(evaluate, calls_before_nan, how_many):
    """``problem.evaluate`` whose result turns NaN from a given call on."""
    count = [0]

    def patched(*args):
        count[0] += 1
        evaluation, grad = evaluate(*args)
        if calls_before_nan < count[0] <= calls_before_nan + how_many:
            grad = grad.copy()
            grad.flat[0] = np.nan
        return evaluation, grad

    return patched


def test_lbfgs_rolls_back_once_and_reaches_a_finite_loss(problem, initial, monkeypatch):
    monkeypatch.setattr(problem, "evaluate", nan_after(problem.evaluate, 5, 1))
    run = Minimizer(problem, SETTINGS["lbfgs"], initial)
    run.run(10)
    assert run.rollbacks == 1
    assert run.iteration == 10
    assert np.isfinite(totals(run.history)).all()
    assert totals(run.history)[-1] < totals(run.history)[0] / 2


def test_lbfgs_gives_up_after_max_rollbacks_keeping_the_best_image(
    problem, initial, monkeypatch
):
    """NaN at every new trial point; the rolled-back iterate itself stays finite."""
    evaluate = problem.evaluate
    run = Minimizer(problem, SETTINGS["lbfgs"], initial)
    calls = [0]

    def nan_away_from_the_best(image):
        calls[0] += 1
        evaluation, grad = evaluate(image)
        if calls[0] > 4 and not np.array_equal(image, run.best_image):
            grad = np.full_like(grad, np.nan)
        return evaluation, grad

    monkeypatch.setattr(problem, "evaluate", nan_away_from_the_best)
    with pytest.raises(DivergenceError, match=f"after {MAX_ROLLBACKS} rollbacks"):
        run.run(10)
    assert run.rollbacks == MAX_ROLLBACKS + 1
    best = run.history[run.best_iteration]
    assert best.total == min(totals(run.history))
    loss = evaluate(run.best_image)[0].total
    np.testing.assert_allclose(loss, best.total, rtol=1e-5)


def test_lbfgs_stops_when_even_the_last_finite_iterate_turns_nan(
    problem, initial, monkeypatch
):
    monkeypatch.setattr(problem, "evaluate", nan_after(problem.evaluate, 4, 10**6))
    run = Minimizer(problem, SETTINGS["lbfgs"], initial)
    with pytest.raises(DivergenceError, match="no longer has a finite loss"):
        run.run(10)
    assert np.isfinite(totals(run.history)).all() and len(run.history) >= 2


def test_a_non_finite_start_fails_at_once_naming_the_cause(problem, initial):
    problem.set_loss_weights(beta=1e38)
    try:
        with pytest.raises(DivergenceError, match="start image.*too large") as error:
            Minimizer(problem, SETTINGS["lbfgs"], initial).run(5)
    finally:
        problem.set_loss_weights(beta=1e3)
    assert error.value.iteration == -1


def nan_total_at(evaluation_from_terms, call):
    """``problem.evaluation_from_terms`` (what a first-order step's losses go
    through) whose total is NaN at one call."""
    count = [0]

    def patched(values):
        count[0] += 1
        evaluation = evaluation_from_terms(values)
        if count[0] == call:
            return dataclasses.replace(evaluation, total=float("nan"))
        return evaluation

    return patched


@pytest.mark.parametrize("method", FIRST_ORDER)
def test_first_order_rollback_halves_the_step_and_goes_on(
    problem, initial, method, monkeypatch
):
    settings = SETTINGS[method]
    run = Minimizer(problem, settings, initial)
    run.run(3)
    monkeypatch.setattr(
        problem, "evaluation_from_terms", nan_total_at(problem.evaluation_from_terms, 2)
    )
    run.run(8)
    assert run.rollbacks == 1
    assert run.learning_rate == settings.learning_rate / 2
    assert [r.iteration for r in run.history] == list(range(9))
    assert np.isfinite(totals(run.history)).all()


def numpy_first_step(method, x, g, learning_rate):
    """A step from fresh moments (Adam) or a velocity of zero (momentum)."""
    if method == "adam":
        beta1, beta2, epsilon = 0.9, 0.999, 1e-8
        m, v = (1 - beta1) * g, (1 - beta2) * g**2
        fix = np.sqrt(1 - beta2) / (1 - beta1)
        return x - learning_rate * fix * m / (np.sqrt(v) + epsilon)
    return x - learning_rate * g  # GD, and momentum's first step


@pytest.mark.parametrize("method", FIRST_ORDER)
def test_first_order_rollback_steps_afresh_from_the_last_finite_image(
    problem, initial, method, monkeypatch
):
    """NaN at the fourth evaluation (image 3): back to image 2, then a first step
    of the method with half the learning rate, as from a fresh start."""
    settings = SETTINGS[method]
    evaluation_from_terms = problem.evaluation_from_terms
    monkeypatch.setattr(
        problem, "evaluation_from_terms", nan_total_at(evaluation_from_terms, 4)
    )
    seen = []
    run = Minimizer(problem, settings, initial)
    run.run(4, lambda record, image: seen.append(image.copy()))
    monkeypatch.setattr(problem, "evaluation_from_terms", evaluation_from_terms)
    assert run.rollbacks == 1
    assert len(seen) == 5

    _, g = problem.evaluate(seen[2])
    rate = settings.learning_rate / 2
    expected = numpy_first_step(method, seen[2].astype(np.float64), g, rate)
    low, high = problem.pixel_bounds()
    np.testing.assert_allclose(seen[3], np.clip(expected, low, high), rtol=0, atol=1e-4)


def test_restore_refuses_another_optimizer_or_size(problem, initial):
    state = Minimizer(problem, SETTINGS["adam"], initial).state()
    with pytest.raises(ValueError, match="optimizer 'adam', not 'lbfgs'"):
        Minimizer.restore(problem, SETTINGS["lbfgs"], state)
    state.arrays["image"] = np.zeros((1, 3, 8, 8), np.float32)
    with pytest.raises(ValueError, match=r"saved image is \(1, 3, 8, 8\)"):
        Minimizer.restore(problem, SETTINGS["adam"], state)


class Unread:
    """A saved array whose dtype and shape are known (a checkpoint's listing);
    reading it fails the test."""

    def __init__(self, dtype, shape):
        self.dtype, self.shape = np.dtype(dtype), tuple(shape)

    def __array__(self, dtype=None, copy=None):
        raise AssertionError("a saved array was read before its shape was checked")


@pytest.mark.parametrize(
    "method, name, shape, named",
    [
        ("adam", "image", (1, 3, 10_000, 10_000), r"saved image is \(1, 3, 10000, "),
        ("adam", "best_image", (1, 3, 9, 9), r"saved best image is \(1, 3, 9, 9\)"),
        ("adam", "first_order.1", (1, 3, 48, 47), r"'first_order.1' is float32\[1, "),
        ("momentum", "anchor", (1, 3, 48, 49), r"'anchor' is float32\[1, 3, 48, 49\]"),
        ("lbfgs", "lbfgs.x", (10**9,), r"'lbfgs.x' has shape \(1000000000,\); this"),
        ("lbfgs", "lbfgs.wa", (10**9,), r"'wa' is float64\[1000000000\], expected"),
    ],
)
def test_saved_arrays_of_another_size_are_refused_before_they_are_read(
    problem, initial, method, name, shape, named
):
    """The images' shapes are checked first, then the optimiser's arrays' (none of
    which is read before all are checked)."""
    run = Minimizer(problem, SETTINGS[method], initial)
    run.run(2)
    state = run.state()
    checked_first = name in ("image", "best_image")
    state.arrays = {
        k: v
        if k in ("image", "best_image") and not checked_first
        else Unread(v.dtype, v.shape)
        for k, v in state.arrays.items()
    }
    state.arrays[name] = Unread(state.arrays[name].dtype, shape)
    state.source = "/runs/a.ckpt"  # the refusal names it
    with pytest.raises(CheckpointError, match=f"^/runs/a.ckpt: .*{named}"):
        Minimizer.restore(problem, SETTINGS[method], state)


@pytest.mark.parametrize("method", list(SETTINGS))
def test_a_state_left_in_its_checkpoint_file_resumes_bit_for_bit(
    problem, initial, method, tmp_path
):
    settings = SETTINGS[method]
    whole = Minimizer(problem, settings, initial)
    whole.run(7)
    first = Minimizer(problem, settings, initial)
    first.run(3)
    state = first.state()
    path = write_checkpoint(tmp_path / "run.ckpt", state.arrays, state.info)
    opened = open_checkpoint(path)
    stored = dataclasses.replace(
        state, arrays=dict(opened.arrays), info=opened.metadata, source=str(path)
    )
    resumed = Minimizer.restore(problem, settings, stored)
    resumed.run(7)
    assert totals(resumed.history).tolist() == totals(whole.history).tolist()
    np.testing.assert_array_equal(resumed.image, whole.image)
