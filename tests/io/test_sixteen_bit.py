"""Tests for naah.io.sixteen_bit and 16-bit saving: files read back with OpenCV,
tifffile and Pillow, compared with the values computed here one by one."""

import struct
import zlib

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image

from naah.io.icc import srgb_profile
from naah.io.images import ImageError, save_image
from naah.io.sixteen_bit import (
    PNG_SIGNATURE,
    png_chunk,
    to_uint16,
    with_png_chunks,
)


def float_image(h=12, w=10, seed=0):
    """Floats between the 8-bit levels, a little outside [0, 255] too."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-3, 258, (h, w, 3)).astype(np.float32)


def expected_uint16(image):
    """round(x / 255 * 65535) of each clipped value, in Python's own arithmetic."""
    flat = [round(min(max(float(v), 0.0), 255.0) / 255 * 65535) for v in image.flat]
    return np.array(flat, np.uint16).reshape(image.shape)


def chunk_types(png):
    at, kinds = len(PNG_SIGNATURE), []
    while at < len(png):
        (length,) = struct.unpack_from(">I", png, at)
        kinds.append(png[at + 4 : at + 8])
        at += 12 + length
    return kinds


def test_float_images_keep_their_precision_at_16_bits():
    image = float_image()
    np.testing.assert_array_equal(to_uint16(image), expected_uint16(image))


def test_uint8_images_are_widened_to_the_full_16_bit_range():
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_array_equal(to_uint16(levels), levels.astype(np.uint16) * 257)


def test_not_finite_values_are_refused():
    with pytest.raises(ValueError, match="NaN or infinite"):
        to_uint16(np.array([np.nan]))


def test_a_16_bit_png_reads_back_with_opencv_as_the_values_computed(tmp_path):
    image = float_image()
    path = save_image(tmp_path / "p.png", image, bit_depth=16)
    back = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16 and back.shape == image.shape
    np.testing.assert_array_equal(back[..., ::-1], expected_uint16(image))
    # Values between the 8-bit levels survive: not every one is a multiple of 257.
    assert (back % 257 != 0).any()


def test_a_16_bit_png_is_rgb_16_bit_with_the_srgb_profile_and_dpi(tmp_path):
    path = save_image(tmp_path / "p.png", float_image(), bit_depth=16, dpi=300)
    data = path.read_bytes()
    width, height, depth, colour_type = struct.unpack(">IIBB", data[16:26])
    assert (width, height, depth, colour_type) == (10, 12, 16, 2)  # 2: RGB
    assert chunk_types(data)[:3] == [b"IHDR", b"iCCP", b"pHYs"]
    with Image.open(path) as img:
        assert img.info["icc_profile"] == srgb_profile()
        assert img.info["dpi"] == pytest.approx((300, 300), abs=0.01)
    with Image.open(path) as img:
        img.verify()  # every chunk's CRC


def test_a_16_bit_tiff_reads_back_with_tifffile_with_profile_and_dpi(tmp_path):
    image = float_image()
    path = save_image(tmp_path / "t.tif", image, bit_depth=16, dpi=300)
    np.testing.assert_array_equal(tifffile.imread(path), expected_uint16(image))
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        assert page.bitspersample == 16 and page.photometric == 2  # RGB
        assert page.tags["InterColorProfile"].value == srgb_profile()
        assert page.tags["XResolution"].value == (300, 1)
        assert page.tags["ResolutionUnit"].value == 2  # inch


def test_a_16_bit_file_without_dpi_records_no_resolution_in_png(tmp_path):
    path = save_image(tmp_path / "p.png", float_image(), bit_depth=16)
    assert b"pHYs" not in chunk_types(path.read_bytes())
    with Image.open(path) as img:
        assert "dpi" not in img.info and img.info["icc_profile"] == srgb_profile()


@pytest.mark.parametrize("name", ["a.jpg", "a.jpeg", "a.bmp"])
def test_16_bits_in_a_format_of_8_is_refused_naming_the_fix(tmp_path, name):
    with pytest.raises(ImageError, match=r"holds 8; use a \.png or \.tif file"):
        save_image(tmp_path / name, float_image(), bit_depth=16)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("depth", [12, 32, True, "16"])
def test_only_8_and_16_bits_are_taken(tmp_path, depth):
    with pytest.raises(ValueError, match="bit_depth must be 8 or 16"):
        save_image(tmp_path / "a.png", float_image(), bit_depth=depth)


# -- PNG chunks ----------------------------------------------------------------------
def test_a_chunk_has_its_length_type_data_and_the_crc_of_type_and_data():
    chunk = png_chunk(b"tEXt", b"Comment\0hello")
    assert chunk[:4] == struct.pack(">I", 13) and chunk[4:8] == b"tEXt"
    assert chunk[8:-4] == b"Comment\0hello"
    assert chunk[-4:] == struct.pack(">I", zlib.crc32(b"tEXtComment\0hello"))


def test_chunks_replace_those_of_their_type_after_the_header(tmp_path):
    path = tmp_path / "a.png"
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(path, dpi=(72, 72))
    phys = png_chunk(b"pHYs", struct.pack(">IIB", 5906, 5906, 1))  # 150 dpi
    changed = with_png_chunks(path.read_bytes(), [phys])
    kinds = chunk_types(changed)
    assert kinds[:2] == [b"IHDR", b"pHYs"] and kinds.count(b"pHYs") == 1
    path.write_bytes(changed)
    with Image.open(path) as img:
        # 150 dpi is 5905.5 pixels per metre; PNG keeps whole ones.
        assert img.info["dpi"] == pytest.approx((150, 150), abs=0.02)


def test_what_is_not_a_whole_png_file_is_refused():
    with pytest.raises(ValueError, match="lacks the PNG signature"):
        with_png_chunks(b"GIF89a", [])
    png = PNG_SIGNATURE + png_chunk(b"IHDR", bytes(13))
    with pytest.raises(ValueError, match="runs past the end"):
        with_png_chunks(png[:-1], [])
    with pytest.raises(ValueError, match="IHDR is not its first chunk"):
        with_png_chunks(PNG_SIGNATURE + png_chunk(b"IEND", b""), [])


def test_a_chunk_type_is_four_letters():
    with pytest.raises(ValueError, match="4 ASCII letters"):
        png_chunk(b"pHY", b"")
