"""StyleTransfer.run and .prepare on fixture weights and two real images.

Runs that only check wiring (initial images, sizes, validation) use a shallow
configuration (conv1_1 and conv2_1), which compiles in a fraction of the time.
"""

import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from naah import StyleTransfer
from naah.io.images import load_image
from naah.optim import OptimizerSettings
from naah.style_transfer import DEFAULT_STYLE_LAYERS, FEATURE_LAYERS
from naah.testing import write_vgg19_mat

IMAGES = Path(__file__).resolve().parents[1] / "data"
if not (IMAGES / "tubingen.jpg").exists():
    IMAGES = Path("/work/shared/images")
CONTENT_PATH = IMAGES / "tubingen.jpg"
STYLE_PATH = IMAGES / "starry_night.jpg"
SHAPE = (64, 64, 3)
SEED = 3
ITERATIONS = 10
SNAPSHOTS = (0, 5, 10)
SHALLOW = {"content_layers": ("conv1_1",), "style_layers": ("conv1_1", "conv2_1")}


@pytest.fixture(scope="module")
def weights_path(tmp_path_factory):
    return write_vgg19_mat(tmp_path_factory.mktemp("weights") / "vgg19.mat")


@pytest.fixture(scope="module")
def content():
    return load_image(CONTENT_PATH, size=SHAPE[:2])


@pytest.fixture(scope="module")
def style():
    return load_image(STYLE_PATH, size=SHAPE[:2])


@pytest.fixture(scope="module")
def style_run(weights_path, content, style):
    """Style-only synthesis from seeded noise, with snapshots and a callback."""
    calls = []
    transfer = StyleTransfer(weights_path, alpha=0.0, seed=SEED)
    result = transfer.run(
        content,
        style,
        iterations=ITERATIONS,
        size=None,
        snapshots=SNAPSHOTS,
        callback=lambda record, image: calls.append((record, image.copy())),
    )
    return result, calls


@pytest.fixture(scope="module")
def shallow(weights_path):
    return StyleTransfer(weights_path, **SHALLOW)


def seeded_noise(seed=SEED, shape=SHAPE):
    return np.random.default_rng(seed).uniform(0, 255, shape)


def first_image(transfer, content, style, **options):
    """The image the callback sees at iteration 0, and the result."""
    seen = []
    result = transfer.run(
        content,
        style,
        iterations=0,
        callback=lambda record, image: seen.append(image.copy()),
        **{"size": None, **options},
    )
    assert len(seen) == 1
    return seen[0], result


# -- the optimisation ---------------------------------------------------------------
def test_style_only_synthesis_lowers_the_style_loss(style_run):
    result, _ = style_run
    history = result.history

    # Measured: 4e3 after 10 L-BFGS iterations, 1.4e5 after 50.
    assert history[0].style / history[-1].style >= 100


def test_result_is_a_uint8_image_of_the_contents_shape(style_run):
    result, _ = style_run

    assert result.image.dtype == np.uint8
    assert result.image.shape == SHAPE


def test_history_has_a_record_per_iteration_and_one_for_the_start(style_run):
    history = style_run[0].history

    assert len(history) == ITERATIONS + 1
    assert [r.iteration for r in history] == list(range(ITERATIONS + 1))


def test_history_records_each_style_layers_e_l_and_their_weighted_sum(style_run):
    for record in style_run[0].history:
        assert list(record.style_layers) == list(DEFAULT_STYLE_LAYERS)
        weighted = sum(record.style_layers.values()) / len(DEFAULT_STYLE_LAYERS)
        assert record.style == pytest.approx(weighted, rel=1e-5)
        # alpha = 0, beta = 1e3
        assert record.total == pytest.approx(1e3 * record.style, rel=1e-5)


def test_history_time_is_monotone_and_evaluations_are_counted(style_run):
    history = style_run[0].history
    times = history.column("time")
    evaluations = history.column("evaluations")

    assert times[0] >= 0
    assert np.all(np.diff(times) >= 0)
    assert evaluations[0] == 1
    assert np.all(np.diff(evaluations) >= 1)


