"""Tests for naah.ops.geometry: output_size against window positions counted one by
one, on ints, symbolic integers and in Numba."""

import itertools
import math

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from naah import ops
from naah.ops import geometry, kernels, winograd
from naah.ops.geometry import output_size


def counted_floor(size, window, stride, before, after):
    """Windows that lie wholly inside the padded input, starting at 0, stride, …"""
    padded = size + before + after
    count = 0
    while count * stride + window <= padded:
        count += 1
    return count


def counted_ceil(size, window, stride, before, after):
    """Caffe's ceil mode, window by window: the first window, then one more while
    the previous one stops short of the padded input's end, but none that starts
    in the trailing padding."""
    padded = size + before + after
    count = 1
    while (count - 1) * stride + window < padded and count * stride < size + before:
        count += 1
    return count


def caffe_ceil(size, window, stride, before, after):
    """Caffe's PoolingLayer in floats: ceil((padded - window) / stride) + 1, less
    one if the last window starts in the trailing padding. Also where the window
    is larger than the padded input (a one-pixel input, say)."""
    out = math.ceil((size + before + after - window) / stride) + 1
    if (out - 1) * stride >= size + before:
        out -= 1
    return out


# size, window, stride, pad before, pad after: every combination of these.
SIZES, WINDOWS, STRIDES, PADS = range(1, 13), range(1, 6), range(1, 5), range(4)
GRID = list(itertools.product(SIZES, WINDOWS, STRIDES, PADS, PADS))
# Pooling pads less than its window (Pool2d refuses more): ceil mode's cases.
POOLING_GRID = [case for case in GRID if max(case[3:]) < case[1]]


def fits(size, window, stride, before, after):
    return size + before + after >= window


def test_floor_mode_counts_the_windows_inside_the_padded_input():
    for case in GRID:
        expected = counted_floor(*case) if fits(*case) else None
        got = output_size(*case)
        assert got == expected if fits(*case) else got < 1, case
        assert output_size(*case, ceil_mode=False) == got


def test_ceil_mode_adds_a_partial_window_but_none_in_the_trailing_padding():
    for case in POOLING_GRID:
        got = output_size(*case, ceil_mode=True)
        assert got == caffe_ceil(*case), case
        if fits(*case):
            assert got == counted_ceil(*case), case


def test_ceil_mode_differs_from_floor_only_when_the_windows_leave_a_remainder():
    for case in POOLING_GRID:
        size, window, stride, before, after = case
        if fits(*case) and (size + before + after - window) % stride == 0:
            assert output_size(*case, ceil_mode=True) == output_size(*case), case


@pytest.mark.parametrize("ceil_mode", [False, True])
def test_symbolic_integers_give_the_same_lengths(ceil_mode):
    # Elementwise over integer vectors, as infer_shape uses it on scalars.
    grid = POOLING_GRID if ceil_mode else [c for c in GRID if fits(*c)]
    columns = np.array(grid, dtype="int64").T
    symbols = [pt.lvector(name) for name in ("size", "window", "stride", "a", "b")]
    lengths = output_size(*symbols, ceil_mode=ceil_mode)
    assert lengths.dtype == "int64"
    got = pytensor.function(symbols, lengths, mode="FAST_COMPILE")(*columns)
    reference = caffe_ceil if ceil_mode else counted_floor
    np.testing.assert_array_equal(got, [reference(*case) for case in grid])


def test_a_symbolic_scalar_length_stays_a_symbolic_int64_scalar():
    x = pt.tensor4("x")
    for ceil_mode in (False, True):
        length = output_size(x.shape[2], 3, 2, 1, 0, ceil_mode)
        assert length.type.ndim == 0 and length.dtype == "int64"
        assert length.eval({x: np.zeros((1, 1, 8, 1))}) == counted_floor(8, 3, 2, 1, 0)


def test_numba_kernels_compile_this_very_function():
    for module in (kernels, winograd):
        assert module.output_size.py_func is geometry.output_size
    for case in POOLING_GRID:
        assert kernels.output_size(*case, True) == caffe_ceil(*case), case
        if fits(*case):
            assert kernels.output_size(*case) == counted_floor(*case), case


def test_it_is_public_in_naah_ops():
    assert ops.output_size is output_size
    assert "output_size" in ops.__all__
