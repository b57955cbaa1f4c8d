"""Running the ``naah`` command in this process, as the CLI tests do."""

import contextlib
import io

from naah.cli import main

ITERATIONS = 3
SIZE = 32
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run(argv):
    """main(argv) -> (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(a) for a in argv])
    return status, out.getvalue(), err.getvalue()


def stylize(files, output, *options):
    return run(
        ["stylize", files["content"], files["style"], "-o", output,
         "--weights", files["weights"], "--size", SIZE, "--iterations", ITERATIONS,
         *options]
    )  # fmt: skip


def stylize_inputs(files, content, style, output, *options):
    return run(
        ["stylize", content, style, "-o", output, "--weights", files["weights"],
         "--size", SIZE, "--iterations", ITERATIONS, *options]
    )  # fmt: skip
