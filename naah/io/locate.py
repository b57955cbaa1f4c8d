"""Where naah looks for the VGG-19 weights: ``--weights``, ``$NAAH_WEIGHTS``, cache."""

from __future__ import annotations

import os
from pathlib import Path

from naah.io.weights import KNOWN_FILES

#: Environment variable naming a weights file.
WEIGHTS_ENV = "NAAH_WEIGHTS"
#: Environment variable overriding the per-user cache folder.
CACHE_ENV = "NAAH_CACHE"

_DEFAULT = KNOWN_FILES[0]  # imagenet-vgg-verydeep-19.mat, current release


class WeightsNotFoundError(FileNotFoundError):
    """No weights file was given and none was found where naah looks."""


def cache_dir() -> Path:
    """The per-user cache folder: ``$NAAH_CACHE``, else ``$XDG_CACHE_HOME/naah``,
    else ``~/.cache/naah``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "naah"


def default_weights_path() -> Path:
    """Where ``naah weights download`` puts the weights file."""
    return cache_dir() / _DEFAULT.name


def find_weights(explicit: str | os.PathLike | None = None) -> Path:
    """The weights file to use: ``explicit``, then ``$NAAH_WEIGHTS``, then the cache.

    Raises
    ------
    WeightsNotFoundError
        With a message naming the file needed, where it is published, its size and
        checksum, and where to put it.
    """
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise WeightsNotFoundError(f"weights file {str(path)!r} does not exist")
        return path
    if os.environ.get(WEIGHTS_ENV):
        path = Path(os.environ[WEIGHTS_ENV]).expanduser()
        if not path.is_file():
            raise WeightsNotFoundError(
                f"${WEIGHTS_ENV} is set to {str(path)!r}, which does not exist; "
                "fix or unset it"
            )
        return path
    cached = default_weights_path()
    if cached.is_file():
        return cached
    raise WeightsNotFoundError(missing_weights_message())


def missing_weights_message() -> str:
    """What to do when no weights file is found."""
    return (
        f"naah needs the pretrained VGG-19 weights {_DEFAULT.name} "
        f"({_DEFAULT.size:,} bytes, SHA-256 {_DEFAULT.sha256}), published with "
        f"MatConvNet at {_DEFAULT.url}. Run 'naah weights download' to fetch it into "
        f"{default_weights_path()}, or download it yourself and pass --weights PATH "
        f"(Python: weights=PATH) or set ${WEIGHTS_ENV}=PATH."
    )
