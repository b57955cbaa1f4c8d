"""Image sizes checked against the deepest layer before loading; several styles
and regions."""

import numpy as np
import pytest
from PIL import Image

from naah.cli import images
from naah.io.images import resize_to_long_edge
from tests.cli._commands import run, stylize, stylize_inputs


# -- image sizes: checked against the deepest layer before loading ------------------------
@pytest.mark.parametrize(
    "layers, deepest, side",
    [
        (["conv1_1"], "conv1_1", 1),
        (["relu1_2"], "relu1_2", 1),
        (["pool1"], "pool1", 2),  # floor(side / 2) >= 1
        (["conv2_1"], "conv2_1", 2),
        (["conv3_1", "conv1_1"], "conv3_1", 4),
        (["conv4_2"], "conv4_2", 8),
        (["conv1_1", "conv5_1", "conv4_2"], "conv5_1", 16),  # the defaults
        (["relu5_4"], "relu5_4", 16),
        (["pool4"], "pool4", 16),
        (["pool5"], "pool5", 32),  # POOLING_FACTOR
    ],
)
def test_the_smallest_side_is_two_to_the_poolings_before_the_deepest_layer(
    layers, deepest, side
):
    assert images._min_image_side(layers) == (deepest, side)


@pytest.mark.parametrize(
    "shape, need, edge",
    [
        ((40, 30), 16, 21),  # 30 * 21 / 40 = 15.75 -> 16; 20 gives 15
        ((30, 30), 16, 16),
        ((8, 4000), 16, 7750),  # 8 * 7750 / 4000 = 15.5 -> 16 (round half even)
        ((40, 30), 32, 42),  # 31.5 -> 32
        ((5, 3), 1, 1),
    ],
)
def test_the_least_long_edge_is_the_smallest_that_the_resizer_makes_large_enough(
    shape, need, edge
):
    assert images._least_long_edge(shape, need) == edge
    # ...checked against naah.io.images' own rounding:
    image = np.zeros((*shape, 3), np.float32)
    assert min(resize_to_long_edge(image, edge).shape[:2]) >= need
    if edge > need:
        assert min(resize_to_long_edge(image, edge - 1).shape[:2]) < need


def test_the_least_style_scale_works_at_the_size():
    assert images._least_style_scale((30, 30), 16, 32) == "0.5"
    scale = images._least_style_scale((8, 4000), 16, 32)
    assert scale == "242.2" and images._style_edge(32, float(scale)) == 7750


def test_an_elongated_content_image_is_refused_naming_it_and_its_size(files, tmp_path):
    content = tmp_path / "long.png"
    Image.fromarray(np.zeros((8, 4000, 3), np.uint8)).save(content)
    status, _, err = stylize_inputs(files, content, files["style"], tmp_path / "r.png")
    assert status == 2 and err.count("\n") == 1
    for expected in (f"content image {str(content)!r}", "32x1 pixels", "--size 32",
                     "16x16", "conv5_1", "--size 7750 or more"):  # fmt: skip
        assert expected in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.png"]


def test_a_too_small_style_image_is_refused_with_the_least_scale(files, tmp_path):
    status, _, err = stylize(files, tmp_path / "r.png", "--style-scale", "0.01")
    assert status == 2 and err.count("\n") == 1
    for expected in (f"style image {files['style']!r}", "1x1 pixels", "16x16",
                     "conv5_1", "--style-scale 0.5 or more"):  # fmt: skip
        assert expected in err


def test_several_styles_and_their_blend_reach_the_run(files, tmp_path, fake_run):
    status, _, err = run(["stylize", files["content"], files["style"], files["style"],
                          "--style-blend", "3,1", "--style-scale", "1,0.5", "-o",
                          tmp_path / "r.png", "--weights", files["weights"], "-q"])  # fmt: skip
    assert status == 0, err
    assert fake_run["style_blend"] == (3.0, 1.0)
    assert fake_run["style_scale"] == (1.0, 0.5)


def test_a_region_mask_without_pixels_inside_is_refused_naming_it(files, tmp_path):
    mask = tmp_path / "empty.png"
    Image.fromarray(np.zeros((40, 30), np.uint8)).save(mask)
    status, _, err = run(["stylize", files["content"], "--region",
                          f"{mask}={files['style']}", "-o", tmp_path / "r.png",
                          "--weights", files["weights"]])  # fmt: skip
    assert status == 2 and f"--region {mask}=" in err
    assert not (tmp_path / "r.png").exists()
