"""What both live views keep of a run: its records so far, the latest image, PNGs;
and :func:`chain`, to give a run more than one callback."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from naah.io.images import to_pil

if TYPE_CHECKING:
    from naah.optim.history import IterationRecord

Callback = Callable[["IterationRecord", np.ndarray], None]

# zlib level 1: a 512x512 image of noise (a run's first iterate) encodes in about
# 70 ms at Pillow's default level 6 and barely smaller; level 1 is the fastest.
PNG_COMPRESS_LEVEL = 1
# The losses shown and plotted, in this order: the name in IterationRecord.
LOSSES = ("total", "content", "style")


class RunProgress:
    """The records of one run so far and its latest image.

    A record whose iteration is before the last one starts a new run (a view
    reused for a second ``StyleTransfer.run``): the history starts again and
    ``run`` (0 for the first) counts up. One of the same iteration continues the
    run: a coarse-to-fine run records each scale's start at the number where the
    previous scale ended. ``image`` is the array the caller gave, by reference:
    ``StyleTransfer.run`` passes a new one each iteration.
    """

    def __init__(self) -> None:
        self.records: list[IterationRecord] = []
        self.image: np.ndarray | None = None
        self.run = 0

    def add(self, record: IterationRecord, image: np.ndarray) -> None:
        if self.records and record.iteration < self.records[-1].iteration:
            self.records = []
            self.run += 1
        self.records.append(record)
        self.image = image

    @property
    def latest(self) -> IterationRecord | None:
        return self.records[-1] if self.records else None


def png_bytes(image: np.ndarray) -> bytes:
    """An (H, W, 3) uint8 or 0–255 float image as PNG file bytes.

    Examples
    --------
    >>> png_bytes(np.zeros((2, 3, 3)))[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    buffer = io.BytesIO()
    to_pil(image).save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def summary(record: IterationRecord) -> str:
    """One line: the iteration (and scale, coarse to fine) and its losses.

    Examples
    --------
    >>> from naah.optim import IterationRecord
    >>> summary(IterationRecord(7, 1234.5, 2.0, 0.125, 0.0, 1.0, 9))
    'iteration 7: total 1234.5 (content 2, style 0.125)'
    >>> summary(IterationRecord(7, 1234.5, 2.0, 0.125, 0.0, 1.0, 9, scale=256))
    'iteration 7 (256 px): total 1234.5 (content 2, style 0.125)'
    """
    scale = "" if record.scale is None else f" ({record.scale} px)"
    return (
        f"iteration {record.iteration}{scale}: total {record.total:.6g} "
        f"(content {record.content:.6g}, style {record.style:.6g})"
    )


def finite_or_none(value: float) -> float | None:
    """``value``, or None for NaN and infinity (which JSON cannot hold)."""
    return value if math.isfinite(value) else None


def record_losses(record: IterationRecord) -> dict[str, Any]:
    """The iteration and losses of a record, as JSON-ready values."""
    losses = {name: finite_or_none(float(getattr(record, name))) for name in LOSSES}
    return {"iteration": record.iteration, **losses}


def chain(*callbacks: Callback | None) -> Callback | None:
    """One run callback that calls each of ``callbacks`` in turn (None ones left
    out); None if none is left, the callback itself if one is.

    Examples
    --------
    >>> seen = []
    >>> both = chain(lambda r, i: seen.append("first"), None, lambda r, i: seen.append("second"))
    >>> both(None, None)
    >>> seen
    ['first', 'second']
    >>> chain(None) is None
    True
    """
    given = [c for c in callbacks if c is not None]
    if len(given) <= 1:
        return given[0] if given else None

    def each(record: IterationRecord, image: np.ndarray) -> None:
        for callback in given:
            callback(record, image)

    return each
