"""naah.color against numpy and scipy written out here: YIQ, luminance, colour matching.

Statistics are the population ones (divided by N), as naah.color documents; the
covariance is written out (``centred.T @ centred / N``) rather than taken from the
module.
"""

from pathlib import Path

import numpy as np
import pytest
import scipy.linalg

from naah import color
from naah.io.images import load_image

IMAGES = Path(__file__).resolve().parents[1] / "data"
if not (IMAGES / "tubingen.jpg").exists():
    IMAGES = Path("/work/shared/images")

# The NTSC YIQ matrix as usually published (4 digits), and to 8 digits as in
# scikit-image's skimage.color.colorconv.yiq_from_rgb.
NTSC_4_DIGITS = np.array(
    [
        [0.299, 0.587, 0.114],
        [0.5959, -0.2746, -0.3213],
        [0.2115, -0.5227, 0.3112],
    ]
)
NTSC_8_DIGITS = np.array(
    [
        [0.299, 0.587, 0.114],
        [0.59590059, -0.27455667, -0.32134392],
        [0.21153661, -0.52273617, 0.31119955],
    ]
)
# (image, reference): Gatys' direction (style recoloured to the content) and back,
# and two pairs of unlike palettes.
PAIRS = [
    ("starry_night", "tubingen"),
    ("tubingen", "starry_night"),
    ("composition_vii", "shipwreck"),
    ("shipwreck", "tubingen"),
]
EPS = 1e-6


def real_image(name, long_edge=48):
    return load_image(IMAGES / f"{name}.jpg", long_edge=long_edge)


def mean_and_cov(image):
    pixels = np.asarray(image, dtype=np.float64).reshape(-1, 3)
    mean = pixels.mean(axis=0)
    centred = pixels - mean
    return mean, centred.T @ centred / len(pixels)


def random_image(shape=(24, 32), seed=0, tint=(1.0, 1.0, 1.0)):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, (*shape, 3)) * np.asarray(tint)


def fitted_map(image, matched):
    """The 3x3 A with ``matched - mean = A (image - mean)``, by least squares."""
    x = np.asarray(image, np.float64).reshape(-1, 3)
    y = np.asarray(matched, np.float64).reshape(-1, 3)
    a_t, *_ = np.linalg.lstsq(x - x.mean(0), y - y.mean(0), rcond=None)
    return a_t.T


def expected_map(mode, cov_i, cov_r):
    """Each mode's A from scipy (sqrtm, cholesky), with EPS on both diagonals."""
    cov_i = cov_i + EPS * np.eye(3)
    cov_r = cov_r + EPS * np.eye(3)
    if mode == "chol":
        return scipy.linalg.cholesky(cov_r, lower=True) @ np.linalg.inv(
            scipy.linalg.cholesky(cov_i, lower=True)
        )
    root_i = np.real(scipy.linalg.sqrtm(cov_i))
    if mode == "pca":
        return np.real(scipy.linalg.sqrtm(cov_r)) @ np.linalg.inv(root_i)
    inner = np.real(scipy.linalg.sqrtm(root_i @ cov_r @ root_i))
    return np.linalg.inv(root_i) @ inner @ np.linalg.inv(root_i)


# --- constants -------------------------------------------------------------------


def test_modes_are_the_cli_choices():
    assert color.COLOR_MODES == ("luminance", "histogram", "original")
    assert color.MATCH_MODES == ("pca", "chol", "sym")


# --- YIQ ---------------------------------------------------------------------------


def test_yiq_matrix_is_the_standard_ntsc_matrix():
    np.testing.assert_allclose(color.YIQ_FROM_RGB, NTSC_4_DIGITS, atol=5e-5)
    np.testing.assert_allclose(color.YIQ_FROM_RGB, NTSC_8_DIGITS, atol=1e-8)


