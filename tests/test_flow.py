"""naah.flow against references written here: a per-pixel bilinear sampler, Ruder et
al.'s inequalities spelt out pixel by pixel, and synthetic translations whose flow is
known.

The references loop over pixels in plain Python (float64), clamp a point into the
image before interpolating and take the four neighbours ``floor`` and ``floor + 1``
(the last pixel its own neighbour), where naah.flow works on whole arrays.
"""

import math

import cv2
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from naah import flow
from naah.flow import (
    FLOW_METHODS,
    consistency,
    estimate_flow,
    estimate_flows,
    long_term_weights,
    warp,
)

# Ruder, Dosovitskiy & Brox (2016), section 3.3, written out again here.
PAPER_DISOCCLUSION = (0.01, 0.5)
PAPER_MOTION_BOUNDARY = (0.01, 0.002)


# --- references ----------------------------------------------------------------------


def bilinear_sample(image, x, y):
    """``image`` (H, W, C) at the point (x, y), clamped to the border first."""
    height, width = image.shape[:2]
    x = min(max(x, 0.0), width - 1.0)
    y = min(max(y, 0.0), height - 1.0)
    j, i = math.floor(x), math.floor(y)
    j1, i1 = min(j + 1, width - 1), min(i + 1, height - 1)
    b, a = x - j, y - i
    return (
        (1 - a) * (1 - b) * image[i, j]
        + (1 - a) * b * image[i, j1]
        + a * (1 - b) * image[i1, j]
        + a * b * image[i1, j1]
    )


def reference_warp(image, flow_field):
    """warped[r, c] = image(c + dx, r + dy), and whether that point is inside."""
    image = np.asarray(image, dtype=np.float64)
    planes = image if image.ndim == 3 else image[..., None]
    height, width = planes.shape[:2]
    warped = np.zeros(planes.shape)
    inside = np.zeros((height, width), dtype=bool)
    for r in range(height):
        for c in range(width):
            x = c + float(flow_field[r, c, 0])
            y = r + float(flow_field[r, c, 1])
            warped[r, c] = bilinear_sample(planes, x, y)
            inside[r, c] = 0 <= x <= width - 1 and 0 <= y <= height - 1
    return warped.reshape(image.shape), inside


def central_difference(values, axis):
    """(f[k+1] - f[k-1]) / 2 inside, f[1] - f[0] and f[-1] - f[-2] at the ends."""
    values = np.moveaxis(np.asarray(values, dtype=np.float64), axis, 0)
    result = np.empty_like(values)
    result[1:-1] = (values[2:] - values[:-2]) / 2
    result[0] = values[1] - values[0]
    result[-1] = values[-1] - values[-2]
    return np.moveaxis(result, 0, axis)


def reference_consistency(forward, backward, parts=None):
    """Ruder et al.'s c at each pixel of the second frame, one pixel at a time.

    ``parts``, a dict, receives the masks of each reason for a 0.
    """
    forward = np.asarray(forward, dtype=np.float64)
    backward = np.asarray(backward, dtype=np.float64)
    height, width = backward.shape[:2]
    u_hat, v_hat = backward[..., 0], backward[..., 1]
    gradient = (
        central_difference(u_hat, 0) ** 2
        + central_difference(u_hat, 1) ** 2
        + central_difference(v_hat, 0) ** 2
        + central_difference(v_hat, 1) ** 2
    )
    masks = {
        name: np.zeros((height, width), bool)
        for name in ("outside", "disocclusion", "boundary")
    }
    c = np.ones((height, width))
    for r in range(height):
        for col in range(width):
            w_hat = backward[r, col]
            x, y = col + w_hat[0], r + w_hat[1]
            w_tilde = bilinear_sample(forward, x, y)
            outside = not (0 <= x <= width - 1 and 0 <= y <= height - 1)
            relative, absolute = PAPER_DISOCCLUSION
            disoccluded = np.sum((w_tilde + w_hat) ** 2) > relative * (
                np.sum(w_tilde**2) + np.sum(w_hat**2)
            ) + (absolute)
            relative, absolute = PAPER_MOTION_BOUNDARY
            boundary = gradient[r, col] > relative * np.sum(w_hat**2) + absolute
            masks["outside"][r, col] = outside
            masks["disocclusion"][r, col] = disoccluded
            masks["boundary"][r, col] = boundary
            if outside or disoccluded or boundary:
                c[r, col] = 0.0
    if parts is not None:
        parts.update(masks)
    return c


