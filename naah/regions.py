"""Spatial control: regions, their masks, and their guides at each layer.

Gatys, Ecker, Bethge, Hertzmann & Shechtman (2017), *Controlling Perceptual Factors
in Neural Style Transfer*, section 4, give each region :math:`r` of the output a
guidance channel and a style of its own. Here a :class:`Region` holds

- ``guide``: the mask on the content (= output) image, ``(H, W)`` in [0, 1];
- ``style``: its style image, and ``style_guide``, the part of that image whose
  style it takes (default: all of it);
- ``weight``: :math:`\\lambda_r`, and a ``name`` for messages.

:func:`guides_per_layer` brings a guide to every layer of VGG-19;
:mod:`naah.losses` defines the guided Gram matrices and the loss, and
:class:`naah.problem.StyleProblem` (``regions=``) uses them.

Guides at each layer (``mode``)
-------------------------------
``"simple"``
    The guide resized to each layer's grid: VGG-19's convolutions keep the size
    (3x3, padding 1, stride 1) and each pooling halves it, so every 2x2 pooling
    becomes a 2x2 average with MatConvNet's output size (a trailing odd row or
    column dropped, as the network does). A position's value is the fraction of
    its pooled pixels inside.
``"inside"``
    The guide eroded, so that only positions whose receptive field lies inside
    the region keep their value: each 3x3 convolution takes the minimum over the
    3x3 window it reads, each pooling the minimum over its 2x2 window. A position
    of a 0/1 guide is 1 exactly when every pixel of its receptive field is, as
    the paper asks. Positions past the image's edge (the convolutions' zero
    padding) belong to no region and to every one: the edge of the image is not
    the edge of a region, so a guide of ones stays ones at every layer.

Masks
-----
:func:`load_mask` reads a greyscale image: a pixel is inside where it is brighter
than 50 % (``> 0.5`` after scaling to [0, 1]). It is resized first, then
thresholded, so the result is 0/1 at the size of the image it guides.
:func:`load_label_map` reads one image whose colours name the regions, with the
mapping given by the caller (``{"sky": (0, 0, 255), "town": "#ff0000"}``); each
pixel goes to the nearest listed colour, so antialiased edges are fine.
Guides given as arrays are used as they are (soft guides, values in [0, 1], are
allowed) and only resized, bilinearly, when their size differs.

A mask must have the aspect ratio of the image it guides (to 1 %, or one pixel):
it is resized, never cropped or stretched. A region whose guide or style guide
has no pixel inside is an error. Overlaps and gaps are allowed by default: soft
guides overlap at their edges on purpose, and a part of the output that no region
covers simply has no style loss (it keeps its content). :func:`check_regions`
refuses them when asked (``cover=True``, ``exclusive=True``).

Examples
--------
>>> import numpy as np
>>> sky = np.zeros((32, 48)); sky[:12] = 1
>>> guides = guides_per_layer(sky, ["conv1_1", "conv2_1"], "simple")
>>> guides["conv2_1"].shape
(16, 24)
>>> float(guides_per_layer(sky, ["conv2_1"], "inside")["conv2_1"][5].max())
0.0
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from naah.architecture import CONV_KERNEL_SIZE, FEATURE_LAYERS, MATCONVNET_LAYERS
from naah.io.images import (
    REDUCE_ABOVE_PIXELS,
    ImageError,
    ImageLike,
    image_size,
    load_image,
)

__all__ = [
    "GUIDE_MODES",
    "Region",
    "as_guide",
    "check_region_count",
    "check_regions",
    "guides_per_layer",
    "load_label_map",
    "load_mask",
    "region_from_text",
    "resize_guide",
]

#: How guides are brought to each layer (see the module docstring).
GUIDE_MODES = ("simple", "inside")

# The definition of a greyscale mask: inside where brighter than 50 %.
MASK_THRESHOLD = 0.5
# VGG-19's poolings are 2x2 with stride 2 (naah.architecture: "each block ends in a
# 2x2 pooling of stride 2").
POOL_WINDOW = 2
# Masks are drawn on downscaled copies of the images; one pixel of rounding, or 1 %
# of the width, is the same aspect ratio.
ASPECT_TOLERANCE = 0.01
# Bilinear never overshoots, so a resized guide stays in [0, 1]; Pillow widens its
# support when downscaling, so it averages rather than skips pixels.
GUIDE_RESAMPLE = Image.Resampling.BILINEAR
# A mask file's channels may differ this much (of 255) and still be grey: JPEG
# leaves a few levels of chroma noise on a grey image, a colour is far more.
GREY_SPREAD = 32
# Guides that sum to 1 within float32 rounding cover and do not overlap.
SUM_TOLERANCE = 1e-5
#: Most regions in one run. Each adds its own guided style terms to the compiled
#: loss, and compiling grows with them: at 64 px on fixture weights (2 busy
#: cores), 8 regions took 23 s and 16 took 45 s with PyTensor's C cache warm (205
#: and 210 s cold), 32 took 415 s; 200 compiled for over 5 minutes (issue 21).
MAX_REGIONS = 16
# Alpha-carrying Pillow modes: a transparent mask pixel has no clear meaning.
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_LAYER_TYPES = {layer.name: layer.type for layer in MATCONVNET_LAYERS}
_HEX_COLOR = re.compile(r"#?([0-9a-fA-F]{6})")

GuideLike = str | os.PathLike | Image.Image | np.ndarray
RGB = tuple[int, int, int]


@dataclass(frozen=True, eq=False)
class Region:
    """A region of the output with its own style (Gatys et al. 2017, section 4).

    Parameters
    ----------
    guide : path, PIL image or ndarray of shape (H, W)
        Where the region is on the content (= output) image. A file or Pillow
        image is a greyscale mask (:func:`load_mask`: inside where > 50 %); an
        array is a guide in [0, 1] (bool, float, or uint8/uint16 scaled by their
        maximum), soft values allowed. Resized to the content image when its size
        differs, keeping the aspect ratio.
    style : path, PIL image or ndarray of shape (H_S, W_S, 3)
        The region's style image, RGB 0–255 (:func:`naah.io.images.load_image`).
    style_guide : like ``guide``, optional
        The part of the style image whose style the region takes; default all of
        it. Resized to the style image.
    weight : float
        :math:`\\lambda_r`, the region's weight in the style loss.
    name : str
        Used in messages (default: "region <index>").

    Examples
    --------
    >>> import numpy as np
    >>> top = np.zeros((30, 40)); top[:10] = 1
    >>> region = Region(top, np.full((20, 20, 3), 128.0), name="sky")
    >>> region.resolved((60, 80)).guide.shape
    (60, 80)
    """

    guide: GuideLike
    style: ImageLike
    style_guide: GuideLike | None = None
    weight: float = 1.0
    name: str = ""

    def __post_init__(self) -> None:
        weight = self.weight
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int | float | np.floating | np.integer)
            or not np.isfinite(weight)
            or weight < 0
        ):
            raise ValueError(
                f"Region weight must be a finite non-negative number, got {weight!r}"
            )
        if not isinstance(self.name, str):
            raise TypeError(f"Region name must be a str, got {self.name!r}")

    def label(self, index: int | None = None) -> str:
        """The region's name, or ``region <index>`` for messages."""
        if self.name:
            return f"region {self.name!r}"
        return "region" if index is None else f"region {index}"

    def resolved(self, shape: Sequence[int], index: int | None = None) -> Region:
        """This region with float32 arrays: the guide at ``shape`` (H, W), the style
        image at its own size and its guide at the style image's size.

        Raises
        ------
        ValueError
            If a guide has no pixel inside, lies outside [0, 1] or has another
            aspect ratio than the image it guides.
        """
        label = self.label(index)
        guide = as_guide(self.guide, shape[:2], what=f"{label}: guide")
        _require_inside(guide, f"{label}: its guide", "the content image")
        style = load_image(self.style)
        if self.style_guide is None:
            style_guide = np.ones(style.shape[:2], np.float32)
        else:
            style_guide = as_guide(
                self.style_guide, style.shape[:2], what=f"{label}: style_guide"
            )
            _require_inside(style_guide, f"{label}: its style_guide", "its style")
        return replace(self, guide=guide, style=style, style_guide=style_guide)


