"""``naah video``: a clip stylised with temporal consistency (Ruder et al. 2016).

The per-frame settings' options are ``naah stylize``'s (from :mod:`naah.settings`,
without ``--init`` and ``--scales``); the video's own come from
:class:`naah.video_transfer.VideoSettings`. The work is kept beside the output
(``OUT.naah-video``, or ``DIR/.naah-video``), so the same command run again
continues an interrupted run; other settings are refused unless ``--overwrite``.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Callable
from pathlib import Path

from naah.checks import SettingError
from naah.cli.common import (
    PROG,
    UsageError,
    interrupt_status,
    usage_error,
    warn,
)
from naah.cli.paths import same_file
from naah.cli.running import transfer_for
from naah.cli.weights import (
    add_weights_options,
    download_weights_now,
    find_weights_file,
)
from naah.io.files import write_atomically
from naah.io.video import WRITE_SUFFIXES, is_video_path
from naah.progress import printer
from naah.runs import RunInterrupted
from naah.settings import Settings, add_group_options, add_options, given, given_of
from naah.video_transfer import VideoResult, VideoSettings, WorkMismatch
from naah.video_transfer.clip import work_folder_for

__all__ = ["add_video_parser", "frame_range", "video"]

#: Settings of naah stylize that a video does not take per frame: its own --init
#: replaces the image's, and coarse to fine is not available per frame yet.
NOT_PER_FRAME = ("init", "scales")


def frame_range(text: str) -> tuple[int, int | None]:
    """``A:B`` (frames A to B-1, from 0), ``A:`` or ``:B``, as (start, stop)."""
    start, colon, stop = text.partition(":")
    try:
        if not colon:
            raise ValueError
        first = int(start) if start.strip() else 0
        last = int(stop) if stop.strip() else None
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be A:B (frames A to B-1, counted from 0; A: to the end), got {text!r}"
        ) from None
    if first < 0 or (last is not None and last <= first):
        raise argparse.ArgumentTypeError(f"must be A:B with 0 <= A < B, got {text!r}")
    return first, last


def _fps(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 1000:
        raise argparse.ArgumentTypeError(
            f"must be a frame rate in (0, 1000], got {text!r}"
        )
    return value


def add_video_parser(
    commands: argparse._SubParsersAction, common: argparse.ArgumentParser
) -> argparse.ArgumentParser:
    """Add ``naah video`` to the ``naah`` parser's subcommands."""
    p = commands.add_parser(
        "video",
        parents=[common],
        help="stylise a video with temporal consistency (Ruder et al. 2016)",
        description="Paint every frame of INPUT in the style of STYLE, each tied to "
        "the frames before it by the optical flow (Ruder, Dosovitskiy & Brox 2016). "
        "Run the same command again to continue an interrupted run.",
    )
    p.add_argument(
        "input",
        metavar="INPUT",
        help="video file (.mp4, .webm, .gif …; needs naah[video]) or folder of "
        "frames, read in name order",
    )
    p.add_argument("styles", metavar="STYLE", nargs="+", help="style image(s)")
    files = p.add_argument_group("inputs and outputs")
    files.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        required=True,
        help=f"the stylised video ({', '.join(WRITE_SUFFIXES)}) or a folder DIR/ "
        "of numbered PNG frames",
    )
    files.add_argument(
        "--frames",
        type=frame_range,
        metavar="A:B",
        help="only frames A to B-1, counted from 0 (A: to the end)",
    )
    files.add_argument(
        "--fps",
        type=_fps,
        metavar="F",
        help="frame rate of OUT (default: INPUT's, else 25)",
    )
    files.add_argument(
        "--report",
        action="store_true",
        help="write each frame's losses and warping error to OUT_stem.report.csv "
        "(and a plot, OUT_stem.report.png, with matplotlib)",
    )
    files.add_argument(
        "--overwrite",
        action="store_true",
        help="discard the work of an earlier run with other settings and start "
        "again (default: refuse, saying what differs)",
    )
    add_weights_options(files)
    p.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bars or messages"
    )
    add_group_options(p, VideoSettings, "video settings")
    add_options(
        p, exclude=NOT_PER_FRAME, title=lambda group: f"{group} settings, per frame"
    )
    p.set_defaults(handler=video)
    return p


