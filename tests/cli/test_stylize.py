"""``naah stylize`` end to end on fixture weights, and the conventions of the
well-known tools."""

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageOps

from naah import cli
from naah.checkpointing import load_run
from naah.cli.paths import snapshot_path
from naah.io.icc import srgb_profile
from naah.style_transfer import StyleTransfer
from tests.cli._commands import ITERATIONS, PNG_SIGNATURE, SIZE, run, stylize


@pytest.fixture(scope="module")
def lbfgs_run(files):
    folder = files["out"] / "lbfgs"
    folder.mkdir()
    output = folder / "result.png"
    result = stylize(
        files, output, "--save-every", 1, "--plot", "--history", folder / "h.csv"
    )
    return (folder, output, *result)


@pytest.fixture(scope="module")
def adam_quiet_run(files):
    folder = files["out"] / "adam"
    folder.mkdir()
    output = folder / "result.jpg"
    result = stylize(
        files, output, "--optimizer", "adam", "--learning-rate", 5, "--quiet",
        "--init", files["style"], "--history", folder / "h.json",
        "--plot-path", folder / "curve.svg",
    )  # fmt: skip
    return (folder, output, *result)


@pytest.fixture(scope="module")
def print_run(files):
    """The L-BFGS run of lbfgs_run, written at 16 bits with a resolution."""
    folder = files["out"] / "print"
    folder.mkdir()
    output = folder / "result.png"
    result = stylize(files, output, "--bit-depth", 16, "--dpi", 300, "-q")
    return (folder, output, *result)


# -- stylize, end to end -----------------------------------------------------------------
def test_stylize_writes_the_image_at_the_requested_long_edge(lbfgs_run):
    _, output, status, _, err = lbfgs_run
    assert status == 0, err
    with Image.open(output) as image:
        assert max(image.size) == SIZE
        assert image.size == (24, 32)  # the content image is 30 wide, 40 high


def test_save_every_writes_intermediates_next_to_the_output(lbfgs_run):
    folder, *_ = lbfgs_run
    names = sorted(p.name for p in folder.glob("result.iter*.png"))
    assert names == [f"result.iter{i:04d}.png" for i in range(ITERATIONS + 1)]


def test_plot_without_a_path_writes_a_png_loss_curve_beside_the_output(lbfgs_run):
    folder, *_ = lbfgs_run
    assert (folder / "result.loss.png").read_bytes()[:8] == PNG_SIGNATURE


