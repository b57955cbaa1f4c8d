"""Image input and output: load, save, and convert to and from VGG's input layout.

Every image inside naah is an ``ndarray of shape (H, W, 3)``, dtype float32, RGB,
values in [0, 255]. :func:`load_image` turns files, Pillow images and arrays into that
form; :func:`preprocess` and :func:`deprocess` move between it and the
``(1, 3, H, W)`` mean-subtracted batch the network sees.

A file far larger than the size asked of :func:`load_image` is decoded at reduced
size (see :data:`REDUCE_ABOVE_PIXELS`), so a 12000x12000 image wanted at 512 pixels
costs memory for a few thousand pixels a side, not for 144 million float pixels.
:func:`image_size` reads an image's size from its file's header, decoding nothing,
so checks of sizes cost a glance whatever the file.

Colours are sRGB's: a file with an embedded ICC profile of another space is
converted to sRGB as it loads, and saved files carry the sRGB profile
(:mod:`naah.io.icc`). :func:`save_image` writes 8 bits per channel through Pillow,
or 16 (PNG, TIFF) through :mod:`naah.io.sixteen_bit`, and records a resolution in
dots per inch when asked.
"""

from __future__ import annotations

import contextlib
import math
import os
import struct
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, NamedTuple

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError, features

from naah.io.files import check_regular_file, write_atomically
from naah.io.icc import in_srgb, srgb_profile
from naah.io.sixteen_bit import to_uint16, write_png16, write_tiff16

__all__ = [
    "ImageError",
    "ReducedDecodingWarning",
    "deprocess",
    "image_size",
    "load_image",
    "preprocess",
    "resize_to_long_edge",
    "save_format",
    "save_image",
    "scale_image",
    "to_pil",
    "to_uint8",
]

ImageLike = str | bytes | os.PathLike | Image.Image | np.ndarray

# Lanczos (a windowed sinc over 3 lobes) is Pillow's sharpest filter and its
# antialiasing is the best for downscaling photographs, the common case here; the
# fine texture it keeps matters for style. Its slight overshoot is clipped to [0, 255].
RESAMPLE = Image.Resampling.LANCZOS

# 65535 / 255: maps the 16-bit range exactly onto the 8-bit range (65535 -> 255).
UINT16_TO_UINT8 = 257.0

#: Files of up to this many pixels are always decoded in full, so they give exactly
#: the result of a full decode and one Lanczos resize. 2**24 (4096x4096) is more
#: than a 12-megapixel phone photograph. Larger files wanted at a much smaller size
#: are decoded at reduced size (JPEG's DCT scaling, else Pillow's box-filter
#: Image.reduce), at least REDUCING_GAP times the size wanted on each side, and
#: then resized with Lanczos as any other image.
REDUCE_ABOVE_PIXELS = 2**24
#: Pillow's documentation of ``reducing_gap`` (Image.resize): from 3 on, "the
#: result is indistinguishable from fair resampling in most cases".
REDUCING_GAP = 3.0
# What ImageOps.exif_transpose does for each EXIF orientation (tag 0x0112); the
# last four turn the image a quarter, so its width and height swap.
EXIF_ORIENTATION = 0x0112
ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
QUARTER_TURNS = frozenset({5, 6, 7, 8})
# A PNG's chunks after its pixels that may hold EXIF: eXIf, and the text chunks
# where older writers put it ("Raw profile type exif"), which Pillow reads too.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_EXIF_CHUNK = b"eXIf"
PNG_TEXT_CHUNKS = frozenset({b"tEXt", b"zTXt", b"iTXt"})
# Bytes load_image holds per pixel: float32 RGB, the decoded image and, while it is
# resized, its three channels and the stack of them (for MemoryError's message).
FLOAT_RGB_BYTES = 3 * 4
# Modes Image.reduce cannot average (palette indices, bits, 16-bit): what to
# convert them to first.
REDUCIBLE_MODES = {"P": "RGB", "PA": "RGBA", "1": "L"} | {
    mode: "I" for mode in ("I;16", "I;16L", "I;16B", "I;16N")
}

# Pillow modes that carry an alpha channel (premultiplied "a" ones included).
ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})

# File extension -> Pillow format name for save_image.
SAVE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}
if features.check("webp"):
    SAVE_FORMATS[".webp"] = "WEBP"
