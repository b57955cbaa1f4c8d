"""Running jobs in one process: the weights loaded once, each loss compiled once.

An :class:`Executor` is what every engine runs jobs with: the local engine has one,
each Dask worker process one (:mod:`naah.batch.cluster`), :class:`naah.experiments.
Sweep` one. It keeps one :class:`naah.StyleTransfer` per loss graph
(:func:`naah.settings.graph_key`): jobs whose settings differ only in what keeps
the graph (α, β and the TV weight are shared variables of the compiled loss; the
optimiser and the seed are not in the graph) and in their images or size share one
compiled problem.

A job writes its checkpoint next to its output (``NAME.ckpt``, every
``checkpoint_every`` iterations, at least once a minute, and on Ctrl-C; for an
output URL, in a local workspace and copied to the URL after each), and a job
that finds its checkpoint there continues from it
(:meth:`naah.StyleTransfer.resume`) instead of starting again: after Ctrl-C, or on
another Dask worker after its first one died.
"""

from __future__ import annotations

import copy
import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from naah.architecture import CONV_LAYERS, FEATURE_LAYERS
from naah.batch.jobs import Job, canonical_json
from naah.batch.manifest import DONE, base_row, failed_row
from naah.batch.storage import Folder
from naah.checkpointing import CHECKPOINT_EVERY, load_run
from naah.io.checkpoint import CheckpointError
from naah.io.files import sha256_of_file
from naah.io.images import ImageLike, save_image
from naah.io.locate import find_weights
from naah.io.weights import VGGWeights, load_weights
from naah.optim import IterationRecord
from naah.problem import StyleProblem
from naah.regions import Region
from naah.request import StyleInput
from naah.runs import StopRun, interrupt_in
from naah.runtime import DEFAULT as DEFAULT_RUNTIME
from naah.runtime import Runtime
from naah.settings import Settings, graph_key
from naah.style_transfer import RunDiverged, StyleResult, StyleTransfer

#: The weight layers a batch keeps in memory: VGG-19's convolutions up to pool5,
#: enough for any content and style layers (the fc layers are 90 % of the file).
FEATURE_CONVS = tuple(n for n in FEATURE_LAYERS if n in CONV_LAYERS)

Callback = Callable[[IterationRecord, np.ndarray], None]
#: One run of :meth:`Executor.map_runs`: content, style, StyleTransfer keywords and
#: StyleTransfer.run keywords.
Run = tuple[ImageLike, ImageLike, Mapping[str, Any], Mapping[str, Any]]


