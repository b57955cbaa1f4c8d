"""A live view of a run in a Jupyter notebook: one image and one loss plot, updated
in place (``StyleTransfer.run(..., live=True)``)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from naah.live._state import LOSSES, RunProgress, png_bytes, summary

if TYPE_CHECKING:
    from naah.optim.history import IterationRecord

__all__ = ["JupyterView", "NotebookRequiredError"]

# Defaults: draw every 5 iterations, and not more often than twice a second.
EVERY = 5
MIN_INTERVAL = 0.5
# Drawing (a 512x512 PNG and the loss plot: some 0.1–0.3 s) may take at most this
# share of the run's time: after a draw that took t seconds, the next waits at
# least t / MAX_DRAW_SHARE (a small image's iterations are faster than a draw).
MAX_DRAW_SHARE = 0.05
PLOT_SIZE = (6.4, 3.2)  # inches
PLOT_DPI = 80
# Where the plot's axes lie in its figure (left, bottom, width, height), fixed:
# a layout engine would cost as much again as the drawing.
PLOT_AXES = (0.12, 0.15, 0.84, 0.74)

_NEEDS_NOTEBOOK = (
    "live=True needs a Jupyter notebook; {why}. Elsewhere, watch the run in a "
    "browser: naah.live.WebView() as the run's callback (open its .url), or "
    "naah stylize ... --web"
)


class NotebookRequiredError(RuntimeError):
    """A :class:`JupyterView` made outside a Jupyter notebook (or without IPython)."""


class JupyterView:
    """Show a run in the notebook: its current image and its loss curve, each one
    output updated in place, every ``every`` iterations.

    Use it as the ``callback`` of :meth:`naah.StyleTransfer.run` (which is what
    ``run(..., live=True)`` does), and call :meth:`close` at the end to draw the
    final state.

    Parameters
    ----------
    every : int
        Draw at every ``every``-th iteration (0 included)…
    min_interval : float
        … but not more often than once per this many seconds, nor so often that
        drawing takes more than 5 % of the run (``MAX_DRAW_SHARE``).
    plot : bool
        Draw the losses with matplotlib (if installed); otherwise, or with False, a
        line of text says the iteration and the losses.

    Raises
    ------
    NotebookRequiredError
        Outside a Jupyter kernel (a terminal, a script, an IPython shell), or if
        IPython is not installed.

    Examples
    --------
    In a notebook:

    >>> view = JupyterView(every=10)  # doctest: +SKIP
    >>> result = naah.StyleTransfer().run("c.jpg", "s.jpg", callback=view)  # doctest: +SKIP
    >>> view.close()  # doctest: +SKIP

    Anywhere else it says what to use instead:

    >>> JupyterView()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    naah.live.jupyter.NotebookRequiredError: live=True needs a Jupyter notebook; ...
    """

    def __init__(
        self,
        every: int = EVERY,
        *,
        min_interval: float = MIN_INTERVAL,
        plot: bool = True,
    ) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive int, got {every!r}")
        self.every = every
        self.min_interval = float(min_interval)
        self._display, self._image, self._text = _notebook_display()
        self._plot = LossPlot.make() if plot else None
        self._progress = RunProgress()
        self._handles: tuple[Any, Any] | None = None
        self._drawn: IterationRecord | None = None
        self._next_draw = -float("inf")  # time.monotonic() of the earliest

    def __call__(self, record: IterationRecord, image: np.ndarray) -> None:
        """Keep the record; draw if ``record.iteration`` is a multiple of ``every``."""
        run = self._progress.run
        self._progress.add(record, image)
        if self._progress.run != run:
            self._handles = None  # a new run: new outputs, in the cell running it
        due = record.iteration % self.every == 0
        if due and time.monotonic() >= self._next_draw:
            self.draw()

    def draw(self) -> None:
        """Show the latest image and losses now."""
        latest, image = self._progress.latest, self._progress.image
        if latest is None or image is None:
            return
        start = time.monotonic()
        picture = self._image(data=png_bytes(image), format="png")
        losses = self._losses(self._progress.records)
        if self._handles is None:
            self._handles = (
                self._display(picture, display_id=True),
                self._display(losses, display_id=True),
            )
        else:
            self._handles[0].update(picture)
            self._handles[1].update(losses)
        end = time.monotonic()
        self._drawn = latest
        self._next_draw = start + max(self.min_interval, (end - start) / MAX_DRAW_SHARE)

    def close(self) -> None:
        """Draw the final state, if it was not drawn yet."""
        if self._progress.latest is not self._drawn:
            self.draw()

    def _losses(self, records: Sequence[IterationRecord]) -> object:
        """The loss plot as a PNG image, or a line of text."""
        if self._plot is None:
            return self._text(summary(records[-1]))
        return self._image(data=self._plot.png(records), format="png")


class LossPlot:
    """Total, content and style loss per iteration on a log scale, the latest
    losses as the title: one matplotlib figure (no pyplot: no window, any backend)
    drawn again with each new history, as PNG bytes."""

    def __init__(self, figure_class: Callable[..., Any]) -> None:
        from matplotlib.ticker import MaxNLocator

        self.figure = figure_class(figsize=PLOT_SIZE, dpi=PLOT_DPI)
        self.ax = self.figure.add_axes(PLOT_AXES)
        self.ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        self.lines = {
            name: self.ax.plot([], [], label=f"{name} loss")[0] for name in LOSSES
        }
        self.ax.set_xlabel("iteration")
        self.ax.set_ylabel("loss")
        self.ax.legend(loc="upper right", fontsize="small")

    @classmethod
    def make(cls) -> LossPlot | None:
        """A plot, or None without matplotlib."""
        try:
            from matplotlib.figure import Figure
        except ImportError:
            return None
        return cls(Figure)

    def png(self, records: Sequence[IterationRecord]) -> bytes:
        iterations = [r.iteration for r in records]
        positive = False
        for name, line in self.lines.items():
            values = np.array([getattr(r, name) for r in records], dtype=float)
            values[~(values > 0)] = np.nan  # log scale: leave out zeros
            positive = positive or not np.isnan(values).all()
            line.set_data(iterations, values)
        # Log scale needs a positive value (else matplotlib warns); the first
        # iterations of a run with α = 0 may have none.
        self.ax.set_yscale("log" if positive else "linear")
        self.ax.relim()
        self.ax.autoscale_view()
        self.ax.set_title(summary(records[-1]), fontsize="medium")
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png")
        return buffer.getvalue()


def _notebook_display() -> tuple[Callable[..., Any], Any, Any]:
    """IPython's ``display`` and its Image and Pretty classes, in a kernel only."""
    try:
        import IPython
        from IPython.display import Image, Pretty, display
    except ImportError:
        why = "IPython is not installed (pip install ipykernel, then run in Jupyter)"
        raise NotebookRequiredError(_NEEDS_NOTEBOOK.format(why=why)) from None
    shell = IPython.get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        where = "a plain Python process" if shell is None else "an IPython terminal"
        why = f"this is {where}, not a notebook's kernel"
        raise NotebookRequiredError(_NEEDS_NOTEBOOK.format(why=why))
    return display, Image, Pretty
