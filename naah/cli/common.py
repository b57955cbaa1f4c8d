"""Exit statuses, errors and messages of the ``naah`` command."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from naah.checks import Spelled
from naah.io.images import ImageError
from naah.runs import interrupt_in
from naah.settings import default, flag

PROG = "naah"
EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130

#: Signals that stop a run as Ctrl-C does, its results written: SIGTERM, and
#: SIGHUP (the terminal was closed). The exit status is 128 + the signal's number,
#: as shells report a process ended by it (143, 129).
TERMINATING = (signal.SIGTERM, signal.SIGHUP)


class CommandError(Exception):
    """A failure while working whose message says it all: exit status 1."""


# Failures whose message says it all (WeightsError and ImageError are ValueErrors,
# DownloadError an OSError); any other exception is also named, with a --debug hint.
EXPECTED_ERRORS = (OSError, ValueError, ImportError, CommandError, MemoryError)


class UsageError(Exception):
    """A bad command line: reported as ``naah: error: ...`` with exit status 2."""


def spelled(error: Exception) -> str:
    """An error's message with the settings it names spelled as options
    (``--learning-rate``)."""
    return error.spelled(flag) if isinstance(error, Spelled) else str(error)


def out_of_memory(error: MemoryError, args: argparse.Namespace | None) -> str:
    """The message of a MemoryError: what was asked (``--size``, ``--cell``), naah's
    estimate of the run when the command made one (``args.memory_estimate``), the
    memory available now, and what to give instead. naah's own (a check that
    refused) say it all already."""
    if isinstance(error, Spelled):
        return spelled(error)
    from naah.estimate import available_memory, format_bytes

    detail = f" ({' '.join(str(error).split())})" if str(error) else ""
    size, cell = getattr(args, "size", None), getattr(args, "cell", None)
    estimate = getattr(args, "memory_estimate", None)
    command = getattr(args, "command", None)
    if size is None and command in ("stylize", "video", "batch"):
        size = f"{default('size')} (the default)"
    asked = [f"at --{name} {v}" for name, v in (("size", size), ("cell", cell)) if v]
    if estimate is not None:
        asked.append(f"which naah estimated at {format_bytes(estimate.total)}")
    try:
        asked.append(f"with {format_bytes(available_memory())} available")
    except OSError:
        pass
    if cell is not None:
        fix = "give a smaller --cell"
    elif size is not None:
        fix = (
            "give a smaller --size (--size auto: the largest that fits), or "
            "--max-memory to work in blocks"
        )
    else:
        fix = "free memory (close other programs), or give smaller inputs"
    return f"out of memory{detail} {', '.join(asked)}; {fix}"


def usage_error(error: Exception) -> UsageError:
    """``error`` (a check's) as a bad command line, naming the options."""
    return UsageError(spelled(error))


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are :class:`UsageError` naming the help."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """Refuse unknown arguments here, so that a subcommand's own parser (whose
        prog is ``naah stylize``…) reports them, not the top-level one."""
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, turned into an exception so that a run stops as on
    Ctrl-C; ``signum`` is the signal's number."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum


def interrupt_status(interrupt: BaseException) -> int:
    """130 for Ctrl-C, 128 + its number for a :class:`Terminated` signal (143
    SIGTERM, 129 SIGHUP), whatever a run or batch wrapped it in."""
    reason = interrupt_in(interrupt) or interrupt
    while (inner := getattr(reason, "reason", None)) is not None:
        reason = inner  # RunInterrupted, BatchInterrupted: the original interrupt
    return 128 + reason.signum if isinstance(reason, Terminated) else EXIT_INTERRUPTED


def try_write(path: Path, write: Callable[[Path], object]) -> bool:
    """``write(path)``; if that fails, warn (naming ``path``) and return False."""
    try:
        write(path)
    except (OSError, ImageError) as error:
        warn(f"could not write {path}: {reason(error)}")
        return False
    return True


def reason(error: Exception) -> str:
    """Why ``error`` happened, without the "[Errno 28]" of an OSError."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error)


def print_error(message: object) -> None:
    """``naah: error: message`` on stderr, on one line."""
    text = " ".join(str(message).split())
    print(f"{PROG}: error: {text}", file=sys.stderr)


def warn(message: str) -> None:
    """``naah: warning: message`` on stderr, now (not through ``warnings``, whose
    filters may make it an exception or hide a repeat)."""
    write_line(f"{PROG}: warning: {' '.join(message.split())}", sys.stderr)


def write_line(text: str, file: TextIO) -> None:
    """Print a line above tqdm's progress bar, if one is showing, not through it."""
    from tqdm import tqdm

    tqdm.write(text, file=file)


def show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """``warnings.showwarning`` for the command: one line, ``naah: warning: …``."""
    text = " ".join(str(message).split())
    print(f"{PROG}: warning: {text}", file=sys.stderr)
