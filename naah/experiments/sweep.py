"""Parameter sweeps: one style transfer per point of a grid of settings (Figure 8).

Each point's image is saved with a JSON sidecar holding its settings and final
losses. Points that differ only in α, β, the optimiser, the seed or the start image
share one compiled loss (see :class:`naah.experiments.runner.PreparedPair`); other
settings (layers, pooling, size …) get their own.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from naah._version import __version__
from naah.experiments.figures import image_grid
from naah.experiments.runner import PreparedPair
from naah.io.images import ImageLike
from naah.io.weights import VGGWeights
from naah.style_transfer import DEFAULT_SIZE, StyleResult, StyleTransfer

if TYPE_CHECKING:
    # matplotlib is an optional dependency: only the type checker imports it here.
    from matplotlib.figure import Figure

#: Settings applied per run, without recompiling (keyword arguments of
#: :meth:`PreparedPair.run`, plus ``iterations``).
RUN_SETTINGS = ("alpha", "beta", "optimizer", "learning_rate", "init", "seed")
#: Settings of the image pair (keyword arguments of :class:`PreparedPair`).
PAIR_SETTINGS = ("size", "style_scale")
# Longest file name stem written for a point.
MAX_STEM = 96


@dataclass(frozen=True)
class SweepPoint:
    """One grid point: its settings, files and final losses."""

    settings: dict[str, Any]
    image_path: Path
    json_path: Path
    loss: float
    content: float
    style: float
    result: StyleResult = field(repr=False, compare=False)


def parameter_grid(**axes: Iterable[Any]) -> list[dict[str, Any]]:
    """Every combination of the given values, as a list of settings dicts.

    Examples
    --------
    >>> parameter_grid(alpha=[0.2], beta=[1e-6, 1e-5])
    [{'alpha': 0.2, 'beta': 1e-06}, {'alpha': 0.2, 'beta': 1e-05}]
    """
    names = list(axes)
    return [
        dict(zip(names, values, strict=True))
        for values in itertools.product(*(list(axes[n]) for n in names))
    ]


class Sweep:
    """Style transfers of one content/style pair over grids of settings.

    Compiled losses are kept between calls of :meth:`run`, one per combination of
    graph settings (layers, pooling, size …), so several grids over α and β compile
    once.

    Parameters
    ----------
    content, style : path, PIL image or ndarray of shape (H, W, 3)
    weights : path or VGGWeights, optional
        As for :class:`naah.StyleTransfer`.
    base : mapping, optional
        Settings shared by every point (a point's own settings win).

    Examples
    --------
    With the pretrained weights (found as :func:`naah.io.locate.find_weights` finds
    them):

    >>> sweeper = Sweep("data/tubingen.jpg", "data/starry_night.jpg")  # doctest: +SKIP
    >>> points = sweeper.run({"alpha": [0.2], "beta": [1e-6, 1e-5]}, "fig8/")  # doctest: +SKIP
    """

    def __init__(
        self,
        content: ImageLike,
        style: ImageLike,
        *,
        weights: str | os.PathLike[str] | VGGWeights | None = None,
        base: Mapping[str, Any] | None = None,
    ) -> None:
        self.content, self.style = content, style
        self.weights = weights
        self.base = dict(base or {})
        self._pairs: dict[str, PreparedPair] = {}

    def run(
        self,
        grid: Iterable[Mapping[str, Any]] | Mapping[str, Iterable[Any]],
        output_dir: str | os.PathLike[str],
        *,
        iterations: int = 500,
        size: int | None = DEFAULT_SIZE,
    ) -> list[SweepPoint]:
        """Run every point of ``grid``; save ``NNN_<settings>.png`` and ``.json``.

        Parameters
        ----------
        grid : mapping of setting to values, or iterable of settings dicts
            Settings are :class:`naah.StyleTransfer` keyword arguments (``alpha``,
            ``beta``, ``style_layers``, ``pooling`` …), ``init``, ``seed``,
            ``size``, ``style_scale`` or ``iterations``. A mapping is expanded with
            :func:`parameter_grid`.
        output_dir : path
            Created if needed.
        iterations, size
            Defaults for points that do not set them.

        Returns
        -------
        list of SweepPoint, in grid order.
        """
        points = parameter_grid(**grid) if isinstance(grid, Mapping) else list(grid)
        output_dir = Path(output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        defaults = {"iterations": iterations, "size": size, **self.base}
        results: list[SweepPoint] = []
        for index, point in enumerate(points):
            settings = {**defaults, **point}
            run_kwargs = {k: settings[k] for k in RUN_SETTINGS if k in settings}
            result = self._pair_for(settings).run(settings["iterations"], **run_kwargs)
            results.append(_save_point(output_dir, index, point, settings, result))
        return results

    def _pair_for(self, settings: Mapping[str, Any]) -> PreparedPair:
        """The compiled pair for these settings' graph, made on first use."""
        graph = {
            k: v for k, v in settings.items() if k not in (*RUN_SETTINGS, "iterations")
        }
        key = json.dumps(_jsonable(graph), sort_keys=True)
        if key not in self._pairs:
            kwargs = {k: v for k, v in graph.items() if k not in PAIR_SETTINGS}
            transfer = StyleTransfer(self.weights, **kwargs)
            pair_kwargs = {k: v for k, v in graph.items() if k in PAIR_SETTINGS}
            self._pairs[key] = PreparedPair(
                transfer, self.content, self.style, **pair_kwargs
            )
        return self._pairs[key]


def sweep(
    content: ImageLike,
    style: ImageLike,
    grid: Iterable[Mapping[str, Any]] | Mapping[str, Iterable[Any]],
    output_dir: str | os.PathLike[str],
    *,
    weights: str | os.PathLike[str] | VGGWeights | None = None,
    base: Mapping[str, Any] | None = None,
    iterations: int = 500,
    size: int | None = DEFAULT_SIZE,
) -> list[SweepPoint]:
    """One :meth:`Sweep.run` of a new :class:`Sweep` (see there for the arguments).

    Examples
    --------
    >>> grid = {"alpha": [0.2], "beta": [1e-6, 1e-5]}
    >>> points = sweep("data/tubingen.jpg", "data/starry_night.jpg", grid, "sweep/")  # doctest: +SKIP
    """
    return Sweep(content, style, weights=weights, base=base).run(
        grid, output_dir, iterations=iterations, size=size
    )


def _save_point(
    output_dir: Path,
    index: int,
    point: Mapping[str, Any],
    settings: Mapping[str, Any],
    result: StyleResult,
) -> SweepPoint:
    stem = f"{index:03d}_{_slug(point)}"
    image_path = result.save(output_dir / f"{stem}.png")
    last = result.history[-1]
    record = {
        "settings": _jsonable(settings),
        "varied": _jsonable(point),
        "iterations_run": last.iteration,
        "evaluations": last.evaluations,
        "seconds": last.time,
        "loss": {"total": last.total, "content": last.content, "style": last.style},
        "image": image_path.name,
        "naah_version": __version__,
    }
    json_path = output_dir / f"{stem}.json"
    json_path.write_text(json.dumps(record, indent=1))
    return SweepPoint(
        dict(point), image_path, json_path, last.total, last.content, last.style, result
    )


def _slug(point: Mapping[str, Any]) -> str:
    text = "_".join(f"{k}={_short(v)}" for k, v in point.items()) or "default"
    return re.sub(r"[^A-Za-z0-9.=+-]+", "-", text)[:MAX_STEM]


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Mapping | list | tuple):
        return "+".join(str(v) for v in value)
    return str(value)


def _jsonable(value: object) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return f"<array {'x'.join(map(str, value.shape))}>"
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def load_sweep(output_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The JSON sidecars of a sweep's output folder, in grid order."""
    return [json.loads(p.read_text()) for p in sorted(Path(output_dir).glob("*.json"))]


def sweep_figure(
    points: Sequence[SweepPoint],
    *,
    columns: int | None = None,
    note: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """The points' images in a grid, titled with the settings that vary."""
    titles = [
        ", ".join(f"{k}={_short(v)}" for k, v in p.settings.items()) for p in points
    ]
    images = [p.result.image for p in points]
    return image_grid(images, titles, columns=columns, note=note, path=path)
