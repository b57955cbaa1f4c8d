"""The ``naah`` command: it parses, builds one request and calls the library.

The settings' options are made from :mod:`naah.settings` (their checks are the
library's, :mod:`naah.checks`); the command adds its own for inputs, outputs and
watching a run. ``naah stylize`` checks every option, input and output path, and
that the images are large enough for the deepest layer used (:mod:`naah.plan`),
before it loads the weights or compiles anything; it never writes over an input. Exit status: 0 success, 1 a failure while
working (unreadable weights, a failed download, the image not written…), 2 a bad
command line (the message says which option and why; nothing is written), 130
interrupted. Errors are one line on stderr; ``--debug`` shows the traceback of
failures instead. A snapshot, plot or history that cannot be written is a warning
naming the file, and the run goes on.

The package, by what each module holds:

* this module: :func:`main` (exit statuses, SIGTERM as Ctrl-C) and
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

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``naah`` command with ``argv`` (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0, 1 (failure), 2 (bad command line), 130 (interrupted by
        Ctrl-C, SIGINT) or 143 (SIGTERM).

    Examples
    --------
    >>> main(["stylize", "content.jpg", "style.jpg", "-o", "out.png"])  # doctest: +SKIP
    0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    with _terminate_as_interrupt():
        return _main(argv)


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
        if debug:
            raise
        if isinstance(error, EXPECTED_ERRORS):
            print_error(spelled(error))
        else:
            print_error(f"{type(error).__name__}: {error} (--debug shows where)")
        return EXIT_FAILURE


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While running, SIGTERM raises :class:`Terminated` (main thread only; the
    previous handler comes back afterwards, so that in-process callers keep theirs).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_terminated(signum: int, frame: object) -> NoReturn:
    raise Terminated(f"signal {signum}")


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
