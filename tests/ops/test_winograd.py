"""Tests for naah.ops.winograd: F(2x2, 3x3) against scipy correlation and numpy's
own transform matrices."""

import numpy as np
import pytest

from naah.ops import kernels, winograd
from tests._reference import conv2d as reference
from tests._reference import conv2d_full_grad_input as reference_grad_input

# Lavin & Gray's matrices for F(2x2, 3x3), written out here independently of naah.
G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])


def random(shape, dtype="float64", seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def planes(u, plane, rows, cols):
    return np.stack(
        [u[i * plane : i * plane + rows * cols] for i in range(16)]
    ).reshape(4, 4, rows, cols)


def test_kernel_transform_is_g_times_kernel_times_g_transposed():
    w = random((5, 3, 3, 3), seed=1)
    u, plane = winograd.kernel_transform(w)
    expected = np.einsum("ip,ocpq,jq->ijoc", G, w, G)
    np.testing.assert_allclose(planes(u, plane, 5, 3), expected, rtol=1e-14)


def test_planes_are_never_a_power_of_two_apart():
    for n in (64 * 64, 256 * 512, 512 * 512, 3 * 64):
        plane = winograd.plane_stride(n)
        assert plane >= n
        assert plane % 16 == 0  # whole cache lines of float32
        assert plane & (plane - 1) != 0


def test_flipped_kernels_transform_to_the_swapped_positions():
    # The input gradient relies on this: transform(flip(g)) = S transform(g) S.
    w = random((4, 6, 3, 3), seed=2)
    u, plane = winograd.kernel_transform(w)
    flipped, flipped_plane = winograd.kernel_transform(w[:, :, ::-1, ::-1].copy())
    s = list(winograd.FLIPPED_POSITION)
    np.testing.assert_allclose(
        planes(flipped, flipped_plane, 4, 6),
        planes(u, plane, 4, 6)[s][:, s],
        rtol=1e-12,
        atol=1e-15,
    )


# x shape, out channels, (top, bottom, left, right) padding
CASES = {
    "same padding": ((2, 3, 8, 8), 4, (1, 1, 1, 1)),
    "odd height and width": ((1, 5, 7, 9), 3, (1, 1, 1, 1)),
    "no padding": ((1, 4, 9, 6), 2, (0, 0, 0, 0)),
    "MatConvNet padding (2, 1, 0, 2)": ((2, 3, 7, 9), 4, (2, 1, 0, 2)),
    "1x1 output": ((1, 2, 3, 3), 3, (0, 0, 0, 0)),
    "1x1 input, padding 1": ((1, 2, 1, 1), 2, (1, 1, 1, 1)),
    "VGG-like channels": ((1, 128, 6, 10), 16, (1, 1, 1, 1)),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("shape", "out_channels", "pad"), CASES.values(), ids=CASES)
def test_conv3x3_matches_scipy(shape, out_channels, pad, dtype):
    x = random(shape, dtype, 3)
    w = random((out_channels, shape[1], 3, 3), dtype, 4)
    out = winograd.conv3x3(x, w, *pad)
    expected = reference(x, w, pad)
    assert out.dtype == dtype
    assert out.shape == expected.shape
    # Relative to the output's scale: the error of summing C*9 products.
    error = np.abs(out - expected).max() / np.abs(expected).max()
    assert error < (2e-6 if dtype == "float32" else 1e-14)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("shape", "out_channels", "pad"), CASES.values(), ids=CASES)
def test_conv3x3_grad_input_matches_the_flipped_correlation(
    shape, out_channels, pad, dtype
):
    w = random((out_channels, shape[1], 3, 3), dtype, 5)
    out_shape = reference(np.zeros(shape), w, pad).shape
    gz = random(out_shape, dtype, 6)
    grad = winograd.conv3x3_grad_input(gz, w, *pad)
    expected = reference_grad_input(gz, w, pad)
    assert grad.shape == shape
    error = np.abs(grad - expected).max() / np.abs(expected).max()
    assert error < (2e-6 if dtype == "float32" else 1e-14)


def test_grad_input_is_the_adjoint_of_the_forward_convolution():
    x, w = random((2, 6, 9, 7), seed=7), random((5, 6, 3, 3), seed=8)
    pad = (1, 2, 0, 1)
    y = winograd.conv3x3(x, w, *pad)
    g = random(y.shape, seed=9)
    gx = winograd.conv3x3_grad_input(g, w, *pad)
    assert np.vdot(y, g) == pytest.approx(np.vdot(x, gx), rel=1e-12)


def test_tiles_split_into_several_blocks_show_no_seams():
    # 64 + 64 channels and 128 tiles per row: a block of BLOCK_BYTES holds 4 tile
    # rows, so the 11 tile rows of a 21-row output take 3 blocks (the last partial).
    x = random((1, 64, 21, 255), "float32", 10)
    w = random((64, 64, 3, 3), "float32", 11) / 24
    rows = winograd.BLOCK_BYTES // (16 * 128 * 128 * 4)
    assert 1 < rows < 11
    out = winograd.conv3x3(x, w, 1, 1, 1, 1)
    np.testing.assert_allclose(out, reference(x, w, (1, 1, 1, 1)), atol=2e-5)


@pytest.mark.parametrize(
    ("in_channels", "out_channels", "kernel", "expected"),
    [
        (3, 64, 3, True),  # conv1_1: shift-GEMM and im2col are slow on 3 channels
        (64, 3, 3, True),  # conv1_1's input gradient
        (64, 64, 3, False),  # conv1_2: shift-GEMM is faster
        (128, 128, 3, True),
        (512, 512, 3, True),
        (512, 512, 1, False),  # Winograd here is for 3x3 kernels only
        (3, 64, 5, False),
    ],
)
def test_winograd_is_used_where_it_is_faster(
    in_channels, out_channels, kernel, expected
):
    assert kernels.use_winograd(in_channels, out_channels, kernel, kernel) == expected
