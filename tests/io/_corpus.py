"""Crafted weights, image and special files, built in code: each one a way a file
can lie.

A MAT-file is written element by element (MathWorks, "MAT-File Format", the
reference naah's :mod:`naah.io.matv5` follows), so a test can put any size into any
field; HDF5 files are written with h5py and then given impossible contents. Nothing
here reads files with naah, so the tests compare naah's errors with what was written.
"""

from __future__ import annotations

import os
import struct
import zlib

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
