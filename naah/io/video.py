"""Video input and output: frames from a video file or a folder of images, and back.

A clip inside naah is a :class:`Frames`: a tuple of ``ndarray of shape (H, W, 3)``,
dtype uint8, RGB, all of one size, with the frame rate and a name for each frame.
:func:`read_frames` makes one from a video file or a folder of numbered images;
:func:`write_video` writes frames as an .mp4, .webm or .gif file, and
:func:`write_frames` as numbered PNG files (:func:`frame_path` names them one at a
time, for a runner that writes each frame as it finishes).

Video files need PyAV (FFmpeg's libraries), the ``naah[video]`` extra; it is imported
only when a video file is read or written, so folders of frames and GIF output work
without it. Without it, reading or writing a video file raises ``ImportError``
``video files need PyAV: pip install "naah[video]"``: an ImportError, as for naah's
other extras, not a VideoError, for nothing is wrong with the file.

Colours: frames are taken as sRGB. H.264 and VP9 store Y'CbCr 4:2:0, converted with
the BT.709 matrix at limited range and tagged so (matrix, primaries and transfer), so
players show the colours that were written whatever the frame size; files read are
converted to RGB with the matrix and range they are tagged with. Every file is written
through :func:`naah.io.files.write_atomically`: whole, or not at all.
"""

from __future__ import annotations

import importlib
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import IO, Any

import numpy as np

from naah.io.files import write_atomically
from naah.io.images import (
    ImageError,
    load_image,
    resize_to_long_edge,
    save_image,
    to_pil,
    to_uint8,
)

__all__ = [
    "VIDEO_SUFFIXES",
    "WRITE_SUFFIXES",
    "Frames",
    "VideoError",
    "frame_path",
    "is_video_path",
    "read_frames",
    "write_frames",
    "write_video",
]

#: Suffixes of the video files read_frames expects (it tries PyAV on any other file).
VIDEO_SUFFIXES = (".mp4", ".webm", ".gif", ".mov", ".mkv", ".avi")
#: Suffixes of the video files write_video writes.
WRITE_SUFFIXES = (".mp4", ".webm", ".gif")
#: Image files read from a folder of frames; other files there are ignored.
FRAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
#: The name write_frames gives each frame: its 1-based number, five digits.
FRAME_PATTERN = "frame_{:05d}.png"

INSTALL_PYAV = 'video files need PyAV: pip install "naah[video]"'


@dataclass(frozen=True)
class _Encoder:
    """How one suffix is written: PyAV's container format, codec and its options."""

    container: str
    codec: str
    options: dict[str, str]


ENCODERS = {
    # CRF 18: FFmpeg's H.264 guide calls 17 or 18 "visually lossless or nearly so";
    # a style transfer's fine texture is what the video is for, and at 18 it
    # survives. yuv420p (set below): the only chroma layout every H.264 player
    # (browsers, QuickTime) decodes; libx264 would keep RGB input as 4:4:4.
    ".mp4": _Encoder("mp4", "libx264", {"crf": "18", "preset": "medium"}),
    # Constant quality as FFmpeg's VP9 guide gives it (crf with b=0; it suggests 31
    # for 1080p). cpu-used 4 with row-mt (rows of tiles in parallel): on 30 frames
    # of 256x256 about 2.4x as fast as cpu-used 1, the same size and error.
    ".webm": _Encoder(
        "webm",
        "libvpx-vp9",
        {"crf": "30", "b": "0", "deadline": "good", "cpu-used": "4", "row-mt": "1"},
    ),
}
# FFmpeg's AVCOL_SPC_BT709, AVCOL_PRI_BT709, AVCOL_TRC_BT709 (all 1) and
# AVCOL_RANGE_MPEG (1, "limited": Y' in 16-235); the tags written into the stream.
BT709 = 1
LIMITED_RANGE = 1
# GIF stores each frame's delay in hundredths of a second. Browsers play delays of
# 0 or 1 as 10 (a tenth of a second), so no GIF is written faster than 2 (50 fps).
GIF_TICKS_PER_SECOND = 100
GIF_SHORTEST_DELAY = 2


class VideoError(ValueError):
    """A video file or folder of frames that cannot be read or written as asked."""


