"""What a person watching a run sees: compile time as it passes, then a bar.

naah shows progress by default only when someone is watching (:func:`interactive`:
a Jupyter notebook, or standard error on a terminal), and stays quiet in scripts,
pipes and CI logs. A run's first evaluation is where PyTensor's and Numba's
first-use compilation happens (minutes for a cold Numba cache), so it is shown as
compilation with its elapsed time (:class:`CompileTimer`), and the iteration bar,
whose ETA would otherwise count it, starts after it.

Progress asked for where nobody watches live (``naah stylize`` with standard error
in a log file) is written as lines, never redrawn with carriage returns: the
compile step once when it starts and once when it ends, then a line of the
iterations every :data:`LOG_SECONDS` and one at the end.
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
# Seconds between two lines of a run's progress written to a log (not a terminal):
# a few lines a minute, as a long run's log wants.
LOG_SECONDS = 30.0


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


def losses(record: Any, digits: int = 3) -> str:
    """The losses of an iteration's ``record`` (a :class:`naah.optim.IterationRecord`),
    labelled: the weighted total the optimiser minimises, then the unweighted
    terms (content, style, and TV when it is weighted in).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> losses(SimpleNamespace(total=83800.0, content=2.5, style=83.8, tv=0.0))
    'weighted total 8.38e+04 (unweighted: content 2.5, style 83.8)'
    """
    tv = f", tv {record.tv_raw:.{digits}g}" if record.tv else ""
    return (
        f"weighted total {record.total:.{digits}g} (unweighted: content "
        f"{record.content:.{digits}g}, style {record.style:.{digits}g}{tv})"
    )


def format_duration(seconds: float) -> str:
    """A duration for people: seconds, minutes or hours, two digits or so.

    Examples
    --------
    >>> [format_duration(s) for s in (0.04, 2.84, 41.6, 2500, 7000, 400000)]
    ['0.04 s', '2.8 s', '42 s', '42 min', '1.9 h', '111 h']
    """
    if seconds < 1:
        return f"{seconds:.2f} s"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    hours = seconds / 3600
    return f"{hours:.1f} h" if hours < 10 else f"{hours:.0f} h"


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


def _line(text: str) -> None:
    """One line of progress on standard error, written at once."""
    print(text, file=sys.stderr, flush=True)


class CompileTimer:
    """Shows "compiling… N s" while it runs and "compiled in X s" when stopped.

    Redrawn in place where someone watches (:func:`interactive`); elsewhere one
    line when it starts and one when it is done.

    Parameters
    ----------
    enabled : bool
        False shows nothing (but still measures :attr:`seconds`).
    what : str
        What is being prepared, for the messages.
    done : str or None
        The word of the closing line, "``done`` in X s" (None: no closing line).

    Examples
    --------
    >>> with CompileTimer(enabled=False) as timer:
    ...     pass
    >>> timer.seconds >= 0
    True
    """

    def __init__(
        self, enabled: bool, what: str = "compiling", done: str | None = "compiled"
    ) -> None:
        self.enabled = enabled
        self.what = what
        self.done = done
        self.seconds = 0.0
        self._start = 0.0
        self._bar: tqdm | None = None
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> CompileTimer:
        self._start = time.perf_counter()
        if not self.enabled:
            return self
        if not interactive():
            _line(f"{PREFIX}: {self.what}")
            return self
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
        while not self._stopped.wait(REFRESH_SECONDS):
            bar = self._bar
            if bar is not None:
                bar.refresh()

    def stop(self, done: bool = True) -> None:
        """End the display (once) and, if ``done``, say how long it took."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.seconds = time.perf_counter() - self._start
        if self._thread is not None:
            self._thread.join()
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self.enabled and done and self.done is not None:
            _line(f"{PREFIX}: {self.done} in {self.seconds:.1f} s")

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
    ``set_postfix_str`` (or ``set_postfix``) and ``close``. ``label`` names the
    stage (a coarse-to-fine run's scale) in every message. Where nobody watches
    live (:func:`interactive` false) the bar is a line every :data:`LOG_SECONDS`,
    and one at the end.
    """

    def __init__(
        self,
        total: int,
        enabled: bool,
        initial: int = 0,
        what: str = "compiling",
        label: str = "",
    ) -> None:
        self.total = total
        self.initial = initial
        self.enabled = enabled
        self.label = label
        self._redrawn = enabled and interactive()
        compiles = "compiling" in what
        self.timer = CompileTimer(
            enabled,
            f"{label}: {what}" if label else what,
            "compiled" if compiles else None,
        ).start()
        self._bar: tqdm | None = None
        self._done = initial
        self._postfix = ""
        self._since: tuple[float, int] | None = None  # clock and iterations at start
        self._logged = 0.0  # clock of the last line
        self._shown = initial  # iterations in the last line

    def _started(self) -> tqdm | None:
        self.timer.stop()
        if self._since is None:
            now = time.perf_counter()
            self._since, self._logged = (now, self._done), now
        if self._bar is None and self._redrawn:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=self.total,
                initial=self.initial,
                unit="it",
                desc=f"{PREFIX} {self.label}" if self.label else PREFIX,
            )
        return self._bar

    def update(self, n: int = 1) -> None:
        bar = self._started()
        self._done += n
        if bar is not None and n:
            bar.update(n)
        elif bar is None and self.enabled and n:
            self._log()

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        bar = self._started()
        self._postfix = text
        if bar is not None:
            bar.set_postfix_str(text, refresh=refresh)

    def set_postfix(self, **values: Any) -> None:
        bar = self._started()
        self._postfix = ", ".join(f"{k}={v}" for k, v in values.items())
        if bar is not None:
            bar.set_postfix(**values)

    def _log(self, last: bool = False) -> None:
        """A line of the iterations, when :data:`LOG_SECONDS` have passed (or at
        the ``last`` update, if there were iterations since the last line)."""
        now = time.perf_counter()
        if self._since is None or (now - self._logged < LOG_SECONDS and not last):
            return
        if last and self._done == self._shown:
            return
        self._logged, self._shown = now, self._done
        start, done = self._since
        rate = (self._done - done) / max(now - start, 1e-9)
        where = f"{self.label}: " if self.label else ""
        postfix = f", {self._postfix}" if self._postfix else ""
        _line(
            f"{PREFIX}: {where}iteration {self._done}/{self.total}, {rate:.3g} it/s"
            f"{postfix}"
        )

    def close(self) -> None:
        self.timer.stop(done=False)
        if self._bar is not None:
            self._bar.close()
        elif self.enabled:
            self._log(last=True)

    def __enter__(self) -> RunDisplay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
