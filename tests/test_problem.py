"""StyleProblem's loss and gradient against a numpy VGG-19 and Gatys losses written here.

The images are tiny, odd-sized and non-square (content 22x30, style 17x26), so a
swapped height and width, a ceil-mode pooling or a style image resized to the
content's shape would change the numbers.
"""

import numpy as np
import pytest

from naah import StyleTransfer
from naah.io.images import preprocess
from naah.problem import StyleProblem, blend_weights
from naah.regions import Region
from naah.testing import VGG_MEAN_PIXEL, make_vgg19_params, write_vgg19_mat

CONTENT_SHAPE = (22, 30, 3)
STYLE_SHAPE = (17, 26, 3)
SECOND_STYLE_SHAPE = (25, 19, 3)
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
CONTENT_LAYER = "conv4_2"
ALPHA, BETA = 2e4, 1.0
# The graph runs in float32 over sums of thousands of terms; the numpy reference in
# float64. 1e-4 relative is float32's accumulated rounding with a wide margin.
RTOL = 1e-4


# -- numpy reference ---------------------------------------------------------------
def numpy_conv_relu(x, kernel, bias):
    """ReLU of a 3x3, pad 1, stride 1 cross-correlation of a (C, H, W) image."""
    _, h, w = x.shape
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    out = np.zeros((kernel.shape[0], h, w))
    for i in range(3):
        for j in range(3):
            out += np.einsum(
                "oc,chw->ohw", kernel[:, :, i, j], padded[:, i : i + h, j : j + w]
            )
    return np.maximum(out + bias[:, None, None], 0)


