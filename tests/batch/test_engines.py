"""Batches on the local engine, and the ``naah batch`` and ``naah sheet`` commands,
on fixture weights at 33x40 pixels."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from naah.batch import (
    BatchInterrupted,
    BatchProgress,
    LocalEngine,
    Plan,
    contact_sheet,
    run_batch,
)
from naah.batch.manifest import DONE, FAILED, SKIPPED, Manifest
from naah.io.files import sha256_of_file
from naah.runtime import Runtime

SIZE, ITERATIONS = 40, 3
GRID = {"beta": [1e2, 1e4]}


def pixels(path):
    with Image.open(path) as image:
        return np.asarray(image)


def plan(inputs, contents=None, **base):
    return Plan(
        [str(contents or inputs / "contents")],
        [str(inputs / "styles" / "s1.png")],
        base={"size": SIZE, "iterations": ITERATIONS, **base},
        grid=GRID,
    )


@pytest.fixture(scope="module")
def engine(weights_file):
    return LocalEngine(weights_file, runtime=Runtime(threads=1), checkpoint_every=2)


@pytest.fixture(scope="module")
def finished(inputs, engine, tmp_path_factory):
    """A batch of 2 contents x 1 style x 2 betas, run once."""
    folder = tmp_path_factory.mktemp("batch")
    jobs = plan(inputs).jobs()
    return folder, jobs, run_batch(jobs, folder, engine=engine, progress=False)


def test_each_job_writes_its_output_and_a_manifest_row(finished, engine):
    folder, jobs, report = finished
    assert report.summary() == "4 done, 0 failed, 0 skipped"
    assert engine.executor.compiled == 1  # four jobs, one loss graph
    rows = Manifest(folder).rows()
    assert [r["name"] for r in rows] == [j.name for j in jobs]
    for job, row in zip(jobs, rows, strict=True):
        output = folder / job.output_name
        assert row["status"] == DONE and row["error"] is None
        assert row["output"] == output.name
        assert row["output_sha256"] == sha256_of_file(output)
        assert row["content"] == {
            "path": job.content,
            "sha256": sha256_of_file(job.content),
        }
        assert row["settings"]["beta"] == job.varied["beta"]
        assert row["settings"]["size"] == SIZE and row["settings"]["pooling"] == "max"
        assert row["iterations"] == ITERATIONS and row["seconds"] > 0
        assert set(row["losses"]) == {"total", "content", "style", "tv"}
        assert pixels(output).shape == (33, SIZE, 3)
    assert not list(folder.glob("*.ckpt"))  # removed once the outputs are written
    summary = (folder / "summary.csv").read_text().splitlines()
    assert len(summary) == 1 + len(jobs)


def test_a_rerun_skips_everything_rewrites_nothing_and_loads_no_weights(finished):
    folder, jobs, _ = finished
    files = sorted(p for p in folder.iterdir() if p.name != "manifest.jsonl")
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in files}
    manifest_before = (folder / "manifest.jsonl").read_text()
    nowhere = LocalEngine(folder / "no-such-weights.mat")  # loading would fail
    report = run_batch(plan_jobs := jobs, folder, engine=nowhere, progress=False)
    assert report.summary() == "0 done, 0 failed, 4 skipped"
    assert nowhere.executor._weights is None
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in files} == before
    assert sorted(p for p in folder.iterdir() if p.name != "manifest.jsonl") == files
    manifest_after = (folder / "manifest.jsonl").read_text()
    assert manifest_after.startswith(manifest_before)  # appended to, never rewritten
    added = [
        json.loads(line) for line in manifest_after[len(manifest_before) :].splitlines()
    ]
    assert [r["status"] for r in added] == [SKIPPED] * len(plan_jobs)


def test_a_failing_job_is_recorded_and_the_others_finish(inputs, engine, tmp_path):
    contents = tmp_path / "contents"
    contents.mkdir()
    (contents / "a_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (contents / "c1.png").write_bytes((inputs / "contents" / "c1.png").read_bytes())
    out = tmp_path / "out"
    jobs = plan(inputs, contents=contents).jobs()
    report = run_batch(jobs, out, engine=engine, progress=False)
    assert [r["status"] for r in report.rows] == [FAILED, FAILED, DONE, DONE]
    assert "a_broken.png" in report.rows[0]["error"]
    assert not (out / jobs[0].output_name).exists()
    # Failed jobs are skipped by a rerun, and run again with retry_failed.
    again = run_batch(jobs, out, engine=engine, progress=False)
    assert again.summary() == "0 done, 0 failed, 4 skipped"
    retried = run_batch(jobs, out, engine=engine, progress=False, retry_failed=True)
    assert retried.summary() == "0 done, 2 failed, 2 skipped"


def test_an_interrupted_job_continues_from_its_checkpoint_with_the_same_pixels(
    inputs, engine, tmp_path, ctrl_c_at
):
    jobs = plan(inputs, iterations=8, optimizer="adam", learning_rate=5.0).jobs()[:2]
    ctrl_c_at(jobs[1], 5)
    with pytest.raises(BatchInterrupted) as stopped:
        run_batch(jobs, tmp_path / "out", engine=engine, progress=False)
    assert stopped.value.report.summary() == "1 done, 0 failed, 0 skipped"
    assert (tmp_path / "out" / jobs[1].checkpoint_name).is_file()
    ctrl_c_at(None)
    report = run_batch(jobs, tmp_path / "out", engine=engine, progress=False)
    assert [r["status"] for r in report.rows] == [SKIPPED, DONE]
    assert report.rows[1]["resumed_from"] == 5
    # The same pixels as a run that never stopped.
    run_batch(jobs, tmp_path / "whole", engine=engine, progress=False)
    name = jobs[1].output_name
    np.testing.assert_array_equal(
        pixels(tmp_path / "out" / name), pixels(tmp_path / "whole" / name)
    )


def test_a_coarse_to_fine_job_runs_all_its_scales(inputs, engine, tmp_path):
    jobs = plan(inputs, iterations=2, scales=(20, 40)).jobs()[:1]
    (row,) = run_batch(jobs, tmp_path, engine=engine, progress=False).rows
    assert row["status"] == DONE, row["error"]
    assert row["iterations"] == 4
    assert row["settings"]["scales"] == [20, 40]
    assert pixels(tmp_path / jobs[0].output_name).shape == (33, 40, 3)


@pytest.mark.parametrize(
    ("rows", "columns"), [("content", "style"), ("beta", "content")]
)
def test_the_sheet_has_one_cell_per_job(finished, tmp_path, rows, columns):
    folder, jobs, _ = finished
    sheet = contact_sheet(
        folder, tmp_path / "sheet.png", rows=rows, columns=columns, cell=64
    )
    assert len(sheet.rows) * len(sheet.columns) == len(jobs)
    assert len(sheet.rows) == 2
    width = sheet.left + len(sheet.columns) * sheet.cell_width
    height = sheet.top + len(sheet.rows) * sheet.cell_height
    assert pixels(sheet.path).shape[1::-1] == sheet.size == (width, height)


def test_a_sheet_axis_must_be_an_axis_of_the_batch(finished, tmp_path):
    with pytest.raises(ValueError, match="'seed' is not an axis"):
        contact_sheet(finished[0], tmp_path / "sheet.png", rows="seed")


# -- the commands ----------------------------------------------------------------------
def test_naah_batch_runs_then_skips_and_naah_sheet_lays_it_out(
    inputs, weights_file, tmp_path, naah
):
    out = tmp_path / "out"
    argv = ["batch", "--content", inputs / "contents", "--style", inputs / "styles",
            "--out-dir", out, "--weights", weights_file, "--size", SIZE,
            "--iterations", 2, "--grid", "beta=1e2,1e4", "--threads", 1, "-q"]  # fmt: skip
    status, stdout, stderr = naah([*argv, "--sheet", tmp_path / "sheet.png"])
    assert (status, stderr) == (0, "")
    assert len(list(out.glob("*.png"))) == 4
    assert pixels(tmp_path / "sheet.png").shape[0] > 0
    status, stdout, stderr = naah([*argv[:-1], "--dry-run"])
    assert status == 0 and sorted(stdout.split()) == sorted(
        str(p) for p in out.glob("*.png")
    )
    status, _, stderr = naah(argv[:-1])
    assert status == 0 and "0 done, 0 failed, 4 skipped" in stderr
    status, _, stderr = naah(
        ["sheet", out / "manifest.jsonl", "-o", tmp_path / "s.png"]
    )
    assert status == 0 and "2 rows × 2 columns" in stderr


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--grid", "betta=1,2"], "'betta'"),
        (["--grid", "beta=1,x"], "beta=1,x: beta must be a number, got 'x'"),
        (["--grid", "beta=1", "--grid", "beta=2"], "--grid beta given twice"),
        (
            ["--pooling", "mean"],
            "argument --pooling: must be 'max' or 'avg', got 'mean'",
        ),
        (["--sheet", "sheet.gif"], "unsupported extension '.gif'"),
        (["--dask", "local:zero"], "local:N must be a positive integer"),
        (
            ["--sheet", "s.png", "--sheet-rows", "seed"],
            "--sheet-rows 'seed': not an axis",
        ),
    ],
)
def test_a_bad_command_line_is_a_one_line_error_and_runs_nothing(
    inputs, tmp_path, naah, options, named
):
    argv = ["batch", "--content", inputs / "contents", "--style", inputs / "styles",
            "--out-dir", tmp_path / "out", *options]  # fmt: skip
    status, stdout, stderr = naah(argv)
    assert status == 2 and stdout == ""
    assert stderr.count("\n") == 1 and named in stderr
    assert not (tmp_path / "out").exists()


def test_naah_batch_exits_1_when_a_job_failed(inputs, weights_file, tmp_path, naah):
    (tmp_path / "broken.png").write_bytes(b"not an image")
    status, _, stderr = naah(
        ["batch", "--content", tmp_path / "broken.png", "--style", inputs / "styles",
         "--out-dir", tmp_path / "out", "--weights", weights_file, "--size", SIZE,
         "--iterations", 1, "-q"]
    )  # fmt: skip
    assert status == 1
    assert "failed: cannot identify image file" in stderr or "broken.png" in stderr
    assert "--retry-failed reruns them" in stderr


def test_naah_batch_without_weights_stops_before_any_job(inputs, tmp_path, naah):
    status, _, stderr = naah(
        ["batch", "--content", inputs / "contents", "--style", inputs / "styles",
         "--out-dir", tmp_path / "out", "--weights", tmp_path / "none.mat", "-q"]
    )  # fmt: skip
    assert status == 1 and "none.mat" in stderr
    assert Manifest(tmp_path / "out").rows() == []


def test_the_bar_counts_jobs_with_the_current_jobs_iterations(inputs, capsys):
    job = plan(inputs).jobs()[0]
    bar = BatchProgress(2, True, detail=True)
    bar.job_started(job)
    bar.iteration(job, 1)
    assert bar._bar.n == pytest.approx(1 / ITERATIONS)
    bar.job_finished({"status": FAILED})
    bar.close()
    shown = capsys.readouterr().err
    assert "1.0/2 jobs" in shown and "1 failed" in shown


# -- blends and regions, end to end --------------------------------------------------
def write_png(path, array):
    Image.fromarray(np.asarray(array, np.uint8)).save(path)
    return path


def batch(naah, inputs, weights_file, out, *options):
    """``naah batch`` of the two contents at SIZE, 2 iterations, one thread."""
    return naah(
        [
            *("batch", "--content", inputs / "contents", "--out-dir", out),
            *("--weights", weights_file, "--size", SIZE, "--iterations", 2),
            *("--threads", 1, "-q", *options),
        ]
    )


def test_naah_batch_blends_two_styles_into_one_output_per_content(
    inputs, weights_file, tmp_path, naah
):
    y, x = np.mgrid[0:40, 0:48]
    s2 = write_png(tmp_path / "s2.png", np.stack([7 * y, 4 * x, 3 * x], -1) % 256)
    out = tmp_path / "out"
    styles = ("--style", inputs / "styles" / "s1.png", s2)
    status, stdout, stderr = batch(
        naah, inputs, weights_file, out, *styles, "--style-blend", "0.7,0.3"
    )
    assert (status, stdout, stderr) == (0, "", "")
    rows = Manifest(out).rows()
    assert [r["status"] for r in rows] == [DONE, DONE]
    assert [Path(r["content"]["path"]).name for r in rows] == ["c1.png", "c2.png"]
    for row in rows:
        assert row["name"].split("__")[1] == "s1+s2"
        assert row["settings"]["style_blend"] == [0.7, 0.3]
        assert row["iterations"] == 2
        assert pixels(out / row["output"]).shape == (33, SIZE, 3)
    assert sorted(p.name for p in out.glob("*.png")) == sorted(
        r["output"] for r in rows
    )


def test_naah_batch_paints_a_region_in_its_style(inputs, weights_file, tmp_path, naah):
    mask = np.zeros((40, 48), np.uint8)
    mask[:, :24] = 255  # the left half of the contents
    region = f"{write_png(tmp_path / 'left.png', mask)}={inputs / 'styles' / 's1.png'}"
    out = tmp_path / "out"
    status, _, stderr = batch(
        naah, inputs, weights_file, out, "--region", region, "--guide-mode", "inside"
    )
    assert (status, stderr) == (0, "")
    rows = Manifest(out).rows()
    assert [r["status"] for r in rows] == [DONE, DONE]
    for row in rows:
        assert row["settings"]["guide_mode"] == "inside"
        assert row["name"].split("__")[1] == "left"
        assert pixels(out / row["output"]).shape == (33, SIZE, 3)


def test_naah_batch_help_lists_blends_regions_guides_threads_and_downloads(naah):
    status, shown, _ = naah(["batch", "--help"])
    assert status == 0
    options = set(re.findall(r"--[a-z-]+", shown))
    wanted = ["--style-blend", "--region", "--guide-mode", "--threads"]
    assert {*wanted, "--download", "--no-download"} <= options
