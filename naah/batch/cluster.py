"""The Dask engine: batch jobs and sweep points on the workers of a Dask cluster.

Needs ``distributed`` (``pip install 'naah[dask]'``). A cluster is:

* ``local:N`` — a :class:`distributed.LocalCluster` of N worker processes on this
  machine, each with ``cores // N`` threads, started and stopped with the batch;
  N is at most what the machine holds
  (:func:`naah.batch.settings.max_local_workers`: one a core, and
  ``WORKER_MEMORY`` each);
* ``tcp://HOST:PORT`` — the scheduler of a running cluster (``dask scheduler`` and
  ``dask worker``, dask-jobqueue on Slurm or PBS, dask-kubernetes …; see
  ``docs/batch.md``); or a :class:`distributed.Client` (a notebook's). An address
  where nothing listens is refused at once, and one that does not answer as a
  scheduler within ``CONNECT_TIMEOUT`` seconds then (:class:`ClusterError`).

Each worker process keeps one :class:`naah.batch.worker.Executor` per
configuration (a module-level cache, filled on first use): it loads the weights and
compiles each loss graph once for all the jobs it runs. A worker runs one job at a
time with all its threads when it declares the resource ``naah_job=1`` (local
clusters do; start others' workers with ``--resources naah_job=1``); otherwise each
job gets one thread, and the worker runs as many at once as it has threads.

Tasks return only manifest rows; images go to the batch folder, which every worker
must reach: a folder at the same path on each (a shared file system), or an fsspec
URL (``s3://bucket/run``; :mod:`naah.batch.storage`). A task whose worker dies is
rescheduled by Dask on another worker (up to ``distributed.scheduler.allowed-
failures`` times), where the job continues from its last checkpoint.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from distributed import Client, KilledWorker, LocalCluster, as_completed, get_worker

from naah.batch.engines import BatchProgress, Record
from naah.batch.jobs import Job
from naah.batch.manifest import failed_row
from naah.batch.settings import local_workers
from naah.batch.storage import Folder
from naah.batch.worker import Executor, Run
from naah.checkpointing import CHECKPOINT_EVERY
from naah.io.images import ImageLike
from naah.io.weights import VGGWeights
from naah.optim import IterationRecord
from naah.runtime import Runtime
from naah.style_transfer import StyleResult

#: The worker resource that lets a worker run one naah job at a time.
RESOURCE = "naah_job"
#: Seconds to wait for the first worker of a cluster (a batch system may take
#: that long to start one).
WORKER_TIMEOUT = 120.0
#: Seconds a scheduler has to accept the connection and answer the client's first
#: message: milliseconds on a network, seconds across a busy one; past this the
#: address is refused (issue 21 asks for a refusal within 30 s; distributed's own
#: retries took 121 s for a closed port, and over 200 s for a silent one).
CONNECT_TIMEOUT = 20.0
#: How often Dask reruns a task that raised (a job's own failure is its row and
#: raises nothing; this covers failures around it, as a file system hiccup).
RETRIES = 2
# Each worker process's executors, by configuration (filled by tasks, on workers).
_EXECUTORS: dict[WorkerConfig, Executor] = {}


@dataclass(frozen=True)
class WorkerConfig:
    """How a worker runs naah jobs: it keys the worker's executor cache."""

    weights: str | None = None
    threads: int | None = None  # None: the worker's own thread count
    checkpoint_every: int = CHECKPOINT_EVERY
    keep_checkpoints: bool = False
    keep_freed_memory: bool = True


def _executor(config: WorkerConfig) -> tuple[Executor, str]:
    """This worker's executor for ``config``, and the worker's address."""
    worker = get_worker()
    threads = config.threads or worker.state.nthreads
    key = WorkerConfig(
        config.weights,
        threads,
        config.checkpoint_every,
        config.keep_checkpoints,
        config.keep_freed_memory,
    )
    if key not in _EXECUTORS:
        _EXECUTORS[key] = Executor(
            config.weights,
            runtime=Runtime(
                threads=threads, keep_freed_memory=config.keep_freed_memory
            ),
            checkpoint_every=config.checkpoint_every,
            keep_checkpoints=config.keep_checkpoints,
        )
    return _EXECUTORS[key], worker.address


