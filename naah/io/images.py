"""Image input and output: load, save, and convert to and from VGG's input layout.

Every image inside naah is an ``ndarray of shape (H, W, 3)``, dtype float32, RGB,
values in [0, 255]. :func:`load_image` turns files, Pillow images and arrays into that
form; :func:`preprocess` and :func:`deprocess` move between it and the
``(1, 3, H, W)`` mean-subtracted batch the network sees.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError, features

__all__ = [
    "ImageError",
    "deprocess",
    "load_image",
    "preprocess",
    "resize_to_long_edge",
    "save_image",
    "scale_image",
    "to_pil",
    "to_uint8",
]

ImageLike = str | os.PathLike | Image.Image | np.ndarray

# Lanczos (a windowed sinc over 3 lobes) is Pillow's sharpest filter and its
# antialiasing is the best for downscaling photographs, the common case here; the
# fine texture it keeps matters for style. Its slight overshoot is clipped to [0, 255].
RESAMPLE = Image.Resampling.LANCZOS

# 65535 / 255: maps the 16-bit range exactly onto the 8-bit range (65535 -> 255).
UINT16_TO_UINT8 = 257.0

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


class ImageError(ValueError):
    """An image that cannot be read, converted or written as asked."""


def load_image(
    image: ImageLike,
    *,
    long_edge: int | None = None,
    size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Load an image as a float32 RGB array, optionally resized.

    Parameters
    ----------
    image : str, os.PathLike, PIL.Image.Image or ndarray
        A file path, a Pillow image, or an array of shape (H, W), (H, W, 1),
        (H, W, 3) or (H, W, 4). Arrays of dtype uint8 are taken as 0–255, uint16 as
        0–65535 (scaled to 0–255), and any other integer or float dtype as 0–255
        (values outside are clipped; multiply a 0–1 image by 255 first). Grayscale
        is repeated into three channels; a fourth channel is alpha, and the image
        is composited on white. Pillow images get the same treatment, after their
        EXIF orientation is applied; 16-bit ones are scaled from 0–65535.
    long_edge : int, optional
        Resize (Lanczos) so the longer side has this many pixels, keeping the
        aspect ratio.
    size : tuple of int, optional
        Resize (Lanczos) to exactly ``(H, W)``. Give ``long_edge`` or ``size``,
        not both; with neither the image keeps its own size.

    Returns
    -------
    ndarray of shape (H, W, 3)
        float32, RGB, values in [0, 255], C-contiguous; never a view of the input.

    Raises
    ------
    FileNotFoundError
        If the path does not exist.
    ImageError
        If the file is empty, truncated, not an image, or larger than
        ``PIL.Image.MAX_IMAGE_PIXELS`` allows; or the array has a bad shape or
        holds NaN or infinity.

    Examples
    --------
    >>> import numpy as np
    >>> img = load_image(np.zeros((40, 60), dtype=np.uint8), long_edge=30)
    >>> img.shape, img.dtype
    ((20, 30, 3), dtype('float32'))
    """
    if long_edge is not None and size is not None:
        raise ValueError("give long_edge or size, not both")
    rgb = _to_rgb(image)
    if long_edge is not None:
        size = _long_edge_size(rgb.shape[:2], long_edge)
    elif size is not None:
        size = _check_size(size)
    return rgb if size is None else _resize(rgb, size)


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
    rgb = _to_rgb(image)
    h, w = rgb.shape[:2]
    return _resize(rgb, (max(1, round(h * factor)), max(1, round(w * factor))))


def save_image(
    path: str | os.PathLike, image: np.ndarray, *, quality: int = 95
) -> Path:
    """Write an (H, W, 3) image to ``path``, completely or not at all.

    The format follows the extension: .png, .jpg/.jpeg, .bmp, .tif/.tiff and, where
    Pillow has it, .webp. The image goes to a temporary file in the same directory,
    is flushed to disk and then renamed over ``path``, so a failure leaves any
    existing file at ``path`` as it was.

    Parameters
    ----------
    path : str or os.PathLike
        Where to write; the directory must exist.
    image : ndarray of shape (H, W, 3)
        uint8, or floats in 0–255 (clipped and rounded).
    quality : int, optional
        JPEG/WebP quality, 1–100.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> out = save_image(os.path.join(tempfile.mkdtemp(), "a.png"), np.zeros((2, 3, 3)))
    >>> load_image(out).shape
    (2, 3, 3)
    """
    path = Path(path)
    fmt = SAVE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        supported = ", ".join(SAVE_FORMATS)
        raise ImageError(
            f"cannot save {path}: unknown extension {path.suffix!r}; "
            f"use one of {supported}"
        )
    if isinstance(quality, bool) or not isinstance(quality, int | np.integer):
        raise TypeError(f"quality must be an int in 1–100, got {quality!r}")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be in 1–100, got {quality}")
    pil = to_pil(image)
    directory = path.parent
    if not directory.is_dir():
        raise FileNotFoundError(
            f"cannot save {path}: directory {directory} does not exist; create it first"
        )
    options = {"quality": int(quality)} if fmt in ("JPEG", "WEBP") else {}
    _write_atomically(path, lambda f: pil.save(f, format=fmt, **options))
    return path


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
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.size == 0:
        raise ImageError(f"expected an image of shape (H, W, 3), got {image.shape}")
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


