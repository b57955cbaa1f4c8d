"""naah.plan: the checks before a run, on the images' shapes alone."""

import numpy as np
import pytest

from naah import plan
from naah.checks import SettingError
from naah.estimate import minimum_side
from naah.io.images import resize_to_long_edge
from naah.request import RunRequest, style_edge
from naah.settings import Settings, flag
from tests.io import _corpus


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


# -- the checks before a run ---------------------------------------------------------------
def settings(**values):
    return Settings.of(values)


def test_a_content_image_too_small_names_the_size_that_would_do():
    with pytest.raises(SettingError) as error:
        plan.check_sizes(settings(size=8), (30, 40), [(30, 40)])
    assert "the content image is 8x6 pixels" in str(error.value)
    assert error.value.spelled(flag).endswith("give --size 21 or more")
    assert str(error.value).endswith("give size 21 or more")


def test_a_style_image_too_small_at_its_scale_names_the_least_scale():
    with pytest.raises(SettingError) as error:
        plan.check_sizes(settings(size=32, style_scale=0.01), (32, 32), [(30, 30)],
                         names=["style image 'a.png'"])  # fmt: skip
    assert error.value.spelled(flag).endswith("give --style-scale 0.5 or more")
    assert "style image 'a.png' is 1x1 pixels" in str(error.value)


def test_coarse_to_fine_checks_its_smallest_scale():
    plan.check_sizes(settings(scales=(24, 64), iterations=1), (30, 40), [(30, 40)])
    with pytest.raises(SettingError, match="give size 21 or more"):
        plan.check_sizes(settings(scales=(8, 64), iterations=1), (30, 40), [(30, 40)])


def test_a_run_that_would_not_fit_names_the_largest_size_that_does():
    small = 600 << 20  # the baseline alone is about 270 MiB
    with pytest.raises(plan.NotEnoughMemory) as error:
        plan.check_memory(settings(size=2048), (512, 512), (512, 512), available=small)
    message = error.value.spelled(flag)
    assert "2048x2048 run needs about" in message and "600 MiB is available" in message
    fits = int(message.split("that fits is ")[1].split(" ")[0])
    assert 0 < fits < 2048
    assert plan.check_memory(settings(size=fits), (512, 512), (512, 512),
                             available=small) is not None  # fmt: skip
    assert plan.check_memory(settings(size=2048), (512, 512), (512, 512),
                             available=small, force=True) is not None  # fmt: skip


def test_size_auto_is_the_largest_that_fits_at_most_the_contents_own():
    budget = 1 << 30
    edge = plan.auto_size(settings(size="auto"), (300, 400), (300, 300), budget)
    assert 0 < edge <= 400
    assert plan.auto_size(settings(size="auto"), (30, 40), (30, 30), budget) == 40
    with pytest.raises(SettingError, match="give the scales themselves"):
        plan.auto_size(settings(size="auto", scales=(64, 128), iterations=1),
                       (30, 40), (30, 30), budget)  # fmt: skip


def test_sized_resolves_auto_and_leaves_any_other_size():
    content = np.zeros((30, 40, 3), np.float32)
    request = RunRequest.of(content, content, None, settings(size="auto"))
    assert plan.sized(request, available=1 << 30).settings.images.size == 40
    fixed = RunRequest.of(content, content, None, settings(size=24))
    assert plan.sized(fixed) is fixed


def test_sized_reads_the_images_sizes_from_their_headers(tmp_path):
    content = tmp_path / "huge.png"
    content.write_bytes(_corpus.png_bomb(5000, garbage=True))  # no pixel decodable
    request = RunRequest.of(str(content), str(content), None, settings(size="auto"))
    sized = plan.sized(request, available=1 << 30).settings.images.size
    assert 0 < sized <= 5000
