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

    from naah.metrics import WarpingError
    from naah.optim.history import IterationRecord
    from naah.problem import LossWeights
    from naah.video_transfer import FrameReport

__all__ = ["plot_history", "plot_video_report"]

# Lines drawn by default: History column and legend label. Content and style are
# the unweighted L_content and L_style; total is alpha * L_content + beta * L_style
# (+ tv_weight * TV).
CURVES = (
    ("total", "total loss"),
    ("content", "content loss $L_{content}$"),
    ("style", "style loss $L_{style}$"),
)
TITLE = "Loss per iteration"
# The legend's title: what the total is (matplotlib mathtext).
TOTAL_FORMULA = r"total $= \alpha\,L_{content} + \beta\,L_{style}$"
TV_TERM = r" $+\,w_{TV}\,\mathrm{TV}$"
FIGURE_SIZE = (6.4, 4.0)  # inches
DPI = 150


def plot_history(
    history: Iterable[IterationRecord],
    path: str | os.PathLike[str] | None = None,
    ax: Axes | None = None,
    *,
    layers: bool = False,
    loss_weights: LossWeights | None = None,
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
    loss_weights : LossWeights, optional
        The run's α, β and total-variation weight (``StyleTransfer.loss_weights``),
        shown with the formula of the total in the legend's title; without them
        the formula has the symbols only.

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
    >>> ax.get_title()
    'Loss per iteration'

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
    ax.set_title(_title(loss_weights), fontsize="medium")
    if ax.lines:
        ax.legend(title=_total_formula(loss_weights), title_fontsize="small")
    if path is not None:
        # .figure twice: the root figure, as axes in a SubFigure have no savefig.
        ax.figure.figure.savefig(Path(path), dpi=DPI)
    return ax


def _title(loss_weights: LossWeights | None = None) -> str:
    """The plot's title: with the weights, also α, β and the layers.

    Examples
    --------
    >>> from naah.problem import LossWeights
    >>> print(_title(LossWeights(1.0, 1e3, {"conv1_1": 0.5, "conv2_1": 0.5}, ("conv4_2",))))
    Loss per iteration: α = 1, β = 1000
    content conv4_2; style conv1_1, conv2_1
    """
    if loss_weights is None:
        return TITLE
    w = loss_weights
    content = ", ".join(w.content_layers) or "none"
    style = ", ".join(w.style_layers) or "none"
    return f"{TITLE}: α = {w.alpha:g}, β = {w.beta:g}\ncontent {content}; style {style}"


def _total_formula(loss_weights: LossWeights | None = None) -> str:
    r"""What the total loss is, as matplotlib mathtext, with the weights if given.

    Examples
    --------
    >>> print(_total_formula())
    total $= \alpha\,L_{content} + \beta\,L_{style}$ (+ TV)
    >>> from naah.problem import LossWeights
    >>> print(_total_formula(LossWeights(1.0, 1e3, {"conv1_1": 1.0}, ("conv4_2",))))
    total $= \alpha\,L_{content} + \beta\,L_{style}$
    $\alpha$ = 1, $\beta$ = 1000
    """
    if loss_weights is None:
        return TOTAL_FORMULA + " (+ TV)"
    w = loss_weights
    values = rf"$\alpha$ = {w.alpha:g}, $\beta$ = {w.beta:g}"
    if w.tv_weight > 0:
        return f"{TOTAL_FORMULA}{TV_TERM}\n{values}, $w_{{TV}}$ = {w.tv_weight:g}"
    return f"{TOTAL_FORMULA}\n{values}"


def plot_video_report(
    reports: Iterable[FrameReport],
    warping: WarpingError | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Each frame's losses (unweighted, log scale) and, below, its temporal
    warping error against the frame before it (``naah video --report``).

    Parameters
    ----------
    reports : sequence of FrameReport
        ``VideoResult.reports``.
    warping : WarpingError, optional
        ``VideoResult.warping``: its overall value is drawn as a line.
    path : str or PathLike, optional
        Save the figure here.

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> figure = plot_video_report(result.reports, result.warping)  # doctest: +SKIP
    """
    figure_class, locator = _matplotlib()
    rows = list(reports)
    frames = [r.frame + 1 for r in rows]
    figure = figure_class(figsize=(FIGURE_SIZE[0], FIGURE_SIZE[1] * 1.6))
    losses, errors = figure.subplots(2, 1, sharex=True)
    for name, label in (
        ("content", "content loss $L_{content}$"),
        ("style", "style loss $L_{style}$"),
        ("temporal", "temporal loss $L_{temporal}$"),
    ):
        values = [getattr(r, name) for r in rows]
        if any(v > 0 for v in values):
            losses.plot(frames, values, marker=".", label=label)
    losses.set_yscale("log")
    losses.set_ylabel("loss at the frame's result")
    losses.set_title("Per frame")
    losses.legend(fontsize="small")
    measured = [
        (r.frame + 1, r.warping_error) for r in rows if r.warping_error is not None
    ]
    if measured:
        errors.plot(*zip(*measured, strict=True), marker=".", color="C3",
                    label="warping error")  # fmt: skip
    if warping is not None:
        errors.axhline(warping.overall, color="C3", linestyle="--",
                       label=f"overall {warping.overall:.3g}")  # fmt: skip
    errors.set_ylabel("warping error (values in [0, 1])")
    errors.set_xlabel("frame")
    errors.xaxis.set_major_locator(locator(integer=True))
    errors.legend(fontsize="small")
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=DPI)
    return figure


def _matplotlib() -> tuple[type[Figure], type[MaxNLocator]]:
    try:
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError as error:
        raise ImportError(
            "plotting needs matplotlib: pip install 'naah[plot]'"
        ) from error
    return Figure, MaxNLocator