def run_job_task(job: Job, folder: Folder, config: WorkerConfig) -> dict[str, Any]:
    """The task of one batch job: its manifest row."""
    executor, address = _executor(config)
    row = executor.run_job(job, folder)
    row["worker"] = f"{address} ({row.get('worker')})"
    return row


def run_task(
    content: ImageLike,
    style: ImageLike,
    settings: dict[str, Any],
    run: dict[str, Any],
    config: WorkerConfig,
    stop: Callable[[IterationRecord], bool] | None = None,
) -> StyleResult:
    """The task of one run (a sweep point, an optimiser comparison's run): its
    result (image, history and the snapshots ``run`` asks for)."""
    executor, _ = _executor(config)
    (result,) = executor.map_runs([(content, style, settings, run)], stop=stop)
    return result


class ClusterError(ConnectionError):
    """A Dask cluster that cannot be reached, or that has no worker; the message
    names the address and what to check."""


class DaskEngine:
    """Runs jobs on a Dask cluster.

    Parameters
    ----------
    client : distributed.Client
    weights : path or None
        The weights file as the workers see it (None: each worker's
        ``$NAAH_WEIGHTS`` or cache). A VGGWeights is passed as its file's path.
    checkpoint_every, keep_checkpoints
        As for :class:`naah.batch.LocalEngine`.
    retries : int
    owns_cluster : bool
        Close the client and its cluster with :meth:`close` (``start`` sets it).

    Examples
    --------
    >>> with DaskEngine.start("local:2") as engine:  # doctest: +SKIP
    ...     print(engine.dashboard_link)
    ...     report = run_batch(jobs, "out/", engine=engine)
    """

    reports_iterations = False

    def __init__(
        self,
        client: Client,
        *,
        weights: str | os.PathLike[str] | VGGWeights | None = None,
        checkpoint_every: int = CHECKPOINT_EVERY,
        keep_checkpoints: bool = False,
        retries: int = RETRIES,
        owns_cluster: bool = False,
    ) -> None:
        if isinstance(weights, VGGWeights):
            weights = weights.source.path
        self.client = client
        self.weights = None if weights is None else os.path.abspath(weights)
        self.checkpoint_every = checkpoint_every
        self.keep_checkpoints = keep_checkpoints
        self.retries = retries
        self.owns_cluster = owns_cluster

    @classmethod
    def start(
        cls,
        address: str,
        *,
        dashboard_address: str | None = ":8787",
        timeout: float = CONNECT_TIMEOUT,
        **options: Any,
    ) -> DaskEngine:
        """An engine on ``local:N`` (a new LocalCluster of N processes) or on the
        scheduler at ``tcp://HOST:PORT`` (see :func:`connect`); ``options`` go to
        the constructor."""
        client = connect(
            address,
            dashboard_address=dashboard_address,
            resources={RESOURCE: 1},
            timeout=timeout,
        )
        return cls(client, owns_cluster=True, **options)

    @property
    def dashboard_link(self) -> str:
        return str(self.client.dashboard_link)

    def close(self) -> None:
        if self.owns_cluster:
            disconnect(self.client)

    def __enter__(self) -> DaskEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _config(self) -> tuple[WorkerConfig, dict[str, int] | None]:
        """The workers' configuration and the tasks' resources."""
        try:
            self.client.wait_for_workers(1, timeout=WORKER_TIMEOUT)
        except TimeoutError:
            address = getattr(self.client.scheduler, "address", "the scheduler")
            raise ClusterError(
                f"no Dask worker joined {address} within {WORKER_TIMEOUT:g} s; start "
                f"workers with: dask worker {address} --resources {RESOURCE}=1"
            ) from None
        workers = self.client.scheduler_info()["workers"].values()
        one_at_a_time = all(RESOURCE in (w.get("resources") or {}) for w in workers)
        config = WorkerConfig(
            self.weights,
            None if one_at_a_time else 1,
            self.checkpoint_every,
            self.keep_checkpoints,
        )
        return config, ({RESOURCE: 1} if one_at_a_time else None)

    def run(
        self,
        jobs: Sequence[Job],
        folder: Folder,
        record: Record,
        progress: BatchProgress,
    ) -> None:
        config, resources = self._config()
        futures = {
            self.client.submit(
                run_job_task,
                job,
                folder,
                config,
                key=_key(job.name),
                resources=resources,
                retries=self.retries,
                pure=False,
            ): job
            for job in jobs
        }
        try:
            for future in as_completed(futures):
                job = futures[future]
                try:
                    row = future.result()
                except KilledWorker as error:
                    row = failed_row(job, f"its workers died ({error}); out of memory?")
                record(row)
        except BaseException:
            self.client.cancel(list(futures))
            raise

    def map_runs(
        self,
        runs: Sequence[Run],
        *,
        stop: Callable[[IterationRecord], bool] | None = None,
    ) -> list[StyleResult]:
        """Runs (content, style, settings, run) on the workers: their results, in
        order, as :meth:`naah.batch.Executor.map_runs` gives them here. ``stop``
        (picklable), if given, ends each run after the first iteration for which
        it is true."""
        config, resources = self._config()
        futures = [
            self.client.submit(
                run_task,
                *run,
                config,
                stop,
                key=_key("sweep"),
                resources=resources,
                retries=self.retries,
                pure=False,
            )
            for run in runs
        ]
        try:
            return list(self.client.gather(futures))
        except BaseException:
            self.client.cancel(futures)
            raise


