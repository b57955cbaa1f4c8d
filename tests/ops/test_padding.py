"""Tests for naah.ops.padding: row bands of a zero-padded image against np.pad."""

import numpy as np
import pytest

from naah.ops.padding import pad_rows


@pytest.mark.parametrize(
    ("row0", "rows", "width"),
    [
        (0, 3, 9),  # top padding and image rows
        (2, 4, 9),  # image rows only
        (5, 4, 9),  # image rows and bottom padding
        (7, 2, 9),  # bottom padding only
        (0, 9, 7),  # narrower than the padded image: trailing columns cut
        (0, 9, 12),  # wider: extra zero columns
    ],
)
def test_a_band_is_those_rows_of_the_padded_image(row0, rows, width):
    image = np.random.default_rng(0).standard_normal((3, 5, 6))
    padded = np.pad(image, ((0, 0), (2, 2), (1, 8)))[:, :, :width]
    band = np.full((3, rows, width), np.nan)  # stale contents must all be overwritten
    pad_rows(image, 2, 1, row0, band)
    np.testing.assert_array_equal(band, padded[:, row0 : row0 + rows])


def test_a_strided_view_is_filled_in_place():
    image = np.arange(12.0).reshape(1, 3, 4)
    buffer = np.full((1, 6, 6), np.nan)
    pad_rows(image, 1, 1, 0, buffer[:, :4])
    np.testing.assert_array_equal(
        buffer[:, :4], np.pad(image, ((0, 0), (1, 0), (1, 1)))
    )
    assert np.isnan(buffer[:, 4:]).all()
