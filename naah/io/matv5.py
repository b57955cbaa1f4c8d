"""A streaming reader for MATLAB level-5 MAT-files (saved by MATLAB with -v6 or -v7).

:func:`scipy.io.loadmat` builds every variable in memory at once; for
``imagenet-vgg-verydeep-19.mat`` that is all 535 MB, most of it fully connected
weights style transfer never uses. This reader walks the file element by element,
inflating compressed variables in bounded chunks, and asks a ``keep`` predicate
before it materialises each numeric array: arrays it declines are read and thrown
away chunk by chunk and come back as :class:`Skipped` (their shape and class only).
Every byte of the file goes through the ``hashers`` on the way, so a checksum costs
no second pass.

MATLAB values become Python values as follows:

=================  =========================================================
MATLAB             Python
=================  =========================================================
numeric, logical   ``numpy.ndarray`` in MATLAB's shape (column-major order)
char               ``str`` (one row), or a tuple of ``str`` (several rows)
cell               ``numpy.ndarray`` of ``object``, MATLAB's shape
1x1 struct         ``dict`` of field name to value, in the file's field order
struct array       ``numpy.ndarray`` of ``object`` holding one dict per element
declined array     :class:`Skipped`
sparse, object...  :class:`Skipped` (not needed for network files)
=================  =========================================================

The predicate receives the value's *path*: the variable name, then a linear
(column-major) index for each cell or struct-array element and a field name for
each struct field, e.g. ``("layers", 12, "weights", 0)``.

Every size the file declares is checked before anything of that size is allocated
or read: against the bytes left in the file (or in the element that holds it, or,
inside a compressed element, against what deflate can produce from its compressed
bytes), and against the caller's :class:`Limits`, which also bound what all the
values read take together. A file that lies about a size is reported as a
:class:`MatFileError` naming where, never a ``MemoryError``.

Top-level variables the caller does not ask for are passed over without being
inflated: a file is sought through, not read, where it can be.

The format is described in MathWorks, "MAT-File Format", versions 5 to 7
(https://www.mathworks.com/help/pdf_doc/matlab/matfile_format.pdf); section and
table numbers below refer to it.
"""

from __future__ import annotations

import io
import math
import struct
import sys
import zlib
from collections.abc import Callable, Collection, Iterable
from typing import Any, NamedTuple

import numpy as np

# Header: 116 bytes of text, 8 of subsystem offset, 2 of version, 2 of endian
# indicator (section "MAT-File Header Format").
HEADER_BYTES = 128
VERSION_OFFSET = 124
# Version field of a level-5 file (a v7.3 file, which is HDF5, says 0x0200).
VERSION_5 = 0x0100
# Data elements start, and (uncompressed) end, on 8-byte boundaries.
ALIGNMENT = 8
# Bytes read, inflated or discarded at a time: bounds the reader's own memory.
CHUNK_BYTES = 1 << 16
# Deflate's largest expansion: 1032 output bytes per input byte at best (zlib FAQ,
# "What's the maximum compression ratio?"), so a compressed element of n bytes can
# hold at most 1032 * n bytes of elements.
MAX_DEFLATE_RATIO = 1032
# Cells and structs nested in one another. MatConvNet files nest four deep
# (layers{i}.weights{1}); each level costs the reader a few Python stack frames.
MAX_DEPTH = 32
# Bytes of one array name or struct field name: far more than MATLAB writes (names
# of at most 63 characters, namelengthmax, in field-name slots of 64 bytes).
MAX_NAME_BYTES = 4096
# Bytes of data a small data element packs into its tag (Figure 1-6).
SMALL_ELEMENT_BYTES = 4
# Dimensions of an array: HDF5 allows 32 (H5S_MAX_RANK), numpy 64.
MAX_DIMENSIONS = 32
# Elements of the largest array 64-bit MATLAB can make ([~, maxsize] = computer).
MAX_ARRAY_ELEMENTS = 2**48 - 1
#: What one cell or struct element costs in memory besides its values, counted
#: against Limits.max_bytes: a Python object and its slot in an object array or a
#: dict (an empty ndarray alone takes 112 bytes).
ELEMENT_BYTES = 128
#: What one character costs counted against Limits.max_bytes: a Python str holds
#: up to 4 bytes a character.
CHARACTER_BYTES = 4

