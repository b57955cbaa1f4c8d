"""The settings of a video run that a single image has not: the temporal loss,
the optical flow, the passes and how each frame starts.

Each is a setting (:func:`naah.checks.setting`), so it is checked in one place
and ``naah video`` makes its options from the same fields. Where each default
comes from is in ``docs/video.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from naah.checks import (
    as_int,
    as_ints,
    check_fields,
    choice,
    non_negative_float,
    optional,
    positive_int,
    setting,
)
from naah.flow import DEFAULT_FLOW, FLOW_METHODS

__all__ = ["DEFAULT_TEMPORAL_WEIGHT", "VIDEO_INITS", "VideoSettings"]

#: How each frame starts: the previous frame's result warped onto it (Ruder et
#: al.'s "prevWarped", the first frame from noise), white noise, or the content.
VIDEO_INITS = ("prev-warped", "noise", "content")

#: γ in naah's units. Ruder et al.'s 1e3 (with content 5, style 1e2) weighs
#: neural-style's averaged losses; naah's are Gatys et al.'s sums, so their γ does
#: not carry over. With 1e3 the synthetic clips of benchmarks/bench_video.py
#: (docs/video.md) flicker at most 0.1x as much as independent frames, with the
#: style loss within 13 % of the same start without the temporal loss; measured on
#: stand-in weights: the pretrained network's balance is for its owner to check.
DEFAULT_TEMPORAL_WEIGHT = 1e3

#: Ruder et al.'s δ: a frame of a later pass starts from its last result with the
#: neighbour's result, warped, blended in at half weight where the flow is
#: reliable (their code's blendWeight 1).
PASS_BLEND = 0.5


def _offsets(value: object) -> tuple[int, ...]:
    """The long-term offsets J: increasing positive ints starting with 1."""
    values = (value,) if isinstance(value, int) else value
    if not isinstance(values, tuple | list) or not values:
        raise ValueError(f"must be frame offsets such as 1,2,4, got {value!r}")
    offsets = tuple(positive_int(v) for v in values)
    if offsets[0] != 1 or list(offsets) != sorted(set(offsets)):
        raise ValueError(
            "must be increasing frame offsets starting with 1 (the short-term "
            f"term), such as 1,2,4; got {','.join(map(str, offsets))}"
        )
    return offsets


@dataclass(frozen=True)
class VideoSettings:
    """Ruder, Dosovitskiy & Brox (2016)'s settings of a video run.

    Examples
    --------
    >>> VideoSettings(long_term=(1, 2, 4)).long_term
    (1, 2, 4)
    >>> VideoSettings(passes=15).temporal_passes
    (8, 9, 10, 11, 12, 13, 14, 15)
    >>> VideoSettings(long_term=(2, 4))
    Traceback (most recent call last):
    ...
    naah.checks.SettingError: long_term must be increasing frame offsets starting with 1 (the short-term term), such as 1,2,4; got 2,4
    """

    temporal_weight: float = setting(
        DEFAULT_TEMPORAL_WEIGHT,
        scope="run",
        check=non_negative_float,
        metavar="W",
        help="temporal loss weight γ (Ruder et al. 2016); 0 turns the temporal "
        "loss off",
    )
    flow: str = setting(
        DEFAULT_FLOW,
        scope="run",
        check=choice(FLOW_METHODS),
        choices=FLOW_METHODS,
        help="optical flow (OpenCV): DIS, Farnebäck, or DeepFlow (the paper's)",
    )
    passes: int = setting(
        1,
        scope="run",
        check=positive_int,
        metavar="N",
        help="passes over the clip, alternately forward and backward (Ruder et "
        "al.'s multi-pass: 15 of 100 iterations each); each pass runs "
        "{iterations} per frame",
    )
    long_term: tuple[int, ...] = setting(
        (1,),
        scope="run",
        check=_offsets,
        text=as_ints,
        metavar="J1,J2",
        help="earlier frames the temporal loss compares with, as offsets: 1 is "
        "the short-term loss, 1,2,4 adds long-term consistency",
    )
    init: str = setting(
        "prev-warped",
        scope="run",
        check=choice(VIDEO_INITS),
        choices=VIDEO_INITS,
        help="how each frame starts: the previous result warped (the first frame "
        "from noise), white noise, or the content frame",
    )
    first_iterations: int | None = setting(
        None,
        scope="run",
        check=optional(positive_int),
        text=as_int,
        metavar="N",
        shown="twice {iterations}",
        help="iterations of the first frame of a single pass (Ruder et al.: 2000, "
        "then 1000 per frame)",
    )
    temporal_from_pass: int | None = setting(
        None,
        scope="run",
        check=optional(positive_int),
        text=as_int,
        metavar="P",
        shown="the middle pass",
        help="the first pass with the temporal loss, when {passes} > 1 (Ruder et "
        "al.: 8 of 15)",
    )

    def __post_init__(self) -> None:
        check_fields(self)

    @property
    def frames_compared(self) -> int:
        """How many earlier frames the temporal term's graph holds."""
        return len(self.long_term)

    @property
    def temporal_passes(self) -> tuple[int, ...]:
        """The passes (1-based) that have the temporal loss."""
        if self.temporal_weight == 0:
            return ()
        first = self.temporal_from_pass
        if first is None:
            first = 1 if self.passes == 1 else math.ceil(self.passes / 2)
        return tuple(range(first, self.passes + 1))

    def iterations_of(self, iterations: int, pass_: int, position: int) -> int:
        """The iterations of the frame at ``position`` in pass ``pass_`` (both
        counted from 0 and 1), given the per-frame ``iterations``."""
        if self.passes == 1 and position == 0:
            return self.first_iterations or 2 * iterations
        return iterations
