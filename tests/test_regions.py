"""Regions, masks and guides per layer against numpy references written here."""

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from naah.io.images import ImageError, ReducedDecodingWarning
from naah.regions import (
    Region,
    as_guide,
    check_regions,
    guides_per_layer,
    load_label_map,
    load_mask,
    resize_guide,
)
from tests._bounds import deadline
from tests.io import _corpus

ROOT = Path(__file__).resolve().parent.parent
MASKS = ROOT / "data" / "masks"
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
# VGG-19's blocks, as the paper's Table 1 (Simonyan & Zisserman) lists them.
CONVS_PER_BLOCK = (2, 2, 4, 4, 4)


# -- numpy reference: the guide at each layer, loop by loop -------------------------
def reference_min_3x3(plane):
    """Each position's minimum over its 3x3 window, clipped to the image."""
    h, w = plane.shape
    out = np.empty_like(plane)
    for i in range(h):
        for j in range(w):
            out[i, j] = plane[max(i - 1, 0) : i + 2, max(j - 1, 0) : j + 2].min()
    return out


def reference_pool(plane, reduce):
    """2x2 windows of stride 2, a trailing odd row or column dropped."""
    h, w = plane.shape[0] // 2, plane.shape[1] // 2
    out = np.empty((h, w))
    for i in range(h):
        for j in range(w):
            out[i, j] = reduce(plane[2 * i : 2 * i + 2, 2 * j : 2 * j + 2])
    return out


def reference_guides(guide, mode):
    """The guide at every conv layer of VGG-19 (its rectified output's grid)."""
    current = np.asarray(guide, np.float64)
    guides = {}
    for block, convs in enumerate(CONVS_PER_BLOCK, start=1):
        if block > 1:
            current = reference_pool(current, np.mean if mode == "simple" else np.min)
        for k in range(1, convs + 1):
            if mode == "inside":
                current = reference_min_3x3(current)
            guides[f"conv{block}_{k}"] = current
    return guides


def soft_guide(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, shape)


# -- guides per layer --------------------------------------------------------------
@pytest.mark.parametrize("mode", ["simple", "inside"])
@pytest.mark.parametrize("shape", [(37, 50), (32, 32)])
def test_guides_per_layer_match_the_loop_reference_on_vgg_grids(mode, shape):
    guide = soft_guide(shape, seed=1)
    layers = [*STYLE_LAYERS, "conv4_2", "conv1_2"]

    result = guides_per_layer(guide, layers, mode)

    expected = reference_guides(guide, mode)
    assert list(result) == layers
    for name in layers:
        assert result[name].dtype == np.float32
        np.testing.assert_allclose(result[name], expected[name], rtol=1e-6, atol=1e-7)


def test_simple_guides_have_each_layers_size_with_floor_pooling():
    result = guides_per_layer(np.ones((37, 50)), STYLE_LAYERS, "simple")

    assert [g.shape for g in result.values()] == [
        (37, 50),
        (18, 25),
        (9, 12),
        (4, 6),
        (2, 3),
    ]


def test_relu_and_pool_names_name_their_outputs():
    guide = soft_guide((16, 16), seed=2)

    result = guides_per_layer(guide, ["relu1_1", "pool1", "conv1_1"], "inside")

    np.testing.assert_array_equal(result["relu1_1"], result["conv1_1"])
    assert result["pool1"].shape == (8, 8)


@pytest.mark.parametrize("mode", ["simple", "inside"])
def test_a_guide_of_ones_stays_ones_at_every_layer(mode):
    # The image's edge is not a region's edge: padding does not erode.
    result = guides_per_layer(np.ones((40, 56)), STYLE_LAYERS, mode)

    for guide in result.values():
        assert (guide == 1).all()


def test_inside_gives_a_pixel_at_the_border_of_a_mask_weight_0_deeper():
    mask = np.zeros((32, 32))
    mask[8:24, 8:24] = 1
    simple = guides_per_layer(mask, ["conv1_1", "conv1_2", "conv2_1"], "simple")
    inside = guides_per_layer(mask, ["conv1_1", "conv1_2", "conv2_1"], "inside")

    # The mask's corner pixel (8, 8) is inside; its 3x3 receptive field at conv1_1
    # is not, so it counts for 'simple' but not for 'inside'.
    assert simple["conv1_1"][8, 8] == 1
    assert inside["conv1_1"][8, 8] == 0
    assert inside["conv1_1"][9, 9] == 1
    # Each 3x3 convolution erodes one more pixel from every side.
    assert inside["conv1_1"].sum() == 14 * 14
    assert inside["conv1_2"].sum() == 12 * 12
    assert inside["conv1_2"][9, 9] == 0
    # pool1 keeps the 2x2 windows inside conv1_2's 12-pixel square (6 of them a
    # side), then conv2_1 erodes one more from every side.
    assert inside["conv2_1"].sum() == 4 * 4
    assert simple["conv2_1"].sum() == 8 * 8


