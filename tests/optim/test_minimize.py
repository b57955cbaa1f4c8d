"""minimize() with L-BFGS, Adam, GD and momentum on fixture weights and two real
64x64 images; the registry of optimisers and its compiled steps.

The fixture network has random narrow layers, so the numbers below are what these
weights give (measured values in comments), not what the pretrained VGG-19 gives.
"""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from naah import StyleTransfer
from naah.io.images import load_image, preprocess
from naah.ops import threads
from naah.optim import (
    METHODS,
    OPTIMIZERS,
    Minimizer,
    Optimizer,
    OptimizerSettings,
    minimize,
)
from naah.testing import write_vgg19_mat

IMAGES = Path(__file__).resolve().parents[2] / "data"
if not (IMAGES / "tubingen.jpg").exists():
    IMAGES = Path("/work/shared/images")
SHAPE = (64, 64, 3)


@pytest.fixture(scope="module")
def weights_path(tmp_path_factory):
    return write_vgg19_mat(tmp_path_factory.mktemp("weights") / "vgg19.mat")


@pytest.fixture(scope="module")
def content():
    return load_image(IMAGES / "tubingen.jpg", size=SHAPE[:2])


@pytest.fixture(scope="module")
def style():
    return load_image(IMAGES / "starry_night.jpg", size=SHAPE[:2])


@pytest.fixture(scope="module")
def noise():
    return np.random.default_rng(0).uniform(0, 255, SHAPE).astype(np.float32)


@pytest.fixture(scope="module")
def problem(weights_path, content, style):
    """The default problem: content conv4_2, five style layers, alpha/beta = 1e-3."""
    return StyleTransfer(weights_path).prepare(content, style)


@pytest.fixture(scope="module")
def content_problem(weights_path, content, style):
    """Content reconstruction from conv4_2 alone (Gatys et al.'s Figure 1, bottom)."""
    transfer = StyleTransfer(weights_path, beta=0.0, style_layers=())
    return transfer.prepare(content, style)


def start(problem, image):
    return preprocess(image, problem.mean_pixel)


def to_rgb(problem, image_nchw):
    return image_nchw[0].transpose(1, 2, 0) + problem.mean_pixel


def reduction(history, column="total"):
    values = history.column(column)
    return values[0] / values[-1]


# -- L-BFGS ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lbfgs_run(problem, noise):
    """50 bounded L-BFGS iterations from white noise, every iterate kept."""
    seen = []
    image, history = minimize(
        problem,
        start(problem, noise),
        50,
        OptimizerSettings("lbfgs"),
        callback=lambda record, x: seen.append((record, x.copy())),
    )
    return image, history, seen


def test_lbfgs_lowers_the_total_loss_100_fold_in_50_iterations(lbfgs_run):
    image, history, _ = lbfgs_run

    assert image.shape == (1, 3, 64, 64)
    assert image.dtype == np.float32
    assert len(history) == 51
    # Measured: about 1e5 on the fixture weights.
    assert reduction(history) >= 100


def test_lbfgs_records_the_loss_of_the_image_it_passes_to_the_callback(
    lbfgs_run, problem
):
    _, history, seen = lbfgs_run

    assert [record for record, _ in seen] == list(history)
    for k in (0, 1, 25, 50):
        record, image = seen[k]
        evaluation, _ = problem.evaluate(image)
        assert record.iteration == k
        np.testing.assert_allclose(evaluation.total, record.total, rtol=1e-6)


def test_lbfgs_returns_the_last_recorded_image(lbfgs_run):
    image, _, seen = lbfgs_run

    np.testing.assert_array_equal(image, seen[-1][1].astype(np.float32))


def test_lbfgs_counts_at_least_one_evaluation_per_iteration(lbfgs_run):
    _, history, _ = lbfgs_run

    assert np.all(np.diff(history.column("evaluations")) >= 1)


def test_lbfgs_with_bounds_keeps_every_iterate_within_0_to_255(lbfgs_run, problem):
    _, _, seen = lbfgs_run
    low, high = problem.pixel_bounds()

    for _, image in seen:
        rgb = to_rgb(problem, image.reshape(problem.nchw_shape))
        assert rgb.min() >= -1e-3
        assert rgb.max() <= 255 + 1e-3
    # The bounds are active: some pixels sit on them.
    final = seen[-1][1].reshape(problem.nchw_shape)
    assert (
        np.isclose(final, low, atol=1e-3).sum()
        + np.isclose(final, high, atol=1e-3).sum()
        > 0
    )


def test_lbfgs_without_bounds_leaves_0_to_255(problem, noise):
    image, _ = minimize(
        problem, start(problem, noise), 50, OptimizerSettings("lbfgs", bounds=False)
    )

    rgb = to_rgb(problem, image)
    # Measured: about 340 of 12288 values outside, down to -70 and up to 199 + mean.
    assert rgb.min() < 0 or rgb.max() > 255


