"""Crafted weights, image and special files, built in code: each one a way a file
can lie.

A MAT-file is written element by element (MathWorks, "MAT-File Format", the
reference naah's :mod:`naah.io.matv5` follows), so a test can put any size into any
field; HDF5 files are written with h5py and then given impossible contents; naah's
checkpoints are zip files written byte by byte. Nothing here reads files with naah,
so the tests compare naah's errors with what was written.
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass

import h5py
import numpy as np

# MAT-file data types and array classes (Tables 1-1 and 1-3 of the format).
MI_INT8, MI_UINT16, MI_INT32, MI_UINT32, MI_DOUBLE = 1, 4, 5, 6, 9
MI_MATRIX, MI_COMPRESSED = 14, 15
MX_CELL, MX_STRUCT, MX_CHAR, MX_DOUBLE = 1, 2, 4, 6
# The userblock MATLAB puts in front of a v7.3 (HDF5) file.
MAT73_USERBLOCK = 512


def header(order: str = "<") -> bytes:
    """A level-5 MAT-file header (128 bytes) of byte order ``order``."""
    indicator = b"IM" if order == "<" else b"MI"
    text = b"MATLAB 5.0 MAT-file, crafted by tests/io/_corpus.py".ljust(116)
    return text + bytes(8) + struct.pack(order + "H", 0x0100) + indicator


def element(mi_type: int, data: bytes, *, nbytes: int | None = None) -> bytes:
    """A data element: tag (type, byte count), data, padding to 8 bytes.

    ``nbytes`` puts another byte count into the tag than the data has.
    """
    count = len(data) if nbytes is None else nbytes
    return struct.pack("<II", mi_type, count) + data + bytes(-len(data) % 8)


def matrix(
    mx_class: int, dims: tuple[int, ...], body: bytes, name: bytes = b""
) -> bytes:
    """A miMATRIX element: array flags, dimensions, name, then ``body``."""
    flags = element(MI_UINT32, struct.pack("<II", mx_class, 0))
    shape = element(MI_INT32, struct.pack(f"<{len(dims)}i", *dims))
    return element(MI_MATRIX, flags + shape + element(MI_INT8, name) + body)


def compressed(data: bytes) -> bytes:
    """An miCOMPRESSED element holding ``data`` (MATLAB -v7 wraps each variable).

    Unpadded: MATLAB and scipy start the next element right after the deflate data.
    """
    packed = zlib.compress(data, 9)
    return struct.pack("<II", MI_COMPRESSED, len(packed)) + packed


def double(dims: tuple[int, ...], name: bytes = b"") -> bytes:
    """A double array of zeros of shape ``dims``."""
    data = np.zeros(dims, "<f8").tobytes(order="F")
    return matrix(MX_DOUBLE, dims, element(MI_DOUBLE, data), name)


def mat_file(*variables: bytes) -> bytes:
    """A whole MAT-file: the header and top-level elements."""
    return header() + b"".join(variables)


# -- MAT v5 files that declare more than they hold -------------------------------------
def huge_cell(rows: int, cols: int) -> bytes:
    """A cell variable ``layers`` claiming rows x cols elements, holding one.

    With 30000 x 30000 this is the 184-byte file of issue 10: a reader that believes
    the dimensions makes room for 900 million elements before it reads the first.
    """
    return mat_file(matrix(MX_CELL, (rows, cols), element(MI_MATRIX, b""), b"layers"))


def negative_cell() -> bytes:
    """A cell whose dimensions are (1, -5)."""
    return mat_file(matrix(MX_CELL, (1, -5), b"", b"layers"))


def huge_double(rows: int, cols: int, name: bytes = b"meta") -> bytes:
    """A double array claiming rows x cols values, its tag claiming their bytes
    (a tag counts bytes in 32 bits: at most 536,870,911 doubles), holding one."""
    data = element(MI_DOUBLE, bytes(8), nbytes=rows * cols * 8)
    return mat_file(matrix(MX_DOUBLE, (rows, cols), data, name))


def odd_utf16_text() -> bytes:
    """A char array stored as UTF-16 with an odd number of bytes (half a character)."""
    text = element(MI_UINT16, "abc".encode("utf-16-le") + b"a")
    return mat_file(matrix(MX_CHAR, (1, 3), text, b"name"))


def ragged_text() -> bytes:
    """A 2-row char array holding 3 characters: they do not fill its rows."""
    text = element(MI_UINT16, "abc".encode("utf-16-le"))
    return mat_file(matrix(MX_CHAR, (2, 2), text, b"name"))


def deep_cells(depth: int) -> bytes:
    """``depth`` cells, each holding the next, compressed: a few kB that nest deeply.

    Written as the run of tags that open each level (no level has bytes after its
    child), so building it takes time linear in ``depth``.
    """
    flags = element(MI_UINT32, struct.pack("<II", MX_CELL, 0))
    shape = element(MI_INT32, struct.pack("<2i", 1, 1))
    opening = []
    inside = 8  # the innermost element: an empty miMATRIX, a tag alone
    for level in range(depth):
        name = element(MI_INT8, b"layers" if level == depth - 1 else b"")
        body = flags + shape + name
        opening.append(struct.pack("<II", MI_MATRIX, len(body) + inside) + body)
        inside += 8 + len(body)
    data = b"".join(reversed(opening)) + element(MI_MATRIX, b"")
    return mat_file(compressed(data))


def inflated_beyond_zlib(nbytes: int) -> bytes:
    """A compressed variable whose inner tag claims ``nbytes``: more than zlib can
    inflate from the few bytes that follow."""
    body = matrix(MX_DOUBLE, (1, 1), element(MI_DOUBLE, bytes(8)), b"x")
    lying = struct.pack("<II", MI_MATRIX, nbytes) + body[8:]
    return mat_file(compressed(lying))


def struct_with_many_fields(count: int) -> bytes:
    """A 1x1 struct claiming ``count`` fields of 32-character names, holding one."""
    field_names = element(MI_INT8, b"a".ljust(32, b"\0"), nbytes=32 * count)
    body = element(MI_INT32, struct.pack("<i", 32)) + field_names
    return mat_file(matrix(MX_STRUCT, (1, 1), body, b"meta"))


# -- HDF5 (MATLAB v7.3 and Keras) files ---------------------------------------------------
def mat73_header(path: str) -> None:
    """Write the text MATLAB puts in a v7.3 file's userblock."""
    text = b"MATLAB 7.3 MAT-file, crafted by tests/io/_corpus.py".ljust(116)
    with open(path, "r+b") as file:
        file.write((text + bytes(8) + b"\x00\x02IM").ljust(MAT73_USERBLOCK, b"\0"))


