"""Parameter sweeps: one style transfer per point of a grid of settings (Figure 8).

Each point's image is saved with a JSON sidecar holding its settings and final
losses. The points run through :mod:`naah.batch`'s engine, as ``naah batch`` jobs
do: in this process by a :class:`naah.batch.Executor`, whose compiled losses are
shared by every point that differs only in α, β, the TV weight, the optimiser, the
seed, the start image or the size (other settings, such as layers or pooling, get
their own); or, given a Dask ``client`` (a notebook's), on the cluster's workers.
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
from naah.batch import Executor, LocalEngine
from naah.batch.settings import RUN_KEYS
from naah.experiments.figures import image_grid
from naah.io.images import ImageLike
from naah.io.weights import VGGWeights
from naah.style_transfer import DEFAULT_SIZE, StyleResult

if TYPE_CHECKING:
    # distributed and matplotlib are optional: only the type checker imports them.
    from distributed import Client
    from matplotlib.figure import Figure

    from naah.batch.cluster import DaskEngine

#: Settings applied per run, without recompiling (besides ``iterations``; the
#: compiled loss is :class:`naah.batch.Executor`'s, which also takes ``tv_weight``,
#: ``beta1``, ``beta2`` and ``bounds`` without recompiling).
RUN_SETTINGS = ("alpha", "beta", "optimizer", "learning_rate", "init", "seed")
#: Settings of the image pair, which retarget the compiled loss.
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

    Compiled losses are kept between calls of :meth:`run` (in :attr:`executor`),
    one per combination of graph settings (layers, pooling …), so several grids
    over α and β compile once.

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
        #: Runs the points here, with the weights loaded and each loss compiled once.
        self.engine = LocalEngine(weights)

    @property
    def executor(self) -> Executor:
        """The local engine's :class:`naah.batch.Executor` (its compiled losses)."""
        return self.engine.executor

    def _engine(self, client: Client | None) -> LocalEngine | DaskEngine:
        if client is None:
            return self.engine
        from naah.batch.cluster import DaskEngine

        return DaskEngine(client, weights=self.weights)

    def run(
        self,
        grid: Iterable[Mapping[str, Any]] | Mapping[str, Iterable[Any]],
        output_dir: str | os.PathLike[str],
        *,
        iterations: int = 500,
        size: int | None = DEFAULT_SIZE,
        client: Client | None = None,
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
        client : distributed.Client, optional
            Run the points on this Dask cluster's workers (``naah[dask]``; see
            :class:`naah.batch.cluster.DaskEngine`): the weights must then be a
            file the workers can read (or None, found on each worker), and image
            paths paths they see. Images and sidecars are written here.

        Returns
        -------
        list of SweepPoint, in grid order.
        """
        points = parameter_grid(**grid) if isinstance(grid, Mapping) else list(grid)
        output_dir = Path(output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        defaults = {"iterations": iterations, "size": size, **self.base}
        everything = [{**defaults, **point} for point in points]
        runs = [_split(settings) for settings in everything]
        results = self._engine(client).map_runs(
            [(self.content, self.style, transfer, run) for transfer, run in runs]
        )
        return [
            _save_point(output_dir, index, point, settings, result)
            for index, (point, settings, result) in enumerate(
                zip(points, everything, results, strict=True)
            )
        ]


def _split(settings: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A point's StyleTransfer keywords and StyleTransfer.run keywords."""
    transfer = {k: v for k, v in settings.items() if k not in RUN_KEYS}
    return transfer, {k: v for k, v in settings.items() if k in RUN_KEYS}


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
    client: Client | None = None,
) -> list[SweepPoint]:
    """One :meth:`Sweep.run` of a new :class:`Sweep` (see there for the arguments).

    Examples
    --------
    >>> grid = {"alpha": [0.2], "beta": [1e-6, 1e-5]}
    >>> points = sweep("data/tubingen.jpg", "data/starry_night.jpg", grid, "sweep/")  # doctest: +SKIP
    """
    return Sweep(content, style, weights=weights, base=base).run(
        grid, output_dir, iterations=iterations, size=size, client=client
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