# Data types (Table 1-1, "MAT-File Data Types").
MI_INT8, MI_UINT8, MI_INT16, MI_UINT16, MI_INT32, MI_UINT32 = 1, 2, 3, 4, 5, 6
MI_SINGLE, MI_DOUBLE, MI_INT64, MI_UINT64 = 7, 9, 12, 13
MI_MATRIX, MI_COMPRESSED, MI_UTF8, MI_UTF16, MI_UTF32 = 14, 15, 16, 17, 18
_MI_DTYPES = {
    MI_INT8: "i1",
    MI_UINT8: "u1",
    MI_INT16: "i2",
    MI_UINT16: "u2",
    MI_INT32: "i4",
    MI_UINT32: "u4",
    MI_SINGLE: "f4",
    MI_DOUBLE: "f8",
    MI_INT64: "i8",
    MI_UINT64: "u8",
    MI_UTF8: "u1",
    MI_UTF16: "u2",
    MI_UTF32: "u4",
}

# Array classes (Table 1-3, "MATLAB Array Types and Classes").
MX_CELL, MX_STRUCT, MX_OBJECT, MX_CHAR, MX_SPARSE = 1, 2, 3, 4, 5
_MX_NUMERIC = {
    6: ("double", "f8"),
    7: ("single", "f4"),
    8: ("int8", "i1"),
    9: ("uint8", "u1"),
    10: ("int16", "i2"),
    11: ("uint16", "u2"),
    12: ("int32", "i4"),
    13: ("uint32", "u4"),
    14: ("int64", "i8"),
    15: ("uint64", "u8"),
}
_MX_OTHER = {MX_OBJECT: "object", MX_SPARSE: "sparse", 16: "function", 17: "opaque"}
# Array-flags bits (Figure 1-7, "Array Flags Subelement").
FLAG_COMPLEX, FLAG_LOGICAL = 0x0800, 0x0200

Path = tuple[str | int, ...]
KeepPredicate = Callable[[Path], bool]
# No file is larger, so an unknown file size bounds nothing.
_UNBOUNDED = sys.maxsize


class MatFileError(ValueError):
    """The bytes do not form a valid level-5 MAT-file.

    Attributes
    ----------
    path : tuple
        Where in the file the problem is (variable, indices, fields), possibly empty.
    truncated : bool
        True when the file ended before the data it announced.
    """

    def __init__(self, message: str, *, path: Path = (), truncated: bool = False):
        super().__init__(message)
        self.path = path
        self.truncated = truncated


class Skipped(NamedTuple):
    """An array the reader passed over: its MATLAB shape and class, no data."""

    shape: tuple[int, ...]
    mat_class: str


class Limits(NamedTuple):
    """The largest arrays a kind of file holds; larger declared ones are corrupt.

    Checked before an array is allocated, so a file declaring a huge array fails at
    once, whatever the bytes that follow. The default limits nothing but depth.

    Attributes
    ----------
    max_values : int or None
        Values of one numeric or char array that is read (declined ones are
        skipped, so cost nothing).
    max_elements : int or None
        Elements of one cell or struct array, and fields of one struct.
    max_depth : int
        Cells and structs nested in one another.
    max_bytes : int or None
        Bytes of everything read, together: numeric values at their size,
        characters at :data:`CHARACTER_BYTES` and cell and struct elements at
        :data:`ELEMENT_BYTES` each, so that many arrays each within the other
        limits cannot add up to more.
    kind : str
        What the limits describe, for messages, e.g. ``"a VGG-19 weights file"``.

    Examples
    --------
    >>> import io, numpy as np, scipy.io
    >>> buffer = io.BytesIO()
    >>> scipy.io.savemat(buffer, {"x": np.zeros((10, 10))})
    >>> _ = buffer.seek(0)
    >>> read_variables(buffer, limits=Limits(max_values=50, kind="a small file"))
    Traceback (most recent call last):
    ...
    naah.io.matv5.MatFileError: x is a 10x10 array of 100 values; a small file has none larger than 50
    """

    max_values: int | None = None
    max_elements: int | None = None
    max_depth: int = MAX_DEPTH
    kind: str = "the file"
    max_bytes: int | None = None


