"""The Gatys et al. loss terms against numpy written here, in float32 and float64."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode
from pytensor.gradient import verify_grad

from naah.compile import function
from naah.losses import (
    content_loss,
    feature_matrix,
    gram_matrix,
    guided_gram_matrix,
    guided_style_layer_loss,
    guided_style_loss,
    normalised_guided_gram,
    style_layer_loss,
    style_loss,
    total_variation,
)
from tests._reference import central_differences

DTYPES = ("float32", "float64")
# float32 sums of a few hundred products agree with float64 to about 1e-6; 1e-5
# leaves room without hiding a wrong formula (a missing 1/2 or 1/4 is off by 100%).
RTOL = {"float32": 1e-5, "float64": 1e-12}
# verify_grad checks the symbolic gradient (a random directional derivative against
# finite differences); the Python linker runs it without compiling anything, where
# PyTensor's default Numba linker spends a minute compiling each of its graphs.
GRAD_MODE = Mode(linker="py", optimizer="fast_compile")


def features_like(shape, dtype, seed=0):
    """Non-negative (post-ReLU-like) features of a (1, N, H, W) batch."""
    rng = np.random.default_rng(seed)
    return np.maximum(rng.standard_normal(shape), 0).astype(dtype)


def numpy_feature_matrix(features):
    """F of shape (N_l, M_l): feature map i, position j = row * W + column."""
    _, n, h, w = features.shape
    return features[0].astype(np.float64).reshape(n, h * w)


def numpy_gram(features):
    f = numpy_feature_matrix(features)
    return f @ f.T


def numpy_style_layer_loss(features, target_gram):
    _, n, h, w = features.shape
    m = h * w
    return np.sum((numpy_gram(features) - target_gram) ** 2) / (4.0 * n**2 * m**2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_content_loss_is_half_the_summed_squared_difference(dtype):
    rng = np.random.default_rng(1)
    f_value = rng.standard_normal((1, 5, 3, 4)).astype(dtype)
    p_value = rng.standard_normal((1, 5, 3, 4)).astype(dtype)
    f, p = pt.tensor4("F", dtype=dtype), pt.tensor4("P", dtype=dtype)

    result = function([f, p], content_loss(f, p))(f_value, p_value)

    expected = 0.5 * np.sum((f_value.astype(np.float64) - p_value) ** 2)
    assert result.dtype == dtype
    np.testing.assert_allclose(result, expected, rtol=RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_feature_matrix_flattens_each_map_row_by_row(dtype):
    value = np.arange(2 * 3 * 4, dtype=dtype).reshape(1, 2, 3, 4)
    f = pt.tensor4("features", dtype=dtype)

    result = function([f], feature_matrix(f))(value)

    np.testing.assert_array_equal(result, value[0].reshape(2, 12))


@pytest.mark.parametrize("dtype", DTYPES)
def test_gram_matrix_is_the_feature_matrix_times_its_transpose(dtype):
    value = features_like((1, 6, 5, 7), dtype)
    f = pt.tensor4("features", dtype=dtype)

    result = function([f], gram_matrix(f))(value)

    assert result.shape == (6, 6)
    assert result.dtype == dtype
    np.testing.assert_allclose(result, numpy_gram(value), rtol=RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_style_layer_loss_is_squared_gram_difference_over_4_n2_m2(dtype):
    value = features_like((1, 6, 5, 7), dtype, seed=2)
    target = numpy_gram(features_like((1, 6, 4, 9), "float64", seed=3)).astype(dtype)
    f = pt.tensor4("features", dtype=dtype)
    a = pt.matrix("A", dtype=dtype)

    result = function([f, a], style_layer_loss(f, a))(value, target)

    assert result.dtype == dtype
    expected = numpy_style_layer_loss(value, target.astype(np.float64))
    np.testing.assert_allclose(result, expected, rtol=RTOL[dtype] * 10)


def test_style_layer_loss_is_zero_when_the_grams_match():
    value = features_like((1, 4, 3, 5), "float32", seed=4)
    f = pt.tensor4("features", dtype="float32")
    a = pt.matrix("A", dtype="float32")

    target = numpy_gram(value).astype(np.float32)
    result = function([f, a], style_layer_loss(f, a))(value, target)

    assert abs(result) < 1e-10


@pytest.mark.parametrize("dtype", DTYPES)
def test_style_loss_weights_each_layer_and_returns_every_layers_e_l(dtype):
    shapes = {"conv1_1": (1, 4, 8, 6), "conv2_1": (1, 8, 4, 3), "conv3_1": (1, 8, 2, 1)}
    values = {
        n: features_like(s, dtype, seed=i) for i, (n, s) in enumerate(shapes.items())
    }
    targets = {
        n: numpy_gram(features_like(s, "float64", seed=10 + i)).astype(dtype)
        for i, (n, s) in enumerate(shapes.items())
    }
    # conv3_1 is among the features but not weighted: it must not contribute.
    layer_weights = {"conv1_1": 0.25, "conv2_1": 0.75}
    features = {n: pt.tensor4(n, dtype=dtype) for n in shapes}
    grams = {n: pt.matrix(f"A_{n}", dtype=dtype) for n in shapes}

    total, per_layer = style_loss(features, grams, layer_weights)
    names = list(layer_weights)
    compiled = function(
        [*features.values(), *(grams[n] for n in names)],
        [total, *(per_layer[n] for n in names)],
        on_unused_input="ignore",  # conv3_1's features
    )
    result_total, *result_layers = compiled(
        *values.values(), *(targets[n] for n in names)
    )

    assert set(per_layer) == set(layer_weights)
    expected_layers = [
        numpy_style_layer_loss(values[n], targets[n].astype(np.float64)) for n in names
    ]
    np.testing.assert_allclose(result_layers, expected_layers, rtol=RTOL[dtype] * 10)
    expected_total = sum(
        w * e for w, e in zip(layer_weights.values(), expected_layers, strict=True)
    )
    np.testing.assert_allclose(result_total, expected_total, rtol=RTOL[dtype] * 10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_total_variation_sums_squared_vertical_and_horizontal_differences(dtype):
    rng = np.random.default_rng(5)
    value = rng.uniform(-100, 100, (2, 3, 5, 7)).astype(dtype)
    x = pt.tensor4("image", dtype=dtype)

    result = function([x], total_variation(x))(value)

    v = value.astype(np.float64)
    expected = sum(
        (v[n, c, i + 1, j] - v[n, c, i, j]) ** 2
        for n in range(2)
        for c in range(3)
        for i in range(4)
        for j in range(7)
    ) + sum(
        (v[n, c, i, j + 1] - v[n, c, i, j]) ** 2
        for n in range(2)
        for c in range(3)
        for i in range(5)
        for j in range(6)
    )
    np.testing.assert_allclose(result, expected, rtol=RTOL[dtype])


def test_total_variation_of_a_constant_image_is_zero():
    x = pt.tensor4("image", dtype="float32")
    result = function([x], total_variation(x))(np.full((1, 3, 4, 5), 7, "float32"))
    assert result == 0


def test_style_layer_loss_gradient_matches_finite_differences():
    target = numpy_gram(features_like((1, 3, 4, 5), "float64", seed=6))
    value = features_like((1, 3, 4, 5), "float64", seed=7) + 0.1

    verify_grad(
        lambda f: style_layer_loss(f, pt.constant(target)),
        [value],
        rng=np.random.default_rng(8),
        mode=GRAD_MODE,
    )


def test_content_and_total_variation_gradients_match_finite_differences():
    rng = np.random.default_rng(9)
    target = rng.standard_normal((1, 3, 4, 5))

    verify_grad(
        lambda f: content_loss(f, pt.constant(target)) + total_variation(f),
        [rng.standard_normal((1, 3, 4, 5))],
        rng=np.random.default_rng(10),
        mode=GRAD_MODE,
    )


# -- guided Gram matrices (Gatys et al. 2017, section 4) ---------------------------
def numpy_guided_gram(features, guide):
    """(F ∘ T)(F ∘ T)ᵀ: every feature map weighed, position by position, by T."""
    weighted = numpy_feature_matrix(features) * np.asarray(guide, np.float64).ravel()
    return weighted @ weighted.T


def numpy_normalised_guided_gram(features, guide):
    """(M / μ) G_r with μ = Σ T², the mass of the guide as the Gram matrix sees it."""
    guide = np.asarray(guide, np.float64)
    return numpy_guided_gram(features, guide) * guide.size / np.sum(guide**2)


def numpy_guided_style_layer_loss(features, guide, target):
    """(μ / M) Σ (Ĝ - Â)² / (4 N² M²)."""
    _, n, h, w = features.shape
    m = h * w
    mass = np.sum(np.asarray(guide, np.float64) ** 2)
    difference = numpy_normalised_guided_gram(features, guide) - target
    return mass / m * np.sum(difference**2) / (4.0 * n**2 * m**2)


def soft_guide(shape, seed):
    """A guide in [0, 1] with some positions fully out and some fully in."""
    rng = np.random.default_rng(seed)
    return np.clip(rng.uniform(-0.3, 1.3, shape), 0, 1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_guided_gram_matrix_weighs_each_position_by_the_guide(dtype):
    value = features_like((1, 6, 5, 7), dtype, seed=20)
    guide_value = soft_guide((5, 7), seed=21).astype(dtype)
    f = pt.tensor4("features", dtype=dtype)
    t = pt.matrix("T", dtype=dtype)

    result = function([f, t], guided_gram_matrix(f, t))(value, guide_value)

    assert result.shape == (6, 6)
    assert result.dtype == dtype
    expected = numpy_guided_gram(value, guide_value)
    np.testing.assert_allclose(result, expected, rtol=RTOL[dtype] * 10)


def test_a_float64_guide_keeps_a_float32_graph_float32():
    f = pt.tensor4("features", dtype="float32")

    gram = guided_gram_matrix(f, pt.matrix("T", dtype="float64"))

    assert gram.dtype == "float32"


def test_normalised_guided_gram_of_a_guide_of_ones_is_the_gram_matrix_exactly():
    value = features_like((1, 6, 5, 7), "float32", seed=22)
    f = pt.tensor4("features", dtype="float32")
    t = pt.matrix("T", dtype="float32")
    compiled = function([f, t], [normalised_guided_gram(f, t), gram_matrix(f)])

    guided, plain = compiled(value, np.ones((5, 7), np.float32))

    np.testing.assert_array_equal(guided, plain)


@pytest.mark.parametrize("dtype", DTYPES)
def test_normalised_guided_gram_is_the_mean_over_the_guide_times_m(dtype):
    value = features_like((1, 4, 6, 6), dtype, seed=23)
    guide_value = soft_guide((6, 6), seed=24).astype(dtype)
    f = pt.tensor4("features", dtype=dtype)
    t = pt.matrix("T", dtype=dtype)

    result = function([f, t], normalised_guided_gram(f, t))(value, guide_value)

    expected = numpy_normalised_guided_gram(value, guide_value)
    np.testing.assert_allclose(result, expected, rtol=RTOL[dtype] * 10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_guided_style_layer_loss_is_the_area_weighted_normalised_difference(dtype):
    value = features_like((1, 6, 5, 7), dtype, seed=25)
    guide_value = soft_guide((5, 7), seed=26).astype(dtype)
    style = features_like((1, 6, 4, 9), "float64", seed=27)
    target = numpy_normalised_guided_gram(style, soft_guide((4, 9), seed=28))
    f = pt.tensor4("features", dtype=dtype)
    t = pt.matrix("T", dtype=dtype)
    a = pt.matrix("A", dtype=dtype)

    result = function([f, t, a], guided_style_layer_loss(f, t, a))(
        value, guide_value, target.astype(dtype)
    )

    assert result.dtype == dtype
    expected = numpy_guided_style_layer_loss(value, guide_value, target)
    np.testing.assert_allclose(result, expected, rtol=RTOL[dtype] * 10)


def test_a_guide_of_ones_gives_the_unguided_style_layer_loss_bit_for_bit():
    value = features_like((1, 6, 5, 7), "float32", seed=29)
    target = numpy_gram(features_like((1, 6, 4, 9), "float64", seed=30))
    f = pt.tensor4("features", dtype="float32")
    t = pt.matrix("T", dtype="float32")
    a = pt.matrix("A", dtype="float32")
    compiled = function(
        [f, t, a], [guided_style_layer_loss(f, t, a), style_layer_loss(f, a)]
    )

    guided, plain = compiled(value, np.ones((5, 7), np.float32), target.astype("f4"))

    assert guided == plain


def test_a_guide_with_no_mass_contributes_nothing_and_keeps_the_gradient_finite():
    value = features_like((1, 3, 4, 5), "float64", seed=31)
    f = pt.tensor4("features", dtype="float64")
    t = pt.matrix("T", dtype="float64")
    target = numpy_gram(features_like((1, 3, 4, 5), "float64", seed=32))
    loss = guided_style_layer_loss(f, t, pt.constant(target))

    result, grad = function([f, t], [loss, pt.grad(loss, f)])(value, np.zeros((4, 5)))

    assert result == 0
    assert np.isfinite(grad).all() and not grad.any()


def test_guided_gram_matrix_gradient_matches_finite_differences():
    guide_value = soft_guide((4, 5), seed=33)
    projection = np.random.default_rng(34).standard_normal((3, 3))

    verify_grad(
        lambda f: pt.sum(guided_gram_matrix(f, pt.constant(guide_value)) * projection),
        [features_like((1, 3, 4, 5), "float64", seed=35) + 0.1],
        rng=np.random.default_rng(36),
        mode=GRAD_MODE,
    )


def test_guided_style_layer_loss_gradient_matches_finite_differences():
    guide_value = soft_guide((4, 5), seed=37)
    target = numpy_normalised_guided_gram(
        features_like((1, 3, 6, 3), "float64", seed=38), soft_guide((6, 3), seed=39)
    )

    verify_grad(
        lambda f: guided_style_layer_loss(
            f, pt.constant(guide_value), pt.constant(target)
        ),
        [features_like((1, 3, 4, 5), "float64", seed=40) + 0.1],
        rng=np.random.default_rng(41),
        mode=GRAD_MODE,
    )


def test_guided_style_layer_loss_gradient_matches_the_numpy_losss_differences():
    # Every element of the symbolic gradient against central differences of the
    # numpy reference, which shares no code with naah.
    value = features_like((1, 3, 4, 5), "float64", seed=42) + 0.1
    guide_value = soft_guide((4, 5), seed=43)
    target = numpy_normalised_guided_gram(
        features_like((1, 3, 6, 3), "float64", seed=44), soft_guide((6, 3), seed=45)
    )
    f = pt.tensor4("features", dtype="float64")
    loss = guided_style_layer_loss(f, pt.constant(guide_value), pt.constant(target))

    grad = pytensor.function([f], pt.grad(loss, f), mode=GRAD_MODE)(value)

    (expected,) = central_differences(
        lambda x: numpy_guided_style_layer_loss(x, guide_value, target), [value]
    )
    # Measured: 4e-11 of the largest element, 2e-8 element by element (central
    # differences of step 1e-5 in float64).
    np.testing.assert_allclose(
        grad, expected, rtol=1e-6, atol=1e-9 * abs(expected).max()
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_guided_style_loss_weighs_layers_and_regions(dtype):
    shapes = {"conv1_1": (1, 4, 8, 6), "conv2_1": (1, 8, 4, 3)}
    values = {
        n: features_like(s, dtype, seed=50 + i)
        for i, (n, s) in enumerate(shapes.items())
    }
    guides = {
        n: [soft_guide(s[2:], seed=60 + 2 * i), soft_guide(s[2:], seed=61 + 2 * i)]
        for i, (n, s) in enumerate(shapes.items())
    }
    targets = {
        n: [
            numpy_gram(features_like(s, "float64", seed=70 + 2 * i + r)).astype(dtype)
            for r in range(2)
        ]
        for i, (n, s) in enumerate(shapes.items())
    }
    layer_weights = {"conv1_1": 0.25, "conv2_1": 0.75}
    region_weights = [pt.scalar("lambda0", dtype=dtype), 2.0]
    features = {n: pt.tensor4(n, dtype=dtype) for n in shapes}
    guide_vars = {
        n: [pt.matrix(f"T_{n}_{r}", dtype=dtype) for r in range(2)] for n in shapes
    }
    target_vars = {
        n: [pt.matrix(f"A_{n}_{r}", dtype=dtype) for r in range(2)] for n in shapes
    }

    total, per_layer = guided_style_loss(
        features, guide_vars, target_vars, layer_weights, region_weights
    )
    names = list(shapes)
    inputs = [features[n] for n in names]
    inputs += [v for n in names for v in (*guide_vars[n], *target_vars[n])]
    compiled = function(
        [*inputs, region_weights[0]], [total, *(per_layer[n] for n in names)]
    )
    arguments = [values[n] for n in names]
    arguments += [a.astype(dtype) for n in names for a in (*guides[n], *targets[n])]
    result_total, *result_layers = compiled(*arguments, 0.5)

    expected_layers = [
        sum(
            lam * numpy_guided_style_layer_loss(values[n], guides[n][r], targets[n][r])
            for r, lam in enumerate((0.5, 2.0))
        )
        for n in names
    ]
    np.testing.assert_allclose(result_layers, expected_layers, rtol=RTOL[dtype] * 10)
    expected_total = 0.25 * expected_layers[0] + 0.75 * expected_layers[1]
    np.testing.assert_allclose(result_total, expected_total, rtol=RTOL[dtype] * 10)


def test_guided_style_loss_refuses_a_guide_or_target_per_region_missing():
    f = pt.tensor4("F", dtype="float32")
    t, a = pt.matrix("T", dtype="float32"), pt.matrix("A", dtype="float32")

    with pytest.raises(ValueError, match="1 guides and 2 targets for 2 regions"):
        guided_style_loss(
            {"conv1_1": f},
            {"conv1_1": [t]},
            {"conv1_1": [a, a]},
            {"conv1_1": 1.0},
            [1.0, 1.0],
        )
