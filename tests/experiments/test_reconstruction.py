"""Content and style reconstructions from single layers, at tiny size."""

import numpy as np
import pytest

from naah.experiments import (
    reconstruct_content,
    reconstruct_style,
    reconstruction_figure,
)

SIZE = 32


def test_content_reconstruction_lowers_the_content_loss_from_noise(weights, images):
    (rec,) = reconstruct_content(weights, images[0], ["conv2_1"], size=SIZE,
                                 iterations=10)  # fmt: skip
    history = rec.result.history
    assert rec.label == "content: conv2_1"
    assert history[-1].content < 0.5 * history[0].content
    assert all(r.style == 0 and r.total == r.content for r in history)
    assert rec.result.image.shape == (SIZE, SIZE, 3)


@pytest.mark.slow
def test_style_reconstructions_use_growing_layer_sets(weights, images):
    recs = reconstruct_style(
        weights, images[1], ["conv1_1", "conv2_1"], size=SIZE, iterations=3
    )
    assert [r.layers for r in recs] == [("conv1_1",), ("conv1_1", "conv2_1")]
    assert recs[1].label == "style: conv1_1 … conv2_1"
    for rec in recs:
        history = rec.result.history
        assert history[-1].style < history[0].style
        assert all(r.total == r.style for r in history)  # α = 0, β = 1


def test_single_layer_style_reconstructions(weights, images):
    recs = reconstruct_style(weights, images[1], ["conv1_1", "conv2_1"],
                             cumulative=False, size=SIZE, iterations=0)  # fmt: skip
    assert [r.layers for r in recs] == [("conv1_1",), ("conv2_1",)]


def test_figure_shows_the_original_first(weights, images, tmp_path):
    recs = reconstruct_content(weights, images[0], ["conv1_1"], size=SIZE,
                               iterations=0)  # fmt: skip
    figure = reconstruction_figure(recs, original=images[0], path=tmp_path / "r.png")
    assert [ax.get_title() for ax in figure.axes] == ["original", "content: conv1_1"]
    assert np.asarray(figure.axes[0].images[0].get_array()).shape == (SIZE, SIZE, 3)
