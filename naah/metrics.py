"""Measures of a stylised video: how steady it is from frame to frame.

Ruder, Dosovitskiy & Brox (2016), *Artistic style transfer for videos*, section 5,
compare ways of stylising a video by their temporal consistency: how far each
stylised frame x_i is from the previous one, x_{i-1}, carried along the motion
of the video, wherever that motion can be trusted. With the flows w (frame i-1
to frame i) and ŵ (frame i to frame i-1), ω = warp(x_{i-1}, ŵ) and the weights
c = c^(i-1,i) of :func:`naah.flow.consistency` (1 where the flow is trusted, 0
at disocclusions, motion boundaries and where ŵ leaves the image)::

    E_i = Σ_p c(p) Σ_ch (x_i(p, ch) − ω(p, ch))² / (3 Σ_p c(p))

with the frames' values divided by 255, so that E_i is a mean squared error of
values in [0, 1] (:func:`warping_error`). The motion is measured on the input
video, not on the stylised frames, whose brush strokes would mislead the flow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from naah.flow import DEFAULT_FLOW, consistency, estimate_flows, warp

__all__ = ["WarpingError", "warping_error"]

# The frames' values are divided by this, so that the error is that of values in
# [0, 1] (naah's images are 0–255, naah.io.images).
VALUE_RANGE = 255.0


@dataclass(frozen=True)
class WarpingError:
    """The temporal warping error of a video (:func:`warping_error`).

    Attributes
    ----------
    per_frame : tuple of float
        E_i for each frame from the second on: the mean squared difference between
        frame i and frame i-1 warped onto it, over the trusted pixels and the 3
        channels, values in [0, 1]. NaN for a frame with no trusted pixel.
    overall : float
        The mean over all the values counted in all frames (frames weighted by
        their counted pixels, so NaN frames drop out); NaN if no pixel is counted.
    pixels : tuple of int
        How many pixels each frame's error counts (those with c = 1).
    """

    per_frame: tuple[float, ...]
    overall: float
    pixels: tuple[int, ...]


def warping_error(
    frames: Sequence[npt.ArrayLike],
    flows: Sequence[tuple[npt.ArrayLike, npt.ArrayLike]] | None = None,
    *,
    reference: Sequence[npt.ArrayLike] | None = None,
    method: str = DEFAULT_FLOW,
    processes: int | None = None,
) -> WarpingError:
    """The temporal warping error of a video, as Ruder et al. measure it.

    For each frame i from the second on, the mean of ``(x_i − ω)²`` over the pixels
    where the flow is trusted and the 3 channels, with ``ω`` the previous frame
    warped onto frame i (module docstring). Values are the frames' divided by 255.

    Parameters
    ----------
    frames : sequence of array-like of shape (H, W, 3)
        The (stylised) video, RGB, 0–255; at least 2 frames of one shape.
    flows : sequence of (forward, backward), optional
        For each pair of consecutive frames, ``len(frames) - 1`` of them: the flow
        from frame i-1 to frame i and the flow back, each (H, W, 2) as
        :mod:`naah.flow` has it (known flows, e.g. a synthetic video's). By
        default they are estimated (:func:`naah.flow.estimate_flows`, both
        directions) from ``reference``, or from ``frames`` when there is none.
    reference : sequence of array-like of shape (H, W, 3), optional
        The original, unstylised frames, one for each of ``frames``, of the same
        shape: the motion is measured on them. Not with ``flows``.
    method : {"dis", "farneback", "deepflow"}
        The flow method, when the flows are estimated.
    processes : int, optional
        Worker processes for estimating the flows (:func:`naah.flow.estimate_flows`).

    Returns
    -------
    WarpingError
        ``per_frame`` (one value per frame from the second on, NaN for a frame
        with no trusted pixel), ``overall`` (the mean over every counted value, so
        NaN frames are left out) and ``pixels`` (the counted pixels per frame).

    Raises
    ------
    ValueError
        If there are fewer than 2 frames, the frames (or the reference frames) are
        not (H, W, 3) of one shape with finite values, ``flows`` has the wrong
        number or shape of flows, or both ``flows`` and ``reference`` are given;
        and as :func:`naah.flow.estimate_flows`.

    Examples
    --------
    A texture that moves 2 pixels to the right per frame, and a stylisation of it
    that flickers: a constant offset of 0.1 (25.5 grey levels) on the second frame.

    >>> rng = np.random.default_rng(0)
    >>> texture = rng.integers(0, 200, (40, 60, 3), dtype=np.uint8)
    >>> video = [texture[:, 10:50], texture[:, 8:48]]
    >>> still = np.zeros((40, 40, 2))
    >>> still[..., 0] = 2.0
    >>> flows = [(still, -still)]  # (forward, backward)
    >>> warping_error(video, flows).per_frame
    (0.0,)
    >>> flicker = [video[0], video[1] + 25.5]
    >>> result = warping_error(flicker, flows)
    >>> print(f"{result.overall:.4f} over {result.pixels[0]} pixels")
    0.0100 over 1520 pixels
    """
    images = _frames(frames, "frames")
    pair_flows: list[tuple[np.ndarray, np.ndarray]]
    if flows is None:
        source = images if reference is None else _frames(reference, "reference")
        if len(source) != len(images) or source[0].shape != images[0].shape:
            raise ValueError(
                f"reference has {len(source)} frames of shape {source[0].shape} and "
                f"frames {len(images)} of shape {images[0].shape}: give the original "
                "frames of the stylised video, one for each, of the same size"
            )
        pairs = [(i - 1, i) for i in range(1, len(images))]
        estimated = estimate_flows(
            source, pairs + [(b, a) for a, b in pairs], method, processes=processes
        )
        pair_flows = [(estimated[a, b], estimated[b, a]) for a, b in pairs]
    elif reference is not None:
        raise ValueError(
            "give flows or reference, not both: the flows are estimated from the "
            "reference frames only when no flows are given"
        )
    else:
        pair_flows = _flows(flows, len(images), images[0].shape[:2])

    per_frame: list[float] = []
    pixels: list[int] = []
    total, counted = 0.0, 0
    for i, (forward, backward) in enumerate(pair_flows, start=1):
        trusted = consistency(forward, backward) > 0
        warped, _ = warp(images[i - 1], backward)
        difference = (images[i] - warped.astype(np.float64)) / VALUE_RANGE
        squared = float(np.sum(difference[trusted] ** 2))
        count = int(np.count_nonzero(trusted))
        per_frame.append(squared / (3 * count) if count else math.nan)
        pixels.append(count)
        total += squared
        counted += 3 * count
    overall = total / counted if counted else math.nan
    return WarpingError(tuple(per_frame), overall, tuple(pixels))


def _frames(frames: Sequence[npt.ArrayLike], name: str) -> list[np.ndarray]:
    """``frames`` as float64 arrays, checked: 2 or more, (H, W, 3), one shape."""
    images = [np.asarray(frame) for frame in frames]
    if len(images) < 2:
        raise ValueError(
            f"{name} has {len(images)} frame(s): the warping error compares "
            "consecutive frames, so give at least 2"
        )
    for i, image in enumerate(images):
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(
                f"{name}[{i}] has shape {image.shape}: give RGB frames of shape "
                "(H, W, 3)"
            )
        if image.shape != images[0].shape:
            raise ValueError(
                f"{name}[{i}] has shape {image.shape} and {name}[0] "
                f"{images[0].shape}: give frames of one size"
            )
        if not np.issubdtype(image.dtype, np.number) or np.issubdtype(
            image.dtype, np.complexfloating
        ):
            raise ValueError(f"{name}[{i}] is {image.dtype}: give numbers in 0–255")
        if not np.isfinite(image).all():
            raise ValueError(
                f"{name}[{i}] holds NaN or infinite values: give numbers in 0–255"
            )
    return [image.astype(np.float64) for image in images]


def _flows(
    flows: Sequence[tuple[npt.ArrayLike, npt.ArrayLike]],
    count: int,
    size: tuple[int, ...],
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``flows`` checked: one (forward, backward) pair of (H, W, 2) per frame pair."""
    pairs = list(flows)
    if len(pairs) != count - 1:
        raise ValueError(
            f"flows has {len(pairs)} entries for {count} frames: give one "
            f"(forward, backward) pair for each of the {count - 1} pairs of "
            "consecutive frames"
        )
    checked = []
    expected = (*size, 2)
    for i, pair in enumerate(pairs):
        try:
            forward, backward = (np.asarray(flow) for flow in pair)
        except (TypeError, ValueError):
            raise ValueError(
                f"flows[{i}] is not a pair: give (forward, backward), the flows from "
                f"frame {i} to frame {i + 1} and back"
            ) from None
        for name, flow in (("forward", forward), ("backward", backward)):
            if flow.shape != expected:
                raise ValueError(
                    f"flows[{i}]'s {name} flow has shape {flow.shape}: the frames "
                    f"are {size[0]}x{size[1]}, so give flows of shape {expected}"
                )
        checked.append((forward, backward))
    return checked
