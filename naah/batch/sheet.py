"""Contact sheets: a batch's results as one labelled grid of images.

Like the report's Figure 8 (α/β across, layers down): rows are the contents or one
grid axis, columns the styles or another axis; settings that vary in neither (the
rest of a grid) become more columns, so that every job has its own cell. Under
each cell: the job's grid settings and its final loss, or why it failed. Headers
name each row and column. A sheet never replaces one of its batch's inputs or
outputs (:func:`check_sheet_path`).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from naah.batch.jobs import CHECKPOINT_SUFFIX, OUTPUT_SUFFIX, Job, describe
from naah.batch.manifest import DONE, MANIFEST_NAME, Manifest
from naah.batch.storage import Folder
from naah.estimate import available_memory, format_bytes
from naah.io.files import same_file
from naah.io.images import save_image

#: Default side of a cell's image, in pixels.
CELL = 160
PAD = 6  # pixels around images and text
FONT_SIZE = 12
LABEL_LINES = 3  # lines of text under a cell
# Bytes of memory per pixel of the sheet while it is drawn and written: Pillow's
# RGB (4), its array for save_image (3), the encoder's buffers; 14 measured (peak
# RSS over 36 Mpx at --cell 6000), rounded up.
SHEET_BYTES_PER_PIXEL = 16
BACKGROUND, INK, EMPTY = (255, 255, 255), (20, 20, 20), (225, 225, 225)
INPUT_AXES = ("content", "style")


@dataclass(frozen=True)
class Sheet:
    """A written contact sheet and its geometry (the image is ``left + columns *
    cell_width`` by ``top + rows * cell_height`` pixels)."""

    path: Path
    rows: list[str]
    columns: list[str]
    cell_width: int
    cell_height: int
    left: int
    top: int
    size: tuple[int, int]


def contact_sheet(
    source: str | os.PathLike[str] | Folder,
    path: str | os.PathLike[str],
    *,
    rows: str = "content",
    columns: str = "style",
    cell: int = CELL,
) -> Sheet:
    """Lay out the jobs of a batch folder (or its ``manifest.jsonl``) as a grid.

    Parameters
    ----------
    source : path, URL or Folder
        The batch folder, or its manifest.
    path : path
        The sheet image (.png, .jpg …), a local file.
    rows, columns : str
        ``"content"``, ``"style"`` or a setting that the grid varies
        (``beta``, ``pooling`` …).
    cell : int
        Side of each cell's image in pixels.

    Returns
    -------
    Sheet

    Examples
    --------
    >>> sheet = contact_sheet("out/", "out/sheet.png", rows="beta", columns="style")  # doctest: +SKIP
    >>> sheet.size  # doctest: +SKIP
    (1020, 730)
    """
    folder = source if isinstance(source, Folder) else Folder(_folder_of(source))
    check_sheet_path(path, batch_files(folder))
    entries = list(Manifest(folder).outcomes().values())
    if not entries:
        raise ValueError(
            f"{folder.location} has no finished or failed jobs in its {MANIFEST_NAME}"
        )
    if rows == columns:
        raise ValueError(f"rows and columns are both {rows!r}; give two axes")
    for axis in (rows, columns):
        _check_axis(axis, entries)
    font = _font()
    row_keys, column_keys, cells = _layout(entries, rows, columns)
    row_labels = [_axis_label(rows, k[0]) for k in row_keys]
    column_labels = [_column_label(columns, k) for k in column_keys]
    line = _line_height(font)
    header_lines = max(len(t.splitlines()) for t in column_labels)
    top = header_lines * line + 2 * PAD
    label_width = max(_text_width(font, t) for t in row_labels) + 2 * PAD

    def geometry(cell: int) -> tuple[int, int, int, tuple[int, int]]:
        """A cell's width and height, the row labels' width, the sheet's size."""
        width, height = cell + 2 * PAD, cell + 2 * PAD + LABEL_LINES * line
        left = min(4 * cell, label_width)
        size = (left + len(column_keys) * width, top + len(row_keys) * height)
        return width, height, left, size

    _check_memory(cell, lambda c: geometry(c)[3], len(row_keys), len(column_keys))
    width, height, left, size = geometry(cell)
    sheet = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for i, label in enumerate(row_labels):
        draw.text(
            (PAD, top + i * height + PAD),
            _fit(font, label, left - PAD),
            fill=INK,
            font=font,
        )
    for j, label in enumerate(column_labels):
        x = left + j * width + PAD
        for n, text in enumerate(label.splitlines()):
            draw.text((x, PAD + n * line), _fit(font, text, cell), fill=INK, font=font)
    for (i, j), entry in cells.items():
        x, y = left + j * width + PAD, top + i * height + PAD
        _paste(sheet, draw, folder, entry, (x, y), cell, font)
        for n, text in enumerate(_cell_label(entry, font, cell)):
            draw.text((x, y + cell + PAD + n * line), text, fill=INK, font=font)
    written = save_image(path, np.asarray(sheet))
    return Sheet(written, row_labels, column_labels, width, height, left, top, size)


def check_sheet_path(
    path: str | os.PathLike[str],
    files: Iterable[tuple[str, str | os.PathLike[str]]],
    what: str = "sheet",
) -> None:
    """Refuse a sheet ``path`` that is one of a batch's ``files``, each (what it
    is, its path): see :func:`batch_files`. ``what`` names the sheet in the
    message (an option: ``--sheet``).

    Raises
    ------
    ValueError
        Naming the file and what it is.
    """
    for kind, file in files:
        if same_file(path, file):
            raise ValueError(
                f"{what} {os.fspath(path)!r} is the {kind} {os.fspath(file)!r}; a "
                "contact sheet never replaces a batch's inputs or outputs: choose "
                "another name"
            )


def batch_files(
    source: str | os.PathLike[str] | Folder, jobs: Sequence[Job] = ()
) -> list[tuple[str, str | os.PathLike[str]]]:
    """The files of a batch folder (or its manifest) and of ``jobs`` about to run
    into it: the inputs its manifest records and ``jobs`` read, and, in a local
    folder, each job's output and checkpoint; (what it is, its path) each."""
    folder = source if isinstance(source, Folder) else Folder(_folder_of(source))
    files: list[tuple[str, str | os.PathLike[str]]] = []
    names: list[str] = []
    for row in Manifest(folder).outcomes().values():
        files += _recorded_inputs(row)
        if isinstance(row.get("name"), str):
            names.append(row["name"])
    for job in jobs:
        files += job.input_files()
        names.append(job.name)
    if not folder.remote:
        for name in dict.fromkeys(names):
            for what, suffix in (
                ("output", OUTPUT_SUFFIX),
                ("checkpoint", CHECKPOINT_SUFFIX),
            ):
                files.append(
                    (f"{what} of job {name}", folder.location_of(name + suffix))
                )
    return files


