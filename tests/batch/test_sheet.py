"""Contact sheets too large for memory are refused before drawing (issue 21, item 11);
the sheets themselves are tested with the batches that make them (test_engines)."""

import re

import pytest

from naah.batch import Plan
from naah.batch.manifest import Manifest, failed_row
from naah.batch.sheet import contact_sheet
from tests.cli._commands import run_limited


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
