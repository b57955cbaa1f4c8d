"""The input images of ``naah stylize``: read once before any work, named in
messages, and the regions of its ``--region`` options."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from naah.cli.common import UsageError
from naah.io.images import ImageError, load_image
from naah.regions import Region

__all__ = ["check_regions", "read_image", "style_files", "style_inputs"]


def read_image(path: str, what: str) -> np.ndarray:
    """Load an input image now, so that a bad one stops the command before work."""
    try:
        return load_image(path)
    except (OSError, ImageError) as error:
        raise UsageError(f"cannot read {what} {path!r}: {error}") from None


def style_files(
    styles: Sequence[str], regions: Sequence[Region]
) -> list[tuple[str, str]]:
    """(what, path) of each style image: the STYLE arguments or the regions'."""
    if regions:
        return [(f"--region {r.guide}'s style image", str(r.style)) for r in regions]
    if len(styles) == 1:
        return [("style image", styles[0])]
    return [(f"style image {k + 1}", path) for k, path in enumerate(styles)]


def style_inputs(styles: Sequence[str], regions: Sequence[Region]) -> dict[str, str]:
    """Every style-side input file, for the never-write-over-an-input check."""
    inputs = dict(style_files(styles, regions))
    for region in regions:
        inputs[f"--region mask {region.guide}"] = str(region.guide)
        if region.style_guide is not None:
            inputs[f"--region style mask {region.style_guide}"] = str(
                region.style_guide
            )
    return inputs


def check_regions(regions: Sequence[Region], shape: tuple[int, ...]) -> None:
    """Read each region's masks against the content's shape now: a missing,
    unreadable or empty mask stops the command here, naming its option."""
    for region in regions:
        try:
            region.resolved((shape[0], shape[1]))
        except (OSError, ValueError) as error:
            spec = f"{region.guide!s}={region.style!s}"
            raise UsageError(f"--region {spec}: {error}") from None
