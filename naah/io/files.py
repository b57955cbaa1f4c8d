"""Writing a file whole or not at all.

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
import hashlib
import os
import re
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO

# What a file that is not a regular one is, for messages (stat's S_IFMT bits).
_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}
# The kernel's pseudo-filesystems: their files are "regular" with a size of 0, yet
# reading them gives anything (/proc/self/mem: an I/O error; /proc/kcore: gigabytes).
PSEUDO_FILESYSTEMS = ("/proc", "/sys")


def check_regular_file(path: str | os.PathLike[str], what: str) -> Path:
    """``path`` as a Path, once it is known to be a regular file.

    The file is looked at (``stat``, following links), never opened, so a FIFO does
    not block and a device is not read.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    what : str
        What it is, for messages: ``"content image"``, ``"--jobs file"``.

    Raises
    ------
    FileNotFoundError
        Nothing is at ``path``.
    ValueError
        It is a directory, a FIFO, a device, a socket or a kernel pseudo-file
        (under /proc or /sys); the message names ``what`` and the path.

    Examples
    --------
    >>> import tempfile
    >>> check_regular_file(tempfile.mkdtemp(), "content image")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: content image '...' is not a regular file (a directory): give a file
    """
    path = Path(path)
    try:
        status = path.stat()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{what} {os.fspath(path)!r} does not exist; check the path"
        ) from None
    kind = _KINDS.get(stat.S_IFMT(status.st_mode), "not a file")
    if stat.S_ISREG(status.st_mode):
        pseudo = _pseudo_filesystem(status.st_dev)
        if pseudo is None:
            return path
        kind = f"a kernel pseudo-file in {pseudo}"
    raise ValueError(
        f"{what} {os.fspath(path)!r} is not a regular file ({kind}): give a file"
    )


def _pseudo_filesystem(device: int) -> str | None:
    """The pseudo-filesystem mounted on the device ``device``, if it is one."""
    for mount in PSEUDO_FILESYSTEMS:
        try:
            if os.stat(mount).st_dev == device:
                return mount
        except OSError:  # not there (macOS, Windows)
            continue
    return None


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