def test_zero_iterations_returns_the_start_and_one_record(problem, noise):
    x0 = start(problem, noise)

    image, history = minimize(problem, x0, 0)

    np.testing.assert_array_equal(image, x0)
    assert len(history) == 1
    assert history[0].iteration == 0


def test_negative_iterations_raise_value_error(problem, noise):
    with pytest.raises(ValueError, match="iterations must be >= 0"):
        minimize(problem, start(problem, noise), -1)


# -- content reconstruction ---------------------------------------------------------
def test_content_reconstruction_from_conv4_2_converges_towards_the_content(
    content_problem, content, noise
):
    image, history = minimize(content_problem, start(content_problem, noise), 200)

    assert history[-1].style == 0
    # Measured: content loss 16.1 -> 0.0033 (2e-4 of the start); 9e-4 after 100.
    assert history[-1].content < 1e-3 * history[0].content
    # The random fixture layers see little of the image (16 maps of 8x8 at conv4_2),
    # so most of the noise is invisible to the loss and stays: the result's pixels
    # correlate with the content's only at r = 0.01. What L-BFGS changed does point
    # at the content: r(result - noise, content - noise) = 0.35.
    change = to_rgb(content_problem, image) - noise
    r = np.corrcoef(change.ravel(), (content - noise).ravel())[0, 1]
    assert r > 0.2


# -- first-order methods --------------------------------------------------------------
def numpy_adam_first_step(x, g, settings):
    m = (1 - settings.beta1) * g
    v = (1 - settings.beta2) * g**2
    fix = np.sqrt(1 - settings.beta2) / (1 - settings.beta1)
    return x - settings.learning_rate * fix * m / (np.sqrt(v) + settings.epsilon)


def numpy_gd_step(x, g, settings):
    return x - settings.learning_rate * g


def numpy_momentum_first_step(x, g, settings):
    velocity = -settings.learning_rate * g  # from a velocity of zero
    return x + velocity


@pytest.mark.parametrize(
    ("settings", "numpy_step", "least_reduction"),
    [
        # Measured over 50 steps: Adam lr 1: 43x, 3: 2.9e3x, 10: 1.3e4x, 30: 4e3x.
        (OptimizerSettings("adam", learning_rate=10.0), numpy_adam_first_step, 1000),
        # GD lr 0.01: 3x, 0.1: 88x, 0.3: 770x, 1.0 diverges.
        (OptimizerSettings("gd", learning_rate=0.1), numpy_gd_step, 20),
        # Momentum 0.9, lr 0.003: 12x, 0.01: 150x, 0.03: 780x, 0.1: 2.3e3x.
        (
            OptimizerSettings("momentum", learning_rate=0.03),
            numpy_momentum_first_step,
            100,
        ),
    ],
    ids=["adam", "gd", "momentum"],
)
def test_first_order_methods_lower_the_loss_through_the_same_interface(
    problem, noise, settings, numpy_step, least_reduction
):
    x0 = start(problem, noise)
    before, g0 = problem.evaluate(x0)
    seen = []

    image, history = minimize(
        problem, x0, 50, settings, callback=lambda r, x: seen.append(x.copy())
    )

    assert len(history) == 51
    assert [r.iteration for r in history] == list(range(51))
    assert history[0].total == pytest.approx(before.total, rel=1e-6)
    assert reduction(history) >= least_reduction
    assert np.all(np.diff(history.column("evaluations")) == 1)
    # The first step is the method's, clipped to the pixel bounds.
    low, high = problem.pixel_bounds()
    expected = np.clip(numpy_step(x0.astype(np.float64), g0, settings), low, high)
    np.testing.assert_allclose(seen[1], expected, rtol=1e-5, atol=1e-3)
    np.testing.assert_array_equal(seen[-1], image)
    for x in seen:
        assert np.all(x >= low) and np.all(x <= high)


def test_momentum_follows_the_classic_momentum_update_written_in_numpy(problem, noise):
    """v <- mu v - lr g(x), x <- clip(x + v): the heavy ball, velocity unclipped."""
    settings = OptimizerSettings("momentum", learning_rate=0.03, momentum=0.8)
    x0 = start(problem, noise)
    seen = []

    minimize(problem, x0, 6, settings, callback=lambda r, x: seen.append(x.copy()))

    low, high = problem.pixel_bounds()
    x = x0.astype(np.float64)
    velocity = np.zeros_like(x)
    for k in range(1, 7):
        _, g = problem.evaluate(x)
        velocity = 0.8 * velocity - 0.03 * g
        x = np.clip(x + velocity, low, high)

        np.testing.assert_allclose(seen[k], x, rtol=1e-5, atol=1e-3)
    # Some pixels sit on the bounds, so the clip is exercised.
    assert np.isclose(seen[-1], low).any() or np.isclose(seen[-1], high).any()


