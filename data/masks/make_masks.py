"""Make the region masks of data/masks/ (how they were drawn; see SOURCES.md).

Each mask is "hand-drawn" in code: a colour rule where colour separates the regions
well, and polygons, with their vertices read off 4x and 6x zooms of the image with a
grid, where it does not. The masks are greyscale PNGs, 0 outside and 255 inside, at
the size of the image they belong to (512 x 384, the size of the images in data/).

Run from the repository root::

    python data/masks/make_masks.py [GREAT_WAVE_IMAGE]

GREAT_WAVE_IMAGE defaults to data/great_wave.jpg; any copy of the print with its
4:3 shape works, it is resized to 512 x 384 (Lanczos) first, as data/'s images are.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

HERE = Path(__file__).resolve().parent
DATA = HERE.parent
SIZE = (512, 384)  # (W, H): data/'s images have a long edge of 512


def save(mask: np.ndarray, name: str) -> None:
    Image.fromarray(np.where(mask, 255, 0).astype(np.uint8), mode="L").save(
        HERE / f"{name}.png", optimize=True
    )


def polygon(points: list[tuple[int, int]]) -> np.ndarray:
    canvas = Image.new("L", SIZE, 0)
    ImageDraw.Draw(canvas).polygon(points, fill=255)
    return np.asarray(canvas) > 127


def touching_top(mask: np.ndarray) -> np.ndarray:
    """The connected parts of ``mask`` that reach the top edge (the sky's)."""
    labels, _ = ndimage.label(mask)
    return np.isin(labels, sorted(set(np.unique(labels[0]).tolist()) - {0}))


def fill_from_top(mask: np.ndarray) -> np.ndarray:
    """Fill the holes of a sky mask (clouds, spray), the top edge counting as sky."""
    padded = np.pad(mask, ((1, 0), (0, 0)), constant_values=True)
    return ndimage.binary_fill_holes(padded)[1:]


def morphology(mask: np.ndarray, operation) -> np.ndarray:
    """A 3x3 opening or closing that treats the image's edges as continuing."""
    padded = np.pad(mask, 4, mode="edge")
    return operation(padded, np.ones((3, 3)))[4:-4, 4:-4]


def tubingen() -> None:
    """Sky: the blue of a clear sky, where it reaches the top edge; town: the rest
    (houses, trees, the river and its walls)."""
    rgb = np.asarray(Image.open(DATA / "tubingen.jpg").convert("RGB"), float)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    # The sky is (70-115, 125-155, 180-190); the bluest thing below it, the river's
    # reflection, is far darker, and the tree on the left is grey-brown.
    sky = touching_top((b > 125) & (b - r > 25) & (b >= g))
    sky = morphology(morphology(sky, ndimage.binary_opening), ndimage.binary_closing)
    sky = fill_from_top(touching_top(sky))
    # A hand's smooth outline, not the JPEG's ragged one.
    sky = touching_top(
        ndimage.gaussian_filter(sky.astype(float), 1.0, mode="nearest") > 0.5
    )
    save(sky, "tubingen_sky")
    save(~sky, "tubingen_town")


def great_wave(path: Path) -> None:
    """Wave: the great wave, from its outline to the crest of the smaller wave in
    front of it; sea: all other water, with the boats on it; sky: the rest, with
    Mount Fuji and the cartouche."""
    image = Image.open(path).convert("RGB").resize(SIZE, Image.Resampling.LANCZOS)
    rgb = np.asarray(image, float)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    width, height = SIZE
    sky = np.zeros((height, width), bool)

    # Left of the claws, the sky lies above the wave's outline, a thin dark blue
    # line: the first dark pixel of each column, below the cartouche and signature
    # (above the line, x < 56) where they are.
    dark = (rgb.mean(axis=2) < 170) & (b >= r - 5)
    outline = np.full(196, height)
    for x in range(196):
        start = 123 if x < 56 else 0
        rows = np.nonzero(dark[start:, x])[0]
        outline[x] = start + rows[0] if len(rows) else height
    outline = ndimage.median_filter(outline, 5, mode="nearest")
    for x, y in enumerate(outline):
        sky[:y, x] = True

    # The claws: the beige paper of the sky against white and pale blue foam.
    beige = (r - b > 20) & (r - g > 4) & (r > 170)
    sky[:178, 196:312] |= beige[:178, 196:312]

    # Right of the wave's face: the sky down to the trough, the boats and the right
    # swell's outline (Fuji, on the horizon, is sky). Vertices (x, y) from zooms.
    sky |= polygon(
        [
            (203, 178), (204, 185), (207, 200), (212, 212), (218, 222), (222, 232),
            (226, 245), (234, 255), (240, 260), (256, 266), (268, 272), (276, 276),
            (282, 264), (292, 268), (300, 274), (360, 274), (368, 276), (376, 266),
            (390, 261), (404, 256), (412, 246), (420, 236), (430, 228), (440, 222),
            (448, 214), (456, 206), (462, 201), (470, 194), (478, 182), (488, 170),
            (500, 160), (511, 150), (511, 0), (312, 0), (312, 178),
        ]
    )  # fmt: skip
    sky = fill_from_top(touching_top(sky))
    water = ~sky

    # The great wave: above the bottom of its body and the crest of the smaller,
    # nearer wave whose peak is at (172, 211).
    wave = water & polygon(
        [
            (0, 0), (330, 0), (330, 200), (262, 276), (240, 268), (222, 262),
            (208, 250), (196, 234), (184, 220), (172, 211), (162, 220), (150, 232),
            (134, 246), (118, 258), (104, 268), (90, 276), (64, 283), (40, 290),
            (16, 284), (0, 272),
        ]
    )  # fmt: skip
    save(wave, "great_wave_wave")
    save(water & ~wave, "great_wave_sea")
    save(sky, "great_wave_sky")


if __name__ == "__main__":
    tubingen()
    great_wave(Path(sys.argv[1]) if len(sys.argv) > 1 else DATA / "great_wave.jpg")
