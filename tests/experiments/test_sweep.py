"""Sweeps write one image and one JSON file per grid point."""

import json

from naah.experiments import Sweep, load_sweep, parameter_grid, sweep_figure

SIZE = 32


def test_parameter_grid_is_the_cartesian_product():
    grid = parameter_grid(alpha=[0.2, 1.0], beta=[1e-6, 1e-5, 1e-4])
    assert len(grid) == 6
    assert grid[0] == {"alpha": 0.2, "beta": 1e-6}
    assert grid[-1] == {"alpha": 1.0, "beta": 1e-4}


def test_sweep_writes_an_image_and_json_per_point(weights, images, tmp_path):
    sweeper = Sweep(*images, weights=weights)
    points = sweeper.run(
        {"alpha": [0.2], "beta": [1e-6, 1e-5]}, tmp_path, iterations=2, size=SIZE
    )
    assert len(points) == 2
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "000_alpha=0.2-beta=1e-06.png",
        "001_alpha=0.2-beta=1e-05.png",
    ]
    for point in points:
        record = json.loads(point.json_path.read_text())
        assert record["varied"] == point.settings
        assert record["settings"]["size"] == SIZE
        assert record["loss"]["total"] == point.loss
        assert record["image"] == point.image_path.name
    assert [r["varied"]["beta"] for r in load_sweep(tmp_path)] == [1e-6, 1e-5]


def test_points_that_only_reweight_share_one_compiled_loss(weights, images, tmp_path):
    sweeper = Sweep(*images, weights=weights)
    grid = [{"beta": 1.0}, {"beta": 10.0}, {"beta": 10.0, "pooling": "avg"}]
    points = sweeper.run(grid, tmp_path, iterations=1, size=SIZE)
    assert sweeper.executor.compiled == 2  # max pooling (reweighted) and avg pooling
    assert points[1].loss != points[2].loss


def test_sweep_figure_titles_each_image_with_its_settings(weights, images, tmp_path):
    points = Sweep(*images, weights=weights).run(
        {"beta": [1.0]}, tmp_path, iterations=0, size=SIZE
    )
    figure = sweep_figure(points, path=tmp_path / "grid.png")
    assert figure.axes[0].get_title() == "beta=1"