def _to_rgb(image: ImageLike) -> np.ndarray:
    if isinstance(image, str | os.PathLike):
        return _load_file(Path(image))
    if isinstance(image, Image.Image):
        return _decode(image, getattr(image, "filename", "") or "the Pillow image")
    return _array_to_rgb(np.asarray(image))


def _load_file(path: Path) -> np.ndarray:
    if not path.exists():
        raise FileNotFoundError(f"no image file at {path}; check the path")
    if path.is_file() and path.stat().st_size == 0:
        raise ImageError(f"{path} is empty (0 bytes); it is not an image")
    try:
        img = Image.open(path)
    except UnidentifiedImageError:
        raise ImageError(
            f"{path} is not an image format Pillow can read; give a PNG, JPEG, "
            "TIFF, BMP or WebP file"
        ) from None
    except Image.DecompressionBombError as e:
        raise _bomb_error(path, e) from None
    with img:
        return _decode(img, path)


def _decode(img: Image.Image, name: str | os.PathLike[str]) -> np.ndarray:
    try:
        img.load()  # full decode here, so a truncated file fails now
    except Image.DecompressionBombError as e:
        raise _bomb_error(name, e) from None
    except (OSError, SyntaxError, EOFError, ValueError) as e:
        raise ImageError(
            f"{name} could not be decoded (truncated or corrupt?): {e}"
        ) from e
    img = ImageOps.exif_transpose(img)
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


def _check_size(size: Sequence[int]) -> tuple[int, int]:
    if len(size) != 2 or not all(_is_positive_int(n) for n in size):
        raise ValueError(f"size must be (H, W) with two positive ints, got {size!r}")
    return int(size[0]), int(size[1])


def _long_edge_size(shape: tuple[int, int], long_edge: int) -> tuple[int, int]:
    if not _is_positive_int(long_edge):
        raise ValueError(f"long_edge must be a positive int, got {long_edge!r}")
    h, w = shape
    ratio = long_edge / max(h, w)
    return max(1, round(h * ratio)), max(1, round(w * ratio))


def _is_positive_int(n: object) -> bool:
    return isinstance(n, int | np.integer) and not isinstance(n, bool) and bool(n > 0)


def _resize(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = size
    if rgb.shape[:2] == (h, w):
        return rgb
    # Resize each channel as a 32-bit float ("F") image: no rounding to 8 bits.
    channels = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(rgb[..., c])).resize((w, h), RESAMPLE)
        )
        for c in range(3)
    ]
    return np.ascontiguousarray(np.clip(np.stack(channels, axis=-1), 0, 255))


def _mean(mean_pixel: npt.ArrayLike) -> np.ndarray:
    mean = np.asarray(mean_pixel, dtype=np.float32)
    if mean.shape != (3,):
        raise ValueError(
            f"mean_pixel must hold 3 RGB values, e.g. (123.68, 116.779, 103.939); "
            f"got shape {mean.shape}"
        )
    return mean


def _write_atomically(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    directory = path.parent
    try:
        tmp = tempfile.NamedTemporaryFile(
            delete=False, dir=directory, prefix=f".{path.name}.", suffix=path.suffix
        )
    except PermissionError:
        raise PermissionError(
            f"cannot save {path}: directory {directory} is not writable"
        ) from None
    try:
        with tmp:
            write(tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp.name, _new_file_mode(path))
        os.replace(tmp.name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp.name)
        raise


def _new_file_mode(path: Path) -> int:
    # NamedTemporaryFile makes the file 0o600; give it the mode an ordinary save
    # would: the old file's, else 0o666 less the umask (which can only be read by
    # setting it, so another thread creating a file in between sees 0o022).
    if path.exists():
        return path.stat().st_mode & 0o777
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask
