"""Batch folders that are fsspec URLs: naah.batch.storage, and batches written to
``memory://`` (fsspec's in-process file system, which goes through the same calls
as s3:// or gs://) compared with batches written to a local folder."""

import hashlib
import io
import pickle
import uuid

import numpy as np
import pytest
from PIL import Image

from naah.batch import BatchInterrupted, LocalEngine, Plan, run_batch
from naah.batch.manifest import DONE, SKIPPED, Manifest
from naah.batch.sheet import CELL, EMPTY
from naah.batch.storage import Folder, StorageError, is_url
from naah.runtime import Runtime

fsspec = pytest.importorskip("fsspec")
SIZE = 40


@pytest.fixture
def url():
    """A new memory:// folder, removed afterwards."""
    location = f"memory://naah-test-{uuid.uuid4().hex[:8]}/run"
    yield location
    memory = fsspec.filesystem("memory")
    root = location.removeprefix("memory://").split("/")[0]
    if memory.exists(f"/{root}"):
        memory.rm(f"/{root}", recursive=True)


@pytest.fixture(params=["local", "url"])
def folder(request, tmp_path, url):
    return Folder(tmp_path / "run" if request.param == "local" else url)


def test_is_url_tells_urls_from_paths():
    assert is_url("s3://bucket/run") and is_url("file:///shared/run")
    assert is_url("simplecache::s3://bucket/run")
    assert not is_url("out/run") and not is_url("/abs/run") and not is_url("C:/x")


def test_files_are_written_read_and_checksummed(folder):
    data = bytes(range(256)) * 300
    folder.write_bytes("image.png", data)
    assert folder.read_bytes("image.png") == data
    assert folder.sha256("image.png") == hashlib.sha256(data).hexdigest()
    assert folder.exists("image.png") and not folder.exists("other.png")
    with pytest.raises(FileNotFoundError):
        folder.read_bytes("other.png")
    folder.remove("image.png")
    folder.remove("image.png")  # gone already: nothing to do
    assert not folder.exists("image.png")


def test_lines_are_appended_after_a_line_cut_short(folder):
    folder.append_line("rows.jsonl", '{"a": 1}\n')
    folder.write_bytes("rows.jsonl", folder.read_bytes("rows.jsonl") + b'{"cut')
    folder.append_line("rows.jsonl", '{"b": 2}\n')
    assert folder.read_text("rows.jsonl") == '{"a": 1}\n{"cut\n{"b": 2}\n'


def test_published_files_come_back_by_fetch_and_leave_no_temporaries(folder):
    (folder.workspace() / "job.ckpt").write_bytes(b"state")
    folder.publish("job.ckpt", keep_local=False)
    assert folder.read_bytes("job.ckpt") == b"state"
    assert folder.fetch("job.ckpt").read_bytes() == b"state"
    assert folder.fetch("missing.ckpt") is None
    if folder.remote:
        listed = folder.fs.ls(folder.location.removeprefix("memory://"), detail=False)
        assert [name.rsplit("/", 1)[-1] for name in listed] == ["job.ckpt"]


def test_a_pickled_remote_folder_gets_its_own_workspace(url):
    folder = Folder(url)
    folder.write_bytes("a.txt", b"x")
    copy = pickle.loads(pickle.dumps(folder))
    assert copy == folder and copy.read_bytes("a.txt") == b"x"
    assert copy.workspace() != folder.workspace()


def test_an_unknown_protocol_says_what_is_missing():
    with pytest.raises(StorageError, match="nosuchfs://bucket/run.*own package"):
        Folder("nosuchfs://bucket/run").mkdir()


# -- batches ---------------------------------------------------------------------
def jobs_of(inputs, **base):
    return Plan(
        [str(inputs / "contents")], [str(inputs / "styles" / "s1.png")],
        base={"size": SIZE, "iterations": 3, **base}, grid={"beta": [1e2, 1e4]},
    ).jobs()  # fmt: skip


@pytest.fixture(scope="module")
def engine(weights_file):
    return LocalEngine(weights_file, runtime=Runtime(threads=1), checkpoint_every=2)


def remote_pixels(folder, name):
    return pixels(io.BytesIO(folder.read_bytes(name)))


def pixels(file):
    with Image.open(file) as image:
        return np.asarray(image)


