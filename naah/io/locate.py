"""Where naah looks for the VGG-19 weights: ``--weights``, ``$NAAH_WEIGHTS``, cache."""

from __future__ import annotations

import os
from pathlib import Path

from naah.io.weights import KNOWN_FILES

__all__ = [
    "CACHE_ENV",
    "WEIGHTS_ENV",
    "WeightsNotFoundError",
    "cache_dir",
    "default_weights_path",
    "find_weights",
    "missing_weights_message",
    "search_order",
]

#: Environment variable naming a weights file.
WEIGHTS_ENV = "NAAH_WEIGHTS"
#: Environment variable overriding the per-user cache folder.
CACHE_ENV = "NAAH_CACHE"

_DEFAULT = KNOWN_FILES[0]  # imagenet-vgg-verydeep-19.mat, current release


class WeightsNotFoundError(FileNotFoundError):
    """No weights file was given and none was found where naah looks."""


def cache_dir() -> Path:
    """The per-user cache folder: ``$NAAH_CACHE``, else ``$XDG_CACHE_HOME/naah``,
    else ``~/.cache/naah``.

    Raises
    ------
    ValueError
        If the variable in use starts with a ``~`` that names no user (the
        message names the variable).
    """
    if os.environ.get(CACHE_ENV):
        return _expand(os.environ[CACHE_ENV], f"${CACHE_ENV}")
    if os.environ.get("XDG_CACHE_HOME"):
        return _expand(os.environ["XDG_CACHE_HOME"], "$XDG_CACHE_HOME") / "naah"
    return _expand("~/.cache", "the home folder ($HOME)") / "naah"


def _expand(text: str | os.PathLike, what: str) -> Path:
    """``text`` as a path with ``~`` expanded; ``what`` names it in the error."""
    try:
        return Path(text).expanduser()
    except RuntimeError as error:  # "~someone" with no such user, or no home
        raise ValueError(
            f"{what} is {os.fspath(text)!r}, whose '~' cannot be expanded "
            f"({error}); give a full path"
        ) from None


def default_weights_path() -> Path:
    """Where ``naah weights download`` puts the weights file."""
    return cache_dir() / _DEFAULT.name


def search_order(explicit: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """The places :func:`find_weights` tries, in order, as (label, path) pairs.

    Only the places that apply are listed: ``explicit`` if given, ``$NAAH_WEIGHTS``
    if set, and always the cache (MatConvNet's file, then Keras' ``_notop`` file
    that ``naah weights download --source keras-notop`` fetches).

    Examples
    --------
    >>> [label for label, _ in search_order("vgg.mat")][0]
    'given'
    """
    places = []
    if explicit is not None:
        places.append(("given", _expand(explicit, "the weights path")))
    if os.environ.get(WEIGHTS_ENV):
        variable = f"${WEIGHTS_ENV}"
        places.append((variable, _expand(os.environ[WEIGHTS_ENV], variable)))
    places.append(("cache", default_weights_path()))
    # naah weights download --source keras-notop puts the smaller Keras file here.
    places.append(("cache (Keras)", cache_dir() / KNOWN_FILES[3].name))
    return places


def find_weights(explicit: str | os.PathLike | None = None) -> Path:
    """The weights file to use: ``explicit``, then ``$NAAH_WEIGHTS``, then the cache.

    A file that is named (``explicit`` or ``$NAAH_WEIGHTS``) must exist: naah
    never falls back to another file when the one asked for is missing.

    Raises
    ------
    WeightsNotFoundError
        With a message naming the file needed, where it is published, its size and
        checksum, and where to put it.
    ValueError
        If ``explicit`` or a variable consulted starts with a ``~`` that names no
        user (the message names which).

    Examples
    --------
    >>> find_weights()  # doctest: +SKIP
    PosixPath('/home/me/.cache/naah/imagenet-vgg-verydeep-19.mat')
    """
    for label, path in search_order(explicit):
        if path.is_file():
            return path
        if label == "given":
            raise WeightsNotFoundError(f"weights file {str(path)!r} {_why(path)}")
        if not label.startswith("cache"):
            raise WeightsNotFoundError(
                f"{label} is set to {str(path)!r}, which {_why(path)}; fix or unset it"
            )
    raise WeightsNotFoundError(missing_weights_message())


def _why(path: Path) -> str:
    if path.is_dir():
        inside = path / _DEFAULT.name
        hint = f" (did you mean {str(inside)!r}?)" if inside.is_file() else ""
        return f"is a directory, not a weights file{hint}"
    if path.exists():  # a FIFO, a device: reading it would block or never end
        return "is not a regular file (a FIFO, a device or a socket): give a file"
    return "does not exist"


def missing_weights_message() -> str:
    """What to do when no weights file is found."""
    return (
        f"naah needs the pretrained VGG-19 weights {_DEFAULT.name} "
        f"({_DEFAULT.size:,} bytes, SHA-256 {_DEFAULT.sha256}), published with "
        f"MatConvNet at {_DEFAULT.url}. Run 'naah weights download' to fetch it into "
        f"{default_weights_path()}, or download it yourself and pass --weights PATH "
        f"(Python: weights=PATH) or set ${WEIGHTS_ENV}=PATH."
    )
