"""Running a batch: :func:`run_batch`, the local engine and the progress bar.

:func:`run_batch` sorts the jobs into those to run and those to skip
(:meth:`naah.batch.manifest.Manifest.triage`), hands the first to an engine, and
records each row the engine gives back in ``manifest.jsonl`` as it comes, so that
a batch stopped anywhere (Ctrl-C, SIGTERM, a power cut) continues where it stopped
when run again. Engines:

* :class:`LocalEngine` (the default): jobs one after another in this process, each
  with every core (the fastest way on a small machine; one job already keeps all
  its cores busy). The bar shows the current job's iterations.
* :class:`naah.batch.cluster.DaskEngine`: jobs on the workers of a Dask cluster
  (``naah[dask]``), a local one (``local:N``) or any other.

An engine has ``run(jobs, folder, record, progress)``: it runs the jobs into the
:class:`naah.batch.storage.Folder`, calls ``record(row)`` with each job's manifest
row and lets :class:`BatchProgress` know how far it is. It also has
``map_runs(runs, stop=None)``, which runs single style transfers and hands back
their results: :mod:`naah.experiments`' sweeps and optimiser comparisons run
through it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from naah.batch.jobs import Job
from naah.batch.manifest import DONE, FAILED, SKIPPED, Manifest
from naah.batch.storage import Folder
from naah.batch.worker import Executor, Run
from naah.checkpointing import CHECKPOINT_EVERY
from naah.io.weights import VGGWeights
from naah.optim import IterationRecord
from naah.progress import interactive
from naah.runtime import Runtime
from naah.style_transfer import StyleResult

if TYPE_CHECKING:
    from tqdm import tqdm

LOCK_NAME = ".naah-batch.lock"
Record = Callable[[dict[str, Any]], None]


class BatchError(RuntimeError):
    """A batch that cannot run at all (another one holds its folder …)."""


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped the batch; ``report`` says what it had done."""

    def __init__(self, report: BatchReport, reason: BaseException) -> None:
        super().__init__(str(reason))
        self.report = report
        self.reason = reason


class Engine(Protocol):
    """What :func:`run_batch` and :mod:`naah.experiments` need of an engine."""

    #: Whether it reports the current job's iterations (only one process can).
    reports_iterations: bool

    def run(
        self,
        jobs: Sequence[Job],
        folder: Folder,
        record: Record,
        progress: BatchProgress,
    ) -> None: ...

    def map_runs(
        self,
        runs: Sequence[Run],
        *,
        stop: Callable[[IterationRecord], bool] | None = None,
    ) -> list[StyleResult]: ...


class LocalEngine:
    """Jobs one after another in this process, each with every core.

    Jobs with the same loss graph share one compiled problem, and the weights are
    loaded once (:class:`naah.batch.worker.Executor`).

    Parameters
    ----------
    weights : path, VGGWeights or None
        None: ``$NAAH_WEIGHTS``, then naah's cache.
    runtime : Runtime, optional
        Default ``Runtime()``: every core. Results depend on the thread count in
        the last bits, so runs to be compared pixel for pixel need the same one.
    checkpoint_every : int
    keep_checkpoints : bool
    """

    reports_iterations = True

    def __init__(
        self,
        weights: str | os.PathLike[str] | VGGWeights | None = None,
        *,
        runtime: Runtime | None = None,
        checkpoint_every: int = CHECKPOINT_EVERY,
        keep_checkpoints: bool = False,
    ) -> None:
        self.executor = Executor(
            weights,
            runtime=runtime or Runtime(),
            checkpoint_every=checkpoint_every,
            keep_checkpoints=keep_checkpoints,
        )

    def run(
        self,
        jobs: Sequence[Job],
        folder: Folder,
        record: Record,
        progress: BatchProgress,
    ) -> None:
        self.executor.weights  # noqa: B018  (missing weights stop the batch here)
        for job in jobs:
            progress.job_started(job)

            def on_iteration(r: IterationRecord, image: object, job: Job = job) -> None:
                progress.iteration(job, r.iteration)

            record(self.executor.run_job(job, folder, callback=on_iteration))

    def map_runs(
        self,
        runs: Sequence[Run],
        *,
        stop: Callable[[IterationRecord], bool] | None = None,
    ) -> list[StyleResult]:
        """Runs (content, style, settings, run) here, one after another: their
        results (:meth:`naah.batch.Executor.map_runs`)."""
        return self.executor.map_runs(runs, stop=stop)


@dataclass
class BatchReport:
    """What :func:`run_batch` did: this run's row of every job, in job order.

    ``out_dir`` is the folder (a Path) or its URL.
    """

    out_dir: Path | str
    rows: list[dict[str, Any]] = field(default_factory=list)
    sheet: Path | None = None

    def count(self, status: str) -> int:
        return sum(row["status"] == status for row in self.rows)

    @property
    def done(self) -> int:
        return self.count(DONE)

    @property
    def failed(self) -> int:
        return self.count(FAILED)

    @property
    def skipped(self) -> int:
        return self.count(SKIPPED)

    def summary(self) -> str:
        """``3 done, 1 failed, 12 skipped``."""
        return f"{self.done} done, {self.failed} failed, {self.skipped} skipped"