def test_rgb_from_yiq_is_the_exact_inverse():
    np.testing.assert_allclose(
        color.RGB_FROM_YIQ @ color.YIQ_FROM_RGB, np.eye(3), atol=1e-14
    )
    np.testing.assert_allclose(
        color.RGB_FROM_YIQ, np.linalg.inv(NTSC_8_DIGITS), atol=1e-6
    )


def test_the_matrices_cannot_be_changed_in_place():
    with pytest.raises(ValueError, match="read-only"):
        color.YIQ_FROM_RGB[0, 0] = 1.0


def test_rgb_to_yiq_applies_the_ntsc_matrix_to_every_pixel():
    image = random_image()
    expected = np.einsum("ij,hwj->hwi", NTSC_8_DIGITS, image)
    np.testing.assert_allclose(color.rgb_to_yiq(image), expected, atol=1e-5)


def test_yiq_round_trip_is_the_identity():
    image = random_image(seed=1)
    back = color.yiq_to_rgb(color.rgb_to_yiq(image))
    assert back.dtype == np.float64
    np.testing.assert_allclose(back, image, atol=1e-5 * 1e-5)
    single = color.yiq_to_rgb(color.rgb_to_yiq(image.astype(np.float32)))
    assert single.dtype == np.float32
    np.testing.assert_allclose(single, image, atol=1e-5 * 255)


def test_white_has_y_255_and_greys_have_y_g_and_no_chroma():
    greys = np.linspace(0, 255, 18).reshape(3, 6, 1).repeat(3, axis=2)
    yiq = color.rgb_to_yiq(greys)
    np.testing.assert_allclose(yiq[..., 0], greys[..., 0], atol=1e-9)
    np.testing.assert_allclose(yiq[..., 1:], 0.0, atol=1e-9)
    assert color.rgb_to_yiq(np.full((1, 1, 3), 255.0))[0, 0, 0] == pytest.approx(
        255.0, abs=1e-9
    )
    np.testing.assert_allclose(color.luminance(greys), greys[..., 0], atol=1e-4)


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [(np.uint8, np.float32), (np.float32, np.float32), (np.float64, np.float64)],
)
def test_yiq_returns_float32_unless_given_float64(dtype, expected):
    image = np.full((2, 2, 3), 100, dtype=dtype)
    assert color.rgb_to_yiq(image).dtype == expected
    assert color.yiq_to_rgb(image).dtype == expected


def test_luminance_is_the_weighted_sum_of_rgb():
    image = real_image("tubingen")
    r, g, b = (image[..., c].astype(np.float64) for c in range(3))
    y = color.luminance(image)
    assert y.shape == image.shape[:2] and y.dtype == np.float32
    np.testing.assert_allclose(y, 0.299 * r + 0.587 * g + 0.114 * b, atol=1e-4)


# --- luminance-only transfer ---------------------------------------------------------


def test_luminance_as_rgb_repeats_y_in_three_channels():
    y = random_image()[..., 0]
    rgb = color.luminance_as_rgb(y)
    assert rgb.shape == (*y.shape, 3) and rgb.dtype == np.float32
    assert rgb.flags.c_contiguous
    for channel in range(3):
        np.testing.assert_allclose(rgb[..., channel], y, rtol=1e-7)
    np.testing.assert_allclose(color.luminance(rgb), y, atol=1e-4)


def test_match_luminance_gives_the_style_the_contents_mean_and_std():
    style_y = color.luminance(real_image("starry_night", 64))
    content_y = color.luminance(real_image("tubingen", 40))
    matched = color.match_luminance(style_y, content_y)
    assert matched.shape == style_y.shape and matched.dtype == np.float32
    content = content_y.astype(np.float64)
    out = matched.astype(np.float64)
    assert out.mean() == pytest.approx(content.mean(), abs=1e-4)
    assert np.sqrt(((out - out.mean()) ** 2).mean()) == pytest.approx(
        np.sqrt(((content - content.mean()) ** 2).mean()), rel=1e-6
    )
    # An affine map of the style's luminance: the correlation is 1.
    assert np.corrcoef(out.ravel(), style_y.ravel())[0, 1] == pytest.approx(1.0)


