"""Tests for naah.io.images: every image file is generated in tmp_path with Pillow,
or crafted by tests/io/_corpus.py."""

import os
import re
import tracemalloc

import numpy as np
import pytest
from PIL import Image, ImageOps

from naah.io import files, images
from naah.io.icc import srgb_profile
from naah.io.images import (
    ImageError,
    ReducedDecodingWarning,
    deprocess,
    image_size,
    load_image,
    preprocess,
    resize_to_long_edge,
    save_format,
    save_image,
    scale_image,
    to_pil,
    to_uint8,
)
from tests._bounds import deadline, run_bounded
from tests.io import _corpus

VGG_MEAN = (123.68, 116.779, 103.939)
RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def noise(h, w, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def saved(tmp_path, img, name, **options):
    path = tmp_path / name
    img.save(path, **options)
    return path


def test_module_exports_exactly_the_documented_api():
    assert sorted(images.__all__) == [
        "ImageError",
        "ReducedDecodingWarning",
        "deprocess",
        "image_size",
        "load_image",
        "preprocess",
        "resize_to_long_edge",
        "save_format",
        "save_image",
        "scale_image",
        "to_pil",
        "to_uint8",
    ]
    assert issubclass(ImageError, ValueError)


# --- loading files ---------------------------------------------------------------


def test_loaded_images_are_float32_rgb_c_contiguous_in_0_255(tmp_path):
    path = saved(tmp_path, Image.fromarray(noise(5, 7)), "a.png")
    img = load_image(path)
    assert img.shape == (5, 7, 3)
    assert img.dtype == np.float32
    assert img.flags.c_contiguous
    np.testing.assert_array_equal(img, noise(5, 7))


def test_str_paths_and_pil_images_are_accepted(tmp_path):
    path = saved(tmp_path, Image.fromarray(noise(4, 4)), "a.png")
    np.testing.assert_array_equal(load_image(str(path)), noise(4, 4))
    np.testing.assert_array_equal(load_image(Image.open(path)), noise(4, 4))


def test_exif_orientation_6_rotates_the_image_so_width_and_height_swap(tmp_path):
    stored = np.zeros((32, 64, 3), np.uint8)
    stored[:] = BLUE
    stored[:16, :16] = RED  # top-left as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    path = saved(tmp_path, Image.fromarray(stored), "r.jpg", exif=exif, quality=95)
    img = load_image(path)
    assert img.shape == (64, 32, 3)
    # Rotating clockwise carries the stored top-left corner to the top-right.
    np.testing.assert_allclose(img[4, -4], RED, atol=40)
    np.testing.assert_allclose(img[4, 4], BLUE, atol=40)
    np.testing.assert_allclose(img[-4, -4], BLUE, atol=40)


def test_grayscale_images_become_three_equal_channels(tmp_path):
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    img = load_image(saved(tmp_path, Image.fromarray(gray), "g.png"))
    assert img.shape == (3, 4, 3)
    for c in range(3):
        np.testing.assert_array_equal(img[..., c], gray)


def test_palette_images_are_looked_up_in_their_palette(tmp_path):
    pal = Image.new("P", (3, 2))
    pal.putpalette([*RED, *BLUE] + [0] * 762)
    pal.putpixel((1, 0), 1)
    img = load_image(saved(tmp_path, pal, "p.png"))
    np.testing.assert_array_equal(img[0, 0], RED)
    np.testing.assert_array_equal(img[0, 1], BLUE)


def test_palette_transparency_is_composited_on_white(tmp_path):
    pal = Image.new("P", (2, 1))
    pal.putpalette([*RED, *BLUE] + [0] * 762)
    pal.putpixel((1, 0), 1)
    path = saved(tmp_path, pal, "pt.png", transparency=bytes([0, 255]))
    img = load_image(path)
    np.testing.assert_array_equal(img[0, 0], WHITE)  # index 0 fully transparent
    np.testing.assert_array_equal(img[0, 1], BLUE)


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.array([[[200, 0, 0, 0], [200, 0, 0, 255], [200, 0, 0, 128]]], np.uint8)
    img = load_image(saved(tmp_path, Image.fromarray(rgba), "a.png"))
    np.testing.assert_array_equal(img[0, 0], WHITE)
    np.testing.assert_array_equal(img[0, 1], (200, 0, 0))
    a = 128 / 255  # half alpha blends colour and white
    np.testing.assert_allclose(
        img[0, 2], (200 * a + 255 * (1 - a), 255 * (1 - a), 255 * (1 - a)), atol=1e-3
    )


def test_grayscale_with_alpha_is_composited_on_white(tmp_path):
    la = Image.new("LA", (2, 1), (0, 0))  # black, fully transparent
    la.putpixel((1, 0), (0, 255))  # black, opaque
    img = load_image(saved(tmp_path, la, "la.png"))
    np.testing.assert_array_equal(img[0, 0], WHITE)
    np.testing.assert_array_equal(img[0, 1], (0, 0, 0))


def test_cmyk_jpeg_is_converted_to_rgb(tmp_path):
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # no cyan, full M and Y: red
    img = load_image(saved(tmp_path, cmyk, "c.jpg"))
    assert img.shape == (16, 16, 3)
    np.testing.assert_allclose(img[8, 8], RED, atol=10)


def test_16_bit_png_is_scaled_from_0_65535_not_clipped(tmp_path):
    values = np.array([[0, 32768, 65535, 1000]], np.uint16)
    img = load_image(saved(tmp_path, Image.fromarray(values), "16.png"))
    np.testing.assert_allclose(
        img[0, :, 0], [0, 32768 / 257, 255, 1000 / 257], rtol=1e-6
    )
    assert abs(img[0, 1, 0] - 128) < 1


def test_32_bit_int_and_float_grayscale_modes_are_read(tmp_path):
    ints = Image.fromarray(np.array([[0, 65535, 70000]], np.int32))
    assert ints.mode == "I"
    np.testing.assert_allclose(load_image(ints)[0, :, 1], [0, 255, 255])
    floats = Image.fromarray(np.array([[0.0, 100.5, 300.0]], np.float32))
    np.testing.assert_allclose(load_image(floats)[0, :, 2], [0, 100.5, 255])


def test_a_file_that_is_not_an_image_raises_image_error_naming_it(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not an image at all")
    with pytest.raises(ImageError, match=r"notes\.png.*not an image"):
        load_image(path)


@pytest.mark.parametrize("name", ["cut.png", "cut.jpg"])
def test_a_truncated_image_raises_image_error_when_loaded(tmp_path, name):
    path = saved(tmp_path, Image.fromarray(noise(64, 64)), name)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match=rf"{re.escape(name)}.*truncated"):
        load_image(path)


def test_an_empty_file_raises_image_error_saying_it_is_empty(tmp_path):
    path = tmp_path / "empty.jpg"
    path.touch()
    with pytest.raises(ImageError, match=r"empty\.jpg is empty"):
        load_image(path)


def test_a_missing_file_raises_file_not_found_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.png"):
        load_image(tmp_path / "nowhere.png")


def test_a_decompression_bomb_raises_image_error(tmp_path, monkeypatch):
    path = saved(tmp_path, Image.new("RGB", (20, 20)), "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 400 px > 2 x limit
    with pytest.raises(ImageError, match=r"bomb\.png.*MAX_IMAGE_PIXELS"):
        load_image(path)


def test_an_image_just_over_the_pixel_limit_keeps_pillows_warning(
    tmp_path, monkeypatch
):
    path = saved(tmp_path, Image.new("RGB", (15, 10)), "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 150 px: warn, not fail
    with pytest.warns(Image.DecompressionBombWarning):
        assert load_image(path).shape == (10, 15, 3)


# --- array inputs ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.full((2, 3), 255, np.uint8), 255),
        (np.full((2, 3, 1), 200, np.uint8), 200),
        (np.full((2, 3, 3), 65535, np.uint16), 255),
        (np.full((2, 3, 3), 127.5, np.float64), 127.5),
        (np.full((2, 3), 7.25, np.float32), 7.25),
        (np.full((2, 3, 3), 300.0), 255),  # floats are 0–255 and clipped
        (np.full((2, 3, 3), 40, np.int64), 40),
        (np.zeros((2, 3, 4), np.uint8), 255),  # transparent → white
    ],
)
def test_arrays_of_each_dtype_and_shape_load_as_rgb_0_255(array, expected):
    img = load_image(array)
    assert img.shape == (2, 3, 3)
    assert img.dtype == np.float32
    np.testing.assert_allclose(img, expected)


def test_a_float32_rgb_array_is_copied_not_returned_as_a_view():
    x = np.full((2, 2, 3), 9.0, np.float32)
    img = load_image(x)
    img[...] = 0
    assert (x == 9).all()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_arrays_with_nan_or_inf_are_rejected(bad):
    x = np.zeros((2, 2, 3))
    x[1, 1, 1] = bad
    with pytest.raises(ImageError, match="NaN or infinite"):
        load_image(x)


@pytest.mark.parametrize(
    "shape", [(0, 4, 3), (4, 0), (4, 4, 2), (4, 4, 5), (4,), (1, 4, 4, 3)]
)
def test_arrays_of_unsupported_or_empty_shape_are_rejected(shape):
    with pytest.raises(ImageError, match=r"shape|empty"):
        load_image(np.zeros(shape))


def test_non_numeric_arrays_are_rejected():
    with pytest.raises(TypeError, match="dtype"):
        load_image(np.zeros((2, 2, 3), bool))


# --- resizing ------------------------------------------------------------------------


def test_long_edge_keeps_aspect_for_wide_and_tall_images():
    assert load_image(np.zeros((40, 60, 3)), long_edge=30).shape == (20, 30, 3)
    assert load_image(np.zeros((60, 40, 3)), long_edge=30).shape == (30, 20, 3)
    assert load_image(np.zeros((10, 20, 3)), long_edge=80).shape == (40, 80, 3)


def test_size_resizes_to_exactly_h_w():
    assert load_image(np.zeros((40, 60, 3)), size=(7, 9)).shape == (7, 9, 3)


def test_resizing_a_flat_image_keeps_its_colour_and_range():
    img = load_image(np.full((40, 60, 3), (10.0, 128.0, 250.0)), long_edge=17)
    np.testing.assert_allclose(img[5, 5], (10, 128, 250), atol=1e-3)
    checker = (np.indices((40, 60)).sum(0) % 2 * 255).astype(np.uint8)
    small = load_image(checker, long_edge=25)  # Lanczos ringing is clipped
    assert small.min() >= 0 and small.max() <= 255


def test_long_edge_and_size_together_are_rejected():
    with pytest.raises(ValueError, match="not both"):
        load_image(np.zeros((4, 4, 3)), long_edge=2, size=(2, 2))


@pytest.mark.parametrize(
    "kwargs", [{"long_edge": 0}, {"long_edge": 2.5}, {"size": (2, -1)}, {"size": (2,)}]
)
def test_bad_target_sizes_are_rejected(kwargs):
    with pytest.raises(ValueError, match="positive int"):
        load_image(np.zeros((4, 4, 3)), **kwargs)


def test_style_can_be_sized_to_match_the_content_long_edge_times_a_scale():
    content = np.zeros((30, 48, 3))
    style = np.zeros((100, 50, 3))
    sized = resize_to_long_edge(style, round(max(content.shape[:2]) * 0.5))
    assert sized.shape == (24, 12, 3)
    assert scale_image(style, 0.1).shape == (10, 5, 3)
    with pytest.raises(ValueError, match="positive"):
        scale_image(style, 0)


# --- saving --------------------------------------------------------------------------


def test_png_round_trip_is_exact(tmp_path):
    x = noise(9, 11).astype(np.float32)
    out = save_image(tmp_path / "x.png", x)
    assert out == tmp_path / "x.png"
    np.testing.assert_array_equal(load_image(out), x)


@pytest.mark.parametrize("ext", [".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"])
def test_other_formats_round_trip_closely(tmp_path, ext):
    if ext not in images.SAVE_FORMATS:
        pytest.skip(f"Pillow built without {ext}")
    x = np.zeros((16, 16, 3), np.uint8)
    x[:, :8] = (200, 40, 90)
    img = load_image(save_image(tmp_path / f"x{ext}", x))
    np.testing.assert_allclose(img[4:12, 2:6], x[4:12, 2:6], atol=12)


def test_floats_are_clipped_and_rounded_when_saved(tmp_path):
    x = np.array([[[-5.0, 12.5, 300.0], [0.4, 254.6, 128.0]]])
    img = load_image(save_image(tmp_path / "c.png", x))
    np.testing.assert_array_equal(img, [[[0, 12, 255], [0, 255, 128]]])


@pytest.mark.parametrize("ext", [".png", ".jpg", ".tif", ".webp"])
def test_saved_files_carry_the_srgb_profile(tmp_path, ext):
    if ext not in images.SAVE_FORMATS:
        pytest.skip(f"Pillow built without {ext}")
    path = save_image(tmp_path / f"x{ext}", noise(4, 4))
    with Image.open(path) as img:
        assert img.info["icc_profile"] == srgb_profile()


def test_8_bit_pixels_are_those_of_to_uint8_with_a_profile_and_dpi(tmp_path):
    x = noise(5, 6).astype(np.float32) + 0.3
    path = save_image(tmp_path / "x.png", x, bit_depth=8, dpi=300)
    with Image.open(path) as img:
        assert img.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(img), to_uint8(x))


