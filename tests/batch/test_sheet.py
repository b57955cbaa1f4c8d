"""Contact sheets never replace one of their batch's inputs or outputs (nothing
compiles: the manifest rows are written here)."""

import re
import shutil

import pytest

from naah.batch import Plan, contact_sheet, run_batch
from naah.batch.manifest import DONE, Manifest, base_row
from naah.batch.sheet import batch_files


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
