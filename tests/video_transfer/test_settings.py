"""naah.video_transfer.settings: the video's own settings, checked in one place."""

import pytest

from naah.checks import SettingError
from naah.video_transfer import VideoSettings


def test_the_defaults_are_ruders_single_pass_with_the_short_term_loss():
    settings = VideoSettings()
    assert settings.passes == 1 and settings.long_term == (1,)
    assert settings.init == "prev-warped" and settings.flow == "dis"
    assert settings.temporal_passes == (1,)
    assert settings.iterations_of(500, 1, 0) == 1000  # first frame: twice
    assert settings.iterations_of(500, 1, 1) == 500


def test_multi_pass_has_the_temporal_loss_from_the_middle_pass_as_ruders_code():
    assert VideoSettings(passes=15).temporal_passes == tuple(range(8, 16))
    assert VideoSettings(passes=4, temporal_from_pass=1).temporal_passes == (1, 2, 3, 4)
    assert VideoSettings(passes=3, temporal_weight=0).temporal_passes == ()
    # every frame of every pass gets the same iterations
    assert VideoSettings(passes=3).iterations_of(100, 1, 0) == 100
    assert VideoSettings(first_iterations=7).iterations_of(100, 1, 0) == 7


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"long_term": (2, 4)}, "starting with 1"),
        ({"long_term": (1, 4, 2)}, "increasing"),
        ({"long_term": (1, 0)}, "positive int"),
        ({"passes": 0}, "passes must be a positive int"),
        ({"temporal_weight": -1.0}, "temporal_weight must be a finite non-negative"),
        ({"flow": "lucas"}, "flow must be one of dis, farneback, deepflow"),
        ({"init": "style"}, "init must be one of prev-warped, noise, content"),
    ],
)
def test_a_bad_setting_is_refused_naming_it(bad, message):
    with pytest.raises(SettingError, match=message):
        VideoSettings(**bad)
