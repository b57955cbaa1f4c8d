"""StyleProblem's loss and gradient against a numpy VGG-19 and Gatys losses written here.

The images are tiny, odd-sized and non-square (content 22x30, style 17x26), so a
swapped height and width, a ceil-mode pooling or a style image resized to the
content's shape would change the numbers.
"""

import numpy as np
import pytest

from naah import StyleTransfer
from naah.io.images import preprocess
from naah.testing import VGG_MEAN_PIXEL, make_vgg19_params, write_vgg19_mat

CONTENT_SHAPE = (22, 30, 3)
STYLE_SHAPE = (17, 26, 3)
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
