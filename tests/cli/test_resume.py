"""``naah stylize --resume CKPT`` on a real checkpoint: a resumed run keeps its
settings (an option given anew must agree with the run's), takes a new total of
iterations, and refuses what it cannot continue before writing anything."""

import csv
import shutil

import numpy as np
import pytest
import tifffile

from naah.checkpointing import load_run
from tests.cli._commands import ITERATIONS, run, stylize

#: The run's style layers: Gatys et al.'s five, equal weights summing to 1.
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")


@pytest.fixture(scope="module")
def recorded(files):
    """A finished run of ITERATIONS iterations at the defaults (max pooling, α 1,
    equal style weights) with its checkpoint: (its folder, the checkpoint)."""
    folder = files["out"] / "resume"
    folder.mkdir()
    checkpoint = folder / "run.ckpt"
    status, _, err = stylize(
        files, folder / "result.png", "--checkpoint", checkpoint, "-q"
    )
    assert status == 0, err
    saved = load_run(checkpoint)
    assert saved.iteration == ITERATIONS
    assert saved.description.settings.network.pooling == "max"
    return folder, checkpoint


@pytest.fixture
def copied(recorded, tmp_path):
    """A copy of the run's checkpoint that a resumed run may write to."""
    return shutil.copy(recorded[1], tmp_path / "run.ckpt")


def resume(checkpoint, *options):
    return run(["stylize", "--resume", checkpoint, "-q", *options])


def snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_the_checkpoint_records_equal_style_weights_summing_to_1(recorded):
    layers = load_run(recorded[1]).description.settings.loss.style_layers
    assert layers == {name: 1 / 5 for name in STYLE_LAYERS}


def test_an_option_that_differs_from_the_run_is_refused_naming_both_values(
    recorded,
):
    folder, checkpoint = recorded
    before = snapshot(folder)
    status, out, err = resume(checkpoint, "--pooling", "avg", "--iterations", 5)
    assert (status, out) == (2, "")
    assert err.count("\n") == 1
    assert f"--pooling differs from the run of {checkpoint}" in err
    assert "(avg here, max there)" in err and "leave --pooling out" in err
    assert snapshot(folder) == before


def test_style_weights_that_weigh_the_layers_otherwise_are_refused(recorded):
    # w_l are not normalised: 1 each is 5 times the style term of 0.2 each.
    folder, checkpoint = recorded
    before = snapshot(folder)
    status, _, err = resume(checkpoint, "--style-weights", "1,1,1,1,1")
    assert status == 2 and err.count("\n") == 1
    assert "--style-weights differs from the run" in err
    assert "conv1_1:1,conv2_1:1" in err and "conv1_1:0.2,conv2_1:0.2" in err
    assert snapshot(folder) == before


def test_style_weights_that_give_the_runs_own_layers_are_accepted(copied, tmp_path):
    output = tmp_path / "again.png"
    status, _, err = resume(
        copied, "--style-weights", "0.2,0.2,0.2,0.2,0.2", "-o", output
    )
    assert (status, err) == (0, "")
    assert output.is_file()
    assert load_run(copied).iteration == ITERATIONS  # nothing more to do


def test_an_option_equal_to_the_runs_is_accepted_and_the_run_goes_on(copied, tmp_path):
    total = ITERATIONS + 2
    output, history = tmp_path / "more.png", tmp_path / "h.csv"
    status, _, err = resume(
        copied, "--alpha", 1, "--iterations", total, "-o", output, "--history", history
    )
    assert (status, err) == (0, "")
    assert output.is_file()
    with open(history, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["iteration"]) for r in rows] == list(range(total + 1))
    assert load_run(copied).iteration == total


def test_a_resumed_run_writes_its_result_at_16_bits_with_a_dpi(copied, tmp_path):
    output = tmp_path / "again.tif"
    status, _, err = resume(copied, "-o", output, "--bit-depth", 16, "--dpi", 150)
    assert (status, err) == (0, "")
    with tifffile.TiffFile(output) as tif:
        wide = tif.asarray()
        assert tif.pages[0].tags["XResolution"].value == (150, 1)
    assert wide.dtype == np.uint16 and (wide % 257 != 0).any()


def test_a_resumed_run_refuses_16_bits_in_a_jpeg_before_writing(recorded, tmp_path):
    status, _, err = resume(
        recorded[1], "-o", tmp_path / "r.jpg", "--bit-depth", 16, "--iterations", 9
    )
    assert status == 2 and "--bit-depth 16: output image" in err
    assert not list(tmp_path.iterdir())


def test_fewer_iterations_than_the_checkpoint_has_done_are_refused(recorded):
    folder, checkpoint = recorded
    before = snapshot(folder)
    status, _, err = resume(checkpoint, "--iterations", 1)
    assert status == 2 and err.count("\n") == 1
    assert f"the checkpoint is at iteration {ITERATIONS} already" in err
    assert "--iterations 1" in err
    assert snapshot(folder) == before


@pytest.mark.parametrize(
    ("which", "named"),
    [("missing", "no checkpoint at"), ("text", "is not a complete naah checkpoint")],
)
def test_a_missing_or_foreign_checkpoint_is_a_usage_error_naming_resume(
    files, tmp_path, which, named
):
    path = tmp_path / "none.ckpt" if which == "missing" else files["text"]
    status, out, err = resume(path)
    assert (status, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith("naah: error: --resume: ")
    assert named in err and str(path) in err