#: The default Limits: only the nesting depth is bounded.
NO_LIMITS = Limits()


def describe_path(path: Path) -> str:
    """Format a value path as MATLAB-like text, e.g. ``layers{13}.weights{1}``."""
    text = ""
    for part in path:
        if isinstance(part, str):
            text += f".{part}" if text else part
        else:
            text += f"{{{part + 1}}}"
    return text or "the file header"


def read_header(head: bytes) -> str:
    """Check a level-5 header and return the byte order it declares (``<`` or ``>``).

    Raises
    ------
    MatFileError
        If ``head`` is shorter than 128 bytes or is not a level-5 header.
    """
    if len(head) < HEADER_BYTES:
        raise MatFileError(
            f"the file is only {len(head)} bytes long, shorter than the "
            f"{HEADER_BYTES}-byte MAT-file header",
            truncated=True,
        )
    indicator = head[VERSION_OFFSET + 2 : HEADER_BYTES]
    order = {b"IM": "<", b"MI": ">"}.get(indicator)
    if order is None:
        raise MatFileError(
            f"bytes 126-127 of the header are {indicator!r}, not the endian "
            "indicator b'IM' or b'MI' of a level-5 MAT-file"
        )
    (version,) = struct.unpack(order + "H", head[VERSION_OFFSET : VERSION_OFFSET + 2])
    if version != VERSION_5:
        raise MatFileError(
            f"the header declares MAT-file version 0x{version:04x}; this reader "
            f"handles level-5 files (0x{VERSION_5:04x}, saved with -v6 or -v7)"
        )
    return order


def read_variables(
    file: io.BufferedIOBase,
    *,
    keep: KeepPredicate | None = None,
    hashers: Iterable[Any] = (),
    limits: Limits = NO_LIMITS,
    variables: Collection[str] | None = None,
) -> dict[str, Any]:
    """Read every variable of a level-5 MAT-file, skipping arrays ``keep`` declines.

    Parameters
    ----------
    file : binary file object
        ``open(name, "rb")`` or an ``io.BytesIO``, positioned at the start of the
        file. It is read to the end.
    keep : callable, optional
        ``keep(path) -> bool`` is asked before each numeric or logical array is
        read (see the module docstring for paths). Default: keep everything.
    hashers : iterable of hashlib objects
        Each is updated with every byte of the file, in order.
    limits : Limits, optional
        The largest arrays to accept. Whatever they are, no declared size is
        believed beyond the bytes that could hold it.
    variables : collection of str, optional
        The top-level variables to read; the others are passed over, never
        inflated, and absent from the result. Default: all.

    Returns
    -------
    dict
        Variable name to value, in file order.

    Raises
    ------
    MatFileError
        If the file is not a level-5 MAT-file, is truncated or is corrupt, or
        declares an array larger than ``limits`` allow.

    Examples
    --------
    >>> import hashlib, io, numpy as np, scipy.io
    >>> buffer = io.BytesIO()
    >>> scipy.io.savemat(buffer, {"big": np.zeros((100, 100)), "small": [1.0, 2.0]})
    >>> _ = buffer.seek(0)
    >>> sha = hashlib.sha256()
    >>> values = read_variables(buffer, keep=lambda p: p[0] != "big", hashers=[sha])
    >>> values["big"], values["small"]
    (Skipped(shape=(100, 100), mat_class='double'), array([[1., 2.]]))
    """
    source = _FileStream(file, list(hashers))
    order = read_header(source.read(HEADER_BYTES))
    reader = _ElementReader(order, keep or (lambda path: True), limits, variables)
    read: dict[str, Any] = {}
    while True:
        tag = source.read_upto(ALIGNMENT)
        if not tag:
            return read
        if len(tag) < ALIGNMENT:
            raise _truncated(source.position, ())
        name, value = reader.top_level(source, tag)
        if name is not None:
            read[name] = value


class _FileStream:
    """The file's raw bytes, fed to the hashers as they pass."""

    def __init__(self, file: io.BufferedIOBase, hashers: list[Any]) -> None:
        self._file = file
        self._hashers = hashers
        self.position = 0
        self.size = _size_of(file)  # counted from where the stream starts

    def remaining(self) -> int:
        """Bytes between here and the end of the file (huge if that is unknown)."""
        return _UNBOUNDED if self.size is None else self.size - self.position

    def _consumed(self, data: Any) -> None:
        for hasher in self._hashers:
            hasher.update(data)
        self.position += len(data)

    def read_upto(self, n: int) -> bytes:
        data = self._file.read(n)
        self._consumed(data)
        return data

    def read(self, n: int, path: Path = ()) -> bytes:
        data = self.read_upto(n)
        if len(data) < n:
            raise _truncated(self.position, path)
        return data

    def readinto(self, view: memoryview, path: Path = ()) -> None:
        filled = 0
        while filled < len(view):
            count = self._file.readinto(view[filled:])
            if not count:
                raise _truncated(self.position, path)
            self._consumed(view[filled : filled + count])
            filled += count

    def skip(self, n: int, path: Path = ()) -> None:
        if not self._hashers and self.size is not None and n <= self.remaining():
            self._file.seek(n, io.SEEK_CUR)  # no one needs the bytes: pass them
            self.position += n
            return
        while n > 0:
            n -= len(self.read(min(n, CHUNK_BYTES), path))


def _size_of(file: io.BufferedIOBase) -> int | None:
    """Bytes from the file's position to its end, or None if it cannot seek."""
    try:
        here = file.tell()
        end = file.seek(0, io.SEEK_END)
        file.seek(here)
    except (OSError, AttributeError, ValueError):
        return None
    return end - here


class _InflatedStream:
    """The decompressed bytes of one miCOMPRESSED element, produced on demand."""

    def __init__(self, source: _FileStream, nbytes: int):
        self._source = source
        self._compressed_left = nbytes
        self._zlib = zlib.decompressobj()
        self._input = b""
        self._output = memoryview(b"")
        self.position = 0

    def _inflate(self, wanted: int, path: Path) -> None:
        """Decompress at least one and at most ``wanted`` (bounded) more bytes."""
        limit = max(1, min(wanted, CHUNK_BYTES))
        while True:
            if not self._input and self._compressed_left and not self._zlib.eof:
                size = min(CHUNK_BYTES, self._compressed_left)
                self._input = self._source.read(size, path)
                self._compressed_left -= size
            if self._zlib.eof or not self._input:
                raise MatFileError(
                    f"the compressed data of {describe_path(path)} ends before the "
                    "array it announces; the file is truncated or corrupt",
                    path=path,
                    truncated=True,
                )
            try:
                output = self._zlib.decompress(self._input, limit)
            except zlib.error as exc:
                raise MatFileError(
                    f"the compressed data of {describe_path(path)} is corrupt "
                    f"(zlib: {exc}) at byte {self._source.position:,} of the file",
                    path=path,
                ) from exc
            self._input = self._zlib.unconsumed_tail
            if output:
                self._output = memoryview(output)
                return

    def _take(self, n: int, path: Path) -> memoryview:
        if not self._output:
            self._inflate(n, path)
        piece = self._output[:n]
        self._output = self._output[len(piece) :]
        self.position += len(piece)
        return piece

    def read(self, n: int, path: Path = ()) -> bytes:
        buffer = bytearray(n)
        self.readinto(memoryview(buffer), path)
        return bytes(buffer)

    def readinto(self, view: memoryview, path: Path = ()) -> None:
        filled = 0
        while filled < len(view):
            piece = self._take(len(view) - filled, path)
            view[filled : filled + len(piece)] = piece
            filled += len(piece)

    def skip(self, n: int, path: Path = ()) -> None:
        while n > 0:
            n -= len(self._take(n, path))

    def finish(self, path: Path) -> None:
        """Consume the rest of the compressed bytes so the file stays in step."""
        self._source.skip(self._compressed_left, path)
        self._compressed_left = 0


def _truncated(position: int, path: Path) -> MatFileError:
    where = f" inside {describe_path(path)}" if path else ""
    return MatFileError(
        f"the file ends at byte {position:,}{where}, before the data it announces",
        path=path,
        truncated=True,
    )


