"""A video run: every step of :mod:`.schedule`, one style-transfer run each, on
one compiled problem.

Each frame is a :class:`naah.request.RunRequest` run by
:func:`naah.pyramid.run_request`, as ``naah stylize`` runs an image, with two
additions: its start image (the previous frame's result warped onto it, or a
blend of its last result and its neighbour's in a later pass) and its
:class:`naah.terms.TemporalTargets`. The session compiles the problem once, with
the temporal term's inputs as shared variables, and every frame retargets it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from naah.checkpointing import load_run
from naah.flow import consistency, estimate_flows, long_term_weights, warp
from naah.io.video import Frames, is_video_path, write_frames, write_video
from naah.live import chain
from naah.metrics import WarpingError, warping_error
from naah.progress import interactive
from naah.pyramid import run_request
from naah.request import Callback, RunRequest, StyleInput, StyleInputs
from naah.runs import StyleResult
from naah.session import Session
from naah.settings import ARRAY_INIT, Settings
from naah.terms import TemporalTargets
from naah.video_transfer.schedule import Step, flow_pairs, steps
from naah.video_transfer.settings import PASS_BLEND, VideoSettings
from naah.video_transfer.work import WorkFolder, digest

__all__ = [
    "FrameReport",
    "VideoResult",
    "blended_start",
    "run_video",
    "temporal_loss",
]


@dataclass(frozen=True)
class FrameReport:
    """One finished frame of the last pass: its losses (unweighted, at its best
    iterate), iterations and seconds, and its warping error against the frame
    before it (None for the first)."""

    frame: int
    content: float
    style: float
    temporal: float
    total: float
    iterations: int
    seconds: float
    warping_error: float | None = None


@dataclass
class VideoResult:
    """A stylised clip.

    Attributes
    ----------
    frames : tuple of ndarray of shape (H, W, 3)
        The last pass's frames, uint8 RGB.
    fps : float or None
        The input's frame rate (None for a folder of frames).
    reports : tuple of FrameReport
        Per frame of the last pass.
    warping : WarpingError
        The temporal warping error of the result (:func:`naah.metrics.warping_error`),
        with the flow of the input frames.
    work : Path
        The run's work folder (:mod:`naah.video_transfer.work`).
    """

    frames: tuple[np.ndarray, ...]
    fps: float | None
    reports: tuple[FrameReport, ...]
    warping: WarpingError | None
    work: Path
    seconds: dict[str, float] = field(default_factory=dict)

    def save(self, path: str | os.PathLike, *, fps: float | None = None) -> Path:
        """Write the frames as a video (``.mp4``, ``.webm``, ``.gif``) or, for a
        folder (``DIR/``), as numbered PNG files."""
        rate = fps or self.fps or 25.0
        if is_video_path(path):
            return write_video(self.frames, path, fps=rate)
        write_frames(self.frames, path)
        return Path(path)


def run_video(
    session: Session,
    config: Settings,
    video: VideoSettings,
    clip: Frames,
    style: StyleInput,
    work: Path,
    *,
    overwrite: bool = False,
    progress: bool | None = None,
    processes: int | None = None,
    callback: Callback | None = None,
    on_frame: Callable[[Step, np.ndarray], None] | None = None,
) -> VideoResult:
    """Stylise ``clip`` with ``video``'s method, keeping the work in ``work``.

    ``config`` holds every per-frame setting (its iterations are per frame, per
    pass); the clip's frames are already at the run's size. ``on_frame`` is
    called with each finished step of the last pass and its image.
    """
    if config.schedule.scales is not None:
        raise ValueError(
            "scales (coarse to fine) are not available for video yet: give one "
            "size for every frame"
        )
    styles = StyleInputs.of(style, None, config.images)
    folder = WorkFolder(work, _identity(session, config, video, clip, styles),
                        overwrite=overwrite)  # fmt: skip
    show = interactive() if progress is None else progress
    started = time.perf_counter()
    _compute_flows(folder, clip, video, processes, show)
    flow_seconds = time.perf_counter() - started
    order = steps(len(clip), video)
    with _frames_bar(len(order), show) as bar:
        runner = _Runner(session, config, video, clip, styles, folder, bar, callback)
        for step in order:
            runner.run(step)
            bar.update(1)
            if on_frame is not None and step.pass_ == video.passes:
                on_frame(step, folder.frame(step.pass_, step.frame))
    return runner.result(flow_seconds, time.perf_counter() - started)


def _identity(
    session: Session,
    config: Settings,
    video: VideoSettings,
    clip: Frames,
    styles: StyleInputs,
) -> dict[str, Any]:
    """What the run is, for its manifest: settings and inputs' checksums."""
    weights = session.net.weights.source.identity()
    return {
        "settings": config.to_json(),
        "video": {
            name: list(v) if isinstance(v, tuple) else v
            for name, v in vars(video).items()
        },
        "frames": [digest(image) for image in clip.images],
        "styles": [
            digest(np.asarray(s, np.float32))
            for s in styles.loaded(
                config.images.size if isinstance(config.images.size, int) else None
            ).styles
        ],
        "weights": {"sha256": weights["sha256"], "size": weights["size"]},
    }


