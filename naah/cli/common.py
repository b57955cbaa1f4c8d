"""Exit statuses, errors and messages of the ``naah`` command."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from naah.io.images import ImageError
from naah.style_transfer import RunInterrupted

PROG = "naah"
EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


# 128 + the signal number, as shells report a process ended by SIGTERM.
EXIT_TERMINATED = 128 + signal.SIGTERM


class CommandError(Exception):
    """A failure while working whose message says it all: exit status 1."""


# Failures whose message says it all (WeightsError and ImageError are ValueErrors,
# DownloadError an OSError); any other exception is also named, with a --debug hint.
EXPECTED_ERRORS = (OSError, ValueError, ImportError, CommandError)


class UsageError(Exception):
    """A bad command line: reported as ``naah: error: ...`` with exit status 2."""


class _Parser(argparse.ArgumentParser):
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
    """SIGTERM, turned into an exception so that a run stops as on Ctrl-C."""


def _interrupt_status(interrupt: BaseException) -> int:
    reason = interrupt.reason if isinstance(interrupt, RunInterrupted) else interrupt
    return EXIT_TERMINATED if isinstance(reason, Terminated) else EXIT_INTERRUPTED


def _try_write(path: Path, write: Callable[[Path], object]) -> bool:
    """``write(path)``; if that fails, warn (naming ``path``) and return False."""
    try:
        write(path)
    except (OSError, ImageError) as error:
        _warn(f"could not write {path}: {_reason(error)}")
        return False
    return True


def _reason(error: Exception) -> str:
    """Why ``error`` happened, without the "[Errno 28]" of an OSError."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error)


# -- helpers ---------------------------------------------------------------------------
def _error(message: object) -> None:
    text = " ".join(str(message).split())
    print(f"{PROG}: error: {text}", file=sys.stderr)


def _warn(message: str) -> None:
    """``naah: warning: message`` on stderr, now (not through ``warnings``, whose
    filters may make it an exception or hide a repeat)."""
    _write_line(f"{PROG}: warning: {' '.join(message.split())}", sys.stderr)


def _write_line(text: str, file: TextIO) -> None:
    """Print a line above tqdm's progress bar, if one is showing, not through it."""
    from tqdm import tqdm

    tqdm.write(text, file=file)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    text = " ".join(str(message).split())
    print(f"{PROG}: warning: {text}", file=sys.stderr)