def test_match_luminance_of_a_flat_style_is_the_contents_mean_not_nan():
    content_y = np.array([[10.0, 50.0], [90.0, 130.0]])
    matched = color.match_luminance(np.full((3, 5), 77.0), content_y)
    assert np.isfinite(matched).all()
    np.testing.assert_allclose(matched, 70.0, atol=1e-5)


def test_combine_luminance_keeps_the_chroma_and_sets_y():
    content = real_image("tubingen")
    y = color.luminance(load_image(IMAGES / "starry_night.jpg", size=content.shape[:2]))
    combined = color.combine_luminance(y, content)
    assert combined.shape == content.shape and combined.dtype == np.float32
    yiq_out = np.einsum("ij,hwj->hwi", NTSC_8_DIGITS, combined.astype(np.float64))
    yiq_in = np.einsum("ij,hwj->hwi", NTSC_8_DIGITS, content.astype(np.float64))
    np.testing.assert_allclose(yiq_out[..., 1:], yiq_in[..., 1:], atol=1e-4)
    np.testing.assert_allclose(yiq_out[..., 0], y, atol=1e-4)


def test_combine_luminance_does_not_clip():
    saturated = np.zeros((1, 2, 3))
    saturated[0, 0, 2] = saturated[0, 1, 0] = 255.0  # pure blue, pure red
    combined = color.combine_luminance(np.full((1, 2), 250.0), saturated)
    assert combined.max() > 255.0


def test_original_colors_is_the_clipped_swap_of_y_and_chroma():
    content = real_image("tubingen")
    style = load_image(IMAGES / "starry_night.jpg", size=content.shape[:2])
    result = style * 1.2 - 20  # overshoots 0–255, as optimised images do
    swapped = color.original_colors(result, content)
    assert swapped.dtype == np.float32 and swapped.shape == content.shape
    assert swapped.min() >= 0.0 and swapped.max() <= 255.0
    expected = np.clip(
        color.combine_luminance(color.luminance(result), content), 0, 255
    )
    np.testing.assert_allclose(swapped, expected, atol=1e-3)


def test_original_colors_of_the_contents_own_luminance_gives_back_the_content():
    # The luminance pipeline run with a "network" that returns its input.
    content = real_image("tubingen")
    grey = color.luminance_as_rgb(color.luminance(content))
    np.testing.assert_allclose(color.original_colors(grey, content), content, atol=1e-3)


def test_greyscale_mean_pixel_is_the_luminance_of_the_mean_three_times():
    r, g, b = 123.68, 116.779, 103.939
    y = 0.299 * r + 0.587 * g + 0.114 * b
    assert color.greyscale_mean_pixel((r, g, b)) == pytest.approx((y, y, y))
    assert color.greyscale_mean_pixel(np.array([r, g, b], np.float32)) == (
        pytest.approx((y, y, y), abs=1e-4)
    )


# --- match_color -------------------------------------------------------------------


@pytest.mark.parametrize("mode", color.MATCH_MODES)
@pytest.mark.parametrize(("name", "reference_name"), PAIRS)
def test_match_color_gives_the_references_mean_and_covariance(
    mode, name, reference_name
):
    image = real_image(name, 64)
    reference = real_image(reference_name, 40)
    matched = color.match_color(image, reference, mode)
    assert matched.shape == image.shape and matched.dtype == np.float32
    mean_out, cov_out = mean_and_cov(matched)
    mean_ref, cov_ref = mean_and_cov(reference)
    np.testing.assert_allclose(mean_out, mean_ref, atol=1e-5)
    # float32 precision: measured at most 6e-9 of the largest entry.
    assert np.abs(cov_out - cov_ref).max() <= 1e-7 * np.abs(cov_ref).max()


