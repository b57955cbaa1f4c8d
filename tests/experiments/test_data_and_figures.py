"""The bundled images, the Picasso variable, tables and image grids."""

import numpy as np
import pytest

from naah.experiments import (
    format_table,
    image_grid,
    image_path,
    picasso_message,
    picasso_path,
    plot_accuracy,
    progression_figure,
)
from naah.experiments.data import IMAGES, PICASSO_ENV, data_dir
from naah.experiments.training import EpochRecord
from naah.io.images import load_image
from naah.style_transfer import StyleResult


@pytest.mark.parametrize("name", list(IMAGES))
def test_bundled_images_are_at_most_512_px(name):
    image = load_image(image_path(name))
    assert max(image.shape[:2]) <= 512


def test_sources_credit_the_tubingen_photographer():
    sources = (data_dir() / "SOURCES.md").read_text()
    assert "Andreas Praefcke" in sources and "CC BY 3.0" in sources
    assert all(filename in sources for filename in IMAGES.values())


def test_unknown_image_names_list_the_choices():
    with pytest.raises(ValueError, match="tubingen"):
        image_path("mona_lisa")


def test_picasso_is_none_without_the_variable(monkeypatch):
    monkeypatch.delenv(PICASSO_ENV, raising=False)
    assert picasso_path() is None
    assert PICASSO_ENV in picasso_message()


def test_picasso_variable_must_name_a_file(monkeypatch, tmp_path):
    monkeypatch.setenv(PICASSO_ENV, str(tmp_path / "missing.jpg"))
    with pytest.raises(FileNotFoundError, match=PICASSO_ENV):
        picasso_path()
    (tmp_path / "p.jpg").write_bytes(b"")
    monkeypatch.setenv(PICASSO_ENV, str(tmp_path / "p.jpg"))
    assert picasso_path() == tmp_path / "p.jpg"


def test_format_table_aligns_columns():
    text = format_table([{"a": 1, "b": 0.123456}, {"a": 100, "b": None}])
    assert text.splitlines() == ["a    b", "---  ------", "1    0.1235", "100"]


def test_image_grid_saves_a_figure_with_titles(tmp_path):
    images = [np.zeros((4, 6, 3), np.uint8), np.full((4, 6, 3), 255.0)]
    figure = image_grid(images, ["x", "y"], columns=1, path=tmp_path / "g.png")
    assert [ax.get_title() for ax in figure.axes] == ["x", "y"]
    assert (tmp_path / "g.png").stat().st_size > 0


def test_progression_figure_names_missing_snapshots():
    result = StyleResult(np.zeros((4, 4, 3), np.uint8), [], {0: np.zeros((4, 4, 3))})
    assert len(progression_figure(result).axes) == 1
    with pytest.raises(ValueError, match="snapshots="):
        progression_figure(result, (0, 5))


def test_accuracy_plot_has_test_and_training_curves():
    history = [EpochRecord(e, 1.0, 0.5, 0.1 * e, e) for e in range(3)]
    ax = plot_accuracy(history)
    assert ax.lines[0].get_label() == "test"
    assert list(ax.lines[0].get_ydata()) == [0.0, 0.1, 0.2]