def test_inside_erodes_a_region_away_at_deep_layers():
    mask = np.zeros((64, 64))
    mask[20:44, 20:44] = 1

    result = guides_per_layer(mask, STYLE_LAYERS, "inside")

    assert result["conv1_1"].any()
    assert not result["conv5_1"].any()
    assert guides_per_layer(mask, ["conv5_1"], "simple")["conv5_1"].any()


def test_guides_per_layer_refuses_unknown_layers_and_modes():
    with pytest.raises(ValueError, match="no feature layer named 'conv6_1'"):
        guides_per_layer(np.ones((8, 8)), ["conv6_1"])
    with pytest.raises(ValueError, match="guide mode must be 'simple' or 'inside'"):
        guides_per_layer(np.ones((8, 8)), ["conv1_1"], "outside")
    with pytest.raises(ValueError, match=r"lies in \[0, 1\]"):
        guides_per_layer(np.full((8, 8), 2.0), ["conv1_1"])


# -- masks -------------------------------------------------------------------------
def write_png(path, array, mode=None):
    Image.fromarray(np.asarray(array, np.uint8), mode=mode).save(path)
    return path


def test_load_mask_thresholds_a_greyscale_file_at_50_percent(tmp_path):
    grey = np.array([[0, 127, 128, 255]], np.uint8).repeat(3, axis=0)
    path = write_png(tmp_path / "mask.png", grey)

    mask = load_mask(path, (3, 4))

    assert mask.dtype == np.float32
    np.testing.assert_array_equal(mask, [[0, 0, 1, 1]] * 3)


def test_load_mask_reads_greyscale_saved_as_rgb(tmp_path):
    grey = np.zeros((4, 4, 3), np.uint8)
    grey[:, 2:] = 200
    path = write_png(tmp_path / "mask.png", grey)

    np.testing.assert_array_equal(load_mask(path, (4, 4)), [[0, 0, 1, 1]] * 4)


def test_load_mask_resizes_to_the_image_it_guides_then_thresholds(tmp_path):
    half = np.zeros((10, 20), np.uint8)
    half[:, 10:] = 255
    path = write_png(tmp_path / "mask.png", half)

    mask = load_mask(path, (40, 80, 3))

    assert mask.shape == (40, 80)
    assert set(np.unique(mask)) == {0.0, 1.0}
    np.testing.assert_array_equal(mask[:, :40], 0)
    np.testing.assert_array_equal(mask[:, 40:], 1)


def test_load_mask_takes_arrays_and_thresholds_floats_strictly_above_half():
    values = np.array([[0.0, 0.5, 0.51, 1.0]])

    np.testing.assert_array_equal(load_mask(values, (1, 4)), [[0, 0, 1, 1]])
    np.testing.assert_array_equal(
        load_mask(values > 0.5, (2, 8)), [[0, 0, 0, 0, 1, 1, 1, 1]] * 2
    )


def test_load_mask_refuses_another_aspect_ratio(tmp_path):
    path = write_png(tmp_path / "mask.png", np.zeros((10, 20), np.uint8))

    with pytest.raises(ValueError, match="aspect ratios differ"):
        load_mask(path, (20, 20))
    # One pixel of rounding is the same shape.
    assert load_mask(path, (21, 41)).shape == (21, 41)


def test_a_mask_far_larger_than_its_image_is_decoded_reduced_in_little_memory(
    tmp_path,
):
    side = 5000  # 25 million pixels: over REDUCE_ABOVE_PIXELS
    path = tmp_path / "huge.png"
    path.write_bytes(_corpus.png_bomb(side, 255))  # all inside
    tracemalloc.start()
    try:
        with pytest.warns(ReducedDecodingWarning, match=r"huge\.png is 5000x5000"):
            mask = load_mask(path, (30, 30))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(mask, np.ones((30, 30), np.float32))
    assert peak < side * side * 3 * 4 / 100, peak
    with pytest.raises(ValueError, match="aspect ratios differ"):
        load_mask(path, (30, 60))  # checked from the header, before decoding


@pytest.mark.parametrize("make", [_corpus.fifo, _corpus.dev_zero], ids=["fifo", "zero"])
def test_a_mask_that_is_not_a_regular_file_is_refused_unread(tmp_path, make):
    path = make(tmp_path / "mask.png")
    with deadline(5), pytest.raises(ImageError, match="not a regular file"):
        load_mask(path, (30, 30))