def _set_class(obj: h5py.HLObject, mat_class: str) -> None:
    obj.attrs["MATLAB_class"] = np.bytes_(mat_class)


def mat73_self_referencing_cell(path: str) -> str:
    """A v7.3 file whose ``layers`` cell holds a reference to itself."""
    with h5py.File(path, "w", userblock_size=MAT73_USERBLOCK) as file:
        refs = file.create_group("#refs#")
        cell = refs.create_dataset("a", shape=(1, 1), dtype=h5py.ref_dtype)
        _set_class(cell, "cell")
        cell[0, 0] = cell.ref
        layers = file.create_dataset("layers", data=np.array([[cell.ref]]))
        _set_class(layers, "cell")
    mat73_header(path)
    return path


def mat73_huge_array(path: str, shape: tuple[int, ...], name: str = "meta") -> str:
    """A v7.3 file whose ``name`` is a chunked double dataset of ``shape``, no data
    written: HDF5 reads the fill value for every element it never stored."""
    with h5py.File(path, "w", userblock_size=MAT73_USERBLOCK) as file:
        data = file.create_dataset(
            name, shape=shape, dtype="<f8", chunks=(1,) * len(shape)
        )
        _set_class(data, "double")
    mat73_header(path)
    return path


def mat73_huge_empty(path: str, dims: tuple[int, ...], name: str = "meta") -> str:
    """A v7.3 file whose ``name`` is flagged empty but lists dimensions with no zero."""
    with h5py.File(path, "w", userblock_size=MAT73_USERBLOCK) as file:
        data = file.create_dataset(name, data=np.array(dims, dtype=np.uint64))
        _set_class(data, "double")
        data.attrs["MATLAB_empty"] = np.uint8(1)
    mat73_header(path)
    return path


