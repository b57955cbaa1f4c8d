"""Batch jobs: content × style × grid point, with deterministic names.

A :class:`Plan` holds the inputs (files, folders or globs), the settings shared by
every job, the grid's axes and any explicit points; :meth:`Plan.jobs` expands it
into one :class:`Job` per content × style × grid point × point. TOML job files
(:func:`load_job_file`) give the same with the same keys.

Folders and globs give every image in them but a batch's own outputs: the files of
the output folder named as jobs' outputs (:func:`is_job_output`), so that the
output folder may be the folder of contents and a rerun plans the same jobs
(:meth:`Plan.takes` says whether a file would be an input).

A job's name is ``CONTENT__STYLE__KEY=VALUE_KEY=VALUE__HASH``: the inputs' stems,
the settings the grid varies, and the first :data:`HASH_LENGTH` hex digits of the
SHA-256 of the job's identity: the inputs' file checksums and every setting in
canonical form (:attr:`naah.StyleTransfer.settings`), those equal to their default
left out, so that a new option with a default renames nothing. The same job gets
the same name whichever engine runs it, and whatever the inputs' paths are.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import itertools
import json
import math
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from naah.batch.settings import SettingError, check_value_named, resolve
from naah.batch.storage import is_url
from naah.io.files import check_regular_file, same_file, sha256_of_file
from naah.regions import Region, check_region_count, region_from_text
from naah.request import StyleInputs
from naah.settings import INITS, Settings, jsonable

#: Files a folder given as an input contributes (Pillow reads them all).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")
#: Hex digits of the identity's SHA-256 in a job's name: 40 bits, so that 10^4 jobs
#: in one folder collide with odds of 1 in 10^4.
HASH_LENGTH = 10
# Longest stem of an input, and of the settings part, in a name (file names may be
# 255 bytes; these keep a name under 200).
MAX_STEM, MAX_VARIED = 48, 96
OUTPUT_SUFFIX, CHECKPOINT_SUFFIX = ".png", ".ckpt"
#: A job's output's name (:func:`make_job`): stems, settings, the hash, ``.png``.
OUTPUT_NAME = re.compile(
    rf"[^/]+__[^/]+__[0-9a-f]{{{HASH_LENGTH}}}{re.escape(OUTPUT_SUFFIX)}"
)
#: The largest TOML job file read. One lists paths and settings in a few kB, and
#: tomllib holds several times a file's size while parsing, so a file this large
#: is not a job file.
MAX_JOB_FILE_BYTES = 16 * 2**20
#: Most jobs in one batch, counted before any is made. Each is a style transfer of
#: minutes (10^4 at one minute is a week of one machine), and making the list
#: costs 0.1–1.5 ms and 3 kB a job: 10^4 jobs took 15 s and 31 MB on a busy
#: 2-core machine; a 10^6-job grid took 87 s and 2.7 GB before its dry run
#: answered (issue 21).
MAX_JOBS = 10_000
#: Deepest nesting of arrays and tables a job file needs: the file's table, [grid],
#: an axis, its values (lists of layers), a value's table of layer weights.
MAX_JOB_FILE_DEPTH = 5
#: Deepest nesting read (room to spare over MAX_JOB_FILE_DEPTH; a deeper file is
#: refused before any check walks it recursively).
MAX_TOML_DEPTH = 16


@dataclass(frozen=True)
class Job:
    """One style transfer of a batch.

    Attributes
    ----------
    name : str
        Deterministic (see the module's docstring); the output is ``name.png``.
    content, style : str
        Absolute paths of the inputs.
    content_sha256, style_sha256 : str or None
        SHA-256 of the input files (None for a file that cannot be read: the job
        then fails when it runs, and is named by its path).
    settings : dict
        The :class:`naah.StyleTransfer` keywords, canonical
        (:attr:`naah.StyleTransfer.settings`).
    run : dict
        The settings of :meth:`naah.StyleTransfer.run` (``iterations``, ``size``,
        ``style_scale``, ``init`` …).
    varied : dict
        The settings of this job's grid point (those its name shows).
    styles : tuple of str
        Every style image of a blend (``style`` is the first); empty otherwise.
    regions : tuple of Region
        The regions of a job with spatial control (``style`` is the first one's).
    """

    name: str
    content: str
    style: str
    content_sha256: str | None
    style_sha256: str | None
    settings: dict[str, Any] = field(hash=False)
    run: dict[str, Any] = field(hash=False)
    varied: dict[str, Any] = field(hash=False)
    styles: tuple[str, ...] = field(default=(), hash=False)
    regions: tuple[Region, ...] = field(default=(), hash=False)

    @property
    def style_input(self) -> str | list[str] | None:
        """The style as :meth:`naah.StyleTransfer.run` takes it (None: regions)."""
        if self.regions:
            return None
        return list(self.styles) if len(self.styles) > 1 else self.style

    @property
    def output_name(self) -> str:
        return self.name + OUTPUT_SUFFIX

    @property
    def checkpoint_name(self) -> str:
        return self.name + CHECKPOINT_SUFFIX

    def input_files(self) -> list[tuple[str, str]]:
        """The files the job reads, each as (what it is, its path)."""
        files = [("content image", self.content)]
        for region in self.regions:
            for what, path in (
                ("region mask", region.guide),
                ("style image", region.style),
                ("style mask", region.style_guide),
            ):
                if isinstance(path, str | os.PathLike):
                    files.append((what, os.fspath(path)))
        if not self.regions:
            files += [("style image", s) for s in self.styles or (self.style,)]
        return files

    @property
    def total_iterations(self) -> int:
        """Iterations of the whole run (all its scales)."""
        return total_iterations(self.run)

    @property
    def config(self) -> Settings:
        """The job's settings, typed."""
        return Settings.of(self.all_settings)

    @property
    def all_settings(self) -> dict[str, Any]:
        """The transfer's settings and the run's, in one dict."""
        return {**self.settings, **self.run}


@dataclass
class Plan:
    """What a batch runs: inputs, shared settings, grid axes and points.

    Parameters
    ----------
    contents, styles : list of str
        Files, folders (their images, sorted by name) or glob patterns. Each
        style is a job of its own, unless the settings give ``style_blend``: then
        each job blends them all.
    regions : list of Region
        Spatial control instead of styles: every job has these regions.
    base : dict
        Settings of every job (checked values, by key).
    grid : dict of key to list
        Axes: one job per combination.
    points : list of dict
        Explicit settings, each combined with each grid combination (default one
        empty point).
    """

    contents: list[str] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)
    regions: list[Region] = field(default_factory=list)
    base: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)
    points: list[dict[str, Any]] = field(default_factory=list)
    out_dir: str | None = None
    weights: str | None = None

    def updated(
        self,
        *,
        contents: Sequence[str] = (),
        styles: Sequence[str] = (),
        regions: Sequence[Region] = (),
        base: Mapping[str, Any] | None = None,
        grid: Mapping[str, list[Any]] | None = None,
        out_dir: str | None = None,
        weights: str | None = None,
    ) -> Plan:
        """This plan with the command line's inputs (which replace the file's),
        settings and axes (which win over the file's)."""
        return Plan(
            list(contents) or self.contents,
            list(styles) or self.styles,
            list(regions) or self.regions,
            {**self.base, **(base or {})},
            {**self.grid, **(grid or {})},
            self.points,
            out_dir or self.out_dir,
            weights or self.weights,
        )

    def jobs(self) -> list[Job]:
        """One job per content × style × grid combination × point, in that order
        (jobs that are the same work under two paths appear once). Folders and
        globs give no job's output of ``out_dir``."""
        if not self.contents:
            raise SettingError("no content images: give --content PATH")
        if self.styles and self.regions:
            raise SettingError("give --style images or --region options, not both")
        if not self.styles and not self.regions:
            raise SettingError("no style images: give --style PATH (or --region)")
        try:
            check_region_count(len(self.regions))
        except ValueError as error:
            raise SettingError(
                f"--region given {len(self.regions)} times: {error}"
            ) from None
        written = self._written
        contents = self._contents()
        self._check_count(contents)
        points = [
            {**grid_point, **point}
            for grid_point in combinations(self.grid)
            for point in (self.points or [{}])
        ]
        style_sets = self._style_sets(points, written)
        resolved = [
            (point, *_resolve(self.base, point, style_sets[0])) for point in points
        ]
        jobs: dict[str, Job] = {}
        for content, styles in itertools.product(contents, style_sets):
            for point, settings, run in resolved:
                job = make_job(content, styles, settings, run, point)
                jobs.setdefault(job.name, job)
        return list(jobs.values())

    def takes(self, path: str | os.PathLike[str]) -> str | None:
        """The input (``--content DIR`` …) that would take an image written at
        ``path`` as one of its images, so that a batch run again would run it; None
        if none would."""
        file = Path(path).expanduser()
        if file.suffix.lower() not in IMAGE_SUFFIXES or is_job_output(
            file, self.out_dir
        ):
            return None
        for what, patterns in (("content", self.contents), ("style", self.styles)):
            for pattern in patterns:
                text = os.path.expanduser(os.fspath(pattern))
                if Path(text).is_dir():
                    taken = same_file(file.parent, text)
                elif glob.has_magic(text):
                    taken = fnmatch.fnmatch(
                        os.path.abspath(file), os.path.abspath(text)
                    )
                else:
                    taken = same_file(file, text)
                if taken:
                    return f"--{what} {os.fspath(pattern)}"
        return None

    def job_count(self) -> int:
        """How many jobs :meth:`jobs` makes at most (before two that are the same
        work are merged), counted without making any."""
        return math.prod(n for n, _ in self._factors(self._contents()))

    def _written(self, path: Path) -> bool:
        return is_job_output(path, self.out_dir)

    def _contents(self) -> list[str]:
        return find_images(self.contents, "content", skip=self._written)

    def _factors(self, contents: Sequence[str]) -> list[tuple[int, str]]:
        """The numbers whose product is the job count, each with what it counts."""
        factors = [(len(contents), "contents")]
        if not self.regions:
            blended = any(
                p.get("style_blend") is not None for p in [self.base, *self.points]
            )
            styles = (
                1
                if blended
                else len(find_images(self.styles, "style", skip=self._written))
            )
            factors.append((styles, "blends" if blended else "styles"))
        factors += [(len(values), key) for key, values in self.grid.items()]
        return [*factors, (max(1, len(self.points)), "points")]

    def _check_count(self, contents: Sequence[str]) -> None:
        """Refuse a plan of more than MAX_JOBS jobs, before making any."""
        factors = self._factors(contents)
        count = math.prod(n for n, _ in factors)
        if count > MAX_JOBS:
            shown = " × ".join(f"{n} {what}" for n, what in factors if n > 1)
            raise SettingError(
                f"the batch has {count:,} jobs ({shown}), more than {MAX_JOBS:,}: "
                "give fewer --grid values or inputs, or split it into several batches"
            )

    def _style_sets(
        self, points: list[dict[str, Any]], skip: Callable[[Path], bool]
    ) -> list[tuple[str, ...] | tuple[Region, ...]]:
        """The styles of each job: its regions, all the styles (a blend), or one."""
        if self.regions:
            for region in self.regions:
                _check_region_files(region)
            return [tuple(self.regions)]
        styles = find_images(self.styles, "style", skip=skip)
        blended = any(p.get("style_blend") is not None for p in [self.base, *points])
        return [tuple(styles)] if blended else [(s,) for s in styles]


