"""Tests for naah.plotting: loss curves drawn without pyplot."""

import sys

import numpy as np
import pytest

from naah.optim import History, IterationRecord
from naah.plotting import plot_history
from naah.problem import LossWeights

pytest.importorskip("matplotlib")
from matplotlib.figure import Figure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
STYLE_LAYERS = ("conv1_1", "conv2_1")


def make_history(iterations=5, content=1.0):
    history = History()
    for i in range(iterations + 1):
        history.append(
            IterationRecord(
                iteration=i,
                total=1e4 / (i + 1),
                content=content,
                style=10.0 / (i + 1),
                tv=0.0,
                time=0.1 * i,
                evaluations=i,
                style_layers={n: 5.0 / (i + 1) for n in STYLE_LAYERS},
            )
        )
    return history


def new_axes():
    return Figure().add_subplot()


def test_plot_history_writes_a_png_file(tmp_path):
    path = tmp_path / "loss.png"
    plot_history(make_history(), path)
    assert path.read_bytes()[:8] == PNG_SIGNATURE


def test_the_format_follows_the_extension(tmp_path):
    path = tmp_path / "loss.svg"
    plot_history(make_history(), path)
    assert b"<svg" in path.read_bytes()[:1000]


def test_given_axes_get_total_content_and_style_lines_on_a_log_scale():
    ax = new_axes()
    returned = plot_history(make_history(5), ax=ax)
    assert returned is ax
    assert [line.get_label() for line in ax.lines] == [
        "total loss",
        "content loss $L_{content}$",
        "style loss $L_{style}$",
    ]
    assert ax.get_yscale() == "log"
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(6))
    np.testing.assert_allclose(ax.lines[0].get_ydata(), 1e4 / np.arange(1, 7))


def test_layers_adds_one_dashed_line_per_style_layer():
    ax = plot_history(make_history(), ax=new_axes(), layers=True)
    assert len(ax.lines) == 3 + len(STYLE_LAYERS)
    assert all(line.get_linestyle() == "--" for line in ax.lines[3:])


def test_a_loss_that_is_always_zero_is_left_out_of_the_log_plot():
    ax = plot_history(make_history(content=0.0), ax=new_axes())
    labels = [line.get_label() for line in ax.lines]
    assert len(labels) == 2 and not any("content" in label for label in labels)


def test_the_plot_has_a_title_and_the_legend_says_what_the_total_is():
    ax = plot_history(make_history(), ax=new_axes())
    assert ax.get_title() == "Loss per iteration"
    formula = ax.get_legend().get_title().get_text()
    assert formula.startswith("total $= ")
    for term in (r"\alpha", "L_{content}", r"\beta", "L_{style}", "(+ TV)"):
        assert term in formula


def loss_weights(tv_weight=0.0):
    layers = dict.fromkeys(STYLE_LAYERS, 0.5)
    return LossWeights(2.0, 1e3, layers, ("conv4_2",), tv_weight=tv_weight)


def test_the_legend_gives_alpha_and_beta_when_the_caller_passes_them(tmp_path):
    path = tmp_path / "loss.png"
    ax = plot_history(make_history(), path, loss_weights=loss_weights())
    formula = ax.get_legend().get_title().get_text()
    assert r"$\alpha$ = 2, $\beta$ = 1000" in formula
    assert "TV" not in formula  # no TV term when its weight is 0
    assert path.read_bytes()[:8] == PNG_SIGNATURE  # the mathtext renders


def test_the_title_gives_alpha_beta_and_the_layers_when_passed():
    ax = plot_history(make_history(), loss_weights=loss_weights())
    title = ax.get_title()
    assert title.startswith("Loss per iteration: α = 2, β = 1000")
    assert "content conv4_2" in title
    assert "style " + ", ".join(STYLE_LAYERS) in title


def test_the_tv_term_and_its_weight_appear_when_it_is_on():
    ax = plot_history(make_history(), ax=new_axes(), loss_weights=loss_weights(0.01))
    formula = ax.get_legend().get_title().get_text()
    assert r"w_{TV}\,\mathrm{TV}" in formula and "$w_{TV}$ = 0.01" in formula


def test_an_empty_history_gives_empty_axes():
    assert len(plot_history(History(), ax=new_axes()).lines) == 0


def test_without_matplotlib_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install 'naah\[plot\]'"):
        plot_history(make_history())
