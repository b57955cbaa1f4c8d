"""Colour profiles: images come into naah as sRGB, and go out saying they are.

naah works in sRGB: VGG-19 was trained on sRGB photographs, and the values of an
image are taken as sRGB everywhere. A file with an embedded ICC profile of another
space (Adobe RGB, Display P3, a CMYK press profile) is converted to sRGB as it is
loaded (:func:`in_srgb`, through Pillow's LittleCMS binding ``PIL.ImageCms``); one
whose profile is sRGB, or that has none, keeps its values bit for bit. Saved
images carry the sRGB profile (:func:`srgb_profile`), so that print shops and
colour-managed viewers show them as naah meant them.

Examples
--------
>>> from PIL import Image
>>> plain = Image.new("RGB", (2, 2), (200, 30, 30))
>>> in_srgb(plain, "plain") is plain  # no profile: taken as sRGB already
True
>>> srgb_profile()[36:40]  # the ICC signature
b'acsp'
"""

from __future__ import annotations

import functools
import io
import os
import warnings

import numpy as np
from PIL import Image, ImageCms

__all__ = ["in_srgb", "srgb_profile"]

# Relative colorimetric: colours inside sRGB's gamut keep their measured colour,
# those outside it are clipped to its edge (matrix/TRC profiles such as Adobe RGB
# have no perceptual tables, so LittleCMS does this for them under any intent).
INTENT = ImageCms.Intent.RELATIVE_COLORIMETRIC
# Pillow image modes whose embedded profile is applied, and the mode each becomes.
# Grey ("L"), 16-bit and float images keep their values: Pillow's LittleCMS
# binding converts 8-bit colour only.
CONVERTED_MODES = {"RGB": "RGB", "RGBA": "RGBA", "CMYK": "RGB"}
# The colour space (ICC header, 4 characters) a profile of each mode describes.
PROFILE_SPACES = {"RGB": "RGB ", "RGBA": "RGB ", "CMYK": "CMYK"}
# A profile is taken as sRGB when converting these colours from it to sRGB moves
# none of them by more than SAME_WITHIN levels (of 255): every 15th level of each
# channel (18^3 colours) and every grey. sRGB profiles of different makers differ
# in how they round their curves, by a level here and there; any other RGB space
# moves some of these colours by many levels (Adobe RGB's saturated greens by
# more than 100).
PROBE_LEVELS = np.arange(0, 256, 15, dtype=np.uint8)
SAME_WITHIN = 1


@functools.cache
def srgb_profile() -> bytes:
    """The ICC profile of sRGB (LittleCMS's built-in one, 588 bytes), as saved
    images embed it.

    Examples
    --------
    >>> len(srgb_profile())
    588
    """
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def in_srgb(img: Image.Image, name: str | os.PathLike[str]) -> Image.Image:
    """``img`` with the colours of its embedded ICC profile converted to sRGB.

    Parameters
    ----------
    img : PIL.Image.Image
        A decoded image; its profile is ``img.info["icc_profile"]``.
    name : str or os.PathLike
        What to call it in a warning (its file).

    Returns
    -------
    PIL.Image.Image
        ``img`` itself when it has no profile, its profile is sRGB, or its mode is
        not 8-bit RGB, RGBA or CMYK; otherwise a new RGB (or RGBA, alpha kept)
        image, converted relative colorimetrically.

    Warns
    -----
    UserWarning
        When the profile cannot be read or does not describe the image's colour
        space; the image is then taken as sRGB, as it is.
    """
    profile = img.info.get("icc_profile")
    if not profile or img.mode not in CONVERTED_MODES:
        return img
    source = _readable(profile, img.mode, name)
    if source is None:
        return img
    try:
        if img.mode != "CMYK" and _is_srgb(profile):
            return img
        converted = ImageCms.profileToProfile(
            img,
            source,
            _srgb(),
            renderingIntent=INTENT,
            outputMode=CONVERTED_MODES[img.mode],
        )
    except ImageCms.PyCMSError as error:
        _ignored(name, f"cannot be applied ({error})")
        return img
    assert converted is not None  # not inPlace
    converted.info.pop("icc_profile", None)  # its values are sRGB now
    return converted


def _readable(
    profile: bytes, mode: str, name: str | os.PathLike[str]
) -> ImageCms.ImageCmsProfile | None:
    """The profile, or None (with a warning) if it is unreadable or of another
    colour space than ``mode``."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    except (OSError, ImageCms.PyCMSError) as error:
        _ignored(name, f"cannot be read ({error})")
        return None
    space = source.profile.xcolor_space
    if space != PROFILE_SPACES[mode]:
        _ignored(name, f"describes {space.strip()} colours, not {mode}")
        return None
    return source


def _ignored(name: str | os.PathLike[str], why: str) -> None:
    warnings.warn(
        f"{name}: its embedded ICC profile {why}; its colours are taken as sRGB",
        UserWarning,
        stacklevel=2,
    )


@functools.cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@functools.lru_cache(maxsize=32)
def _is_srgb(profile: bytes) -> bool:
    """Whether an RGB profile is sRGB: converting the probe colours from it to
    sRGB changes none by more than SAME_WITHIN levels."""
    if profile == srgb_profile():
        return True
    grid = np.stack(np.meshgrid(*[PROBE_LEVELS] * 3, indexing="ij"), axis=-1)
    greys = np.repeat(np.arange(256, dtype=np.uint8)[:, np.newaxis], 3, axis=1)
    probe = np.concatenate([grid.reshape(-1, 3), greys])[np.newaxis]
    source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    converted = ImageCms.profileToProfile(
        Image.fromarray(probe), source, _srgb(), renderingIntent=INTENT
    )
    assert converted is not None  # not inPlace
    moved = np.abs(np.asarray(converted, np.int16) - probe.astype(np.int16))
    return bool(moved.max() <= SAME_WITHIN)
