"""What one run is asked to do: its images, its settings, and what watches it.

A :class:`RunRequest` is the whole of a call to :meth:`naah.StyleTransfer.run` (or
of a resumed run), checked before any work: the content image, the styles
(:class:`StyleInputs`: one, several blended, or regions), every setting
(:class:`naah.settings.Settings`), and the snapshots, callback, progress and
checkpoint that watch it. :class:`StyleInputs` also loads the styles at their
sizes, and says how a checkpoint records them and finds them again.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from naah.checkpointing import (
    ImageRecord,
    InputsRecord,
    RegionRecord,
    sha256_of_pixels,
)
from naah.checks import SettingError
from naah.io.files import sha256_of_file
from naah.io.images import ImageLike, load_image
from naah.io.locate import find_weights
from naah.io.weights import VGGWeights
from naah.optim import IterationRecord
from naah.problem import StyleProblem
from naah.regions import Region, check_region_count
from naah.settings import ARRAY_INIT, INITS, ImageSettings, Settings
from naah.terms import TemporalTargets, blend_weights

__all__ = [
    "RunRequest",
    "StyleInput",
    "StyleInputs",
    "check_pixels",
    "check_weights",
    "recorded_input",
    "split_init",
    "start_image",
    "style_edge",
]

# One style image, several (a list or tuple), or None (with regions).
StyleInput = ImageLike | Sequence[ImageLike] | None
Callback = Callable[[IterationRecord, np.ndarray], None]


@dataclass(frozen=True)
class StyleInputs:
    """The styles of a run: images and their scales, blend, or regions.

    Attributes
    ----------
    styles : tuple
        The style images as given (paths, images or arrays), or loaded; empty with
        regions.
    scales : tuple of float
        Each style's long edge relative to the content's (one per style or region).
    blend : tuple of float, or None
        The normalised weights of several styles.
    regions : tuple of Region
    guide_mode : str
    """

    styles: tuple[Any, ...]
    scales: tuple[float, ...]
    blend: tuple[float, ...] | None
    regions: tuple[Region, ...]
    guide_mode: str

    @classmethod
    def of(
        cls,
        style: StyleInput,
        regions: Sequence[Region] | None,
        images: ImageSettings,
    ) -> StyleInputs:
        """Checked: every mistake is a ValueError here, before any work."""
        if isinstance(style, list | tuple):
            styles = tuple(style)
        else:
            styles = () if style is None else (style,)
        areas = tuple(regions or ())
        if styles and areas:
            raise ValueError(
                "give style images or regions (each with its own style), not both"
            )
        if not styles and not areas:
            raise ValueError("give a style image, several, or regions")
        if not all(isinstance(r, Region) for r in areas):
            raise ValueError("regions must be naah.regions.Region objects")
        check_region_count(len(areas))
        count = len(styles) or len(areas)
        scales = _style_scales(images.style_scale, count)
        if images.style_blend is not None and areas:
            raise SettingError(
                "{style_blend} is for several style images, not regions", "style_blend"
            )
        blend = None
        if images.style_blend is not None or len(styles) > 1:
            blend = _blend(images.style_blend, len(styles))
        return cls(styles, scales, blend, areas, images.guide_mode)

    def loaded(self, size: int | None) -> StyleInputs:
        """Each style image loaded at ``size`` times its scale (its own size
        without ``size``)."""

        def edge(scale: float) -> int | None:
            return None if size is None else style_edge(size, scale)

        if self.regions:
            regions = tuple(
                replace(r, style=load_image(r.style, long_edge=edge(scale)))
                for r, scale in zip(self.regions, self.scales, strict=True)
            )
            return replace(self, regions=regions)
        styles = tuple(
            load_image(st, long_edge=edge(scale))
            for st, scale in zip(self.styles, self.scales, strict=True)
        )
        return replace(self, styles=styles)

    def with_styles(self, change: Callable[[np.ndarray], np.ndarray]) -> StyleInputs:
        """The same inputs with ``change`` applied to every style image."""
        if self.regions:
            regions = tuple(
                replace(r, style=change(np.asarray(r.style))) for r in self.regions
            )
            return replace(self, regions=regions)
        return replace(self, styles=tuple(change(np.asarray(st)) for st in self.styles))

    @property
    def images(self) -> tuple[Any, ...]:
        """The style images, of the regions too."""
        return tuple(r.style for r in self.regions) if self.regions else self.styles

    def largest_style_shape(self) -> tuple[int, int]:
        """(H, W) of the largest style image, once loaded (:meth:`loaded`)."""
        shapes = [np.asarray(image).shape[:2] for image in self.images]
        return max(shapes, key=lambda shape: shape[0] * shape[1])

    def problem_keywords(self) -> dict[str, Any]:
        """``style``, ``blend``, ``regions`` and ``guide_mode`` as
        :class:`naah.problem.StyleProblem` takes them."""
        if self.regions:
            return {
                "style": None,
                "blend": None,
                "regions": list(self.regions),
                "guide_mode": self.guide_mode,
            }
        return {
            "style": list(self.styles),
            "blend": self.blend,
            "regions": None,
            "guide_mode": self.guide_mode,
        }

    # -- checkpoints ---------------------------------------------------------------
    def record(
        self, content: ImageLike, problem: StyleProblem, weights: Mapping[str, Any]
    ) -> InputsRecord:
        """What a checkpoint records of these inputs, as given, and of ``problem``'s
        images, which are the same inputs as the network gets them."""
        content_record = ImageRecord.of(content, problem.content_image)
        if self.regions:
            regions = tuple(
                _region_record(given, region)
                for given, region in zip(self.regions, problem.regions, strict=True)
            )
            return InputsRecord(content_record, weights, regions=regions)
        styles = tuple(
            ImageRecord.of(given, np.asarray(image))
            for given, image in zip(self.styles, problem.style_images, strict=True)
        )
        return InputsRecord(content_record, weights, styles=styles)

    @classmethod
    def recorded(
        cls,
        record: InputsRecord,
        images: ImageSettings,
        style: StyleInput,
        checkpoint: Path,
    ) -> StyleInputs:
        """The styles of a checkpoint's run: ``style`` if given, else the recorded
        paths."""
        if record.regions:
            if style is not None:
                raise ValueError(
                    f"the run of {checkpoint} has regions: give no style images"
                )
            regions = [_recorded_region(r, checkpoint) for r in record.regions]
            return cls.of(None, regions, images)
        if style is None:
            style = [
                recorded_input(None, identity, f"style image {k + 1}", checkpoint)
                for k, identity in enumerate(record.styles)
            ]
        return cls.of(style, None, images)

    def check_against(self, record: InputsRecord, checkpoint: Path) -> None:
        """Refuse loaded styles (or regions' styles) whose pixels are not the ones
        the checkpoint's run used."""
        if self.regions:
            for region, recorded in zip(self.regions, record.regions, strict=True):
                check_pixels(
                    np.asarray(region.style),
                    recorded.style,
                    f"style image of region {region.name!r}",
                    checkpoint,
                )
            return
        for k, (image, identity) in enumerate(
            zip(self.styles, record.styles, strict=True)
        ):
            check_pixels(image, identity, f"style image {k + 1}", checkpoint)


@dataclass(frozen=True)
class RunRequest:
    """One run, asked for and checked.

    Attributes
    ----------
    content : path, PIL image or ndarray of shape (H, W, 3)
        As given.
    styles : StyleInputs
        As given (loaded at each scale's size when the run gets there).
    settings : Settings
        Every setting of the run.
    start : ndarray of shape (H, W, 3) or None
        A start image given as an array (``settings.images.init`` is then
        ``'image'``).
    snapshots : tuple of int
    callback : callable(record, image) or None
    progress : bool or None
    checkpoint : Path or None
        Where to write checkpoints (every ``settings.schedule.checkpoint_every``
        iterations).
    checkpoint_info : mapping
        The caller's metadata for the checkpoint.
    client : distributed.Client or None
        Spread each evaluation's blocks over a Dask cluster's workers
        (:class:`naah.tiled.TiledProblem`).
    temporal : TemporalTargets or None
        A video frame's earlier results, warped onto it, and the temporal term's
        weight (:class:`naah.terms.TemporalTerm`); None: no temporal term.
    """

    content: ImageLike
    styles: StyleInputs
    settings: Settings
    start: np.ndarray | None = None
    snapshots: tuple[int, ...] = ()
    callback: Callback | None = None
    progress: bool | None = None
    checkpoint: Path | None = None
    checkpoint_info: Mapping[str, Any] = field(default_factory=dict)
    client: Any = None
    temporal: TemporalTargets | None = None

    @classmethod
    def of(
        cls,
        content: ImageLike,
        style: StyleInput,
        regions: Sequence[Region] | None,
        settings: Settings,
        *,
        start: np.ndarray | None = None,
        snapshots: Iterable[int] = (),
        callback: Callback | None = None,
        progress: bool | None = None,
        checkpoint: str | os.PathLike | None = None,
        checkpoint_info: Mapping[str, Any] | None = None,
        client: Any = None,
    ) -> RunRequest:
        """A request, its styles checked against its settings."""
        return cls(
            content,
            StyleInputs.of(style, regions, settings.images),
            settings,
            start,
            tuple(snapshots),
            callback,
            progress,
            None if checkpoint is None else Path(checkpoint),
            dict(checkpoint_info or {}),
            client,
        )

    @property
    def init(self) -> str | np.ndarray:
        """The start image: an array given, or the name or file of the settings."""
        return self.start if self.start is not None else self.settings.images.init


def start_image(init: str | ImageLike, problem: StyleProblem, seed: int) -> np.ndarray:
    """The start image for ``problem``, (H, W, 3) float32 RGB in 0–255.

    ``init`` is 'noise' (uniform white noise seeded with ``seed``), 'content',
    'style' (resized to the content's shape) or an image (a file or an array,
    resized to the content's shape).
    """
    shape = problem.shape
    if isinstance(init, str) and init in INITS:
        if init == "noise":
            rng = np.random.default_rng(seed)
            return rng.uniform(0, 255, shape).astype(np.float32)
        if init == "content":
            return problem.content_image
        return load_image(problem.style_image, size=shape[:2])
    if isinstance(init, str) and not os.path.isfile(init):
        raise ValueError(f"init must be one of {INITS} or an image, got {init!r}")
    return load_image(init, size=shape[:2])  # a large file decoded at reduced size


def split_init(init: object) -> tuple[object, np.ndarray | None]:
    """``init`` as a setting and a start image: an array is the start image, and
    the setting records it as ``'image'``."""
    if isinstance(init, np.ndarray):
        return ARRAY_INIT, init
    return init, None


def style_edge(size: int, style_scale: float) -> int:
    """The long edge a style image is resized to for a content ``size``.

    Examples
    --------
    >>> style_edge(512, 0.5)
    256
    """
    return max(1, round(size * style_scale))


def check_pixels(
    image: np.ndarray, identity: ImageRecord, what: str, checkpoint: Path
) -> None:
    """Refuse an image whose pixels are not the recorded ones."""
    if sha256_of_pixels(image) != identity.sha256:
        raise ValueError(
            f"the {what} is not the one the run of {checkpoint} used (its pixels at "
            f"{image.shape[1]}x{image.shape[0]} differ)"
        )


def recorded_input(
    given: Any, recorded: ImageRecord | Mapping[str, Any], what: str, checkpoint: Path
) -> Any:
    """The input given to :meth:`naah.StyleTransfer.resume`, else the recorded
    path."""
    if given is not None:
        return given
    path = recorded.path if isinstance(recorded, ImageRecord) else recorded.get("path")
    if path is None:
        raise ValueError(
            f"the run of {checkpoint} was given its {what} as an array: pass it "
            f"again ({what}=...)"
        )
    return path


def check_weights(
    weights: str | os.PathLike | VGGWeights | None,
    recorded: Mapping[str, Any],
    checkpoint: Path,
) -> None:
    """Refuse a weights file other than the run's, before it is loaded (weights
    already loaded are the caller's to vouch for)."""
    if isinstance(weights, VGGWeights):
        return
    want = recorded.get("sha256")
    file = find_weights(weights)
    if want is not None and sha256_of_file(file) != want:
        raise ValueError(
            f"the weights file {file} is not the one the run of {checkpoint} used "
            f"({recorded.get('path')}, SHA-256 {want[:12]}…)"
        )


def _style_scales(
    style_scale: float | Sequence[float], count: int
) -> tuple[float, ...]:
    if isinstance(style_scale, int | float):
        return (float(style_scale),) * count
    values = tuple(float(v) for v in style_scale)
    if len(values) != count:
        raise SettingError(
            "{style_scale} has {n} values for {count} style images; give one for "
            "all, or one per style",
            "style_scale",
            n=len(values),
            count=count,
        )
    return values


def _blend(blend: Sequence[float] | None, count: int) -> tuple[float, ...]:
    try:
        return blend_weights(blend, count, name="style_blend")
    except ValueError as error:
        detail = str(error).removeprefix("style_blend ")
        raise SettingError(
            "{style_blend} {detail}", "style_blend", detail=detail
        ) from None


def _path(value: object) -> str | None:
    return os.path.abspath(value) if isinstance(value, str | os.PathLike) else None


def _region_record(given: Region, used: Region) -> RegionRecord:
    return RegionRecord(
        name=given.name,
        weight=float(given.weight),
        guide=_path(given.guide),
        guide_sha256=sha256_of_pixels(np.asarray(used.guide, np.float32)),
        style=ImageRecord.of(given.style, np.asarray(used.style)),
        style_guide=_path(given.style_guide),
    )


def _recorded_region(recorded: RegionRecord, checkpoint: Path) -> Region:
    guide, style = recorded.guide, recorded.style.path
    for key, source in (("guide", guide), ("style", style)):
        if source is None:
            raise ValueError(
                f"the {key} of region {recorded.name or '?'} of {checkpoint} was an "
                "array: resume cannot read it again; run StyleTransfer.resume with "
                "the same run"
            )
    assert guide is not None and style is not None  # refused just above
    return Region(guide, style, recorded.style_guide, recorded.weight, recorded.name)