@pytest.mark.parametrize("mode", color.MATCH_MODES)
def test_match_color_applies_each_modes_matrix(mode):
    image = random_image((30, 20), seed=2, tint=(1.0, 0.6, 0.3))
    image[..., 1] += 0.4 * image[..., 0]  # correlated channels
    reference = random_image((16, 16), seed=3, tint=(0.4, 0.9, 1.0))
    matched = color.match_color(image, reference, mode, eps=EPS)
    expected = expected_map(mode, mean_and_cov(image)[1], mean_and_cov(reference)[1])
    np.testing.assert_allclose(fitted_map(image, matched), expected, atol=1e-5)


def test_the_three_modes_differ_by_a_rotation_and_sym_moves_colours_least():
    image = real_image("starry_night", 64)
    reference = real_image("tubingen", 40)
    centred = image.reshape(-1, 3) - image.reshape(-1, 3).mean(0)
    maps, displacement = {}, {}
    for mode in color.MATCH_MODES:
        maps[mode] = fitted_map(image, color.match_color(image, reference, mode))
        moved = centred @ maps[mode].T
        displacement[mode] = ((moved - centred) ** 2).sum(1).mean()
    np.testing.assert_allclose(maps["sym"], maps["sym"].T, atol=1e-4)
    assert np.linalg.eigvalsh((maps["sym"] + maps["sym"].T) / 2).min() > 0
    assert not np.allclose(maps["pca"], maps["chol"], atol=1e-2)
    assert displacement["sym"] < min(displacement["pca"], displacement["chol"])


def test_match_color_does_not_clip():
    matched = color.match_color(real_image("tubingen"), real_image("starry_night"))
    assert matched.min() < 0.0 or matched.max() > 255.0


@pytest.mark.parametrize("mode", color.MATCH_MODES)
def test_matching_an_image_to_itself_changes_nothing(mode):
    image = real_image("shipwreck")
    np.testing.assert_allclose(color.match_color(image, image, mode), image, atol=1e-3)


def test_match_color_takes_uint8_and_images_of_other_sizes():
    image = np.asarray(random_image((9, 7)), dtype=np.uint8)
    reference = random_image((40, 50), seed=4)
    matched = color.match_color(image, reference)
    assert matched.shape == (9, 7, 3) and matched.dtype == np.float32


@pytest.mark.parametrize("mode", color.MATCH_MODES)
def test_a_flat_grey_image_maps_to_the_references_mean_without_nan(mode):
    reference = real_image("tubingen")
    matched = color.match_color(np.full((8, 8, 3), 128.0), reference, mode)
    assert np.isfinite(matched).all()
    np.testing.assert_allclose(
        matched, np.broadcast_to(mean_and_cov(reference)[0], matched.shape), atol=1e-4
    )


@pytest.mark.parametrize("mode", color.MATCH_MODES)
def test_a_flat_reference_flattens_the_image_to_its_colour(mode):
    matched = color.match_color(
        real_image("tubingen"), np.full((5, 5, 3), (10.0, 200.0, 90.0)), mode
    )
    assert np.isfinite(matched).all()
    np.testing.assert_allclose(
        matched, np.broadcast_to((10.0, 200.0, 90.0), matched.shape), atol=0.01
    )


@pytest.mark.parametrize("mode", color.MATCH_MODES)
def test_a_greyscale_image_stays_finite_and_takes_the_references_luminance_spread(
    mode,
):
    ramp = np.linspace(0, 255, 64).reshape(8, 8, 1).repeat(3, axis=2)  # rank 1
    reference = real_image("starry_night")
    matched = color.match_color(ramp, reference, mode)
    assert np.isfinite(matched).all()
    np.testing.assert_allclose(
        matched.reshape(-1, 3).mean(0), mean_and_cov(reference)[0], atol=1e-3
    )
    # Only one direction of colour varies: the covariance stays rank 1.
    values = np.linalg.eigvalsh(mean_and_cov(matched)[1])
    assert values[1] < 1e-6 * values[2]