def check_region_count(count: int) -> None:
    """Refuse more than ``MAX_REGIONS`` regions, before anything is compiled.

    Raises
    ------
    ValueError
        Saying how many there are, the bound, and what to do instead.
    """
    if count > MAX_REGIONS:
        raise ValueError(
            f"{count} regions are more than the {MAX_REGIONS} a run may have (each "
            "adds its own style terms, and compiling grows with them: 16 took 45 s, "
            "200 over 5 minutes); give regions that share a style one mask"
        )


def region_from_text(text: str) -> Region:
    """A region written ``MASK=STYLE[:STYLE_MASK]``, as ``naah stylize --region`` and
    ``naah batch --region`` take it; named after its mask's file. The style mask is
    read from the text only if that part is a file (a style image's path may hold a
    colon).

    Raises
    ------
    ValueError
        If the text is not of that form.

    Examples
    --------
    >>> region = region_from_text("masks/sky.png=starry_night.jpg")
    >>> region.guide, region.style, region.name
    ('masks/sky.png', 'starry_night.jpg', 'sky')
    """
    mask, sep, rest = text.partition("=")
    if not sep or not mask or not rest:
        raise ValueError(f"expected MASK=STYLE or MASK=STYLE:STYLE_MASK, got {text!r}")
    style, colon, style_mask = rest.rpartition(":")
    if not (colon and style and os.path.isfile(style_mask)):
        style, style_mask = rest, ""
    return Region(mask, style, style_mask or None, name=Path(mask).stem)


