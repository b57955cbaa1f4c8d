"""naah.plan: the checks before a run, on the images' shapes alone."""

import numpy as np
import pytest

from naah import plan
from naah.estimate import minimum_side
from naah.io.images import resize_to_long_edge
from naah.request import style_edge


# -- the smallest images the deepest layer takes ------------------------------------------
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
    assert (plan.deepest(layers), minimum_side(layers)) == (deepest, side)


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
    assert plan.least_long_edge(shape, need) == edge
    # ...checked against naah.io.images' own rounding:
    image = np.zeros((*shape, 3), np.float32)
    assert min(resize_to_long_edge(image, edge).shape[:2]) >= need
    if edge > need:
        assert min(resize_to_long_edge(image, edge - 1).shape[:2]) < need


def test_the_least_style_scale_works_at_the_size():
    assert plan.least_style_scale((30, 30), 16, 32) == "0.5"
    scale = plan.least_style_scale((8, 4000), 16, 32)
    assert scale == "242.2" and style_edge(32, float(scale)) == 7750
