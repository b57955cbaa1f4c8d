"""Tests for naah.io.icc: inputs converted to sRGB by their embedded profile, checked
against the colour science done in numpy (tests/io/_icc.py), and outputs' profile."""

import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from naah.io import images
from naah.io.icc import in_srgb, srgb_profile
from naah.io.images import load_image
from tests.io import _icc


def noise(h, w, seed=0, channels=3):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, channels), dtype=np.uint8)


def every_colour_level():
    """All 256 levels of each channel, with greys and random colours: 64x64."""
    ramp = np.arange(256, dtype=np.uint8)
    rows = [
        np.stack([ramp, 0 * ramp, 0 * ramp], -1),
        np.stack([0 * ramp, ramp, 0 * ramp], -1),
        np.stack([0 * ramp, 0 * ramp, ramp], -1),
        np.stack([ramp, ramp, ramp], -1),
    ]
    return np.concatenate([*rows, noise(12, 256).reshape(-1, 3)]).reshape(64, 64, 3)


def with_profile(tmp_path, pixels, profile, name="a.png", **options):
    path = tmp_path / name
    mode = "RGBA" if pixels.shape[2] == 4 else "RGB"
    Image.fromarray(pixels, mode).save(path, icc_profile=profile, **options)
    return path


def test_an_adobe_rgb_file_is_converted_to_srgb_as_the_colour_science_says(
    tmp_path,
):
    pixels = every_colour_level()
    path = with_profile(tmp_path, pixels, _icc.adobe_rgb_profile())
    loaded = load_image(path)
    expected = _icc.adobe_to_srgb(pixels)
    error = np.abs(loaded - expected)
    # LittleCMS rounds to 8 bits once: within a level, half a level on average.
    assert error.max() <= 1.0 and error.mean() < 0.5, (error.max(), error.mean())
    # Adobe RGB's greens lie outside sRGB: the conversion is far from the identity.
    assert np.abs(loaded - pixels).max() > 100


def test_a_linear_profile_is_converted_through_the_srgb_curve(tmp_path):
    pixels = every_colour_level()
    path = with_profile(tmp_path, pixels, _icc.linear_srgb_profile())
    expected = 255 * _icc.srgb_encode(pixels / 255.0)  # same primaries, new curve
    error = np.abs(load_image(path) - expected)
    assert error.max() <= 1.0 and error.mean() < 0.5, (error.max(), error.mean())


@pytest.mark.parametrize(
    "profile", [srgb_profile, _icc.srgb_profile_by_hand], ids=["pillow", "by-hand"]
)
def test_a_file_already_in_srgb_keeps_its_values_bit_for_bit(tmp_path, profile):
    pixels = noise(64, 64)
    path = with_profile(tmp_path, pixels, profile())
    np.testing.assert_array_equal(load_image(path), pixels)


def test_a_file_without_a_profile_keeps_its_values(tmp_path):
    pixels = noise(16, 16)
    path = tmp_path / "plain.png"
    Image.fromarray(pixels).save(path)
    np.testing.assert_array_equal(load_image(path), pixels)


def test_a_pillow_image_with_a_profile_is_converted_too(tmp_path):
    pixels = every_colour_level()
    path = with_profile(tmp_path, pixels, _icc.adobe_rgb_profile())
    with Image.open(path) as img:
        np.testing.assert_array_equal(load_image(img), load_image(path))


def test_the_exif_orientation_and_the_profile_are_both_applied(tmp_path):
    pixels = every_colour_level()[:, :40]
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    path = with_profile(tmp_path, pixels, _icc.adobe_rgb_profile(), exif=exif)
    loaded = load_image(path)
    expected = _icc.adobe_to_srgb(np.rot90(pixels, k=-1))  # clockwise
    assert loaded.shape == (40, 64, 3)
    assert np.abs(loaded - expected).max() <= 1.0


def test_reduced_decoding_applies_the_profile(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "REDUCE_ABOVE_PIXELS", 0)
    pixels = np.zeros((600, 600, 3), np.uint8)
    pixels[:] = (40, 200, 60)  # a green Adobe RGB has and sRGB lacks
    path = with_profile(tmp_path, pixels, _icc.adobe_rgb_profile())
    with pytest.warns(UserWarning, match="decoded at reduced size"):
        loaded = load_image(path, long_edge=20)
    expected = _icc.adobe_to_srgb(pixels[:1, :1])[0, 0]
    np.testing.assert_allclose(loaded, np.broadcast_to(expected, loaded.shape), atol=1)


def test_a_transparent_image_keeps_its_alpha_through_the_conversion(tmp_path):
    pixels = np.zeros((4, 8, 4), np.uint8)
    pixels[...] = (40, 200, 60, 255)
    pixels[:, 4:, 3] = 0  # right half transparent: white after compositing
    path = with_profile(tmp_path, pixels, _icc.adobe_rgb_profile())
    loaded = load_image(path)
    expected = _icc.adobe_to_srgb(pixels[:1, :1, :3])[0, 0]
    np.testing.assert_allclose(
        loaded[:, :4], np.broadcast_to(expected, (4, 4, 3)), atol=1
    )
    np.testing.assert_array_equal(loaded[:, 4:], 255)


def test_an_unreadable_profile_is_a_warning_and_the_colours_are_kept(tmp_path):
    pixels = noise(8, 8)
    path = with_profile(tmp_path, pixels, b"not an ICC profile at all")
    with pytest.warns(
        UserWarning, match=r"a.png: its embedded ICC profile cannot be read"
    ):
        loaded = load_image(path)
    np.testing.assert_array_equal(loaded, pixels)


def test_a_profile_of_another_colour_space_is_a_warning(tmp_path):
    cmyk = Image.fromarray(noise(8, 8, channels=4), "CMYK")
    cmyk.info["icc_profile"] = _icc.adobe_rgb_profile()
    with pytest.warns(UserWarning, match="describes RGB colours, not CMYK"):
        assert in_srgb(cmyk, "c.jpg") is cmyk


def test_grey_images_keep_their_values_whatever_their_profile(tmp_path):
    grey = Image.fromarray(noise(8, 8)[..., 0])
    grey.info["icc_profile"] = _icc.adobe_rgb_profile()
    assert in_srgb(grey, "g.png") is grey


def test_the_converted_image_no_longer_claims_its_old_profile(tmp_path):
    img = Image.fromarray(noise(4, 4))
    img.info["icc_profile"] = _icc.adobe_rgb_profile()
    converted = in_srgb(img, "a.png")
    assert converted is not img and "icc_profile" not in converted.info
    assert in_srgb(converted, "a.png") is converted


def test_the_output_profile_is_srgb():
    profile = ImageCms.ImageCmsProfile(io.BytesIO(srgb_profile()))
    assert profile.profile.xcolor_space == "RGB "
    assert "sRGB" in ImageCms.getProfileDescription(profile)