@dataclass(frozen=True, eq=False)
class Frames:
    """The frames of a clip, in order, with their rate and names.

    Compared by identity (``eq=False``): arrays have no single truth value.

    Attributes
    ----------
    images : tuple of ndarray of shape (H, W, 3)
        uint8, RGB, all of one shape.
    fps : float or None
        Frames per second, as the file states it; None for a folder of images.
    names : tuple of str
        Each frame's file name (a folder) or ``"frame N"``, its 1-based number in the
        video (a video file).
    source : str
        The file or folder read.

    Examples
    --------
    >>> import numpy as np
    >>> clip = Frames((np.zeros((2, 4, 3), np.uint8),) * 3, 25.0,
    ...               ("frame 1", "frame 2", "frame 3"), "clip.mp4")
    >>> len(clip), clip.images[0].shape
    (3, (2, 4, 3))
    """

    images: tuple[np.ndarray, ...]
    fps: float | None
    names: tuple[str, ...]
    source: str

    def __post_init__(self) -> None:
        if len(self.names) != len(self.images):
            raise ValueError(
                f"Frames needs one name per image: got {len(self.images)} images "
                f"and {len(self.names)} names"
            )

    def __len__(self) -> int:
        return len(self.images)


# --- reading -------------------------------------------------------------------


def read_frames(
    path: str | os.PathLike[str],
    *,
    frames: tuple[int, int | None] | None = None,
    long_edge: int | None = None,
) -> Frames:
    """Read the frames of a video file or of a folder of images.

    Parameters
    ----------
    path : str or os.PathLike
        A video file (any of :data:`VIDEO_SUFFIXES`, or anything else PyAV opens), or
        a folder of frames: the image files in it (:data:`FRAME_SUFFIXES`, any case)
        in natural name order (``frame2.png`` before ``frame10.png``); hidden files,
        other files and subfolders are ignored. A video's frames are as stored
        (a video written with odd sides reads back at the even size it was padded
        to), turned upright when the stream says it is rotated (as phones record).
    frames : tuple of (int, int or None), optional
        ``(start, stop)``: only frames ``start`` to ``stop - 1``, counted from 0;
        stop None reads to the end, and a stop past the end reads to the end. Only
        frames up to ``stop`` are decoded. Default: all.
    long_edge : int, optional
        Resize each frame (Lanczos) so its longer side has this many pixels.

    Returns
    -------
    Frames
        uint8 RGB frames; ``fps`` from the stream's average rate (else the rate
        FFmpeg guesses; None when neither is known, and for a folder).

    Raises
    ------
    VideoError
        If the path does not exist; the folder holds no images, or images of
        differing sizes (the first odd file and both sizes are named); the file is
        not a video PyAV can read, has no video stream, or cannot be decoded; or
        ``frames`` is not a range of frames there (the message says how many there
        are).
    ImportError
        If ``path`` is a file and PyAV is not installed
        (``pip install "naah[video]"``).
    ValueError
        If ``long_edge`` is not a positive int.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> paths = write_frames([np.full((4, 6, 3), v, np.uint8) for v in (0, 80, 160)],
    ...                      folder)
    >>> clip = read_frames(folder, frames=(1, None), long_edge=3)
    >>> clip.names, clip.images[0].shape, clip.fps
    (('frame_00002.png', 'frame_00003.png'), (2, 3, 3), None)
    """
    path = Path(path)
    start, stop = _check_range(frames, path)
    if long_edge is not None and (
        isinstance(long_edge, bool)
        or not isinstance(long_edge, int | np.integer)
        or long_edge <= 0
    ):
        raise ValueError(f"long_edge must be a positive int, got {long_edge!r}")
    if path.is_dir():
        return _read_folder(path, start, stop, long_edge)
    if not path.exists():
        raise VideoError(f"no video file or folder of frames at {path}; check the path")
    return _read_video(path, start, stop, long_edge)


