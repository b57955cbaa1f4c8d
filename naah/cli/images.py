"""The input images of ``naah stylize``, checked before any work and named in
messages: every input is a regular file (a FIFO would block, a device never end);
the sizes the checks of a run need come from the files' headers; and each image
is then decoded once at the size the run starts at, so that a damaged one, or one
that cannot fit in memory, stops the command before weights are read. A file far
larger than the run needs is decoded at reduced size (:mod:`naah.io.images`), and
the command says so once.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import replace

from PIL import Image

from naah.cli.common import CommandError, UsageError
from naah.io.files import check_regular_file
from naah.io.images import (
    ImageError,
    ImageLike,
    ReducedDecodingWarning,
    image_size,
    load_image,
)
from naah.plan import first_edge
from naah.regions import Region
from naah.request import style_edge
from naah.settings import INITS, Settings

__all__ = [
    "check_files",
    "check_regions",
    "input_shapes",
    "read_image",
    "read_inputs",
    "style_files",
    "style_inputs",
]


def check_files(
    content: str, styles: Sequence[str], regions: Sequence[Region], init: str
) -> None:
    """Refuse at once any input that is not a regular file, naming its option:
    nothing is opened, so a FIFO does not block and a device is not read."""
    named = [("content image", content), *style_files(styles, regions)]
    for region in regions:
        named.append((f"--region {region.guide}'s mask", str(region.guide)))
        if region.style_guide is not None:
            guide = str(region.style_guide)
            named.append((f"--region {region.guide}'s style mask", guide))
    if init not in INITS:
        named.append(("--init image", init))
    for what, path in named:
        try:
            check_regular_file(path, what)
        except (OSError, ValueError) as error:
            raise UsageError(str(error)) from None


def input_shapes(
    content: str, styles: Sequence[str], regions: Sequence[Region]
) -> tuple[tuple[int, int], list[tuple[int, int]]]:
    """(H, W) of the content image and of each style image, read from the files'
    headers: nothing is decoded.

    From here on in the command, Pillow's DecompressionBombWarning is left
    unsaid: a file that large is decoded at reduced size (and said so) or is
    refused by the memory check.
    """
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
    named = [("content image", content), *style_files(styles, regions)]
    shapes = []
    for what, path in named:
        try:
            shapes.append(image_size(path))
        except (OSError, ImageError) as error:
            raise UsageError(f"cannot read {what} {path!r}: {error}") from None
    return shapes[0], shapes[1:]


def read_image(
    path: ImageLike,
    what: str,
    *,
    long_edge: int | None = None,
    size: tuple[int, int] | None = None,
) -> None:
    """Decode an input image now, as the run will (at ``long_edge`` or ``size``),
    so that a damaged one, or one too large for memory, stops the command here."""
    try:
        load_image(path, long_edge=long_edge, size=size)
    except (OSError, ImageError) as error:
        raise UsageError(f"cannot read {what} {path!r}: {error}") from None
    except MemoryError as error:
        raise CommandError(f"cannot read {what} {path!r}: {error}") from None


def read_inputs(
    content: str,
    styles: Sequence[str],
    regions: Sequence[Region],
    settings: Settings,
    shape: tuple[int, int],
) -> None:
    """Decode every input image at the size the run starts at (the content at
    ``shape``), and check each region's masks on it.

    A file decoded at reduced size is said once, here: from here on in the
    command, the run decodes it again and says nothing more.
    """
    size = first_edge(settings)
    read_image(content, "content image", long_edge=size)
    files = style_files(styles, regions)
    scales = settings.images.style_scale
    per_style = scales if isinstance(scales, tuple) else (scales,) * len(files)
    edges = [None if size is None else style_edge(size, s) for s in per_style]
    if regions:
        check_regions(regions, shape, edges)
    else:
        for (what, path), edge in zip(files, edges, strict=True):
            read_image(path, what, long_edge=edge)
    init = settings.images.init
    if init not in INITS:
        read_image(init, "--init image", size=shape)
    warnings.simplefilter("ignore", ReducedDecodingWarning)


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


def check_regions(
    regions: Sequence[Region],
    shape: tuple[int, ...],
    style_edges: Sequence[int | None],
) -> None:
    """Read each region's masks against the content's shape now: a missing,
    unreadable or empty mask stops the command here, naming its option.

    Each region's style image is read at its long edge in ``style_edges`` (its
    own size for None), as the run reads it, and its style mask at that size.
    """
    for region, edge in zip(regions, style_edges, strict=True):
        spec = f"{region.guide!s}={region.style!s}"
        try:
            style = load_image(region.style, long_edge=edge)
            replace(region, style=style).resolved((shape[0], shape[1]))
        except (OSError, ValueError) as error:
            raise UsageError(f"--region {spec}: {error}") from None
        except MemoryError as error:
            raise CommandError(f"--region {spec}: {error}") from None
