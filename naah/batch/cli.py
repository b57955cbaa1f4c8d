"""The ``naah batch`` and ``naah sheet`` commands: their parsers and handlers.

:mod:`naah.cli` adds them to its parser (:func:`add_batch_parser`,
:func:`add_sheet_parser`); this module imports nothing of :mod:`naah.cli`, which
sits above it. Every ``naah stylize`` option that shapes a result is a batch option
too (the settings of every job), built from :mod:`naah.batch.settings`; ``--grid
KEY=V1,V2`` varies one. A bad option, grid or job file stops the command before
anything runs, with a one-line message (the parser's error: exit status 2).

Exit status of ``naah batch``: 0 when every job is done or skipped, 1 when a job
failed (the others ran; ``--retry-failed`` reruns it) or the batch could not run
(no weights …), 2 a bad command line, 130 interrupted by Ctrl-C, 143 or 129 by
SIGTERM or SIGHUP (the next run continues). Folders and globs of inputs never give
the batch's own outputs, and a contact sheet never replaces an input or output.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from naah.batch.engines import (
    BatchInterrupted,
    BatchReport,
    Engine,
    LocalEngine,
    run_batch,
)
from naah.batch.jobs import Job, Plan, load_job_file
from naah.batch.manifest import FAILED, MANIFEST_NAME
from naah.batch.settings import SettingError, dask_address, parse_axis
from naah.batch.sheet import CELL, batch_files, check_sheet_path, contact_sheet
from naah.batch.storage import Folder, StorageError, is_url
from naah.checks import as_boolean, as_int, positive_int
from naah.io.images import SAVE_FORMATS
from naah.io.locate import WeightsNotFoundError, find_weights
from naah.io.sources import NO_DOWNLOAD_ENV, downloads_allowed, fetch_weights
from naah.progress import printer
from naah.regions import region_from_text
from naah.runtime import Runtime
from naah.settings import Settings, add_options, given, option_type

PROG = "naah"
#: Settings that pace or place a batch's jobs rather than shape their results:
#: options of the engine, not of each job.
ENGINE_SETTINGS = ("checkpoint_every", "threads")
# Failed jobs listed at the end of a run (the rest are in summary.csv).
MAX_LISTED = 5


def add_batch_parser(
    commands: argparse._SubParsersAction, common: argparse.ArgumentParser
) -> argparse.ArgumentParser:
    """Add ``naah batch`` to the subcommands ``commands``, with ``common``'s
    options (``--debug``)."""
    p = commands.add_parser(
        "batch",
        parents=[common],
        help="style transfers of many contents × styles × settings, resumable",
        description="One style transfer per content × style × grid point, into "
        "DIR with deterministic names, recorded in DIR/manifest.jsonl and "
        "DIR/summary.csv. Rerun the same command to continue: finished jobs are "
        "skipped, interrupted ones continue from their checkpoints.",
    )
    p.add_argument(
        "--content",
        nargs="+",
        action="extend",
        default=[],
        metavar="PATH",
        help="content images: files, folders or globs",
    )
    p.add_argument(
        "--style",
        nargs="+",
        action="extend",
        default=[],
        metavar="PATH",
        help="style images: files, folders or globs",
    )
    p.add_argument(
        "--out-dir",
        metavar="DIR",
        help="where outputs, checkpoints, manifest and summary go: a "
        "folder, or an fsspec URL such as s3://bucket/run",
    )
    p.add_argument(
        "--grid",
        action="append",
        type=_grid_axis,
        default=[],
        metavar="KEY=V1,V2",
        help="vary a stylize option (one job per "
        "combination); join a list value with +: style-layers=conv1_1+conv2_1",
    )
    p.add_argument(
        "--jobs",
        metavar="FILE.toml",
        help="a TOML job file (inputs, settings, [grid], [[points]]); the "
        "command line's options win",
    )
    p.add_argument(
        "--retry-failed", action="store_true", help="rerun the jobs that failed before"
    )
    p.add_argument(
        "--dask",
        type=dask_address,
        metavar="local:N|tcp://HOST:PORT",
        help="run on Dask: N local worker processes, or a scheduler (needs naah[dask])",
    )
    p.add_argument("--sheet", metavar="PATH", help="also write a contact sheet")
    p.add_argument(
        "--sheet-rows",
        default="content",
        metavar="KEY",
        help="the sheet's rows: content, style or a grid key (default %(default)s)",
    )
    p.add_argument(
        "--sheet-columns",
        default="style",
        metavar="KEY",
        help="the sheet's columns (default %(default)s)",
    )
    p.add_argument(
        "--region",
        action="append",
        type=option_type(region_from_text, name="region"),
        default=[],
        metavar="MASK=STYLE[:STYLE_MASK]",
        help="spatial control instead of --style: every job paints the part of its "
        "content where greyscale MASK is white in STYLE's style; repeat for each "
        "region",
    )
    p.add_argument(
        "--weights",
        metavar="PATH",
        help="VGG-19 weights file (default: $NAAH_WEIGHTS, then the cache)",
    )
    p.add_argument(
        "--download",
        type=option_type(as_boolean),
        metavar="true|false",
        help="if no weights are found, download them into the cache first "
        f"(default true, unless ${NO_DOWNLOAD_ENV} is set)",
    )
    p.add_argument(
        "--no-download",
        action="store_false",
        dest="download",
        help="the same as --download false",
    )
    p.add_argument(
        "--keep-checkpoints",
        action="store_true",
        help="keep finished jobs' checkpoints (removed by default)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="list the jobs and their outputs; run nothing",
    )
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress bar or messages, only errors",
    )
    add_options(
        p,
        title=lambda group: (
            f"{group} settings of every job (as naah stylize's; --grid varies them)"
        ),
    )
    p.set_defaults(handler=_batch, batch_parser=p)
    return p


def add_sheet_parser(
    commands: argparse._SubParsersAction, common: argparse.ArgumentParser
) -> argparse.ArgumentParser:
    """Add ``naah sheet MANIFEST -o PATH``."""
    p = commands.add_parser(
        "sheet",
        parents=[common],
        help="a contact sheet of a batch's results",
        description="Lay out a batch's results as a labelled grid of images.",
    )
    p.add_argument(
        "manifest", metavar="MANIFEST", help="a batch folder or its manifest.jsonl"
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="PATH",
        help=f"the sheet image ({', '.join(SAVE_FORMATS)})",
    )
    p.add_argument(
        "--rows",
        default="content",
        metavar="KEY",
        help="content, style or a grid key (default %(default)s)",
    )
    p.add_argument(
        "--columns",
        default="style",
        metavar="KEY",
        help="content, style or a grid key (default %(default)s)",
    )
    p.add_argument(
        "--cell",
        type=option_type(as_int, positive_int),
        default=CELL,
        metavar="N",
        help="side of each image in pixels (default %(default)s)",
    )
    p.set_defaults(handler=_sheet, batch_parser=p)
    return p


# -- handlers ------------------------------------------------------------------------
def _batch(args: argparse.Namespace) -> int:
    parser: argparse.ArgumentParser = args.batch_parser
    say = printer(args.quiet)
    try:
        plan = load_job_file(args.jobs) if args.jobs else Plan()
        grid = dict(args.grid)
        if len(grid) < len(args.grid):
            twice = sorted(
                {k for k, _ in args.grid if [g for g, _ in args.grid].count(k) > 1}
            )
            raise SettingError(
                f"--grid {', '.join(twice)} given twice; give each key once"
            )
        plan = plan.updated(
            contents=args.content,
            styles=args.style,
            regions=args.region,
            base=_job_settings(args),
            grid=grid,
            out_dir=args.out_dir,
            weights=args.weights,
        )
        if plan.out_dir is None:
            raise SettingError("give the output folder with --out-dir DIR")
        out_dir = Folder(plan.out_dir)
        out_dir.check()  # a file in the way, or no fsspec for the URL: say so now
        jobs = plan.jobs()
        sheet = None if args.sheet is None else _image_path(args.sheet, plan.out_dir)
        if sheet is not None:
            _sheet_axes(args.sheet_rows, args.sheet_columns, jobs)
            _not_overwriting(sheet, batch_files(out_dir, jobs), "--sheet")
            _no_input_of(plan, sheet)
    except (SettingError, StorageError) as error:
        parser.error(str(error))
    if args.dry_run:
        for job in jobs:
            print(out_dir.location_of(job.output_name))
        return 0
    engine = _engine(args, plan, parser, _weights(plan.weights, args.download, say))
    try:
        say(f"{PROG}: batch of {len(jobs)} jobs into {out_dir.location}")
        report = run_batch(
            jobs,
            out_dir,
            engine=engine,
            retry_failed=args.retry_failed,
            progress=False if args.quiet else None,
            sheet=sheet,
            sheet_options={"rows": args.sheet_rows, "columns": args.sheet_columns},
        )
    except BatchInterrupted as interrupt:
        print(
            f"{PROG}: batch interrupted ({interrupt.report.summary()}); run the same "
            "command again to continue: jobs in progress go on from their checkpoints",
            file=sys.stderr,
        )
        raise
    finally:
        close = getattr(engine, "close", None)
        if close is not None:
            close()
    return _finish(report, say)


def _finish(report: BatchReport, say: Callable[[str], None]) -> int:
    manifest = Folder(report.out_dir).location_of(MANIFEST_NAME)
    say(f"{PROG}: {report.summary()}; manifest {manifest}")
    if report.sheet is not None:
        say(f"{PROG}: wrote contact sheet {report.sheet}")
    failed = [r for r in report.rows if r["status"] == FAILED and "reason" not in r]
    for row in failed[:MAX_LISTED]:
        print(f"{PROG}: job {row['name']} failed: {row.get('error')}", file=sys.stderr)
    if len(failed) > MAX_LISTED:
        print(
            f"{PROG}: … and {len(failed) - MAX_LISTED} more (summary.csv)",
            file=sys.stderr,
        )
    if failed:
        print(
            f"{PROG}: error: {len(failed)} jobs failed; --retry-failed reruns them",
            file=sys.stderr,
        )
        return 1
    return 0


def _engine(
    args: argparse.Namespace,
    plan: Plan,
    parser: argparse.ArgumentParser,
    weights: str | None,
) -> Engine:
    settings = Settings.of(
        {k: v for k, v in given(args).items() if k in ENGINE_SETTINGS}
    )
    threads = settings.compute.threads
    options: dict[str, Any] = {
        "checkpoint_every": settings.schedule.checkpoint_every,
        "keep_checkpoints": args.keep_checkpoints,
    }
    if args.dask is None:
        runtime = Runtime(threads=threads, keep_freed_memory=True)
        return LocalEngine(weights, runtime=runtime, **options)
    if threads is not None:
        parser.error(
            "--threads is for the local engine; Dask workers use their own threads"
        )
    try:
        from naah.batch.cluster import DaskEngine
    except ImportError:
        raise ImportError(
            "--dask needs distributed: pip install 'naah[dask]'"
        ) from None
    try:
        engine = DaskEngine.start(args.dask, weights=weights, **options)
    except ValueError as error:
        parser.error(str(error))
    if not args.quiet:
        hint = (
            ""
            if importlib.util.find_spec("bokeh")
            else " (pip install bokeh to see it)"
        )
        print(f"{PROG}: Dask dashboard {engine.dashboard_link}{hint}", file=sys.stderr)
    return engine


def _sheet(args: argparse.Namespace) -> int:
    parser: argparse.ArgumentParser = args.batch_parser
    try:
        path = _image_path(args.output)
    except SettingError as error:
        parser.error(str(error))
    source = args.manifest
    try:
        there = Folder(source).exists("") if is_url(source) else Path(source).exists()
    except StorageError as error:
        parser.error(str(error))
    if not there:
        parser.error(f"no batch folder or manifest at {args.manifest!r}")
    try:
        _not_overwriting(path, batch_files(source), "-o")
    except (SettingError, StorageError) as error:
        parser.error(str(error))
    sheet = contact_sheet(
        source, path, rows=args.rows, columns=args.columns, cell=args.cell
    )
    print(
        f"{PROG}: wrote {sheet.path} ({len(sheet.rows)} rows × {len(sheet.columns)} columns)",
        file=sys.stderr,
    )
    return 0


# -- helpers -------------------------------------------------------------------------
def _job_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings of every job that the command line gave (those of the engine
    apart)."""
    return {k: v for k, v in given(args).items() if k not in ENGINE_SETTINGS}