def connect(
    address: str,
    *,
    dashboard_address: str | None = ":8787",
    resources: dict[str, float] | None = None,
    timeout: float = CONNECT_TIMEOUT,
) -> Client:
    """A client of ``local:N`` (a new LocalCluster of N processes, each with its
    share of the cores) or of the scheduler at ``tcp://HOST:PORT``.

    Parameters
    ----------
    timeout : float
        Seconds the scheduler has to accept the connection and answer.

    Raises
    ------
    ValueError
        For any other address, or more local workers than
        :func:`naah.batch.settings.max_local_workers`, saying what to give.
    ClusterError
        If nothing listens at the address (at once), or it does not answer as a
        Dask scheduler within ``timeout`` seconds.
    """
    try:
        workers = local_workers(address)
    except ValueError as error:
        raise ValueError(f"--dask {address!r}: {error}") from None
    if workers is not None:
        cores = len(os.sched_getaffinity(0))
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=max(1, cores // workers),
            processes=True,
            resources=resources,
            dashboard_address=dashboard_address,
        )
        return Client(cluster)
    _check_answering(address, timeout)
    try:
        return Client(address, timeout=timeout)
    except OSError as error:
        raise ClusterError(
            f"--dask {address}: no Dask scheduler answered within {timeout:g} s "
            f"({error}); check that a scheduler (dask scheduler) listens there"
        ) from None


def _check_answering(address: str, timeout: float) -> None:
    """Refuse a scheduler address where nothing listens (at once: distributed
    retries a refused connection until its timeout), or whose server does not send
    the first message within ``timeout`` seconds (a Dask scheduler sends its
    handshake as soon as it accepts; distributed would wait for it forever)."""
    from distributed.comm import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address)
        host, port = parse_host_port(location)
    except ValueError:
        return  # no host and port to try: distributed says what is wrong
    if scheme not in ("tcp", "tls"):
        return
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host, port), timeout=timeout) as probe:
            if scheme == "tls":
                return  # the TLS handshake comes first, and the Client's timeout
            probe.settimeout(max(0.001, deadline - time.monotonic()))
            answered = probe.recv(1)
    except TimeoutError:
        raise ClusterError(
            f"--dask {address}: no Dask scheduler answered within {timeout:g} s; "
            "check the host and the port (dask scheduler prints its address), and "
            "any firewall between"
        ) from None
    except socket.gaierror as error:
        raise ClusterError(
            f"--dask {address}: cannot find host {host!r} ({error.strerror}); check "
            "its spelling"
        ) from None
    except OSError as error:
        cause = error.strerror or str(error)
        raise ClusterError(
            f"--dask {address}: cannot connect ({cause}); start the scheduler "
            "(dask scheduler) or give the address it prints"
        ) from None
    if not answered:
        raise ClusterError(
            f"--dask {address}: the server there closed the connection without "
            "answering; give the address of a Dask scheduler (dask scheduler prints it)"
        )


def disconnect(client: Client) -> None:
    """Close ``client``, and the local cluster it started."""
    cluster = client.cluster
    client.close()
    if cluster is not None:
        cluster.close()


def _key(name: str) -> str:
    """A task key that names the job and is new each time (Dask would hand back an
    earlier result for a key it still holds)."""
    return f"naah-{name}-{uuid.uuid4().hex[:8]}"
