"""Images of 16 bits per channel, for print: PNG through OpenCV, TIFF through
tifffile.

Pillow has no 16-bit RGB mode, so it cannot write these; OpenCV's PNG encoder
(``cv2.imencode``) and tifffile can. OpenCV writes no colour profile or resolution
into a PNG, so :func:`write_png16` adds them itself as the ``iCCP`` and ``pHYs``
chunks of the PNG specification (W3C, PNG Third Edition, sections 5.3, 11.3.2.3
and 11.3.4.2). Both libraries are imported only when a 16-bit image is written.

Examples
--------
>>> import numpy as np
>>> to_uint16(np.array([0.0, 0.25, 254.9, 255.0, 300.0]))
array([    0,    64, 65509, 65535, 65535], dtype=uint16)
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Iterator, Sequence
from typing import IO

import numpy as np

__all__ = [
    "png_chunk",
    "to_uint16",
    "with_png_chunks",
    "write_png16",
    "write_tiff16",
]

#: The 8 bytes every PNG file starts with (PNG spec, section 5.2).
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: An inch is exactly 2.54 cm; PNG records resolution in pixels per metre.
METRES_PER_INCH = 0.0254
# PNG's pHYs unit specifier 1: "unit is the metre" (0 is an aspect ratio only).
PHYS_PER_METRE = 1
# The name of the profile in the iCCP chunk: 1 to 79 Latin-1 characters.
ICC_PROFILE_NAME = b"sRGB"
# iCCP compression method 0: zlib's deflate, the only one PNG defines.
DEFLATE = 0
# A chunk is its data's length (4 bytes), its type (4), the data and a CRC (4).
CHUNK_OVERHEAD = 12


def to_uint16(image: np.ndarray) -> np.ndarray:
    """An (H, W, 3) image of 0–255 values as 16 bits per channel: each value
    clipped to [0, 255], then ``round(x / 255 * 65535)``.

    A float image keeps what it has between the 8-bit levels; a uint8 one becomes
    ``x * 257`` (255 → 65535).

    Examples
    --------
    >>> to_uint16(np.array([[0, 1, 255]], np.uint8))
    array([[    0,   257, 65535]], dtype=uint16)
    """
    image = np.asarray(image)
    if image.dtype.kind not in "uif":
        raise TypeError(f"expected a numeric array, got dtype {image.dtype}")
    if image.dtype.kind == "f" and not np.isfinite(image).all():
        raise ValueError(
            "image contains NaN or infinite values; replace them (np.nan_to_num) first"
        )
    scaled = np.clip(image.astype(np.float64), 0, 255) * (65535 / 255)
    return np.rint(scaled).astype(np.uint16)


def write_png16(
    file: IO[bytes], pixels: np.ndarray, *, icc: bytes, dpi: float | None = None
) -> None:
    """Write (H, W, 3) uint16 RGB ``pixels`` to ``file`` as a 16-bit PNG carrying
    the ICC profile ``icc`` and, if given, ``dpi`` pixels per inch."""
    import cv2

    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(pixels[..., ::-1]))
    if not ok:  # pragma: no cover - OpenCV encodes any uint16 BGR array
        raise OSError("OpenCV could not encode the image as PNG")
    chunks = [_iccp(icc)] if dpi is None else [_iccp(icc), _phys(dpi)]
    file.write(with_png_chunks(encoded.tobytes(), chunks))


def write_tiff16(
    file: IO[bytes], pixels: np.ndarray, *, icc: bytes, dpi: float | None = None
) -> None:
    """Write (H, W, 3) uint16 RGB ``pixels`` to ``file`` as an uncompressed 16-bit
    TIFF carrying the ICC profile ``icc`` (tag 34675) and, if given, ``dpi`` pixels
    per inch (XResolution, YResolution, ResolutionUnit inch)."""
    import tifffile

    resolution = None if dpi is None else (dpi, dpi)
    tifffile.imwrite(
        file,
        np.ascontiguousarray(pixels),
        photometric="rgb",
        iccprofile=icc,
        resolution=resolution,
        resolutionunit="INCH" if dpi is not None else None,
        metadata=None,  # no tifffile JSON in the ImageDescription tag
    )


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: its length, its 4-letter type, ``data`` and the CRC-32 of the
    type and data (PNG spec, section 5.3; zlib's CRC-32 is PNG's).

    Examples
    --------
    >>> png_chunk(b"IEND", b"").hex()
    '0000000049454e44ae426082'
    """
    if len(kind) != 4 or not kind.isalpha():
        raise ValueError(f"a PNG chunk type is 4 ASCII letters, got {kind!r}")
    crc = zlib.crc32(kind + data)
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def with_png_chunks(png: bytes, chunks: Sequence[bytes]) -> bytes:
    """The PNG file ``png`` with ``chunks`` (whole chunks, :func:`png_chunk`) placed
    right after its header chunk IHDR, before any palette or image data as iCCP and
    pHYs must be. A chunk of the same type already in the file is dropped, so the
    file holds one of each.

    Raises
    ------
    ValueError
        If ``png`` is not a PNG file whose chunks fit inside it.
    """
    kinds = {chunk[4:8] for chunk in chunks}
    parts = list(_chunks(png))
    if not parts or parts[0][0] != b"IHDR":
        raise ValueError("not a PNG file: IHDR is not its first chunk")
    kept = [whole for kind, whole in parts[1:] if kind not in kinds]
    return PNG_SIGNATURE + parts[0][1] + b"".join(chunks) + b"".join(kept)


def _chunks(png: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Each chunk of ``png`` as (type, the whole chunk's bytes)."""
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG file: it lacks the PNG signature")
    at = len(PNG_SIGNATURE)
    while at < len(png):
        if at + CHUNK_OVERHEAD > len(png):
            raise ValueError(f"PNG chunk at byte {at} is cut short")
        (length,) = struct.unpack_from(">I", png, at)
        end = at + CHUNK_OVERHEAD + length
        if end > len(png):
            raise ValueError(f"PNG chunk at byte {at} runs past the end of the file")
        yield png[at + 4 : at + 8], png[at:end]
        at = end


def _iccp(profile: bytes) -> bytes:
    """The iCCP chunk: the profile's name, a NUL, the compression method, and the
    profile compressed with zlib."""
    data = ICC_PROFILE_NAME + b"\0" + bytes([DEFLATE]) + zlib.compress(profile)
    return png_chunk(b"iCCP", data)


def _phys(dpi: float) -> bytes:
    """The pHYs chunk: pixels per metre across and down, and the unit (metre)."""
    if not math.isfinite(dpi) or not 1 <= round(dpi / METRES_PER_INCH) < 2**31:
        raise ValueError(f"dpi must give 1 to 2**31 - 1 pixels per metre, got {dpi}")
    per_metre = round(dpi / METRES_PER_INCH)
    data = struct.pack(">IIB", per_metre, per_metre, PHYS_PER_METRE)
    return png_chunk(b"pHYs", data)
