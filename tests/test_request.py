"""naah.request: one run, asked for and checked before any work."""

import numpy as np
import pytest

from naah.checks import SettingError
from naah.regions import MAX_REGIONS, Region
from naah.request import RunRequest, StyleInputs, split_init, style_edge
from naah.settings import ARRAY_INIT, Settings, flag

STYLE = np.full((8, 8, 3), 100.0)


def images(**values):
    return Settings.of(values).images


def test_several_styles_get_an_equal_blend_unless_one_is_given():
    both = StyleInputs.of([STYLE, STYLE], None, images())
    assert both.blend == (0.5, 0.5) and both.scales == (1.0, 1.0)
    weighted = StyleInputs.of([STYLE, STYLE], None, images(style_blend=(3, 1)))
    assert weighted.blend == (0.75, 0.25)
    assert StyleInputs.of(STYLE, None, images()).blend is None


@pytest.mark.parametrize(
    ("style", "regions", "values", "python", "command_line"),
    [
        ([STYLE], None, {"style_scale": (1.0, 0.5)},
         "style_scale has 2 values for 1 style images",
         "--style-scale has 2 values for 1 style images"),
        ([STYLE], None, {"style_blend": (1.0, 1.0)},
         "style_blend has 2 weights for 1 style images",
         "--style-blend has 2 weights for 1 style images"),
        (None, [Region(np.ones((4, 4)), STYLE)], {"style_blend": (1.0,)},
         "style_blend is for several style images, not regions",
         "--style-blend is for several style images, not regions"),
    ],
)  # fmt: skip
def test_a_mistake_of_the_styles_names_its_setting_as_each_front_end_spells_it(
    style, regions, values, python, command_line
):
    with pytest.raises(SettingError) as error:
        StyleInputs.of(style, regions, images(**values))
    assert str(error.value).startswith(python)
    assert error.value.spelled(flag).startswith(command_line)


@pytest.mark.parametrize(
    ("style", "regions", "message"),
    [
        (None, None, "give a style image, several, or regions"),
        (STYLE, [Region(np.ones((4, 4)), STYLE)], "not both"),
        (None, ["mask.png"], "Region objects"),
    ],
)
def test_styles_or_regions_one_of_them(style, regions, message):
    with pytest.raises(ValueError, match=message):
        StyleInputs.of(style, regions, images())


def test_an_array_start_image_is_recorded_as_image():
    start = np.zeros((4, 4, 3))
    assert split_init(start)[0] == ARRAY_INIT and split_init(start)[1] is start
    assert split_init("content") == ("content", None)
    request = RunRequest.of(
        "c.png", STYLE, None, Settings.of({"init": ARRAY_INIT}), start=start,
        snapshots=iter([0, 5]), checkpoint="run.ckpt",
    )  # fmt: skip
    assert request.init is start and request.snapshots == (0, 5)
    assert str(request.checkpoint) == "run.ckpt" and request.checkpoint_info == {}


def test_a_style_is_resized_to_the_size_times_its_scale_at_least_one_pixel():
    assert style_edge(512, 0.5) == 256
    assert style_edge(512, 1e-6) == 1
    loaded = StyleInputs.of(STYLE, None, images(style_scale=0.5)).loaded(32)
    assert loaded.styles[0].shape == (16, 16, 3)


def test_more_regions_than_a_run_may_have_are_refused_before_any_work():
    guide = np.ones((8, 8))
    regions = [Region(guide, STYLE)] * (MAX_REGIONS + 1)
    with pytest.raises(ValueError) as error:
        StyleInputs.of(None, regions, images())
    assert str(error.value).startswith(
        f"{MAX_REGIONS + 1} regions are more than the {MAX_REGIONS} a run may have"
    )
    assert "give regions that share a style one mask" in str(error.value)
    assert len(StyleInputs.of(None, regions[:-1], images()).regions) == MAX_REGIONS
