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

A checkpoint to read is untrusted input: it may come from elsewhere, and every
number in it may lie. Before anything is inflated or allocated, the reader checks

* that the path is a regular file (not a FIFO, a device or a file of /proc),
  opened without blocking (:func:`naah.io.files.open_regular_file`);
* the zip's central directory (at most :data:`MAX_MEMBERS` members) and the size
  and density of ``checkpoint.json`` (a JSON document of millions of empty lists
  would cost 25 times its size to parse);
* the listing: each array's name, dtype and shape, and that its member, stored
  or deflated, lies within the file, starts with a ``.npy`` header declaring that
  array, and declares exactly the bytes of the two (numpy's own reader allocates
  what the header says).

:func:`open_checkpoint` stops there: its arrays are :class:`StoredArray` objects,
whose dtype and shape (the listing's) a caller checks against what it expects (the
run's image size) before it reads one. Reading one streams its bytes into the
array (no copy of them), never past the size declared, and checks the member's
CRC; the file must still be the one opened. :func:`read_checkpoint` reads every
array at once.
"""

from __future__ import annotations

import ast
import contextlib
import json
import math
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

import numpy as np

from naah.io.files import (
    SpecialFileError,
    open_regular_file,
    remove_stale_temporaries,
    write_atomically,
)

FORMAT = "naah-checkpoint"
FORMAT_VERSION = 1
_MANIFEST = "checkpoint.json"
# The metadata is settings and a history: megabytes at most, even for 10^5 iterations.
_MAX_MANIFEST_BYTES = 64 << 20
# checkpoint.json as naah writes it spends 20 bytes or more per value ('"tv": 0.0,'
# and a line break); JSON text with more than one comma or bracket per this many
# bytes is not naah's (an empty list in 3 bytes costs Python 64).
_MANIFEST_BYTES_PER_VALUE = 12
_DTYPES = ("float32", "float64", "int32", "int64", "uint8", "bool")
_NAME = re.compile(r"^[A-Za-z0-9_.]{1,200}$")
#: Members a checkpoint may have: naah writes at most a few dozen arrays.
MAX_MEMBERS = 4096
# The central directory of MAX_MEMBERS members with names of 200 bytes.
_MAX_DIRECTORY_BYTES = MAX_MEMBERS * 512
# Dimensions an array may have (naah's have at most 4) and numpy's own limit on a
# .npy header's length (numpy.lib.format's max_header_size).
_MAX_DIMENSIONS = 32
_MAX_NPY_HEADER = 10_000
_NPY_MAGIC = b"\x93NUMPY"
# .npy versions by major number: the header length's format and the text's encoding.
_NPY_VERSIONS = {1: ("<H", "latin1"), 2: ("<I", "latin1"), 3: ("<I", "utf8")}
# Bytes moved per read while an array's data streams in.
_CHUNK = 1 << 20
# Member methods read: stored (naah's) and deflated (any zip tool's).
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
# Failures of zipfile and zlib on a damaged or crafted archive (RuntimeError: an
# encrypted member; NotImplementedError: a compression method it lacks).
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    zlib.error,
    struct.error,
    RuntimeError,
    NotImplementedError,
)


class CheckpointError(ValueError):
    """A file that is not a complete naah checkpoint; the message names it."""


@dataclass(frozen=True)
class ArraySpec:
    """An array as a checkpoint's listing declares it."""

    dtype: np.dtype
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize

    def __str__(self) -> str:
        return f"{self.dtype}{list(self.shape)}"


@dataclass(frozen=True)
class Checkpoint:
    """What :func:`read_checkpoint` and :func:`open_checkpoint` return.

    Attributes
    ----------
    path : Path
    metadata : dict
    arrays : mapping of str to ndarray or StoredArray
        Arrays read (:func:`read_checkpoint`) or to read (:func:`open_checkpoint`).
    """

    path: Path
    metadata: dict[str, Any]
    arrays: Mapping[str, np.ndarray | StoredArray]


class StoredArray:
    """An array of a checkpoint, not read yet: the listing's ``dtype`` and ``shape``
    at once, the values from :meth:`read` (or ``numpy.asarray``), each time read
    from the file anew.

    Raises
    ------
    CheckpointError
        From :meth:`read`, if the member does not hold the array listed, is
        damaged, or the file changed since it was opened.
    """

    def __init__(self, source: _Source, name: str, spec: ArraySpec) -> None:
        self._source = source
        self.name = name
        self.spec = spec

    @property
    def dtype(self) -> np.dtype:
        return self.spec.dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return self.spec.shape

    @property
    def nbytes(self) -> int:
        return self.spec.nbytes

    def read(self, out: np.ndarray | None = None) -> np.ndarray:
        """The array's values, read from the file; into ``out`` (a C-contiguous
        array of its dtype and shape) if given, with no other copy made."""
        if out is not None and not (
            out.shape == self.shape
            and out.dtype == self.dtype
            and out.flags.c_contiguous
            and out.flags.writeable
        ):
            raise ValueError(
                f"cannot read array {self.name!r} ({self.spec}) into a "
                f"{out.dtype}{list(out.shape)} array"
            )
        with self._source.opened() as archive:
            return self._source.read(archive, self.name, self.spec, out)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        array = self.read()
        return array if dtype is None else array.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"StoredArray({self.name!r}, {self.spec}, in {self._source.path})"


def write_checkpoint(
    path: str | os.PathLike,
    arrays: Mapping[str, np.ndarray | StoredArray],
    metadata: Mapping[str, Any],
) -> Path:
    """Write a checkpoint atomically.

    Parameters
    ----------
    path : str or path-like
    arrays : mapping of str to ndarray or StoredArray
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
    for name, given in arrays.items():
        array = given if isinstance(given, StoredArray) else np.asarray(given)
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


def open_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read and check a checkpoint's metadata and listing; its arrays stay in the
    file (:class:`StoredArray`) until read.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    CheckpointError
        If the path is not a regular file, or the file is not a naah checkpoint,
        is truncated, or its members do not match its listing.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> path = write_checkpoint(f"{folder}/a.ckpt", {"x": np.zeros((2, 3))}, {})
    >>> stored = open_checkpoint(path).arrays["x"]
    >>> stored.shape, stored.dtype
    ((2, 3), dtype('float64'))
    >>> np.asarray(stored).sum()
    np.float64(0.0)
    """
    source, metadata = _Source.open(Path(path))
    arrays = {
        name: StoredArray(source, name, spec) for name, spec in source.listing.items()
    }
    return Checkpoint(source.path, metadata, arrays)


def read_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read and check a checkpoint written by :func:`write_checkpoint`, arrays and
    all (each as large as the listing says: a caller that knows the sizes to
    expect checks them first, with :func:`open_checkpoint`).

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    CheckpointError
        If the file is not a naah checkpoint, is truncated or corrupt (zip CRCs are
        checked), or its arrays do not match its listing.
    """
    source, metadata = _Source.open(Path(path))
    with source.opened() as archive:
        arrays = {
            name: source.read(archive, name, spec)
            for name, spec in source.listing.items()
        }
    return Checkpoint(source.path, metadata, arrays)


# -- the reader --------------------------------------------------------------------------
@dataclass(frozen=True)
class _Source:
    """A checkpoint file as opened and checked: its listing, and what identifies
    the file (device, inode, size, modification time), so that a later read finds
    the same file or says it changed."""

    path: Path
    identity: tuple[int, ...]
    listing: Mapping[str, ArraySpec]

    @classmethod
    def open(cls, path: Path) -> tuple[_Source, dict[str, Any]]:
        """The file's listing, checked against its members, and its metadata."""
        with _archive(path) as (archive, identity):
            manifest = _read_manifest(archive, path)
            listing = _listing(manifest["arrays"], path)
            size = identity[2]
            for name, spec in listing.items():
                _check_member(archive, name, spec, size, path)
        return cls(path, identity, listing), manifest["metadata"]

    @contextlib.contextmanager
    def opened(self) -> Iterator[zipfile.ZipFile]:
        """The archive opened again, for :meth:`read`, checked to be the file that
        was listed."""
        with _archive(self.path) as (archive, identity):
            if identity != self.identity:
                raise CheckpointError(
                    f"{self.path} changed since it was opened (another run wrote "
                    "it?): read it again"
                )
            yield archive

    def read(
        self,
        archive: zipfile.ZipFile,
        name: str,
        spec: ArraySpec,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Array ``name``, streamed from its member into a new array of its spec
        (or ``out``, C-contiguous, of its spec)."""
        where = f"{self.path}: array {name!r}"
        info = archive.getinfo(_member(name))
        try:
            with archive.open(info) as file:
                fortran = _check_npy_header(file, info, spec, where)
                if out is not None and not fortran:
                    array = out
                else:
                    array = np.empty(
                        spec.shape, spec.dtype, order="F" if fortran else "C"
                    )
                _fill(file, array, where)
                if out is not None and array is not out:  # a Fortran-ordered member
                    out[...] = array
        except _ZIP_ERRORS as error:
            raise CheckpointError(f"{where} is damaged ({error})") from None
        except MemoryError:
            raise CheckpointError(
                f"{where} ({spec}, {spec.nbytes} bytes) does not fit in memory"
            ) from None
        except OSError as error:
            raise CheckpointError(f"cannot read {where}: {error}") from None
        return array


@contextlib.contextmanager
def _archive(path: Path) -> Iterator[tuple[zipfile.ZipFile, tuple[int, ...]]]:
    """The file opened as a zip, after the checks of the path and of the central
    directory, with what identifies the file; every failure a CheckpointError."""
    try:
        file = open_regular_file(path, "checkpoint")
    except SpecialFileError as error:
        raise CheckpointError(str(error)) from None
    except FileNotFoundError:
        raise
    except OSError as error:
        raise CheckpointError(f"cannot read checkpoint {path}: {error}") from None
    with file:
        try:
            status = os.fstat(file.fileno())
            _check_directory(file, status.st_size, path)
            archive = zipfile.ZipFile(file)
        except _ZIP_ERRORS as error:
            raise CheckpointError(
                f"{path} is not a complete naah checkpoint (truncated or corrupt: "
                f"{error})"
            ) from None
        except OSError as error:
            raise CheckpointError(f"cannot read checkpoint {path}: {error}") from None
        identity = (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)
        with archive:
            yield archive, identity


def _check_directory(file: BinaryIO, size: int, path: Path) -> None:
    """Refuse a central directory of more than MAX_MEMBERS members or bytes than
    theirs, before zipfile makes an object of each; a file without an end record
    is left to zipfile's message."""
    tail = min(size, 22 + 0xFFFF)  # the end record and the longest comment
    file.seek(size - tail)
    data = file.read(tail)
    at = data.rfind(b"PK\x05\x06")
    if at < 0 or len(data) - at < 22:
        return
    fields = struct.unpack("<4s4H2LH", data[at : at + 22])
    members, directory = fields[4], fields[5]
    if (members == 0xFFFF or directory == 0xFFFFFFFF) and at >= 20:
        # zip64: the locator just before the end record gives its zip64 record.
        locator = data[at - 20 : at]
        if locator[:4] == b"PK\x06\x07":
            offset = struct.unpack("<Q", locator[8:16])[0]
            if offset + 56 <= size:
                file.seek(offset)
                record = file.read(56)
                if record[:4] == b"PK\x06\x06":
                    members, directory = struct.unpack("<QQ", record[32:48])
    if members > MAX_MEMBERS or directory > _MAX_DIRECTORY_BYTES:
        raise CheckpointError(
            f"{path} is a zip of {members} members ({directory} bytes of directory); "
            f"a naah checkpoint has at most {MAX_MEMBERS}: it is not one"
        )


def _read_manifest(archive: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    try:
        info = archive.getinfo(_MANIFEST)
    except KeyError:
        raise CheckpointError(
            f"{path} is a zip file but not a naah checkpoint (no {_MANIFEST})"
        ) from None
    if info.file_size > _MAX_MANIFEST_BYTES:
        raise CheckpointError(
            f"{path}: {_MANIFEST} declares {info.file_size} bytes, more than a naah "
            f"checkpoint's ({_MAX_MANIFEST_BYTES})"
        )
    _check_method(info, _MANIFEST, path)
    try:
        text = archive.read(info).decode()
    except UnicodeDecodeError as error:
        raise CheckpointError(f"{path}: {_MANIFEST} is not UTF-8 ({error})") from None
    values = text.count(",") + text.count("[") + text.count("{")
    if values > len(text) // _MANIFEST_BYTES_PER_VALUE + 1024:
        raise CheckpointError(
            f"{path}: {_MANIFEST} packs {values} values into {len(text)} bytes, more "
            f"than naah writes (one per {_MANIFEST_BYTES_PER_VALUE} bytes): it is not "
            "a naah checkpoint"
        )
    try:
        manifest = json.loads(text)
    except RecursionError:
        raise CheckpointError(
            f"{path}: {_MANIFEST} nests deeper than naah's metadata ever does"
        ) from None
    except ValueError as error:  # JSONDecodeError, or an integer of 5000 digits
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


def _listing(arrays: dict[str, Any], path: Path) -> dict[str, ArraySpec]:
    """The listing's arrays, each name, dtype and shape checked."""
    if len(arrays) > MAX_MEMBERS:
        raise CheckpointError(
            f"{path}: {_MANIFEST} lists {len(arrays)} arrays; a naah checkpoint has "
            f"at most {MAX_MEMBERS}"
        )
    listing = {}
    for name, spec in arrays.items():
        where = f"{path}: {_MANIFEST} field arrays.{name}"
        if not _NAME.match(name):
            raise CheckpointError(
                f"{path}: {_MANIFEST} lists an array named {name[:80]!r}; names are "
                "letters, digits, '_' and '.'"
            )
        if not isinstance(spec, dict) or set(spec) != {"dtype", "shape"}:
            raise CheckpointError(f"{where} must be {{dtype, shape}}, got {spec!r:.80}")
        dtype, shape = spec["dtype"], spec["shape"]
        if dtype not in _DTYPES:
            raise CheckpointError(
                f"{where}.dtype is {dtype!r:.40}; a checkpoint's arrays are "
                f"{', '.join(_DTYPES)}"
            )
        if not (
            isinstance(shape, list)
            and len(shape) <= _MAX_DIMENSIONS
            and all(type(d) is int and d >= 0 for d in shape)
        ):
            raise CheckpointError(
                f"{where}.shape must be a list of at most {_MAX_DIMENSIONS} sizes "
                f"(integers >= 0), got {shape!r:.80}"
            )
        listing[name] = ArraySpec(np.dtype(dtype), tuple(shape))
    return listing


def _member(name: str) -> str:
    return f"arrays/{name}.npy"


def _check_member(
    archive: zipfile.ZipFile, name: str, spec: ArraySpec, size: int, path: Path
) -> None:
    """Refuse a member that cannot hold the listed array in a .npy file, before
    anything of it is read."""
    try:
        info = archive.getinfo(_member(name))
    except KeyError:
        raise CheckpointError(f"{path}: array {name!r} is listed but missing") from None
    _check_method(info, _member(name), path)
    header = info.file_size - spec.nbytes
    if not len(_NPY_MAGIC) + 4 <= header <= 12 + _MAX_NPY_HEADER:
        raise CheckpointError(
            f"{path}: array {name!r} declares shape {spec.shape} ({spec.nbytes} "
            f"bytes) but its member holds {info.file_size} bytes"
        )
    if info.header_offset + info.compress_size > size:
        raise CheckpointError(
            f"{path}: array {name!r}'s member ends past the end of the file "
            "(truncated?)"
        )
    where = f"{path}: array {name!r}"
    try:
        with archive.open(info) as file:  # its header alone: a few hundred bytes
            _check_npy_header(file, info, spec, where)
    except _ZIP_ERRORS as error:
        raise CheckpointError(f"{where} is damaged ({error})") from None


def _check_npy_header(
    file: IO[bytes], info: zipfile.ZipInfo, spec: ArraySpec, where: str
) -> bool:
    """Read a member's .npy header: it must declare the listed array, and the
    member's size that header and the array's bytes. Returns its Fortran order."""
    found, fortran, header = _read_npy_header(file, where)
    if found != spec:
        raise CheckpointError(f"{where} is {found} in its member, listed as {spec}")
    if info.file_size != header + spec.nbytes:
        raise CheckpointError(
            f"{where} ({spec}) takes {header + spec.nbytes} bytes with its header; "
            f"its member declares {info.file_size}"
        )
    return fortran


def _check_method(info: zipfile.ZipInfo, member: str, path: Path) -> None:
    if info.flag_bits & 0x1:
        raise CheckpointError(f"{path}: member {member} is encrypted")
    if info.compress_type not in _METHODS:
        raise CheckpointError(
            f"{path}: member {member} is compressed with zip method "
            f"{info.compress_type}; naah reads stored or deflated members"
        )
    if info.compress_type == zipfile.ZIP_STORED and info.compress_size != (
        info.file_size
    ):
        raise CheckpointError(
            f"{path}: member {member} is stored in {info.compress_size} bytes but "
            f"declares {info.file_size}"
        )


def _read_npy_header(file: IO[bytes], where: str) -> tuple[ArraySpec, bool, int]:
    """A .npy header: the array it declares, its Fortran order, and its length
    in bytes, its length bounded before it is read (numpy's reader takes the
    length a version 2 header gives, up to 4 GiB, before checking it)."""
    start = _read_exactly(file, len(_NPY_MAGIC) + 2, where)
    version = _NPY_VERSIONS.get(start[-2]) if start[:-2] == _NPY_MAGIC else None
    if version is None:
        raise CheckpointError(f"{where}: its member is not a .npy file version 1-3")
    length_format, encoding = version
    width = struct.calcsize(length_format)
    (length,) = struct.unpack(length_format, _read_exactly(file, width, where))
    if length > _MAX_NPY_HEADER:
        raise CheckpointError(
            f"{where}: its .npy header claims {length} bytes; numpy writes at most "
            f"{_MAX_NPY_HEADER}"
        )
    text = _read_exactly(file, length, where)
    try:
        header = ast.literal_eval(text.decode(encoding))
        if not isinstance(header, dict) or set(header) != {
            "descr",
            "fortran_order",
            "shape",
        }:
            raise ValueError("not a dict of descr, fortran_order and shape")
        shape, fortran = header["shape"], header["fortran_order"]
        if not (
            isinstance(shape, tuple)
            and len(shape) <= _MAX_DIMENSIONS
            and all(type(d) is int and d >= 0 for d in shape)
            and isinstance(fortran, bool)
        ):
            raise ValueError(f"shape {shape!r:.80}, fortran_order {fortran!r:.20}")
        dtype = np.dtype(header["descr"])
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as error:
        raise CheckpointError(
            f"{where}: its .npy header is not valid ({str(error)[:200]})"
        ) from None
    return ArraySpec(dtype, shape), fortran, len(start) + width + length


def _read_exactly(file: IO[bytes], count: int, where: str) -> bytes:
    data = file.read(count)
    if len(data) != count:
        raise CheckpointError(f"{where}: its member ends early (truncated)")
    return data


def _fill(file: IO[bytes], array: np.ndarray, where: str) -> None:
    """Read the array's bytes from ``file`` straight into it, a chunk at a time, and
    make sure the member ends there (which checks its CRC)."""
    flat = array.reshape(-1, order="A")  # a view: the array is contiguous
    if flat.size:
        buffer = flat.data.cast("B")
        for chunk in _chunks(len(buffer)):
            got = file.readinto(buffer[chunk])  # type: ignore[attr-defined]
            if got != chunk.stop - chunk.start:
                raise CheckpointError(f"{where}: its member ends early (truncated)")
    if file.read(1):
        raise CheckpointError(f"{where}: its member holds more than the array")


def _chunks(count: int) -> Iterator[slice]:
    for start in range(0, count, _CHUNK):
        yield slice(start, min(start + _CHUNK, count))
