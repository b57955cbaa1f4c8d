"""Watch a run as it goes: in a Jupyter notebook, or in a browser.

Both views are run callbacks (``callback(record, image)`` of
:meth:`naah.StyleTransfer.run`) with a ``close()`` for the end of the run:

:class:`JupyterView`
    One image and one loss plot in the notebook, updated in place every few
    iterations (``run(..., live=True)``).
:class:`WebView`
    A page on ``http://127.0.0.1:PORT/`` with the image, the losses and their
    curve, and a Stop button that ends the run as Ctrl-C does (``naah stylize
    --web``). Standard library only; it listens on loopback unless told otherwise.

:func:`chain` combines them with other callbacks. ``docs/live_view.md`` has more.
"""

from naah.live._state import chain
from naah.live.jupyter import JupyterView, NotebookRequiredError
from naah.live.web import WebView, interrupt_main, is_loopback

__all__ = [
    "JupyterView",
    "NotebookRequiredError",
    "WebView",
    "chain",
    "interrupt_main",
    "is_loopback",
]