def _compute_flows(
    folder: WorkFolder,
    clip: Frames,
    video: VideoSettings,
    processes: int | None,
    show: bool,
) -> None:
    """Every flow the run needs that the work folder lacks, in parallel."""
    missing = [
        pair
        for pair in flow_pairs(len(clip), video)
        if not folder.flow_file(*pair).is_file()
    ]
    if not missing:
        return
    if show:
        print(f"naah: optical flow ({video.flow}) of {len(missing)} frame pairs")
    flows = estimate_flows(clip.images, missing, video.flow, processes=processes)
    for (source, target), flow in flows.items():
        folder.save_flow(source, target, flow)


class _Runner:
    """The steps of one run, each from the work folder when it is done."""

    def __init__(
        self,
        session: Session,
        config: Settings,
        video: VideoSettings,
        clip: Frames,
        styles: StyleInputs,
        folder: WorkFolder,
        bar: Any,
        callback: Callback | None = None,
    ) -> None:
        self.bar = bar
        self.callback = callback
        self.session = session
        self.config = config
        self.video = video
        self.clip = clip
        self.styles = styles
        self.folder = folder

    def run(self, step: Step) -> None:
        if self.folder.finished(step.key):
            return
        started = time.perf_counter()
        iterations = self.video.iterations_of(
            self.config.schedule.total, step.pass_, step.position
        )
        start, init = self._start(step)
        values: dict[str, Any] = {"iterations": iterations, "init": init}
        if init == "noise":
            values["seed"] = self.config.images.seed + step.frame
        checkpoint = self.folder.checkpoint_file(step.pass_, step.frame)
        checkpoint.parent.mkdir(exist_ok=True)
        temporal = self._temporal(step)
        request = RunRequest(
            self.clip.images[step.frame].astype(np.float32),
            self.styles,
            Settings.of(values, self.config),
            start=start,
            callback=chain(self._shown(step, iterations), self.callback),
            progress=False,  # the frames' bar shows the iterations
            checkpoint=checkpoint,
            temporal=temporal,
        )
        saved = load_run(checkpoint) if checkpoint.is_file() else None
        result = run_request(request, self.session, saved)
        self.folder.finish(
            step.key,
            step.pass_,
            step.frame,
            result.image,
            iterations=len(result.history) - 1,
            seconds=time.perf_counter() - started,
            **_losses(result, temporal),
        )

    def _shown(self, step: Step, iterations: int) -> Callback:
        """A callback that shows the step's iterations on the frames' bar."""
        passes = self.video.passes
        where = f"pass {step.pass_}/{passes}, " if passes > 1 else ""
        where += f"frame {step.frame + 1}/{len(self.clip)}"
        self.bar.set_postfix_str(f"{where}: starting")

        def show(record: Any, image: np.ndarray) -> None:
            self.bar.set_postfix_str(
                f"{where}: iteration {record.iteration}/{iterations}, "
                f"loss {record.total:.3g}"
            )

        return show

    # -- what a step starts from and compares with -----------------------------------
    def _start(self, step: Step) -> tuple[np.ndarray | None, str]:
        """The start image (None: by name) and the init setting it means."""
        init = self.video.init
        if step.pass_ > 1:
            own = self.folder.frame(step.pass_ - 1, step.frame).astype(np.float32)
            if step.previous is None:
                return own, ARRAY_INIT
            warped, reliable = self._warped(step.pass_, step.previous, step.frame)
            return blended_start(own, warped, reliable), ARRAY_INIT
        if step.previous is None or init != "prev-warped":
            return None, "content" if init == "content" else "noise"
        warped, _ = self._warped(step.pass_, step.previous, step.frame)
        return warped, ARRAY_INIT

    def _warped(
        self, pass_: int, source: int, target: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``source``'s result of ``pass_`` warped onto frame ``target``, and
        the consistency check's weights c of the pair."""
        forward = self._flow(source, target)
        backward = self._flow(target, source)
        image = self.folder.frame(pass_, source)
        warped, _ = warp(image, backward)
        return warped, consistency(forward, backward)

    def _flow(self, source: int, target: int) -> np.ndarray:
        flow = self.folder.flow(source, target)
        if flow is None:
            raise RuntimeError(
                f"the flow from frame {source + 1} to {target + 1} is missing from "
                f"{self.folder.path}; rerun to compute it"
            )
        return flow

    def _temporal(self, step: Step) -> TemporalTargets | None:
        if self.video.temporal_weight == 0:
            return None
        pairs = [self._warped(step.pass_, other, step.frame) for other in step.earlier]
        return TemporalTargets(
            warped=tuple(w for w, _ in pairs),
            weights=tuple(long_term_weights([c for _, c in pairs])),
            weight=self.video.temporal_weight,
            frames=self.video.frames_compared,
        )

    # -- the result --------------------------------------------------------------------
    def result(self, flow_seconds: float, seconds: float) -> VideoResult:
        last = self.video.passes
        frames = tuple(self.folder.frame(last, i) for i in range(len(self.clip)))
        warping = None
        if len(frames) > 1:
            flows = [
                (self._flow(i - 1, i), self._flow(i, i - 1))
                for i in range(1, len(frames))
            ]
            warping = warping_error(frames, flows)
        reports = []
        for i in range(len(frames)):
            entry = self.folder.done[f"{last}/{i + 1}"]
            error = None if warping is None or i == 0 else warping.per_frame[i - 1]
            reports.append(
                FrameReport(
                    frame=i,
                    content=entry["content"],
                    style=entry["style"],
                    temporal=entry["temporal"],
                    total=entry["total"],
                    iterations=entry["iterations"],
                    seconds=entry["seconds"],
                    warping_error=error,
                )
            )
        return VideoResult(
            frames,
            self.clip.fps,
            tuple(reports),
            warping,
            self.folder.path,
            {"flow": flow_seconds, "total": seconds},
        )


def blended_start(
    own: np.ndarray, warped: np.ndarray, reliable: np.ndarray, delta: float = PASS_BLEND
) -> np.ndarray:
    r"""The start of a frame in a later pass (Ruder et al., section 3.5):
    :math:`\delta\, c \circ \omega + (\bar\delta \mathbb{1} + \delta \bar c)
    \circ x`, with :math:`x` the frame's result of the last pass, :math:`\omega`
    its neighbour's result of this pass warped onto it, :math:`c` the pair's
    consistency weights, :math:`\bar\delta = 1 - \delta` and :math:`\bar c = 1 -
    c`: the neighbour blended in at weight δ where the flow is reliable."""
    weight = delta * np.asarray(reliable, np.float32)[..., None]
    return np.asarray(own, np.float32) + weight * (warped - own)


def _losses(result: StyleResult, temporal: TemporalTargets | None) -> dict[str, float]:
    """The losses of a result's best iterate; its temporal loss (unweighted) from
    the image as written."""
    best = result.history[result.best_iteration]
    return {
        "content": float(best.content),
        "style": float(best.style),
        "temporal": temporal_loss(result.image, temporal),
        "total": float(best.total),
    }


def temporal_loss(image: np.ndarray, temporal: TemporalTargets | None) -> float:
    """Ruder et al.'s :math:`\\sum_j \frac1D \\sum c_j (x - \\omega_j)^2` of an
    (H, W, 3) image, in float64 (0 without temporal targets)."""
    if temporal is None or not temporal.warped:
        return 0.0
    x = np.asarray(image, np.float64)
    return float(
        sum(
            np.sum(c[..., None] * (x - w) ** 2)
            for w, c in zip(temporal.warped, temporal.weights, strict=True)
        )
        / x.size
    )


@contextlib.contextmanager
def _frames_bar(total: int, show: bool) -> Iterator[Any]:
    """A bar over the frames (each frame's run shows its own iterations)."""
    if not show:
        yield _NoBar()
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, unit="frame", desc="naah video")
    try:
        yield bar
    finally:
        bar.close()


class _NoBar:
    def update(self, n: int = 1) -> None:
        return None

    def set_postfix_str(self, text: str) -> None:
        return None
