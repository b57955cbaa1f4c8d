"""What ``naah stylize`` says as a run goes and when it ends: the summary line
gives the iterations a run added, its optimising and its compile time apart; with
--scales, every message names the scale, --print-every prints one line per
iteration, and in a log nothing is redrawn."""

import csv
import re
import shutil

import pytest

from naah.cli.running import Watch, summary
from naah.optim import History, IterationRecord
from naah.progress import format_duration
from naah.settings import Settings
from tests.cli._commands import run, stylize

SUMMARY = re.compile(
    r"naah: (?P<count>\d+) (?P<new>new )?iterations?(?: \((?P<span>\d+ to \d+)\))? "
    r"optimised in (?P<optimising>[0-9.]+ (s|min|h)), after "
    r"(?P<compiling>[0-9.]+) (s|min|h) of "
    r"loading and compiling; final loss: weighted total \S+ \(unweighted: content \S+, "
    r"style \S+\)$"
)


@pytest.fixture(scope="module")
def pyramid(files):
    """A coarse-to-fine run, 2 iterations at 32 px then 2 at 40 px, printing every
    iteration: its stdout, stderr and folder."""
    folder = files["out"] / "summary"
    folder.mkdir()
    status, out, err = stylize(
        files, folder / "r.png", "--scales", "32,40", "--iterations", "2,2",
        "--print-every", 1, "--history", folder / "h.csv",
    )  # fmt: skip
    assert status == 0, err
    return out, err, folder


def rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_summary_gives_the_iterations_the_optimising_and_the_compiling_apart(
    pyramid,
):
    _, err, folder = pyramid
    said = SUMMARY.match(err.splitlines()[-1])
    assert said is not None, err.splitlines()[-1]
    assert said["count"] == "4" and said["new"] is None
    last = float(rows(folder / "h.csv")[-1]["time"])
    assert said["optimising"] == format_duration(last)  # the history's time
    assert float(said["compiling"]) > 0


def test_a_resumed_run_counts_only_its_new_iterations_and_their_time(pyramid, tmp_path):
    checkpoint = shutil.copy(pyramid[2] / "r.ckpt", tmp_path / "r.ckpt")
    status, _, err = run(
        ["stylize", "--resume", checkpoint, "-o", tmp_path / "again.png",
         "--iterations", "2,4", "--history", tmp_path / "h.csv"]
    )  # fmt: skip
    assert status == 0, err
    said = SUMMARY.match(err.splitlines()[-1])
    assert said is not None, err.splitlines()[-1]
    assert (said["count"], said["new"], said["span"]) == ("2", "new ", "5 to 6")
    history = rows(tmp_path / "h.csv")
    assert [r["iteration"] for r in history[-3:]] == ["4", "5", "6"]
    new_time = float(history[-1]["time"]) - float(history[-3]["time"])
    assert said["optimising"] == format_duration(new_time)


def test_print_every_prints_each_iteration_once_naming_its_scale(pyramid):
    out = pyramid[0]
    assert [line.split(":")[0] for line in out.splitlines()] == [
        "iteration 1/4 (32 px)",
        "iteration 2/4 (32 px)",
        "iteration 3/4 (40 px)",  # not 2/4 again: the start of the scale
        "iteration 4/4 (40 px)",
    ]


def test_in_a_log_each_scale_is_named_once_and_nothing_is_redrawn(pyramid):
    err = pyramid[1]
    assert "\r" not in err
    messages = err.splitlines()[:-1]  # the summary line aside
    compiling = [line for line in messages if "compil" in line]
    assert compiling[0] == "naah: scale 1/2 (32 px): loading and compiling"
    assert len(compiling) == 2 and compiling[1].startswith("naah: compiled in ")
    assert "naah: scale 1/2 (32 px): loading and compiling\n" in err
    assert "naah: scale 2/2 (40 px): starting\n" in err


def test_the_history_file_has_the_scale_of_every_record(pyramid):
    history = rows(pyramid[2] / "h.csv")
    assert [(r["iteration"], r["scale"]) for r in history] == [
        ("0", "32"), ("1", "32"), ("2", "32"), ("2", "40"), ("3", "40"), ("4", "40"),
    ]  # fmt: skip


def record(iteration, time_):
    return IterationRecord(iteration, 1.0, 0.5, 0.25, 0.0, time_, iteration)


def test_a_run_resumed_from_50_to_100_says_50_new_iterations_and_their_time(
    tmp_path,
):
    watch = Watch(None, None, 0, Settings.of({"iterations": 100}))
    history = History(record(i, 0.1 * i) for i in range(101))
    start = 100.0  # the command's clock when it began the run
    watch(history[51], None)  # the first record of this run, seen at:
    watch.first_at = 107.0  # so the optimiser started at 106.9
    assert summary(history, 100, start, watch) == (
        "50 new iterations (51 to 100) optimised in 5.0 s, after 6.9 s of loading "
        "and compiling; final loss: weighted total 1 (unweighted: content 0.5, style 0.25)"
    )