def smooth_texture(shape, seed=0, sigma=1.5):
    """A random RGB texture in 0–255, smoothed so that optical flow can follow it."""
    rng = np.random.default_rng(seed)
    texture = gaussian_filter(rng.uniform(0, 255, shape), (sigma, sigma, 0))
    return 255 * (texture - texture.min()) / np.ptp(texture)


def translated_pair(shift, size=(64, 80), seed=0):
    """Two views of a texture, the second's content moved by ``shift`` = (dx, dy)."""
    dx, dy = shift
    height, width = size
    big = smooth_texture((height + 20, width + 20, 3), seed)
    first = big[10 : 10 + height, 10 : 10 + width]
    second = big[10 - dy : 10 - dy + height, 10 - dx : 10 - dx + width]
    return first, second


# --- warp ----------------------------------------------------------------------------


def test_warp_matches_a_per_pixel_bilinear_sampler_inside_and_outside():
    rng = np.random.default_rng(1)
    image = rng.uniform(0, 255, (7, 9, 3))
    field = rng.uniform(-3, 3, (7, 9, 2))
    warped, inside = warp(image, field)
    expected, expected_inside = reference_warp(image, field)
    assert warped.dtype == np.float32 and warped.shape == image.shape
    np.testing.assert_allclose(warped, expected, rtol=1e-6, atol=1e-4)
    np.testing.assert_array_equal(inside, expected_inside)
    assert 0 < inside.sum() < inside.size  # both kinds of point were tried


def test_warp_samples_a_grey_image_and_a_flow_alike():
    rng = np.random.default_rng(2)
    grey = rng.uniform(0, 255, (7, 9))
    field = rng.uniform(-2, 2, (7, 9, 2))
    warped, _ = warp(grey, field)
    assert warped.shape == (7, 9)
    np.testing.assert_allclose(warped, reference_warp(grey, field)[0], atol=1e-4)
    two_channels = rng.normal(0, 3, (7, 9, 2))
    np.testing.assert_allclose(
        warp(two_channels, field)[0], reference_warp(two_channels, field)[0], atol=1e-5
    )


def test_an_integer_shift_copies_pixels_and_clamps_to_the_border_outside():
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (7, 9, 3)).astype(np.uint8)
    field = np.zeros((7, 9, 2))
    field[..., 0], field[..., 1] = 2, -1  # sample 2 to the right, 1 up
    warped, inside = warp(image, field)
    np.testing.assert_array_equal(warped[1:, :7], image[:-1, 2:])
    expected_inside = np.zeros((7, 9), bool)
    expected_inside[1:, :7] = True
    np.testing.assert_array_equal(inside, expected_inside)
    # Outside: the nearest pixel of the border.
    np.testing.assert_array_equal(warped[0, :7], image[0, 2:])
    np.testing.assert_array_equal(warped[1:, 7:], np.repeat(image[:-1, 8:], 2, axis=1))
    np.testing.assert_array_equal(warped[0, 7:], np.repeat(image[:1, 8], 2, axis=0))


def test_points_on_the_last_row_and_column_are_inside():
    image = np.arange(12.0).reshape(3, 4)
    field = np.zeros((3, 4, 2))
    field[..., 0] = 3 - np.arange(4)  # every pixel samples x = 3, the last column
    field[..., 1] = 2 - np.arange(3)[:, None]  # and y = 2, the last row
    warped, inside = warp(image, field)
    assert inside.all()
    np.testing.assert_array_equal(warped, np.full((3, 4), 11.0))


