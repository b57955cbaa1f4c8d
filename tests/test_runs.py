"""naah.runs.StyleResult: what it saves at 8 and 16 bits, and what recolouring does to
its float image."""

import cv2
import numpy as np

from naah.io.images import to_uint8
from naah.optim import History
from naah.runs import StyleResult


def result_of(float_image):
    return StyleResult(
        image=to_uint8(float_image), history=History(), float_image=float_image
    )


def read_png16(path):
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[..., ::-1]


def test_a_16_bit_save_writes_the_float_image_an_8_bit_one_the_image(tmp_path):
    precise = np.random.default_rng(0).uniform(0, 255, (6, 5, 3)).astype(np.float32)
    result = result_of(precise)
    wide = read_png16(result.save(tmp_path / "a.png", bit_depth=16, dpi=300))
    expected = np.rint(precise.astype(np.float64) * 65535 / 255).astype(np.uint16)
    np.testing.assert_array_equal(wide, expected)
    narrow = cv2.imread(str(result.save(tmp_path / "b.png")))[..., ::-1]
    np.testing.assert_array_equal(narrow, result.image)


def test_without_a_float_image_16_bits_widen_the_8_bit_image(tmp_path):
    image = np.arange(90, dtype=np.uint8).reshape(6, 5, 3)
    result = StyleResult(image=image, history=History())
    wide = read_png16(result.save(tmp_path / "a.png", bit_depth=16))
    np.testing.assert_array_equal(wide, image.astype(np.uint16) * 257)


def test_recolouring_recolours_the_float_image_too_and_clips_it():
    precise = np.full((2, 2, 3), 100.25, np.float32)
    recolored = result_of(precise).recolored(lambda image: image * 3 - 50)
    assert recolored.float_image is not None
    np.testing.assert_allclose(recolored.float_image, 250.75)
    brighter = result_of(precise).recolored(lambda image: image + 200)
    np.testing.assert_array_equal(brighter.float_image, 255)
    assert brighter.float_image.dtype == np.float32
