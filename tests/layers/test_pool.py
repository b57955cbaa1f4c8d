"""Tests for naah.layers.pool: PoolLayer against a numpy reference."""

import numpy as np
import pytensor.tensor as pt
import pytest

from naah.compile import function
from naah.layers import PoolLayer
from tests._reference import as_pair
from tests._reference import four_sided as as_four
from tests._reference import pool2d as reference_pool


def random(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def run(layer, x):
    xv = pt.tensor4("x", dtype="float32")
    return function([xv], layer(xv))(x)


# (input shape, window, stride, pad, ceil_mode); stride None means the window.
GEOMETRIES = {
    "2x2 windows (VGG)": ((2, 3, 8, 8), 2, None, 0, False),
    "2x2 windows on an odd image drop the last row and column": (
        (1, 2, 7, 9),
        2,
        None,
        0,
        False,
    ),
    "overlapping 3x3 windows, stride 2": ((1, 2, 9, 10), 3, 2, 0, False),
    "rectangular window and stride": ((1, 2, 9, 10), (3, 2), (2, 1), 0, False),
    "padding (top, bottom, left, right)": ((1, 2, 7, 8), 3, 2, (1, 0, 2, 1), False),
    "ceil mode (Caffe)": ((1, 2, 7, 9), 2, None, 0, True),
    "ceil mode with overlap and padding": ((1, 1, 8, 9), 3, 2, 1, True),
}


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize(
    ("x_shape", "window", "stride", "pad", "ceil_mode"),
    list(GEOMETRIES.values()),
    ids=list(GEOMETRIES),
)
def test_pool_layer_matches_numpy_and_its_output_shape(
    x_shape, window, stride, pad, ceil_mode, mode
):
    x = random(x_shape)
    layer = PoolLayer("pool", mode, window, stride, pad, ceil_mode)
    got = run(layer, x)
    expected = reference_pool(
        x,
        mode,
        as_pair(window),
        as_pair(window if stride is None else stride),
        as_four(pad),
        ceil_mode,
    )
    assert got.shape == expected.shape
    assert layer.output_shape(x_shape) == got.shape
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_max_pool_layer_picks_the_largest_of_each_window():
    x = np.arange(16, dtype="float32").reshape(1, 1, 4, 4)
    got = run(PoolLayer("pool1", "max"), x)
    np.testing.assert_array_equal(got[0, 0], [[5, 7], [13, 15]])


def test_avg_pool_layer_averages_each_window():
    x = np.arange(16, dtype="float32").reshape(1, 1, 4, 4)
    got = run(PoolLayer("pool1", "avg"), x)
    np.testing.assert_array_equal(got[0, 0], [[2.5, 4.5], [10.5, 12.5]])


def test_pool_layer_has_no_params_and_remembers_its_mode():
    layer = PoolLayer("pool5", "avg")
    assert layer.params == {}
    assert layer.mode == "avg"


@pytest.mark.parametrize("mode", ["median", "MAX", "", None])
def test_pool_layer_rejects_an_unknown_mode_naming_the_valid_ones(mode):
    with pytest.raises(ValueError) as raised:
        PoolLayer("pool1", mode)
    assert str(raised.value) == f"pool1: pooling must be 'max' or 'avg', got {mode!r}"


def test_pool_layer_rejects_padding_as_large_as_the_window():
    with pytest.raises(ValueError, match="must be smaller than the window"):
        PoolLayer("pool1", "max", window=2, pad=2)