def _padding(nbytes: int) -> int:
    return -nbytes % ALIGNMENT


def _shape_text(dims: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in dims) or "scalar"


class _ElementReader:
    """Parses data elements of one byte order from a stream.

    ``_ends`` holds the stream position where each element being parsed ends,
    outermost first (the first entry bounds the whole top-level element): nothing
    inside an element may reach past its end, so no declared size is believed
    beyond the bytes that could hold it.
    """

    def __init__(
        self,
        order: str,
        keep: KeepPredicate,
        limits: Limits,
        variables: Collection[str] | None = None,
    ):
        self._order = order
        self._keep = keep
        self._limits = limits
        self._variables = variables
        self._ends: list[int] = []
        self._spent = 0  # bytes counted against limits.max_bytes

    def _spend(self, nbytes: int, path: Path) -> None:
        """Count ``nbytes`` more against the limits' max_bytes, before they are
        allocated."""
        self._spent += nbytes
        limit = self._limits.max_bytes
        if limit is not None and self._spent > limit:
            raise MatFileError(
                f"{describe_path(path)} brings what is read to {self._spent:,} "
                f"bytes; {self._limits.kind} holds at most {limit:,} in all",
                path=path,
            )

    # -- tags and plain data -------------------------------------------------
    def _tag(self, raw: bytes, path: Path) -> tuple[int, int, bytes | None]:
        """Split a tag into (type, byte count, data of a small element or None)."""
        first, second = struct.unpack(self._order + "II", raw)
        if first >> 16:  # small data element: count and type share the first word
            nbytes = first >> 16
            if nbytes > SMALL_ELEMENT_BYTES:
                raise MatFileError(
                    f"{describe_path(path)} has a small data element of {nbytes} "
                    f"bytes; one holds at most {SMALL_ELEMENT_BYTES}. The file is "
                    "corrupt",
                    path=path,
                )
            return first & 0xFFFF, nbytes, raw[4 : 4 + nbytes]
        return first, second, None

    def _room(self, stream: Any) -> int:
        """Bytes between the stream's position and the end of the innermost element."""
        return self._ends[-1] - stream.position

    def _element(self, stream: Any, path: Path) -> tuple[int, int, bytes | None]:
        room = self._room(stream)
        if room < ALIGNMENT:
            raise _overrun(path, ALIGNMENT, room)
        mi_type, nbytes, small = self._tag(stream.read(ALIGNMENT, path), path)
        if small is None and nbytes > room - ALIGNMENT:
            raise _overrun(path, nbytes, room - ALIGNMENT)
        return mi_type, nbytes, small

    def _dtype(self, mi_type: int, path: Path) -> np.dtype:
        code = _MI_DTYPES.get(mi_type)
        if code is None:
            raise MatFileError(
                f"{describe_path(path)} holds data of unknown MAT type {mi_type}",
                path=path,
            )
        return np.dtype(self._order + code)

    def _small_array(self, stream: Any, path: Path, what: str) -> np.ndarray:
        """Read a whole (small) integer data element, ``what`` it holds, as 1-D."""
        mi_type, nbytes, small = self._element(stream, path)
        dtype = self._dtype(mi_type, path)
        if dtype.kind not in "iu" or nbytes < dtype.itemsize:
            raise MatFileError(
                f"the {what} of {describe_path(path)} should be integers, got "
                f"{nbytes} bytes of MAT type {mi_type}; the file is corrupt",
                path=path,
            )
        data = small if small is not None else stream.read(nbytes, path)
        if small is None:
            stream.skip(_padding(nbytes), path)
        return np.frombuffer(data, dtype=dtype, count=nbytes // dtype.itemsize)

    def _bytes(self, stream: Any, path: Path, what: str, limit: int) -> bytes:
        _, nbytes, small = self._element(stream, path)
        if nbytes > limit:
            raise MatFileError(
                f"the {what} of {describe_path(path)} is {nbytes:,} bytes long; "
                f"{self._limits.kind} has none longer than {limit:,}",
                path=path,
            )
        if small is not None:
            return small
        data = stream.read(nbytes, path)
        stream.skip(_padding(nbytes), path)
        return data

    # -- top level -------------------------------------------------------------
    def top_level(self, source: _FileStream, raw_tag: bytes) -> tuple[str | None, Any]:
        start = source.position - ALIGNMENT
        mi_type, nbytes, small = self._tag(raw_tag, ())
        if small is None and nbytes > source.remaining():
            raise MatFileError(
                f"the element at byte {start:,} declares {nbytes:,} bytes, but the "
                f"file ends {source.remaining():,} bytes after its tag",
                truncated=True,
            )
        if mi_type == MI_COMPRESSED:
            stream = _InflatedStream(source, nbytes)
            inner_type, inner_bytes, _ = self._tag(stream.read(ALIGNMENT), ())
            if inner_bytes > MAX_DEFLATE_RATIO * nbytes:
                raise MatFileError(
                    f"the compressed element at byte {start:,} declares "
                    f"{inner_bytes:,} bytes of content, but deflate cannot make more "
                    f"than {MAX_DEFLATE_RATIO * nbytes:,} from its {nbytes:,} bytes; "
                    "the file is corrupt"
                )
            self._ends = [ALIGNMENT + inner_bytes]
            if inner_type != MI_MATRIX:
                stream.skip(inner_bytes)
                stream.finish(())
                return None, None
            name, value = self.matrix(stream, inner_bytes, ())
            stream.finish((name,))  # a variable passed over: never inflated
            return (None, None) if value is _PASSED_OVER else (name, value)
        if mi_type == MI_MATRIX:
            end = source.position + nbytes
            self._ends = [end]
            name, value = self.matrix(source, nbytes, ())
            if value is _PASSED_OVER:
                source.skip(end - source.position + _padding(nbytes), (name,))
                return None, None
            source.skip(_padding(nbytes), (name,))
            return name, value
        if small is None:  # some other element at top level: not a variable
            source.skip(nbytes + _padding(nbytes))
        return None, None

    # -- miMATRIX ----------------------------------------------------------------
    def matrix(self, stream: Any, nbytes: int, path: Path) -> tuple[str, Any]:
        """Parse one miMATRIX element whose tag has been read; return (name, value)."""
        if nbytes == 0:  # MATLAB writes empty cell contents as empty elements
            return "", np.zeros((0, 0))
        if len(self._ends) > self._limits.max_depth:
            raise MatFileError(
                f"{describe_path(path)} is nested more than "
                f"{self._limits.max_depth} cells or structs deep; the file is corrupt",
                path=path,
            )
        end = stream.position + nbytes
        self._ends.append(end)
        try:
            flags = self._small_array(stream, path, "array flags")
            dims = tuple(int(d) for d in self._small_array(stream, path, "dimensions"))
            name = self._bytes(stream, path, "name", MAX_NAME_BYTES).decode("latin-1")
            if not path and self._variables is not None and name not in self._variables:
                return name, _PASSED_OVER  # the caller passes over the rest
            path = path or (name,)
            _check_dimensions(dims, path)
            mx_class = int(flags[0]) & 0xFF
            value = self._contents(stream, mx_class, int(flags[0]), dims, path)
            left = end - stream.position
            if left < 0:
                raise MatFileError(
                    f"{describe_path(path)} is {-left} bytes longer than its tag "
                    "says; the file is corrupt",
                    path=path,
                )
            stream.skip(left, path)
        finally:
            self._ends.pop()
        return name, value

    def _contents(
        self, stream: Any, mx_class: int, flags: int, dims: tuple[int, ...], path: Path
    ) -> Any:
        if mx_class in _MX_NUMERIC:
            return self._numeric(stream, mx_class, flags, dims, path)
        if mx_class == MX_CHAR:
            return self._char(stream, dims, path)
        if mx_class == MX_CELL:
            return self._cell(stream, dims, path)
        if mx_class == MX_STRUCT:
            return self._struct(stream, dims, path)
        return Skipped(dims, _MX_OTHER.get(mx_class, f"class {mx_class}"))

    def _check_values(self, dims: tuple[int, ...], kind: str, path: Path) -> int:
        """The number of values of an array about to be read, if within the limits."""
        count = math.prod(dims)
        limit = self._limits.max_values
        if limit is not None and count > limit:
            raise MatFileError(
                f"{describe_path(path)} is a {_shape_text(dims)} {kind} of "
                f"{count:,} values; {self._limits.kind} has none larger than "
                f"{limit:,}",
                path=path,
            )
        return count

    def _check_elements(
        self,
        stream: Any,
        dims: tuple[int, ...],
        per_element: int,
        kind: str,
        path: Path,
    ) -> int:
        """The element count of a cell or struct array, if the limits and the bytes
        left allow it; each element takes at least ``per_element`` tags."""
        count = math.prod(dims)
        limit = self._limits.max_elements
        shown = f"{describe_path(path)} is a {_shape_text(dims)} {kind}"
        if limit is not None and count > limit:
            raise MatFileError(
                f"{shown} of {count:,} elements; {self._limits.kind} has none "
                f"larger than {limit:,}",
                path=path,
            )
        room = self._room(stream)
        if count * per_element * ALIGNMENT > room:
            raise MatFileError(
                f"{shown} of {count:,} elements, but only {room:,} bytes are left "
                f"for them and each takes at least {per_element * ALIGNMENT}; the "
                "file is corrupt",
                path=path,
            )
        return count

    def _numeric(
        self, stream: Any, mx_class: int, flags: int, dims: tuple[int, ...], path: Path
    ) -> np.ndarray | Skipped:
        class_name, class_code = _MX_NUMERIC[mx_class]
        is_logical = bool(flags & FLAG_LOGICAL)
        if is_logical:
            class_name = "logical"
        if not self._keep(path):
            return Skipped(dims, class_name)
        count = self._check_values(dims, "array", path)
        parts = 2 if flags & FLAG_COMPLEX else 1
        self._spend(parts * count * np.dtype(class_code).itemsize, path)
        value = self._numeric_part(stream, class_code, dims, count, path)
        if flags & FLAG_COMPLEX:
            imaginary = self._numeric_part(stream, class_code, dims, count, path)
            value = value + 1j * imaginary
        return value.astype(bool) if is_logical else value

    def _numeric_part(
        self,
        stream: Any,
        class_code: str,
        dims: tuple[int, ...],
        count: int,
        path: Path,
    ) -> np.ndarray:
        """Read one real-valued data element into an array of MATLAB's shape."""
        mi_type, nbytes, small = self._element(stream, path)
        stored = self._dtype(mi_type, path)
        if nbytes != count * stored.itemsize:
            raise MatFileError(
                f"{describe_path(path)} has shape {dims} ({count} values) but "
                f"{nbytes} bytes of {stored.name} data; the file is corrupt",
                path=path,
            )
        if small is not None:
            flat = np.frombuffer(small, dtype=stored, count=count).copy()
        else:
            flat = np.empty(count, dtype=stored)
            stream.readinto(flat.data.cast("B"), path)
            stream.skip(_padding(nbytes), path)
        native = np.dtype(class_code)
        flat = flat.astype(native, copy=False) if flat.dtype != native else flat
        return flat.reshape(dims, order="F")

    def _char(self, stream: Any, dims: tuple[int, ...], path: Path) -> str | tuple:
        self._spend(
            CHARACTER_BYTES * self._check_values(dims, "char array", path), path
        )
        mi_type, nbytes, small = self._element(stream, path)
        data = small if small is not None else stream.read(nbytes, path)
        if small is None:
            stream.skip(_padding(nbytes), path)
        text = self._decode_text(mi_type, data, path)
        rows = dims[0] if dims else 0
        if rows <= 1 or not text:
            return text
        if len(text) % rows:
            raise MatFileError(
                f"{describe_path(path)} is a {_shape_text(dims)} char array holding "
                f"{len(text)} characters, which do not fill its {rows} rows; the "
                "file is corrupt",
                path=path,
            )
        grid = np.array(list(text), dtype=object).reshape((rows, -1), order="F")
        return tuple("".join(row) for row in grid)

    def _decode_text(self, mi_type: int, data: bytes, path: Path) -> str:
        endian = "le" if self._order == "<" else "be"
        if mi_type == MI_UTF8:
            return data.decode("utf-8", errors="replace")
        if mi_type in (MI_UINT16, MI_UTF16, MI_INT16):
            if len(data) % 2:
                raise MatFileError(
                    f"{describe_path(path)} is text of {len(data)} bytes stored as "
                    "16-bit code units, which take an even number; the file is "
                    "corrupt",
                    path=path,
                )
            return data.decode(f"utf-16-{endian}", errors="surrogatepass")
        if mi_type in (MI_UINT8, MI_INT8):
            return data.decode("latin-1")
        if mi_type in (MI_UTF32, MI_UINT32, MI_INT32):
            return data.decode(f"utf-32-{endian}", errors="replace")
        raise MatFileError(
            f"{describe_path(path)} is text stored as MAT type {mi_type}, "
            "which is not a character type",
            path=path,
        )

    def _cell(self, stream: Any, dims: tuple[int, ...], path: Path) -> np.ndarray:
        count = self._check_elements(stream, dims, 1, "cell", path)
        self._spend(ELEMENT_BYTES * count, path)
        values = np.empty(count, dtype=object)
        for index in range(count):
            values[index] = self._child(stream, (*path, index))
        return values.reshape(dims, order="F")

    def _child(self, stream: Any, path: Path) -> Any:
        mi_type, nbytes, _ = self._element(stream, path)
        if mi_type != MI_MATRIX:
            raise MatFileError(
                f"{describe_path(path)} should be an array (miMATRIX, type "
                f"{MI_MATRIX}) but is MAT type {mi_type}; the file is corrupt",
                path=path,
            )
        return self.matrix(stream, nbytes, path)[1]

    def _struct(self, stream: Any, dims: tuple[int, ...], path: Path) -> Any:
        name_length = int(self._small_array(stream, path, "field name length")[0])
        if not 0 <= name_length <= MAX_NAME_BYTES:
            raise MatFileError(
                f"{describe_path(path)} gives its field names {name_length:,} bytes "
                f"each; {self._limits.kind} has none longer than {MAX_NAME_BYTES:,}",
                path=path,
            )
        most_fields = self._limits.max_elements or _UNBOUNDED
        limit = min(name_length * most_fields, self._room(stream))
        raw_names = self._bytes(stream, path, "field names", limit)
        n_fields = len(raw_names) // name_length if name_length else 0
        fields = [
            raw_names[i * name_length : (i + 1) * name_length]
            .split(b"\0", 1)[0]
            .decode("latin-1")
            for i in range(n_fields)
        ]
        # Elements of a struct without fields hold nothing, so bytes cannot bound
        # their number; count them as if each held one field.
        count = self._check_elements(stream, dims, max(n_fields, 1), "struct", path)
        self._spend(ELEMENT_BYTES * count * max(n_fields, 1), path)
        elements = np.empty(count, dtype=object)
        for index in range(count):
            prefix = path if count == 1 else (*path, index)
            elements[index] = {
                field: self._child(stream, (*prefix, field)) for field in fields
            }
        if count == 1:
            return elements[0]
        return elements.reshape(dims, order="F")


# What matrix() returns for a top-level variable not asked for.
_PASSED_OVER = object()


def _check_dimensions(dims: tuple[int, ...], path: Path) -> None:
    problem = None
    if any(d < 0 for d in dims):
        problem = "a dimension cannot be negative"
    elif len(dims) > MAX_DIMENSIONS:
        problem = f"an array has at most {MAX_DIMENSIONS}"
    elif math.prod(d for d in dims if d) > MAX_ARRAY_ELEMENTS:
        problem = f"no array has more than {MAX_ARRAY_ELEMENTS:,} elements"
    if problem:
        raise MatFileError(
            f"{describe_path(path)} has dimensions {dims}; {problem}. The file is "
            "corrupt",
            path=path,
        )


def _overrun(path: Path, nbytes: int, room: int) -> MatFileError:
    return MatFileError(
        f"{describe_path(path)} declares {nbytes:,} bytes of data where "
        f"{max(room, 0):,} are left of the element holding it; the file is corrupt",
        path=path,
    )
