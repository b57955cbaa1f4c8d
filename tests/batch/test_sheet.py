"""Contact sheets never replace one of their batch's inputs or outputs, and one too
large for memory is refused before drawing (nothing compiles: the manifest rows are
written here)."""

import re
import shutil

import pytest

from naah.batch import Plan, contact_sheet, run_batch
from naah.batch.manifest import DONE, Manifest, base_row, failed_row
from naah.batch.sheet import batch_files
from tests.cli._commands import run_limited


@pytest.fixture
def recorded(inputs, tmp_path):
    """A batch folder whose manifest records two done jobs, and those jobs (of a
    copy of the inputs, which a failing test may write over)."""
    copy = shutil.copytree(inputs, tmp_path / "inputs")
    plan = Plan([str(copy / "contents")], [str(copy / "styles" / "s1.png")])
    jobs = plan.jobs()
    folder = tmp_path / "out"
    folder.mkdir()
    for job in jobs:
        Manifest(folder).append(base_row(job, DONE))
        (folder / job.output_name).write_bytes(b"a result")
    return folder, jobs


def test_a_sheet_is_never_written_over_an_output_or_input_of_its_batch(recorded):
    folder, jobs = recorded
    output = folder / jobs[0].output_name
    for path, what in (
        (output, f"output of job {jobs[0].name}"),
        (jobs[1].content, "content image"),
        (jobs[0].style, "style image"),
    ):
        message = f"sheet {str(path)!r} is the {what} {str(path)!r}; a contact sheet"
        with pytest.raises(ValueError, match=re.escape(message)):
            contact_sheet(folder, path)
    assert output.read_bytes() == b"a result"


def test_batch_files_name_the_jobs_inputs_outputs_and_checkpoints(recorded):
    folder, jobs = recorded
    files = dict((str(path), what) for what, path in batch_files(folder))
    job = jobs[0]
    assert files[job.content] == "content image"
    assert files[job.style] == "style image"
    assert files[str(folder / job.output_name)] == f"output of job {job.name}"
    assert files[str(folder / job.checkpoint_name)] == f"checkpoint of job {job.name}"


def test_run_batch_refuses_a_sheet_that_is_an_input_before_any_work(recorded, tmp_path):
    jobs = recorded[1]
    style = jobs[0].style
    with pytest.raises(ValueError, match="is the style image"):
        run_batch(jobs, tmp_path / "new", sheet=style)
    assert not (tmp_path / "new").exists()


@pytest.fixture
def failed_batch(inputs, tmp_path):
    """A batch folder whose manifest has two failed jobs (nothing compiled): a sheet
    of two cells."""
    folder = tmp_path / "batch"
    jobs = Plan([str(inputs / "contents")], [str(inputs / "styles")]).jobs()
    manifest = Manifest(folder)
    for job in jobs:
        manifest.append(failed_row(job, "it failed"))
    return folder


def test_a_sheet_larger_than_the_memory_available_is_refused_with_a_cell_that_fits(
    failed_batch, tmp_path, monkeypatch
):
    monkeypatch.setattr("naah.batch.sheet.available_memory", lambda: 16 * 2**20)
    with pytest.raises(ValueError) as error:
        contact_sheet(failed_batch, tmp_path / "s.png", cell=2000)
    message = str(error.value)
    assert message.startswith("a sheet of 2 rows × 1 columns at --cell 2000 is ")
    assert "16 MiB is available; give --cell " in message
    fits = int(re.search(r"give --cell (\d+) or less", message)[1])
    assert 100 < fits < 2000
    sheet = contact_sheet(failed_batch, tmp_path / "s.png", cell=fits)
    assert sheet.size[1] >= 2 * fits


@pytest.mark.slow
def test_naah_sheet_with_a_huge_cell_ends_in_a_message_naming_the_cell(
    failed_batch, tmp_path
):
    # It died with "MemoryError: (--debug shows where)" after 5.4 GB. Under a 2 GB
    # address space it is refused up front where memory is short, or runs out of
    # its 2 GB and says so.
    status, _, err = run_limited(
        ["sheet", failed_batch, "-o", tmp_path / "s.png", "--cell", 20000],
        address_space=2 * 2**30,
    )
    assert status == 1 and err.count("\n") == 1, err
    assert "at --cell 20000" in err
    assert "give --cell " in err or "give a smaller --cell" in err
    assert "MemoryError" not in err and "--debug" not in err
