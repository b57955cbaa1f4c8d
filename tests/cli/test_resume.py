"""``naah stylize --resume CKPT`` on a real checkpoint: a resumed run keeps its
settings (an option given anew must agree with the run's), takes a new total of
iterations, and refuses what it cannot continue before writing anything."""

import csv
import shutil

import numpy as np
import pytest
import tifffile

from naah.checkpointing import load_run
from naah.io.checkpoint import read_checkpoint, write_checkpoint
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


# -- every path a resumed run writes: never an input, recorded ones only where safe ------
def with_info(checkpoint, target, **info):
    """A copy of ``checkpoint`` at ``target`` whose recorded paths are ``info``'s."""
    saved = read_checkpoint(checkpoint)
    metadata = {**saved.metadata, "info": {**saved.metadata["info"], **info}}
    return write_checkpoint(target, saved.arrays, metadata)


def test_a_recorded_output_that_exists_away_from_the_checkpoint_is_refused(
    recorded, tmp_path
):
    # The run's own checkpoint, copied elsewhere: its result.png is someone else's.
    folder, checkpoint = recorded
    copy = shutil.copy(checkpoint, tmp_path / "run.ckpt")
    before = snapshot(folder)
    status, out, err = resume(copy, "--iterations", ITERATIONS + 1)
    assert (status, out) == (2, "") and err.count("\n") == 1
    assert (
        f"{copy} records its output image as {str(folder / 'result.png')!r}, a file "
        "that exists outside the checkpoint's folder; naah writes a recorded path "
        "only beside the checkpoint or where no file is yet: give -o OUT"
    ) in err
    assert snapshot(folder) == before and sorted(tmp_path.iterdir()) == [copy]


@pytest.mark.parametrize(
    ("key", "name", "instead"),
    [("history", "notes.json", "--history PATH"), ("plot", ".profile", "-o OUT")],
)
def test_a_recorded_history_or_plot_elsewhere_is_never_written_over(
    recorded, tmp_path, key, name, instead
):
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    theirs = elsewhere / name
    theirs.write_text("someone's file")
    mine = tmp_path / "run"
    mine.mkdir()
    copy = with_info(
        recorded[1], mine / "run.ckpt", output=str(mine / "o.png"), **{key: str(theirs)}
    )
    status, _, err = resume(copy)
    assert status == 2 and err.count("\n") == 1
    assert f"records its {'history' if key == 'history' else 'loss plot'} as" in err
    assert f"give {instead}" in err
    assert theirs.read_text() == "someone's file" and not (mine / "o.png").exists()


def test_a_recorded_plot_must_be_a_plot_even_beside_the_checkpoint(recorded, tmp_path):
    dotfile = tmp_path / ".profile"
    dotfile.write_text("export PATH")
    copy = with_info(
        recorded[1], tmp_path / "run.ckpt", output=str(tmp_path / "o.png"),
        plot=str(dotfile),
    )  # fmt: skip
    status, _, err = resume(copy)
    assert status == 2 and "loss plot" in err and "unsupported extension" in err
    assert dotfile.read_text() == "export PATH"


def test_recorded_paths_beside_the_checkpoint_or_not_there_yet_are_written(
    recorded, tmp_path
):
    away = tmp_path / "away"
    away.mkdir()
    copy = with_info(
        recorded[1], tmp_path / "run.ckpt", output=str(away / "new.png"),
        history=str(tmp_path / "h.csv"),
    )  # fmt: skip
    (tmp_path / "h.csv").write_text("the run's own, from before")
    status, _, err = resume(copy)
    assert (status, err) == (0, "")
    assert (away / "new.png").is_file()
    assert (tmp_path / "h.csv").read_text().startswith("iteration,")


def test_a_checkpoint_path_that_is_the_weights_file_is_refused(recorded, tmp_path):
    # Weights are recognised by their content, so they may be named anything.
    weights = shutil.copy(load_run(recorded[1]).description.inputs.weights["path"],
                          tmp_path / "vgg.ckpt")  # fmt: skip
    before = weights.read_bytes()
    status, _, err = resume(
        recorded[1], "-o", tmp_path / "o.png", "--weights", weights,
        "--checkpoint", weights,
    )  # fmt: skip
    assert status == 2 and err.count("\n") == 1
    assert f"checkpoint {str(weights)!r} is the weights file" in err
    assert weights.read_bytes() == before and not (tmp_path / "o.png").exists()


def test_an_output_that_is_the_checkpoint_being_resumed_is_refused(copied, tmp_path):
    history = tmp_path / "h.json"
    history.symlink_to(copied)
    before = copied.read_bytes()
    status, _, err = resume(copied, "-o", tmp_path / "o.png", "--history", history,
                            "--checkpoint", tmp_path / "next.ckpt")  # fmt: skip
    assert status == 2 and err.count("\n") == 1
    assert f"history file {str(history)!r} is the checkpoint {str(copied)!r}" in err
    assert copied.read_bytes() == before