def test_snapshots_are_uint8_images_at_the_requested_iterations(style_run):
    result, _ = style_run

    assert sorted(result.snapshots) == list(SNAPSHOTS)
    for image in result.snapshots.values():
        assert image.dtype == np.uint8
        assert image.shape == SHAPE
    # Iteration 0 is the seeded white noise; the last one is the result.
    start = result.snapshots[0].astype(int)
    assert np.abs(start - seeded_noise()).max() <= 1
    np.testing.assert_array_equal(result.snapshots[ITERATIONS], result.image)
    assert np.abs(result.snapshots[5].astype(int) - start).max() > 10


def test_callback_is_called_after_every_iteration_with_record_and_image(style_run):
    result, calls = style_run

    assert [record for record, _ in calls] == list(result.history)
    for _, image in calls:
        assert image.shape == SHAPE
        assert image.dtype.kind == "f"
        # L-BFGS-B keeps the pixels within their bounds.
        assert image.min() >= -1e-3
        assert image.max() <= 255 + 1e-3
    np.testing.assert_allclose(calls[0][1], seeded_noise(), atol=1e-3)
    assert np.abs(np.rint(calls[-1][1]) - result.image).max() <= 1


@pytest.mark.parametrize("optimizer", ["adam", "gd"])
def test_adam_and_gd_run_through_the_same_interface(
    weights_path, content, style, optimizer
):
    # Learning rates (pixel units) that work on the shallow fixture problem.
    learning_rate = {"adam": 10.0, "gd": 0.1}[optimizer]
    transfer = StyleTransfer(
        weights_path, optimizer=optimizer, learning_rate=learning_rate, **SHALLOW
    )

    result = transfer.run(content, style, iterations=10, size=None)

    totals = result.history.column("total")
    assert len(totals) == 11
    assert totals[-1] < 0.5 * totals[0]


def test_optimizer_options_reach_the_optimizer_settings(weights_path):
    transfer = StyleTransfer(
        weights_path,
        optimizer="adam",
        learning_rate=3.0,
        beta1=0.8,
        beta2=0.99,
        bounds=False,
    )

    assert transfer.optimizer == OptimizerSettings(
        "adam", learning_rate=3.0, beta1=0.8, beta2=0.99, bounds=False
    )


# -- initial images -------------------------------------------------------------------
def test_init_content_starts_at_zero_content_loss(shallow, content, style):
    image, result = first_image(shallow, content, style, init="content")

    assert result.history[0].content == 0
    assert result.history[0].style > 0
    np.testing.assert_allclose(image, content, atol=1e-3)


def test_init_noise_is_seeded_white_noise(weights_path, content, style):
    transfer = StyleTransfer(weights_path, seed=7, **SHALLOW)

    image, _ = first_image(transfer, content, style)

    np.testing.assert_allclose(image, seeded_noise(7), atol=1e-3)


def test_init_style_is_the_style_image_at_the_contents_size(shallow, content):
    style = load_image(STYLE_PATH, long_edge=40)  # 25x40, another shape

    image, _ = first_image(shallow, content, style, init="style")

    np.testing.assert_allclose(image, load_image(style, size=SHAPE[:2]), atol=1e-3)


def test_init_array_is_the_start_image(shallow, content, style):
    init = seeded_noise(11).astype(np.float32)

    image, result = first_image(shallow, content, style, init=init)

    np.testing.assert_allclose(image, init, atol=1e-3)
    assert result.history[0].content > 0


def test_init_array_of_another_size_is_resized_to_the_content(shallow, content, style):
    init = np.full((16, 24, 3), 200.0)

    image, _ = first_image(shallow, content, style, init=init)

    np.testing.assert_allclose(image, np.full(SHAPE, 200.0), atol=1e-2)


# -- sizes --------------------------------------------------------------------------
def test_run_with_size_resizes_the_contents_long_edge(shallow):
    with Image.open(CONTENT_PATH) as file:
        width, height = file.size

    result = shallow.run(CONTENT_PATH, STYLE_PATH, size=32, iterations=0)

    h, w, _ = result.image.shape
    assert max(h, w) == 32
    assert (h >= w) == (height >= width)
    assert abs(min(h, w) - 32 * min(height, width) / max(height, width)) <= 1


