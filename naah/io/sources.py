"""Where the VGG-19 weights come from, and fetching them on first use.

:func:`ensure_weights` is what :class:`naah.StyleTransfer` and ``naah stylize`` call:
it finds the weights (:func:`naah.io.locate.find_weights`) or, when none are found
and downloading is allowed, fetches them into the cache and goes on. Sources are
tried in order, each verified by the published checksum, so a mirror can serve no
file but the right one:

1. ``$NAAH_WEIGHTS_URL`` (with ``$NAAH_WEIGHTS_SHA256`` / ``$NAAH_WEIGHTS_SIZE``),
   when set: the user's own mirror first;
2. MatConvNet's official URL (:data:`SOURCES`, ``"matconvnet"``);
3. the same file over plain HTTP (the host's TLS certificate has expired before;
   the checksum, not the transport, is what vouches for the file);
4. the Internet Archive's copy of the official URL.

Each source is held to the bounds of :mod:`naah.io.download`: no more than the
expected size is read (a source announcing another size is refused before its body),
a stalled source is given up after :data:`naah.io.download.TIMEOUT_S` seconds, a slow
one once it falls below :data:`naah.io.download.MIN_RATE` bytes per second on average
(after :data:`naah.io.download.GRACE_S` seconds). The final error lists every source
tried and how to fetch the file by hand; a disk that is full stops at once, as every
other source would fail the same way.

``keras-notop`` is Keras' ``vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5``: the
same VGG-19 convolutions in 80 MB instead of 535, checked by its published MD5. It
lacks fc6-fc8, so it serves style transfer but not classification.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from naah.io.download import (
    SHA256_ENV,
    SIZE_ENV,
    TIMEOUT_S,
    URL_ENV,
    Deadline,
    DownloadError,
    DownloadWriteError,
    download_weights,
)
from naah.io.locate import (
    WeightsNotFoundError,
    cache_dir,
    default_weights_path,
    find_weights,
)
from naah.io.weights import KNOWN_FILES, KnownFile

__all__ = [
    "NO_DOWNLOAD_ENV",
    "SOURCES",
    "Source",
    "downloads_allowed",
    "ensure_weights",
    "fetch_weights",
]

#: ``NAAH_NO_DOWNLOAD=1`` makes :func:`ensure_weights` refuse to download.
NO_DOWNLOAD_ENV = "NAAH_NO_DOWNLOAD"
_MATCONVNET, _KERAS_NOTOP = KNOWN_FILES[0], KNOWN_FILES[3]
_OFFICIAL = _MATCONVNET.url
_KERAS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
    "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
)


@dataclass(frozen=True)
class Source:
    """One place a weights file can be fetched from."""

    url: str
    file: KnownFile
    note: str


#: The sources of each file, in the order they are tried (docs: README, "Weights").
SOURCES: dict[str, tuple[Source, ...]] = {
    "matconvnet": (
        Source(_OFFICIAL, _MATCONVNET, "MatConvNet's official URL"),
        Source(
            _OFFICIAL.replace("https://", "http://", 1),
            _MATCONVNET,
            "the same host over plain HTTP",
        ),
        Source(
            f"https://web.archive.org/web/2020id_/{_OFFICIAL}",
            _MATCONVNET,
            "the Internet Archive's copy of the official URL",
        ),
    ),
    "keras-notop": (
        Source(_KERAS_URL, _KERAS_NOTOP, "Keras' official URL"),
        Source(
            "https://github.com/fchollet/deep-learning-models/releases/download/"
            f"v0.1/{_KERAS_NOTOP.name}",
            _KERAS_NOTOP,
            "the Keras models' GitHub release",
        ),
    ),
}


def downloads_allowed(download: bool | None = None) -> bool:
    """``download`` if given, else False when ``$NAAH_NO_DOWNLOAD`` is set (to
    anything but ``0``)."""
    if download is not None:
        return download
    return os.environ.get(NO_DOWNLOAD_ENV, "0").strip() in ("", "0")


def ensure_weights(
    path: str | os.PathLike | None = None,
    *,
    download: bool | None = None,
    progress: bool = True,
) -> Path:
    """The weights file to use: found, or fetched into the cache on first use.

    Parameters
    ----------
    path : path, optional
        A file given by the user: it must exist (nothing is downloaded for it).
    download : bool, optional
        Allow downloading; default: yes unless ``$NAAH_NO_DOWNLOAD`` is set.
    progress : bool
        The download's progress bar (size, speed, ETA).

    Raises
    ------
    WeightsNotFoundError
        If nothing is found and downloading is not allowed (at once, saying how
        to get the file).
    DownloadError
        If every source failed (the message lists them).
    """
    try:
        return find_weights(path)
    except WeightsNotFoundError:
        if path is not None or not downloads_allowed(download):
            raise
    return fetch_weights(progress=progress)


def fetch_weights(
    source: str = "matconvnet",
    *,
    dest: str | os.PathLike | None = None,
    progress: bool = True,
    timeout: float = TIMEOUT_S,
    deadline: Deadline | None = None,
) -> Path:
    """Download ``source``'s file, trying its sources in order (the user's
    ``$NAAH_WEIGHTS_URL`` first), each verified by the published checksum.

    Parameters
    ----------
    source : {'matconvnet', 'keras-notop'}
    dest : path, optional
        The file or an existing folder; default naah's cache, where the weights
        are looked for.
    progress : bool
    timeout : float
        Seconds without data before a source counts as stalled.
    deadline : Deadline, optional
        The least average rate a source must keep up (default
        :data:`naah.io.download.MIN_RATE` bytes per second after
        :data:`naah.io.download.GRACE_S` seconds); a slower one is given up.

    Returns
    -------
    Path

    Raises
    ------
    DownloadWriteError
        If the file cannot be written (a full disk: no other source is tried).
    DownloadError
        Listing every source tried, why each failed, and how to fetch by hand.
    ValueError
        If ``$NAAH_WEIGHTS_URL``, ``$NAAH_WEIGHTS_SHA256`` or ``$NAAH_WEIGHTS_SIZE``
        is malformed (at once, naming it).
    """
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; choose one of {list(SOURCES)}")
    candidates = SOURCES[source]
    known = candidates[0].file
    target = _target(dest, known)
    attempts: list[tuple[str, str]] = []
    own = os.environ.get(URL_ENV)
    if own and source == "matconvnet":
        try:  # the user's mirror, checked as $NAAH_WEIGHTS_SHA256 / _SIZE say; read
            # from the environment by download_weights, so its errors name them
            return download_weights(
                target, progress=progress, timeout=timeout, deadline=deadline
            )
        except DownloadWriteError:
            raise
        except (DownloadError, OSError) as error:
            attempts.append((own, _reason(error)))
    for candidate in candidates:
        try:
            return download_weights(
                target,
                url=candidate.url,
                sha256=known.sha256,
                md5=None if known.sha256 else known.md5,
                size=known.size,
                progress=progress,
                timeout=timeout,
                deadline=deadline,
            )
        except DownloadWriteError:
            raise
        except (DownloadError, OSError) as error:
            attempts.append((candidate.url, _reason(error)))
    tried = "; ".join(f"{url}: {why}" for url, why in attempts)
    raise DownloadError(
        f"could not download {known.name} from any source ({tried}). Fetch it by "
        f"hand from {candidates[0].url} into {target}, or pass its path with "
        f"--weights / $NAAH_WEIGHTS; ${URL_ENV} (with ${SHA256_ENV}, ${SIZE_ENV}) "
        "adds a mirror"
    )


def _target(dest: str | os.PathLike | None, known: KnownFile) -> Path:
    if dest is None:
        return (
            default_weights_path() if known is _MATCONVNET else cache_dir() / known.name
        )
    path = Path(dest).expanduser()
    return path / known.name if path.is_dir() else path


def _reason(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
