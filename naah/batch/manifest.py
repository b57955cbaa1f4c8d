"""A batch folder's record: ``manifest.jsonl`` and its summary ``summary.csv``.

``DIR/manifest.jsonl`` is appended to, one JSON object per line, by the process
that runs the batch (Dask workers return rows; they never write it). DIR is a
folder or a URL (:class:`naah.batch.storage.Folder`). Each run adds one row per job:

``name``, ``status``
    ``"done"``, ``"failed"`` or ``"skipped"`` (finished before: its output is
    there and its checksum is the one recorded; or failed before, without
    ``--retry-failed``).
``content``, ``style``
    ``{"path": ..., "sha256": ...}``: the input files and their SHA-256.
``settings``, ``varied``
    Every setting (:class:`naah.StyleTransfer`'s and the run's) and the grid
    point's.
``losses``, ``iterations``, ``seconds``
    The final ``total``, ``content``, ``style`` and ``tv`` losses, the iterations
    done and the seconds this attempt took (loading and compiling included).
``output``, ``output_sha256``
    The image's file name in DIR and its SHA-256.
``resumed_from``
    The checkpoint's iteration when the job continued an interrupted run.
``error``
    Why a job failed (None otherwise).
``weights``, ``threads``, ``worker``, ``naah_version``, ``time``
    What ran it, and when (UTC).

A job is finished when its last done row's output is present and intact: checked
from the files alone, without loading weights. ``DIR/summary.csv`` has one line per
job, its latest outcome, rewritten only when it changes.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from naah._version import __version__
from naah.batch.jobs import Job, file_checksum, jsonable
from naah.batch.storage import Folder

MANIFEST_NAME = "manifest.jsonl"
SUMMARY_NAME = "summary.csv"
DONE, FAILED, SKIPPED = "done", "failed", "skipped"
STATUSES = (DONE, FAILED, SKIPPED)
# The summary's columns before the settings and after them.
LEADING = ("name", "status", "content", "style")
TRAILING = (
    "total",
    "content_loss",
    "style_loss",
    "iterations_done",
    "seconds",
    "output",
    "error",
)


def base_row(job: Job, status: str) -> dict[str, Any]:
    """The fields of a row that come from the job itself."""
    return {
        "name": job.name,
        "status": status,
        "content": {"path": job.content, "sha256": job.content_sha256},
        "style": {"path": job.style, "sha256": job.style_sha256},
        **_style_inputs(job),
        "settings": jsonable(job.all_settings),
        "varied": jsonable(job.varied),
        "output": job.output_name,
        "naah_version": __version__,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _style_inputs(job: Job) -> dict[str, Any]:
    """Every style image of a blend, or every region's files (``style`` names the
    first)."""
    if job.regions:
        return {
            "regions": [
                {
                    key: None
                    if path is None
                    else {"path": str(path), "sha256": file_checksum(str(path))}
                    for key, path in (
                        ("guide", r.guide),
                        ("style", r.style),
                        ("style_guide", r.style_guide),
                    )
                }
                for r in job.regions
            ]
        }
    if job.styles:
        return {"styles": [{"path": s, "sha256": file_checksum(s)} for s in job.styles]}
    return {}


def failed_row(job: Job, error: BaseException | str, **fields: Any) -> dict[str, Any]:
    """A failed job's row; ``error`` as one line."""
    text = error if isinstance(error, str) else _one_line(error)
    return {**base_row(job, FAILED), "error": text, **fields}


def _one_line(error: BaseException) -> str:
    message = " ".join(str(error).split())
    if isinstance(error, OSError | ValueError) and message:
        return message
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