def test_load_mask_refuses_colour_and_transparency(tmp_path):
    colour = np.zeros((4, 4, 3), np.uint8)
    colour[:2] = (255, 0, 0)
    with pytest.raises(ImageError, match="in colour.*load_label_map"):
        load_mask(write_png(tmp_path / "label.png", colour), (4, 4))
    rgba = np.full((4, 4, 4), 255, np.uint8)
    rgba[..., 3] = 0
    with pytest.raises(ImageError, match="has transparency"):
        load_mask(write_png(tmp_path / "alpha.png", rgba, "RGBA"), (4, 4))
    with pytest.raises(FileNotFoundError):
        load_mask(tmp_path / "missing.png", (4, 4))


@pytest.mark.parametrize(
    ("guide", "message"),
    [
        (np.full((4, 4), 1.5), r"values in \[1.5, 1.5\]"),
        (np.full((4, 4), -0.1), r"values in \[-0.1, -0.1\]"),
        (np.full((4, 4), np.nan), "NaN"),
        (np.zeros((4, 4, 3)), "2-D array"),
        (np.zeros((0, 4)), "non-empty"),
        (np.eye(4, dtype=np.uint8), "uint8 holding only 0 and 1"),
    ],
)
def test_as_guide_refuses_bad_arrays(guide, message):
    with pytest.raises(ValueError, match=message):
        as_guide(guide)


def test_as_guide_keeps_soft_values_and_scales_integers():
    soft = soft_guide((6, 8), seed=3)

    np.testing.assert_allclose(as_guide(soft), soft, rtol=1e-7)
    np.testing.assert_array_equal(
        as_guide(np.array([[0, 65535]], np.uint16)), [[0.0, 1.0]]
    )
    np.testing.assert_array_equal(as_guide(np.array([[0, 1]])), [[0.0, 1.0]])


def test_resize_guide_is_bilinear_and_stays_in_0_1():
    guide = np.zeros((8, 8))
    guide[:, 4:] = 1

    resized = resize_guide(guide, (4, 4))

    # Downscaling averages (Pillow widens the filter), so the edge is soft.
    np.testing.assert_array_equal(resized[:, 0], 0)
    np.testing.assert_array_equal(resized[:, 3], 1)
    assert (0 < resized[:, 1]).all() and (resized[:, 1] < 0.5).all()
    np.testing.assert_allclose(resized[:, 1] + resized[:, 2], 1, rtol=1e-6)
    up = resize_guide(guide, (32, 32))
    assert up.min() >= 0 and up.max() <= 1
    assert 0 < up[0, 15] < 1  # the edge is soft, not thresholded


# -- label maps --------------------------------------------------------------------
COLORS = {"sky": (0, 0, 255), "town": "#ff0000", "river": (0, 255, 0)}


def label_image():
    label = np.zeros((6, 8, 3), np.uint8)
    label[:2] = (0, 0, 255)
    label[2:4] = (255, 0, 0)
    label[4:] = (0, 255, 0)
    return label


def test_label_map_gives_one_exclusive_covering_mask_per_colour(tmp_path):
    path = write_png(tmp_path / "labels.png", label_image())

    masks = load_label_map(path, COLORS, (12, 16))

    assert list(masks) == ["sky", "town", "river"]
    assert all(m.shape == (12, 16) and m.dtype == np.float32 for m in masks.values())
    np.testing.assert_array_equal(sum(masks.values()), np.ones((12, 16)))
    np.testing.assert_array_equal(masks["sky"][:4], 1)
    np.testing.assert_array_equal(masks["town"][4:8], 1)
    np.testing.assert_array_equal(masks["river"][8:], 1)


def test_label_map_gives_antialiased_pixels_to_the_nearest_colour():
    label = label_image()
    label[1, 3] = (40, 10, 220)  # a smudge of blue: sky
    label[2, 3] = (200, 20, 60)  # a smudge of red: town

    masks = load_label_map(label, COLORS, (6, 8))

    assert masks["sky"][1, 3] == 1 and masks["town"][2, 3] == 1