def _resolve(
    base: Mapping[str, Any],
    point: Mapping[str, Any],
    styles: tuple[str, ...] | tuple[Region, ...],
) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        settings, run = resolve({**base, **point})
        regions = [s for s in styles if isinstance(s, Region)]
        images = Settings.of(run).images
        paths = None if regions else [str(s) for s in styles]
        StyleInputs.of(paths, regions or None, images)
        return settings, run
    except ValueError as error:
        shown = ", ".join(f"{k}={_short(v)}" for k, v in point.items())
        raise SettingError(
            f"grid point {shown or '(base settings)'}: {error}"
        ) from None


def total_iterations(run: Mapping[str, Any]) -> int:
    """The iterations of a run's settings, over all its scales (``scales``)."""
    return int(run["iterations"]) * len(run.get("scales") or (1,))


def combinations(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the axes' values, the first axis slowest.

    Examples
    --------
    >>> combinations({"beta": [1.0, 2.0], "pooling": ["max"]})
    [{'beta': 1.0, 'pooling': 'max'}, {'beta': 2.0, 'pooling': 'max'}]
    """
    keys = list(grid)
    return [
        dict(zip(keys, values, strict=True))
        for values in itertools.product(*(grid[k] for k in keys))
    ]


def find_images(
    patterns: Iterable[str | os.PathLike[str]],
    what: str,
    *,
    skip: Callable[[Path], bool] | None = None,
) -> list[str]:
    """The image files ``patterns`` name (files, folders, globs), absolute, in the
    order given (a folder's and a glob's sorted by name), each once; a folder or
    glob gives none for which ``skip`` is true (a file named is taken)."""
    found: dict[str, None] = {}
    for pattern in patterns:
        text = os.fspath(pattern)
        path = Path(text).expanduser()
        if path.is_dir():
            files = sorted(
                p for p in path.iterdir() if _is_image(p) and not (skip and skip(p))
            )
            if not files:
                raise SettingError(
                    f"--{what} {text!r}: the folder has no images "
                    f"({', '.join(IMAGE_SUFFIXES)})"
                )
        elif path.exists():
            files = [_regular(path, f"--{what}")]
        elif glob.has_magic(text):
            files = [Path(p) for p in sorted(glob.glob(os.path.expanduser(text)))]
            files = [p for p in files if p.is_file() and not (skip and skip(p))]
            if not files:
                raise SettingError(f"--{what} {text!r}: the pattern matches no file")
        else:
            raise SettingError(f"--{what} {text!r}: no such file or folder")
        found.update((os.path.abspath(p), None) for p in files)
    return list(found)


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def is_job_output(path: str | os.PathLike[str], out_dir: str | None) -> bool:
    """Whether ``path`` is a job's output in the batch folder ``out_dir``: in it,
    and named as :func:`make_job` names outputs (of this batch or an earlier one
    into that folder)."""
    if out_dir is None or is_url(out_dir):
        return False
    file = Path(path)
    return OUTPUT_NAME.fullmatch(file.name) is not None and same_file(
        file.parent, Path(out_dir).expanduser()
    )


def _regular(path: Path, what: str) -> Path:
    """``path``, once it is a regular file: a FIFO would block the checksum, a
    device never end it."""
    try:
        return check_regular_file(path, what)
    except (OSError, ValueError) as error:
        raise SettingError(str(error)) from None


def _check_region_files(region: Region) -> None:
    """Refuse a region's files that exist but are not regular files (missing ones
    fail their job, saying so)."""
    named = {
        "mask": region.guide,
        "style image": region.style,
        "style mask": region.style_guide,
    }
    for what, path in named.items():
        if isinstance(path, str | os.PathLike) and os.path.lexists(path):
            _regular(Path(path), f"--region {region.guide}'s {what}")


def make_job(
    content: str,
    styles: str | tuple[str, ...] | tuple[Region, ...],
    settings: Mapping[str, Any],
    run: Mapping[str, Any],
    varied: Mapping[str, Any],
) -> Job:
    """The job for these inputs (a style, several, or regions) and resolved
    settings (see :func:`resolve`)."""
    if isinstance(styles, str):
        styles = (styles,)
    regions = tuple(s for s in styles if isinstance(s, Region))
    paths = tuple(str(r.style) for r in regions) or tuple(map(str, styles))
    content_sha = file_checksum(content)
    checksums = [file_checksum(p) or p for p in paths]
    identity: dict[str, Any] = {
        "content": content_sha or content,
        "style": checksums[0] if len(checksums) == 1 and not regions else checksums,
        "settings": non_default({**settings, **run}),
    }
    if regions:
        identity["regions"] = [_region_identity(r) for r in regions]
    digest = hashlib.sha256(canonical_json(identity).encode()).hexdigest()
    stems = [Path(str(r.guide)).stem for r in regions] or [_stem(p) for p in paths]
    parts = [_stem(content), _safe("+".join(stems))[:MAX_STEM] or "image"]
    shown = "_".join(f"{k}={_short(v)}" for k, v in varied.items())
    if shown:
        parts.append(_safe(shown)[:MAX_VARIED])
    name = "__".join([*parts, digest[:HASH_LENGTH]])
    return Job(
        name=name,
        content=content,
        style=paths[0],
        content_sha256=content_sha,
        style_sha256=file_checksum(paths[0]),
        settings=dict(settings),
        run=dict(run),
        varied=dict(varied),
        styles=paths if len(paths) > 1 and not regions else (),
        regions=regions,
    )


def _region_identity(region: Region) -> dict[str, Any]:
    """A region as a job's name hashes it: its files' checksums and its weight."""

    def checksum(path: object) -> str | None:
        return None if path is None else file_checksum(str(path)) or str(path)

    return {
        "guide": checksum(region.guide),
        "style": checksum(region.style),
        "style_guide": checksum(region.style_guide),
        "weight": region.weight,
    }


def file_checksum(path: str) -> str | None:
    """SHA-256 of a file, or None if it cannot be read."""
    try:
        return sha256_of_file(path)
    except OSError:
        return None


@cache
def _default_settings() -> dict[str, Any]:
    settings, run = resolve({})
    return jsonable({**settings, **run})


def non_default(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings that differ from their defaults (in JSON form)."""
    base = _default_settings()
    values = jsonable(settings)
    return {k: v for k, v in values.items() if k not in base or base[k] != v}