def numpy_max_pool(x):
    """2x2 max pooling with stride 2; a trailing odd row or column is dropped."""
    c, h, w = x.shape
    x = x[:, : h // 2 * 2, : w // 2 * 2]
    return x.reshape(c, h // 2, 2, w // 2, 2).max(axis=(2, 4))


def numpy_vgg_features(image, params):
    """Rectified outputs of conv1_1 … conv5_1 for an (H, W, 3) RGB image in 0–255."""
    x = (image.astype(np.float64) - np.asarray(VGG_MEAN_PIXEL)).transpose(2, 0, 1)
    features = {}
    for block, convs in enumerate((2, 2, 4, 4, 1), start=1):
        if block > 1:
            x = numpy_max_pool(x)
        for k in range(1, convs + 1):
            name = f"conv{block}_{k}"
            kernel, bias = params[name]
            x = numpy_conv_relu(x, kernel.astype(np.float64), bias.astype(np.float64))
            features[name] = x
    return features


def numpy_gram(f):
    matrix = f.reshape(f.shape[0], -1)
    return matrix @ matrix.T


def numpy_losses(image, content, style, params, alpha, beta):
    """Gatys et al.'s total, content, style and per-layer E_l, all in float64."""
    x = numpy_vgg_features(image, params)
    p = numpy_vgg_features(content, params)
    a = numpy_vgg_features(style, params)
    content_term = 0.5 * np.sum((x[CONTENT_LAYER] - p[CONTENT_LAYER]) ** 2)
    e = {}
    for name in STYLE_LAYERS:
        n_l, m_l = x[name].shape[0], x[name].shape[1] * x[name].shape[2]
        g, target = numpy_gram(x[name]), numpy_gram(a[name])
        e[name] = np.sum((g - target) ** 2) / (4.0 * n_l**2 * m_l**2)
    style_term = sum(e.values()) / len(STYLE_LAYERS)
    return alpha * content_term + beta * style_term, content_term, style_term, e


# -- fixtures ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def weights_path(tmp_path_factory):
    return write_vgg19_mat(tmp_path_factory.mktemp("weights") / "vgg19.mat")


@pytest.fixture(scope="module")
def params():
    return make_vgg19_params()


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    content = rng.uniform(0, 255, CONTENT_SHAPE)
    style = rng.uniform(0, 255, STYLE_SHAPE)
    generated = rng.uniform(0, 255, CONTENT_SHAPE)
    return content, style, generated


def prepare(weights_path, images, **options):
    content, style, _ = images
    return StyleTransfer(weights_path, **options).prepare(content, style)


@pytest.fixture(scope="module")
def problem(weights_path, images):
    return prepare(weights_path, images, alpha=ALPHA, beta=BETA)


@pytest.fixture(scope="module")
def content_problem(weights_path, images):
    return prepare(weights_path, images, alpha=ALPHA, beta=0.0)


@pytest.fixture(scope="module")
def style_problem(weights_path, images):
    return prepare(weights_path, images, alpha=0.0, beta=BETA)


def numpy_reference(images, params, alpha=ALPHA, beta=BETA):
    content, style, generated = images
    return numpy_losses(generated, content, style, params, alpha, beta)


# -- values ------------------------------------------------------------------------
def test_loss_and_grad_returns_a_float_and_an_image_shaped_gradient(problem, images):
    loss, grad = problem.loss_and_grad(images[2])

    assert type(loss) is float
    assert isinstance(grad, np.ndarray)
    assert grad.shape == CONTENT_SHAPE


def test_total_loss_matches_a_numpy_vgg_and_gatys_losses(problem, images, params):
    expected, content, _, _ = numpy_reference(images, params)
    # Both terms matter at these weights, so neither can hide an error in the other.
    assert 0.05 < ALPHA * content / expected < 0.95

    loss, _ = problem.loss_and_grad(images[2])

    np.testing.assert_allclose(loss, expected, rtol=RTOL)


def test_evaluation_reports_each_term_and_each_layers_e_l(problem, images, params):
    _, content, style, e = numpy_reference(images, params)

    evaluation, _ = problem.evaluate(preprocess(images[2], problem.mean_pixel))

    np.testing.assert_allclose(evaluation.content, content, rtol=RTOL)
    np.testing.assert_allclose(evaluation.style, style, rtol=RTOL)
    assert list(evaluation.style_layers) == list(STYLE_LAYERS)
    for name in STYLE_LAYERS:
        np.testing.assert_allclose(evaluation.style_layers[name], e[name], rtol=RTOL)
    image = images[2].astype(np.float64)
    numpy_tv = (np.diff(image, axis=0) ** 2).sum() + (np.diff(image, axis=1) ** 2).sum()
    np.testing.assert_allclose(evaluation.tv_raw, numpy_tv, rtol=RTOL)
    assert evaluation.tv == 0.0  # the weighted term: tv_weight is 0
    problem.set_loss_weights(tv_weight=2.5)
    try:
        weighted, _ = problem.evaluate(preprocess(images[2], problem.mean_pixel))
    finally:
        problem.set_loss_weights(tv_weight=0.0)
    np.testing.assert_allclose(weighted.tv, 2.5 * numpy_tv, rtol=RTOL)


def test_content_only_problem_is_alpha_times_the_content_loss(
    content_problem, images, params
):
    _, content, _, _ = numpy_reference(images, params)

    loss, _ = content_problem.loss_and_grad(images[2])

    np.testing.assert_allclose(loss, ALPHA * content, rtol=RTOL)


def test_content_only_problem_has_zero_loss_and_gradient_at_the_content_image(
    content_problem, images
):
    loss, grad = content_problem.loss_and_grad(images[0])

    assert loss == 0
    assert not grad.any()


def test_style_only_problem_is_beta_times_the_style_loss(style_problem, images, params):
    _, _, style, _ = numpy_reference(images, params)

    loss, _ = style_problem.loss_and_grad(images[2])

    np.testing.assert_allclose(loss, BETA * style, rtol=RTOL)


# -- gradient ----------------------------------------------------------------------
def test_gradient_matches_finite_differences_of_the_numpy_loss_at_random_pixels(
    problem, images, params
):
    content, style, generated = images
    _, grad = problem.loss_and_grad(generated)
    rng = np.random.default_rng(1)
    step = 1e-3  # float64 reference: tiny steps are exact and cross no ReLU kink
    for _ in range(5):
        pixel = (
            rng.integers(CONTENT_SHAPE[0]),
            rng.integers(CONTENT_SHAPE[1]),
            rng.integers(3),
        )
        plus, minus = generated.copy(), generated.copy()
        plus[pixel] += step
        minus[pixel] -= step
        loss_plus = numpy_losses(plus, content, style, params, ALPHA, BETA)[0]
        loss_minus = numpy_losses(minus, content, style, params, ALPHA, BETA)[0]
        expected = (loss_plus - loss_minus) / (2 * step)
        np.testing.assert_allclose(
            grad[pixel], expected, rtol=1e-3, atol=1e-4 * np.abs(grad).max()
        )


@pytest.mark.parametrize("kind", ["full", "content", "style"])
def test_gradient_matches_the_loss_change_along_the_gradient(
    kind, problem, content_problem, style_problem, images
):
    subject = {"full": problem, "content": content_problem, "style": style_problem}[
        kind
    ]
    generated = images[2]
    _, grad = subject.loss_and_grad(generated)
    grad = grad.astype(np.float64)
    direction = grad / np.linalg.norm(grad)
    # 0.3 grey levels: the float32 loss's rounding is small against the change, and
    # the step is short enough for the ReLU kinks and the curvature (measured errors
    # 5e-5 relative at this step, 5e-3 at 1.0).
    step = 0.3
    loss_plus, _ = subject.loss_and_grad(generated + step * direction)
    loss_minus, _ = subject.loss_and_grad(generated - step * direction)

    finite_difference = (loss_plus - loss_minus) / (2 * step)

    np.testing.assert_allclose(finite_difference, np.linalg.norm(grad), rtol=2e-3)


# -- errors ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shape",
    [(30, 22, 3), (22, 31, 3), (22, 30), (22, 30, 4), (1, 22, 30, 3)],
)
def test_image_of_another_shape_than_the_content_raises_value_error(problem, shape):
    with pytest.raises(ValueError, match=r"prepared for \(22, 30, 3\)"):
        problem.loss_and_grad(np.zeros(shape))


def test_set_images_retargets_without_recompiling(problem, images):
    content, style, generated = images
    first = problem.loss_and_grad(generated)[0]
    evaluate = problem._evaluate
    problem.set_images(style, content)  # swapped roles, new sizes
    assert problem.shape == style.shape
    swapped = problem.loss_and_grad(style)[0]
    problem.set_images(content, style)
    assert problem._evaluate is evaluate
    assert problem.loss_and_grad(generated)[0] == pytest.approx(first, rel=1e-6)
    assert swapped != pytest.approx(first)


def test_set_loss_weights_scales_the_terms_without_recompiling(problem, images):
    evaluation, _ = problem.evaluate(preprocess(images[2], problem.mean_pixel))
    alpha, beta = problem.weights.alpha, problem.weights.beta
    try:
        problem.set_loss_weights(alpha=2 * alpha, beta=0.0)
        changed, _ = problem.evaluate(preprocess(images[2], problem.mean_pixel))
        assert changed.total == pytest.approx(2 * alpha * evaluation.content, rel=1e-5)
        with pytest.raises(ValueError, match="beta must be a non-negative"):
            problem.set_loss_weights(beta=-1)
    finally:
        problem.set_loss_weights(alpha=alpha, beta=beta)


# -- several styles, blended -------------------------------------------------------
def numpy_style_term(image, targets, params):
    """Σ_l w_l E_l of an image against given target Grams A^l (w_l = 1/5)."""
    x = numpy_vgg_features(image, params)
    total = 0.0
    for name in STYLE_LAYERS:
        n_l, m_l = x[name].shape[0], x[name].shape[1] * x[name].shape[2]
        total += np.sum((numpy_gram(x[name]) - targets[name]) ** 2) / (
            4.0 * n_l**2 * m_l**2
        )
    return total / len(STYLE_LAYERS)


@pytest.fixture(scope="module")
def second_style():
    return np.random.default_rng(2).uniform(0, 255, SECOND_STYLE_SHAPE)


@pytest.fixture(scope="module")
def transfer(weights_path):
    return StyleTransfer(weights_path, alpha=ALPHA, beta=BETA)


@pytest.fixture(scope="module")
def compiled_plain_problem(transfer, images):
    content, style, _ = images
    return StyleProblem(transfer.net, content, style, transfer.loss_weights)


@pytest.fixture
def plain_problem(compiled_plain_problem, images):
    """The module's problem without regions, back at the test images (tests change
    its styles)."""
    content, style, _ = images
    compiled_plain_problem.set_images(content, style)
    return compiled_plain_problem


def evaluate(problem, image):
    return problem.evaluate(preprocess(image, problem.mean_pixel))


def test_blend_1_0_gives_exactly_the_first_styles_loss_and_gradient(
    plain_problem, images, second_style
):
    content, style, generated = images
    alone, grad_alone = evaluate(plain_problem, generated)

    plain_problem.set_images(content, [style, second_style], blend=(1, 0))
    blended, grad_blended = evaluate(plain_problem, generated)

    assert blended == alone  # every term, bit for bit
    np.testing.assert_array_equal(grad_blended, grad_alone)
    plain_problem.set_images(content, [second_style, style], blend=(0.0, 2.5))
    assert evaluate(plain_problem, generated)[0] == alone


def test_blend_targets_the_weighted_sum_of_the_styles_gram_matrices(
    plain_problem, images, second_style, params
):
    content, style, generated = images
    plain_problem.set_images(content, [style, second_style], blend=(7, 3))

    evaluation, _ = evaluate(plain_problem, generated)

    first = numpy_vgg_features(style, params)
    second = numpy_vgg_features(second_style, params)
    targets = {
        n: 0.7 * numpy_gram(first[n]) + 0.3 * numpy_gram(second[n])
        for n in STYLE_LAYERS
    }
    np.testing.assert_allclose(
        evaluation.style, numpy_style_term(generated, targets, params), rtol=RTOL
    )
    assert plain_problem.style_blend == pytest.approx((0.7, 0.3), abs=1e-15)
    assert plain_problem.style_image is plain_problem.style_images[0]
    np.testing.assert_array_equal(
        plain_problem.style_images[1], second_style.astype(np.float32)
    )


def test_blend_weights_are_equal_by_default_and_normalised(
    plain_problem, images, second_style
):
    content, style, generated = images
    plain_problem.set_images(content, [style, second_style])
    default, _ = evaluate(plain_problem, generated)
    plain_problem.set_images(content, [style, second_style], blend=(3, 3))
    scaled, _ = evaluate(plain_problem, generated)

    assert plain_problem.style_blend == (0.5, 0.5)
    assert scaled == default


def test_blend_leaves_the_compiled_function_alone(plain_problem, images, second_style):
    content, style, _ = images
    evaluate_function = plain_problem._evaluate

    plain_problem.set_images(content, (style, second_style, style), blend=(1, 2, 3))

    assert plain_problem._evaluate is evaluate_function
    assert len(plain_problem.style_images) == 3


@pytest.mark.parametrize(
    ("blend", "message"),
    [
        ((1.0,), "blend has 1 weights for 2 style images"),
        ((1, 2, 3), "blend has 3 weights for 2 style images"),
        ((1.0, -0.5), "blend weights must be finite non-negative"),
        ((1.0, float("nan")), "blend weights must be finite non-negative"),
        ((float("inf"), 1.0), "blend weights must be finite non-negative"),
        ((0, 0.0), "blend weights are all 0"),
        ("0.7,0.3", "blend must be a sequence of numbers"),
        (0.7, "blend must be a sequence of numbers"),
    ],
)
def test_bad_blends_are_refused_before_anything_changes(
    plain_problem, images, second_style, blend, message
):
    content, style, _ = images
    targets = {k: v.get_value().copy() for k, v in plain_problem.targets.items()}

    with pytest.raises(ValueError, match=message):
        plain_problem.set_images(content, [style, second_style], blend=blend)

    assert plain_problem.style_images == (plain_problem.style_image,)
    for key, value in targets.items():
        np.testing.assert_array_equal(plain_problem.targets[key].get_value(), value)


def test_blend_weights_names_the_option_it_checks():
    with pytest.raises(ValueError, match="style_blend has 1 weights for 2 style"):
        blend_weights([1.0], 2, name="style_blend")
    assert blend_weights([1, 0], 2) == (1.0, 0.0)


@pytest.mark.parametrize(
    ("style", "message"),
    [
        ([], "style is empty"),
        (None, "style is None"),
        ("style.png", "sequence of them"),
        ("second", r"style\[1\] must be an RGB image of shape \(H, W, 3\)"),
    ],
)
def test_bad_style_sequences_are_refused(plain_problem, images, style, message):
    content, first, _ = images
    if style == "second":
        style = [first, np.zeros((4, 4))]
    with pytest.raises(ValueError, match=message):
        plain_problem.set_images(content, style)


def test_a_problem_without_regions_has_none_in_its_graph(plain_problem):
    inputs = plain_problem._evaluate.maker.fgraph.inputs

    assert plain_problem.region_count == 0
    assert plain_problem.guides == {} and plain_problem.region_weights == []
    assert not [v for v in inputs if (v.name or "").startswith(("T_", "lambda"))]
    assert sorted(k for k in plain_problem.targets if k.startswith("A_")) == sorted(
        f"A_{n}" for n in STYLE_LAYERS
    )


# -- regions -----------------------------------------------------------------------
def numpy_pool(plane, reduce):
    h, w = plane.shape[0] // 2, plane.shape[1] // 2
    return reduce(plane[: 2 * h, : 2 * w].reshape(h, 2, w, 2), axis=(1, 3))


def numpy_min_3x3(plane):
    padded = np.pad(plane, 1, mode="edge")  # the edge repeats: no erosion there
    h, w = plane.shape
    return np.min(
        [padded[i : i + h, j : j + w] for i in range(3) for j in range(3)], axis=0
    )


def numpy_layer_guides(guide, mode):
    """The guide on the grid of conv1_1 … conv5_1, as numpy_vgg_features builds it."""
    current, guides = np.asarray(guide, np.float64), {}
    for block, convs in enumerate((2, 2, 4, 4, 1), start=1):
        if block > 1:
            current = numpy_pool(current, np.mean if mode == "simple" else np.min)
        for k in range(1, convs + 1):
            if mode == "inside":
                current = numpy_min_3x3(current)
            guides[f"conv{block}_{k}"] = current
    return guides


def numpy_normalised_guided_gram(features, guide):
    f = features.reshape(features.shape[0], -1) * guide.ravel()
    return (f @ f.T) * guide.size / np.sum(guide**2)


def numpy_region_losses(image, content, regions, params, mode):
    """α L_content + β Σ_l w_l Σ_r λ_r E_{l,r}, all in float64; ``regions`` are
    (guide, style, style_guide, weight)."""
    x = numpy_vgg_features(image, params)
    p = numpy_vgg_features(content, params)
    content_term = 0.5 * np.sum((x[CONTENT_LAYER] - p[CONTENT_LAYER]) ** 2)
    style_term = 0.0
    for guide, style, style_guide, weight in regions:
        t = numpy_layer_guides(guide, mode)
        s = numpy_layer_guides(style_guide, mode)
        a = numpy_vgg_features(style, params)
        for name in STYLE_LAYERS:
            n_l, m_l = x[name].shape[0], x[name].shape[1] * x[name].shape[2]
            mass = np.sum(t[name] ** 2)
            if mass == 0:
                continue
            g = numpy_normalised_guided_gram(x[name], t[name])
            target = numpy_normalised_guided_gram(a[name], s[name])
            e = mass / m_l * np.sum((g - target) ** 2) / (4.0 * n_l**2 * m_l**2)
            style_term += weight * e / len(STYLE_LAYERS)
    return ALPHA * content_term + BETA * style_term


@pytest.fixture(scope="module")
def halves():
    top = np.zeros(CONTENT_SHAPE[:2])
    top[:11] = 1
    return top, 1 - top


@pytest.fixture(scope="module")
def second_style_guide():
    """A soft guide on the second style: its right two thirds, fading in."""
    guide = np.zeros(SECOND_STYLE_SHAPE[:2])
    guide[:, 6:] = np.linspace(0.2, 1, SECOND_STYLE_SHAPE[1] - 6)
    return guide


@pytest.fixture(scope="module")
def one_region_problem(transfer, images):
    content, style, _ = images
    region = Region(np.ones(CONTENT_SHAPE[:2]), style)
    return StyleProblem(
        transfer.net, content, None, transfer.loss_weights, regions=[region]
    )


@pytest.fixture(scope="module")
def two_region_problem(transfer, images, halves, second_style, second_style_guide):
    content, style, _ = images
    regions = [
        Region(halves[0], style, name="top"),
        Region(halves[1], second_style, second_style_guide, weight=2.0),
    ]
    return StyleProblem(
        transfer.net, content, None, transfer.loss_weights, regions=regions
    )


@pytest.mark.parametrize("mode", ["simple", "inside"])
def test_one_region_of_ones_gives_exactly_the_unguided_loss_and_gradient(
    mode, one_region_problem, plain_problem, images
):
    _, style, generated = images
    one_region_problem.set_regions(
        [Region(np.ones(CONTENT_SHAPE[:2]), style)], guide_mode=mode
    )
    unguided, grad_unguided = evaluate(plain_problem, generated)

    guided, grad_guided = evaluate(one_region_problem, generated)

    assert guided == unguided  # total, content, style and each E_l, bit for bit
    np.testing.assert_array_equal(grad_guided, grad_unguided)


@pytest.mark.parametrize("mode", ["simple", "inside"])
def test_two_regions_match_numpy_guided_gram_matrices(
    mode, two_region_problem, images, halves, second_style, second_style_guide, params
):
    content, style, generated = images
    regions = two_region_problem.regions
    two_region_problem.set_regions(regions, guide_mode=mode)
    reference = [
        (halves[0], style, np.ones(STYLE_SHAPE[:2]), 1.0),
        (halves[1], second_style, second_style_guide, 2.0),
    ]

    loss, _ = two_region_problem.loss_and_grad(generated)

    expected = numpy_region_losses(generated, content, reference, params, mode)
    np.testing.assert_allclose(loss, expected, rtol=RTOL)


def test_two_regions_gradient_matches_finite_differences_of_the_numpy_loss(
    two_region_problem, images, halves, second_style, second_style_guide, params
):
    content, style, generated = images
    two_region_problem.set_regions(two_region_problem.regions, guide_mode="simple")
    reference = [
        (halves[0], style, np.ones(STYLE_SHAPE[:2]), 1.0),
        (halves[1], second_style, second_style_guide, 2.0),
    ]
    _, grad = two_region_problem.loss_and_grad(generated)
    rng = np.random.default_rng(3)
    step = 1e-3  # as the unguided test: float64 reference, no ReLU kink crossed
    for _ in range(4):
        pixel = tuple(int(rng.integers(n)) for n in CONTENT_SHAPE)
        plus, minus = generated.copy(), generated.copy()
        plus[pixel] += step
        minus[pixel] -= step
        expected = (
            numpy_region_losses(plus, content, reference, params, "simple")
            - numpy_region_losses(minus, content, reference, params, "simple")
        ) / (2 * step)
        np.testing.assert_allclose(
            grad[pixel], expected, rtol=1e-3, atol=1e-4 * np.abs(grad).max()
        )


def test_set_regions_changes_masks_without_recompiling(two_region_problem, images):
    _, _, generated = images
    first = two_region_problem.loss_and_grad(generated)[0]
    evaluate_function = two_region_problem._evaluate
    top, bottom = two_region_problem.regions

    swapped = [
        Region(bottom.guide, top.style, name="top"),
        Region(top.guide, bottom.style, bottom.style_guide, weight=2.0),
    ]
    two_region_problem.set_regions(swapped)
    changed = two_region_problem.loss_and_grad(generated)[0]
    two_region_problem.set_regions([top, bottom])

    assert two_region_problem._evaluate is evaluate_function
    assert changed != pytest.approx(first)
    assert two_region_problem.loss_and_grad(generated)[0] == first


def test_region_weights_are_shared_variables(two_region_problem, images):
    _, _, generated = images
    top, bottom = two_region_problem.regions
    both = evaluate(two_region_problem, generated)[0].style

    two_region_problem.set_regions([top, Region(bottom.guide, bottom.style, weight=0)])
    top_only = evaluate(two_region_problem, generated)[0].style
    two_region_problem.set_regions([top, bottom])

    assert 0 < top_only < both
    assert two_region_problem.region_weights[1].get_value() == 2.0


def test_regions_follow_a_new_content_image_of_another_size(two_region_problem, images):
    content = images[0]
    top, bottom = two_region_problem.regions
    small = content[:18, :24]  # conv5_1 is 1x1
    with pytest.raises(ValueError, match="another size needs its own regions"):
        two_region_problem.set_images(small, None)

    left = np.zeros((18, 24))
    left[:, :12] = 1
    try:
        two_region_problem.set_images(
            small,
            None,
            regions=[Region(left, top.style), Region(1 - left, bottom.style)],
        )
        loss, grad = two_region_problem.loss_and_grad(small)
    finally:
        two_region_problem.set_images(content, None, regions=[top, bottom])

    assert np.isfinite(loss) and grad.shape == (18, 24, 3)
    assert two_region_problem.shape == CONTENT_SHAPE


def test_a_style_guide_eroded_away_inside_is_refused_with_the_layer(
    one_region_problem, images
):
    style = images[1]
    band = np.zeros(STYLE_SHAPE[:2])
    band[6:10] = 1  # 4 rows: two 3x3 convolutions erode them to nothing

    with pytest.raises(ValueError, match="style_guide has no position left at conv2_1"):
        one_region_problem.set_regions(
            [Region(np.ones(CONTENT_SHAPE[:2]), style, band)], guide_mode="inside"
        )
    one_region_problem.set_regions(
        [Region(np.ones(CONTENT_SHAPE[:2]), style, band)], guide_mode="simple"
    )


def test_set_regions_checks_cover_and_overlap_when_asked(two_region_problem, halves):
    top, bottom = two_region_problem.regions

    with pytest.raises(ValueError, match="regions overlap on 330 pixels"):
        two_region_problem.set_regions(
            [top, Region(np.ones(CONTENT_SHAPE[:2]), bottom.style)], exclusive=True
        )
    with pytest.raises(ValueError, match="do not cover the image: 330 pixels"):
        two_region_problem.set_regions(
            [top, Region(halves[0], bottom.style)], cover=True
        )
    two_region_problem.set_regions([top, bottom], cover=True, exclusive=True)


def test_region_misuse_gives_clear_errors(
    transfer, plain_problem, one_region_problem, images
):
    content, style, _ = images
    ones = Region(np.ones(CONTENT_SHAPE[:2]), style)
    with pytest.raises(ValueError, match="compiled for 1 regions, got 2"):
        one_region_problem.set_regions([ones, ones])
    with pytest.raises(ValueError, match="takes its styles from its regions"):
        one_region_problem.set_images(content, style)
    with pytest.raises(ValueError, match="compiled without regions"):
        plain_problem.set_images(content, style, regions=[ones])
    with pytest.raises(ValueError, match="compiled without regions"):
        plain_problem.set_regions([ones])
    with pytest.raises(ValueError, match="regions is empty"):
        StyleProblem(transfer.net, content, None, transfer.loss_weights, regions=[])
    # Refused before compiling anything.
    with pytest.raises(ValueError, match="give style images or regions, not both"):
        StyleProblem(
            transfer.net, content, style, transfer.loss_weights, regions=[ones]
        )
    with pytest.raises(ValueError, match="blend has 1 weights for 2 style images"):
        StyleProblem(
            transfer.net, content, [style, style], transfer.loss_weights, blend=[1]
        )
    with pytest.raises(ValueError, match="sequence of Region"):
        one_region_problem.set_regions(ones)
    with pytest.raises(ValueError, match="guide_mode must be 'simple' or 'inside'"):
        one_region_problem.set_regions([ones], guide_mode="outside")
    with pytest.raises(ValueError, match="region 0: its guide has no pixel inside"):
        one_region_problem.set_regions([Region(np.zeros(CONTENT_SHAPE[:2]), style)])


def test_retargeting_runs_the_network_once_per_image(
    plain_problem, images, second_style
):
    content, style, _ = images
    original, calls = plain_problem._targets_of, []

    def counted(x):
        calls.append(x.shape)
        return original(x)

    plain_problem._targets_of = counted
    try:
        plain_problem.set_images(content, [style, second_style])
    finally:
        plain_problem._targets_of = original
    assert sorted(calls) == sorted(
        preprocess(image, plain_problem.mean_pixel).shape
        for image in (content, style, second_style)
    )