class Manifest:
    """The record of a batch folder.

    Parameters
    ----------
    folder : path, URL or Folder
        The batch's output folder, DIR.
    """

    def __init__(self, folder: str | os.PathLike[str] | Folder) -> None:
        self.folder = Folder(folder)
        #: The manifest's and the summary's paths (or URLs).
        self.path = self.folder.location_of(MANIFEST_NAME)
        self.summary_path = self.folder.location_of(SUMMARY_NAME)

    def rows(self) -> list[dict[str, Any]]:
        """Every row, oldest first (a line cut short by a crash is left out)."""
        try:
            text = self.folder.read_text(MANIFEST_NAME)
        except FileNotFoundError:
            return []
        rows = []
        for line in text.splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and row.get("status") in STATUSES:
                rows.append(row)
        return rows

    def outcomes(self) -> dict[str, dict[str, Any]]:
        """Each job's last done or failed row, by name, in order of first record."""
        latest: dict[str, dict[str, Any]] = {}
        for row in self.rows():
            if row["status"] != SKIPPED:
                latest[row["name"]] = row
        return latest

    def append(self, row: Mapping[str, Any]) -> None:
        """Add a row, flushed to disk (after a newline if a crash cut the last)."""
        line = json.dumps(jsonable(row), allow_nan=True) + "\n"
        self.folder.append_line(MANIFEST_NAME, line)

    def is_intact(self, row: Mapping[str, Any]) -> bool:
        """Whether a done row's output is there with the checksum it recorded."""
        output, want = row.get("output"), row.get("output_sha256")
        if not output or not want:
            return False
        try:
            return self.folder.sha256(output) == want
        except OSError:
            return False

    def triage(
        self, jobs: Sequence[Job], *, retry_failed: bool = False
    ) -> tuple[list[Job], list[dict[str, Any]]]:
        """The jobs to run, and a skipped row for each of the others: those done
        (output present and intact) and, without ``retry_failed``, those failed."""
        outcomes = self.outcomes()
        todo: list[Job] = []
        skipped: list[dict[str, Any]] = []
        for job in jobs:
            last = outcomes.get(job.name)
            if last is not None and last["status"] == DONE and self.is_intact(last):
                reason = "done before; output intact"
            elif last is not None and last["status"] == FAILED and not retry_failed:
                reason = "failed before; --retry-failed reruns it"
            else:
                todo.append(job)
                continue
            when = base_row(job, SKIPPED)["time"]
            skipped.append({**last, "status": SKIPPED, "reason": reason, "time": when})
        return todo, skipped

    def write_summary(self, order: Iterable[str] = ()) -> Path | str:
        """Write ``summary.csv``: each job's latest outcome, the named jobs first in
        that order. The file is replaced only when its text changes."""
        outcomes = self.outcomes()
        names = [n for n in dict.fromkeys(order) if n in outcomes]
        names += [n for n in outcomes if n not in set(names)]
        rows = [outcomes[n] for n in names]
        keys = sorted({k for r in rows for k in r.get("settings", {})})
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([*LEADING, *keys, *TRAILING])
        for row in rows:
            writer.writerow(_summary_line(row, keys))
        text = buffer.getvalue()
        try:
            if self.folder.read_text(SUMMARY_NAME) == text:
                return self.summary_path
        except OSError:
            pass
        self.folder.write_bytes(SUMMARY_NAME, text.encode("utf-8"))
        return self.summary_path


def _summary_line(row: Mapping[str, Any], keys: Sequence[str]) -> list[object]:
    losses = row.get("losses") or {}
    settings = row.get("settings", {})
    return [
        row["name"],
        row["status"],
        row.get("content", {}).get("path"),
        row.get("style", {}).get("path"),
        *(_cell(settings.get(k)) for k in keys),
        losses.get("total"),
        losses.get("content"),
        losses.get("style"),
        row.get("iterations"),
        row.get("seconds"),
        row.get("output") if row["status"] == DONE else None,
        row.get("error"),
    ]


def _cell(value: object) -> object:
    if isinstance(value, Mapping):
        return "+".join(
            f"{k}:{v:g}" if isinstance(v, float) else f"{k}:{v}"
            for k, v in value.items()
        )
    if isinstance(value, list | tuple):
        return "+".join(str(v) for v in value)
    return value