def test_gd_records_the_loss_of_each_image_it_passes_to_the_callback(problem, noise):
    seen = []
    minimize(
        problem,
        start(problem, noise),
        3,
        OptimizerSettings("gd", learning_rate=0.1),
        callback=lambda r, x: seen.append((r, x.copy())),
    )

    assert [record.iteration for record, _ in seen] == [0, 1, 2, 3]
    for record, image in seen:
        evaluation, _ = problem.evaluate(image)
        assert evaluation.total == pytest.approx(record.total, rel=1e-5)


# -- settings ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"method": "bfgs"}, "unknown optimizer 'bfgs'"),
        ({"learning_rate": 0.0}, "learning rate must be positive"),
        ({"learning_rate": -1.0}, "learning rate must be positive"),
        ({"beta1": 1.0}, r"beta1 must be in \[0, 1\)"),
        ({"beta2": -0.1}, r"beta2 must be in \[0, 1\)"),
        ({"momentum": 1.5}, r"momentum must be in \[0, 1\), got 1.5"),
        ({"momentum": -0.5}, r"momentum must be in \[0, 1\)"),
    ],
)
def test_invalid_settings_raise_value_error(options, message):
    with pytest.raises(ValueError, match=message):
        OptimizerSettings(**options)


def test_an_unknown_optimizer_is_told_every_name_of_the_registry():
    with pytest.raises(ValueError, match="choose one of") as error:
        OptimizerSettings("bfgs")

    assert str(error.value) == (
        "unknown optimizer 'bfgs'; choose one of ('lbfgs', 'adam', 'gd', 'momentum')"
    )


def test_settings_keep_their_positional_order_with_momentum_last():
    settings = OptimizerSettings("adam", 3.0, 0.8, 0.99)

    assert (settings.learning_rate, settings.beta1, settings.beta2) == (3.0, 0.8, 0.99)
    assert settings.momentum == 0.9
    assert [f.name for f in dataclasses.fields(OptimizerSettings)] == [
        "method", "learning_rate", "beta1", "beta2", "epsilon", "bounds", "momentum",
    ]  # fmt: skip


# -- the registry ------------------------------------------------------------------
def test_methods_are_the_registrys_names_lbfgs_first():
    assert METHODS == ("lbfgs", "adam", "gd", "momentum")
    assert tuple(OPTIMIZERS) == METHODS
    assert all(isinstance(OPTIMIZERS[name], Optimizer) for name in METHODS)


def test_the_first_order_methods_are_one_strategy_with_three_update_rules():
    first_order = [OPTIMIZERS[name] for name in ("adam", "gd", "momentum")]

    assert len({type(entry) for entry in first_order}) == 1
    assert [entry.updates.__name__ for entry in first_order] == [
        "adam", "sgd", "momentum",
    ]  # fmt: skip


def test_the_registry_is_read_only():
    with pytest.raises(TypeError):
        OPTIMIZERS["bfgs"] = OPTIMIZERS["lbfgs"]


# What a checkpoint holds (naah.checkpointing writes these keys): the names of
# releases before the registry, so their checkpoints resume.
COMMON_ARRAYS = {"image", "best_image"}
COMMON_INFO = {"learning_rate", "rollbacks", "best_iteration", "best_loss", "started"}
LBFGS_ARRAYS = {
    f"lbfgs.{name}"
    for name in ("x", "f", "g", "wa", "iwa", "task", "ln_task", "lsave", "isave",
                 "dsave")
}  # fmt: skip


@pytest.mark.parametrize(
    ("settings", "own_arrays", "own_info"),
    [
        (OptimizerSettings("lbfgs"), LBFGS_ARRAYS, {"lbfgs_layout"}),
        (
            OptimizerSettings("adam", learning_rate=1.0),
            {"first_order.0", "first_order.1", "first_order.2", "anchor"},
            {"recorded", "anchor"},
        ),
        (
            OptimizerSettings("gd", learning_rate=0.1),
            {"anchor"},
            {"recorded", "anchor"},
        ),
        (
            OptimizerSettings("momentum", learning_rate=0.01),
            {"first_order.0", "anchor"},
            {"recorded", "anchor"},
        ),
    ],
    ids=["lbfgs", "adam", "gd", "momentum"],
)
def test_a_saved_state_has_the_names_checkpoints_have_always_had(
    problem, noise, settings, own_arrays, own_info
):
    run = Minimizer(problem, settings, start(problem, noise))
    before = run.state()
    run.run(2)
    after = run.state()

    assert set(before.arrays) == COMMON_ARRAYS
    assert set(before.info) == COMMON_INFO
    assert before.info["started"] is False
    assert set(after.arrays) == COMMON_ARRAYS | own_arrays
    assert set(after.info) == COMMON_INFO | own_info
    assert after.method == settings.method