@pytest.mark.parametrize(("style_scale", "long_edge"), [(1.0, 32), (1.5, 48)])
def test_style_is_resized_to_size_times_style_scale(shallow, style_scale, long_edge):
    problem = shallow.prepare(
        CONTENT_PATH, STYLE_PATH, size=32, style_scale=style_scale
    )

    assert max(problem.content_image.shape[:2]) == 32
    assert max(problem.style_image.shape[:2]) == long_edge
    np.testing.assert_allclose(
        problem.style_image, load_image(STYLE_PATH, long_edge=long_edge)
    )


def test_arrays_keep_their_size_in_prepare(shallow, content):
    style = load_image(STYLE_PATH, long_edge=40)

    problem = shallow.prepare(content, style)

    assert problem.shape == SHAPE
    assert problem.style_image.shape == style.shape


def test_result_saves_and_converts_to_pil(style_run, tmp_path):
    result, _ = style_run

    path = tmp_path / "result.png"
    result.save(path)

    with Image.open(path) as saved:
        np.testing.assert_array_equal(np.asarray(saved.convert("RGB")), result.image)
    assert result.pil.size == (SHAPE[1], SHAPE[0])


# -- validation ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "options",
    [
        {"content_layers": ("conv9_9",)},
        {"style_layers": ("conv1_1", "conv4_5")},
        {"style_layers": {"relu1_1x": 1.0}},
        {"content_layers": "fc6"},
    ],
)
def test_unknown_layer_raises_value_error_listing_the_layers(weights_path, options):
    with pytest.raises(ValueError, match="unknown (content|style) layer") as error:
        StyleTransfer(weights_path, **options)

    for name in ("conv1_1", "relu3_4", "conv5_4", "pool5"):
        assert name in str(error.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"alpha": -1.0}, "alpha must be a finite non-negative number"),
        ({"beta": -1e-3}, "beta must be a finite non-negative number"),
        ({"tv_weight": -1.0}, "tv_weight must be a finite non-negative number"),
        ({"alpha": float("nan")}, "alpha must be a finite non-negative number"),
        ({"beta": float("inf")}, "beta must be a finite non-negative number"),
        ({"tv_weight": float("inf")}, "tv_weight must be a finite"),
        ({"alpha": 0.0, "beta": 0.0}, "nothing to minimise"),
        ({"alpha": 0.0, "style_layers": ()}, "nothing to minimise"),
        ({"style_layers": {"conv1_1": -0.5}}, "weight of conv1_1"),
        ({"optimizer": "bfgs"}, "unknown optimizer 'bfgs'"),
        ({"learning_rate": 0.0}, "learning rate must be positive"),
        ({"pooling": "min"}, "pooling must be 'max' or 'avg'"),
    ],
)
def test_invalid_options_raise_value_error(weights_path, options, message):
    with pytest.raises(ValueError, match=message):
        StyleTransfer(weights_path, **options)


def test_a_bad_seed_is_refused_at_once_however_it_is_given(weights_path):
    transfer = StyleTransfer(weights_path, seed=4)
    problem = types.SimpleNamespace(shape=(4, 6, 3))  # all that noise reads
    for seed in (-3, 1.5, True):
        says = f"seed must be a non-negative int, got {seed}"
        with pytest.raises(ValueError, match=says):
            StyleTransfer(weights_path, seed=seed)
        with pytest.raises(ValueError, match=says):
            transfer.seed = seed
        with pytest.raises(ValueError, match=says):
            transfer.initial_image("noise", problem, seed=seed)
    assert transfer.seed == 4 and transfer.config.value("seed") == 4
    np.testing.assert_array_equal(
        transfer.initial_image("noise", problem, seed=5),
        np.random.default_rng(5).uniform(0, 255, (4, 6, 3)).astype(np.float32),
    )


def test_a_setting_set_as_an_attribute_is_the_transfers_setting(weights_path):
    transfer = StyleTransfer(weights_path, seed=4)
    transfer.seed = 9
    assert transfer.config.value("seed") == 9 and transfer.settings["seed"] == 9
    transfer.pooling = "avg"
    assert transfer.config.network.pooling == "avg"