def test_the_csv_history_has_one_row_per_iteration_and_the_start(lbfgs_run):
    folder, *_ = lbfgs_run
    with open(folder / "h.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["iteration"]) for r in rows] == list(range(ITERATIONS + 1))
    assert {"total", "content", "style", "E_conv1_1"} <= set(rows[0])


def test_progress_and_the_files_written_are_reported_on_stderr(lbfgs_run):
    _, output, _, out, err = lbfgs_run
    assert out == ""
    assert f"{ITERATIONS}/{ITERATIONS}" in err  # the progress bar
    assert f"wrote {output}" in err and "final loss" in err


def test_quiet_prints_nothing_and_other_options_are_honoured(adam_quiet_run):
    folder, output, status, out, err = adam_quiet_run
    assert (status, out, err) == (0, "", "")
    with Image.open(output) as image:
        assert image.format == "JPEG" and max(image.size) == SIZE
    rows = json.loads((folder / "h.json").read_text())
    assert len(rows) == ITERATIONS + 1
    assert b"<svg" in (folder / "curve.svg").read_bytes()[:1000]


def test_bit_depth_16_writes_the_run_at_16_bits_with_its_dpi_and_profile(
    print_run, lbfgs_run
):
    _, output, status, _, err = print_run
    assert status == 0, err
    wide = cv2.imread(str(output), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert wide.dtype == np.uint16 and wide.shape == (SIZE, 24, 3)
    assert (wide % 257 != 0).any()  # the float result, not 8 bits widened
    with Image.open(output) as image:
        assert image.info["icc_profile"] == srgb_profile()
        assert image.info["dpi"] == pytest.approx((300, 300), abs=0.01)
    # The same run as lbfgs_run's 8-bit result, to within its rounding.
    with Image.open(lbfgs_run[1]) as image:
        narrow = np.asarray(image, np.float64)
    assert np.abs(wide / 257 - narrow).max() <= 1


def test_a_size_given_as_a_print_sets_the_pixels_and_the_dpi(files, tmp_path, fake_run):
    output = tmp_path / "r.tif"
    status, _, err = stylize(files, output, "--size", "1cm@80dpi", "--bit-depth", 16)
    assert status == 0, err
    assert fake_run["size"] == round(1 / 2.54 * 80) == 31
    with tifffile.TiffFile(output) as tif:
        page = tif.pages[0]
        assert page.shape == (31, 23, 3) and page.dtype == np.uint16
        assert page.tags["XResolution"].value == (80, 1)


def test_dpi_overrides_the_dpi_of_a_print_size(files, tmp_path, fake_run):
    output = tmp_path / "r.jpg"
    status, _, err = stylize(files, output, "--size", "0.1in@300dpi", "--dpi", 72)
    assert status == 0, err
    with Image.open(output) as image:
        assert max(image.size) == 30 and image.info["dpi"] == (72, 72)


@pytest.mark.parametrize(
    ("name", "options", "says"),
    [
        ("r.jpg", ("--bit-depth", 16), "--bit-depth 16: output image"),
        ("r.jpg", ("--bit-depth", 16), "holds 8 bits per channel; name it r.png or "
         "r.tif, or leave out --bit-depth 16"),
        ("r.bmp", ("--bit-depth", 16), "is BMP, which holds 8 bits"),
        ("r.png", ("--bit-depth", 12), "invalid choice: 12 (choose from 8, 16)"),
        ("r.png", ("--dpi", 0), "--dpi: must be positive and finite, got 0.0"),
        ("r.png", ("--size", "30cm"), "at a resolution, such as 30cm@300dpi"),
    ],
)  # fmt: skip
def test_a_bit_depth_or_dpi_the_output_cannot_take_is_refused_before_the_run(
    files, tmp_path, fake_run, name, options, says
):
    status, out, err = stylize(files, tmp_path / name, *options)
    assert (status, out) == (2, "") and says in err, err
    assert "content_shape" not in fake_run and not list(tmp_path.iterdir())


def test_python_m_naah_shows_help():
    done = subprocess.run(
        [sys.executable, "-m", "naah", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert "stylize" in done.stdout and "weights" in done.stdout


def test_python_m_naah_exits_with_status_2_on_a_bad_command_line():
    done = subprocess.run(
        [sys.executable, "-m", "naah", "stylize"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr.startswith("naah: error:") and done.stderr.count("\n") == 1


def test_stylize_help_lists_every_option():
    status, out, _ = run(["stylize", "--help"])
    assert status == 0
    for option in (
        "--style-weights", "--save-every", "--plot", "--plot-path", "--backend",
        "--init", "--print-every", "--content-weight", "--style-weight",
    ):  # fmt: skip
        assert option in out


# -- conventions of the well-known tools ---------------------------------------------------
def test_plot_is_a_flag_that_does_not_take_the_content_image():
    args = cli.build_parser().parse_args(
        ["stylize", "--plot", "c.png", "s.png", "-o", "r.png"]
    )
    assert (args.plot, args.plot_path, args.content, args.styles) == (
        True, None, "c.png", ["s.png"],
    )  # fmt: skip


def test_content_and_style_weight_are_alpha_and_beta():
    args = cli.build_parser().parse_args(
        ["stylize", "c.png", "s.png", "-o", "r.png", "--content-weight", "5",
         "--style-weight", "100"]
    )  # fmt: skip
    assert (args.alpha, args.beta) == (5.0, 100.0)


def test_a_large_seed_is_taken():
    args = cli.build_parser().parse_args(
        ["stylize", "c.png", "s.png", "-o", "r.png", "--seed", str(2**70)]
    )
    assert args.seed == 2**70


@pytest.mark.parametrize(
    "argv, help_of",
    [
        (["stylize", "c.png", "s.png", "-o", "r.png", "--colour"], "naah stylize"),
        (["stylize", "c.png", "--seed", "x"], "naah stylize"),
        (["weights", "path", "--all"], "naah weights path"),
        (["--colour", "weights", "path"], "naah"),
    ],
)
def test_a_usage_error_points_at_the_help_of_its_subcommand(argv, help_of):
    status, _, err = run(argv)
    assert status == 2 and err.endswith(f"(see '{help_of} --help')\n"), err


def test_the_help_names_snapshots_as_they_are_written():
    _, out, _ = run(["stylize", "--help"])
    assert "OUT_stem.iterNNNN.EXT" in " ".join(out.split())
    assert snapshot_path(Path("d/out.png"), 5, 20).name == "out.iter0005.png"
    assert snapshot_path(Path("out.jpg"), 5, 10**5).name == "out.iter000005.jpg"


def test_threads_and_every_setting_of_batch_are_stylize_options_too(
    files, tmp_path, fake_run
):
    status, _, err = stylize(files, tmp_path / "r.png", "--threads", 1, "--bounds",
                             "false", "--momentum", "0.5", "-q")  # fmt: skip
    assert status == 0, err
    assert fake_run["runtime"].threads == 1
    assert fake_run["checkpoint_every"] == 50  # the model's default reaches the run


# -- tiled -------------------------------------------------------------------------------
def test_tile_size_runs_in_blocks_and_writes_the_result(files, tmp_path):
    output = tmp_path / "tiled.png"
    status, _, err = stylize(files, output, "--tile-size", 16)
    assert status == 0, err
    with Image.open(output) as image:
        assert image.size == (24, 32)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--tile-size", "8"], "--tile-size: must be auto or at least 16 pixels"),
        (["--max-memory", "lots"], "--max-memory: must be a memory size such as 6G"),
        (["--dask", "somewhere"], "give local:N"),
    ],
)
def test_bad_tiling_options_are_usage_errors(files, tmp_path, option, message):
    status, _, err = stylize(files, tmp_path / "x.png", *option)
    assert status == 2 and message in err, err


@pytest.mark.slow
def test_dask_evaluates_the_blocks_on_local_workers(files, tmp_path):
    pytest.importorskip("distributed")
    output = tmp_path / "dask.png"
    status, _, err = stylize(files, output, "--dask", "local:2", "--tile-size", 16)
    assert status == 0, err
    assert "blocks on Dask, 2 workers" in err
    with Image.open(output) as image:
        assert image.size == (24, 32)


# -- the same command again: its checkpoint is continued, another run's kept ------------
@pytest.fixture(scope="module")
def first_run(files):
    """A finished run of ITERATIONS iterations, with its checkpoint beside OUT."""
    folder = files["out"] / "first"
    folder.mkdir()
    status, _, err = stylize(files, folder / "o.png", "--history", folder / "h.csv",
                             "-q")  # fmt: skip
    assert status == 0, err
    return folder


@pytest.fixture
def again(first_run, files, tmp_path):
    """A copy of first_run's folder: ``again(*options, content=PATH)`` runs its
    command again there, with ``options`` added (the last given wins)."""
    folder = tmp_path / "first"
    shutil.copytree(first_run, folder)

    def again(*options, content=files["content"]):
        return stylize(
            {**files, "content": content}, folder / "o.png", "--history",
            folder / "h.csv", *options,
        )  # fmt: skip

    again.folder = folder
    return again


@pytest.fixture
def resumes(monkeypatch):
    """The checkpoints StyleTransfer.resume is asked to continue."""
    seen = []
    original = StyleTransfer.resume.__func__

    def resume(cls, checkpoint, **kwargs):
        seen.append(Path(checkpoint))
        return original(cls, checkpoint, **kwargs)

    monkeypatch.setattr(StyleTransfer, "resume", classmethod(resume))
    return seen


def contents(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_the_same_command_with_more_iterations_continues_its_checkpoint(again, resumes):
    total = ITERATIONS + 2
    status, _, err = again("--iterations", total)
    assert status == 0, err
    checkpoint = again.folder / "o.ckpt"
    assert resumes == [checkpoint]
    assert (
        f"{checkpoint} holds this run at iteration {ITERATIONS}: continuing it to "
        f"{total} (--overwrite starts again)"
    ) in err
    assert load_run(checkpoint).iteration == total
    with open(again.folder / "h.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["iteration"]) for r in rows] == list(range(total + 1))


def test_the_same_command_with_fewer_iterations_than_done_is_refused_keeping_all(
    again, fake_run
):
    before = contents(again.folder)
    status, out, err = again("--iterations", 1)
    assert (status, out) == (2, "") and err.count("\n") == 1
    checkpoint = again.folder / "o.ckpt"
    assert (
        f"checkpoint {str(checkpoint)!r} holds {ITERATIONS} iterations of this run, "
        f"more than --iterations 1: give --iterations {ITERATIONS} or more to "
        "continue it, or pass --overwrite to discard it and start again"
    ) in err
    assert "content_shape" not in fake_run  # refused before any work
    assert contents(again.folder) == before


@pytest.mark.parametrize(
    ("options", "differs"),
    [
        (("--beta", 5), "--beta 5 here, 1000 there"),
        (("--pooling", "avg"), "--pooling avg here, max there"),
        (("--size", 24), "--size 24 here, 32 there"),
    ],
)
def test_the_command_with_another_setting_is_refused_saying_how_to_continue_it(
    again, fake_run, options, differs
):
    before = contents(again.folder)
    status, out, err = again(*options)
    assert (status, out) == (2, "") and err.count("\n") == 1
    checkpoint = again.folder / "o.ckpt"
    assert (
        f"naah: error: checkpoint {str(checkpoint)!r} holds {ITERATIONS} iterations "
        f"of another run: {differs}; continue that run with 'naah stylize --resume "
        f"{checkpoint}', or pass --overwrite to discard it and start again"
    ) in err
    assert "content_shape" not in fake_run
    assert contents(again.folder) == before


def test_the_command_with_another_content_image_is_refused(
    files, again, fake_run, tmp_path
):
    other = tmp_path / "other.png"
    with Image.open(files["content"]) as image:
        ImageOps.mirror(image).save(other)
    before = contents(again.folder)
    status, _, err = again(content=other)
    assert status == 2 and err.count("\n") == 1
    assert "of another run: the content image is not the one the run of" in err
    assert "content_shape" not in fake_run
    assert contents(again.folder) == before


def test_overwrite_discards_the_checkpoint_and_starts_again(again, resumes):
    status, _, err = again("--iterations", 1, "--overwrite", "-q")
    assert (status, err) == (0, "")
    assert resumes == []
    assert load_run(again.folder / "o.ckpt").iteration == 1


def test_a_file_that_is_no_checkpoint_where_the_checkpoint_goes_is_refused(
    again, fake_run
):
    checkpoint = again.folder / "o.ckpt"
    checkpoint.write_text("my notes")
    status, _, err = again()
    assert status == 2 and err.count("\n") == 1
    assert f"checkpoint {str(checkpoint)!r} is there already and naah cannot" in err
    assert "move it away, or pass --overwrite to write over it" in err
    assert checkpoint.read_text() == "my notes" and "content_shape" not in fake_run
    status, _, err = again("--overwrite", "-q")
    assert (status, err) == (0, "")
