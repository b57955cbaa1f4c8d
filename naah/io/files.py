"""Reading only regular files, and writing a file whole or not at all.

A path given to read (a checkpoint to resume) may name anything: a FIFO, whose
open blocks until someone writes; ``/dev/zero``, which never ends; a file of the
kernel's ``/proc`` or ``/sys`` (``/proc/self/mem`` fails mid-read). Before such a
path is opened, :func:`check_regular_file` refuses all but a regular file, naming
what the path is; :func:`open_regular_file` then opens it without blocking and
checks the file it opened, so that nothing swapped in between gets read.

Every file naah writes (images, checkpoints, weights, a batch's summary) goes
through :func:`write_atomically`: into a temporary file beside it, flushed to disk,
renamed over the target, and the folder synced, so that a reader, a crash or a
full disk never leaves half a file under the target's name. The temporary file is
``.NAME.PID.RANDOM.tmp``; :func:`remove_stale_temporaries` removes those of writers
that died (kill -9) before renaming.

Every file naah reads by name is first checked by :func:`check_regular_file`: a FIFO
would block the reader forever, a device (``/dev/zero``) never ends, and the kernel's
files under ``/proc`` and ``/sys`` say they are empty while holding anything.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO, BinaryIO

# The file systems of the kernel's pseudo-files: their "regular" files report a
# size of 0 and may fail or never end when read.
_KERNEL_FOLDERS = ("/proc", "/sys")


class SpecialFileError(ValueError):
    """A path to read names something other than a regular file; the message says
    what it is."""


def check_regular_file(path: str | os.PathLike[str], what: str) -> Path:
    """``path``, if it names a regular file (a link to one counts); refused at once,
    without opening it, if it names anything else.

    Parameters
    ----------
    path : str or path-like
    what : str
        What the file is to the caller (``'checkpoint'``, ``'content image'``),
        for the message.

    Raises
    ------
    FileNotFoundError
        If nothing is there.
    SpecialFileError
        If it is a directory, a FIFO, a socket, a device, or a file of the
        kernel's /proc or /sys.

    Examples
    --------
    >>> check_regular_file("/dev/null", "checkpoint")
    Traceback (most recent call last):
    ...
    naah.io.files.SpecialFileError: checkpoint '/dev/null' is not a regular file (a character device): give a file
    """
    path = Path(path)
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{what} {os.fspath(path)!r} does not exist; check the path"
        ) from None
    _refuse_special(path, status, what)
    return path


def open_regular_file(path: str | os.PathLike[str], what: str) -> BinaryIO:
    """Open a regular file for reading (binary), never blocking: the path is checked
    as by :func:`check_regular_file` before it is opened, and what was opened is
    checked again (a FIFO put there in between is refused, not read).

    Raises
    ------
    FileNotFoundError
        If nothing is there.
    SpecialFileError
        If it is not a regular file.
    """
    path = check_regular_file(path, what)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    try:
        _refuse_special(path, os.fstat(fd), what)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # reads of a regular file never wait anyway
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _refuse_special(path: Path, status: os.stat_result, what: str) -> None:
    kind = _kind(status)
    if kind is None:
        mount = _kernel_mount(status.st_dev)
        if mount is None:
            return
        kind = f"a kernel pseudo-file in {mount}"
    raise SpecialFileError(
        f"{what} {os.fspath(path)!r} is not a regular file ({kind}): give a file"
    )


def _kind(status: os.stat_result) -> str | None:
    """What a path that is not a regular file is, in words; None for a file."""
    mode = status.st_mode
    if stat.S_ISREG(mode):
        return None
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((words for test, words in kinds if test(mode)), "not a file")


def _kernel_mount(device: int) -> str | None:
    """The kernel pseudo-filesystem (/proc, /sys) on ``device``, if it is one."""
    for folder, number in _kernel_devices().items():
        if number == device:
            return folder
    return None


@functools.cache
def _kernel_devices() -> dict[str, int]:
    """The devices of /proc and /sys, where they are mounted."""
    devices = {}
    for folder in _KERNEL_FOLDERS:
        with contextlib.suppress(OSError):
            devices[folder] = os.stat(folder).st_dev
    return devices


def write_atomically(
    path: str | os.PathLike[str], write: Callable[[IO[bytes]], object]
) -> Path:
    """Write ``path`` with ``write(file)`` whole or not at all.

    The file gets the mode an ordinary write would give it: the old file's, or
    0o666 less the umask.

    Raises
    ------
    FileNotFoundError
        The folder does not exist (the message says so).
    PermissionError
        The folder is not writable.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_atomically(folder / "a.txt", lambda f: f.write(b"whole")).read_bytes()
    b'whole'
    """
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(
            f"cannot write {path}: folder {folder} does not exist; create it"
        )
    temporary = folder / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        file = open(temporary, "xb")  # closed below, before the rename
    except PermissionError:
        raise PermissionError(
            f"cannot write {path}: folder {folder} is not writable"
        ) from None
    try:
        with file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, _new_file_mode(path))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    _sync_folder(folder)
    return path


def sha256_of_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, read in chunks.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "empty"
    >>> sha256_of_file(write_atomically(path, lambda f: None))[:16]
    'e3b0c44298fc1c14'
    """
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def remove_stale_temporaries(path: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files of writers of ``path`` that are no longer running.

    Returns
    -------
    list of Path
        The files removed.
    """
    path = Path(path)
    removed: list[Path] = []
    # .NAME.PID.tmp was the name before the random part was added.
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.(\d+)(\.[0-9a-f]+)?\.tmp$")
    try:
        candidates = list(path.parent.iterdir())
    except OSError:
        return removed
    for candidate in candidates:
        match = pattern.match(candidate.name)
        if match and not _running(int(match.group(1))):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return False  # a leftover of this process is stale too (writes are in turn)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _new_file_mode(path: Path) -> int:
    # The mode an ordinary write would give: the old file's, else 0o666 less the
    # umask (which can only be read by setting it, so another thread creating a
    # file in between sees 0o022).
    if path.exists():
        return path.stat().st_mode & 0o777
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether ``a`` and ``b`` name one file: the same resolved path, or (for files
    that exist) the same file through hard or symbolic links."""
    try:
        if Path(a).resolve() == Path(b).resolve():
            return True
        return os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python 3.11)
        return False