def test_a_zero_flow_gives_the_image_back():
    image = np.random.default_rng(4).uniform(0, 255, (5, 6, 3)).astype(np.float32)
    warped, inside = warp(image, np.zeros((5, 6, 2), np.float32))
    np.testing.assert_array_equal(warped, image)
    assert inside.all()


@pytest.mark.parametrize(
    ("image", "field", "message"),
    [
        (np.zeros((4, 5, 3)), np.zeros((4, 6, 2)), r"\(4, 5, 2\)"),
        (np.zeros((4, 5, 3)), np.zeros((4, 5, 3)), "flow has shape"),
        (np.zeros(5), np.zeros((1, 5, 2)), r"\(H, W, C\)"),
        (np.zeros((4, 5)), np.full((4, 5, 2), np.nan), "NaN"),
    ],
)
def test_warp_rejects_mismatched_shapes_and_non_finite_flows(image, field, message):
    with pytest.raises(ValueError, match=message):
        warp(image, field)


# --- consistency ---------------------------------------------------------------------


def moving_square_flows(seed=5, size=(24, 30)):
    """A still background and a square moving by (3, 1), plus smooth sub-pixel noise:
    the uncovered background is disoccluded, the square's edges are motion
    boundaries, and flow near the image's edge points outside."""
    height, width = size
    rng = np.random.default_rng(seed)
    forward = np.zeros((height, width, 2))
    backward = np.zeros((height, width, 2))
    forward[8:16, 8:16] = (3, 1)  # the square in frame i-1
    backward[9:17, 11:19] = (-3, -1)  # and in frame i
    for field in (forward, backward):
        field += gaussian_filter(rng.normal(0, 0.5, (height, width, 2)), (3, 3, 0))
    backward[:, :2, 0] -= 1.5  # the two left columns move in from outside
    return forward, backward


def test_consistency_matches_the_papers_inequalities_pixel_by_pixel():
    forward, backward = moving_square_flows()
    parts = {}
    expected = reference_consistency(forward, backward, parts)
    result = consistency(forward, backward)
    assert result.dtype == np.float32 and result.shape == (24, 30)
    np.testing.assert_array_equal(result, expected)
    # The example has every reason for a 0, each alone somewhere, and trusted pixels.
    others = {"outside": ("disocclusion", "boundary")}
    others["disocclusion"] = ("outside", "boundary")
    others["boundary"] = ("outside", "disocclusion")
    for reason, (a, b) in others.items():
        assert (parts[reason] & ~parts[a] & ~parts[b]).any(), reason
    assert 0.3 < expected.mean() < 0.95


def test_consistency_of_random_smooth_flows_matches_the_reference():
    # A smooth random motion of a few pixels, and a backward flow that disagrees
    # with it in a blob around (12, 8).
    rng = np.random.default_rng(6)
    mean = np.array([4.0, -3.0])
    forward = mean + gaussian_filter(rng.normal(0, 12, (16, 20, 2)), (4, 4, 0))
    rows, columns = np.indices((16, 20))
    blob = np.exp(-((rows - 8) ** 2 + (columns - 12) ** 2) / 8)
    backward = -forward + 2.0 * blob[..., None] * np.array([1.0, -0.5])
    parts = {}
    expected = reference_consistency(forward, backward, parts)
    np.testing.assert_array_equal(consistency(forward, backward), expected)
    assert 0 < expected.sum() < expected.size
    assert all(mask.any() for mask in parts.values())


@pytest.mark.parametrize("shift", [(2.0, -1.0), (1.5, -0.75)])
def test_a_translation_is_trusted_wherever_it_stays_inside_the_image(shift):
    forward = np.zeros((6, 8, 2))
    forward[...] = shift
    c = consistency(forward, -forward)
    expected = np.ones((6, 8))
    expected[:, :2] = 0  # x - dx < 0
    expected[-1:, :] = 0  # y - dy > H - 1
    np.testing.assert_array_equal(c, expected)


