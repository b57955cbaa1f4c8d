"""What a person watching a run sees: compile time as it passes, then a bar.

naah shows progress by default only when someone is watching (:func:`interactive`:
a Jupyter notebook, or standard error on a terminal), and stays quiet in scripts,
pipes and CI logs. A run's first evaluation is where PyTensor's and Numba's
first-use compilation happens (minutes for a cold Numba cache), so it is shown as
compilation with its elapsed time (:class:`CompileTimer`), and the iteration bar,
whose ETA would otherwise count it, starts after it.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tqdm import tqdm

PREFIX = "naah"
# Seconds between two updates of the elapsed compile time.
REFRESH_SECONDS = 0.5


def interactive() -> bool:
    """Whether a person is probably watching: a Jupyter kernel, or a terminal on
    standard error.

    Examples
    --------
    >>> isinstance(interactive(), bool)
    True
    """
    shell = _ipython_shell()
    if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
        return True
    stream = sys.stderr
    return bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())


def printer(quiet: bool = False) -> Callable[[str], None]:
    """A ``say(message)`` for a command's messages: on stderr (stdout is for
    results), or nowhere when ``quiet``.

    Examples
    --------
    >>> say = printer(quiet=True)
    >>> say("naah: loading weights")  # prints nothing
    """

    def say(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr)

    return say


def _ipython_shell() -> Any:
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    try:
        return ipython.get_ipython()
    except Exception:  # an IPython half imported, or without a shell
        return None


class CompileTimer:
    """Shows "compiling… N s" while it runs and "compiled in X s" when stopped.

    Parameters
    ----------
    enabled : bool
        False shows nothing (but still measures :attr:`seconds`).
    what : str
        What is being prepared, for the messages.

    Examples
    --------
    >>> with CompileTimer(enabled=False) as timer:
    ...     pass
    >>> timer.seconds >= 0
    True
    """

    def __init__(self, enabled: bool, what: str = "compiling") -> None:
        self.enabled = enabled
        self.what = what
        self.seconds = 0.0
        self._start = 0.0
        self._bar: tqdm | None = None
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> CompileTimer:
        self._start = time.perf_counter()
        if self.enabled:
            from tqdm.auto import tqdm

            # leave=False: the line goes when compiling is over, replaced by the
            # "compiled in" line (or by an error message).
            self._bar = tqdm(
                desc=f"{PREFIX}: {self.what}",
                bar_format="{desc} {elapsed}",
                total=None,
                leave=False,
            )
            self._thread = threading.Thread(target=self._tick, daemon=True)
            self._thread.start()
        return self

    def _tick(self) -> None:
        while not self._done.wait(REFRESH_SECONDS):
            bar = self._bar
            if bar is not None:
                bar.refresh()

    def stop(self, done: bool = True) -> None:
        """End the display (once) and, if ``done``, say how long it took."""
        if self._done.is_set():
            return
        self._done.set()
        self.seconds = time.perf_counter() - self._start
        if self._thread is not None:
            self._thread.join()
        if self._bar is not None:
            self._bar.close()
            if done:
                self._bar.write(
                    f"{PREFIX}: compiled in {self.seconds:.1f} s", sys.stderr
                )
            self._bar = None

    def __enter__(self) -> CompileTimer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop(done=error is None)


class RunDisplay:
    """A run's display: the compile timer until the first evaluation is done, then
    the iteration bar (whose ETA therefore leaves compilation out).

    It has the part of tqdm's interface that :func:`naah.style_transfer.optimize`
    uses: ``update(0)`` after the first evaluation, ``update(1)`` per iteration,
    ``set_postfix`` and ``close``.
    """

    def __init__(
        self, total: int, enabled: bool, initial: int = 0, what: str = "compiling"
    ) -> None:
        self.total = total
        self.initial = initial
        self.enabled = enabled
        self.timer = CompileTimer(enabled, what).start()
        self._bar: tqdm | None = None

    def _started(self) -> tqdm | None:
        self.timer.stop()
        if self._bar is None and self.enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=self.total, initial=self.initial, unit="it", desc=PREFIX
            )
        return self._bar

    def update(self, n: int = 1) -> None:
        bar = self._started()
        if bar is not None and n:
            bar.update(n)

    def set_postfix(self, **values: Any) -> None:
        bar = self._started()
        if bar is not None:
            bar.set_postfix(**values)

    def close(self) -> None:
        self.timer.stop(done=False)
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> RunDisplay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
