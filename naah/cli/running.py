"""One run of ``naah stylize`` or ``--resume``: the transfer, what each iteration
shows and writes, and the end (the image, the history, the plot; on Ctrl-C too)."""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from naah.cli.common import (
    PROG,
    CommandError,
    UsageError,
    interrupt_status,
    reason,
    try_write,
    usage_error,
    write_line,
)
from naah.cli.paths import snapshot_path
from naah.compile import get_mode
from naah.io.images import ImageError, save_image
from naah.live import WebView, is_loopback
from naah.live.web import LOOPBACK_HOST
from naah.optim import History, IterationRecord
from naah.problem import LossWeights
from naah.progress import format_duration, losses, printer
from naah.runtime import Runtime
from naah.settings import Settings
from naah.style_transfer import RunDiverged, RunInterrupted, StyleResult, StyleTransfer


@dataclass(frozen=True)
class Outputs:
    """The files a run writes, and how its checkpoint remembers them; the images'
    bits per channel and the dpi they record (--bit-depth, --dpi)."""

    output: Path
    history: Path | None
    plot: Path | None
    checkpoint: Path | None
    bit_depth: int = 8
    dpi: float | None = None

    def save_image(self, path: Path, image: np.ndarray) -> None:
        """Write a snapshot ``image`` to ``path`` as the result is written."""
        save_image(path, image, bit_depth=self.bit_depth, dpi=self.dpi)

    def named(self) -> dict[str, Path | None]:
        """Each file by what it is, for messages."""
        return {
            "output image": self.output,
            "loss plot": self.plot,
            "history file": self.history,
            "checkpoint": self.checkpoint,
        }

    def info(self, content: str) -> dict[str, str | None]:
        """What the checkpoint remembers of them, for ``--resume``."""

        def absolute(path: str | Path | None) -> str | None:
            return None if path is None else os.path.abspath(path)

        return {
            "output": absolute(self.output),
            "history": absolute(self.history),
            "plot": absolute(self.plot),
            "content": absolute(content),
        }


def finish(
    run: Callable[[], StyleResult],
    files: Outputs,
    loss: LossWeights,
    quiet: bool,
    watch: Watch | None = None,
) -> int:
    """Run, then write the results; on an interrupt or divergence, write what the
    run reached and say how to go on. ``watch``, the run's callback, times the
    summary line's parts."""
    say = printer(quiet)
    start = time.perf_counter()
    try:
        result = run()
    except RunInterrupted as interrupt:
        if interrupt.result is None:
            raise
        written, _ = _write_results(interrupt.result, loss, files)
        last = interrupt.result.history[-1].iteration
        write_line(
            f"{PROG}: interrupted at iteration {last}; wrote "
            f"{_listing(written, interrupt.result.checkpoint)}"
            + _resume_hint(interrupt.result.checkpoint),
            sys.stderr,
        )
        return interrupt_status(interrupt)
    except RunDiverged as diverged:
        if diverged.result is None:
            raise CommandError(str(diverged)) from None
        written, _ = _write_results(diverged.result, loss, files)
        best = diverged.result.best_iteration
        raise CommandError(
            f"{diverged}; wrote the best image (iteration {best}): "
            f"{_listing(written, diverged.result.checkpoint)}"
        ) from None
    written, failure = _write_results(result, loss, files)
    for path in written:
        say(f"{PROG}: wrote {path}")
    if result.checkpoint is not None:
        say(f"{PROG}: wrote checkpoint {result.checkpoint} (continue with --resume)")
    say(f"{PROG}: {summary(result.history, result.best_iteration, start, watch)}")
    if result.status == "stopped":
        say(f"{PROG}: L-BFGS-B stopped early: it found no better image")
    if failure is not None:
        raise failure
    return 0


def summary(
    history: History, best_iteration: int, start: float, watch: Watch | None
) -> str:
    """What a finished run did: the iterations it added (a resumed run's new ones),
    the seconds spent optimising them, the seconds before (loading, compiling,
    and a resumed run's checkpoint), and the final losses.

    ``start`` is the clock (``time.perf_counter``) when the command began the run;
    ``watch`` saw the run's first record when it came. The optimising time is the
    history's (:attr:`naah.optim.IterationRecord.time`), which leaves out the
    writing of the results and, between the scales of a coarse-to-fine run, the
    preparing of the next.
    """
    last = history[-1]
    best = history[best_iteration]
    which = "" if best is last else f"; best loss at iteration {best.iteration}"
    first = None if watch is None else watch.first
    at = history.index(first) if first in history else 0  # this run's first record
    before = history[at - 1] if at > 0 else None  # a resumed run's last saved one
    done, optimised = (
        (history[at].iteration, 0.0)
        if before is None
        else (before.iteration, before.time)
    )
    count = last.iteration - done
    what = f"{count} {'new ' if before else ''}iteration{'' if count == 1 else 's'}"
    if before is not None:
        what += f" ({done + 1} to {last.iteration})"
    seconds = last.time - optimised
    setup = ""
    if watch is not None and first is not None:
        started = watch.first_at - (first.time - optimised)  # the optimiser's clock
        setup = (
            f", after {format_duration(max(0.0, started - start))} of loading and "
            "compiling"
        )
    return (
        f"{what} optimised in {format_duration(seconds)}{setup}; final loss: "
        f"{losses(last, 4)}{which}"
    )


def _listing(written: list[Path], checkpoint: Path | None) -> str:
    names = [str(p) for p in written]
    if checkpoint is not None:
        names.append(f"checkpoint {checkpoint}")
    return ", ".join(names) or "nothing"