#: The bits per channel save_image writes: 8 (any format), 16 (these formats only).
BIT_DEPTHS = (8, 16)
SIXTEEN_BIT_FORMATS = {"PNG": write_png16, "TIFF": write_tiff16}
# Formats whose Pillow writer embeds an ICC profile (icc_profile=) and records a
# resolution (dpi=). Pillow's BMP writer embeds no profile; its WebP writer records
# no resolution, so save_image refuses a dpi for WebP rather than drop it.
ICC_FORMATS = frozenset({"PNG", "JPEG", "TIFF", "WEBP"})
DPI_FORMATS = frozenset({"PNG", "JPEG", "TIFF", "BMP"})


class ImageError(ValueError):
    """An image that cannot be read, converted or written as asked."""


class ReducedDecodingWarning(UserWarning):
    """A file far larger than the size asked was decoded at reduced size."""


def load_image(
    image: ImageLike,
    *,
    long_edge: int | None = None,
    size: tuple[int, int] | None = None,
    resample: Image.Resampling = RESAMPLE,
) -> np.ndarray:
    """Load an image as a float32 RGB array, optionally resized.

    Parameters
    ----------
    image : str, bytes, os.PathLike, PIL.Image.Image or ndarray
        A file path (bytes are a path too, as for :func:`open`), a Pillow
        image, or an array of shape (H, W), (H, W, 1),
        (H, W, 3) or (H, W, 4). Arrays of dtype uint8 are taken as 0–255, uint16 as
        0–65535 (scaled to 0–255), and any other integer or float dtype as 0–255
        (values outside are clipped; multiply a 0–1 image by 255 first). Grayscale
        is repeated into three channels; a fourth channel is alpha, and the image
        is composited on white. Pillow images get the same treatment, after their
        EXIF orientation is applied; 16-bit ones are scaled from 0–65535. Files
        and Pillow images with an embedded ICC profile (RGB, RGBA or CMYK) are
        converted to sRGB; sRGB ones and those without a profile keep their
        values exactly (arrays are taken as sRGB).
    long_edge : int, optional
        Resize (Lanczos) so the longer side has this many pixels, keeping the
        aspect ratio.
    size : tuple of int, optional
        Resize (Lanczos) to exactly ``(H, W)``. Give ``long_edge`` or ``size``,
        not both; with neither the image keeps its own size. A file of more than
        :data:`REDUCE_ABOVE_PIXELS` pixels, and at least 2 x :data:`REDUCING_GAP`
        times the size wanted on a side, is first decoded at reduced size: that
        needs far less memory, and the result is indistinguishable from a full
        decode's (a warning says it was done).
    resample : PIL.Image.Resampling, optional
        The filter of the resize: Lanczos (:data:`RESAMPLE`) unless another is
        asked, as masks ask for bilinear (:mod:`naah.regions`).

    Returns
    -------
    ndarray of shape (H, W, 3)
        float32, RGB, values in [0, 255], C-contiguous; never a view of the input.

    Raises
    ------
    FileNotFoundError
        If the path does not exist.
    ImageError
        If the path is not a regular file (a FIFO, a device: they are refused
        unread), or the file is empty, truncated, not an image, or more than twice
        ``PIL.Image.MAX_IMAGE_PIXELS`` (Pillow's decompression-bomb limit, which
        Pillow checks before any decoding; raise it for a file you trust); or
        the array has a bad shape or holds NaN or infinity.
    TypeError
        If ``image`` is bytes holding a NUL byte (image data, not a path).
    MemoryError
        If the memory for the image cannot be had; the message gives the size
        asked for and an estimate of what it needs.

    Warns
    -----
    ReducedDecodingWarning
        When a file is decoded at reduced size, saying how large it is and what
        it was decoded to.
    UserWarning
        When its ICC profile cannot be read or is not of its
        colour space (it is then taken as sRGB). Pillow's ``DecompressionBombWarning`` comes too for a
        file of more than ``PIL.Image.MAX_IMAGE_PIXELS``.

    Examples
    --------
    >>> import numpy as np
    >>> img = load_image(np.zeros((40, 60), dtype=np.uint8), long_edge=30)
    >>> img.shape, img.dtype
    ((20, 30, 3), dtype('float32'))
    """
    if long_edge is not None and size is not None:
        raise ValueError("give long_edge or size, not both")
    target = _Target(_check_long_edge(long_edge), _check_size(size), resample)
    try:
        loaded = _to_rgb(image, target)
        if loaded.note:
            warnings.warn(loaded.note, ReducedDecodingWarning, stacklevel=2)
        if loaded.size is None:
            return loaded.rgb
        return _resize(loaded.rgb, loaded.size, resample=resample)
    except MemoryError:
        raise _memory_error(image, target) from None