def video(args: argparse.Namespace) -> int:
    """Check the command line, then stylise the clip and write it."""
    try:
        settings = Settings.of(given(args))
        VideoSettings(**given_of(args, VideoSettings))  # checked before any work
    except (SettingError, ValueError) as error:
        raise usage_error(error) from None
    source, output = Path(args.input).expanduser(), Path(args.output).expanduser()
    _check_paths(source, output, [Path(s) for s in args.styles])
    say = printer(args.quiet)
    weights = find_weights_file(args.weights, download=not args.no_download)
    weights = weights or download_weights_now(args.quiet)
    transfer = transfer_for(settings, weights)
    style = list(args.styles) if len(args.styles) > 1 else args.styles[0]
    work, _ = work_folder_for(output, None)
    say(f"{PROG}: weights {weights}; work kept in {work}")
    try:
        result = transfer.run_video(
            source,
            style,
            frames=args.frames,
            work=work,
            overwrite=args.overwrite,
            progress=not args.quiet,
            **{k: v for k, v in given(args).items() if k not in _TRANSFER_ONLY},
            **given_of(args, VideoSettings),
        )
    except WorkMismatch as error:
        raise UsageError(str(error)) from None
    except RunInterrupted as interrupt:
        print(  # also with -q: it says how to go on
            f"{PROG}: interrupted; the finished frames and the current frame's "
            f"checkpoint are in {work}: run the same command to continue",
            file=sys.stderr,
        )
        return interrupt_status(interrupt)
    written = result.save(output, fps=args.fps)
    overall = (
        ""
        if result.warping is None
        else (f", warping error {result.warping.overall:.3g}")
    )
    say(f"{PROG}: wrote {written} ({len(result.frames)} frames{overall})")
    if args.report:
        _report(result, output, say)
    return 0


#: The settings StyleTransfer(...) takes, not run_video(...): transfer_for gives them.
_TRANSFER_ONLY = frozenset(
    name for name in Settings().values() if name not in Settings().values(scope="run")
)


def _check_paths(source: Path, output: Path, styles: list[Path]) -> None:
    if not source.exists():
        raise UsageError(f"INPUT {str(source)!r} does not exist")
    if is_video_path(output) and output.suffix.lower() not in WRITE_SUFFIXES:
        raise UsageError(
            f"output {str(output)!r}: naah writes no {output.suffix} videos; use "
            f"one of {', '.join(WRITE_SUFFIXES)}, or DIR/ for a folder of frames"
        )
    if is_video_path(output):
        if not output.parent.is_dir():
            raise UsageError(
                f"output {str(output)!r}: folder {str(output.parent)!r} does not "
                "exist; create it first"
            )
    elif output.suffix and not output.is_dir() and not str(output).endswith("/"):
        raise UsageError(
            f"output {str(output)!r}: unsupported extension {output.suffix!r}; use "
            f"one of {', '.join(WRITE_SUFFIXES)}, or DIR/ for a folder of frames"
        )
    inputs = [("INPUT", source), *(("STYLE", s) for s in styles)]
    for what, path in inputs:
        if same_file(output, path):
            raise UsageError(
                f"output {str(output)!r} is the {what} {str(path)!r}; naah never "
                "writes over its inputs: choose another name"
            )


def _report(result: VideoResult, output: Path, say: Callable[[str], None]) -> None:
    """Each frame's losses and warping error as CSV, and a plot of them."""
    stem = output.with_suffix("") if is_video_path(output) else output / "video"
    table = stem.with_name(stem.name + ".report.csv")
    buffer = io.StringIO()
    rows = csv.writer(buffer)
    rows.writerow(
        ["frame", "content", "style", "temporal", "total", "iterations", "seconds",
         "warping_error"]
    )  # fmt: skip
    for r in result.reports:
        rows.writerow(
            [r.frame + 1, r.content, r.style, r.temporal, r.total, r.iterations,
             f"{r.seconds:.3f}", "" if r.warping_error is None else r.warping_error]
        )  # fmt: skip
    text = buffer.getvalue().encode()
    write_atomically(table, lambda f: f.write(text))
    say(f"{PROG}: wrote {table}")
    try:
        from naah.plotting import plot_video_report

        figure = plot_video_report(result.reports, result.warping)
    except ImportError:
        warn("no plot of the report: it needs matplotlib (pip install naah[plot])")
        return
    picture = table.with_suffix(".png")
    figure.savefig(picture, dpi=100)
    say(f"{PROG}: wrote {picture}")
