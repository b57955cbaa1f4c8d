"""``naah batch`` and ``naah sheet``: outputs never become inputs, a sheet never
replaces an input or output, and an interrupt's exit status is its signal's."""

import os
import shutil
import signal
import time

import pytest

from naah.batch import BatchProgress
from naah.batch.manifest import FAILED, Manifest
from naah.batch.worker import Executor

SIZE, ITERATIONS = 32, 2


@pytest.fixture
def contents(inputs, tmp_path):
    """A copy of the two content images: a folder the batch may write into."""
    return shutil.copytree(inputs / "contents", tmp_path / "in")


def batch(inputs, weights_file, contents, out_dir, *options):
    return [
        "batch", "--content", contents, "--style", inputs / "styles" / "s1.png",
        "--out-dir", out_dir, "--weights", weights_file, "--size", SIZE,
        "--iterations", ITERATIONS, "--threads", 1, "-q", *options,
    ]  # fmt: skip


def files_of(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_an_out_dir_that_is_the_content_folder_plans_the_same_jobs_again(
    inputs, weights_file, contents, naah
):
    argv = batch(inputs, weights_file, contents, contents)
    status, _, err = naah(argv)
    assert (status, err) == (0, "")
    outputs = sorted(p.name for p in contents.glob("*__*.png"))
    assert len(outputs) == 2
    status, planned, _ = naah([*argv, "--dry-run"])
    assert status == 0 and sorted(planned.split()) == [
        str(contents / name) for name in outputs
    ]
    status, _, err = naah([*argv[:-1]])  # not quiet: it says what it skipped
    assert status == 0 and "0 done, 0 failed, 2 skipped" in err


def test_a_sheet_that_is_a_content_image_is_refused_before_any_work(
    inputs, weights_file, contents, tmp_path, naah
):
    before = files_of(contents)
    sheet = contents / "c1.png"
    status, out, err = naah(
        batch(inputs, weights_file, contents, tmp_path / "out", "--sheet", sheet)
    )
    assert (status, out) == (2, "") and err.count("\n") == 1
    assert (
        f"--sheet {str(sheet)!r} is the content image {str(sheet)!r}; a contact "
        "sheet never replaces a batch's inputs or outputs: choose another name"
    ) in err
    assert files_of(contents) == before and not (tmp_path / "out").exists()


def test_a_sheet_where_a_rerun_would_take_it_as_an_input_is_refused(
    inputs, weights_file, contents, naah
):
    sheet = contents / "sheet.png"
    argv = batch(inputs, weights_file, contents, contents, "--sheet", sheet)
    status, _, err = naah(argv)
    assert status == 2 and err.count("\n") == 1
    assert (
        f"--sheet {str(sheet)!r} is where --content {contents} takes its images "
        "from: the batch run again would take the sheet as one; write it elsewhere"
    ) in err
    assert sorted(p.name for p in contents.iterdir()) == ["c1.png", "c2.png"]


def test_naah_sheet_refuses_to_write_over_a_jobs_output(
    inputs, weights_file, contents, tmp_path, naah
):
    out = tmp_path / "out"
    assert naah(batch(inputs, weights_file, contents, out))[0] == 0
    output = next(out.glob("c1__*.png"))
    before = output.read_bytes()
    status, _, err = naah(["sheet", out, "-o", output])
    assert status == 2 and err.count("\n") == 1
    assert f"-o {str(output)!r} is the output of job {output.stem}" in err
    assert output.read_bytes() == before


# -- interrupts: 130 for Ctrl-C, 128 + the signal's number for SIGTERM and SIGHUP -------
@pytest.fixture
def unhandled_sighup():
    """The SIGHUPs that reach this process's own handler: none while naah handles
    them (and a SIGHUP it missed is recorded, not the end of the tests)."""
    seen = []
    previous = signal.signal(signal.SIGHUP, lambda signum, frame: seen.append(signum))
    yield seen
    signal.signal(signal.SIGHUP, previous)


def signal_at_the_first_job(monkeypatch, signum):
    def job_started(self, job):
        os.kill(os.getpid(), signum)
        time.sleep(10)  # the handler raises here
        raise AssertionError(f"signal {signum} did not stop the batch")

    monkeypatch.setattr(BatchProgress, "job_started", job_started)


@pytest.mark.parametrize(
    ("signum", "status"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)],
)
def test_a_signal_stops_the_batch_with_its_exit_status(
    inputs, weights_file, contents, tmp_path, naah, monkeypatch, unhandled_sighup,
    signum, status,
):  # fmt: skip
    signal_at_the_first_job(monkeypatch, signum)
    code, _, err = naah(batch(inputs, weights_file, contents, tmp_path / "out"))
    assert code == status, err
    assert err.splitlines() == [
        "naah: batch interrupted (0 done, 0 failed, 0 skipped); run the same command "
        "again to continue: jobs in progress go on from their checkpoints",
        "naah: interrupted",
    ]
    assert unhandled_sighup == []


def test_ctrl_c_inside_an_import_stops_the_batch_and_fails_no_job(
    inputs, weights_file, contents, tmp_path, naah, monkeypatch
):
    def import_interrupted(*args, **kwargs):
        # pybind11's module initialisation, on Ctrl-C: the interrupt is the cause.
        raise ImportError("initialization failed") from KeyboardInterrupt()

    monkeypatch.setattr(Executor, "run", import_interrupted)
    status, _, err = naah(batch(inputs, weights_file, contents, tmp_path / "out"))
    assert status == 130, err
    assert "batch interrupted (0 done, 0 failed, 0 skipped)" in err
    rows = Manifest(tmp_path / "out").rows()
    assert not [r for r in rows if r["status"] == FAILED]
