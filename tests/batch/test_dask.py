"""The Dask engine on a real distributed.LocalCluster of 2 worker processes."""

import os
import signal
import threading
import time

import numpy as np
import pytest
from PIL import Image

from naah.batch import LocalEngine, Plan, run_batch
from naah.batch.manifest import DONE, Manifest
from naah.runtime import Runtime

distributed = pytest.importorskip("distributed")
from naah.batch.cluster import RESOURCE, DaskEngine  # noqa: E402

pytestmark = pytest.mark.slow
SIZE = 40


def pixels(path):
    with Image.open(path) as image:
        return np.asarray(image)


@pytest.fixture(scope="module")
def client():
    # One thread per worker, whatever the machine, so that its jobs compute what a
    # local engine on one thread computes (the thread count changes the last bits).
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True,
            resources={RESOURCE: 1}, dashboard_address=":0",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):  # fmt: skip
        yield client


def out_dir(path, as_url):
    """The batch folder ``path``, or the same folder as a file:// URL (which goes
    through fsspec, as s3:// would: staged in each worker's workspace, uploaded)."""
    return f"file://{path}" if as_url else path


@pytest.mark.parametrize("as_url", [False, True], ids=["folder", "url"])
def test_a_local_cluster_gives_the_same_pixels_under_the_same_names(
    inputs, weights_file, client, tmp_path, as_url
):
    jobs = Plan(
        [str(inputs / "contents")], [str(inputs / "styles")],
        base={"size": SIZE, "iterations": 4}, grid={"beta": [1e2, 1e4]},
    ).jobs()  # fmt: skip
    local = LocalEngine(weights_file, runtime=Runtime(threads=1))
    run_batch(jobs, tmp_path / "local", engine=local, progress=False)
    engine = DaskEngine(client, weights=weights_file)
    report = run_batch(
        jobs, out_dir(tmp_path / "dask", as_url), engine=engine, progress=False
    )
    assert report.summary() == "4 done, 0 failed, 0 skipped"
    workers = {row["worker"].split()[0] for row in report.rows}
    assert workers <= set(client.scheduler_info()["workers"])
    names = sorted(p.name for p in (tmp_path / "local").glob("*.png"))
    assert sorted(p.name for p in (tmp_path / "dask").glob("*.png")) == names
    assert len(names) == 4
    for name in names:
        np.testing.assert_array_equal(
            pixels(tmp_path / "dask" / name), pixels(tmp_path / "local" / name)
        )


@pytest.mark.parametrize("as_url", [False, True], ids=["folder", "url"])
def test_a_worker_killed_mid_job_has_its_job_finished_by_the_other_from_its_checkpoint(
    inputs, weights_file, client, tmp_path, as_url
):
    jobs = Plan(
        [str(inputs / "contents" / "c1.png")], [str(inputs / "styles")],
        base={"size": SIZE, "iterations": 150, "optimizer": "adam"},
    ).jobs()  # fmt: skip
    out = tmp_path / "out"
    checkpoint = out / jobs[0].checkpoint_name
    engine = DaskEngine(client, weights=weights_file, checkpoint_every=5)
    killed, others = [], set()

    def kill_when_checkpointed():
        """In the test's thread: wait for the job's first checkpoint, then kill
        the worker process that runs it."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            running = {w: ks for w, ks in client.processing().items() if ks}
            if running and checkpoint.is_file():
                (address,) = running
                others.update(set(client.scheduler_info()["workers"]) - {address})
                pid = client.run(os.getpid, workers=[address])[address]
                os.kill(pid, signal.SIGKILL)
                killed.append(address)
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_when_checkpointed)
    killer.start()
    report = run_batch(jobs, out_dir(out, as_url), engine=engine, progress=False)
    killer.join()
    assert killed, "the job finished before its worker could be killed"
    (row,) = report.rows
    assert row["status"] == DONE
    assert row["resumed_from"] is not None and row["resumed_from"] >= 5
    assert row["worker"].split()[0] in others  # not the killed one, nor its restart
    assert Manifest(out).is_intact(row)


def test_a_sweep_runs_on_a_dask_client_like_here(
    inputs, weights_file, client, tmp_path
):
    from naah.experiments import Sweep

    content, style = inputs / "contents" / "c1.png", inputs / "styles" / "s1.png"
    grid = {"beta": [1e2, 1e4]}
    here = Sweep(content, style, weights=weights_file).run(
        grid, tmp_path / "here", iterations=3, size=32
    )
    there = Sweep(content, style, weights=weights_file).run(
        grid, tmp_path / "there", iterations=3, size=32, client=client
    )
    assert [p.image_path.name for p in there] == [p.image_path.name for p in here]
    assert [p.loss for p in there] == pytest.approx([p.loss for p in here], rel=1e-3)
    assert all(p.image_path.is_file() and p.json_path.is_file() for p in there)