@pytest.mark.parametrize(
    ("ext", "recorded"),
    [(".png", 299.9994), (".jpg", 300), (".tif", 300), (".bmp", 299.9994)],
)
def test_a_dpi_is_recorded_where_each_format_keeps_it(tmp_path, ext, recorded):
    # PNG and BMP keep whole pixels per metre: 300 dpi is 11811.02 of them.
    path = save_image(tmp_path / f"x{ext}", noise(4, 4), dpi=300)
    with Image.open(path) as img:
        assert img.info["dpi"] == pytest.approx((recorded, recorded), abs=1e-3)


def test_a_dpi_for_webp_which_has_no_place_for_it_is_refused(tmp_path):
    if ".webp" not in images.SAVE_FORMATS:
        pytest.skip("Pillow built without WebP")
    with pytest.raises(ImageError, match="WEBP has no place for it; use a .png"):
        save_image(tmp_path / "x.webp", noise(4, 4), dpi=300)


@pytest.mark.parametrize(
    ("dpi", "error", "says"),
    [
        (0, ValueError, "dpi must be positive and finite, got 0"),
        (float("nan"), ValueError, "got nan"),
        (float("inf"), ValueError, "got inf"),
        (True, TypeError, "dpi must be a positive number or None, got True"),
        ("300", TypeError, "got '300'"),
    ],
)
def test_a_bad_dpi_is_refused(tmp_path, dpi, error, says):
    with pytest.raises(error, match=re.escape(says)):
        save_image(tmp_path / "x.png", noise(4, 4), dpi=dpi)


