"""Fetch the VGG-19 weights: resumable, verified, never a corrupt file at the end.

:func:`download_weights` streams the file into ``NAME.part`` next to its destination,
continuing an earlier partial download with an HTTP ``Range`` request (and
reconnecting by itself when the connection drops), then checks the SHA-256 of the
whole file and only then renames it to ``NAME``. If the checksum is wrong the bytes
are not thrown away silently: they are moved to ``NAME.corrupt`` (replacing an older
one) and the error names that file, so the next attempt starts afresh and the user
can inspect or delete it.

A server that goes silent is given up on after :data:`TIMEOUT_S` seconds, whether
it stalls while connecting, before its response or in the middle of the file; only
a connection that delivered data before it stalled is tried again (and resumes).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import re
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO, Protocol

from naah.io.locate import default_weights_path
from naah.io.weights import KNOWN_FILES

__all__ = ["DownloadError", "download_weights"]

#: Environment variables overriding the download URL, its SHA-256 and size (for
#: mirrors and tests); arguments of :func:`download_weights` take precedence.
URL_ENV = "NAAH_WEIGHTS_URL"
SHA256_ENV = "NAAH_WEIGHTS_SHA256"
SIZE_ENV = "NAAH_WEIGHTS_SIZE"

_DEFAULT = KNOWN_FILES[0]  # imagenet-vgg-verydeep-19.mat, current MatConvNet release
# 1 MiB reads: few system calls, and a smooth progress bar for a 535 MB file.
CHUNK_BYTES = 1 << 20
#: Seconds a connection may stay silent (while connecting, or between two reads)
#: before it counts as stalled. A stalled server is not retried, so this bounds how
#: long a dead server can hold a download up.
TIMEOUT_S = 30
# Reconnections after a dropped connection, each continuing where the last stopped.
RETRIES = 3
PART_SUFFIX = ".part"
CORRUPT_SUFFIX = ".corrupt"


class DownloadError(OSError):
    """A download that failed or gave a file with the wrong checksum."""


def download_weights(
    dest: str | os.PathLike | None = None,
    *,
    url: str | None = None,
    sha256: str | None = None,
    size: int | None = None,
    progress: bool = True,
    retries: int = RETRIES,
    timeout: float = TIMEOUT_S,
    md5: str | None = None,
) -> Path:
    """Download ``imagenet-vgg-verydeep-19.mat`` and verify its SHA-256.

    Parameters
    ----------
    dest : str, PathLike or None
        The file to write, or an existing directory to put it in. Default: naah's
        cache (:func:`naah.io.locate.default_weights_path`), where
        :class:`naah.StyleTransfer` and ``naah stylize`` look.
    url : str, optional
        Where to fetch it; default ``$NAAH_WEIGHTS_URL``, else MatConvNet's URL
        (``naah.io.weights.KNOWN_FILES[0].url``).
    sha256 : str, optional
        Expected hex SHA-256; default ``$NAAH_WEIGHTS_SHA256``, else the published
        file's.
    size : int, optional
        Expected size in bytes; default ``$NAAH_WEIGHTS_SIZE``, else the published
        file's when ``sha256`` is the published one, else unchecked.
    progress : bool
        Show a progress bar (tqdm, on stderr).
    retries : int
        How many times to reconnect, resuming, after the connection drops.
    timeout : float
        Seconds of silence (connecting, or between reads) after which the server
        counts as stalled; the download then fails without retrying, unless data
        had arrived since the last attempt began.

    Returns
    -------
    Path
        The verified file. If it was already there with the right checksum, nothing
        is downloaded.

    Raises
    ------
    ValueError
        If ``url``, ``sha256`` or ``size`` (or the environment variable each
        defaults to, which the message names) is malformed.
    DownloadError
        If the server cannot be reached, stalls for ``timeout`` seconds or keeps
        dropping the connection (what arrived stays in ``NAME.part``; calling
        again resumes), or the finished
        file's size or checksum is wrong (it is moved to ``NAME.corrupt``; calling
        again starts afresh). Nothing is ever left at ``dest`` unless verified.

    Examples
    --------
    >>> path = download_weights()  # doctest: +SKIP
    >>> path.name  # doctest: +SKIP
    'imagenet-vgg-verydeep-19.mat'
    """
    url, check, size = _expected(url, sha256, md5, size)
    final = _destination(dest)
    if final.is_file() and _digest_of(final, check[0]) == check[1]:
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    part = final.with_name(final.name + PART_SUFFIX)
    for attempt in range(retries + 1):
        try:
            _fetch(url, part, size, progress, timeout)
            break
        except _Stalled as stall:
            raise DownloadError(
                f"downloading {url} failed: {stall}; the server may be down, try "
                f"again later or set ${URL_ENV} to a mirror{_kept(part)}"
            ) from None
        except _Interrupted as interruption:
            if attempt == retries:
                raise DownloadError(
                    f"downloading {url} failed: {interruption}{_kept(part)}"
                ) from None
    _verify(part, final, url, check, size)
    os.replace(part, final)
    return final


class _Interrupted(Exception):
    """A transfer that stopped early but may be resumed."""


class _Stalled(Exception):
    """A server that sent nothing for the whole timeout: not worth retrying."""


def _expected(
    url: str | None, sha256: str | None, md5: str | None, size: int | None
) -> tuple[str, tuple[str, str], int | None]:
    url, url_origin = _given_or_env(url, URL_ENV, "url")
    url = url or _DEFAULT.url
    try:
        urllib.request.Request(url)
    except ValueError as error:
        raise ValueError(
            f"{url_origin} must be a URL such as {_DEFAULT.url}, got {url!r} ({error})"
        ) from None
    if md5 is not None and sha256 is None:  # a file published with an MD5 only
        if not re.fullmatch(r"[0-9a-f]{32}", md5.lower()):
            raise ValueError(f"md5 must be 32 hex digits, got {md5!r}")
        return url, ("md5", md5.lower()), size
    sha256, sha_origin = _given_or_env(sha256, SHA256_ENV, "sha256")
    # KnownFile.sha256 is optional (old releases have only an MD5); an empty one
    # fails the 64-hex-digit check below rather than slipping through.
    sha256 = (sha256 or _DEFAULT.sha256 or "").lower()
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError(f"{sha_origin} must be 64 hex digits, got {sha256!r}")
    if size is None and os.environ.get(SIZE_ENV):
        size = _size_from_env(os.environ[SIZE_ENV])
    if size is None and sha256 == _DEFAULT.sha256:
        size = _DEFAULT.size
    return url, ("sha256", sha256), size


def _given_or_env(value: str | None, variable: str, argument: str) -> tuple[str, str]:
    """``value``, else the environment variable's, with what to call it in errors."""
    if value:
        return value, argument
    return os.environ.get(variable, ""), f"${variable}"