@pytest.mark.parametrize("size", [0, -32, 3.5])
def test_size_that_is_not_a_positive_int_raises_value_error(shallow, size):
    with pytest.raises(ValueError, match="size must be a positive int"):
        shallow.run(CONTENT_PATH, STYLE_PATH, size=size, iterations=0)


@pytest.mark.parametrize("style_scale", [0.0, -1.0])
def test_style_scale_that_is_not_positive_raises_value_error(shallow, style_scale):
    with pytest.raises(ValueError, match="style_scale must be positive"):
        shallow.run(
            CONTENT_PATH, STYLE_PATH, size=32, style_scale=style_scale, iterations=0
        )


@pytest.mark.parametrize("iterations", [-1, 2.5, "10"])
def test_iterations_that_are_not_a_non_negative_int_raise_value_error(
    shallow, iterations
):
    with pytest.raises(ValueError, match="iterations must be a non-negative int"):
        shallow.run(CONTENT_PATH, STYLE_PATH, size=32, iterations=iterations)


def test_unknown_init_string_raises_value_error_naming_the_choices(
    shallow, content, style
):
    with pytest.raises(ValueError, match=r"init must be one of \('noise'"):
        shallow.run(content, style, size=None, iterations=0, init="contnet")


def test_feature_layers_end_at_pool5():
    assert FEATURE_LAYERS[0] == "conv1_1"
    assert FEATURE_LAYERS[-1] == "pool5"


# -- colour control (Gatys et al. 2017, section 5) ------------------------------------
# NTSC YIQ, typed from the standard (4 digits), independent of naah.color.
YIQ = np.array(
    [[0.299, 0.587, 0.114], [0.5959, -0.2746, -0.3213], [0.2115, -0.5227, 0.3112]]
)


def chroma(image):
    return (np.asarray(image, np.float64) @ YIQ.T)[..., 1:]


@pytest.fixture(scope="module")
def color_runs(weights_path, content, style):
    runs = {}
    for mode in ("luminance", "histogram", "original"):
        transfer = StyleTransfer(weights_path, color=mode, seed=SEED, **SHALLOW)
        result = transfer.run(content, style, iterations=4, size=None)
        runs[mode] = (transfer, result)
    return runs


@pytest.mark.parametrize("mode", ["luminance", "original"])
def test_the_result_has_the_contents_chroma_up_to_rounding(color_runs, content, mode):
    _, result = color_runs[mode]
    difference = np.abs(chroma(result.image) - chroma(content))
    unclipped = ((result.image > 0) & (result.image < 255)).all(axis=2)
    assert unclipped.mean() > 0.5
    assert difference[unclipped].max() <= 1.0  # uint8 rounding moves I, Q < 1


def test_luminance_mode_shows_the_network_only_the_luminance(color_runs, content):
    transfer, _ = color_runs["luminance"]
    problem = transfer._problem
    image = np.random.default_rng(5).uniform(0, 255, content.shape)
    loss, grad = problem.loss_and_grad(image)
    per_channel = grad / YIQ[0]  # the gradient is dL/dY times each channel's weight
    np.testing.assert_allclose(per_channel[..., 1], per_channel[..., 0], rtol=2e-3,
                               atol=1e-3 * np.abs(per_channel).max())  # fmt: skip
    recolored = image + chroma_only_shift(image)
    np.testing.assert_allclose(problem.loss_and_grad(recolored)[0], loss, rtol=1e-4)


def chroma_only_shift(image):
    """A colour shift with zero luminance: (I, Q) moved, Y kept."""
    shift = np.linalg.solve(YIQ, np.array([0.0, 8.0, -5.0]))
    return np.broadcast_to(shift, image.shape)


def test_luminance_mode_matches_the_styles_luminance_to_the_contents(
    color_runs, content
):
    transfer, _ = color_runs["luminance"]
    problem = transfer._problem
    y_style = problem.style_image @ YIQ[0]
    y_content = content @ YIQ[0]
    assert np.allclose(problem.style_image[..., 0], problem.style_image[..., 2])
    np.testing.assert_allclose(y_style.mean(), y_content.mean(), rtol=1e-3)
    np.testing.assert_allclose(y_style.std(), y_content.std(), rtol=1e-3)