def _weights(
    given_path: str | None, download: bool | None, say: Callable[[str], None]
) -> str | None:
    """The weights file every job uses: given, found, or downloaded into the cache
    first (so that Dask workers all get the one path); None when there are none
    and none may be downloaded (each job then says so)."""
    if given_path is not None:
        return given_path
    try:
        return str(find_weights())
    except WeightsNotFoundError:
        if not (downloads_allowed() if download is None else download):
            return None
    say(f"{PROG}: no VGG-19 weights found; downloading them into the cache first")
    return str(fetch_weights(progress=False))


def _sheet_axes(rows: str, columns: str, jobs: list[Job]) -> None:
    """Refuse sheet axes that the batch does not have, before it runs."""
    axes = ["content", "style", *dict.fromkeys(k for j in jobs for k in j.varied)]
    for option, axis in (("--sheet-rows", rows), ("--sheet-columns", columns)):
        if axis not in axes:
            raise SettingError(
                f"{option} {axis!r}: not an axis of this batch; give one of "
                f"{', '.join(axes)}"
            )
    if rows == columns:
        raise SettingError(f"--sheet-rows and --sheet-columns are both {rows!r}")


def _image_path(text: str, out_dir: str | None = None) -> Path:
    """A contact sheet's path, once it is known that one can go there (into an
    existing folder, or into the batch's ``out_dir``, made before it is written)."""
    path = Path(text).expanduser()
    if path.suffix.lower() not in SAVE_FORMATS:
        raise SettingError(
            f"sheet {text!r}: unsupported extension {path.suffix or '(none)'!r}; use "
            f"one of {', '.join(SAVE_FORMATS)}"
        )
    made = out_dir is not None and path.parent.absolute() == Path(out_dir).absolute()
    if not path.parent.is_dir() and not made:
        raise SettingError(
            f"sheet {text!r}: folder {str(path.parent)!r} does not exist"
        )
    return path


def _not_overwriting(sheet: Path, files: list[tuple[str, Any]], option: str) -> None:
    """Refuse a sheet that is one of the batch's ``files`` (its inputs, outputs)."""
    try:
        check_sheet_path(sheet, files, option)
    except ValueError as error:
        raise SettingError(str(error)) from None


def _no_input_of(plan: Plan, sheet: Path) -> None:
    """Refuse a sheet that a rerun of the batch would take as an input."""
    taken = plan.takes(sheet)
    if taken is not None:
        raise SettingError(
            f"--sheet {str(sheet)!r} is where {taken} takes its images from: the "
            "batch run again would take the sheet as one; write it elsewhere"
        )


def _grid_axis(text: str) -> tuple[str, list[Any]]:
    try:
        return parse_axis(text)
    except SettingError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix("--grid ")) from None
