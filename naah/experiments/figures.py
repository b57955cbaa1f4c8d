"""Figures of the experiments: image grids and curves (matplotlib, no pyplot).

Figures are made with :class:`matplotlib.figure.Figure`, so no window opens and any
backend works; in a notebook, the returned figure displays when it ends a cell.
Loss histories are drawn by :func:`naah.plotting.plot_history`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    # matplotlib is an optional dependency: only the type checker imports it here.
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from naah.experiments.training import EpochRecord
    from naah.style_transfer import StyleResult

# Inches per image in a grid, and the resolution figures are saved at.
PANEL_INCHES = 2.6
DPI = 150


def new_figure(width: float, height: float) -> Figure:
    """A matplotlib Figure not managed by pyplot."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "figures need matplotlib: pip install 'naah[experiments]'"
        ) from error
    return Figure(figsize=(width, height), layout="constrained")


def image_grid(
    images: Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    *,
    columns: int | None = None,
    note: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Show images side by side (in rows of ``columns``) with titles.

    Parameters
    ----------
    images : sequence of ndarray of shape (H, W, 3)
        uint8, or floats in 0–255.
    titles : sequence of str, optional
    columns : int, optional
        Default: all in one row.
    note : str, optional
        A figure title, e.g. the notebook's mode (:attr:`NotebookConfig.label`).
    path : str or PathLike, optional
        Also save the figure there.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> fig = image_grid([np.zeros((8, 8, 3))] * 2, ["a", "b"])
    """
    images = list(images)
    columns = columns or len(images)
    rows = math.ceil(len(images) / columns)
    figure = new_figure(PANEL_INCHES * columns, PANEL_INCHES * rows + 0.4 * bool(note))
    axes = figure.subplots(rows, columns, squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if index < len(images):
            ax.imshow(np.clip(np.asarray(images[index]), 0, 255).astype(np.uint8))
            if titles is not None:
                ax.set_title(titles[index], fontsize=9)
    if note:
        figure.suptitle(note, fontsize=9)
    return save_figure(figure, path)


def progression_figure(
    result: StyleResult,
    iterations: Iterable[int] | None = None,
    *,
    note: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """A run's snapshots side by side (the report's Figure 5), titled by iteration.

    ``result`` is a :class:`naah.StyleResult` run with ``snapshots=``; ``iterations``
    defaults to all of them.
    """
    kept = sorted(result.snapshots) if iterations is None else list(iterations)
    missing = [i for i in kept if i not in result.snapshots]
    if missing:
        raise ValueError(
            f"no snapshot at iterations {missing}: run with snapshots={tuple(kept)} "
            f"and at least {max(kept)} iterations (L-BFGS may also stop early)"
        )
    images = [result.snapshots[i] for i in kept]
    titles = [f"iteration {i}" for i in kept]
    return image_grid(images, titles, note=note, path=path)


def plot_accuracy(
    history: Sequence[EpochRecord],
    path: str | os.PathLike[str] | None = None,
    ax: Axes | None = None,
    *,
    note: str | None = None,
) -> Axes:
    """Test accuracy per epoch (the report's Figure 3) from :func:`train_vgg19`'s
    history, with the chance level for reference."""
    if ax is None:
        ax = new_figure(6.4, 4.0).add_subplot()
    from matplotlib.ticker import MaxNLocator

    epochs = [r.epoch for r in history]
    ax.plot(epochs, [r.test_accuracy for r in history], "o-", label="test")
    ax.plot(
        epochs,
        [r.train_accuracy for r in history],
        ".--",
        label="training (during the epoch, with dropout)",
    )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.legend()
    if note:
        ax.set_title(note, fontsize=9)
    # .figure twice: the root figure, as axes in a SubFigure have no savefig.
    save_figure(ax.figure.figure, path)
    return ax


def save_figure(figure: Figure, path: str | os.PathLike[str] | None) -> Figure:
    """Save ``figure`` to ``path`` if given (format from the extension); return it."""
    if path is not None:
        figure.savefig(Path(path), dpi=DPI)
    return figure


def format_table(rows: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    """Rows of dicts as an aligned plain-text table (floats to 4 significant digits).

    Examples
    --------
    >>> print(format_table([{"method": "adam", "loss": 1234.5678}]))
    method  loss
    ------  ----
    adam    1235
    """
    rows = list(rows)
    columns = list(columns or (rows[0] if rows else []))
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)),
        "  ".join("-" * w for w in widths),
    ]
    lines += [
        "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells
    ]
    return "\n".join(line.rstrip() for line in lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)
