"""The ``naah`` command: it parses, builds one request and calls the library.

The settings' options are made from :mod:`naah.settings` (their checks are the
library's, :mod:`naah.checks`); the command adds its own for inputs, outputs and
watching a run. ``naah stylize`` checks every option, input and output path, and
that the images are large enough for the deepest layer used (:mod:`naah.plan`),
before it loads the weights or compiles anything; it never writes over an input.
Exit status: 0 success, 1 a failure while working (unreadable weights, a failed
download, the image not written…), 2 a bad command line (the message says which
option and why; nothing is written), 130 interrupted (Ctrl-C), 143 or 129 stopped
by SIGTERM or SIGHUP (a closed terminal), which stop a run as Ctrl-C does. Errors
are one line on stderr; ``--debug`` shows the traceback of failures instead. A snapshot, plot or history that cannot be written is a warning
naming the file, and the run goes on.

The package, by what each module holds:

* this module: :func:`main` (exit statuses, SIGTERM and SIGHUP as Ctrl-C) and
  :func:`build_parser`;
* :mod:`.common`: exit statuses, errors and messages;
* :mod:`.arguments`: values of the options that are not settings;
* :mod:`.stylize`, :mod:`.resume`: ``naah stylize`` and ``--resume``;
* :mod:`.video`: ``naah video``;
* :mod:`.images`, :mod:`.paths`: the input images and output paths, checked before
  a run; :mod:`.memory`: ``--dry-run``;
* :mod:`.running`: a run, what it shows and what it writes;
* :mod:`.weights`: ``naah weights``;
* :mod:`naah.batch.cli`: ``naah batch`` and ``naah sheet``.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from typing import NoReturn

from naah._version import __version__
from naah.batch.cli import add_batch_parser, add_sheet_parser
from naah.cli.common import (
    EXIT_FAILURE,
    EXIT_USAGE,
    EXPECTED_ERRORS,
    PROG,
    TERMINATING,
    Parser,
    Terminated,
    UsageError,
    interrupt_status,
    out_of_memory,
    print_error,
    show_warning,
    spelled,
)
from naah.cli.stylize import add_stylize_parser
from naah.cli.video import add_video_parser
from naah.cli.weights import add_weights_parser
from naah.runs import interrupt_in

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``naah`` command with ``argv`` (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0, 1 (failure), 2 (bad command line), 130 (interrupted by
        Ctrl-C, SIGINT), 143 (SIGTERM) or 129 (SIGHUP: the terminal was closed).

    Examples
    --------
    >>> main(["stylize", "content.jpg", "style.jpg", "-o", "out.png"])  # doctest: +SKIP
    0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        with _signals_as_interrupts():
            return _main(argv)
    except KeyboardInterrupt as interrupt:  # one that came before or after _main's
        print(f"{PROG}: interrupted", file=sys.stderr)
        return interrupt_status(interrupt)


def _main(argv: list[str]) -> int:
    debug = False
    args = None
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exit_:  # --help, --version
            return int(exit_.code or 0)
        debug = getattr(args, "debug", False)
        with warnings.catch_warnings():
            warnings.showwarning = show_warning
            return args.handler(args)
    except UsageError as error:
        print_error(error)
        return EXIT_USAGE
    except KeyboardInterrupt as interrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return interrupt_status(interrupt)
    except MemoryError as error:
        if debug:
            raise
        print_error(out_of_memory(error, args))
        return EXIT_FAILURE
    except Exception as error:
        cause = interrupt_in(error)
        if cause is not None:  # Ctrl-C inside an import: an ImportError
            print(f"{PROG}: interrupted", file=sys.stderr)
            return interrupt_status(cause)
        if debug:
            raise
        if isinstance(error, EXPECTED_ERRORS):
            print_error(spelled(error))
        else:
            print_error(f"{type(error).__name__}: {error} (--debug shows where)")
        return EXIT_FAILURE


@contextlib.contextmanager
def _signals_as_interrupts() -> Iterator[None]:
    """While running, SIGTERM and SIGHUP raise :class:`Terminated`, and SIGINT
    KeyboardInterrupt, even in a process started with it ignored (a background
    job of a shell; ``python -m naah`` keeps that, where bin/naah replaces it).
    Main thread only; the previous handlers come back afterwards, so that
    in-process callers keep theirs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler)}
    previous.update(
        (signum, signal.signal(signum, _raise_terminated)) for signum in TERMINATING
    )
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _raise_terminated(signum: int, frame: object) -> NoReturn:
    raise Terminated(signum)


def build_parser() -> argparse.ArgumentParser:
    """The ``naah`` argument parser, with subcommands ``stylize`` and ``weights``."""
    # A Parser, as typeshed wants a subcommand's parents of its parser's class; a
    # parent only lends its arguments, so its error() is never called.
    common = Parser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the traceback of failures",
    )
    parser = Parser(
        prog=PROG,
        description="Neural style transfer (Gatys, Ecker & Bethge 2015) on PyTensor.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_stylize_parser(commands, common)
    add_video_parser(commands, common)
    add_batch_parser(commands, common)
    add_sheet_parser(commands, common)
    add_weights_parser(commands, common)
    return parser
