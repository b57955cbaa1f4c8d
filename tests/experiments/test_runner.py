"""PreparedPair: many runs on one compiled loss give what StyleTransfer.run gives."""

import numpy as np
import pytest

from naah import StyleTransfer

SIZE = 32


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"alpha": 0.2, "beta": 1e-2},
        {"optimizer": "adam", "learning_rate": 5.0, "beta": 10.0},
    ],
    ids=["defaults", "other alpha-beta", "adam"],
)
def test_a_run_matches_style_transfer_run_with_the_same_settings(
    pair, weights, images, settings
):
    ours = pair.run(6, **settings)
    reference = StyleTransfer(weights, **settings).run(*images, iterations=6, size=SIZE)
    assert ours.history.column("total") == pytest.approx(
        reference.history.column("total"), rel=1e-3
    )
    assert np.abs(ours.image.astype(int) - reference.image).mean() < 0.5


def test_noise_start_matches_style_transfer_for_the_same_seed(pair, weights, images):
    ours = pair.run(0, seed=3)
    reference = StyleTransfer(weights, seed=3).run(*images, iterations=0, size=SIZE)
    np.testing.assert_array_equal(ours.image, reference.image)


def test_stop_ends_the_run_and_evaluations_count_from_zero_each_run(pair):
    for _ in range(2):
        result = pair.run(50, optimizer="adam", stop=lambda r: r.evaluations >= 4)
        assert [r.evaluations for r in result.history] == [1, 2, 3, 4]


def test_snapshots_are_kept_at_the_requested_iterations(pair):
    result = pair.run(3, optimizer="gd", learning_rate=1e-3, snapshots=(0, 2))
    assert sorted(result.snapshots) == [0, 2]
    assert result.snapshots[0].shape == pair.shape
    assert result.snapshots[0].dtype == np.uint8


def test_content_start_is_the_content_image(pair, images):
    start = pair.initial_image("content")
    np.testing.assert_allclose(start, images[0], atol=1e-3)


def test_unknown_init_names_the_choices(pair):
    with pytest.raises(ValueError, match="'noise', 'content', 'style'"):
        pair.run(1, init="photo")