class Executor:
    """Runs style transfers in this process, reusing weights and compiled losses.

    Parameters
    ----------
    weights : path, VGGWeights or None
        As for :class:`naah.StyleTransfer` (None: ``$NAAH_WEIGHTS``, then the
        cache); loaded on first use, once.
    runtime : Runtime
        Threads and memory policy of every run.
    checkpoint_every : int
        Iterations between a job's checkpoints (and at least once a minute).
    keep_checkpoints : bool
        Keep a finished job's checkpoint (by default it is removed once the output
        is written).

    Examples
    --------
    >>> executor = Executor()  # doctest: +SKIP
    >>> row = executor.run_job(job, "out/")  # doctest: +SKIP
    >>> row["status"], row["losses"]["total"]  # doctest: +SKIP
    ('done', 1234.5)
    """

    def __init__(
        self,
        weights: str | os.PathLike[str] | VGGWeights | None = None,
        *,
        runtime: Runtime = DEFAULT_RUNTIME,
        checkpoint_every: int = CHECKPOINT_EVERY,
        keep_checkpoints: bool = False,
    ) -> None:
        self._weights_given = weights
        self._weights = weights if isinstance(weights, VGGWeights) else None
        self.runtime = runtime
        self.checkpoint_every = checkpoint_every
        self.keep_checkpoints = keep_checkpoints
        self._transfers: dict[str, tuple[StyleTransfer, StyleProblem | None]] = {}

    @property
    def weights(self) -> VGGWeights:
        """The VGG-19 weights (convolutions only), loaded on first use."""
        if self._weights is None:
            path = find_weights(self._weights_given)  # type: ignore[arg-type]
            self._weights = load_weights(path, layers=FEATURE_CONVS)
        return self._weights

    @property
    def compiled(self) -> int:
        """How many loss graphs this executor has compiled."""
        return sum(problem is not None for _, problem in self._transfers.values())

    def adopt(self, transfer: StyleTransfer, problem: StyleProblem) -> None:
        """Run what ``transfer``'s loss graph runs with its compiled ``problem``
        (as :func:`naah.experiments.compare_optimizers` does with a prepared
        pair's), instead of compiling another. ``transfer`` itself is left as it
        is: the executor retunes a copy."""
        key = _cache_key(transfer.config, problem.region_count)
        self._transfers[key] = (copy.copy(transfer), problem)

    # -- runs ----------------------------------------------------------------------
    def map_runs(
        self,
        runs: Sequence[Run],
        *,
        stop: Callable[[IterationRecord], bool] | None = None,
    ) -> list[StyleResult]:
        """Run each (content, style, settings, run) here, in order: their results.

        ``stop``, if given, ends each run after the first iteration for which it
        is true (as :func:`naah.runs.optimize`'s). The Dask engine's
        :meth:`~naah.batch.cluster.DaskEngine.map_runs` does the same on a cluster.

        Examples
        --------
        >>> runs = [("tubingen.jpg", "starry_night.jpg", {"beta": b}, {"size": 256})
        ...         for b in (1e2, 1e4)]
        >>> results = Executor().map_runs(runs)  # doctest: +SKIP
        >>> [r.history[-1].total for r in results]  # doctest: +SKIP
        """
        callback = None if stop is None else Stopper(stop)
        return [self.run(*run, callback=callback)[0] for run in runs]

    def run(
        self,
        content: ImageLike,
        style: StyleInput,
        settings: Mapping[str, Any],
        run: Mapping[str, Any],
        *,
        regions: Sequence[Region] | None = None,
        checkpoint: str | os.PathLike[str] | None = None,
        checkpoint_info: Mapping[str, Any] | None = None,
        callback: Callback | None = None,
    ) -> tuple[StyleResult, int | None]:
        """One style transfer: (its result, the iteration it resumed from or None).

        ``settings`` are :class:`naah.StyleTransfer` keywords, ``run`` keywords of
        :meth:`~naah.StyleTransfer.run` (``iterations``, ``size``, ``style_scale``,
        ``init`` …); ``style`` may be several images (a blend), or None with
        ``regions``. With ``checkpoint`` it writes checkpoints there, and continues
        from the one it finds there if that is of the same run.
        """
        if checkpoint is not None:
            resumed = self._resume(
                content,
                style,
                settings,
                run,
                Path(checkpoint),
                checkpoint_info,
                callback,
            )
            if resumed is not None:
                return resumed
        transfer = self._transfer_for(content, style, regions, settings, run)
        result = transfer.run(
            content,
            style,
            regions=regions,
            progress=False,
            callback=callback,
            checkpoint=checkpoint,
            checkpoint_info=checkpoint_info,
            checkpoint_every=self.checkpoint_every,
            **run,
        )
        return result, None

    def _transfer_for(
        self,
        content: ImageLike,
        style: Any,
        regions: Sequence[Region] | None,
        settings: Mapping[str, Any],
        run: Mapping[str, Any],
    ) -> StyleTransfer:
        """The cached transfer for these settings' graph, retuned to their other
        settings; compiled here (before its run) the first time."""
        wanted = Settings.from_json(settings)
        key = _cache_key(wanted, len(regions or ()))
        cached = self._transfers.get(key)
        if cached is None:
            transfer = StyleTransfer.configured(wanted, self.weights, self.runtime)
            prepared = transfer.prepare(
                content,
                style,
                size=run.get("size"),
                regions=regions,
                style_scale=run.get("style_scale", 1.0),
            )
            self._transfers[key] = (transfer, prepared)
            return transfer
        transfer, _ = cached
        transfer.config = wanted  # the problem takes the loss weights on its next run
        return transfer

    def _resume(
        self,
        content: ImageLike,
        style: Any,
        settings: Mapping[str, Any],
        run: Mapping[str, Any],
        checkpoint: Path,
        checkpoint_info: Mapping[str, Any] | None,
        callback: Callback | None,
    ) -> tuple[StyleResult, int] | None:
        """Continue the run of ``checkpoint`` if it is this run's, else None."""
        if not checkpoint.is_file():
            return None
        try:
            saved = load_run(checkpoint)
        except (CheckpointError, OSError):
            return None  # half written or foreign: the new run writes over it
        wanted = Settings.from_json({**settings, **run})
        if _identity(saved.description.settings) != _identity(wanted):
            return None
        done = saved.iteration
        if done > wanted.schedule.total:
            return None
        try:
            result = StyleTransfer.resume(
                checkpoint,
                iterations=run["iterations"],
                weights=self.weights,
                content=content,
                style=style,
                checkpoint_every=self.checkpoint_every,
                checkpoint_info=checkpoint_info,
                callback=callback,
                progress=False,
                runtime=self.runtime,
            )
        except ValueError:  # other inputs than the checkpoint's: start again
            return None
        return result, done

    # -- one batch job -------------------------------------------------------------
    def run_job(
        self,
        job: Job,
        out_dir: str | os.PathLike[str] | Folder,
        *,
        callback: Callback | None = None,
    ) -> dict[str, Any]:
        """Run a job into ``out_dir`` (a folder or URL): its manifest row (done or
        failed).

        A job's failure is its row; only Ctrl-C (after its checkpoint is written)
        and weights that cannot be loaded raise.
        """
        folder = Folder(out_dir)
        start = time.perf_counter()
        weights = self.weights.source.identity()  # raises: no job can run without them
        extra = {
            "weights": weights,
            "threads": self.runtime.threads,
            "worker": f"{socket.gethostname()}:{os.getpid()}",
        }
        mirror = _CheckpointMirror(folder, job.checkpoint_name, callback)
        try:
            work = folder.workspace()
            checkpoint = folder.fetch(job.checkpoint_name) or work / job.checkpoint_name
            result, resumed = self.run(
                job.content,
                job.style_input,
                job.settings,
                job.run,
                regions=job.regions or None,
                checkpoint=checkpoint,
                checkpoint_info={
                    "batch_job": job.name,
                    "output": str(folder.location_of(job.output_name)),
                },
                callback=mirror if folder.remote else callback,
            )
            save_image(work / job.output_name, result.image)
            digest = sha256_of_file(work / job.output_name)
            folder.publish(job.output_name, keep_local=False)
        except KeyboardInterrupt:
            mirror.publish()  # the checkpoint written on Ctrl-C, for the next run
            raise
        except RunDiverged as error:
            folder.remove(job.checkpoint_name)  # resuming would diverge again
            return failed_row(job, error, seconds=_since(start), **extra)
        except Exception as error:
            mirror.publish()
            interrupt = interrupt_in(error)
            if interrupt is not None:  # Ctrl-C inside an import: not the job's fault
                raise interrupt from None
            return failed_row(job, error, seconds=_since(start), **extra)
        if self.keep_checkpoints:
            mirror.publish()
        else:
            folder.remove(job.checkpoint_name)
        last = result.history[-1]
        return {
            **base_row(job, DONE),
            "output_sha256": digest,
            "losses": {
                "total": last.total,
                "content": last.content,
                "style": last.style,
                "tv": last.tv,
            },
            "iterations": last.iteration,
            "best_iteration": result.best_iteration,
            "run_status": result.status,
            "seconds": _since(start),
            "resumed_from": resumed,
            "error": None,
            **extra,
        }