def keras_with_huge_layer(path: str, layer: str, out_channels: int) -> str:
    """Give Keras layer ``layer`` of the file at ``path`` ``out_channels`` outputs:
    a kernel and bias of consistent shapes holding no data (chunked, so HDF5 stores
    nothing). In a ``_notop`` file, block5_conv4's outputs feed no later layer."""
    with h5py.File(path, "r+") as file:
        group = file[layer]
        for raw in group.attrs["weight_names"]:
            name = raw.decode()
            shape = (*group[name].shape[:-1], out_channels)
            del group[name]
            group.create_dataset(
                name, shape=shape, dtype="<f4", chunks=(1,) * len(shape)
            )
    return path


# -- download responses that lie (issue 21, item 9) ------------------------------------
def lying_responses(data: bytes) -> dict[str, tuple[list[tuple[str, str]], bytes]]:
    """HTTP responses to a download of ``data``: name -> (headers, body). Each lies
    about the file: its length announced, the header's form, or a body that runs on.

    A downloader that believed them would write gigabytes for a file of known size.
    """
    size = len(data)
    length = "Content-Length"
    return {
        "10 GB announced": ([(length, str(10 * 10**9))], data * 4),
        "one byte less announced": ([(length, str(size - 1))], data),
        "one byte more announced": ([(length, str(size + 1))], data),
        "malformed length": ([(length, "abc")], data),
        "negative length": ([(length, "-5")], data),
        "two lengths": ([(length, str(size)), (length, str(size + 1))], data),
        "5000-digit length": ([(length, "9" * 5000)], data),
        "endless body, no length": ([], data + bytes(4 * size)),
    }


# -- naah checkpoints: a zip of .npy members and checkpoint.json ------------------------
# Written by hand (local headers, central directory, end record: PKWARE's APPNOTE.TXT,
# sections 4.3.7-4.3.16), so that a member can declare any size and hold anything.
ZIP_STORED, ZIP_DEFLATED = 0, 8
CHECKPOINT_MANIFEST = "checkpoint.json"
# Zeros are deflated this many at a time (see inflating_zeros).
_ZEROS = 1 << 24


@dataclass(frozen=True)
class ZipMember:
    """A zip member as written: its bytes as stored, and what its headers declare."""

    name: str
    stored: bytes
    size: int  # the uncompressed size the headers declare
    crc: int
    method: int = ZIP_STORED
    stored_size: int | None = None  # the stored size they declare (None: true)


def stored(name: str, data: bytes) -> ZipMember:
    """A member stored as it is, its size and CRC true."""
    return ZipMember(name, data, len(data), zlib.crc32(data))


def deflated(name: str, data: bytes) -> ZipMember:
    """A member deflated, its size and CRC true."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = packer.compress(data) + packer.flush()
    return ZipMember(name, packed, len(data), zlib.crc32(data), ZIP_DEFLATED)


def inflating_zeros(name: str, prefix: bytes, zeros: int) -> ZipMember:
    """A deflated member of ``prefix`` then ``zeros`` zero bytes, its size and CRC
    true: about a thousandth of ``zeros`` in the file.

    Each chunk of zeros is deflated after a full flush, which makes the compressor
    forget what came before: its output is the same for every chunk, so the stream
    is built in milliseconds (``deflated`` would take seconds per gigabyte).
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = packer.compress(prefix) + packer.flush(zlib.Z_FULL_FLUSH)
    full, rest = divmod(zeros, _ZEROS)
    chunk = bytes(_ZEROS)
    piece = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH) if full else b""
    tail = packer.compress(bytes(rest)) + packer.flush()
    crc = crc32_of_zeros(zlib.crc32(prefix), zeros)
    stream = head + piece * full + tail
    return ZipMember(name, stream, len(prefix) + zeros, crc, ZIP_DEFLATED)


