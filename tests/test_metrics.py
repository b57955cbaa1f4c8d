"""naah.metrics.warping_error against sums written out here.

Synthetic videos whose motion is known exactly (a texture moved by whole pixels),
where the trusted pixels follow from the geometry; and a tiny random example where
the error is summed pixel by pixel with the per-pixel bilinear sampler and Ruder et
al.'s inequalities of tests/test_flow.py.
"""

import math

import numpy as np
import pytest

from naah.metrics import WarpingError, warping_error
from tests.test_flow import reference_consistency, reference_warp, smooth_texture

SHIFT = (2, -1)  # (dx, dy): the content moves 2 pixels right and 1 up per frame
SIZE = (40, 48)


def moving_texture(frames=3, seed=0):
    """``frames`` views of a texture moving by SHIFT, integer-valued; and the exact
    (forward, backward) flows between consecutive views."""
    dx, dy = SHIFT
    height, width = SIZE
    big = np.rint(smooth_texture((height + 20, width + 20, 3), seed))
    video = [
        big[10 - k * dy : 10 - k * dy + height, 10 - k * dx : 10 - k * dx + width]
        for k in range(frames)
    ]
    forward = np.zeros((height, width, 2))
    forward[...] = SHIFT
    return video, [(forward, -forward)] * (frames - 1)


def trusted_by_geometry():
    """Pixels p of frame i whose p - SHIFT lies in frame i-1."""
    dx, dy = SHIFT
    rows, columns = np.indices(SIZE)
    return (
        (columns - dx >= 0)
        & (columns - dx <= SIZE[1] - 1)
        & (rows - dy >= 0)
        & (rows - dy <= SIZE[0] - 1)
    )


def test_a_video_that_moves_exactly_with_its_flow_has_no_error():
    video, flows = moving_texture()
    result = warping_error(video, flows)
    assert isinstance(result, WarpingError)
    assert result.per_frame == (0.0, 0.0) and result.overall == 0.0
    assert result.pixels == (trusted_by_geometry().sum(),) * 2


def test_noise_on_a_frame_gives_the_noises_mean_square_over_trusted_pixels():
    video, flows = moving_texture()
    noise = np.random.default_rng(1).normal(0, 6.0, video[1].shape)
    noisy = [video[0], video[1] + noise, video[2]]
    result = warping_error(noisy, flows)
    trusted = trusted_by_geometry()
    first = np.mean((noise[trusted] / 255) ** 2)
    # Frame 2 against frame 1 (noisy, warped): the same noise, carried along.
    dx, dy = SHIFT
    carried = np.zeros_like(noise)
    carried[max(dy, 0) : SIZE[0] + min(dy, 0), max(dx, 0) : SIZE[1] + min(dx, 0)] = (
        noise[max(-dy, 0) : SIZE[0] - max(dy, 0), max(-dx, 0) : SIZE[1] - max(dx, 0)]
    )
    second = np.mean((carried[trusted] / 255) ** 2)
    # warp returns float32: the noise carried along is rounded to 7 digits.
    assert result.per_frame == pytest.approx((first, second), rel=1e-6)
    assert result.overall == pytest.approx((first + second) / 2, rel=1e-6)
    assert first == pytest.approx((6.0 / 255) ** 2, rel=0.1)  # the noise's variance