def _require_inside(guide: np.ndarray, what: str, image: str) -> None:
    if not guide.max() > 0:
        raise ValueError(
            f"{what} has no pixel inside (all 0 on {image}); draw the region on "
            "that image, or leave the region out"
        )


# -- guides and masks ----------------------------------------------------------------
def as_guide(
    guide: GuideLike, shape: Sequence[int] | None = None, *, what: str = "guide"
) -> np.ndarray:
    """A guide as a float32 (H, W) array in [0, 1], resized to ``shape`` if given.

    Files and Pillow images are greyscale masks (:func:`load_mask`, thresholded);
    arrays are taken as they are: bool as 0/1, uint8 and uint16 scaled by 255 and
    65535 (one holding only 0 and 1 is refused: it is a 0/1 mask in the wrong
    dtype), other dtypes as values that must lie in [0, 1].

    Examples
    --------
    >>> as_guide(np.array([[0, 255], [128, 0]], np.uint8)).tolist()
    [[0.0, 1.0], [0.501960813999176, 0.0]]
    """
    if isinstance(guide, str | os.PathLike | Image.Image):
        if shape is None:
            raise ValueError(f"{what}: a mask file needs the shape of its image")
        return load_mask(guide, shape)
    plane = _unit_plane(np.asarray(guide), what)
    return plane if shape is None else resize_guide(plane, shape, what=what)