def crc32_of_zeros(crc: int, count: int) -> int:
    """``zlib.crc32(bytes(count), crc)`` in log(count) steps: zero bytes move the
    CRC's register linearly, by the 32x32 bit matrix of one zero bit raised to the
    power 8 count (as zlib's crc32_combine does), between the inversions zlib's
    CRC applies before and after."""
    # One zero bit: shift right, and xor the polynomial if the bit shifted out was 1.
    power = [0xEDB88320] + [1 << i for i in range(31)]
    register, bits = crc ^ 0xFFFFFFFF, 8 * count
    while bits:
        if bits & 1:
            register = _gf2_times(power, register)
        power = [_gf2_times(power, column) for column in power]  # squared
        bits >>= 1
    return register ^ 0xFFFFFFFF


def _gf2_times(matrix: list[int], vector: int) -> int:
    """A 32x32 bit matrix (its columns) times a 32-bit vector, over GF(2)."""
    result, column = 0, 0
    while vector:
        if vector & 1:
            result ^= matrix[column]
        vector >>= 1
        column += 1
    return result


def zip_archive(members: list[ZipMember]) -> bytes:
    """A zip file of ``members`` (fewer than 65536, each under 4 GiB: no zip64
    records)."""
    local, central = [], []
    offset = 0
    for m in members:
        name = m.name.encode()
        stored_size = len(m.stored) if m.stored_size is None else m.stored_size
        fields = (20, 0, m.method, 0, 0x21, m.crc, stored_size, m.size, len(name), 0)
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields) + name
        local.append(header + m.stored)
        central.append(
            struct.pack("<IH", 0x02014B50, 20)
            + struct.pack("<HHHHHIIIHHHHHII", *fields, 0, 0, 0, 0, offset)
            + name
        )
        offset += len(header) + len(m.stored)
    directory = b"".join(central)
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(directory),
        offset, 0,
    )  # fmt: skip
    return b"".join(local) + directory + end


def npy(array: np.ndarray) -> bytes:
    """An array in numpy's .npy format."""
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def npy_header(dtype: str, shape: tuple[int, ...]) -> bytes:
    """A .npy header (version 1.0) alone, declaring ``dtype`` and ``shape``."""
    buffer = io.BytesIO()
    fields = {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, fields)
    return buffer.getvalue()


def checkpoint_parts(data: bytes) -> tuple[dict, dict[str, bytes | ZipMember]]:
    """A checkpoint's manifest and its arrays' members: name -> .npy bytes, or a
    deflated member as it is stored (never inflated: it may be a bomb)."""
    members: dict[str, bytes | ZipMember] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = json.loads(archive.read(CHECKPOINT_MANIFEST))
        for info in archive.infolist():
            if not info.filename.startswith("arrays/"):
                continue
            name = info.filename.removeprefix("arrays/").removesuffix(".npy")
            if info.compress_type == ZIP_STORED:
                members[name] = archive.read(info)
                continue
            at = info.header_offset
            lengths = struct.unpack("<HH", data[at + 26 : at + 30])
            start = at + 30 + sum(lengths)
            stored_bytes = data[start : start + info.compress_size]
            members[name] = ZipMember(
                info.filename,
                stored_bytes,
                info.file_size,
                info.CRC,
                info.compress_type,
            )
    return manifest, members


def checkpoint_file(
    manifest: dict | str, members: dict[str, bytes | ZipMember]
) -> bytes:
    """A checkpoint of ``manifest`` (a dict, or JSON text as it is) and members
    (name -> .npy bytes, stored; or a ZipMember as it is)."""
    text = manifest if isinstance(manifest, str) else json.dumps(manifest)
    entries = [stored(CHECKPOINT_MANIFEST, text.encode())]
    for name, member in members.items():
        if isinstance(member, bytes):
            member = stored(f"arrays/{name}.npy", member)
        entries.append(member)
    return zip_archive(entries)