def _resume_hint(checkpoint: Path | None) -> str:
    if checkpoint is None:
        return ""
    return f"; resume with: {PROG} stylize --resume {shlex.quote(str(checkpoint))}"


def web_view(web: bool, host: str | None, port: int | None) -> WebView | None:
    """--web: the live page, serving before the weights load (a taken port fails
    now, not after compiling); its URL is printed even with -q."""
    if not (web or port is not None or host is not None):
        return None
    address = LOOPBACK_HOST if host is None else host
    try:
        view = WebView(address, port or 0, allow_remote=host is not None)
    except OSError as error:
        raise CommandError(
            f"--web: cannot listen on {address}:{port or 0}: {reason(error)}"
        ) from None
    reach = (
        ""
        if is_loopback(address)
        else f"; other machines can reach it on port {view.port} with this URL's token"
    )
    write_line(
        f"{PROG}: live view at {view.url} (its Stop button works like Ctrl-C{reach})",
        sys.stderr,
    )
    return view


def closing(
    view: WebView | None, run: Callable[[], StyleResult]
) -> Callable[[], StyleResult]:
    """``run``, with the live page closed as soon as it returns (a Stop after the
    run must not interrupt the writing of its results)."""
    if view is None:
        return run

    def closing() -> StyleResult:
        try:
            return run()
        finally:
            view.close()

    return closing


def _write_results(
    result: StyleResult, loss: LossWeights, files: Outputs
) -> tuple[list[Path], CommandError | None]:
    """Write the image, then the history and plot even if the image failed: the
    files written, and the image's failure (to report after the others)."""
    failure = None
    try:
        result.save(files.output, bit_depth=files.bit_depth, dpi=files.dpi)
    except (OSError, ImageError) as error:
        failure = CommandError(f"could not write {files.output}: {reason(error)}")
    written = [] if failure else [files.output]
    if files.history is not None and try_write(files.history, result.history.save):
        written.append(files.history)
    if files.plot is not None and try_write(
        files.plot, lambda target: _plot(result.history, target, loss)
    ):
        written.append(files.plot)
    return written, failure


def check_backend(settings: Settings) -> None:
    """Refuse a backend this machine cannot run (``jax`` needs its package)."""
    try:
        get_mode(settings.compute.backend)
    except (ValueError, ImportError) as error:
        raise usage_error(error) from None


def command_runtime(settings: Settings) -> Runtime:
    """The runtime of a command's run: its ``--threads``, and freed memory kept (a
    command runs one job and exits: keeping it costs nothing later and saves 16 %
    per evaluation at 512x512, naah.runtime)."""
    return Runtime(threads=settings.compute.threads, keep_freed_memory=True)


def transfer_for(settings: Settings, weights: Path | None) -> StyleTransfer:
    """The transfer of ``settings``; nothing is loaded yet."""
    check_backend(settings)
    return StyleTransfer.configured(settings, weights, command_runtime(settings))


class Watch:
    """The run's callback of the command line: --save-every snapshots (beside
    ``files.output``, as it is written), --print-every lines, and the clock of
    the summary line (:func:`summary`).

    A coarse-to-fine run's next scale starts with a record of the iteration the
    last one ended at (its start image, upsampled): the snapshot is written again
    at the new size, and the line is printed once.
    """

    def __init__(
        self,
        files: Outputs,
        save_every: int | None,
        print_every: int,
        settings: Settings,
    ) -> None:
        self.files = files
        self.save_every = save_every
        self.print_every = print_every
        self.total = settings.schedule.total
        self.first: IterationRecord | None = None  # this run's first record
        self.first_at = 0.0  # time.perf_counter() when it came
        self._printed = -1

    def __call__(self, record: IterationRecord, image: np.ndarray) -> None:
        if self.first is None:
            self.first, self.first_at = record, time.perf_counter()
        every, iteration = self.save_every, record.iteration
        if every is not None and iteration % every == 0:
            path = snapshot_path(self.files.output, iteration, self.total)
            try_write(path, lambda target: self.files.save_image(target, image))
        if (
            self.print_every
            and iteration > max(0, self._printed)
            and iteration % self.print_every == 0
        ):
            self._printed = iteration
            scale = "" if record.scale is None else f" ({record.scale} px)"
            write_line(
                f"iteration {iteration}/{self.total}{scale}: {losses(record, 4)}",
                sys.stdout,
            )


def on_iteration(
    files: Outputs, save_every: int | None, print_every: int, settings: Settings
) -> Watch:
    """The callback of the run (:class:`Watch`)."""
    return Watch(files, save_every, print_every, settings)


def _plot(history: History, path: Path, loss: LossWeights) -> None:
    from naah.plotting import plot_history

    plot_history(history, path, loss_weights=loss)


@contextlib.contextmanager
def dask_client(address: str | None, quiet: bool) -> Iterator[Any]:
    """``--dask``: a client of the cluster for the run, closed after it (None
    without the option)."""
    if address is None:
        yield None
        return
    try:
        from naah.batch.cluster import connect, disconnect
    except ImportError:
        raise CommandError(
            "--dask needs distributed: pip install 'naah[dask]'"
        ) from None
    try:
        client = connect(address, dashboard_address=None)
    except ValueError as error:
        raise UsageError(str(error)) from None
    workers = len(client.scheduler_info()["workers"])
    printer(quiet)(f"{PROG}: blocks on Dask, {workers} workers")
    try:
        yield client
    finally:
        disconnect(client)
