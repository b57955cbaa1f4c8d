"""The manifest: rows appended, finished jobs told from the files alone."""

import csv

from naah.batch import Manifest, Plan
from naah.batch.manifest import DONE, FAILED, SKIPPED, base_row, failed_row
from naah.io.files import sha256_of_file


def jobs_of(inputs):
    return Plan(
        [str(inputs / "contents")], [str(inputs / "styles")], grid={"beta": [1.0]}
    ).jobs()


def done_row(job, folder):
    output = folder / job.output_name
    output.write_bytes(b"an image")
    return {**base_row(job, DONE), "output_sha256": sha256_of_file(output),
            "losses": {"total": 1.0, "content": 2.0, "style": 3.0}}  # fmt: skip


def test_rows_survive_a_line_cut_short_by_a_crash(inputs, tmp_path):
    manifest = Manifest(tmp_path)
    first, second = jobs_of(inputs)
    manifest.append(done_row(first, tmp_path))
    with open(manifest.path, "a") as file:
        file.write('{"name": "half a li')  # killed while writing
    manifest.append(failed_row(second, ValueError("bad image")))
    rows = manifest.rows()
    assert [r["status"] for r in rows] == [DONE, FAILED]
    assert rows[1]["error"] == "bad image"


def test_done_jobs_with_intact_outputs_are_skipped_and_others_run(inputs, tmp_path):
    manifest = Manifest(tmp_path)
    first, second = jobs_of(inputs)
    manifest.append(done_row(first, tmp_path))
    manifest.append(failed_row(second, "boom"))
    todo, skipped = manifest.triage([first, second])
    assert todo == [] and [r["status"] for r in skipped] == [SKIPPED, SKIPPED]
    assert [j.name for j in manifest.triage([first, second], retry_failed=True)[0]] == [
        second.name
    ]
    # An output changed or gone since: the job runs again.
    (tmp_path / first.output_name).write_bytes(b"another image")
    assert manifest.triage([first])[0] == [first]
    (tmp_path / first.output_name).unlink()
    assert manifest.triage([first])[0] == [first]


def test_skipped_rows_do_not_hide_the_outcome(inputs, tmp_path):
    manifest = Manifest(tmp_path)
    first, _ = jobs_of(inputs)
    manifest.append(done_row(first, tmp_path))
    _, skipped = manifest.triage([first])
    manifest.append(skipped[0])
    assert manifest.outcomes()[first.name]["status"] == DONE


def test_the_summary_has_one_line_per_job_and_is_rewritten_only_on_change(
    inputs, tmp_path
):
    manifest = Manifest(tmp_path)
    first, second = jobs_of(inputs)
    manifest.append(done_row(first, tmp_path))
    manifest.append(failed_row(second, "boom"))
    path = manifest.write_summary(order=[second.name, first.name])
    with open(path) as file:
        lines = list(csv.DictReader(file))
    assert [(r["name"], r["status"]) for r in lines] == [
        (second.name, FAILED),
        (first.name, DONE),
    ]
    assert lines[1]["total"] == "1.0" and lines[0]["error"] == "boom"
    assert lines[1]["beta"] == "1.0" and lines[1]["output"] == first.output_name
    before = path.stat().st_mtime_ns
    manifest.write_summary(order=[second.name, first.name])
    assert path.stat().st_mtime_ns == before