def canonical_json(value: object) -> str:
    """JSON with sorted keys and no spaces: one text per value."""
    return json.dumps(jsonable(value), sort_keys=True, separators=(",", ":"))


def _stem(path: str) -> str:
    return _safe(Path(path).stem)[:MAX_STEM] or "image"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.=+_-]+", "-", text).strip("-.")


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Mapping):
        return "+".join(f"{k}:{_short(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "+".join(_short(v) for v in value)
    if isinstance(value, str) and os.sep in value:
        return Path(value).stem  # an --init image
    return str(value)


def describe(varied: Mapping[str, Any]) -> str:
    """A grid point as ``beta=1e+04, pooling=avg`` (labels of contact sheets)."""
    return ", ".join(f"{k}={_short(v)}" for k, v in varied.items())


# -- TOML job files ----------------------------------------------------------------
def load_job_file(path: str | os.PathLike[str]) -> Plan:
    """Read a TOML job file: top-level ``content``, ``style`` (a path or a list),
    ``out_dir``, ``weights`` and any setting; a ``[grid]`` table of axes (lists)
    and ``[[points]]`` of explicit settings. Relative paths are relative to the
    file's folder.

    Examples
    --------
    ::

        content = ["photos/"]
        style = ["paintings/*.jpg"]
        iterations = 300
        size = 512

        [grid]
        beta = [1e2, 1e3, 1e4]
        style_layers = [["conv1_1", "conv2_1"], ["conv3_1", "conv4_1"]]
    """
    file = _regular(Path(path), "--jobs file")
    try:
        with open(file, "rb") as opened:
            raw = opened.read(MAX_JOB_FILE_BYTES + 1)
        if len(raw) > MAX_JOB_FILE_BYTES:
            raise SettingError(
                f"--jobs {str(file)!r} is larger than {MAX_JOB_FILE_BYTES // 2**20} "
                "MiB, which no job file is: give the TOML file that lists the jobs"
            )
        data = tomllib.loads(raw.decode("utf-8"))
    except OSError as error:
        raise SettingError(f"--jobs {str(file)!r}: {error.strerror or error}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SettingError(f"--jobs {str(file)!r}: not TOML: {error}") from None
    except RecursionError:  # tomllib reads nested arrays and tables recursively
        raise SettingError(_too_deep(file, "hundreds of levels")) from None
    depth = _depth(data)
    if depth > MAX_TOML_DEPTH:
        raise SettingError(_too_deep(file, f"{depth} levels"))
    folder = file.parent

    def relative(value: object, key: str) -> list[str]:
        items = value if isinstance(value, list) else [value]
        paths = [v for v in items if isinstance(v, str)]
        if len(paths) < len(items):
            raise SettingError(f"{file}: {key} must be a path or a list of paths")
        return [
            v if is_url(v) else os.path.join(folder, os.path.expanduser(v))
            for v in paths
        ]

    where = str(file)
    grid = data.pop("grid", {})
    points = data.pop("points", [])
    if not isinstance(grid, dict) or not isinstance(points, list):
        raise SettingError(
            f"{file}: [grid] must be a table and [[points]] an array of tables"
        )
    contents = relative(data.pop("content", []), "content")
    styles = relative(data.pop("style", []), "style")
    regions = [
        _region(text, folder, file) for text in _texts(data.pop("region", []), file)
    ]
    out_dir = data.pop("out_dir", None)
    weights = data.pop("weights", None)
    base = dict(_checked(data, where, folder))
    axes: dict[str, list[Any]] = {}
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise SettingError(
                f"{file}: grid.{name} must be a non-empty list of values"
            )
        axis = [_checked({name: v}, f"{where}: grid", folder) for v in values]
        axes[next(iter(axis[0]))] = [next(iter(a.values())) for a in axis]
    explicit = [dict(_checked(p, f"{where}: points", folder)) for p in points]
    return Plan(
        contents,
        styles,
        regions,
        base,
        axes,
        explicit,
        None if out_dir is None else relative(out_dir, "out_dir")[0],
        None if weights is None else relative(weights, "weights")[0],
    )


def _depth(data: object) -> int:
    """How deeply ``data``'s lists and tables nest (a scalar: 0), counted without
    recursion."""
    deepest = 0
    stack = [(data, 0)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            deepest = max(deepest, level + 1)
            stack.extend((item, level + 1) for item in value)
    return deepest


def _too_deep(file: Path, depth: str) -> str:
    return (
        f"--jobs {str(file)!r}: its arrays and tables nest {depth} deep, more than "
        f"the {MAX_TOML_DEPTH} naah reads (a job file needs {MAX_JOB_FILE_DEPTH} at "
        "most); flatten them"
    )


def _texts(value: object, file: Path) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in items):
        raise SettingError(
            f"{file}: region must be a MASK=STYLE text or a list of them"
        )
    return [str(v) for v in items]


def _region(text: str, folder: Path, file: Path) -> Region:
    """A job file's ``MASK=STYLE[:STYLE_MASK]``, its paths relative to its folder."""

    def inside(path: str) -> str:
        return os.path.join(folder, os.path.expanduser(path))

    mask, sep, rest = text.partition("=")
    relative_text = f"{inside(mask)}{sep}{rest}" if sep else text
    style, colon, style_mask = rest.rpartition(":")
    if colon and style and os.path.isfile(inside(style_mask)):
        relative_text = f"{inside(mask)}={inside(style)}:{inside(style_mask)}"
    elif sep:
        relative_text = f"{inside(mask)}={inside(rest)}"
    try:
        return region_from_text(relative_text)
    except ValueError as error:
        raise SettingError(f"{file}: region {error}") from None


def _checked(values: object, where: str, folder: Path) -> dict[str, Any]:
    if not isinstance(values, Mapping):
        raise SettingError(f"{where}: expected a table of settings, got {values!r}")
    checked: dict[str, Any] = {}
    for name, value in values.items():
        if name == "init" and isinstance(value, str) and value not in INITS:
            value = os.path.join(folder, os.path.expanduser(value))
        key, checked_value = check_value_named(name, value, where, text=False)
        checked[key] = checked_value
    return checked