def _unit_plane(array: np.ndarray, what: str) -> np.ndarray:
    """A 2-D array as float32 in [0, 1] (see :func:`as_guide`)."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim != 2 or 0 in array.shape:
        raise ValueError(
            f"{what} must be a non-empty 2-D array of shape (H, W), got shape "
            f"{array.shape}"
        )
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if array.dtype.kind not in "uif":
        raise TypeError(f"{what} must hold numbers, got dtype {array.dtype}")
    if array.dtype in (np.uint8, np.uint16):
        if array.max() == 1:
            # Read as 0–255 it would be a guide of 1/255, which the loss would
            # silently weigh 65025 times less: surely a 0/1 mask.
            raise ValueError(
                f"{what} is {array.dtype} holding only 0 and 1; {array.dtype} guides "
                "are read as 0–255 (like images), so give a 0/1 mask as bool or "
                "float, or scale it to 0–255"
            )
        return (array / np.iinfo(array.dtype).max).astype(np.float32)
    if not np.isfinite(array).all():
        raise ValueError(f"{what} holds NaN or infinity; a guide lies in [0, 1]")
    low, high = float(array.min()), float(array.max())
    if low < 0 or high > 1:
        raise ValueError(
            f"{what} has values in [{low:g}, {high:g}]; a guide lies in [0, 1] "
            "(divide a 0–255 mask by 255, or give it as uint8)"
        )
    return array.astype(np.float32)


def resize_guide(
    guide: np.ndarray, shape: Sequence[int], *, what: str = "guide"
) -> np.ndarray:
    """Resize an (H, W) guide to ``shape`` (bilinear), after checking that both have
    the same aspect ratio; a guide of that size already is returned as float32.

    Examples
    --------
    >>> resize_guide(np.ones((30, 40)), (60, 80)).shape
    (60, 80)
    """
    h, w = _size(shape, what)
    guide = np.asarray(guide, np.float32)
    if guide.shape == (h, w):
        return guide
    _check_aspect(guide.shape, (h, w), what)
    resized = Image.fromarray(np.ascontiguousarray(guide), mode="F").resize(
        (w, h), GUIDE_RESAMPLE
    )
    return np.clip(np.asarray(resized, np.float32), 0.0, 1.0)


def _size(shape: Sequence[int], what: str) -> tuple[int, int]:
    if len(shape) not in (2, 3) or not all(
        isinstance(n, int | np.integer) and n > 0 for n in shape[:2]
    ):
        raise ValueError(
            f"{what}: shape must be (H, W) of the image it guides, got {shape!r}"
        )
    return int(shape[0]), int(shape[1])


def _check_aspect(source: Sequence[int], target: Sequence[int], what: str) -> None:
    """Refuse to stretch: the width the source's aspect gives at the target's height
    must be the target's, to :data:`ASPECT_TOLERANCE` or one pixel."""
    (sh, sw), (th, tw) = source[:2], target[:2]
    expected_width = th * sw / sh
    if abs(expected_width - tw) > max(1.0, ASPECT_TOLERANCE * tw):
        raise ValueError(
            f"{what} is {sh}x{sw} (H x W) but the image it guides is {th}x{tw}: the "
            "aspect ratios differ, so it would be stretched; draw the mask on the "
            "image itself (any size of the same shape)"
        )


def load_mask(mask: GuideLike, shape: Sequence[int]) -> np.ndarray:
    """A greyscale mask as a 0/1 float32 guide of ``shape`` (H, W).

    The mask is scaled to [0, 1], resized to ``shape`` (bilinear; same aspect
    ratio required) and then thresholded: inside where > 0.5 (50 %).

    Parameters
    ----------
    mask : path, PIL image or ndarray of shape (H, W)
        A greyscale image (white inside, black outside), opaque; or an array as
        :func:`as_guide` takes it.
    shape : (H, W) or (H, W, 3)
        The shape of the image it guides.

    Returns
    -------
    ndarray of shape (H, W), float32, values 0 and 1

    Raises
    ------
    FileNotFoundError, naah.io.images.ImageError
        If the file cannot be read, has transparency, or is in colour (use
        :func:`load_label_map` for colour label maps).
    ValueError
        If its aspect ratio is not the image's.

    Examples
    --------
    >>> import numpy as np
    >>> load_mask(np.array([[0, 127], [128, 255]], np.uint8), (2, 2)).tolist()
    [[0.0, 0.0], [1.0, 1.0]]
    """
    size = _size(shape, "mask")
    if isinstance(mask, np.ndarray):
        plane = _unit_plane(mask, "mask")
    else:
        plane = _grey_file(mask, size)
    resized = resize_guide(plane, size, what=f"mask {_describe(mask)}")
    return (resized > MASK_THRESHOLD).astype(np.float32)


def _describe(source: object) -> str:
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    return "array" if isinstance(source, np.ndarray) else type(source).__name__