def _check_range(
    frames: tuple[int, int | None] | None, path: Path
) -> tuple[int, int | None]:
    """``frames`` as (start, stop), once it is a possible range of frames."""
    if frames is None:
        return 0, None
    if not isinstance(frames, tuple | list) or len(frames) != 2:
        raise VideoError(
            f"frames must be (start, stop), e.g. (0, 10) for the first ten frames "
            f"of {path}; got {frames!r}"
        )
    start, stop = frames
    if not _is_int(start) or start < 0:
        raise VideoError(
            f"frames=({start!r}, {stop!r}): start must be an int, 0 or more (frames "
            f"count from 0) for {path}"
        )
    if stop is not None and (not _is_int(stop) or stop <= start):
        raise VideoError(
            f"frames=({start!r}, {stop!r}): stop must be an int greater than start "
            f"(frames start to stop - 1 are read), or None for the rest of {path}"
        )
    return int(start), None if stop is None else int(stop)


def _check_start(start: int, stop: int | None, count: int, path: Path) -> None:
    if count == 0:
        raise VideoError(f"{path} holds no frames PyAV can decode")
    if start >= count:
        raise VideoError(
            f"frames=({start}, {stop}) starts past the end of {path}: it has {count} "
            f"frame{'s' * (count != 1)} (0 to {count - 1}); give a start below "
            f"{count}"
        )


def _read_folder(
    folder: Path, start: int, stop: int | None, long_edge: int | None
) -> Frames:
    files = _frame_files(folder)
    if not files:
        raise VideoError(
            f"{folder} holds no frames: no image files ({', '.join(FRAME_SUFFIXES)}) "
            "in it; give a folder of frames or a video file"
        )
    _check_start(start, stop, len(files), folder)
    chosen = files[start:stop]
    images = []
    first: tuple[Path, tuple[int, ...]] | None = None
    for file in chosen:
        try:
            rgb = load_image(file)
        except ImageError as e:
            raise VideoError(f"frame {file.name} of {folder}: {e}") from e
        # Sizes are compared as stored (EXIF applied), before any resize, so a
        # folder reads or fails the same whatever long_edge is.
        if first is None:
            first = (file, rgb.shape)
        elif rgb.shape != first[1]:
            raise VideoError(
                f"{file} is {_size(rgb.shape)} pixels, but {first[0].name}, the "
                f"first frame read, is {_size(first[1])}: every frame of a clip "
                f"must be one size; resize {file.name} or move it out of {folder}"
            )
        if long_edge is not None:
            rgb = resize_to_long_edge(rgb, long_edge)
        images.append(to_uint8(rgb))
    return Frames(tuple(images), None, tuple(f.name for f in chosen), str(folder))


def _frame_files(folder: Path) -> list[Path]:
    """The image files of ``folder``, not hidden, in natural name order."""
    files = [
        entry
        for entry in folder.iterdir()
        if not entry.name.startswith(".")
        and entry.suffix.lower() in FRAME_SUFFIXES
        and entry.is_file()
    ]
    return sorted(files, key=lambda file: (_natural_key(file.name), file.name))


def _natural_key(name: str) -> list[Any]:
    """``name`` split into text and numbers, so "frame2" sorts before "frame10"."""
    # re.split with a group alternates text and digits, text first, so the keys of
    # two names compare text with text and int with int.
    return [
        int(part) if i % 2 else part.casefold()
        for i, part in enumerate(re.split(r"(\d+)", name))
    ]


def _read_video(
    path: Path, start: int, stop: int | None, long_edge: int | None
) -> Frames:
    av = _import_av()
    try:
        container = av.open(str(path), mode="r")
    except (av.error.FFmpegError, OSError) as e:
        raise VideoError(
            f"{path} is not a video PyAV can read (truncated, corrupt or not a "
            f"video?): {_reason(e)}"
        ) from e
    images: list[np.ndarray] = []
    count = 0
    with container:
        if not container.streams.video:
            raise VideoError(
                f"{path} has no video stream (only "
                f"{', '.join(s.type for s in container.streams) or 'nothing'}); "
                "give a video file"
            )
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # slices and frames decoded in parallel
        fps = _stream_fps(stream)
        try:
            for frame in container.decode(stream):
                if count >= start:
                    images.append(_frame_rgb(frame, long_edge, path, count, images))
                count += 1
                if count == stop:
                    break  # the frames after stop are never decoded
        except av.error.FFmpegError as e:
            raise VideoError(
                f"{path} could not be decoded after {count} frames (truncated or "
                f"corrupt?): {_reason(e)}"
            ) from e
    _check_start(start, stop, count, path)
    names = tuple(f"frame {i + 1}" for i in range(start, start + len(images)))
    return Frames(tuple(images), fps, names, str(path))


