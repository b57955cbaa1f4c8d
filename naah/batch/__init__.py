"""Many style transfers: folder × folder × grid of settings, resumable, on Dask.

``naah batch`` and :mod:`naah.experiments`' sweeps run through this package:

* :mod:`.settings` — the settings a job takes (``naah stylize``'s options) and
  ``--grid KEY=V1,V2``;
* :mod:`.jobs` — :class:`Plan` → :class:`Job` (content × style × grid point) with
  deterministic names, and TOML job files;
* :mod:`.manifest` — ``manifest.jsonl``, ``summary.csv``, which jobs are finished;
* :mod:`.worker` — :class:`Executor`: runs jobs in one process, weights loaded and
  losses compiled once, resuming from checkpoints;
* :mod:`.engines` — :func:`run_batch` and the :class:`LocalEngine`;
* :mod:`.cluster` — the :class:`~naah.batch.cluster.DaskEngine`
  (``pip install 'naah[dask]'``);
* :mod:`.sheet` — contact sheets;
* :mod:`.cli` — the ``naah batch`` and ``naah sheet`` commands' parsers.

See ``docs/batch.md``.

Examples
--------
>>> from naah.batch import Plan, run_batch
>>> plan = Plan(["photos/"], ["paintings/"], base={"size": 256},
...             grid={"beta": [1e2, 1e4]})  # doctest: +SKIP
>>> report = run_batch(plan.jobs(), "out/", sheet="out/sheet.png")  # doctest: +SKIP
>>> report.summary()  # doctest: +SKIP
'8 done, 0 failed, 0 skipped'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from naah.batch.engines import (
    BatchError,
    BatchInterrupted,
    BatchProgress,
    BatchReport,
    LocalEngine,
    run_batch,
)
from naah.batch.jobs import Job, Plan, load_job_file
from naah.batch.manifest import Manifest
from naah.batch.settings import SettingError, parse_grid
from naah.batch.sheet import Sheet, contact_sheet
from naah.batch.worker import Executor

if TYPE_CHECKING:
    from naah.batch.cluster import DaskEngine

__all__ = [
    "BatchError",
    "BatchInterrupted",
    "BatchProgress",
    "BatchReport",
    "DaskEngine",
    "Executor",
    "Job",
    "LocalEngine",
    "Manifest",
    "Plan",
    "SettingError",
    "Sheet",
    "contact_sheet",
    "load_job_file",
    "parse_grid",
    "run_batch",
]


def __getattr__(name: str) -> Any:
    # The Dask engine needs distributed, an optional extra: imported when asked for.
    if name == "DaskEngine":
        from naah.batch.cluster import DaskEngine

        return DaskEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