def _recorded_inputs(row: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The input files a manifest row records (its content, styles, regions')."""
    found: list[tuple[str, str]] = []

    def add(what: str, record: object) -> None:
        if isinstance(record, Mapping) and isinstance(record.get("path"), str):
            found.append((what, record["path"]))

    add("content image", row.get("content"))
    add("style image", row.get("style"))
    for style in row.get("styles") or ():
        add("style image", style)
    for region in row.get("regions") or ():
        if isinstance(region, Mapping):
            add("region mask", region.get("guide"))
            add("style image", region.get("style"))
            add("style mask", region.get("style_guide"))
    return found


def _check_memory(
    cell: int, size_of: Callable[[int], tuple[int, int]], rows: int, columns: int
) -> None:
    """Refuse a sheet whose drawing would not fit in the memory available (a
    MemoryError after gigabytes otherwise), saying the largest cell that fits
    (``size_of``: the sheet's size for a cell)."""

    def needed(cell: int) -> int:
        width, height = size_of(cell)
        return width * height * SHEET_BYTES_PER_PIXEL

    available = available_memory()
    if needed(cell) <= available:
        return
    low, high = 0, cell  # the largest cell that fits is in [low, high)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if needed(middle) <= available else (low, middle)
    hint = f"give --cell {low} or less" if low else "no cell size fits"
    width, height = size_of(cell)
    raise ValueError(
        f"a sheet of {rows} rows × {columns} columns at --cell {cell} is "
        f"{width}×{height} pixels, about {format_bytes(needed(cell))} to draw, but "
        f"{format_bytes(available)} is available; {hint}"
    )


def _folder_of(source: str | os.PathLike[str]) -> str:
    """The batch folder of a folder or of its manifest."""
    text = os.fspath(source).rstrip("/")
    if text == MANIFEST_NAME or text.endswith("/" + MANIFEST_NAME):
        return text[: -len(MANIFEST_NAME)].rstrip("/") or "."
    return text


def _check_axis(axis: str, entries: Sequence[Mapping[str, Any]]) -> None:
    if axis in INPUT_AXES:
        return
    if not any(axis in e.get("varied", {}) for e in entries):
        varied = sorted({k for e in entries for k in e.get("varied", {})})
        raise ValueError(
            f"{axis!r} is not an axis of this batch; give content, style or a "
            f"setting its grid varies ({', '.join(varied) or 'none'})"
        )


def _coordinate(entry: Mapping[str, Any], axis: str) -> Any:
    if axis in INPUT_AXES:
        return entry[axis]["path"]
    return _hashable(entry.get("settings", {}).get(axis))


def _hashable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple((k, _hashable(v)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    return value


def _layout(
    entries: Sequence[Mapping[str, Any]], rows: str, columns: str
) -> tuple[list[tuple], list[tuple], dict[tuple[int, int], Mapping[str, Any]]]:
    """Row keys, column keys (the column axis first, then every other coordinate)
    and the entry of each (row, column)."""
    others = [a for a in INPUT_AXES if a not in (rows, columns)]
    varied = [k for e in entries for k in e.get("varied", {})]
    others += [k for k in dict.fromkeys(varied) if k not in (rows, columns)]

    def column_key(entry: Mapping[str, Any]) -> tuple:
        rest = tuple((a, _coordinate(entry, a)) for a in others)
        return ((columns, _coordinate(entry, columns)), *rest)

    def keyed(with_name: bool) -> list[tuple[tuple, tuple]]:
        keys = []
        for entry in entries:
            column = column_key(entry)
            if with_name:
                column += (("name", entry["name"]),)
            keys.append(((_coordinate(entry, rows),), column))
        return keys

    keys = keyed(False)
    if len(set(keys)) < len(keys):  # jobs alike in every axis: one column each
        keys = keyed(True)
    row_keys = list(dict.fromkeys(k[0] for k in keys))
    column_keys = list(dict.fromkeys(k[1] for k in keys))
    cells = {
        (row_keys.index(r), column_keys.index(c)): e
        for (r, c), e in zip(keys, entries, strict=True)
    }
    return row_keys, column_keys, cells


def _axis_label(axis: str, value: Any) -> str:
    if axis in INPUT_AXES:
        return Path(value).stem
    return describe({axis: value})


def _column_label(axis: str, key: tuple) -> str:
    lines = [_axis_label(axis, key[0][1])]
    for name, value in key[1:]:
        if name == "name":
            lines.append(value[-10:])
        elif name in INPUT_AXES:
            lines.append(f"{name} {Path(value).stem}")
        else:
            lines.append(describe({name: value}))
    return "\n".join(lines)


def _cell_label(entry: Mapping[str, Any], font: Any, width: int) -> list[str]:
    text = describe(entry.get("varied", {}))
    if entry["status"] == DONE:
        loss = (entry.get("losses") or {}).get("total")
        text = f"{text}; loss {loss:.3g}" if text else f"loss {loss:.3g}"
    else:
        text = f"failed: {entry.get('error')}"
    lines = _wrap(font, text, width)
    if len(lines) > LABEL_LINES:
        lines = [
            *lines[: LABEL_LINES - 1],
            _fit(font, " ".join(lines[LABEL_LINES - 1 :]), width),
        ]
    return lines


def _wrap(font: Any, text: str, width: int) -> list[str]:
    """Words in lines of at most ``width`` pixels (a longer word is cut)."""
    lines: list[str] = []
    for word in text.split():
        if lines and _text_width(font, f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(_fit(font, word, width))
    return lines


def _paste(
    sheet: Image.Image,
    draw: ImageDraw.ImageDraw,
    folder: Folder,
    entry: Mapping[str, Any],
    at: tuple[int, int],
    cell: int,
    font: Any,
) -> None:
    x, y = at
    try:
        if entry["status"] != DONE:
            raise OSError("failed")
        data = io.BytesIO(folder.read_bytes(entry["output"]))
        with Image.open(data) as image:
            thumb = ImageOps.contain(image.convert("RGB"), (cell, cell))
    except OSError:
        draw.rectangle([x, y, x + cell - 1, y + cell - 1], fill=EMPTY)
        draw.text((x + PAD, y + PAD), "no image", fill=INK, font=font)
        return
    sheet.paste(thumb, (x + (cell - thumb.width) // 2, y + (cell - thumb.height) // 2))


def _font() -> Any:
    try:
        return ImageFont.load_default(size=FONT_SIZE)
    except TypeError:  # Pillow < 10.1: the bitmap font, one size
        return ImageFont.load_default()


def _text_width(font: Any, text: str) -> int:
    return max((int(font.getlength(t)) for t in text.splitlines()), default=0)


def _line_height(font: Any) -> int:
    _, top, _, bottom = font.getbbox("Ag")
    return int(bottom - min(0, top)) + 3


def _fit(font: Any, text: str, width: int) -> str:
    """``text`` cut (with …) to fit ``width`` pixels."""
    if _text_width(font, text) <= width:
        return text
    while text and _text_width(font, text + "…") > width:
        text = text[:-1]
    return text + "…"