def image_size(image: ImageLike) -> tuple[int, int]:
    """(H, W) of an image as :func:`load_image` gives it at its own size.

    A file's size is read from its header, its EXIF orientation applied: no pixel
    is decoded, so a file of any size costs a glance.

    Parameters
    ----------
    image : str, bytes, os.PathLike, PIL.Image.Image or ndarray
        As :func:`load_image` takes it.

    Raises
    ------
    FileNotFoundError, ImageError
        As :func:`load_image` raises them for a file that is missing, not a
        regular file, empty, not an image or too large to open safely; a file
        whose pixels are damaged is only found out by decoding it.

    Examples
    --------
    >>> import numpy as np
    >>> image_size(np.zeros((40, 60, 3)))
    (40, 60)
    """
    if isinstance(image, bytes | str | os.PathLike):
        path = _bytes_path(image) if isinstance(image, bytes) else Path(image)
        with _open(path) as img:
            return _shown_size(img, path)
    if isinstance(image, Image.Image):
        name = getattr(image, "filename", "") or "the Pillow image"
        return _shown_size(image, name)
    shape = np.shape(image)
    if len(shape) not in (2, 3) or 0 in shape[:2]:
        raise ImageError(
            f"expected an image of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), "
            f"got {shape}"
        )
    return int(shape[0]), int(shape[1])


def resize_to_long_edge(image: ImageLike, long_edge: int) -> np.ndarray:
    """Resize an image so its longer side is ``long_edge`` pixels, keeping aspect.

    To size a style image like the content, pass
    ``round(max(content.shape[:2]) * style_scale)``.

    Examples
    --------
    >>> import numpy as np
    >>> resize_to_long_edge(np.zeros((60, 40, 3)), 30).shape
    (30, 20, 3)
    """
    return load_image(image, long_edge=long_edge)


def scale_image(image: ImageLike, factor: float) -> np.ndarray:
    """Resize an image by ``factor`` on both sides (each side at least 1 pixel).

    Examples
    --------
    >>> import numpy as np
    >>> scale_image(np.zeros((60, 40, 3)), 0.5).shape
    (30, 20, 3)
    """
    if not np.isfinite(factor) or factor <= 0:
        raise ValueError(f"factor must be a positive number, got {factor!r}")
    rgb = _to_rgb(image).rgb
    h, w = rgb.shape[:2]
    return _resize(rgb, (max(1, round(h * factor)), max(1, round(w * factor))))


def save_image(
    path: str | os.PathLike,
    image: np.ndarray,
    *,
    quality: int = 95,
    bit_depth: int = 8,
    dpi: float | None = None,
) -> Path:
    """Write an (H, W, 3) image to ``path``, completely or not at all.

    The format follows the extension: .png, .jpg/.jpeg, .bmp, .tif/.tiff and, where
    Pillow has it, .webp. The image goes to a temporary file in the same directory,
    is flushed to disk and then renamed over ``path``, so a failure leaves any
    existing file at ``path`` as it was. PNG, JPEG, TIFF and WebP files carry the
    sRGB ICC profile (:func:`naah.io.icc.srgb_profile`): naah's colours are sRGB.

    Parameters
    ----------
    path : str or os.PathLike
        Where to write; the directory must exist.
    image : ndarray of shape (H, W, 3)
        uint8, or floats in 0–255 (clipped, then rounded to the bit depth).
    quality : int, optional
        JPEG/WebP quality, 1–100.
    bit_depth : {8, 16}, optional
        Bits per channel. 16 is for PNG (written by OpenCV) and TIFF (by tifffile):
        each value becomes ``round(x / 255 * 65535)``, so a float image keeps what
        it holds between the 8-bit levels (a uint8 one is only widened).
    dpi : float, optional
        Resolution to record, in pixels per inch (PNG's pHYs chunk, TIFF's
        resolution tags, JPEG's JFIF density, BMP's header); None records none.
        Not for WebP, which has no place for it.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ImageError
        For an unknown extension, or a bit depth or dpi its format cannot hold.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> out = save_image(os.path.join(tempfile.mkdtemp(), "a.png"), np.zeros((2, 3, 3)))
    >>> load_image(out).shape
    (2, 3, 3)
    >>> ramp = np.linspace(0, 255, 12).reshape(2, 2, 3)
    >>> tif = save_image(os.path.join(tempfile.mkdtemp(), "a.tif"), ramp,
    ...                  bit_depth=16, dpi=300)
    """
    path = Path(path)
    fmt = save_format(path, bit_depth=bit_depth, dpi=dpi)
    if isinstance(quality, bool) or not isinstance(quality, int | np.integer):
        raise TypeError(f"quality must be an int in 1–100, got {quality!r}")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be in 1–100, got {quality}")
    if bit_depth == 16:
        pixels = to_uint16(_check_image(image))
    else:
        pil = to_pil(image)
    directory = path.parent
    if not directory.is_dir():
        raise FileNotFoundError(
            f"cannot save {path}: directory {directory} does not exist; create it first"
        )
    resolution = None if dpi is None else float(dpi)
    if bit_depth == 16:
        write = SIXTEEN_BIT_FORMATS[fmt]
        write_atomically(
            path, lambda f: write(f, pixels, icc=srgb_profile(), dpi=resolution)
        )
        return path
    options: dict[str, object] = {}
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = int(quality)
    if fmt in ICC_FORMATS:
        options["icc_profile"] = srgb_profile()
    if resolution is not None:
        options["dpi"] = (resolution, resolution)
    write_atomically(path, lambda f: pil.save(f, format=fmt, **options))
    return path