# --- bad input -----------------------------------------------------------------------


GOOD = np.full((4, 4, 3), 100.0)


@pytest.mark.parametrize(
    "bad", [np.zeros((4, 4)), np.zeros((4, 4, 4)), np.zeros((2, 4, 4, 3)), 5.0]
)
@pytest.mark.parametrize("argument", ["image", "reference"])
def test_match_color_names_the_argument_with_a_bad_shape(bad, argument):
    args = {"image": GOOD, "reference": GOOD, argument: bad}
    with pytest.raises(
        ValueError, match=rf"^{argument} must be an RGB image.*\(H, W, 3\)"
    ):
        color.match_color(**args)


@pytest.mark.parametrize("argument", ["image", "reference"])
def test_match_color_refuses_empty_images(argument):
    args = {"image": GOOD, "reference": GOOD, argument: np.zeros((0, 4, 3))}
    with pytest.raises(ValueError, match=rf"^{argument} is empty"):
        color.match_color(**args)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("argument", ["image", "reference"])
def test_match_color_refuses_non_finite_values(value, argument):
    bad = GOOD.copy()
    bad[1, 2, 0] = value
    args = {"image": GOOD, "reference": GOOD, argument: bad}
    with pytest.raises(ValueError, match=rf"^{argument} contains NaN or infinite"):
        color.match_color(**args)


def test_match_color_refuses_non_numbers():
    with pytest.raises(ValueError, match="^image must hold numbers"):
        color.match_color(np.full((2, 2, 3), "a"), GOOD)
    with pytest.raises(ValueError, match="^reference must hold numbers"):
        color.match_color(GOOD, np.ones((2, 2, 3), dtype=bool))


def test_match_color_lists_the_modes_for_an_unknown_one():
    with pytest.raises(ValueError, match=r"mode must be one of 'pca', 'chol', 'sym'"):
        color.match_color(GOOD, GOOD, "lab")


@pytest.mark.parametrize("eps", [0.0, -1e-3, np.nan, np.inf, True, "1e-6"])
def test_match_color_refuses_an_eps_that_is_not_positive(eps):
    with pytest.raises(ValueError, match="^eps must be a positive number"):
        color.match_color(GOOD, GOOD, eps=eps)


def test_luminance_helpers_name_their_bad_arguments():
    with pytest.raises(
        ValueError, match=r"^style_y must be a luminance image.*\(H, W\)"
    ):
        color.match_luminance(GOOD, GOOD[..., 0])
    with pytest.raises(ValueError, match="^content_y contains NaN"):
        color.match_luminance(GOOD[..., 0], np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match=r"^y must be a luminance image"):
        color.luminance_as_rgb(GOOD)
    with pytest.raises(ValueError, match=r"^image must be an RGB image"):
        color.luminance(GOOD[..., 0])
    with pytest.raises(
        ValueError, match=r"^image must be an array of shape \(\.\.\., 3\)"
    ):
        color.rgb_to_yiq(np.zeros((4, 4)))


def test_combine_luminance_and_original_colors_need_one_size():
    with pytest.raises(
        ValueError, match=r"^y and chroma_from must have the same height"
    ):
        color.combine_luminance(np.zeros((4, 5)), GOOD)
    with pytest.raises(
        ValueError, match=r"^result and content must have the same height"
    ):
        color.original_colors(np.zeros((3, 4, 3)), GOOD)
    with pytest.raises(ValueError, match=r"^chroma_from must be an RGB image"):
        color.combine_luminance(np.zeros((4, 4)), np.zeros((4, 4)))


@pytest.mark.parametrize("mean", [(1.0, 2.0), (1.0, np.nan, 2.0), "abc"])
def test_greyscale_mean_pixel_refuses_anything_but_three_finite_values(mean):
    with pytest.raises(ValueError, match="^mean_pixel must be 3 finite RGB values"):
        color.greyscale_mean_pixel(mean)