def _stream_fps(stream: Any) -> float | None:
    rate = stream.average_rate or stream.guessed_rate
    return float(rate) if rate else None


def _frame_rgb(
    frame: Any,
    long_edge: int | None,
    path: Path,
    index: int,
    earlier: list[np.ndarray],
) -> np.ndarray:
    """A decoded frame as uint8 RGB, upright, resized to ``long_edge``."""
    rgb = frame.to_ndarray(format="rgb24")
    # The display matrix turns the frame counterclockwise by this many degrees
    # (FFmpeg's av_display_rotation_get); np.rot90 turns counterclockwise too.
    quarter_turns = round(frame.rotation / 90) % 4
    if quarter_turns:
        rgb = np.rot90(rgb, quarter_turns)
    if long_edge is not None:
        rgb = to_uint8(resize_to_long_edge(rgb, long_edge))
    if earlier and rgb.shape != earlier[0].shape:
        raise VideoError(
            f"frame {index + 1} of {path} is {_size(rgb.shape)} pixels, the first "
            f"frame read {_size(earlier[0].shape)}: the video changes size part way; "
            "read the parts separately with frames=(start, stop)"
        )
    return np.ascontiguousarray(rgb)


# --- writing -------------------------------------------------------------------


def write_video(
    frames: Sequence[np.ndarray] | Frames,
    path: str | os.PathLike[str],
    *,
    fps: float = 25.0,
) -> Path:
    """Write frames as a video file, completely or not at all.

    The suffix picks the format: ``.mp4`` is H.264 (libx264, constant quality
    CRF 18, "visually lossless or nearly so" in FFmpeg's words), ``.webm`` is VP9
    (libvpx-vp9, constant quality CRF 30), both Y'CbCr 4:2:0 (yuv420p), which every
    player decodes; ``.gif`` is written by Pillow, each frame with its own adaptive
    256-colour palette, looping forever.

    4:2:0 stores colour at half the width and height, so H.264 and VP9 frames must
    have even sides: a frame with an odd width or height gets its last column or row
    repeated to make it even, and reads back at that size. A GIF keeps its size.

    The file is encoded into a temporary file beside ``path`` and renamed over it
    when done (:func:`naah.io.files.write_atomically`), so an error or Ctrl-C part
    way leaves no half-written video under ``path``.

    Parameters
    ----------
    frames : sequence of ndarray of shape (H, W, 3), or Frames
        RGB frames, all of one shape: uint8, or floats in [0, 255] (clipped and
        rounded).
    path : str or os.PathLike
        The file to write; its folder must exist.
    fps : float
        Frames per second. MP4 and WebM store it as a fraction (29.97 exactly as
        2997/100). GIF stores each frame's delay in hundredths of a second, so its
        rate is the nearest 100/n (25 fps exactly, 30 as 33.3), and at most 50.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    VideoError
        For a suffix other than :data:`WRITE_SUFFIXES`; no frames; frames not of
        shape (H, W, 3), of another dtype, of differing shapes, or holding NaN or
        infinity; or an encoder's error.
    ImportError
        For .mp4 and .webm if PyAV is not installed (``pip install "naah[video]"``).
    ValueError
        If ``fps`` is not a positive finite number.
    FileNotFoundError
        If the folder of ``path`` does not exist.

    Notes
    -----
    Pillow writes a frame identical to the one before it as a longer delay of that
    one, so a GIF can hold fewer frames than were given; its timing is the same.

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> ramp = np.linspace(0, 255, 6 * 8 * 3).reshape(6, 8, 3)
    >>> clip = [np.roll(ramp, i, axis=1) for i in range(3)]
    >>> gif = write_video(clip, os.path.join(tempfile.mkdtemp(), "clip.gif"), fps=10)
    >>> gif.name
    'clip.gif'
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WRITE_SUFFIXES:
        raise VideoError(
            f"cannot write {path}: videos are written as "
            f"{', '.join(WRITE_SUFFIXES)}; for numbered PNG frames give a folder "
            "instead (-o DIR/)"
        )
    fps = _check_fps(fps)
    images = frames.images if isinstance(frames, Frames) else frames
    _check_frames(images, path)
    if suffix == ".gif":
        write_atomically(path, lambda file: _write_gif(file, images, fps, path))
        return path
    av = _import_av()
    encoder = ENCODERS[suffix]
    try:
        write_atomically(
            path, lambda file: _encode(av, file, images, fps, encoder, path)
        )
    except av.error.FFmpegError as e:
        raise VideoError(f"{encoder.codec} could not write {path}: {_reason(e)}") from e
    return path


def _check_fps(fps: float) -> float:
    if isinstance(fps, bool) or not isinstance(
        fps, int | float | np.integer | np.floating
    ):
        raise TypeError(f"fps must be a number, got {fps!r}")
    if not 0 < fps < math.inf:
        raise ValueError(f"fps must be positive and finite, got {fps!r}")
    return float(fps)


def _check_frames(images: Sequence[np.ndarray], path: Path) -> None:
    """Refuse frames that cannot make one video, before any file is made."""
    if len(images) == 0:
        raise VideoError(f"no frames to write to {path}; give at least one")
    shape = None
    for index, image in enumerate(images):
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.size == 0:
            raise VideoError(
                f"frame {index} for {path} has shape {image.shape}; frames must be "
                "RGB images of shape (H, W, 3)"
            )
        if image.dtype != np.uint8 and image.dtype.kind != "f":
            raise VideoError(
                f"frame {index} for {path} has dtype {image.dtype}; give uint8, or "
                "floats in [0, 255] (image.astype(np.float32))"
            )
        if shape is None:
            shape = image.shape
        elif image.shape != shape:
            raise VideoError(
                f"frame {index} for {path} is {_size(image.shape)} pixels but frame "
                f"0 is {_size(shape)}: every frame of a video must be one size"
            )


def _pixels(image: np.ndarray, index: int, path: Path) -> np.ndarray:
    """Frame ``index`` as C-contiguous uint8."""
    try:
        return np.ascontiguousarray(to_uint8(image))
    except ImageError:  # the only thing to_uint8 refuses once dtypes are checked
        raise VideoError(
            f"frame {index} for {path} holds NaN or infinity; replace them "
            "(np.nan_to_num) first"
        ) from None


def _even(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` with its last row and column repeated where its sides are odd."""
    height, width = rgb.shape[:2]
    if height % 2 == 0 and width % 2 == 0:
        return rgb
    return np.pad(rgb, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")


def _encode(
    av: ModuleType,
    file: IO[bytes],
    images: Sequence[np.ndarray],
    fps: float,
    encoder: _Encoder,
    path: Path,
) -> None:
    reformatter = av.video.reformatter
    rows, columns = np.shape(images[0])[:2]
    height, width = rows + rows % 2, columns + columns % 2  # as _even pads
    # 29.97 is 2997/100 exactly; NTSC's 30000/1001 needs a denominator of 1001.
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(file, mode="w", format=encoder.container) as container:
        stream = container.add_stream(
            encoder.codec, rate=rate, options=dict(encoder.options)
        )
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        context = stream.codec_context
        context.colorspace = context.color_primaries = context.color_trc = BT709
        context.color_range = LIMITED_RANGE
        for index, image in enumerate(images):
            rgb = av.VideoFrame.from_ndarray(
                _even(_pixels(image, index, path)), format="rgb24"
            )
            frame = rgb.reformat(
                format="yuv420p",
                dst_colorspace=reformatter.Colorspace.ITU709,
                dst_color_range=reformatter.ColorRange.MPEG,
            )
            container.mux(stream.encode(frame))
        container.mux(stream.encode())  # flush the frames the encoder holds


def _write_gif(
    file: IO[bytes], images: Sequence[np.ndarray], fps: float, path: Path
) -> None:
    delay = max(GIF_SHORTEST_DELAY, round(GIF_TICKS_PER_SECOND / fps))
    pictures = [to_pil(_pixels(image, i, path)) for i, image in enumerate(images)]
    pictures[0].save(
        file,
        format="GIF",
        save_all=True,
        append_images=pictures[1:],
        # In milliseconds, a whole number of hundredths: Pillow truncates to those.
        duration=delay * (1000 // GIF_TICKS_PER_SECOND),
        loop=0,
    )


def write_frames(
    frames: Sequence[np.ndarray] | Frames,
    folder: str | os.PathLike[str],
    *,
    start: int = 0,
    pattern: str = FRAME_PATTERN,
) -> list[Path]:
    """Write frames as numbered image files in ``folder``, each whole or not at all.

    Parameters
    ----------
    frames : sequence of ndarray of shape (H, W, 3), or Frames
        RGB, uint8 or floats in [0, 255].
    folder : str or os.PathLike
        Created (with its parents) if it does not exist.
    start : int
        The 0-based index of the first frame: it is written to
        ``frame_path(folder, start, pattern)``.
    pattern : str
        The file name, with one ``str.format`` field for the frame's 1-based
        number; its suffix picks the format (as :func:`naah.io.images.save_image`).

    Returns
    -------
    list of Path
        The files written, in order.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> [p.name for p in write_frames([np.zeros((2, 2, 3))] * 2, folder, start=9)]
    ['frame_00010.png', 'frame_00011.png']
    """
    if not _is_int(start) or start < 0:
        raise ValueError(f"start must be an int, 0 or more; got {start!r}")
    images = frames.images if isinstance(frames, Frames) else frames
    folder = Path(folder)
    paths = [frame_path(folder, start + i, pattern) for i in range(len(images))]
    folder.mkdir(parents=True, exist_ok=True)
    for image, path in zip(images, paths, strict=True):
        save_image(path, image)  # writes atomically
    return paths


def frame_path(
    folder: str | os.PathLike[str], index: int, pattern: str = FRAME_PATTERN
) -> Path:
    """The file :func:`write_frames` writes frame ``index`` (0-based) to.

    Examples
    --------
    >>> frame_path("out", 0).as_posix()
    'out/frame_00001.png'
    """
    if not _is_int(index) or index < 0:
        raise ValueError(f"index must be an int, 0 or more; got {index!r}")
    try:
        first, second = pattern.format(1), pattern.format(2)
    except (IndexError, KeyError, ValueError) as e:
        raise ValueError(
            f"pattern {pattern!r} must hold one field for the frame number, e.g. "
            f"'frame_{{:05d}}.png': {e}"
        ) from None
    if first == second or Path(first).name != first:
        raise ValueError(
            f"pattern {pattern!r} must name a file in the folder and hold the frame "
            "number, e.g. 'frame_{:05d}.png'"
        )
    return Path(folder) / pattern.format(index + 1)


def is_video_path(path: str | os.PathLike[str]) -> bool:
    """Whether an output path names a video file rather than a folder of frames.

    A path ending in a separator (``out/``), an existing folder, or one with no
    video suffix names a folder. A suffix of :data:`VIDEO_SUFFIXES` names a video,
    even one :func:`write_video` cannot write (``.mov``): it then says which it can,
    rather than the frames going to a folder named ``out.mov``.

    Examples
    --------
    >>> is_video_path("out.mp4"), is_video_path("out.mp4/"), is_video_path("out")
    (True, False, False)
    """
    text = os.fspath(path)
    if text.endswith(("/", os.sep)) or Path(text).is_dir():
        return False
    return Path(text).suffix.lower() in VIDEO_SUFFIXES


# --- helpers -------------------------------------------------------------------


def _import_av() -> ModuleType:
    # import_module, not an import statement: PyAV is an extra, and this way type
    # checking does not need it installed (its objects are typed Any here).
    try:
        return importlib.import_module("av")
    except ImportError as e:
        raise ImportError(INSTALL_PYAV) from e


def _reason(error: BaseException) -> str:
    """FFmpeg's own words for an error, without the errno and path PyAV adds."""
    return str(getattr(error, "strerror", None) or error)


def _size(shape: tuple[int, ...]) -> str:
    return f"{shape[1]}x{shape[0]}"


def _is_int(n: object) -> bool:
    return isinstance(n, int | np.integer) and not isinstance(n, bool)