def _refuse_alpha(image: str | os.PathLike | Image.Image, what: str) -> None:
    """naah composites transparent pixels on white, which in a mask would mean
    'inside'; an opaque mask says what it means."""
    if isinstance(image, Image.Image):
        mode = image.mode
        transparency = "transparency" in image.info
    else:
        if not os.path.isfile(image):
            return  # load_image says what it is: missing, a FIFO, a device
        try:
            with Image.open(image) as opened:
                mode, transparency = opened.mode, "transparency" in opened.info
        except (OSError, ValueError):
            return  # load_image says what is wrong with the file
    if mode in _ALPHA_MODES or transparency:
        raise ImageError(
            f"{what} has transparency; save masks opaque (white inside, black "
            "outside) so that no pixel is ambiguous"
        )


def _grey_file(
    mask: str | os.PathLike | Image.Image, size: tuple[int, int]
) -> np.ndarray:
    """A mask file as a plane in [0, 1]: at its own size, or, for a file of more
    than REDUCE_ABOVE_PIXELS, at ``size`` (H, W) already, decoded at reduced size
    and resized as guides are (bilinear), its aspect checked first."""
    what = f"mask {_describe(mask)}"
    _refuse_alpha(mask, what)
    if isinstance(mask, Image.Image):
        rgb = load_image(mask)
    else:
        source = image_size(mask)
        if source[0] * source[1] > REDUCE_ABOVE_PIXELS:
            _check_aspect(source, size, what)
            rgb = load_image(mask, size=size, resample=GUIDE_RESAMPLE)
        else:
            rgb = load_image(mask)
    if float((rgb.max(axis=2) - rgb.min(axis=2)).max()) > GREY_SPREAD:
        raise ImageError(
            f"mask {_describe(mask)} is in colour; a mask is greyscale (white "
            "inside). For a colour label map use load_label_map with its colours"
        )
    return rgb.mean(axis=2) / np.float32(255)


def load_label_map(
    path: str | os.PathLike | Image.Image | np.ndarray,
    colors: Mapping[str, RGB | str],
    shape: Sequence[int],
    *,
    tolerance: float | None = None,
) -> dict[str, np.ndarray]:
    """Masks of several regions from one colour label map.

    Each pixel belongs to the region whose colour is nearest (Euclidean distance in
    RGB, 0–255), so antialiased edges go to one side or the other. The one-hot
    masks are resized to ``shape`` (bilinear, same aspect ratio required) and each
    pixel of the result again goes to the largest: the masks are 0/1, never overlap
    and cover the image.

    Parameters
    ----------
    path : path, PIL image or ndarray of shape (H, W, 3)
        The label map, RGB (as :func:`naah.io.images.load_image` reads it).
    colors : mapping of region name to RGB
        Each region's colour: three ints in 0–255, or a hex string ``"#rrggbb"``.
    shape : (H, W) or (H, W, 3)
        The shape of the image the masks guide.
    tolerance : float, optional
        Refuse pixels farther than this from every listed colour (say 60 for a
        map saved as JPEG). Default: every pixel takes the nearest colour.

    Returns
    -------
    dict of region name to ndarray of shape (H, W), float32 0/1, in ``colors``' order

    Raises
    ------
    ValueError
        For a colour that is not RGB, two regions of one colour, a region whose
        colour no pixel has, pixels beyond ``tolerance``, or another aspect ratio.

    Examples
    --------
    >>> import numpy as np
    >>> label = np.zeros((4, 6, 3), np.uint8); label[:2] = (0, 0, 255)
    >>> masks = load_label_map(label, {"sky": "#0000ff", "town": (0, 0, 0)}, (8, 12))
    >>> [int(m.sum()) for m in masks.values()]
    [48, 48]
    """
    size = _size(shape, "label map")
    palette = _palette(colors)
    if not isinstance(path, np.ndarray):
        _refuse_alpha(path, f"label map {_describe(path)}")
    rgb = load_image(path).astype(np.float64)
    names = list(palette)
    targets = np.array([palette[n] for n in names], np.float64)
    distances = np.linalg.norm(rgb[:, :, None, :] - targets[None, None], axis=-1)
    nearest = distances.argmin(axis=2)
    if tolerance is not None:
        far = distances.min(axis=2) > tolerance
        if far.any():
            row, col = np.argwhere(far)[0]
            pixel = tuple(int(v) for v in rgb[row, col])
            raise ValueError(
                f"label map {_describe(path)}: {int(far.sum())} pixels are farther "
                f"than {tolerance:g} from every listed colour, e.g. {pixel} at row "
                f"{row}, column {col}; add their region to colors or recolour them"
            )
    what = f"label map {_describe(path)}"
    planes = [
        resize_guide((nearest == i).astype(np.float32), size, what=what)
        for i in range(len(names))
    ]
    winner = np.argmax(np.stack(planes), axis=0)
    masks = {}
    for i, name in enumerate(names):
        mask = (winner == i).astype(np.float32)
        if not mask.any():
            raise ValueError(
                f"label map {_describe(path)}: no pixel has the colour "
                f"{palette[name]} of region {name!r} (at the size {size}); check the "
                "colour or leave the region out"
            )
        masks[name] = mask
    return masks