def test_a_batch_into_a_url_matches_one_into_a_folder_and_a_rerun_skips_it(
    inputs, engine, tmp_path, url
):
    jobs = jobs_of(inputs)
    run_batch(jobs, tmp_path / "local", engine=engine, progress=False)
    report = run_batch(jobs, url, engine=engine, progress=False)
    assert report.summary() == "4 done, 0 failed, 0 skipped" and report.out_dir == url
    remote = Folder(url)
    rows = Manifest(url).rows()
    assert [(r["name"], r["status"]) for r in rows] == [(j.name, DONE) for j in jobs]
    for job, row in zip(jobs, rows, strict=True):
        assert row["output_sha256"] == remote.sha256(job.output_name)
        np.testing.assert_array_equal(
            remote_pixels(remote, job.output_name),
            pixels(tmp_path / "local" / job.output_name),
        )
        assert not remote.exists(job.checkpoint_name)
    assert len(remote.read_text("summary.csv").splitlines()) == 1 + len(jobs)
    # A rerun uploads nothing but the manifest's skipped rows, and loads no weights.
    store = fsspec.filesystem("memory").store
    before = {k: v for k, v in store.items() if not k.endswith("manifest.jsonl")}
    nowhere = LocalEngine(tmp_path / "no-such-weights.mat")
    again = run_batch(jobs, url, engine=nowhere, progress=False)
    assert again.summary() == "0 done, 0 failed, 4 skipped"
    assert nowhere.executor._weights is None
    after = {k: v for k, v in store.items() if not k.endswith("manifest.jsonl")}
    assert after.keys() == before.keys()
    assert all(after[k] is before[k] for k in before)  # the same objects: not rewritten
    assert [r["status"] for r in Manifest(url).rows()[len(jobs) :]] == [SKIPPED] * 4


def test_an_interrupted_job_continues_from_its_checkpoint_at_the_url(
    inputs, engine, url, tmp_path, ctrl_c_at
):
    jobs = jobs_of(inputs, iterations=8, optimizer="adam", learning_rate=5.0)[:2]
    ctrl_c_at(jobs[1], 5)
    with pytest.raises(BatchInterrupted):
        run_batch(jobs, url, engine=engine, progress=False)
    remote = Folder(url)
    assert remote.exists(jobs[1].checkpoint_name)  # uploaded on Ctrl-C
    ctrl_c_at(None)
    # Another process would have another workspace: make this one's empty.
    engine_elsewhere = LocalEngine(engine.executor.weights, runtime=Runtime(threads=1))
    report = run_batch(jobs, url, engine=engine_elsewhere, progress=False)
    assert [r["status"] for r in report.rows] == [SKIPPED, DONE]
    assert report.rows[1]["resumed_from"] == 5
    run_batch(jobs, tmp_path / "whole", engine=engine, progress=False)
    np.testing.assert_array_equal(
        remote_pixels(remote, jobs[1].output_name),
        pixels(tmp_path / "whole" / jobs[1].output_name),
    )


def test_naah_batch_and_naah_sheet_take_a_url(
    naah, inputs, weights_file, url, tmp_path
):
    argv = ["batch", "--content", inputs / "contents" / "c1.png", "--style",
            inputs / "styles", "--out-dir", url, "--weights", weights_file, "--size",
            SIZE, "--iterations", 2, "--grid", "beta=1e2,1e4", "--threads", 1, "-q"]  # fmt: skip
    status, _, stderr = naah(argv)
    assert (status, stderr) == (0, "")
    assert [r["status"] for r in Manifest(url).rows()] == [DONE, DONE]
    status, _, stderr = naah(
        [
            "sheet",
            f"{url}/manifest.jsonl",
            "-o",
            tmp_path / "sheet.png",
            "--rows",
            "beta",
        ]
    )
    assert status == 0 and "(2 rows × 1 columns)" in stderr
    sheet = pixels(tmp_path / "sheet.png")
    empty = (sheet == EMPTY).all(axis=-1).sum()  # grey of a cell without its image
    assert empty < CELL * CELL / 10  # (a few pixels of anti-aliased text)


def test_naah_batch_refuses_a_url_it_cannot_write(naah, inputs, weights_file):
    argv = ["batch", "--content", inputs / "contents", "--style", inputs / "styles",
            "--out-dir", "nosuchfs://bucket/run", "--weights", weights_file]  # fmt: skip
    status, _, stderr = naah(argv)
    assert status == 2
    assert "nosuchfs://bucket/run" in stderr and "own package" in stderr


# -- a file where the folder should be -------------------------------------------------
def test_an_out_dir_that_is_a_file_is_refused_naming_it(tmp_path):
    file = tmp_path / "notes.txt"
    file.write_text("not a folder")
    for location, says in (
        (file, f"--out-dir {str(file)!r} is a file, not a folder; give a folder"),
        (
            file / "run",
            f"--out-dir {str(file / 'run')!r}: {str(file)!r} is a file, so no folder",
        ),
    ):
        folder = Folder(location)
        with pytest.raises(StorageError) as checked:
            folder.check()
        assert str(checked.value).startswith(says)
        with pytest.raises(NotADirectoryError) as made:
            folder.mkdir()  # what a library caller reaches: the same message
        assert str(made.value) == str(checked.value)
    Folder(tmp_path / "new" / "run").check()  # missing folders are made later


def test_naah_batch_refuses_an_out_dir_that_is_a_file_before_any_work(
    inputs, tmp_path, naah
):
    file = tmp_path / "out"
    file.write_text("")
    for dry_run in ([], ["--dry-run"]):
        status, stdout, stderr = naah(
            ["batch", "--content", inputs / "contents", "--style", inputs / "styles",
             "--out-dir", file, *dry_run]
        )  # fmt: skip
        assert (status, stdout) == (2, "")
        assert "is a file, not a folder" in stderr and "Errno" not in stderr
        assert stderr.count("\n") == 1