def checkpoint_bomb(data: bytes, name: str, shape: tuple[int, ...]) -> bytes:
    """The checkpoint ``data`` with array ``name`` listed as ``shape`` and stored as
    that many deflated zeros: a small file that inflates to the whole array (a
    checkpoint bomb may be made a bomb again, of another array).

    The 1.7 MB checkpoint of issue 21 listed its image as 1.2 GB this way.
    """
    manifest, members = checkpoint_parts(data)
    dtype = manifest["arrays"][name]["dtype"]
    manifest["arrays"][name]["shape"] = list(shape)
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    members[name] = inflating_zeros(
        f"arrays/{name}.npy", npy_header(dtype, shape), nbytes
    )
    return checkpoint_file(manifest, members)


def checkpoint_with_npy_header(data: bytes, name: str, shape: tuple[int, ...]) -> bytes:
    """The checkpoint ``data`` whose member for ``name`` starts with a .npy header
    claiming ``shape``, its listing and its data as they were. numpy's reader
    allocates what the header claims: (10**6, 10**6) float32 is 3.64 TiB."""
    manifest, members = checkpoint_parts(data)
    dtype, member = manifest["arrays"][name]["dtype"], members[name]
    assert isinstance(member, bytes), "a stored member"
    members[name] = npy_header(dtype, shape) + _npy_data(member)
    return checkpoint_file(manifest, members)


def checkpoint_with_array(data: bytes, name: str, array: np.ndarray) -> bytes:
    """The checkpoint ``data`` with array ``name`` replaced (listing and member)."""
    manifest, members = checkpoint_parts(data)
    array = np.asarray(array)
    manifest["arrays"][name] = {"dtype": array.dtype.name, "shape": list(array.shape)}
    members[name] = npy(array)
    return checkpoint_file(manifest, members)


def checkpoint_with_metadata(data: bytes, metadata: dict) -> bytes:
    """The checkpoint ``data`` with ``metadata`` instead of its own."""
    manifest, members = checkpoint_parts(data)
    manifest["metadata"] = metadata
    return checkpoint_file(manifest, members)


def _npy_data(member: bytes) -> bytes:
    """The bytes of a .npy member after its header."""
    buffer = io.BytesIO(member)
    major, _ = np.lib.format.read_magic(buffer)
    if major == 1:
        np.lib.format.read_array_header_1_0(buffer)
    else:
        np.lib.format.read_array_header_2_0(buffer)
    return member[buffer.tell() :]


# -- MAT v5 weights whose metadata is a bomb ----------------------------------------------
# Inflated bytes fed to zlib at a time while writing a bomb: bounds the writer's memory.
BOMB_CHUNK_BYTES = 1 << 24


def _struct(fields: dict[bytes, bytes], name: bytes = b"") -> bytes:
    """A 1x1 struct: 32-byte field names, then each field's miMATRIX in turn."""
    names = b"".join(f.ljust(32, b"\0") for f in fields)
    body = element(MI_INT32, struct.pack("<i", 32)) + element(MI_INT8, names)
    return matrix(MX_STRUCT, (1, 1), body + b"".join(fields.values()), name)


def with_meta_bomb(layers_file: bytes, values: int) -> bytes:
    """``layers_file`` (a MAT-file of layers alone) with a compressed ``meta``
    variable holding a proper mean pixel and ``junk``: ``values`` zero doubles.

    With 2**27 values this is the meta-bomb of issue 21: 1 GiB inflated, about a
    megabyte on disk. The deflate stream is written a chunk at a time, so building
    it costs no gigabyte here.
    """
    mean = np.array([123.68, 116.779, 103.939], "<f8").tobytes()
    average = matrix(MX_DOUBLE, (1, 1, 3), element(MI_DOUBLE, mean))
    normalization = _struct({b"averageImage": average})
    junk_bytes = 8 * values
    junk_head = matrix(MX_DOUBLE, (1, values), b"")  # its tag counts no data yet
    flags_shape_name = junk_head[8:]
    junk_tag = struct.pack(
        "<II", MI_MATRIX, len(flags_shape_name) + 8 + junk_bytes + (-junk_bytes % 8)
    )
    data_tag = struct.pack("<II", MI_DOUBLE, junk_bytes)
    names = b"".join(f.ljust(32, b"\0") for f in (b"normalization", b"junk"))
    body_head = element(MI_INT32, struct.pack("<i", 32)) + element(MI_INT8, names)
    meta_flags_shape = matrix(MX_STRUCT, (1, 1), b"", b"meta")[8:]
    inside = (
        len(meta_flags_shape)
        + len(body_head)
        + len(normalization)
        + len(junk_tag)
        + len(flags_shape_name)
        + len(data_tag)
        + junk_bytes
    )
    packer = zlib.compressobj(9)
    packed = [
        packer.compress(struct.pack("<II", MI_MATRIX, inside)),
        packer.compress(meta_flags_shape + body_head + normalization),
        packer.compress(junk_tag + flags_shape_name + data_tag),
    ]
    zeros = bytes(min(BOMB_CHUNK_BYTES, junk_bytes))
    left = junk_bytes
    while left:
        piece = zeros[: min(left, len(zeros))]
        packed.append(packer.compress(piece))
        left -= len(piece)
    packed.append(packer.flush())
    data = b"".join(packed)
    return layers_file + struct.pack("<II", MI_COMPRESSED, len(data)) + data


