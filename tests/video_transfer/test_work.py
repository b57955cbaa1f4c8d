"""naah.video_transfer.work: the work folder keeps every finished frame, trusts
only intact ones, and refuses another run's."""

import json

import numpy as np
import pytest

from naah.video_transfer.work import WorkFolder, WorkMismatch, digest

IDENTITY = {"settings": {"alpha": 1.0, "size": 64}, "frames": ["ab", "cd"]}


def frame(value):
    return np.full((6, 8, 3), value, np.uint8)


def test_finished_frames_are_kept_and_trusted_by_a_rerun(tmp_path):
    work = WorkFolder(tmp_path / "w", IDENTITY)
    work.finish("1/1", 1, 0, frame(7), content=1.5)
    again = WorkFolder(tmp_path / "w", IDENTITY)
    assert again.finished("1/1") and again.done["1/1"]["content"] == 1.5
    np.testing.assert_array_equal(again.frame(1, 0), frame(7))
    manifest = json.loads((tmp_path / "w" / "manifest.json").read_text())
    assert manifest["identity"] == IDENTITY


def test_a_frame_changed_on_disk_is_done_again(tmp_path):
    work = WorkFolder(tmp_path / "w", IDENTITY)
    work.finish("1/1", 1, 0, frame(7))
    work.finish("1/2", 1, 1, frame(9))
    work.frame_file(1, 1).write_bytes(b"half a png")
    again = WorkFolder(tmp_path / "w", IDENTITY)
    assert again.finished("1/1") and not again.finished("1/2")


def test_a_finished_frames_checkpoint_is_removed(tmp_path):
    work = WorkFolder(tmp_path / "w", IDENTITY)
    checkpoint = work.checkpoint_file(1, 0)
    checkpoint.parent.mkdir()
    checkpoint.write_bytes(b"state")
    work.finish("1/1", 1, 0, frame(1))
    assert not checkpoint.exists()


def test_another_runs_folder_is_refused_naming_what_differs_unless_overwritten(
    tmp_path,
):
    work = WorkFolder(tmp_path / "w", IDENTITY)
    work.finish("1/1", 1, 0, frame(7))
    other = {"settings": {"alpha": 2.0, "size": 64}, "frames": ["ab", "cd"]}
    with pytest.raises(WorkMismatch, match=r"settings.alpha: 1.0 -> 2.0.*--overwrite"):
        WorkFolder(tmp_path / "w", other)
    assert work.frame_file(1, 0).is_file()  # nothing discarded
    fresh = WorkFolder(tmp_path / "w", other, overwrite=True)
    assert not fresh.done and not work.frame_file(1, 0).exists()


def test_a_folder_that_is_not_naahs_work_is_never_removed(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"precious")
    with pytest.raises(WorkMismatch, match="not a naah video work folder"):
        WorkFolder(folder, IDENTITY, overwrite=True)
    assert (folder / "holiday.jpg").read_bytes() == b"precious"


def test_flows_are_saved_once_and_read_back_exactly(tmp_path):
    work = WorkFolder(tmp_path / "w", IDENTITY)
    flow = np.random.default_rng(0).normal(size=(6, 8, 2)).astype(np.float32)
    assert work.flow(0, 1) is None
    work.save_flow(0, 1, flow)
    np.testing.assert_array_equal(work.flow(0, 1), flow)


def test_digest_tells_arrays_apart_by_values_shape_and_type():
    a = np.zeros((2, 3), np.uint8)
    assert digest(a) == digest(a.copy())
    assert len({digest(a), digest(a.reshape(3, 2)), digest(a.astype(np.int8)),
                digest(a + 1)}) == 4  # fmt: skip


def test_what_a_killed_writer_left_is_removed_when_the_folder_is_opened(tmp_path):
    work = WorkFolder(tmp_path / "w", IDENTITY)
    work.finish("1/1", 1, 0, frame(7))
    dead = 2**22 + 12345  # no such process
    left = [
        tmp_path / "w" / f".manifest.json.{dead}.ab12cd34.tmp",
        tmp_path / "w" / "pass_1" / f".frame_00002.png.{dead}.0f0f0f0f.tmp",
    ]
    for path in left:
        path.write_bytes(b"half")
    mine = tmp_path / "w" / "pass_1" / "holiday.jpg"  # not a temporary: kept
    mine.write_bytes(b"precious")
    WorkFolder(tmp_path / "w", IDENTITY)
    assert not any(path.exists() for path in left) and mine.exists()