def test_the_disocclusion_threshold_is_half_a_pixel_squared_plus_one_percent():
    # w = 0, so w̃ = 0 and the test is |ŵ|² > 0.01 |ŵ|² + 0.5.
    forward = np.zeros((5, 5, 2))
    below, above = np.zeros((5, 5, 2)), np.zeros((5, 5, 2))
    below[..., 1] = -0.71  # 0.5041 <= 0.005041 + 0.5
    above[..., 1] = -0.72  # 0.5184 > 0.005184 + 0.5
    inside_rows = np.s_[1:]  # y - 0.71 stays in the image from row 1 on
    assert consistency(forward, below)[inside_rows].all()
    assert not consistency(forward, above).any()


def test_consistency_rejects_flows_of_different_shapes():
    with pytest.raises(ValueError, match=r"\(4, 5, 2\).*\(4, 6, 2\)"):
        consistency(np.zeros((4, 5, 2)), np.zeros((4, 6, 2)))
    with pytest.raises(ValueError, match=r"\(H, W, 2\)"):
        consistency(np.zeros((4, 5, 3)), np.zeros((4, 5, 3)))


# --- long-term weights ---------------------------------------------------------------


def test_long_term_weights_follow_the_formula_with_the_original_weights():
    rng = np.random.default_rng(7)
    # Fractional weights first: they tell the formula (with the original c_k) from
    # one with the reduced c_long_k, which [0.5, 0.5, 1] would make [0.5, 0, 0.5].
    weights = [rng.uniform(0, 0.6, (4, 5)) for _ in range(2)]
    weights += [rng.integers(0, 2, (4, 5)).astype(float) for _ in range(2)]
    weights.append(rng.uniform(0, 1, (4, 5)))
    result = long_term_weights(weights)
    assert len(result) == len(weights)
    for j, c_long in enumerate(result):
        earlier = np.zeros((4, 5))
        for k in range(j):
            earlier = earlier + weights[k]
        expected = np.where(weights[j] - earlier > 0, weights[j] - earlier, 0.0)
        assert c_long.dtype == np.float32
        np.testing.assert_allclose(c_long, expected, atol=1e-6)


def test_long_term_weights_keep_each_pixel_for_its_closest_frame():
    closest = np.array([[1, 0, 0, 1]])
    middle = np.array([[1, 1, 0, 0]])
    furthest = np.array([[1, 1, 1, 0]])
    result = long_term_weights([closest, middle, furthest])
    np.testing.assert_array_equal(
        np.concatenate(result), [[1, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0]]
    )
    halves = long_term_weights(
        [np.full((1, 1), 0.5), np.full((1, 1), 0.5), np.ones((1, 1))]
    )
    assert [float(c[0, 0]) for c in halves] == [0.5, 0.0, 0.0]
    assert long_term_weights([]) == []


def test_long_term_weights_reject_weights_of_different_sizes():
    with pytest.raises(ValueError, match=r"weights\[1\]"):
        long_term_weights([np.ones((3, 4)), np.ones((3, 5))])


# --- estimating the flow -------------------------------------------------------------


@pytest.mark.parametrize("method", FLOW_METHODS)
def test_each_method_recovers_a_translation_from_first_to_second(method):
    first, second = translated_pair((3, -2))
    forward = estimate_flow(first, second, method)
    assert forward.shape == (64, 80, 2) and forward.dtype == np.float32
    interior = np.s_[12:-12, 12:-12]
    np.testing.assert_allclose(
        np.median(forward[interior], axis=(0, 1)), (3, -2), atol=0.5
    )
    # The other way round: the flow points back.
    backward = estimate_flow(second, first, method)
    np.testing.assert_allclose(
        np.median(backward[interior], axis=(0, 1)), (-3, 2), atol=0.5
    )


def test_the_flow_carries_the_second_image_back_onto_the_first():
    first, second = translated_pair((3, -2), seed=1)
    warped, inside = warp(second, estimate_flow(first, second))
    interior = np.zeros_like(inside)
    interior[8:-8, 8:-8] = True
    error = np.abs(warped - first)[interior & inside]
    assert np.median(error) < 3.0  # grey levels, of 0–255
    assert np.median(np.abs(second - first)) > 10 * np.median(error)


