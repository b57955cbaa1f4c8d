"""Running the ``naah`` command in this process, as the CLI tests do."""

import contextlib
import io
import os
import resource
import subprocess
import sys
from pathlib import Path

from naah.cli import main

ROOT = Path(__file__).resolve().parents[2]

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


def run_limited(argv, *, address_space, timeout=120):
    """``naah ARGV`` in a child process with at most ``address_space`` bytes of
    virtual memory (RLIMIT_AS), so that a regression ends in the child's
    MemoryError, never the machine's: (exit status, stdout, stderr)."""

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    )}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "naah", *map(str, argv)],
        capture_output=True, text=True, timeout=timeout, env=env, preexec_fn=limit,
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr
