"""Fetch the VGG-19 weights: resumable, verified, bounded, never a corrupt file at the end.

:func:`download_weights` streams the file into ``NAME.part`` next to its destination,
continuing an earlier partial download with an HTTP ``Range`` request (and
reconnecting by itself when the connection drops), then checks the SHA-256 of the
whole file and only then renames it to ``NAME``. If the checksum is wrong the bytes
are not thrown away silently: they are moved to ``NAME.corrupt`` (replacing an older
one) and the error names that file, so the next attempt starts afresh and the user
can inspect or delete it.

Every download, whatever its URL's scheme, goes through one bounded copy
(``_fetch``), so that a lying or hostile source costs no more than the file it
claims to be:

- **Size.** The expected size (the ``size`` argument, else ``$NAAH_WEIGHTS_SIZE``,
  else the published file's; :data:`UNKNOWN_SIZE_LIMIT` when none is known) bounds
  every read. A ``Content-Length`` that differs from it is refused before the body is
  read, a malformed one too; a body that runs on without announcing its length is
  cut off at the expected size with an error, and nothing is written past it. A
  ``file://`` URL must name a regular file (a FIFO would block, ``/dev/zero`` never
  ends).
- **Time.** A server that goes silent for :data:`TIMEOUT_S` seconds (while
  connecting, before its response or in the middle of the file) has stalled; and
  the download as a whole must keep up an average of :data:`MIN_RATE` bytes per
  second once :data:`GRACE_S` seconds have passed (:class:`Deadline`), so a server
  that trickles a byte now and then is given up too. Only a connection that
  delivered data before it dropped or stalled is tried again (and resumes).
- **Disk.** A full disk or an exceeded quota is reported as such, naming the folder
  (:class:`DownloadWriteError`), not as a lost connection; what was received stays
  in ``NAME.part`` for the next attempt.
- **URL.** A URL with spaces, control characters (CR, LF) or other characters that
  are not printable ASCII is refused before connecting, naming the setting it came
  from.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import http.client
import os
import re
import socket
import stat
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import BinaryIO, Protocol

from naah.io.locate import default_weights_path
from naah.io.weights import KNOWN_FILES, KnownFile

__all__ = ["Deadline", "DownloadError", "DownloadWriteError", "download_weights"]

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
#: The least average rate, in bytes per second, that a download must keep up once
#: :data:`GRACE_S` has passed. 50 kB/s (0.4 Mbit/s, a poor mobile link) fetches the
#: 534,904,783-byte file in 3 hours (60 s + 534,904,783 / 50,000 s = 10,758 s);
#: slower than that, a mirror or a download by hand serves the user better.
MIN_RATE = 50_000
#: Seconds a download may take before its rate counts: connecting, TLS, redirects
#: (the Internet Archive's take several seconds) and TCP's slow start.
GRACE_S = 60
#: The most bytes read when no size is expected (a ``$NAAH_WEIGHTS_SHA256`` of
#: another file, without ``$NAAH_WEIGHTS_SIZE``): twice the largest published
#: weights file naah knows (Keras' 575 MB VGG-19), so any weights file fits.
UNKNOWN_SIZE_LIMIT = 2 * max(known.size or 0 for known in KNOWN_FILES)
# Reconnections after a dropped connection, each continuing where the last stopped.
RETRIES = 3
PART_SUFFIX = ".part"
CORRUPT_SUFFIX = ".corrupt"
# What http.client sends as a request line (RFC 3986's characters are a subset):
# anything else (a space, CR, LF, non-ASCII) must be percent-encoded.
_URL_CHARACTERS = re.compile(r"[\x21-\x7e]+")


class DownloadError(OSError):
    """A download that failed or gave a file with the wrong checksum."""


class DownloadWriteError(DownloadError):
    """The download could not be written here (a full disk, a quota, permissions):
    another source would fail the same way."""


@dataclass(frozen=True)
class Deadline:
    """How slow a download may be before it is given up.

    Once ``grace_s`` seconds have passed, the bytes received must average at least
    ``min_rate`` per second over the time since: at ``t`` seconds, at least
    ``min_rate * (t - grace_s)`` bytes. A download of ``N`` bytes therefore ends
    within ``grace_s + N / min_rate`` seconds (:meth:`limit_s`: 3 hours for the 535
    MB file at the defaults), and one that falls behind that pace is given up as
    soon as it does: a server sending a byte every 10 s fails just after the grace
    period, not hours later.

    Examples
    --------
    >>> Deadline().limit_s(534_904_783) / 3600  # hours for the published file
    2.988...
    >>> Deadline(min_rate=1000, grace_s=5).behind(received=100, elapsed=6.0)
    True
    """

    min_rate: float = MIN_RATE
    grace_s: float = GRACE_S

    def __post_init__(self) -> None:
        if not self.min_rate > 0 or not self.grace_s >= 0:
            raise ValueError(
                "Deadline needs min_rate > 0 (bytes per second) and grace_s >= 0 "
                f"(seconds), got min_rate={self.min_rate!r}, grace_s={self.grace_s!r}"
            )

    def behind(self, received: int, elapsed: float) -> bool:
        """Whether ``received`` bytes in ``elapsed`` seconds fall short of the pace."""
        return received < self.min_rate * (elapsed - self.grace_s)

    def limit_s(self, size: int) -> float:
        """The most seconds a download of ``size`` bytes may take."""
        return self.grace_s + size / self.min_rate


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
    deadline: Deadline | None = None,
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
        (``naah.io.weights.KNOWN_FILES[0].url``). ``http``, ``https``, ``ftp`` or
        ``file`` (a regular file).
    sha256 : str, optional
        Expected hex SHA-256; default ``$NAAH_WEIGHTS_SHA256``, else the published
        file's.
    size : int, optional
        Expected size in bytes; default ``$NAAH_WEIGHTS_SIZE``, else the published
        file's when ``sha256`` is the published one, else unknown (then at most
        :data:`UNKNOWN_SIZE_LIMIT` bytes are read). No more than this is ever
        read or written.
    progress : bool
        Show a progress bar (tqdm, on stderr).
    retries : int
        How many times to reconnect, resuming, after the connection drops.
    timeout : float
        Seconds of silence (connecting, or between reads) after which the server
        counts as stalled; the download then fails without retrying, unless data
        had arrived since the last attempt began.
    md5 : str, optional
        Expected hex MD5, for a file published with no SHA-256 (Keras').
    deadline : Deadline, optional
        The least average rate the whole download must keep up (default
        :data:`MIN_RATE` bytes per second after :data:`GRACE_S` seconds).

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
    DownloadWriteError
        If the file cannot be written: the disk is full, a quota is exceeded, the
        folder is not writable (what arrived stays in ``NAME.part``).
    DownloadError
        If the server cannot be reached, stalls for ``timeout`` seconds, falls
        behind ``deadline`` or keeps dropping the connection (what arrived stays
        in ``NAME.part``; calling again resumes); if it announces another size
        than expected, or a malformed one (refused before reading: nothing is
        written); or if it sends more than expected, or the finished file's size
        or checksum is wrong (it is moved to ``NAME.corrupt``; calling again
        starts afresh). Nothing is ever left at ``dest`` unless verified.

    Examples
    --------
    >>> path = download_weights()  # doctest: +SKIP
    >>> path.name  # doctest: +SKIP
    'imagenet-vgg-verydeep-19.mat'
    """
    wanted = _expected(url, sha256, md5, size)
    url = wanted.url
    final = _destination(dest)
    if final.is_file() and _digest_of(final, wanted.algorithm) == wanted.digest:
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    part = final.with_name(final.name + PART_SUFFIX)
    clock = _Clock(deadline or Deadline())
    for attempt in range(retries + 1):
        try:
            _fetch(wanted, part, progress, timeout, clock)
            break
        except _Stalled as stall:
            raise DownloadError(
                f"downloading {url} failed: {stall}; the server may be down or "
                f"overloaded, try again later or set ${URL_ENV} to a mirror"
                f"{_kept(part)}"
            ) from None
        except _Refused as refusal:
            raise DownloadError(
                f"downloading {url} was refused: {refusal}; nothing was written. "
                f"{wanted.advice(refusal.by_size)}"
            ) from None
        except _TooLong as excess:
            _set_aside(part, final, url, str(excess))
        except _WriteFailed as failure:
            raise DownloadWriteError(
                f"downloading {url} failed: {failure}{_kept(part)}"
            ) from None
        except _Interrupted as interruption:
            if attempt == retries:
                raise DownloadError(
                    f"downloading {url} failed: {interruption}{_kept(part)}"
                ) from None
    _verify(part, final, wanted)
    os.replace(part, final)
    return final


class _Interrupted(Exception):
    """A transfer that stopped early but may be resumed."""


class _Stalled(Exception):
    """A server that sent nothing for the whole timeout, or too little for the
    deadline: not worth retrying."""


class _Refused(Exception):
    """A source that is not the expected file, known before its body is read:
    by its size (``by_size``) or by what the URL names."""

    def __init__(self, reason: str, *, by_size: bool = True) -> None:
        super().__init__(reason)
        self.by_size = by_size


class _TooLong(Exception):
    """A body that ran past the expected size (cut off there)."""


class _WriteFailed(Exception):
    """The part file could not be written (not the connection's fault)."""


@dataclass(frozen=True)
class _Wanted:
    """What to fetch, how to check it, and where each expectation came from."""

    url: str
    url_origin: str  # "url", "$NAAH_WEIGHTS_URL" or "the published URL"
    algorithm: str  # "sha256" or "md5"
    digest: str
    size: int | None
    size_origin: str  # "size", "$NAAH_WEIGHTS_SIZE", or "" when unknown

    @property
    def limit(self) -> int:
        """The most bytes the file may have."""
        return UNKNOWN_SIZE_LIMIT if self.size is None else self.size

    @property
    def published(self) -> KnownFile | None:
        """The published file this is, by size and checksum, if any."""
        return next(
            (known for known in KNOWN_FILES if known.size == self.size
             and self.digest in (known.sha256, known.md5)),
            None,
        )  # fmt: skip

    def expectation(self) -> str:
        if self.size is None:
            return (
                f"at most {UNKNOWN_SIZE_LIMIT:,} bytes are accepted when no size is "
                f"expected (${SIZE_ENV} sets it)"
            )
        known = self.published
        origin = f"{known.name}'s published size" if known else self.size_origin
        return f"{self.size:,} bytes are expected ({origin})"

    def advice(self, by_size: bool = True) -> str:
        """How to fix a source that is not the expected file (told ``by_size``)."""
        known = self.published
        if known is not None:
            return (
                f"This source does not serve {known.name} as published; use another "
                f"(${URL_ENV} sets a mirror)"
            )
        if not by_size:
            return f"Check {self.url_origin}"
        if self.size is None:
            return f"Check {self.url_origin}, or set ${SIZE_ENV} to the file's size"
        return f"Check {self.url_origin} and {self.size_origin}"


def _expected(
    url: str | None, sha256: str | None, md5: str | None, size: int | None
) -> _Wanted:
    url, url_origin = _given_or_env(url, URL_ENV, "url")
    if not url:
        url, url_origin = _DEFAULT.url, "the published URL"
    _check_url(url, url_origin)
    size, size_origin = _expected_size(size)
    if md5 is not None and sha256 is None:  # a file published with an MD5 only
        if not re.fullmatch(r"[0-9a-f]{32}", md5.lower()):
            raise ValueError(f"md5 must be 32 hex digits, got {md5!r}")
        return _Wanted(url, url_origin, "md5", md5.lower(), size, size_origin)
    sha256, sha_origin = _given_or_env(sha256, SHA256_ENV, "sha256")
    # KnownFile.sha256 is optional (old releases have only an MD5); an empty one
    # fails the 64-hex-digit check below rather than slipping through.
    sha256 = (sha256 or _DEFAULT.sha256 or "").lower()
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError(f"{sha_origin} must be 64 hex digits, got {sha256!r}")
    if size is None and sha256 == _DEFAULT.sha256:
        size, size_origin = _DEFAULT.size, "the published size"
    return _Wanted(url, url_origin, "sha256", sha256, size, size_origin)


def _check_url(url: str, origin: str) -> None:
    if not _URL_CHARACTERS.fullmatch(url):
        raise ValueError(
            f"{origin} must be a URL without spaces, control characters (CR, LF) or "
            f"non-ASCII characters (percent-encode them: %20, %C3%A9), got {url!r}"
        )
    try:
        urllib.request.Request(url)
    except ValueError as error:
        raise ValueError(
            f"{origin} must be a URL such as {_DEFAULT.url}, got {url!r} ({error})"
        ) from None


def _expected_size(size: int | None) -> tuple[int | None, str]:
    if size is not None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"size must be a whole number of bytes, got {size!r}")
        return size, "size"
    if os.environ.get(SIZE_ENV):
        return _size_from_env(os.environ[SIZE_ENV]), f"${SIZE_ENV}"
    return None, ""


def _given_or_env(value: str | None, variable: str, argument: str) -> tuple[str, str]:
    """``value``, else the environment variable's, with what to call it in errors."""
    if value:
        return value, argument
    return os.environ.get(variable, ""), f"${variable}"


def _size_from_env(text: str) -> int:
    size = int(text) if re.fullmatch(r"\s*\d{1,18}\s*", text) else -1
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


class _Clock:
    """The bytes a download has received since it began, held to its deadline."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self.started = time.monotonic()
        self.received = 0

    def count(self, received: int) -> None:
        self.received += received
        self.check()

    def check(self) -> None:
        """Raise _Stalled if the download has fallen behind its deadline."""
        elapsed = time.monotonic() - self.started
        if self.deadline.behind(self.received, elapsed):
            rate = self.received / elapsed
            shown = f"{rate:,.0f}" if rate >= 10 else f"{rate:.2g}"
            took = f"{elapsed:,.0f}" if elapsed >= 100 else f"{elapsed:.3g}"
            raise _Stalled(
                f"it sent {self.received:,} bytes in {took} s ({shown} "
                f"bytes/s), under the minimum average of "
                f"{self.deadline.min_rate:,.0f} bytes/s after the first "
                f"{self.deadline.grace_s:g} s"
            )


def _fetch(
    wanted: _Wanted, part: Path, progress: bool, timeout: float, clock: _Clock
) -> None:
    """Append the rest of the file to ``part``, at most up to ``wanted.limit``
    bytes. Raise _Interrupted if cut short, _Stalled if the server sent nothing for
    ``timeout`` seconds or fell behind the clock's deadline, _Refused if it is not
    the expected file, _TooLong if it sent more, _WriteFailed if ``part`` could
    not be written."""
    clock.check()
    offset = part.stat().st_size if part.exists() else 0
    if offset > wanted.limit:
        offset = 0  # not a prefix of the wanted file: start again
    if wanted.size is not None and offset == wanted.size:
        return
    _check_local_file(wanted.url)
    request = urllib.request.Request(wanted.url)
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:  # nothing after offset: part is complete
            return
        raise DownloadError(
            f"downloading {wanted.url} failed: HTTP {error.code} {error.reason}"
        ) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", error)
        if isinstance(reason, socket.timeout):
            raise _Stalled(
                f"no response within {timeout:g} s of connecting (timed out)"
            ) from None
        raise _Interrupted(f"cannot connect ({reason})") from None
    with response:
        offset = _resume_offset(response, offset)
        length = _announced_length(response.headers, offset, wanted)
        # Never more than announced (http.client stops there, a file:// URL's
        # response does not), nor than the file may have.
        bound = (
            (wanted.limit - offset, f"the file may have: {wanted.expectation()}")
            if length is None
            else (length, f"the {length:,} bytes its Content-Length announced")
        )
        total = wanted.size
        if total is None and length is not None:
            total = offset + length
        with (
            _writing(part, append=bool(offset)) as out,
            _bar(part.name[: -len(PART_SUFFIX)], total, offset, progress) as bar,
        ):
            copied = _copy(response, out, bar, timeout, clock, *bound)
    if length is not None and copied < length:
        raise _Interrupted(f"connection closed after {offset + copied:,} bytes")


def _check_local_file(url: str) -> None:
    """Refuse a ``file://`` URL to anything but a regular file (FIFO, device)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() != "file":
        return
    path = urllib.request.url2pathname(parts.path)
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # urlopen says what is wrong with it
    if not stat.S_ISREG(mode):
        raise _Refused(
            f"{path} is {_kind(mode)}, not a regular file: a file:// URL must name "
            "the weights file itself",
            by_size=False,
        )


def _kind(mode: int) -> str:
    kinds = [(stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket")]  # fmt: skip
    return next((name for test, name in kinds if test(mode)), "a special file")


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


def _announced_length(headers: Message, offset: int, wanted: _Wanted) -> int | None:
    """The body's length from its Content-Length header (None if absent); _Refused
    if malformed or if the file would not have the expected size."""
    values = {" ".join(str(v).split()) for v in headers.get_all("Content-Length", [])}
    if not values:
        return None
    text = ", ".join(sorted(values))
    if not re.fullmatch(r"\d+", text):
        raise _Refused(
            f"the server sent a malformed Content-Length header ({text[:40]!r}), not "
            "one whole number of bytes",
            by_size=False,
        )
    # More digits than any size expected (and than int() takes from a string).
    length = int(text) if len(text) <= 18 else 10**18
    announced = (
        f"{length:,} bytes"
        if not offset
        else f"{length:,} bytes from byte {offset:,} on ({offset + length:,} in all)"
    )
    if wanted.size is not None and offset + length != wanted.size:
        raise _Refused(
            f"the server announces {announced} (Content-Length), but "
            f"{wanted.expectation()}"
        )
    if offset + length > wanted.limit:
        raise _Refused(f"the server announces {announced}, but {wanted.expectation()}")
    return length


def _copy(
    response: http.client.HTTPResponse,
    out: BinaryIO,
    bar: _Progress,
    timeout: float,
    clock: _Clock,
    room: int,
    why: str,
) -> int:
    """Copy the body into ``out``, at most ``room`` bytes (``why``: what sets that
    bound); return how many bytes were copied."""
    copied = 0
    try:
        # read1: what has arrived, at most CHUNK_BYTES, so a stall loses nothing
        # received (read() would wait for a whole chunk and drop it on a timeout).
        # One byte more than there is room for tells a body that runs on.
        while chunk := response.read1(min(CHUNK_BYTES, room - copied + 1)):
            if copied + len(chunk) > room:
                _write(out, chunk[: room - copied])
                raise _TooLong(
                    f"the source sent more than {why}; the transfer was cut off there"
                )
            _write(out, chunk)
            copied += len(chunk)
            bar.update(len(chunk))
            clock.count(len(chunk))
    except (http.client.IncompleteRead, OSError) as error:
        if isinstance(error, socket.timeout) and not copied:
            raise _Stalled(
                f"the server sent no data for {timeout:g} s (timed out)"
            ) from None
        raise _Interrupted(
            f"connection lost after {copied:,} bytes of the body "
            f"({type(error).__name__})"
        ) from None
    return copied


@contextlib.contextmanager
def _writing(part: Path, *, append: bool) -> Iterator[BinaryIO]:
    """``part`` open for writing; any failure to write it (opening, writing,
    flushing at the end) is a _WriteFailed."""
    try:
        out = open(part, "ab" if append else "wb")
    except OSError as error:
        raise _write_failed(part, error) from None
    try:
        yield out
    finally:
        try:
            out.close()
        except OSError as error:
            raise _write_failed(part, error) from None


def _write(out: BinaryIO, chunk: bytes) -> None:
    try:
        out.write(chunk)
    except OSError as error:
        raise _write_failed(Path(out.name), error) from None


def _write_failed(part: Path, error: OSError) -> _WriteFailed:
    causes = {
        errno.ENOSPC: "no space left on the device holding",
        errno.EDQUOT: "the disk quota is exceeded for",
    }
    if error.errno in causes:
        return _WriteFailed(
            f"{causes[error.errno]} {part.parent} (writing {part.name}); free space "
            "there or download elsewhere (dest, naah weights download --dest, or "
            "$NAAH_CACHE)"
        )
    return _WriteFailed(
        f"cannot write {part} ({error.strerror or error}); choose another "
        "destination (dest, naah weights download --dest, or $NAAH_CACHE)"
    )


def _verify(part: Path, final: Path, wanted: _Wanted) -> None:
    got_size = part.stat().st_size
    problem = None
    if wanted.size is not None and got_size != wanted.size:
        problem = f"it has {got_size:,} bytes, expected {wanted.size:,}"
    else:
        digest = _digest_of(part, wanted.algorithm)
        if digest != wanted.digest:
            name = {"sha256": "SHA-256", "md5": "MD5"}[wanted.algorithm]
            problem = f"its {name} is {digest}, expected {wanted.digest}"
    if problem:
        _set_aside(part, final, wanted.url, problem)


def _set_aside(part: Path, final: Path, url: str, problem: str) -> None:
    """Move ``part`` to ``NAME.corrupt`` and raise a DownloadError saying why."""
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