def _palette(colors: Mapping[str, RGB | str]) -> dict[str, RGB]:
    if not isinstance(colors, Mapping) or not colors:
        raise ValueError(
            "colors must map each region's name to its RGB colour, e.g. "
            "{'sky': (0, 0, 255), 'town': '#ff0000'}"
        )
    palette: dict[str, RGB] = {}
    for name, color in colors.items():
        rgb = _rgb(color)
        if rgb is None:
            raise ValueError(
                f"colour of region {name!r} must be three ints in 0–255 or "
                f"'#rrggbb', got {color!r}"
            )
        clash = [other for other, c in palette.items() if c == rgb]
        if clash:
            raise ValueError(
                f"regions {clash[0]!r} and {name!r} have the same colour {rgb}; give "
                "each region its own colour"
            )
        palette[str(name)] = rgb
    return palette


def _rgb(color: object) -> RGB | None:
    if isinstance(color, str):
        match = _HEX_COLOR.fullmatch(color.strip())
        if match is None:
            return None
        value = int(match.group(1), 16)
        return (value >> 16, (value >> 8) & 0xFF, value & 0xFF)
    if (
        isinstance(color, Sequence | np.ndarray)
        and len(color) == 3
        and all(
            isinstance(c, int | np.integer)
            and not isinstance(c, bool)
            and 0 <= c <= 255
            for c in color
        )
    ):
        return (int(color[0]), int(color[1]), int(color[2]))
    return None


def check_regions(
    guides: Sequence[np.ndarray],
    *,
    cover: bool = False,
    exclusive: bool = False,
    names: Sequence[str] | None = None,
) -> None:
    """Refuse guides of one image that leave parts uncovered or overlap, when asked.

    ``cover``: every pixel's guides must sum to at least 1; ``exclusive``: to at
    most 1 (to float32 rounding). Both together ask for a partition of the image,
    hard (0/1 masks) or soft. Guides are (H, W) arrays of one shape, as
    :meth:`Region.resolved` gives them.

    Raises
    ------
    ValueError
        Naming how many pixels, where the first is, and which regions.

    Examples
    --------
    >>> import numpy as np
    >>> top = np.zeros((4, 4)); top[:2] = 1
    >>> check_regions([top, 1 - top], cover=True, exclusive=True)
    >>> check_regions([top], cover=True)
    Traceback (most recent call last):
    ...
    ValueError: regions do not cover the image: 8 pixels are in no region (the first at row 2, column 0); add a region for them or pass cover=False
    """
    if not guides:
        raise ValueError("no regions given; give at least one")
    labels = (
        list(names)
        if names is not None
        else [f"region {i}" for i in range(len(guides))]
    )
    planes = [np.asarray(g, np.float64) for g in guides]
    if len({p.shape for p in planes}) > 1:
        shapes = ", ".join(
            f"{n}: {p.shape}" for n, p in zip(labels, planes, strict=True)
        )
        raise ValueError(f"guides of one image must have one shape, got {shapes}")
    total = np.sum(planes, axis=0)
    if cover:
        gaps = total < 1 - SUM_TOLERANCE
        if gaps.any():
            row, col = np.argwhere(gaps)[0]
            raise ValueError(
                f"regions do not cover the image: {int(gaps.sum())} pixels are in no "
                f"region (the first at row {row}, column {col}); add a region for "
                "them or pass cover=False"
            )
    if exclusive:
        overlap = total > 1 + SUM_TOLERANCE
        if overlap.any():
            row, col = np.argwhere(overlap)[0]
            inside = [n for n, p in zip(labels, planes, strict=True) if p[row, col] > 0]
            raise ValueError(
                f"regions overlap on {int(overlap.sum())} pixels (the first at row "
                f"{row}, column {col}, in {' and '.join(inside)}); make the masks "
                "disjoint or pass exclusive=False"
            )