def run_batch(
    jobs: Sequence[Job],
    out_dir: str | os.PathLike[str] | Folder,
    *,
    engine: Engine | None = None,
    retry_failed: bool = False,
    progress: bool | None = None,
    sheet: str | os.PathLike[str] | None = None,
    sheet_options: dict[str, Any] | None = None,
) -> BatchReport:
    """Run the jobs not finished yet into ``out_dir``, recording each in its
    manifest, and write the summary (and a contact sheet).

    Parameters
    ----------
    jobs : sequence of Job
        From :meth:`naah.batch.Plan.jobs`.
    out_dir : path, URL or Folder
        Created if needed; outputs, checkpoints, ``manifest.jsonl`` and
        ``summary.csv`` go there. A URL (``s3://bucket/run``) is written through
        fsspec (:mod:`naah.batch.storage`).
    engine : LocalEngine or DaskEngine, optional
        Default: a :class:`LocalEngine` with the weights naah finds.
    retry_failed : bool
        Run the jobs that failed before, too.
    progress : bool, optional
        Show a bar of jobs (default: when someone watches,
        :func:`naah.progress.interactive`).
    sheet : path, optional
        Also write a contact sheet of the folder's jobs there
        (:func:`naah.batch.sheet.contact_sheet`, with ``sheet_options``).

    Returns
    -------
    BatchReport

    Raises
    ------
    BatchInterrupted
        On Ctrl-C (a KeyboardInterrupt, or SIGTERM turned into one), once the
        manifest and summary are written; the interrupted job's checkpoint is next
        to its output and the next run continues from it.
    ValueError
        Before any work, if ``sheet`` is one of the jobs' inputs or outputs
        (:func:`naah.batch.sheet.check_sheet_path`).

    Examples
    --------
    >>> plan = Plan(["photos/"], ["paintings/"], grid={"beta": [1e2, 1e4]})  # doctest: +SKIP
    >>> report = run_batch(plan.jobs(), "out/")  # doctest: +SKIP
    >>> report.summary()  # doctest: +SKIP
    '8 done, 0 failed, 0 skipped'
    """
    folder = Folder(out_dir)
    if sheet is not None:
        from naah.batch.sheet import batch_files, check_sheet_path

        check_sheet_path(sheet, batch_files(folder, jobs))  # before any work
    folder.mkdir()
    manifest = Manifest(folder)
    report = BatchReport(folder.root)
    with _locked(folder):
        todo, skipped = manifest.triage(jobs, retry_failed=retry_failed)
        rows = {row["name"]: row for row in skipped}
        for row in skipped:
            manifest.append(row)
        engine = engine if engine is not None else LocalEngine()
        show = interactive() if progress is None else progress
        bar = BatchProgress(len(todo), show, detail=engine.reports_iterations)

        def record(row: dict[str, Any]) -> None:
            manifest.append(row)
            rows[row["name"]] = row
            bar.job_finished(row)

        try:
            if todo:
                engine.run(todo, folder, record, bar)
        except KeyboardInterrupt as interrupt:
            report.rows = [rows[j.name] for j in jobs if j.name in rows]
            raise BatchInterrupted(report, interrupt) from interrupt
        finally:
            bar.close()
            manifest.write_summary(order=[j.name for j in jobs])
        report.rows = [rows[j.name] for j in jobs if j.name in rows]
    if sheet is not None:
        from naah.batch.sheet import contact_sheet

        report.sheet = contact_sheet(folder, sheet, **(sheet_options or {})).path
    return report


@contextlib.contextmanager
def _locked(folder: Folder) -> Iterator[None]:
    """Hold the folder's lock: two batches writing one folder would run each job
    twice. A URL's lock is a file of this machine's (object stores have no locks):
    it keeps out batches started here, not those of other machines."""
    if folder.remote:
        digest = hashlib.sha256(folder.location.encode()).hexdigest()[:16]
        path = Path(tempfile.gettempdir()) / f"naah-batch-{digest}.lock"
    else:
        path = Path(folder.location) / LOCK_NAME
    with open(path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BatchError(
                f"another naah batch is writing {folder.location}; wait for it, or give "
                "another --out-dir"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class BatchProgress:
    """A bar counting jobs, with ETA; with ``detail``, the current job's iterations
    move it too (in fractions of a job) and show beside it.

    Parameters
    ----------
    total : int
        Jobs to run.
    enabled : bool
        False shows nothing.
    detail : bool
    """

    def __init__(self, total: int, enabled: bool, *, detail: bool = False) -> None:
        self.total = total
        self.detail = detail
        self.finished = 0
        self.failed = 0
        self._bar: tqdm | None = None
        if enabled and total:
            from tqdm.auto import tqdm

            count = "{n:.1f}" if detail else "{n_fmt}"
            self._bar = tqdm(
                total=total,
                desc="naah batch",
                unit="job",
                bar_format="{desc}: {percentage:3.0f}%|{bar}| "
                + count
                + "/{total_fmt} jobs [{elapsed}<{remaining}{postfix}]",
            )

    def job_started(self, job: Job) -> None:
        self._show(job, 0)

    def iteration(self, job: Job, iteration: int) -> None:
        """The current job is at ``iteration`` (of its ``total_iterations``)."""
        if self.detail:
            self._show(job, iteration)

    def job_finished(self, row: dict[str, Any]) -> None:
        self.finished += 1
        self.failed += row["status"] == FAILED
        self._move(self.finished)
        if self._bar is not None:
            self._bar.set_postfix_str(f"{self.failed} failed", refresh=True)

    def _show(self, job: Job, iteration: int) -> None:
        if self._bar is None:
            return
        total = max(1, job.total_iterations)
        self._move(self.finished + min(iteration, total) / total)
        self._bar.set_postfix_str(
            f"{f'{self.failed} failed'}; {job.name[:40]} {iteration}/{total} it",
            refresh=True,
        )

    def _move(self, n: float) -> None:
        if self._bar is not None and n > self._bar.n:
            self._bar.update(n - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