def test_histogram_mode_gives_the_style_the_contents_colour_statistics(
    color_runs, content, style
):
    transfer, _ = color_runs["histogram"]
    recolored = transfer._problem.style_image.reshape(-1, 3).astype(np.float64)
    reference = content.reshape(-1, 3).astype(np.float64)
    # Clipping to 0-255 for the network moves the statistics a little.
    np.testing.assert_allclose(recolored.mean(0), reference.mean(0), atol=3.0)
    np.testing.assert_allclose(np.cov(recolored.T), np.cov(reference.T),
                               atol=0.05 * np.cov(reference.T).max())  # fmt: skip
    assert not np.allclose(style.mean((0, 1)), content.mean((0, 1)), atol=3.0)


def test_colour_settings_are_checked_and_recorded(weights_path):
    with pytest.raises(ValueError, match="color must be None or one of"):
        StyleTransfer(weights_path, color="sepia")
    with pytest.raises(ValueError, match="color_match must be one of"):
        StyleTransfer(weights_path, color_match="lab")
    settings = StyleTransfer(
        weights_path, color="histogram", color_match="sym"
    ).settings
    assert (settings["color"], settings["color_match"]) == ("histogram", "sym")


# -- coarse to fine (Gatys et al. 2017, section 6) ------------------------------------
def test_coarse_to_fine_runs_each_scale_on_the_one_compiled_problem(weights_path):
    transfer = StyleTransfer(weights_path, **SHALLOW)
    problem = transfer.prepare(CONTENT_PATH, STYLE_PATH, size=24)
    compiled = problem._evaluate
    seen = []
    result = transfer.run(
        CONTENT_PATH, STYLE_PATH, scales=(32, 48, 64), iterations=(3, 2, 2),
        snapshots=(0, 3, 5, 7), callback=lambda r, image: seen.append(image.shape),
    )  # fmt: skip
    assert transfer._problem is problem and problem._evaluate is compiled
    assert result.image.shape[:2] == (48, 64)  # tubingen is 4:3
    assert [(r.iteration, r.scale) for r in result.history] == [
        (0, 32), (1, 32), (2, 32), (3, 32), (3, 48), (4, 48), (5, 48),
        (5, 64), (6, 64), (7, 64),
    ]  # fmt: skip
    assert sorted(result.snapshots) == [0, 3, 5, 7]
    assert result.snapshots[0].shape[:2] == (24, 32)
    assert result.snapshots[7].shape[:2] == (48, 64)
    assert {shape[:2] for shape in seen} == {(24, 32), (36, 48), (48, 64)}
    times = result.history.column("time")
    assert times == sorted(times)


def test_each_scale_starts_from_the_previous_result_upsampled(weights_path):
    transfer = StyleTransfer(weights_path, **SHALLOW)
    starts = {}

    def keep_starts(record, image):
        starts.setdefault(record.scale, image.copy())

    result = transfer.run(CONTENT_PATH, STYLE_PATH, scales=(32, 64), iterations=3,
                          callback=keep_starts)  # fmt: skip
    assert result.history[3].scale == 32 and result.history[4].scale == 64
    upsampled = load_image(_coarse_result(weights_path), size=(48, 64))
    np.testing.assert_allclose(starts[64], upsampled, atol=1.0)


def _coarse_result(weights_path):
    """The same first scale alone: 3 iterations at 32 px from the same noise."""
    alone = StyleTransfer(weights_path, **SHALLOW)
    return alone.run(CONTENT_PATH, STYLE_PATH, size=32, iterations=3).image


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scales": (64, 32)}, "scales must increase"),
        ({"scales": (32, 0)}, "positive ints"),
        ({"scales": (32, 64), "iterations": (3, 2, 1)}, "one per scale"),
    ],
)
def test_bad_scales_are_refused_before_any_work(weights_path, options, message):
    transfer = StyleTransfer(weights_path)
    with pytest.raises(ValueError, match=message):
        transfer.run(CONTENT_PATH, STYLE_PATH, **options)
    assert transfer._problem is None


def test_a_callback_raising_stop_run_ends_the_run_with_what_it_reached(weights_path):
    from naah.style_transfer import StopRun

    def stop_at_3(record, image):
        if record.iteration == 3:
            raise StopRun

    transfer = StyleTransfer(weights_path, **SHALLOW)
    result = transfer.run(CONTENT_PATH, STYLE_PATH, size=32, iterations=50,
                          callback=stop_at_3)  # fmt: skip
    assert result.status == "stopped" and len(result.history) == 4