# -- guides at each layer ------------------------------------------------------------
def guides_per_layer(
    guide: np.ndarray, layers: Iterable[str], mode: str = "simple"
) -> dict[str, np.ndarray]:
    """The guide :math:`T^l` at each of VGG-19's ``layers``, as float32 arrays.

    Parameters
    ----------
    guide : ndarray of shape (H, W)
        Values in [0, 1], at the size of the image the network sees.
    layers : iterable of str
        Feature layer names (``conv1_1`` … ``pool5``; a convolution's name means
        its rectified output, which has the same grid).
    mode : {'simple', 'inside'}
        Resize (2x2 averages at each pooling) or erode (3x3 minima at each
        convolution, 2x2 minima at each pooling); see the module docstring.

    Returns
    -------
    dict of layer name to ndarray of that layer's (H_l, W_l)

    Examples
    --------
    >>> import numpy as np
    >>> square = np.zeros((8, 8)); square[2:6, 2:6] = 1
    >>> inside = guides_per_layer(square, ["conv1_1", "conv1_2"], "inside")
    >>> int(inside["conv1_1"].sum()), int(inside["conv1_2"].sum())
    (4, 0)
    """
    if mode not in GUIDE_MODES:
        raise ValueError(
            f"guide mode must be {' or '.join(map(repr, GUIDE_MODES))}, got {mode!r}"
        )
    plane = _unit_plane(np.asarray(guide), "guide")
    wanted = list(dict.fromkeys(layers))
    unknown = [n for n in wanted if n not in FEATURE_LAYERS]
    if unknown:
        raise ValueError(
            f"no feature layer named {unknown[0]!r}; VGG-19's are "
            f"{', '.join(FEATURE_LAYERS)}"
        )
    if not wanted:
        return {}
    # scipy.ndimage costs 0.1-0.3 s to import: only "inside" guides need it.
    from scipy import ndimage

    deepest = max(FEATURE_LAYERS.index(n) for n in wanted)
    current = plane.astype(np.float64)
    at_layer = {}
    for name in FEATURE_LAYERS[: deepest + 1]:
        kind = _LAYER_TYPES[name]
        if kind == "conv" and mode == "inside":
            # mode='nearest' repeats the edge pixel, which is in the window anyway:
            # the minimum is taken over the positions inside the image only.
            current = ndimage.minimum_filter(current, CONV_KERNEL_SIZE, mode="nearest")
        elif kind == "pool":
            current = _pool(current, np.mean if mode == "simple" else np.min)
        at_layer[name] = current
    return {n: at_layer[n].astype(np.float32) for n in wanted}


def _pool(plane: np.ndarray, reduce: Callable[..., np.ndarray]) -> np.ndarray:
    """2x2, stride 2, MatConvNet's floor output size (odd last row/column dropped)."""
    k = POOL_WINDOW
    h, w = plane.shape[0] // k, plane.shape[1] // k
    blocks = plane[: h * k, : w * k].reshape(h, k, w, k)
    return reduce(blocks, axis=(1, 3))