def save_format(
    path: str | os.PathLike, *, bit_depth: int = 8, dpi: float | None = None
) -> str:
    """The format :func:`save_image` writes ``path`` in (Pillow's name for it),
    once it is known that it holds ``bit_depth`` bits per channel and a ``dpi``.

    Raises
    ------
    ImageError
        For an unknown extension, a bit depth of 16 outside PNG and TIFF, or a dpi
        for WebP; the message says what to give instead.
    ValueError
        For a bit depth other than 8 or 16, or a dpi that is not a positive number.

    Examples
    --------
    >>> save_format("print.tif", bit_depth=16, dpi=300)
    'TIFF'
    >>> save_format("print.jpg", bit_depth=16)
    Traceback (most recent call last):
    ...
    naah.io.images.ImageError: cannot save print.jpg with 16 bits per channel: JPEG holds 8; use a .png or .tif file, or 8 bits
    """
    path = Path(path)
    fmt = SAVE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        supported = ", ".join(SAVE_FORMATS)
        raise ImageError(
            f"cannot save {path}: unknown extension {path.suffix!r}; "
            f"use one of {supported}"
        )
    if isinstance(bit_depth, bool) or bit_depth not in BIT_DEPTHS:
        raise ValueError(f"bit_depth must be 8 or 16, got {bit_depth!r}")
    if bit_depth == 16 and fmt not in SIXTEEN_BIT_FORMATS:
        raise ImageError(
            f"cannot save {path} with 16 bits per channel: {fmt} holds 8; use a "
            ".png or .tif file, or 8 bits"
        )
    if dpi is not None:
        if isinstance(dpi, bool) or not isinstance(
            dpi, int | float | np.integer | np.floating
        ):
            raise TypeError(f"dpi must be a positive number or None, got {dpi!r}")
        if not 0 < dpi < math.inf:
            raise ValueError(f"dpi must be positive and finite, got {dpi!r}")
        if fmt not in DPI_FORMATS:
            raise ImageError(
                f"cannot record a resolution in {path}: {fmt} has no place for it; "
                "use a .png, .tif or .jpg file, or no dpi"
            )
    return fmt


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Clip an array to [0, 255] and round it to uint8.

    Examples
    --------
    >>> to_uint8(np.array([-3.0, 12.5, 13.5, 300.0]))
    array([  0,  12,  14, 255], dtype=uint8)
    """
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image.copy()
    if image.dtype.kind not in "uif":
        raise TypeError(f"expected a numeric array, got dtype {image.dtype}")
    _check_finite(image)
    return np.rint(np.clip(image, 0, 255)).astype(np.uint8)


def to_pil(image: np.ndarray) -> Image.Image:
    """Convert an (H, W, 3) uint8 or 0–255 float array to an RGB Pillow image.

    Examples
    --------
    >>> to_pil(np.zeros((2, 3, 3))).size
    (3, 2)
    """
    image = _check_image(image)
    return Image.fromarray(np.ascontiguousarray(to_uint8(image)))


def preprocess(image: np.ndarray, mean_pixel: npt.ArrayLike) -> np.ndarray:
    """Turn an (H, W, 3) RGB 0–255 image into a mean-subtracted (1, 3, H, W) batch.

    Parameters
    ----------
    image : ndarray of shape (H, W, 3)
        RGB, 0–255.
    mean_pixel : array-like of 3 floats
        RGB mean to subtract, e.g. VGG-19's ``(123.68, 116.779, 103.939)``.

    Returns
    -------
    ndarray of shape (1, 3, H, W)
        float32, C-contiguous, channels in RGB order.

    Examples
    --------
    >>> batch = preprocess(np.full((4, 6, 3), 200.0), (100.0, 50.0, 25.0))
    >>> batch.shape, batch[0, :, 0, 0]
    ((1, 3, 4, 6), array([100., 150., 175.], dtype=float32))
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an image of shape (H, W, 3), got {image.shape}")
    batch = (image - _mean(mean_pixel)).transpose(2, 0, 1)[np.newaxis]
    return np.ascontiguousarray(batch)