@dataclass(frozen=True)
class Stopper:
    """A run's callback that ends it (:class:`naah.runs.StopRun`) once ``stop``
    says so, as :func:`naah.runs.optimize`'s ``stop`` does (picklable when
    ``stop`` is, for Dask workers)."""

    stop: Callable[[IterationRecord], bool]

    def __call__(self, record: IterationRecord, image: object) -> None:
        if self.stop(record):
            raise StopRun


class _CheckpointMirror:
    """A job's iteration callback that copies each new checkpoint of the job's
    workspace to its remote folder, so that another worker can continue the job
    (a local folder is its own workspace: nothing to copy)."""

    def __init__(self, folder: Folder, name: str, callback: Callback | None) -> None:
        self.folder, self.name, self.callback = folder, name, callback
        self._published: int | None = None

    def __call__(self, record: IterationRecord, image: np.ndarray) -> None:
        if self.callback is not None:
            self.callback(record, image)
        self.publish()

    def publish(self) -> None:
        """Copy the checkpoint if it changed since the last copy."""
        if not self.folder.remote:
            return
        try:
            written = (self.folder.workspace() / self.name).stat().st_mtime_ns
        except FileNotFoundError:
            return
        if written != self._published:
            self.folder.publish(self.name)
            self._published = written


def _cache_key(settings: Settings, regions: int) -> str:
    """Jobs of one key share a compiled problem: one per loss graph and number of
    regions."""
    return f"{graph_key(settings)} regions={regions}"


def _identity(settings: Settings) -> str:
    """What a checkpoint's run must share with a job to be its run: every setting
    but the iterations (a new total) and, coarse to fine, the size (each scale's)."""
    values = settings.to_json()
    del values["iterations"]
    if settings.schedule.scales is not None:
        del values["size"]
    return canonical_json(values)


def _since(start: float) -> float:
    return round(time.perf_counter() - start, 3)
