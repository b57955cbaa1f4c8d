"""Loss curves of a style transfer run (the report's Figure 11); needs matplotlib."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    # matplotlib is an optional dependency: only the type checker imports it here.
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from naah.optim.history import IterationRecord

__all__ = ["plot_history"]

# Lines drawn by default: History column and legend label. Content and style are
# the unweighted L_content and L_style; total is alpha * L_content + beta * L_style
# (+ tv_weight * TV).
CURVES = (
    ("total", "total loss"),
    ("content", "content loss $L_{content}$"),
    ("style", "style loss $L_{style}$"),
)
FIGURE_SIZE = (6.4, 4.0)  # inches
DPI = 150


def plot_history(
    history: Iterable[IterationRecord],
    path: str | os.PathLike[str] | None = None,
    ax: Axes | None = None,
    *,
    layers: bool = False,
) -> Axes:
    """Plot total, content and style loss per iteration on a log scale.

    Parameters
    ----------
    history : History
        ``StyleResult.history`` (or any sequence of :class:`IterationRecord`).
    path : str or PathLike, optional
        Save the figure here; the format follows the extension (.png, .pdf, .svg…).
    ax : matplotlib Axes, optional
        Draw into these axes; default: a new figure (made without pyplot, so no
        window opens and any matplotlib backend works).
    layers : bool
        Also draw each style layer's :math:`E_l` (dashed).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn into.

    Raises
    ------
    ImportError
        If matplotlib is not installed (``pip install 'naah[plot]'``).

    Examples
    --------
    Any sequence of records plots; a real run's comes from ``StyleResult.history``:

    >>> from naah.optim import IterationRecord
    >>> history = [
    ...     IterationRecord(i, 10 / (i + 1), 1.0, 9 / (i + 1), 0.0, i / 10, i)
    ...     for i in range(5)
    ... ]
    >>> ax = plot_history(history)
    >>> [line.get_label() for line in ax.lines]
    ['total loss', 'content loss $L_{content}$', 'style loss $L_{style}$']

    The loss curves of a real run (needs the VGG-19 weights and two images):

    >>> import naah
    >>> result = naah.StyleTransfer().run("content.jpg", "style.jpg")  # doctest: +SKIP
    >>> ax = plot_history(result.history, "loss.png", layers=True)  # doctest: +SKIP
    """
    figure_class, integer_ticks = _matplotlib()
    if ax is None:
        ax = figure_class(figsize=FIGURE_SIZE, layout="constrained").add_subplot()
    records = list(history)
    iterations = [r.iteration for r in records]
    curves = [(label, [getattr(r, name) for r in records]) for name, label in CURVES]
    if layers and records:
        curves += [
            (f"$E_{{{name}}}$", [r.style_layers[name] for r in records])
            for name in records[0].style_layers
        ]
    for index, (label, values) in enumerate(curves):
        positive = np.asarray(values, dtype=float)
        positive[~(positive > 0)] = np.nan  # log scale: leave out zeros
        if np.isnan(positive).all():
            continue
        style = "-" if index < len(CURVES) else "--"
        ax.plot(iterations, positive, style, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.xaxis.set_major_locator(integer_ticks(integer=True))
    ax.set_ylabel("loss")
    if ax.lines:
        ax.legend()
    if path is not None:
        # .figure twice: the root figure, as axes in a SubFigure have no savefig.
        ax.figure.figure.savefig(Path(path), dpi=DPI)
    return ax


def _matplotlib() -> tuple[type[Figure], type[MaxNLocator]]:
    try:
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError as error:
        raise ImportError(
            "plotting needs matplotlib: pip install 'naah[plot]'"
        ) from error
    return Figure, MaxNLocator