def test_the_error_is_the_mean_over_trusted_pixels_and_channels_of_all_frames():
    rng = np.random.default_rng(2)
    video = [rng.uniform(0, 255, (5, 6, 3)) for _ in range(3)]
    # Sub-pixel motions, smooth enough not to be motion boundaries, that leave the
    # image at the edges; the backward flow of the second pair disagrees at (2, 3).
    flows = []
    for motion in ((0.6, -0.4), (-1.3, 0.7)):
        forward = np.array(motion) + rng.uniform(-0.01, 0.01, (5, 6, 2))
        backward = -np.array(motion) + rng.uniform(-0.01, 0.01, (5, 6, 2))
        flows.append((forward, backward))
    flows[1][1][2, 3] += (0.9, 0.6)
    result = warping_error(video, flows)
    sums, counts = [], []
    for i in (1, 2):
        forward, backward = flows[i - 1]
        c = reference_consistency(forward, backward)
        omega, _ = reference_warp(video[i - 1], backward)
        total = 0.0
        for r in range(5):
            for col in range(6):
                for ch in range(3):
                    difference = (video[i][r, col, ch] - omega[r, col, ch]) / 255
                    total += c[r, col] * difference**2
        sums.append(total)
        counts.append(int(c.sum()))
    assert min(counts) > 0  # the example counts some pixels in each frame
    assert result.pixels == tuple(counts)
    expected = tuple(s / (3 * n) for s, n in zip(sums, counts, strict=True))
    assert result.per_frame == pytest.approx(expected, rel=1e-6)
    assert result.overall == pytest.approx(sum(sums) / (3 * sum(counts)), rel=1e-6)


def test_a_frame_with_no_trusted_pixel_is_nan_and_left_out_of_the_overall_error():
    video, flows = moving_texture()
    video[1] = video[1] + 10.0
    away = np.full((*SIZE, 2), 1000.0)  # every backward flow leaves the image
    result = warping_error(video, [flows[0], (-away, away)])
    assert result.pixels[1] == 0 and math.isnan(result.per_frame[1])
    assert result.overall == result.per_frame[0] == pytest.approx((10 / 255) ** 2)


def test_estimated_flows_come_from_the_reference_frames_when_given():
    video, _ = moving_texture()
    clean = warping_error(video, processes=1)  # flows from the frames themselves
    assert len(clean.per_frame) == 2
    assert clean.overall < 1e-3
    # A flickering stylisation of the same video, its motion read from the original.
    flicker = [video[0], video[1] + 25.5, video[2]]
    result = warping_error(flicker, reference=video, processes=1)
    assert result.per_frame[0] == pytest.approx(0.01, abs=2e-3)  # (25.5 / 255)²
    assert min(result.pixels) > 0.8 * trusted_by_geometry().sum()


@pytest.mark.parametrize(
    ("frames", "kwargs", "message"),
    [
        ([np.zeros((8, 9, 3))], {}, "at least 2"),
        ([np.zeros((8, 9, 3)), np.zeros((8, 10, 3))], {}, "one size"),
        ([np.zeros((8, 9)), np.zeros((8, 9))], {}, r"\(H, W, 3\)"),
        ([np.zeros((8, 9, 3)), np.full((8, 9, 3), np.inf)], {}, "infinite"),
        ([np.zeros((8, 9, 3))] * 3, {"flows": [(np.zeros((8, 9, 2)),) * 2]}, "2 pairs"),
        (
            [np.zeros((8, 9, 3))] * 2,
            {"flows": [(np.zeros((8, 9, 2)), np.zeros((9, 8, 2)))]},
            r"backward flow has shape \(9, 8, 2\).*\(8, 9, 2\)",
        ),
        ([np.zeros((8, 9, 3))] * 2, {"flows": [np.zeros((8, 9, 2))]}, "not a pair"),
        (
            [np.zeros((8, 9, 3))] * 2,
            {
                "flows": [(np.zeros((8, 9, 2)),) * 2],
                "reference": [np.zeros((8, 9, 3))] * 2,
            },
            "not both",
        ),
        (
            [np.zeros((8, 9, 3))] * 2,
            {"reference": [np.zeros((8, 9, 3))] * 3},
            "one for each",
        ),
        ([np.zeros((8, 9, 3))] * 2, {"method": "sift"}, "choose one of"),
    ],
)
def test_bad_inputs_say_what_is_wrong(frames, kwargs, message):
    with pytest.raises(ValueError, match=message):
        warping_error(frames, **kwargs)