def test_float_images_are_rounded_to_8_bits_as_documented():
    first, second = translated_pair((1, 1), size=(32, 40))
    as_uint8 = [
        np.clip(np.rint(image), 0, 255).astype(np.uint8) for image in (first, second)
    ]
    np.testing.assert_array_equal(
        estimate_flow(first, second), estimate_flow(*as_uint8)
    )


def test_estimate_flow_names_the_choices_and_both_shapes():
    image = np.zeros((16, 20, 3))
    with pytest.raises(ValueError, match="'dis', 'farneback', 'deepflow'"):
        estimate_flow(image, image, "lucas-kanade")
    with pytest.raises(ValueError, match=r"\(16, 20, 3\).*\(16, 21, 3\)"):
        estimate_flow(image, np.zeros((16, 21, 3)))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        estimate_flow(np.zeros((16, 20, 4)), np.zeros((16, 20, 4)))
    with pytest.raises(ValueError, match="NaN"):
        estimate_flow(np.full((16, 20, 3), np.nan), image)


def test_deepflow_without_opencv_contrib_says_what_to_install(monkeypatch):
    monkeypatch.delattr(cv2, "optflow")
    image = np.zeros((16, 20, 3))
    with pytest.raises(ValueError, match="pip install opencv-contrib-python-headless"):
        estimate_flow(image, image, "deepflow")


def test_estimate_flows_gives_the_same_flows_in_two_processes_as_in_one():
    rng = np.random.default_rng(8)
    big = smooth_texture((60, 70, 3), seed=8)
    frames = [big[s : s + 48, 2 * s : 2 * s + 56] for s in range(3)]
    frames.append(np.rint(frames[-1] + rng.normal(0, 3, frames[-1].shape)))
    pairs = [(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2)]
    threads = cv2.getNumThreads()
    serial = estimate_flows(frames, pairs, processes=1)
    parallel = estimate_flows(frames, pairs, processes=2)
    assert cv2.getNumThreads() == threads  # the workers' setting stayed there
    assert list(serial) == pairs and list(parallel) == pairs
    for pair in pairs:
        np.testing.assert_array_equal(parallel[pair], serial[pair])
        np.testing.assert_array_equal(
            serial[pair], estimate_flow(*(frames[i] for i in pair))
        )
    # Content moves by (-2, -1) per frame: the forward and backward flows say so.
    np.testing.assert_allclose(
        np.median(serial[0, 1][10:-10, 10:-10], axis=(0, 1)), (-2, -1), atol=0.5
    )
    np.testing.assert_allclose(
        np.median(serial[1, 0][10:-10, 10:-10], axis=(0, 1)), (2, 1), atol=0.5
    )


def test_estimate_flows_checks_pairs_processes_and_sizes_before_starting():
    frames = [np.zeros((16, 20, 3)), np.zeros((16, 20, 3)), np.zeros((16, 24, 3))]
    with pytest.raises(ValueError, match="indices are 0 to 2"):
        estimate_flows(frames, [(0, 3)])
    with pytest.raises(ValueError, match="two frame indices"):
        estimate_flows(frames, [(0, 1, 2)])
    with pytest.raises(ValueError, match="processes=0"):
        estimate_flows(frames, [(0, 1)], processes=0)
    with pytest.raises(ValueError, match=r"frames\[1\].*frames\[2\]"):
        estimate_flows(frames, [(1, 2)])
    with pytest.raises(ValueError, match="choose one of"):
        estimate_flows(frames, [(0, 1)], "horn-schunck")
    assert estimate_flows(frames, []) == {}


def test_the_public_names_are_the_documented_ones():
    assert flow.FLOW_METHODS == ("dis", "farneback", "deepflow")
    assert flow.DEFAULT_FLOW == "dis"
    assert (
        flow.DISOCCLUSION_RELATIVE,
        flow.DISOCCLUSION_ABSOLUTE,
    ) == PAPER_DISOCCLUSION
    assert (
        flow.MOTION_BOUNDARY_RELATIVE,
        flow.MOTION_BOUNDARY_ABSOLUTE,
    ) == PAPER_MOTION_BOUNDARY
