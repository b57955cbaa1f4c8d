"""naah.blocks: the reach of a feature, the margin and the layout of the blocks."""

import tracemalloc

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from naah import StyleTransfer
from naah.blocks import (
    Field,
    block_count,
    field,
    halo,
    layout,
    margin,
    stride,
    work_ratio,
)
from naah.compile import function
from naah.testing import write_vgg19_mat


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    weights = write_vgg19_mat(tmp_path_factory.mktemp("weights") / "vgg19.mat")
    return StyleTransfer(weights, pooling="avg").net


@pytest.mark.parametrize(
    ("layer", "position"),
    [("conv1_1", 5), ("conv2_1", 4), ("conv4_2", 10), ("conv5_1", 8)],
)
def test_the_reach_of_a_feature_is_where_its_gradient_is_not_zero(net, layer, position):
    """The pixels a feature depends on, found by differentiating it (average
    pooling, so that every pixel of a window counts), are those field() says."""
    size = 224
    x = pt.tensor4("x", dtype="float32")
    feature = net.features(x, [layer])[layer]
    column = feature[0, :, position, position].sum()
    gradient = function([x], pytensor.grad(column, x))
    rng = np.random.default_rng(0)
    image = rng.normal(0, 50, (1, 3, size, size)).astype(np.float32)
    reached = np.flatnonzero(np.abs(gradient(image)[0]).sum(axis=(0, 2)))
    f = field(layer)
    assert (reached.min(), reached.max()) == (
        f.stride * position - f.before,
        f.stride * position + f.after,
    )


def test_vgg19_reach_margin_and_stride():
    assert field("conv5_1") == Field(16, 70, 85)  # a 156-pixel receptive field
    assert field("pool4") == field("conv4_4")._replace(stride=16, after=69)
    assert (halo("conv4_2"), halo("conv5_1")) == (38, 70)
    assert margin(["conv1_1", "conv4_2"]) == 40  # 38, rounded to stride 8
    assert margin(["conv4_2", "conv5_1"]) == 80
    assert stride(["conv1_1", "conv3_1"]) == 4


@pytest.mark.parametrize("shape", [(100, 133), (300, 200), (16, 17), (35, 64)])
@pytest.mark.parametrize("tile", [16, 48, 100, 512])
def test_inner_areas_partition_the_image_and_their_cells_every_layer(shape, tile):
    layers = ["conv1_1", "conv3_1", "conv4_2", "conv5_1"]
    blocks = layout(shape, tile, layers)
    covered = np.zeros(shape, int)
    for block in blocks:
        covered[block.inner] += 1
        rows, cols = block.outer
        assert rows.start % 16 == 0 and cols.start % 16 == 0
        assert block.rows.inner[0] - rows.start == min(
            block.rows.inner[0], margin(layers)
        )
    assert (covered == 1).all()
    for layer in layers:
        s = field(layer).stride
        cells = np.zeros((shape[0] // s, shape[1] // s), int)
        for block in blocks:
            cells[block.cells(layer)] += 1
            assert all(r > 0 for r in _sizes(block.cells(layer)))
        assert (cells == 1).all(), layer


def _sizes(slices):
    return [s.stop - s.start for s in slices]


def test_a_rest_shorter_than_the_stride_joins_the_block_before():
    blocks = layout((100, 40), 48, ["conv5_1"])
    assert sorted({b.rows.inner for b in blocks}) == [(0, 48), (48, 100)]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_layout_refuses_a_bad_tile_size(bad):
    with pytest.raises(ValueError, match="tile_size must be a positive integer"):
        layout((100, 100), bad, ["conv1_1"])


@pytest.mark.parametrize(
    ("shape", "tile", "layers"),
    [((2048, 2048), 1024, ["conv5_1"]), ((100, 37), 16, ["conv1_1"]),
     ((513, 1025), 33, ["conv3_1", "conv4_2"]), ((7, 5), 1, ["conv5_1"])],
)  # fmt: skip
def test_block_count_and_work_ratio_are_those_of_the_layout(shape, tile, layers):
    blocks = layout(shape, tile, layers)
    assert block_count(shape, tile, layers) == len(blocks)
    area = sum(b.shape[0] * b.shape[1] for b in blocks)
    assert work_ratio(shape, tile, layers) == pytest.approx(
        area / (shape[0] * shape[1]), rel=1e-12
    )


def test_the_blocks_of_a_huge_image_are_counted_without_making_them():
    # --dry-run --force at --size 100000: 29 million blocks took 3.5 GB to list.
    tracemalloc.start()
    try:
        count = block_count((100_000, 75_000), 16, ["conv5_1"])
        ratio = work_ratio((100_000, 75_000), 16, ["conv5_1"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 6250 * 4687 and ratio > 1
    assert peak < 10 * 2**20