def deprocess(batch: np.ndarray, mean_pixel: npt.ArrayLike) -> np.ndarray:
    """Undo :func:`preprocess`: a (1, 3, H, W) or (3, H, W) batch to (H, W, 3).

    The result is float32 RGB around 0–255 but not clipped, so optimised images
    that overshoot keep their values; :func:`to_uint8` or :func:`save_image` clip.

    Examples
    --------
    >>> x = np.random.default_rng(0).uniform(0, 255, (4, 5, 3)).astype(np.float32)
    >>> mean = (123.68, 116.779, 103.939)
    >>> np.allclose(deprocess(preprocess(x, mean), mean), x, atol=1e-4)
    True
    """
    batch = np.asarray(batch, dtype=np.float32)
    if batch.ndim == 4 and batch.shape[0] == 1:
        batch = batch[0]
    if batch.ndim != 3 or batch.shape[0] != 3:
        raise ValueError(
            f"expected a batch of shape (1, 3, H, W) or (3, H, W), got {batch.shape}"
        )
    return np.ascontiguousarray(batch.transpose(1, 2, 0) + _mean(mean_pixel))


# --- helpers -------------------------------------------------------------------


def _check_image(image: np.ndarray) -> np.ndarray:
    """``image`` as an array, once it is known to be of shape (H, W, 3)."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.size == 0:
        raise ImageError(f"expected an image of shape (H, W, 3), got {image.shape}")
    return image


class _Target(NamedTuple):
    """The size asked of load_image: a long edge, an exact (H, W), or neither;
    and the filter that resizes to it."""

    long_edge: int | None
    size: tuple[int, int] | None
    resample: Image.Resampling = RESAMPLE

    def of(self, shape: tuple[int, int]) -> tuple[int, int] | None:
        """The (H, W) result for an image of ``shape`` (H, W); None: its own."""
        if self.long_edge is not None:
            return long_edge_size(shape, self.long_edge)
        return self.size


class _Loaded(NamedTuple):
    """An image as RGB, the (H, W) to resize it to (None: as is), and what to say
    about how it was decoded (None: nothing)."""

    rgb: np.ndarray
    size: tuple[int, int] | None
    note: str | None = None


_NO_TARGET = _Target(None, None)


def _wants_own_size(target: _Target) -> bool:
    return target.long_edge is None and target.size is None


def _to_rgb(image: ImageLike, target: _Target = _NO_TARGET) -> _Loaded:
    if isinstance(image, bytes):
        return _load_file(_bytes_path(image), target)
    if isinstance(image, str | os.PathLike):
        return _load_file(Path(image), target)
    if isinstance(image, Image.Image):
        name = getattr(image, "filename", "") or "the Pillow image"
        rgb = _decode(image, name)
    else:
        rgb = _array_to_rgb(np.asarray(image))
    return _Loaded(rgb, target.of(rgb.shape[:2]))


def _bytes_path(image: bytes) -> Path:
    # bytes are a path, as for open() and os.path; image data held in memory has
    # NUL bytes, which no path has, so say how to load that instead.
    if b"\0" in image:
        raise TypeError(
            "load_image takes bytes as a file path, but these hold a NUL byte, so "
            "they look like image data: load those with "
            "load_image(PIL.Image.open(io.BytesIO(data)))"
        )
    return Path(os.fsdecode(image))


def _load_file(path: Path, target: _Target) -> _Loaded:
    with _open(path) as img:
        return _decode_reduced(img, path, target)


def _open(path: Path) -> Image.Image:
    """The file opened by Pillow, its header read and no pixel decoded, once it is
    known to be a regular file that is not empty."""
    if not path.exists():
        raise FileNotFoundError(f"no image file at {path}; check the path")
    try:
        check_regular_file(path, "image file")
    except ValueError as error:
        raise ImageError(str(error)) from None
    if path.stat().st_size == 0:
        raise ImageError(f"{path} is empty (0 bytes); it is not an image")
    try:
        return Image.open(path)
    except UnidentifiedImageError:
        raise ImageError(
            f"{path} is not an image format Pillow can read; give a PNG, JPEG, "
            "TIFF, BMP or WebP file"
        ) from None
    except Image.DecompressionBombError as e:
        raise _bomb_error(path, e) from None


def _shown_size(img: Image.Image, name: str | os.PathLike[str]) -> tuple[int, int]:
    """(H, W) of ``img`` as displayed: its EXIF orientation applied."""
    width, height = img.size
    if _orientation(img, name) in QUARTER_TURNS:
        return width, height
    return height, width


def _orientation(img: Image.Image, name: str | os.PathLike[str]) -> int:
    """The EXIF orientation of ``img``, 1 if none, read without decoding pixels
    where the format allows (a PNG may keep its EXIF after its pixels)."""
    file = getattr(img, "fp", None)  # an ImageFile's; None once it is loaded
    if file is not None and _png_without_exif_yet(img):
        found = _png_exif_after_pixels(file)
        if found is None:  # nothing there, so Pillow would find none either
            return 1
        if isinstance(found, bytes):
            exif = Image.Exif()
            exif.load(b"Exif\x00\x00" + found)  # as Pillow's PNG reader stores it
            return int(exif.get(EXIF_ORIENTATION, 1))
    with _decoding(name):  # a PNG with EXIF in text chunks: Pillow decodes it
        return int(img.getexif().get(EXIF_ORIENTATION, 1))


def _png_without_exif_yet(img: Image.Image) -> bool:
    """A still PNG whose header gave no EXIF: Pillow would decode it to look for
    EXIF after its pixels, which :func:`_png_exif_after_pixels` finds unread."""
    return (
        img.format == "PNG"
        and not getattr(img, "is_animated", False)
        and "exif" not in img.info
        and "Raw profile type exif" not in img.info
    )


def _png_exif_after_pixels(file: IO[bytes]) -> bytes | bool | None:
    """A PNG's eXIf chunk (bytes), True if text chunks follow its pixels (they may
    hold EXIF), None if neither: read by seeking from chunk to chunk.

    The file's position is restored, so that Pillow reads on as before.
    """
    here = file.tell()
    try:
        file.seek(0)
        if file.read(len(PNG_SIGNATURE)) != PNG_SIGNATURE:
            return None
        texts = pixels = False
        while len(head := file.read(8)) == 8:
            length, kind = struct.unpack(">I4s", head)
            if kind == PNG_EXIF_CHUNK:
                return file.read(length)
            if kind == b"IEND":
                break
            pixels = pixels or kind == b"IDAT"
            texts = texts or (pixels and kind in PNG_TEXT_CHUNKS)
            file.seek(length + 4, os.SEEK_CUR)  # the data and its CRC
        return True if texts else None
    finally:
        file.seek(here)


def _decode_reduced(img: Image.Image, path: Path, target: _Target) -> _Loaded:
    """Decode a file no larger than ``target`` needs, as _decode would in full."""
    width, height = img.size
    if _wants_own_size(target) or width * height <= REDUCE_ABOVE_PIXELS:
        rgb = _decode(img, path)
        return _Loaded(rgb, target.of(rgb.shape[:2]))
    orientation = _orientation(img, path)
    turned = orientation in QUARTER_TURNS
    shown = (height, width) if turned else (width, height)  # as displayed, W x H
    wanted = target.of(shown[::-1])
    assert wanted is not None  # there is a target
    # The wanted size as the file stores it, (width, height), before turning.
    need = wanted if turned else wanted[::-1]
    if _factors(img.size, need) == (1, 1):
        return _Loaded(_decode(img, path), wanted)
    draft = img.draft(
        None, (math.ceil(REDUCING_GAP * need[0]), math.ceil(REDUCING_GAP * need[1]))
    )
    _load(img, path)
    factors = _factors(img.size, need)
    if factors != (1, 1):
        # Averaged as _decode would composite: transparency made alpha, palette
        # indices made colours, first.
        if "transparency" in img.info:
            img = img.convert("RGBA")
        elif img.mode in REDUCIBLE_MODES:
            img = img.convert(REDUCIBLE_MODES[img.mode])
        img = img.reduce(factors)
    # DCT scaling and Image.reduce round sizes up, so the last row and column
    # cover part of a block: the file spans this box of the pixels decoded.
    drafted = (width, height) if draft is None else draft[1][2:]
    box = (0.0, 0.0, drafted[0] / factors[0], drafted[1] / factors[1])
    decoded = _float_rgb(img, path)
    rgb = _resize(
        decoded,
        need[::-1],
        box,
        ORIENTATION_TRANSPOSE.get(orientation),
        target.resample,
    )
    note = (
        f"{path} is {shown[0]}x{shown[1]} pixels, far more than the "
        f"{wanted[1]}x{wanted[0]} result needs: decoded at reduced size "
        f"({img.size[0]}x{img.size[1]}) to save memory"
    )
    return _Loaded(rgb, None, note)


def _factors(stored: tuple[int, int], need: tuple[int, int]) -> tuple[int, int]:
    """Integer reductions of ``stored`` (W, H) leaving REDUCING_GAP x ``need``."""
    return (
        max(1, int(stored[0] // (REDUCING_GAP * need[0]))),
        max(1, int(stored[1] // (REDUCING_GAP * need[1]))),
    )


@contextlib.contextmanager
def _decoding(name: str | os.PathLike[str]) -> Iterator[None]:
    """Report what Pillow raises while decoding as an ImageError naming the file."""
    try:
        yield
    except Image.DecompressionBombError as e:
        raise _bomb_error(name, e) from None
    except (OSError, SyntaxError, EOFError, ValueError) as e:
        raise ImageError(
            f"{name} could not be decoded (truncated or corrupt?): {e}"
        ) from e


def _load(img: Image.Image, name: str | os.PathLike[str]) -> None:
    with _decoding(name):
        img.load()  # full decode here, so a truncated file fails now


def _decode(img: Image.Image, name: str | os.PathLike[str]) -> np.ndarray:
    _load(img, name)
    return _float_rgb(ImageOps.exif_transpose(img), name)


def _float_rgb(img: Image.Image, name: str | os.PathLike[str]) -> np.ndarray:
    """A decoded Pillow image as a float32 RGB array, 0-255, in sRGB (its
    embedded profile applied: naah.io.icc), composited on white."""
    img = in_srgb(img, name)
    if img.mode in ALPHA_MODES or "transparency" in img.info:
        return _array_to_rgb(np.asarray(img.convert("RGBA")))
    if img.mode in SIXTEEN_BIT_MODES:
        return _array_to_rgb(np.asarray(img).astype(np.uint16))
    if img.mode == "I":  # 32-bit int; older Pillow opens 16-bit PNGs this way
        return _array_to_rgb(np.clip(np.asarray(img), 0, 65535).astype(np.uint16))
    if img.mode == "F":
        return _array_to_rgb(np.asarray(img))
    try:
        return _array_to_rgb(np.asarray(img.convert("RGB")))
    except ValueError as e:
        raise ImageError(
            f"{name} has mode {img.mode!r}, which cannot be converted to RGB: {e}"
        ) from e


def _memory_error(image: ImageLike, target: _Target) -> MemoryError:
    """MemoryError with the size asked for and what it needs (see FLOAT_RGB_BYTES)."""
    if isinstance(image, Image.Image):
        name = getattr(image, "filename", "") or "the Pillow image"
    elif isinstance(image, bytes | str | os.PathLike):
        name = os.fsdecode(image)
    else:
        name = "the array"
    try:
        shape = image_size(image)
    except (OSError, ImageError):  # cannot happen for what decoded this far
        return MemoryError(f"not enough memory to load {name}")
    wanted = target.of(shape) or shape
    decoded = shape[0] * shape[1]
    if decoded > REDUCE_ABOVE_PIXELS and not _wants_own_size(target):
        fx, fy = _factors(shape[::-1], wanted[::-1])
        decoded //= fx * fy
    needs = FLOAT_RGB_BYTES * (decoded + 2 * wanted[0] * wanted[1])
    return MemoryError(
        f"not enough memory to load {name} ({shape[1]}x{shape[0]} pixels) at "
        f"{wanted[1]}x{wanted[0]}: that needs about {_gigabytes(needs)}; ask for a "
        "smaller size"
    )


def _gigabytes(count: int) -> str:
    return f"{count / 1e9:.1f} GB" if count >= 1e9 else f"{count / 1e6:.0f} MB"


def _bomb_error(name: str | os.PathLike[str], error: Exception) -> ImageError:
    return ImageError(
        f"{name} is too large to open safely ({error}); if you trust it, raise "
        "PIL.Image.MAX_IMAGE_PIXELS"
    )


def _array_to_rgb(arr: np.ndarray) -> np.ndarray:
    if arr.dtype.kind not in "uif":
        raise TypeError(
            f"image arrays must be of integer or float dtype, got {arr.dtype}"
        )
    if arr.ndim == 2:
        arr = arr[..., np.newaxis]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise ImageError(
            f"expected an image of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), "
            f"got {arr.shape}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageError(f"image is empty: shape {arr.shape}")
    _check_finite(arr)
    if arr.dtype == np.uint8:  # already 0-255: one float copy, not three
        arr = arr.astype(np.float32)
    else:
        scale = UINT16_TO_UINT8 if arr.dtype == np.uint16 else 1.0
        arr = np.clip(arr, 0, 255 * scale).astype(np.float32) / np.float32(scale)
    if arr.shape[2] == 4:  # composite on white: out = rgb·α + 255·(1 − α)
        alpha = arr[..., 3:] / 255
        arr = arr[..., :3] * alpha + 255 * (1 - alpha)
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    return np.ascontiguousarray(arr, dtype=np.float32)


def _check_finite(arr: np.ndarray) -> None:
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ImageError(
            "image contains NaN or infinite values; replace them (np.nan_to_num) first"
        )


def _check_size(size: Sequence[int] | None) -> tuple[int, int] | None:
    if size is None:
        return None
    if len(size) != 2 or not all(_is_positive_int(n) for n in size):
        raise ValueError(f"size must be (H, W) with two positive ints, got {size!r}")
    return int(size[0]), int(size[1])


def _check_long_edge(long_edge: int | None) -> int | None:
    if long_edge is not None and not _is_positive_int(long_edge):
        raise ValueError(f"long_edge must be a positive int, got {long_edge!r}")
    return None if long_edge is None else int(long_edge)


def long_edge_size(shape: Sequence[int], long_edge: int) -> tuple[int, int]:
    """The (H, W) that ``load_image(..., long_edge=long_edge)`` gives an image of
    ``shape`` ((H, W, ...)): the aspect ratio kept, each side rounded.

    Examples
    --------
    >>> long_edge_size((768, 1024), 512)
    (384, 512)
    """
    h, w = shape[0], shape[1]
    ratio = long_edge / max(h, w)
    return max(1, round(h * ratio)), max(1, round(w * ratio))


def _is_positive_int(n: object) -> bool:
    return isinstance(n, int | np.integer) and not isinstance(n, bool) and bool(n > 0)


def _resize(
    rgb: np.ndarray,
    size: tuple[int, int],
    box: tuple[float, float, float, float] | None = None,
    transpose: Image.Transpose | None = None,
    resample: Image.Resampling = RESAMPLE,
) -> np.ndarray:
    """Resize ``rgb`` (the ``box`` of it, default all) to ``size`` (H, W) with
    ``resample`` (Lanczos), then ``transpose`` it."""
    h, w = size
    if rgb.shape[:2] == (h, w) and box is None and transpose is None:
        return rgb
    # Resize each channel as a 32-bit float ("F") image: no rounding to 8 bits.
    channels = []
    for c in range(3):
        channel = Image.fromarray(np.ascontiguousarray(rgb[..., c]))
        channel = channel.resize((w, h), resample, box=box)
        if transpose is not None:
            channel = channel.transpose(transpose)
        channels.append(np.asarray(channel))
    return np.ascontiguousarray(np.clip(np.stack(channels, axis=-1), 0, 255))


def _mean(mean_pixel: npt.ArrayLike) -> np.ndarray:
    mean = np.asarray(mean_pixel, dtype=np.float32)
    if mean.shape != (3,):
        raise ValueError(
            f"mean_pixel must hold 3 RGB values, e.g. (123.68, 116.779, 103.939); "
            f"got shape {mean.shape}"
        )
    return mean