def test_label_map_errors_name_the_problem():
    label = label_image()
    with pytest.raises(ValueError, match="farther than 30 .* at row 0, column 0"):
        stray = label.copy()
        stray[0, 0] = (128, 128, 128)
        load_label_map(stray, COLORS, (6, 8), tolerance=30)
    with pytest.raises(ValueError, match="no pixel has the colour .* 'lake'"):
        load_label_map(label, {**COLORS, "lake": (0, 255, 255)}, (6, 8), tolerance=0)
    with pytest.raises(ValueError, match="'sky' and 'sea' have the same colour"):
        load_label_map(label, {"sky": (0, 0, 255), "sea": "#0000FF"}, (6, 8))
    with pytest.raises(ValueError, match="colour of region 'sky' must be three ints"):
        load_label_map(label, {"sky": (0, 0, 256)}, (6, 8))
    with pytest.raises(ValueError, match="colour of region 'sky'"):
        load_label_map(label, {"sky": "blue"}, (6, 8))
    with pytest.raises(ValueError, match="colors must map"):
        load_label_map(label, {}, (6, 8))
    with pytest.raises(ValueError, match="aspect ratios differ"):
        load_label_map(label, COLORS, (8, 8))


# -- regions -----------------------------------------------------------------------
def test_region_resolves_paths_and_arrays_at_their_images_sizes(tmp_path):
    half = np.zeros((10, 20), np.uint8)
    half[:5] = 255
    path = write_png(tmp_path / "mask.png", half)
    style = np.full((9, 12, 3), 100, np.uint8)

    region = Region(path, style, name="sky").resolved((20, 40, 3))

    assert region.guide.shape == (20, 40)
    assert region.style.shape == (9, 12, 3) and region.style.dtype == np.float32
    np.testing.assert_array_equal(region.style_guide, np.ones((9, 12)))
    soft = Region(soft_guide((20, 40)), style, style_guide=np.ones((3, 4)))
    assert soft.resolved((20, 40)).style_guide.shape == (9, 12)


def test_region_refuses_empty_guides_and_bad_weights():
    style = np.zeros((8, 8, 3))
    with pytest.raises(ValueError, match="region 'sky': its guide has no pixel"):
        Region(np.zeros((8, 8)), style, name="sky").resolved((8, 8))
    with pytest.raises(ValueError, match="region 2: its style_guide has no pixel"):
        Region(np.ones((8, 8)), style, np.zeros((8, 8))).resolved((8, 8), 2)
    for weight in (-1.0, float("nan"), float("inf"), "1"):
        with pytest.raises(ValueError, match="Region weight must be"):
            Region(np.ones((8, 8)), style, weight=weight)


def test_check_regions_refuses_gaps_and_overlaps_only_when_asked():
    top = np.zeros((4, 6))
    top[:2] = 1
    bottom = 1 - top
    check_regions([top, bottom], cover=True, exclusive=True)
    check_regions([soft := soft_guide((4, 6)), 1 - soft], cover=True, exclusive=True)
    check_regions([top], exclusive=True)
    check_regions([top, np.ones((4, 6))], cover=True)

    with pytest.raises(ValueError, match="12 pixels are in no region .* row 2"):
        check_regions([top], cover=True)
    with pytest.raises(ValueError, match=r"overlap on 12 .* in sky and town"):
        check_regions([top, np.ones((4, 6))], exclusive=True, names=["sky", "town"])
    with pytest.raises(ValueError, match="must have one shape"):
        check_regions([top, np.ones((5, 6))])


# -- the shipped masks -------------------------------------------------------------
@pytest.mark.parametrize(
    ("image", "regions"),
    [
        ("tubingen.jpg", ("sky", "town")),
        ("great_wave.jpg", ("wave", "sea", "sky")),
    ],
)
def test_shipped_masks_are_0_255_greyscale_partitions_at_the_images_size(
    image, regions
):
    stem = Path(image).stem
    arrays = []
    for region in regions:
        with Image.open(MASKS / f"{stem}_{region}.png") as mask:
            assert mask.mode == "L" and mask.size == (512, 384)
            arrays.append(np.asarray(mask))
    assert all(set(np.unique(a)) == {0, 255} for a in arrays)
    np.testing.assert_array_equal(sum(a // 255 for a in arrays), 1)
    if (ROOT / "data" / image).exists():
        with Image.open(ROOT / "data" / image) as picture:
            assert picture.size == (512, 384)
    loaded = [
        load_mask(MASKS / f"{stem}_{region}.png", (384, 512)) for region in regions
    ]
    check_regions(loaded, cover=True, exclusive=True)


def test_tubingen_sky_is_on_top_and_the_town_below():
    sky = load_mask(MASKS / "tubingen_sky.png", (384, 512))

    assert sky[:40].mean() > 0.9  # the top of the photograph is sky
    assert sky[300:].mean() == 0  # the river and the walls are town
    assert 0.25 < sky.mean() < 0.45