# -- several styles and spatial regions (Gatys et al. 2017, section 4) -----------------
MASKS = Path(__file__).resolve().parents[1] / "data" / "masks"
SHIPWRECK_PATH = IMAGES / "shipwreck.jpg"


def test_a_blend_of_one_and_zero_is_exactly_the_first_style(weights_path):
    alone = StyleTransfer(weights_path, seed=SEED, **SHALLOW)
    blended = StyleTransfer(weights_path, seed=SEED, **SHALLOW)
    a = alone.run(CONTENT_PATH, STYLE_PATH, size=32, iterations=3)
    b = blended.run(CONTENT_PATH, [STYLE_PATH, SHIPWRECK_PATH], size=32,
                    iterations=3, style_blend=(1, 0))  # fmt: skip
    assert a.history.column("total") == b.history.column("total")
    np.testing.assert_array_equal(a.image, b.image)


def test_an_even_blend_targets_the_mean_of_the_styles_gram_matrices(weights_path):
    transfer = StyleTransfer(weights_path, **SHALLOW)
    pair = transfer.prepare(CONTENT_PATH, [STYLE_PATH, SHIPWRECK_PATH], size=32,
                            style_scale=(1.0, 0.5))  # fmt: skip
    targets = {n: pair.targets[f"A_{n}"].get_value() for n in SHALLOW["style_layers"]}
    single = StyleTransfer(weights_path, **SHALLOW)
    a = single.prepare(CONTENT_PATH, STYLE_PATH, size=32)
    grams_a = {n: a.targets[f"A_{n}"].get_value().copy() for n in targets}
    b = single.prepare(CONTENT_PATH, SHIPWRECK_PATH, size=32, style_scale=0.5)
    for name, target in targets.items():
        expected = 0.5 * grams_a[name] + 0.5 * b.targets[f"A_{name}"].get_value()
        np.testing.assert_allclose(target, expected, rtol=1e-5)
    assert max(pair.style_images[1].shape[:2]) == 16  # its own style_scale


def test_regions_take_each_its_style_and_resume_exactly(weights_path, tmp_path):
    from naah.regions import Region

    regions = [
        Region(MASKS / "tubingen_sky.png", STYLE_PATH, name="sky"),
        Region(MASKS / "tubingen_town.png", SHIPWRECK_PATH, name="town"),
    ]

    def run(iterations, **options):
        transfer = StyleTransfer(weights_path, seed=SEED, **SHALLOW)
        return transfer.run(CONTENT_PATH, None, regions=regions, size=32,
                            iterations=iterations, **options)  # fmt: skip

    whole = run(6)
    assert whole.image.shape == (24, 32, 3)
    run(3, checkpoint=tmp_path / "r.ckpt")
    resumed = StyleTransfer.resume(tmp_path / "r.ckpt", iterations=6)
    np.testing.assert_allclose(resumed.history.column("total"),
                               whole.history.column("total"), rtol=1e-6)  # fmt: skip


@pytest.mark.parametrize(
    ("style", "options", "message"),
    [
        ([STYLE_PATH, SHIPWRECK_PATH], {"style_blend": (1, 2, 3)}, "3 weights for 2"),
        (STYLE_PATH, {"style_scale": (1.0, 2.0)}, "2 values for 1 style"),
        (None, {}, "give a style image"),
        (STYLE_PATH, {"regions": ["sky.png"]}, "not both"),
        (None, {"regions": ["sky.png"]}, "Region objects"),
        ([STYLE_PATH, SHIPWRECK_PATH], {"style_blend": (-1, 2)}, "style_blend"),
        (STYLE_PATH, {"guide_mode": "outside"}, "guide_mode must be one of"),
    ],
)
def test_bad_styles_blends_and_regions_are_refused_before_work(
    weights_path, style, options, message
):
    transfer = StyleTransfer(weights_path)
    with pytest.raises(ValueError, match=message):
        transfer.run(CONTENT_PATH, style, **options)
    assert transfer._problem is None
