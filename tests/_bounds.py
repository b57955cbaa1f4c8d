"""Bounds for tests of hostile input: a block that must not hang, and a child
process that must not take the machine.

A test that a FIFO is refused unopened would wait for ever if naah opened it: run it
under :func:`deadline`, and it fails instead. A test of memory runs the command in a
child under ``RLIMIT_AS`` (:func:`run_bounded`), so that a regression ends in a
MemoryError there, and reads the child's peak resident memory from the kernel.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from typing import NamedTuple

# How often run_bounded looks whether its child has ended.
POLL_SECONDS = 0.05


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise TimeoutError in the block once ``seconds`` have passed: SIGALRM
    interrupts a blocking open() or read(), and the handler's exception ends it.
    Main thread only (signals are delivered there)."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"still blocked after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Bounded(NamedTuple):
    """What a bounded child did: exit status, output, and its peak resident
    memory (VmHWM) in bytes."""

    returncode: int
    stdout: str
    stderr: str
    peak_bytes: int


def run_bounded(
    argv: Sequence[str], *, address_space: int, timeout: float, cwd: str | None = None
) -> Bounded:
    """Run ``python argv...`` with at most ``address_space`` bytes of virtual
    memory (``RLIMIT_AS``) and ``timeout`` seconds; its peak resident memory
    comes from ``wait4``'s resource usage."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    with (
        open(os.devnull, "rb") as stdin,
        tempfile.TemporaryFile() as stdout,
        tempfile.TemporaryFile() as stderr,
    ):
        process = subprocess.Popen(
            [sys.executable, *argv],
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            preexec_fn=limit,
            cwd=cwd,
        )
        end = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > end:
                process.kill()
                _, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(POLL_SECONDS)
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here
        stdout.seek(0)
        stderr.seek(0)
        return Bounded(
            process.returncode,
            stdout.read().decode(errors="replace"),
            stderr.read().decode(errors="replace"),
            usage.ru_maxrss * 1024,  # kilobytes on Linux
        )