def test_adams_saved_state_is_its_step_count_then_its_two_moments(problem, noise):
    run = Minimizer(problem, OptimizerSettings("adam"), start(problem, noise))
    run.run(3)
    arrays = run.state().arrays

    # Three steps taken (the third evaluation ended the run without a step).
    assert arrays["first_order.0"].shape == () and arrays["first_order.0"] == 3
    assert arrays["first_order.1"].shape == problem.nchw_shape
    assert (arrays["first_order.2"] >= 0).all()  # v: a mean of squares


# -- threads -----------------------------------------------------------------------
def test_lbfgs_runs_with_blas_on_one_thread_and_naahs_kernels_on_all(problem, noise):
    seen = []

    def record(_record, _image):
        blas = {
            lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"
        }
        seen.append((threads.workers(), blas))

    with threadpool_limits(limits=2, user_api="blas"):
        minimize(problem, start(problem, noise), 2, callback=record)
        assert threads.workers() == 1
        after = {
            lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"
        }
    assert seen == [(2, {1})] * len(seen)
    assert after == {2}


@pytest.fixture
def count_compilations(monkeypatch):
    """The number of first-order steps compiled since the fixture was made."""
    import importlib

    first_order = importlib.import_module("naah.optim.first_order")
    compiled = []
    real_function = first_order.function

    def counting(*args, **kwargs):
        compiled.append(1)
        return real_function(*args, **kwargs)

    monkeypatch.setattr(first_order, "function", counting)
    return lambda: len(compiled)


def test_first_order_steps_compile_once_per_problem_and_start_afresh(
    weights_path, content, style, noise, count_compilations
):
    transfer = StyleTransfer(weights_path, style_layers=("conv1_1", "conv2_1"))
    problem = transfer.prepare(content, style)
    x0 = start(problem, noise)
    adam = OptimizerSettings("adam", learning_rate=4.0)
    first, _ = minimize(problem, x0, 3, adam)
    minimize(problem, x0, 5, OptimizerSettings("adam", learning_rate=1.0))
    again, _ = minimize(problem, x0, 3, adam)
    assert count_compilations() == 1  # three runs, two learning rates, one step
    # Adam's moments and step count start from zero each run, so a repeat of the
    # first run follows the same iterates.
    np.testing.assert_array_equal(again, first)
    # An independent Adam in numpy over the problem's own gradient, 1 step.
    one, _ = minimize(problem, x0, 1, adam)
    _, g = problem.evaluate(x0)
    m, v = 0.1 * g, 0.001 * g**2
    fix = np.sqrt(1 - 0.999) / (1 - 0.9)
    expected = x0 - 4.0 * fix * m / (np.sqrt(v) + 1e-8)
    low, high = problem.pixel_bounds()
    np.testing.assert_allclose(one, np.clip(expected, low, high), rtol=1e-4, atol=1e-3)


def test_compiled_steps_belong_to_their_problem(
    weights_path, content, style, noise, count_compilations
):
    one, other = (
        StyleTransfer(weights_path, style_layers=("conv1_1",)).prepare(content, style)
        for _ in range(2)
    )
    x0 = start(one, noise)
    momentum = OptimizerSettings("momentum", learning_rate=0.01)

    minimize(one, x0, 2, momentum)
    minimize(other, x0, 2, momentum)
    assert count_compilations() == 2  # two problems share no step
    assert len(one.compiled) == len(other.compiled) == 1
    (step,) = one.compiled.values()
    assert step not in other.compiled.values()

    minimize(one, x0, 2, momentum)
    minimize(one, x0, 2, OptimizerSettings("momentum", learning_rate=0.1))
    minimize(one, x0, 2, OptimizerSettings("momentum", 0.1, beta1=0.5))
    assert count_compilations() == 2  # again, another rate, a setting it ignores
    assert list(one.compiled.values()) == [step]

    # A momentum of its own is another graph; so is another rule, or no clip.
    minimize(one, x0, 1, OptimizerSettings("momentum", 0.01, momentum=0.5))
    minimize(one, x0, 1, OptimizerSettings("gd", 0.01))
    minimize(one, x0, 1, OptimizerSettings("gd", 0.01, bounds=False))
    assert count_compilations() == 5
    assert len(one.compiled) == 4


def test_lbfgs_compiles_nothing_over_the_problem(problem, noise):
    before = dict(problem.compiled)

    minimize(problem, start(problem, noise), 1, OptimizerSettings("lbfgs"))

    assert problem.compiled == before
