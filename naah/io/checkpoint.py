"""naah's checkpoint file: named arrays and JSON metadata in a zip, never pickle.

A checkpoint (``.ckpt``) is an uncompressed zip archive holding

* ``checkpoint.json``: UTF-8 JSON, an object with ``"format": "naah-checkpoint"``,
  ``"format_version"`` (:data:`FORMAT_VERSION`), ``"arrays"`` (each array's name,
  dtype and shape) and ``"metadata"`` (whatever the writer stores: naah stores its
  version, every setting, the inputs' checksums and the run's history);
* ``arrays/NAME.npy``: one array per member, in numpy's ``.npy`` format (version
  1.0-3.0), of a plain numeric dtype. They are read with ``allow_pickle=False``.

Any zip tool and ``numpy.load`` can read it; nothing in it is executable. Writes are
atomic: a temporary file in the same folder, flushed to disk, then renamed over the
target, so a checkpoint is either the old one or the new one, never half of either.
A temporary file left by a killed writer is removed by the next writer of the same
checkpoint (:func:`naah.io.files.remove_stale_temporaries`).
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from naah.io.files import remove_stale_temporaries, write_atomically

FORMAT = "naah-checkpoint"
FORMAT_VERSION = 1
_MANIFEST = "checkpoint.json"
# The metadata is settings and a history: megabytes at most, even for 10^5 iterations.
_MAX_MANIFEST_BYTES = 64 << 20
_DTYPES = ("float32", "float64", "int32", "int64", "uint8", "bool")
_NAME = re.compile(r"^[A-Za-z0-9_.]+$")


class CheckpointError(ValueError):
    """A file that is not a complete naah checkpoint; the message names it."""


@dataclass(frozen=True)
class Checkpoint:
    """What :func:`read_checkpoint` returns.

    Attributes
    ----------
    path : Path
    metadata : dict
    arrays : dict of str to ndarray
    """

    path: Path
    metadata: dict[str, Any]
    arrays: dict[str, np.ndarray]


def write_checkpoint(
    path: str | os.PathLike,
    arrays: Mapping[str, np.ndarray],
    metadata: Mapping[str, Any],
) -> Path:
    """Write a checkpoint atomically.

    Parameters
    ----------
    path : str or path-like
    arrays : mapping of str to ndarray
        Names of letters, digits, ``_`` and ``.``; numeric or boolean dtypes.
    metadata : mapping
        JSON-serialisable (finite floats only).

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> path = write_checkpoint(f"{folder}/run.ckpt", {"x": np.arange(3.0)}, {"step": 7})
    >>> read_checkpoint(path).metadata["step"]
    7
    """
    path = Path(path)
    remove_stale_temporaries(path)
    listing = {}
    for name, array in arrays.items():
        array = np.asarray(array)
        if not _NAME.match(name) or array.dtype.name not in _DTYPES:
            raise ValueError(
                f"cannot store array {name!r} of dtype {array.dtype} in a checkpoint"
            )
        listing[name] = {"dtype": array.dtype.name, "shape": list(array.shape)}
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "arrays": listing,
        "metadata": dict(metadata),
    }
    text = json.dumps(manifest, allow_nan=False, indent=1).encode()

    def write(file: IO[bytes]) -> None:
        with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED) as archive:
            archive.writestr(_MANIFEST, text)
            for name, array in arrays.items():
                with archive.open(f"arrays/{name}.npy", "w", force_zip64=True) as f:
                    np.lib.format.write_array(
                        f, np.asarray(array, order="C"), allow_pickle=False
                    )

    return write_atomically(path, write)


def read_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read and check a checkpoint written by :func:`write_checkpoint`.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    CheckpointError
        If the file is not a naah checkpoint, is truncated or corrupt (zip CRCs are
        checked), or its arrays do not match its listing.
    """
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path} is a directory, not a checkpoint file")
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = _read_manifest(archive, path)
            arrays = {
                name: _read_array(archive, name, spec, path)
                for name, spec in manifest["arrays"].items()
            }
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as error:
        raise CheckpointError(
            f"{path} is not a complete naah checkpoint (truncated or corrupt: {error})"
        ) from None
    except OSError as error:
        raise CheckpointError(f"cannot read checkpoint {path}: {error}") from None
    return Checkpoint(path, manifest["metadata"], arrays)


def _read_manifest(archive: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    try:
        info = archive.getinfo(_MANIFEST)
    except KeyError:
        raise CheckpointError(
            f"{path} is a zip file but not a naah checkpoint (no {_MANIFEST})"
        ) from None
    if info.file_size > _MAX_MANIFEST_BYTES:
        raise CheckpointError(f"{path}: {_MANIFEST} is implausibly large")
    try:
        manifest = json.loads(archive.read(_MANIFEST).decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(
            f"{path}: {_MANIFEST} is not valid JSON ({error})"
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a naah checkpoint")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {version!r}; this naah reads "
            f"version {FORMAT_VERSION}"
        )
    if not isinstance(manifest.get("arrays"), dict) or not isinstance(
        manifest.get("metadata"), dict
    ):
        raise CheckpointError(f"{path}: {_MANIFEST} lacks its arrays or metadata")
    return manifest


def _read_array(
    archive: zipfile.ZipFile, name: str, spec: Any, path: Path
) -> np.ndarray:
    member = f"arrays/{name}.npy"
    try:
        info = archive.getinfo(member)
        dtype, shape = np.dtype(spec["dtype"]), tuple(spec["shape"])
    except (KeyError, TypeError):
        raise CheckpointError(f"{path}: array {name!r} is listed but missing") from None
    if dtype.name not in _DTYPES:
        raise CheckpointError(f"{path}: array {name!r} has dtype {dtype}")
    # The declared size must fit in the member before anything is allocated.
    if int(np.prod(shape, dtype=np.int64)) * dtype.itemsize > info.file_size:
        raise CheckpointError(
            f"{path}: array {name!r} declares shape {shape} but its member holds "
            f"{info.file_size} bytes"
        )
    with archive.open(info) as file:
        try:
            array = np.lib.format.read_array(file, allow_pickle=False)
        except ValueError as error:
            raise CheckpointError(f"{path}: array {name!r}: {error}") from None
    if array.dtype != dtype or array.shape != shape:
        raise CheckpointError(
            f"{path}: array {name!r} is {array.dtype}{list(array.shape)}, listed as "
            f"{dtype}{list(shape)}"
        )
    return array