def test_save_format_names_the_format_after_checking_depth_and_dpi():
    assert save_format("a.TIFF", bit_depth=16, dpi=72.5) == "TIFF"
    assert save_format("a.jpeg", dpi=300) == "JPEG"
    with pytest.raises(ImageError, match="16 bits per channel: JPEG holds 8"):
        save_format("a.jpeg", bit_depth=16)


def test_an_unknown_extension_lists_the_supported_ones(tmp_path):
    with pytest.raises(ImageError, match=r"\.gifx.*\.png.*\.jpg"):
        save_image(tmp_path / "x.gifx", np.zeros((2, 2, 3)))


def test_saving_into_a_missing_directory_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nodir"):
        save_image(tmp_path / "nodir" / "x.png", np.zeros((2, 2, 3)))


def test_saving_into_an_unwritable_directory_names_it(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    # (Root may write anywhere: refuse the temporary file the save starts with.)
    monkeypatch.setattr(files, "open", refuse, raising=False)
    with pytest.raises(PermissionError, match=rf"{tmp_path.name}.*not writable"):
        save_image(tmp_path / "x.png", np.zeros((2, 2, 3)))


def test_a_failed_save_leaves_the_old_file_untouched_and_no_temp_files(
    tmp_path, monkeypatch
):
    path = save_image(tmp_path / "out.png", noise(8, 8))
    before = path.read_bytes()

    def half_write_then_fail(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG partial")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", half_write_then_fail)
    with pytest.raises(OSError, match="disk full"):
        save_image(path, np.zeros((8, 8, 3)))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["out.png"]


def test_saved_files_get_ordinary_permissions_not_the_temp_files_0600(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    path = save_image(tmp_path / "p.png", np.zeros((2, 2, 3)))
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_bad_quality_and_bad_shapes_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="quality"):
        save_image(tmp_path / "q.jpg", np.zeros((2, 2, 3)), quality=0)
    with pytest.raises(ImageError, match=r"\(H, W, 3\)"):
        save_image(tmp_path / "q.png", np.zeros((2, 2)))


def test_to_uint8_clips_and_rounds_and_to_pil_makes_rgb():
    np.testing.assert_array_equal(
        to_uint8(np.array([-1.0, 0.5, 1.5, 254.5, 256.0])), [0, 0, 2, 254, 255]
    )
    with pytest.raises(ImageError, match="NaN"):
        to_uint8(np.array([np.nan]))
    pil = to_pil(np.full((2, 3, 3), 7.0))
    assert (pil.mode, pil.size) == ("RGB", (3, 2))


# --- preprocess / deprocess -----------------------------------------------------


def test_preprocess_gives_an_nchw_batch_in_rgb_order_minus_the_mean():
    red = np.zeros((4, 5, 3), np.float32)
    red[...] = RED
    batch = preprocess(red, VGG_MEAN)
    assert batch.shape == (1, 3, 4, 5)
    assert batch.dtype == np.float32 and batch.flags.c_contiguous
    np.testing.assert_allclose(batch[0, 0], 255 - 123.68, rtol=1e-6)
    np.testing.assert_allclose(batch[0, 1], -116.779, rtol=1e-6)
    np.testing.assert_allclose(batch[0, 2], -103.939, rtol=1e-6)


def test_deprocess_inverts_preprocess_and_does_not_clip():
    x = np.random.default_rng(1).uniform(-20, 280, (6, 7, 3)).astype(np.float32)
    batch = preprocess(x, VGG_MEAN)
    back = deprocess(batch, VGG_MEAN)
    assert (
        back.shape == (6, 7, 3) and back.dtype == np.float32 and back.flags.c_contiguous
    )
    np.testing.assert_allclose(back, x, atol=1e-4)
    np.testing.assert_allclose(deprocess(batch[0], VGG_MEAN), x, atol=1e-4)


def test_a_mean_pixel_without_three_values_is_rejected():
    with pytest.raises(ValueError, match="3 RGB values"):
        preprocess(np.zeros((2, 2, 3)), (1.0, 2.0))
    with pytest.raises(ValueError, match=r"\(1, 3, H, W\)"):
        deprocess(np.zeros((2, 3, 4, 4)), VGG_MEAN)


# --- files far larger than needed ----------------------------------------------------


def lanczos(path, size):
    """Pillow's full decode, as float RGB, resized per channel with Lanczos to (H, W):
    what load_image gives for an image decoded in full."""
    with Image.open(path) as img:
        rgb = np.asarray(ImageOps.exif_transpose(img).convert("RGB"), np.float32)
    h, w = size
    channels = [
        Image.fromarray(np.ascontiguousarray(rgb[..., c])).resize(
            (w, h), Image.Resampling.LANCZOS
        )
        for c in range(3)
    ]
    return np.clip(np.stack([np.asarray(c) for c in channels], axis=-1), 0, 255)


def smooth(h, w):
    """Stripes and a ramp: fine enough detail for a box filter to show."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack(
        [
            127 + 100 * np.sin(x / 37),
            127 + 100 * np.cos(y / 23),
            (x + y) / (h + w) * 255,
        ],
        axis=-1,
    ).astype(np.uint8)


@pytest.fixture
def reduce_everything(monkeypatch):
    """Reduced decoding for files of any size, so small files can show it."""
    monkeypatch.setattr(images, "REDUCE_ABOVE_PIXELS", 0)


def test_a_huge_file_wanted_small_is_decoded_reduced_in_little_memory(tmp_path):
    side = 4800  # 23 million pixels: over REDUCE_ABOVE_PIXELS, under Pillow's limit
    path = saved(tmp_path, Image.new("RGB", (side, side), (200, 40, 90)), "big.png")
    tracemalloc.start()
    try:
        with pytest.warns(UserWarning) as warned:
            img = load_image(path, long_edge=32)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    (message,) = [str(w.message) for w in warned]
    assert "big.png is 4800x4800 pixels" in message
    assert "32x32 result" in message and "reduced size (96x96)" in message
    np.testing.assert_allclose(img, np.full((32, 32, 3), (200, 40, 90)), atol=1e-3)
    full_float_image = side * side * 3 * 4  # what decoding it in full converts
    assert peak < full_float_image / 100, peak


@pytest.mark.parametrize("name", ["s.png", "s.jpg"])
@pytest.mark.parametrize("long_edge", [20, 66])
def test_reduced_decoding_is_faithful_to_a_full_decode(
    tmp_path, reduce_everything, name, long_edge
):
    path = saved(tmp_path, Image.fromarray(smooth(600, 800)), name, quality=95)
    with pytest.warns(UserWarning, match="decoded at reduced size"):
        img = load_image(path, long_edge=long_edge)
    fair = lanczos(path, img.shape[:2])
    assert img.shape == (round(600 * long_edge / 800), long_edge, 3)
    # Pillow's own reducing_gap=3 differs from fair resampling about as much.
    assert np.abs(img - fair).mean() < 1 and np.abs(img - fair).max() < 8


def test_a_jpeg_is_decoded_at_reduced_scale_by_its_decoder(tmp_path, reduce_everything):
    path = saved(tmp_path, Image.fromarray(smooth(800, 800)), "s.jpg", quality=95)
    with pytest.warns(UserWarning, match=r"reduced size \(100x100\)"):  # 1/8 scale
        load_image(path, long_edge=32)


@pytest.mark.parametrize("size", [None, (40, 20)])
def test_reduced_decoding_applies_the_exif_orientation(
    tmp_path, reduce_everything, size
):
    stored = np.zeros((600, 1200, 3), np.uint8)
    stored[:] = BLUE
    stored[:200, :200] = RED  # top-left as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": 600 wide, 1200 high
    path = saved(tmp_path, Image.fromarray(stored), "r.jpg", exif=exif, quality=95)
    options = {"size": size} if size else {"long_edge": 40}
    with pytest.warns(UserWarning, match="r.jpg is 600x1200 pixels"):
        img = load_image(path, **options)
    assert img.shape == (40, 20, 3)
    np.testing.assert_allclose(img, lanczos(path, (40, 20)), atol=8)
    np.testing.assert_allclose(img[2, -2], RED, atol=40)  # now top-right


def test_reduced_palette_transparency_is_composited_on_white(
    tmp_path, reduce_everything
):
    pal = Image.new("P", (600, 300), 1)
    pal.putpalette([*RED, *BLUE] + [0] * 762)
    pal.paste(0, (0, 0, 300, 300))  # left half: index 0, fully transparent
    path = saved(tmp_path, pal, "p.png", transparency=bytes([0, 255]))
    with pytest.warns(UserWarning, match="reduced size"):
        img = load_image(path, long_edge=20)
    # Away from the edge between the halves, where Lanczos rings:
    np.testing.assert_allclose(img[:, :6], np.full((10, 6, 3), WHITE), atol=1)
    np.testing.assert_allclose(img[:, 14:], np.full((10, 6, 3), BLUE), atol=1)


def test_a_reduced_16_bit_png_keeps_its_range(tmp_path, reduce_everything):
    gray = Image.fromarray(np.full((300, 600), 65535, np.uint16))
    with pytest.warns(UserWarning, match="reduced size"):
        img = load_image(saved(tmp_path, gray, "16.png"), long_edge=20)
    np.testing.assert_allclose(img, 255, atol=1e-3)


def test_files_up_to_the_threshold_give_exactly_a_full_decode_and_lanczos(tmp_path):
    """No warning (warnings are errors here) and the same numbers as ever."""
    path = saved(tmp_path, Image.fromarray(noise(900, 1200)), "photo.png")
    img = load_image(path, long_edge=32)  # 37x smaller, but only 1 megapixel
    np.testing.assert_array_equal(img, lanczos(path, (24, 32)))


def test_reduced_decoding_needs_a_target_far_smaller_than_the_file(
    tmp_path, reduce_everything
):
    path = saved(tmp_path, Image.fromarray(noise(60, 80)), "small.png")
    img = load_image(path, long_edge=20)  # 4x: less than twice REDUCING_GAP
    np.testing.assert_array_equal(img, lanczos(path, (15, 20)))


def test_a_file_over_pillows_hard_limit_is_refused_even_when_wanted_small(
    tmp_path, monkeypatch
):
    path = saved(tmp_path, Image.new("RGB", (20, 20)), "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(ImageError, match=r"bomb\.png.*exceeds limit of 200 pixels"):
        load_image(path, long_edge=2)


def test_bytes_are_a_path_as_for_open(tmp_path):
    path = saved(tmp_path, Image.fromarray(noise(4, 5)), "b.png")
    np.testing.assert_array_equal(load_image(os.fsencode(path)), noise(4, 5))


def test_bytes_holding_image_data_say_how_to_load_it(tmp_path):
    data = saved(tmp_path, Image.fromarray(noise(4, 5)), "b.png").read_bytes()
    with pytest.raises(TypeError, match=r"NUL byte.*io\.BytesIO"):
        load_image(data)


# --- sizes from headers, special files, memory ----------------------------------------
def test_image_size_reads_the_header_and_decodes_no_pixel(tmp_path):
    path = tmp_path / "huge.png"
    path.write_bytes(_corpus.png_bomb(5000, garbage=True))
    assert image_size(path) == (5000, 5000)  # found without reading the pixels
    with pytest.raises(ImageError, match="could not be decoded"):
        load_image(path, long_edge=32)


def test_image_size_is_the_shape_load_image_gives(tmp_path):
    stored = Image.fromarray(noise(30, 50))
    exif = Image.Exif()
    exif[0x0112] = 6  # a quarter turn: 50 high, 30 wide as displayed
    turned = saved(tmp_path, stored, "t.jpg", exif=exif)
    plain = saved(tmp_path, stored, "p.png")
    for image in (turned, plain, os.fsencode(plain), Image.open(turned), noise(7, 9)):
        assert image_size(image) == load_image(image).shape[:2]


def test_a_pngs_exif_after_its_pixels_turns_its_size_unread(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 8
    tiff = exif.tobytes()[len(b"Exif\0\0") :]  # a PNG's eXIf chunk holds TIFF alone
    after = (_corpus.png_chunk(b"eXIf", tiff),)
    path = tmp_path / "late.png"
    path.write_bytes(_corpus.png_bomb(40, after=after)[:-12])  # no IEND either
    wide = tmp_path / "wide.png"
    wide.write_bytes(_corpus.png_bomb(40, after=after))
    assert image_size(wide) == load_image(wide).shape[:2] == (40, 40)
    tall = Image.fromarray(noise(20, 60))
    tall.save(tmp_path / "tall.png")
    data = (tmp_path / "tall.png").read_bytes()
    end = data.index(b"IEND") - 4
    (tmp_path / "tall.png").write_bytes(
        data[:end] + _corpus.png_chunk(b"eXIf", tiff) + data[end:]
    )
    assert image_size(tmp_path / "tall.png") == (60, 20)
    assert load_image(tmp_path / "tall.png").shape[:2] == (60, 20)


@pytest.mark.parametrize(
    ("make", "kind"),
    [(_corpus.fifo, "a FIFO"), (_corpus.dev_zero, "a character device")],
    ids=["fifo", "dev-zero"],
)
def test_what_is_not_a_regular_file_is_refused_unread(tmp_path, make, kind):
    path = make(tmp_path / "photo.png")
    with deadline(5):
        for read in (load_image, image_size):
            with pytest.raises(ImageError, match=rf"not a regular file \({kind}\)"):
                read(path)


def test_a_huge_tiff_wanted_small_is_decoded_reduced_in_little_memory(tmp_path):
    side = 5000  # 25 million pixels, one deflated strip
    path = tmp_path / "big.tif"
    path.write_bytes(_corpus.tiff_bomb(side))
    tracemalloc.start()
    try:
        with pytest.warns(ReducedDecodingWarning, match=r"big\.tif is 5000x5000"):
            img = load_image(path, long_edge=32)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(img, np.zeros((32, 32, 3), np.float32))
    assert peak < side * side * 3 * 4 / 100, peak


def test_a_memory_error_while_resizing_says_the_size_asked_and_the_estimate(
    tmp_path, monkeypatch
):
    path = saved(tmp_path, Image.fromarray(noise(30, 40)), "small.png")

    def no_memory(*args, **kwargs):
        raise MemoryError  # as numpy and Pillow raise it: no message

    monkeypatch.setattr(images, "_resize", no_memory)
    with pytest.raises(MemoryError) as error:
        load_image(path, size=(3000, 4000))
    assert str(error.value) == (
        f"not enough memory to load {path} (40x30 pixels) at 4000x3000: that "
        "needs about 288 MB; ask for a smaller size"
    )


@pytest.mark.slow
def test_an_image_too_large_for_memory_says_the_size_asked_and_the_estimate(
    tmp_path,
):
    path = saved(tmp_path, Image.fromarray(noise(30, 40)), "small.png")
    code = (
        "import sys\n"
        "from naah.io.images import load_image\n"
        "try:\n"
        f"    load_image({str(path)!r}, long_edge=40000)\n"
        "except MemoryError as error:\n"
        "    print(error)\n"
    )
    done = run_bounded(["-c", code], address_space=2 * 2**30, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f"not enough memory to load {path} (40x30 pixels) at 40000x30000: that "
        "needs about 28.8 GB; ask for a smaller size"
    )