# -- images far larger than they look -------------------------------------------------
def png_chunk(kind: bytes, data: bytes) -> bytes:
    """A PNG chunk: length, type, data, CRC (PNG specification, section 5.3)."""
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png_bomb(
    side: int,
    value: int = 0,
    *,
    after: tuple[bytes, ...] = (),
    garbage: bool = False,
) -> bytes:
    """A greyscale 8-bit PNG of ``side`` x ``side`` pixels of ``value`` (255: a
    mask that is all inside), with the chunks ``after`` (see :func:`png_chunk`)
    after its pixels. 12000 gives the 140 KB file of issue 21 that decodes to 144
    million pixels; the rows are deflated one at a time, so building it holds none
    of them. ``garbage`` puts bytes that are not deflate data in place of the
    pixels: the chunks are whole, but no decoder can read them."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit grey
    packer = zlib.compressobj(9)
    row = b"\0" + bytes([value]) * side  # filter type 0, then the row's pixels
    data = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    if garbage:
        data = b"\xff" * len(data)  # not even a zlib header
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", data)
        + b"".join(after)
        + png_chunk(b"IEND", b"")
    )


def tiff_bomb(side: int) -> bytes:
    """A greyscale 8-bit TIFF of ``side`` x ``side`` black pixels in one deflated
    strip (TIFF 6.0 with Adobe's deflate, compression 8): a small file that decodes
    to ``side`` squared bytes."""
    packer = zlib.compressobj(9)
    row = bytes(side)
    strip = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    tags = [  # (tag, type: 3 SHORT or 4 LONG, value), in ascending order
        (256, 4, side),  # ImageWidth
        (257, 4, side),  # ImageLength
        (258, 3, 8),  # BitsPerSample
        (259, 3, 8),  # Compression: deflate
        (262, 3, 1),  # PhotometricInterpretation: black is zero
        (273, 4, 0),  # StripOffsets: filled in below
        (277, 3, 1),  # SamplesPerPixel
        (278, 4, side),  # RowsPerStrip: one strip
        (279, 4, len(strip)),  # StripByteCounts
    ]
    ifd_bytes = 2 + 12 * len(tags) + 4
    strip_offset = 8 + ifd_bytes
    entries = b"".join(
        struct.pack("<HHI", tag, kind, 1)
        + (
            struct.pack("<HH", value, 0)
            if kind == 3
            else struct.pack("<I", strip_offset if tag == 273 else value)
        )
        for tag, kind, value in tags
    )
    ifd = struct.pack("<H", len(tags)) + entries + struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + strip


# -- special files: not regular files, named like inputs ------------------------------
def fifo(path: str | os.PathLike[str]) -> str:
    """A FIFO at ``path``: a reader that opens it waits for a writer, forever."""
    os.mkfifo(path)
    return os.fspath(path)


def dev_zero(path: str | os.PathLike[str]) -> str:
    """A link at ``path`` to /dev/zero: a reader of it never reaches the end."""
    os.symlink("/dev/zero", path)
    return os.fspath(path)
