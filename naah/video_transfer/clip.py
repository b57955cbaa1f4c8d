"""A video run's input frames, at the run's size, and where its work goes."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from naah.io.images import ImageLike, load_image, to_uint8
from naah.io.video import Frames, is_video_path, read_frames
from naah.plan import sized
from naah.request import RunRequest, StyleInput, StyleInputs
from naah.settings import AUTO, Settings

__all__ = ["WORK_SUFFIX", "clip_of", "work_folder_for"]

#: The work folder of ``-o OUT.mp4`` is ``OUT.mp4.naah-video`` beside it; that of
#: ``-o DIR/`` is ``DIR/.naah-video``.
WORK_SUFFIX = ".naah-video"


def clip_of(
    video: str | os.PathLike | Sequence[ImageLike] | Frames,
    frames: tuple[int, int | None] | None,
    config: Settings,
    style: StyleInput,
) -> Frames:
    """The frames to stylise, at the run's size (``size='auto'`` resolved on the
    first frame, as for an image)."""
    if isinstance(video, Frames):
        return _selected(video, frames, config, style)
    if isinstance(video, str | os.PathLike):
        size = _size(
            config, lambda: read_frames(video, frames=_first(frames)).images[0], style
        )
        return read_frames(video, frames=frames, long_edge=size)
    if not isinstance(video, Sequence) or not video:
        raise ValueError(
            "video must be a video file, a folder of frames or a non-empty "
            f"sequence of images, got {type(video).__name__}"
        )
    images = tuple(to_uint8(load_image(image)) for image in video)
    names = tuple(f"frame {k + 1}" for k in range(len(images)))
    return _selected(Frames(images, None, names, "frames"), frames, config, style)


def _first(frames: tuple[int, int | None] | None) -> tuple[int, int]:
    start = 0 if frames is None else frames[0]
    return (start, start + 1)


def _selected(
    clip: Frames,
    frames: tuple[int, int | None] | None,
    config: Settings,
    style: StyleInput,
) -> Frames:
    images, names = clip.images, clip.names
    if frames is not None:
        start, stop = frames
        if not 0 <= start < len(images) or (stop is not None and stop <= start):
            raise ValueError(
                f"frames {start}:{'' if stop is None else stop} is not a range of the "
                f"{len(images)} frames (counted from 0)"
            )
        images, names = images[start:stop], names[start:stop]
    shapes = {image.shape for image in images}
    if len(shapes) != 1:
        raise ValueError(f"the frames differ in size: {sorted(shapes)}")
    size = _size(config, lambda: images[0], style)
    if size is not None:
        images = tuple(to_uint8(load_image(image, long_edge=size)) for image in images)
    return Frames(images, clip.fps, names, clip.source)


def _size(config: Settings, first: object, style: StyleInput) -> int | None:
    """The long edge of the frames: the size setting, 'auto' resolved on the
    first frame."""
    size = config.images.size
    if size != AUTO:
        return size if isinstance(size, int) else None
    frame = np.asarray(first()).astype(np.float32)  # type: ignore[operator]
    request = RunRequest(frame, StyleInputs.of(style, None, config.images), config)
    resolved = sized(request).settings.images.size
    return resolved if isinstance(resolved, int) else None


def work_folder_for(
    output: str | os.PathLike | None, work: str | os.PathLike | None
) -> tuple[Path, tempfile.TemporaryDirectory | None]:
    """The work folder of a run (see :data:`WORK_SUFFIX`), and the temporary
    folder to remove afterwards when there is no output to keep it beside."""
    if work is not None:
        return Path(work), None
    if output is None:
        temporary = tempfile.TemporaryDirectory(prefix="naah-video-")
        return Path(temporary.name) / "work", temporary
    path = Path(output)
    if is_video_path(path):
        return path.with_name(path.name + WORK_SUFFIX), None
    return path / WORK_SUFFIX, None