def _size_from_env(text: str) -> int:
    try:
        size = int(text)
    except ValueError:
        size = -1
    if size < 0:
        raise ValueError(
            f"${SIZE_ENV} must be the file's size in bytes, a whole number such as "
            f"{_DEFAULT.size}, got {text!r}; fix or unset it"
        )
    return size


def _destination(dest: str | os.PathLike[str] | None) -> Path:
    if dest is None:
        return default_weights_path()
    path = Path(dest).expanduser()
    return path / _DEFAULT.name if path.is_dir() else path


def _fetch(
    url: str, part: Path, size: int | None, progress: bool, timeout: float
) -> None:
    """Append the rest of the file to ``part``; raise _Interrupted if cut short,
    _Stalled if the server sent nothing for ``timeout`` seconds."""
    offset = part.stat().st_size if part.exists() else 0
    if size is not None and offset > size:
        offset = 0  # not a prefix of the wanted file: start again
    if size is not None and offset == size:
        return
    request = urllib.request.Request(url)
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:  # nothing after offset: part is complete
            return
        raise DownloadError(
            f"downloading {url} failed: HTTP {error.code} {error.reason}"
        ) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        if isinstance(reason, socket.timeout):
            raise _Stalled(
                f"no response within {timeout:g} s of connecting (timed out)"
            ) from None
        raise _Interrupted(f"cannot connect ({reason})") from None
    with response:
        offset = _resume_offset(response, offset)
        length = response.headers.get("Content-Length")
        total = size if size is not None else None
        if total is None and length is not None:
            total = offset + int(length)
        with (
            open(part, "ab" if offset else "wb") as out,
            _bar(part.name[: -len(PART_SUFFIX)], total, offset, progress) as bar,
        ):
            _copy(response, out, bar, timeout)
            received = out.tell()
    if length is not None and received < offset + int(length):
        raise _Interrupted(f"connection closed after {received:,} bytes")


def _resume_offset(response: http.client.HTTPResponse, offset: int) -> int:
    """Where the response's body starts in the file: ``offset`` or 0."""
    if response.status != 206:
        return 0  # the server ignored Range and sends the whole file
    match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
    if not match or int(match.group(1)) != offset:
        raise _Interrupted(
            f"the server resumed at byte {match.group(1) if match else '?'} instead "
            f"of {offset}"
        )
    return offset


def _copy(
    response: http.client.HTTPResponse, out: BinaryIO, bar: _Progress, timeout: float
) -> None:
    start = out.tell()
    try:
        # read1: what has arrived, at most CHUNK_BYTES, so a stall loses nothing
        # received (read() would wait for a whole chunk and drop it on a timeout).
        while chunk := response.read1(CHUNK_BYTES):
            out.write(chunk)
            bar.update(len(chunk))
    except (http.client.IncompleteRead, OSError) as error:
        out.flush()
        if isinstance(error, socket.timeout) and out.tell() == start:
            raise _Stalled(
                f"the server sent no data for {timeout:g} s (timed out)"
            ) from None
        raise _Interrupted(
            f"connection lost after {out.tell():,} bytes ({type(error).__name__})"
        ) from None


def _verify(
    part: Path, final: Path, url: str, check: tuple[str, str], size: int | None
) -> None:
    got_size = part.stat().st_size
    problem = None
    if size is not None and got_size != size:
        problem = f"it has {got_size:,} bytes, expected {size:,}"
    else:
        algorithm, expected = check
        digest = _digest_of(part, algorithm)
        if digest != expected:
            name = {"sha256": "SHA-256", "md5": "MD5"}[algorithm]
            problem = f"its {name} is {digest}, expected {expected}"
    if problem:
        corrupt = final.with_name(final.name + CORRUPT_SUFFIX)
        os.replace(part, corrupt)
        raise DownloadError(
            f"the file downloaded from {url} is not the expected one: {problem}. It "
            f"was moved to {corrupt} (delete it when done); running the download "
            "again starts from scratch"
        )


def _digest_of(path: Path, algorithm: str) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, algorithm).hexdigest()


def _kept(part: Path) -> str:
    count = part.stat().st_size if part.exists() else 0
    if not count:
        return ""
    return (
        f"; the {count:,} bytes received are kept in {part} and running the "
        "download again resumes from there"
    )


class _Progress(Protocol):
    """What _copy needs of a progress bar (tqdm's, or _NoBar)."""

    def update(self, n: int) -> object: ...


def _bar(
    name: str, total: int | None, initial: int, enabled: bool
) -> contextlib.AbstractContextManager[_Progress]:
    if not enabled:
        return contextlib.nullcontext(_NoBar())
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=name,
    )


class _NoBar:
    def update(self, n: int) -> None:
        pass
