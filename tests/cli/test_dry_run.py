"""``--dry-run``'s time: the run's optimiser timed on the run's problem, the
optimiser's own work included; sizes above the calibration's scaled by the area;
durations people read (issue 21, item 13)."""

import re

import pytest

from naah.cli import memory
from naah.io.images import load_image
from naah.problem import StyleProblem
from naah.style_transfer import StyleTransfer
from tests.cli._commands import run

TIME = re.compile(
    r"^time: about \S+ s per iteration at (?P<shape>\d+x\d+) \((?P<seconds>\S+) s per "
    r"evaluation, the optimiser's work included; (?P<where>[^)]*)\), about "
    r"(?P<total>\d[\d.]*) (?P<unit>s|min|h) for (?P<iterations>\d+) iterations after "
    r"loading and compiling \(\S+ (s|min|h) here\)$"
)


@pytest.fixture
def quick(monkeypatch):
    """A calibration of a few iterations, not seconds."""
    monkeypatch.setattr(memory, "CALIBRATION_SECONDS", 0.0)
    monkeypatch.setattr(memory, "FULL_ITERATIONS", memory.MIN_TIMED_ITERATIONS)


def test_the_calibration_times_the_optimisers_work_beside_the_evaluations(
    files, quick, monkeypatch
):
    evaluating = []  # the seconds inside each evaluation
    evaluate = StyleProblem.evaluate

    def timed(self, image, *args, **kwargs):
        start = memory.time.perf_counter()
        try:
            return evaluate(self, image, *args, **kwargs)
        finally:
            evaluating.append((start, memory.time.perf_counter()))

    monkeypatch.setattr(StyleProblem, "evaluate", timed)
    transfer = StyleTransfer(files["weights"])
    content, style = load_image(files["content"]), load_image(files["style"])
    measured = memory.calibrate(transfer, content, style, None, 32)
    assert measured.shape == (32, 24)
    assert measured.iterations >= memory.MIN_TIMED_ITERATIONS
    assert measured.evaluations >= measured.iterations
    # The window's evaluations took less than the window: the rest is L-BFGS-B's.
    inside = sum(b - a for a, b in evaluating[-measured.evaluations :])
    assert 0 < inside < measured.seconds


def dry_run(files, tmp_path, *options):
    status, out, err = run(
        ["stylize", files["content"], files["style"], "-o", tmp_path / "r.png",
         "--weights", files["weights"], "--dry-run", "-q", *options]
    )  # fmt: skip
    assert status == 0, err
    said = TIME.match(out.splitlines()[-1])
    assert said is not None, out
    return said


def test_a_run_at_the_calibrations_size_is_timed_at_its_own(files, tmp_path, quick):
    said = dry_run(files, tmp_path, "--size", 32, "--iterations", 3)
    assert said["shape"] == "24x32"
    assert re.fullmatch(r"measured over \d+ evaluations", said["where"])
    assert said["iterations"] == "3" and float(said["total"]) > 0  # never 0.0 min


def test_a_run_larger_than_the_calibration_is_scaled_by_its_area(
    files, tmp_path, quick, monkeypatch
):
    monkeypatch.setattr(memory, "CALIBRATION_EDGE", 32)
    said = dry_run(files, tmp_path, "--size", 40, "--iterations", 3)
    assert said["shape"] == "30x40"
    measured = re.fullmatch(
        r"scaled by the area from (\S+) s measured at 24x32 over \d+ evaluations",
        said["where"],
    )
    assert measured is not None, said["where"]
    expected = float(measured[1]) * (40 * 30) / (32 * 24)
    assert float(said["seconds"]) == pytest.approx(expected, rel=0.01)
