"""``naah video``: a clip in, a stylised clip out, resumable; bad command lines
refused before any work (fixture weights, 32x40 frames)."""

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from naah.testing import write_vgg19_mat

from ._commands import run

FRAMES = 4
SHIFT = 2


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A folder of FRAMES frames panning right, a style image, fixture weights."""
    root = tmp_path_factory.mktemp("video")
    rng = np.random.default_rng(0)
    scene = rng.integers(0, 256, (32, 40 + SHIFT * FRAMES, 3), dtype=np.uint8)
    (root / "frames").mkdir()
    for k in range(FRAMES):
        start = SHIFT * (FRAMES - k)
        Image.fromarray(scene[:, start : start + 40]).save(
            root / "frames" / f"f{k + 1}.png"
        )
    Image.fromarray(rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)).save(
        root / "style.png"
    )
    return {
        "frames": root / "frames",
        "style": root / "style.png",
        "weights": write_vgg19_mat(root / "vgg.mat"),
    }


def video(clip, output, *options):
    return run(
        ["video", clip["frames"], clip["style"], "-o", output, "--weights",
         clip["weights"], "--size", 40, "--iterations", 3, "-q", *options]
    )  # fmt: skip


def test_a_folder_of_frames_becomes_a_folder_of_stylised_frames(clip, tmp_path):
    status, _, err = video(clip, f"{tmp_path}/out/")
    assert status == 0, err
    names = sorted(p.name for p in (tmp_path / "out").glob("*.png"))
    assert names == [f"frame_{k:05d}.png" for k in range(1, FRAMES + 1)]
    with Image.open(tmp_path / "out" / "frame_00001.png") as image:
        assert image.size == (40, 32)
    assert (tmp_path / "out" / ".naah-video" / "manifest.json").is_file()


def test_a_gif_with_its_report(clip, tmp_path):
    status, _, err = video(clip, tmp_path / "clip.gif", "--report", "--frames", "1:")
    assert status == 0, err
    with Image.open(tmp_path / "clip.gif") as gif:
        assert gif.n_frames == FRAMES - 1
    with open(tmp_path / "clip.report.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [r["frame"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["warping_error"] == "" and float(rows[1]["warping_error"]) >= 0
    assert float(rows[1]["temporal"]) > 0 and float(rows[0]["temporal"]) == 0
    assert (tmp_path / "clip.report.png").stat().st_size > 0


def test_the_same_command_again_continues_and_redoes_nothing(clip, tmp_path):
    output = tmp_path / "clip.gif"
    assert video(clip, output)[0] == 0
    work = tmp_path / "clip.gif.naah-video"
    before = {p: p.stat().st_mtime_ns for p in work.rglob("*.png")}
    assert video(clip, output)[0] == 0
    assert {p: p.stat().st_mtime_ns for p in work.rglob("*.png")} == before


def test_other_settings_are_refused_naming_the_difference_unless_overwrite(
    clip, tmp_path
):
    output = tmp_path / "clip.gif"
    assert video(clip, output)[0] == 0
    status, _, err = video(clip, output, "--temporal-weight", 5)
    assert status == 2
    assert "temporal_weight: 1000.0 -> 5.0" in err and "--overwrite" in err
    manifest = json.loads(
        (tmp_path / "clip.gif.naah-video" / "manifest.json").read_text()
    )
    assert manifest["identity"]["video"]["temporal_weight"] == 1000.0
    assert video(clip, output, "--temporal-weight", 5, "--overwrite")[0] == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--frames", "3:1"], "--frames: must be A:B with 0 <= A < B"),
        (["--frames", "x"], "--frames: must be A:B"),
        (["--long-term", "2,4"], "--long-term: must be increasing frame offsets starting with 1"),
        (["--flow", "lk"], "--flow"),
        (["--init", "style"], "--init"),
        (["--passes", "0"], "--passes"),
        (["--first-iterations", "2.5"], "--first-iterations"),
        (["--temporal-from-pass", "0"], "--temporal-from-pass"),
        (["--scales", "16,32"], "unrecognized arguments: --scales"),
    ],
)  # fmt: skip
def test_a_bad_option_is_refused_before_any_work(clip, tmp_path, options, message):
    status, _, err = video(clip, tmp_path / "clip.gif", *options)
    assert status == 2 and message in err
    assert not list(tmp_path.iterdir())


def test_outputs_that_are_inputs_or_unknown_formats_are_refused(clip, tmp_path):
    status, _, err = video(clip, tmp_path / "clip.avi")
    assert status == 2 and "use one of .mp4, .webm, .gif" in err
    status, _, err = video(clip, f"{clip['frames']}/")
    assert status == 2 and "never writes over its inputs" in err
    status, _, err = run(["video", tmp_path / "nothing", clip["style"], "-o",
                          tmp_path / "o.gif", "--weights", clip["weights"]])  # fmt: skip
    assert status == 2 and "does not exist" in err


def test_a_video_file_in_and_out(clip, tmp_path):
    pytest.importorskip("av")
    from naah.io.video import read_frames, write_video

    frames = read_frames(clip["frames"]).images
    write_video(frames, tmp_path / "in.mp4", fps=12)
    status, _, err = run(["video", tmp_path / "in.mp4", clip["style"], "-o",
                          tmp_path / "out.mp4", "--weights", clip["weights"],
                          "--size", 40, "--iterations", 2, "-q"])  # fmt: skip
    assert status == 0, err
    written = read_frames(tmp_path / "out.mp4")
    assert len(written) == FRAMES and written.fps == pytest.approx(12)


@pytest.mark.slow
def test_ctrl_c_keeps_the_work_and_the_same_command_finishes_it_exactly(clip, tmp_path):
    naah = Path(sys.executable).with_name("naah")

    def command(output):
        return [str(naah), "video", str(clip["frames"]), str(clip["style"]), "-o",
                str(output), "--weights", str(clip["weights"]), "--size", "40",
                "--iterations", "150", "--first-iterations", "5", "-q"]  # fmt: skip

    whole = subprocess.run(command(tmp_path / "whole/"), capture_output=True,
                           text=True, timeout=300)  # fmt: skip
    assert whole.returncode == 0, whole.stderr
    process = subprocess.Popen(command(tmp_path / "cut/"), stderr=subprocess.PIPE,
                               text=True)  # fmt: skip
    work = tmp_path / "cut" / ".naah-video"
    deadline = time.monotonic() + 120
    while not (work / "pass_1" / "frame_00001.png").exists():
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)  # as Ctrl-C: to the process itself
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "run the same command to continue" in err
    assert (work / "pass_1" / "frame_00001.png").is_file()

    again = subprocess.run(command(tmp_path / "cut/"), capture_output=True,
                           text=True, timeout=300)  # fmt: skip
    assert again.returncode == 0, again.stderr
    for k in range(1, FRAMES + 1):
        name = f"frame_{k:05d}.png"
        with (
            Image.open(tmp_path / "whole" / name) as a,
            Image.open(tmp_path / "cut" / name) as b,
        ):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.slow
def test_kill_9_loses_no_finished_frame(clip, tmp_path):
    naah = Path(sys.executable).with_name("naah")
    command = [str(naah), "video", str(clip["frames"]), str(clip["style"]), "-o",
               str(tmp_path / "cut.gif"), "--weights", str(clip["weights"]),
               "--size", "40", "--iterations", "150", "--first-iterations", "5",
               "-q"]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    work = tmp_path / "cut.gif.naah-video"
    deadline = time.monotonic() + 120
    while not (work / "pass_1" / "frame_00002.png").exists():
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    process.kill()
    process.wait(timeout=30)
    first = (work / "pass_1" / "frame_00001.png").stat().st_mtime_ns
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert (work / "pass_1" / "frame_00001.png").stat().st_mtime_ns == first
    assert not list(work.rglob(".*.tmp"))  # what a killed write left is gone
    with Image.open(tmp_path / "cut.gif") as gif:
        assert gif.n_frames == FRAMES
