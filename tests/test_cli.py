"""Tests for the ``naah`` command (naah.cli), on small fixture weights."""

import contextlib
import csv
import errno
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from naah import cli
from naah.cli import main
from naah.io.download import DownloadError
from naah.io.images import ImageError, resize_to_long_edge
from naah.io.weights import KNOWN_FILES
from naah.optim import History, IterationRecord
from naah.style_transfer import StyleResult, StyleTransfer
from naah.testing import write_vgg19_mat

ITERATIONS = 3
SIZE = 32
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Fixture weights, a 40x30 content image, a 30x30 style image, an output dir."""
    root = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)).save(
        root / "content.png"
    )
    Image.fromarray(rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)).save(
        root / "style.png"
    )
    (root / "notes.txt").write_text("not an image")
    (root / "out").mkdir()
    return {
        "weights": write_vgg19_mat(root / "vgg.mat"),
        "content": str(root / "content.png"),
        "style": str(root / "style.png"),
        "text": str(root / "notes.txt"),
        "out": root / "out",
    }


def run(argv):
    """main(argv) -> (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(a) for a in argv])
    return status, out.getvalue(), err.getvalue()


def stylize(files, output, *options):
    return run(
        ["stylize", files["content"], files["style"], "-o", output,
         "--weights", files["weights"], "--size", SIZE, "--iterations", ITERATIONS,
         *options]
    )  # fmt: skip


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


# -- bad command lines: status 2, one line, nothing written -------------------------------
BAD_OPTIONS = {
    "blend weights mismatch": (["--style-blend", "0.5,0.5"], "2 weights for 1"),
    "style scales mismatch": (["--style-scale", "1,2"], "2 values for 1 style"),
    "region without a style": (["--region", "mask.png"], "MASK=STYLE"),
    "styles and regions": (["--region", "{out}/m.png={out}/s.png"], "not both"),
    "scales that decrease": (["--scales", "64,32"], "increase, coarse to fine"),
    "a zero scale": (["--scales", "0,32"], "--scales"),
    "iterations per scale mismatch": (
        ["--scales", "32,48", "--iterations", "1,2,3"],
        "3 values for 2 --scales",
    ),
    "several iterations, one scale": (["--iterations", "5,6"], "give one"),
    "bad color mode": (["--color", "sepia"], "--color"),
    "unknown content layer": (["--content-layers", "conv9_9"], "conv9_9"),
    "unknown style layer": (["--style-layers", "conv1_1,relu7"], "relu7"),
    "empty layer name": (["--style-layers", "conv1_1,,conv2_1"], "--style-layers"),
    "negative alpha": (["--alpha", "-1"], "--alpha"),
    "negative beta": (["--beta", "-0.5"], "--beta"),
    "negative tv weight": (["--tv-weight", "-1"], "--tv-weight"),
    "negative style weight": (["--style-weights", "1,1,-1,1,1"], "--style-weights"),
    "too few style weights": (["--style-weights", "1,1,1"], "3 values"),
    "style weights for custom layers": (
        ["--style-layers", "conv1_1,conv2_1", "--style-weights", "1,2,3"],
        "2 style layers",
    ),
    "size zero": (["--size", "0"], "--size"),
    "size not a number": (["--size", "big"], "--size"),
    "negative iterations": (["--iterations", "-1"], "--iterations"),
    "unknown optimizer": (["--optimizer", "sgd"], "--optimizer"),
    "zero learning rate": (["--learning-rate", "0"], "--learning-rate"),
    "beta1 out of range": (["--beta1", "1.5"], "beta1"),
    "unknown pooling": (["--pooling", "min"], "--pooling"),
    "unknown backend": (["--backend", "cuda"], "--backend"),
    "zero style scale": (["--style-scale", "0"], "--style-scale"),
    "zero save every": (["--save-every", "0"], "--save-every"),
    "unsupported history format": (["--history", "{out}/h.txt"], "--history"),
    "unsupported plot format": (["--plot-path", "{out}/loss.xyz"], "--plot-path"),
    "plot over the output": (["--plot-path", "{out}/result.png"], "same file"),
    "plot named like a snapshot": (
        ["--save-every", "2", "--plot-path", "{out}/result.iter0002.png"],
        "--save-every",
    ),
    # Non-finite numbers, refused by the option's type (issue: --beta inf ran).
    "infinite alpha": (["--alpha", "inf"], "--alpha"),
    "nan beta": (["--beta", "nan"], "--beta"),
    "infinite tv weight": (["--tv-weight", "inf"], "--tv-weight"),
    "overflowing learning rate": (["--learning-rate", "1e999"], "--learning-rate"),
    "infinite style scale": (["--style-scale", "inf"], "--style-scale"),
    "style scale overflowing the size": (["--style-scale", "1e308"], "--style-scale"),
    "nan style weight": (["--style-weights", "1,nan,1,1,1"], "--style-weights"),
    "infinite beta1": (["--beta1", "inf"], "--beta1"),
    "nan beta2": (["--beta2", "nan"], "--beta2"),
    "beta2 of 1": (["--beta2", "1"], "--beta2"),
    "negative seed": (["--seed", "-1"], "--seed"),
    "seed not an integer": (["--seed", "1.5"], "--seed"),
    "negative print every": (["--print-every", "-1"], "--print-every"),
    "negative content weight": (["--content-weight", "-1"], "--content-weight"),
    "infinite style weight": (["--style-weight", "inf"], "--style-weight"),
    "nothing to minimise": (["--alpha", "0", "--beta", "0"], "nothing to minimise"),
    "no style layer weighted": (
        ["--content-weight", "0", "--style-weights", "0,0,0,0,0"],
        "--style-weights all 0",
    ),
    # Sizes the deepest layer cannot take, refused before loading the weights.
    "style scaled below conv5_1's minimum": (
        ["--style-scale", "0.01"],
        "give --style-scale 0.5 or more",
    ),
    "size below conv5_1's minimum": (["--size", "8"], "give --size 21 or more"),
    "content below pool5's minimum": (["--content-layers", "pool5"], "pool5"),
    "missing weights file": (["--weights", "{out}/none.mat"], "--weights"),
    "missing init image": (["--init", "{out}/none.png"], "--init"),
    "unknown option": (["--colour", "red"], "--colour"),
}


@pytest.mark.parametrize("options, named", BAD_OPTIONS.values(), ids=BAD_OPTIONS)
def test_a_bad_option_stops_before_any_work_with_one_line_and_status_2(
    files, tmp_path, options, named
):
    options = [o.replace("{out}", str(tmp_path)) for o in options]
    status, _, err = stylize(files, tmp_path / "result.png", *options)
    assert status == 2
    assert err.startswith("naah: error: ") and err.count("\n") == 1
    assert named in err
    assert list(tmp_path.iterdir()) == []


BAD_INPUTS = {
    "missing content": (["{missing}", "{style}"], "content image"),
    "content not an image": (["{text}", "{style}"], "content image"),
    "missing style": (["{content}", "{missing}"], "style image"),
    "style is a folder": (["{content}", "{folder}"], "style image"),
}


@pytest.mark.parametrize("inputs, named", BAD_INPUTS.values(), ids=BAD_INPUTS)
def test_an_unreadable_input_is_a_usage_error(files, tmp_path, inputs, named):
    paths = {**files, "missing": tmp_path / "no.png", "folder": tmp_path}
    inputs = [name.format(**paths) for name in inputs]
    output = tmp_path / "result.png"
    status, _, err = run(
        ["stylize", *inputs, "-o", output, "--weights", files["weights"]]
    )
    assert status == 2 and named in err and err.count("\n") == 1
    assert not output.exists()


@pytest.mark.parametrize(
    "output, named",
    [
        ("missing/result.png", "does not exist"),
        ("result.xyz", "unsupported extension"),
        ("result", "unsupported extension"),
        ("notes.txt/result.png", "does not exist"),
        (".", "unsupported extension"),
    ],
)
def test_an_output_that_cannot_be_written_is_a_usage_error(
    files, tmp_path, output, named
):
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    status, _, err = stylize(files, tmp_path / output)
    assert status == 2 and named in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_an_output_directory_name_is_a_usage_error(files, tmp_path):
    (tmp_path / "pics.png").mkdir()
    status, _, err = stylize(files, tmp_path / "pics.png")
    assert status == 2 and "is a directory" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_output_folder_is_a_usage_error(files, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        status, _, err = stylize(files, locked / "result.png")
    finally:
        locked.chmod(0o700)
    assert status == 2 and "not writable" in err
    assert list(locked.iterdir()) == []


def test_a_folder_refusing_new_files_is_a_usage_error(files, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cli.tempfile, "NamedTemporaryFile", refuse)
    status, _, err = stylize(files, tmp_path / "result.png")
    assert status == 2 and err.count("\n") == 1
    assert "not writable (Permission denied)" in err


# -- inputs are never written over: status 2 before any work -----------------------------
@pytest.fixture
def inputs(files, tmp_path):
    """Copies of the content and style images in tmp_path: (content, style)."""
    content, style = tmp_path / "c.png", tmp_path / "s.png"
    shutil.copy(files["content"], content)
    shutil.copy(files["style"], style)
    return content, style


def stylize_inputs(files, content, style, output, *options):
    return run(
        ["stylize", content, style, "-o", output, "--weights", files["weights"],
         "--size", SIZE, "--iterations", ITERATIONS, *options]
    )  # fmt: skip


def assert_refused_and_kept(result, *kept, named="never writes over its inputs"):
    status, _, err = result
    assert status == 2 and err.count("\n") == 1 and named in err, err
    for path, data in kept:
        assert path.read_bytes() == data


OVER_INPUTS = {
    "output is the content": ("c.png", []),  # -o CONTENT replaced the content image
    "output is the style": ("s.png", []),
    "output is the init image": ("i.png", ["--init", "{folder}/i.png"]),
    "plot file is the content": ("r.png", ["--plot-path", "{folder}/c.png"]),
    "plot (OUT_stem.loss.png) is the init image": (
        "i.png", ["--plot", "--init", "{folder}/i.loss.png"],
    ),
}  # fmt: skip


@pytest.mark.parametrize("output, options", OVER_INPUTS.values(), ids=OVER_INPUTS)
def test_an_output_that_is_an_input_is_refused(files, inputs, output, options):
    content, style = inputs
    folder = content.parent
    for name in ("i.png", "i.loss.png"):
        shutil.copy(content, folder / name)
    kept = [(path, path.read_bytes()) for path in folder.iterdir()]
    options = [o.format(folder=folder) for o in options]
    result = stylize_inputs(files, content, style, folder / output, *options)
    assert_refused_and_kept(result, *kept)
    assert len(list(folder.iterdir())) == len(kept)


def test_an_output_linked_to_an_input_is_refused(files, inputs):
    content, style = inputs
    kept = [(content, content.read_bytes()), (style, style.read_bytes())]
    os.link(content, content.with_name("hard.png"))
    os.symlink(style, style.with_name("soft.png"))
    for name in ("hard.png", "soft.png"):
        result = stylize_inputs(files, content, style, content.with_name(name))
        assert_refused_and_kept(result, *kept)


def test_an_output_over_the_weights_file_is_refused(files, inputs, tmp_path):
    content, style = inputs
    weights = shutil.copy(files["weights"], tmp_path / "w.json")
    result = run(
        ["stylize", content, style, "-o", tmp_path / "r.png", "--weights", weights,
         "--history", weights]
    )  # fmt: skip
    assert_refused_and_kept(result, (weights, weights.read_bytes()))
    assert "weights file" in result[2]


def test_a_snapshot_that_would_replace_an_input_is_refused(files, inputs, fake_run):
    content, style = inputs
    init = content.with_name("r.iter0002.png")  # --save-every 2 writes this name
    shutil.copy(content, init)
    kept = (init, init.read_bytes())
    output = content.with_name("r.png")
    result = stylize_inputs(
        files, content, style, output, "--save-every", 2, "--init", init
    )
    assert_refused_and_kept(result, kept, named="--save-every would write")
    # An iteration --save-every never writes (3 of 3: 0 and 3) is no clash.
    allowed = stylize_inputs(
        files, content, style, output, "--save-every", 3, "--init", init, "--quiet"
    )
    assert allowed[0] == 0 and init.read_bytes() == kept[1]
    assert (output.with_name("r.iter0003.png")).exists()


# -- image sizes: checked against the deepest layer before loading ------------------------
@pytest.mark.parametrize(
    "layers, deepest, side",
    [
        (["conv1_1"], "conv1_1", 1),
        (["relu1_2"], "relu1_2", 1),
        (["pool1"], "pool1", 2),  # floor(side / 2) >= 1
        (["conv2_1"], "conv2_1", 2),
        (["conv3_1", "conv1_1"], "conv3_1", 4),
        (["conv4_2"], "conv4_2", 8),
        (["conv1_1", "conv5_1", "conv4_2"], "conv5_1", 16),  # the defaults
        (["relu5_4"], "relu5_4", 16),
        (["pool4"], "pool4", 16),
        (["pool5"], "pool5", 32),  # POOLING_FACTOR
    ],
)
def test_the_smallest_side_is_two_to_the_poolings_before_the_deepest_layer(
    layers, deepest, side
):
    assert cli._min_image_side(layers) == (deepest, side)


@pytest.mark.parametrize(
    "shape, need, edge",
    [
        ((40, 30), 16, 21),  # 30 * 21 / 40 = 15.75 -> 16; 20 gives 15
        ((30, 30), 16, 16),
        ((8, 4000), 16, 7750),  # 8 * 7750 / 4000 = 15.5 -> 16 (round half even)
        ((40, 30), 32, 42),  # 31.5 -> 32
        ((5, 3), 1, 1),
    ],
)
def test_the_least_long_edge_is_the_smallest_that_the_resizer_makes_large_enough(
    shape, need, edge
):
    assert cli._least_long_edge(shape, need) == edge
    # ...checked against naah.io.images' own rounding:
    image = np.zeros((*shape, 3), np.float32)
    assert min(resize_to_long_edge(image, edge).shape[:2]) >= need
    if edge > need:
        assert min(resize_to_long_edge(image, edge - 1).shape[:2]) < need


def test_the_least_style_scale_works_at_the_size():
    assert cli._least_style_scale((30, 30), 16, 32) == "0.5"
    scale = cli._least_style_scale((8, 4000), 16, 32)
    assert scale == "242.2" and cli._style_edge(32, float(scale)) == 7750


def test_an_elongated_content_image_is_refused_naming_it_and_its_size(files, tmp_path):
    content = tmp_path / "long.png"
    Image.fromarray(np.zeros((8, 4000, 3), np.uint8)).save(content)
    status, _, err = stylize_inputs(files, content, files["style"], tmp_path / "r.png")
    assert status == 2 and err.count("\n") == 1
    for expected in (f"content image {str(content)!r}", "32x1 pixels", "--size 32",
                     "16x16", "conv5_1", "--size 7750 or more"):  # fmt: skip
        assert expected in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.png"]


def test_a_too_small_style_image_is_refused_with_the_least_scale(files, tmp_path):
    status, _, err = stylize(files, tmp_path / "r.png", "--style-scale", "0.01")
    assert status == 2 and err.count("\n") == 1
    for expected in (f"style image {files['style']!r}", "1x1 pixels", "16x16",
                     "conv5_1", "--style-scale 0.5 or more"):  # fmt: skip
        assert expected in err


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
    assert cli._snapshot_path(Path("d/out.png"), 5, 20).name == "out.iter0005.png"
    assert cli._snapshot_path(Path("out.jpg"), 5, 10**5).name == "out.iter000005.jpg"


# -- writing: a failed side file warns, a failed image names its path ----------------------
@pytest.fixture
def fake_run(monkeypatch):
    """StyleTransfer.run without weights or compiling: the callback sees every
    iteration, the result is a black image of the content's (resized) shape."""
    seen = {}

    def run_(self, content, style, *, iterations, callback=None, **kwargs):
        seen.update(
            kwargs, content_shape=np.shape(content), loss_weights=self.loss_weights
        )
        image = np.zeros(np.shape(content), np.float32)
        history = History()
        for i in range(iterations + 1):
            history.append(IterationRecord(i, 100.0 / (i + 1), 1.5, 0.25, 0.0, i, i))
            if callback is not None:
                callback(history[-1], image)
        return StyleResult(image=image.astype(np.uint8), history=history)

    monkeypatch.setattr(StyleTransfer, "run", run_)
    return seen


def test_the_run_gets_the_images_at_the_checked_size(files, tmp_path, fake_run):
    assert stylize(files, tmp_path / "r.png", "--quiet")[0] == 0
    assert fake_run["content_shape"] == (32, 24, 3)


def test_print_every_prints_one_line_of_losses_on_stdout(files, tmp_path, fake_run):
    status, out, err = stylize(
        files, tmp_path / "r.png", "--iterations", 4, "--print-every", 2, "--quiet"
    )
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        "iteration 2/4: total 33.33 (content 1.5, style 0.25)",
        "iteration 4/4: total 20 (content 1.5, style 0.25)",
    ]
    assert stylize(files, tmp_path / "r.png", "--quiet")[1] == ""  # default: never


def test_a_failed_snapshot_warns_and_the_run_goes_on(
    files, tmp_path, fake_run, monkeypatch
):
    save_image = cli.save_image

    def disk_full_for_snapshots(path, image):
        if ".iter" in path.name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return save_image(path, image)

    monkeypatch.setattr(cli, "save_image", disk_full_for_snapshots)
    output = tmp_path / "r.png"
    status, _, err = stylize(
        files, output, "--save-every", 1, "--history", tmp_path / "h.csv", "--quiet"
    )
    assert status == 0
    warnings = err.splitlines()
    assert len(warnings) == ITERATIONS + 1
    assert warnings[1] == (
        f"naah: warning: could not write {tmp_path / 'r.iter0001.png'}: "
        f"{os.strerror(errno.ENOSPC)}"
    )
    assert output.read_bytes()[:8] == PNG_SIGNATURE
    assert (tmp_path / "h.csv").exists()


def test_a_failed_history_or_plot_warns_and_the_image_is_written(
    files, tmp_path, fake_run, monkeypatch
):
    def refuse(self, path):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(History, "save", refuse)
    output = tmp_path / "r.png"
    status, _, err = stylize(files, output, "--history", tmp_path / "h.csv", "--plot")
    assert status == 0
    assert (
        f"naah: warning: could not write {tmp_path / 'h.csv'}: Permission denied\n"
        in err
    )
    assert f"wrote {output}" in err and f"wrote {tmp_path / 'r.loss.png'}" in err
    assert f"wrote {tmp_path / 'h.csv'}" not in err
    assert output.exists() and not (tmp_path / "h.csv").exists()


def test_a_failed_image_write_names_the_path_and_exits_1(
    files, tmp_path, fake_run, monkeypatch
):
    def disk_full(self, path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(StyleResult, "save", disk_full)
    output = tmp_path / "r.png"
    status, _, err = stylize(files, output, "--history", tmp_path / "h.csv", "-q")
    assert status == 1
    assert err == (
        f"naah: error: could not write {output}: {os.strerror(errno.ENOSPC)}\n"
    )
    assert (tmp_path / "h.csv").exists()  # the other files are still written


# -- failures while working: status 1, one line ------------------------------------------
@pytest.fixture
def no_weights(monkeypatch, tmp_path):
    monkeypatch.delenv("NAAH_WEIGHTS", raising=False)
    monkeypatch.setenv("NAAH_CACHE", str(tmp_path / "cache"))


def test_missing_weights_say_which_file_is_needed_and_where_to_put_it(
    files, tmp_path, no_weights
):
    output = tmp_path / "result.png"
    status, _, err = run(["stylize", files["content"], files["style"], "-o", output,
                          "--no-download"])  # fmt: skip
    known = KNOWN_FILES[0]
    assert status == 1 and err.count("\n") == 1
    for expected in (
        known.name,
        f"{known.size:,}",
        known.sha256,
        "naah weights download",
    ):
        assert expected in err
    assert str(tmp_path / "cache") in err
    assert not output.exists()


def test_weights_from_the_environment_are_used(files, tmp_path, monkeypatch):
    monkeypatch.setenv("NAAH_WEIGHTS", files["weights"])
    seen = {}
    monkeypatch.setattr(StyleTransfer, "run", lambda self, *a, **k: _stop(self, seen))
    status, _, _ = run(
        ["stylize", files["content"], files["style"], "-o", tmp_path / "r.png"]
    )
    assert status == 1 and str(seen["weights"]) == files["weights"]


def _stop(transfer, seen):
    seen["weights"] = transfer._weights
    raise ImageError("stopped here")


def test_a_broken_weights_file_fails_in_one_line_with_status_1(files, tmp_path):
    broken = tmp_path / "broken.mat"
    broken.write_bytes(b"<html>not found</html>")
    output = tmp_path / "result.png"
    status, _, err = run(
        ["stylize", files["content"], files["style"], "-o", output, "--weights", broken]
    )
    assert status == 1 and err.count("\n") <= 2  # the "loading" line, then the error
    assert err.splitlines()[-1].startswith("naah: error: ") and "HTML" in err
    assert "Traceback" not in err and not output.exists()


def test_debug_shows_the_traceback_of_a_failure(files, tmp_path, monkeypatch):
    monkeypatch.setattr(
        StyleTransfer, "run", lambda *a, **k: (_ for _ in ()).throw(ImageError("x"))
    )
    with pytest.raises(ImageError):
        stylize(files, tmp_path / "r.png", "--debug")


def test_an_unexpected_error_is_named_and_points_to_debug(files, tmp_path, monkeypatch):
    monkeypatch.setattr(
        StyleTransfer, "run", lambda *a, **k: (_ for _ in ()).throw(KeyError("x"))
    )
    status, _, err = stylize(files, tmp_path / "r.png", "--quiet")
    assert status == 1 and err == "naah: error: KeyError: 'x' (--debug shows where)\n"


def test_an_interrupt_exits_with_status_130(files, tmp_path, monkeypatch):
    monkeypatch.setattr(
        StyleTransfer, "run", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt)
    )
    status, _, err = stylize(files, tmp_path / "r.png", "--quiet")
    assert (status, err) == (130, "naah: interrupted\n")


# -- weights ----------------------------------------------------------------------------
def test_weights_info_describes_format_release_layers_and_checksum(files):
    status, out, err = run(["weights", "info", files["weights"]])
    assert status == 0, err
    lines = dict(line.split(":", 1) for line in out.splitlines())
    assert lines["format"].strip().startswith("matconvnet")
    assert lines["release"].strip() == "matconvnet-current"
    assert lines["layers"].strip().startswith("19 weight layers: conv1_1..conv5_4")
    assert lines["conv widths"].strip().startswith("4, 8, 8, 16, 16")
    assert lines["classes"].strip().startswith("10 ")
    assert lines["checksum"].strip().startswith("unknown")
    assert len(lines["sha256"].strip()) == 64


@pytest.mark.filterwarnings("default::UserWarning")
def test_weights_info_flags_a_file_named_like_the_published_one(files, tmp_path):
    fake = write_vgg19_mat(tmp_path / KNOWN_FILES[0].name)
    status, out, err = run(["weights", "info", fake])
    assert status == 0
    assert "checksum:    MISMATCH" in out
    assert err.startswith("naah: warning: ") and err.count("\n") == 1


def test_weights_info_on_a_missing_file_is_a_usage_error(tmp_path):
    status, _, err = run(["weights", "info", tmp_path / "none.mat"])
    assert status == 2 and "none.mat" in err


def test_weights_path_shows_where_naah_looks_and_what_it_uses(
    files, tmp_path, no_weights, monkeypatch
):
    status, out, err = run(["weights", "path"])
    assert status == 1 and "(missing)" in out and KNOWN_FILES[0].sha256 in err
    monkeypatch.setenv("NAAH_WEIGHTS", files["weights"])
    status, out, _ = run(["weights", "path"])
    assert status == 0 and f"using:         {files['weights']}" in out


def test_weights_download_passes_the_destination_and_quiet_on(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(
        cli,
        "fetch_weights",
        lambda source, dest, progress: (
            calls.append((source, dest, progress)) or tmp_path
        ),
    )
    assert run(["weights", "download", "--dest", tmp_path, "--quiet"]) == (0, "", "")
    status, _, err = run(["weights", "download", "--source", "keras-notop"])
    assert status == 0 and "checksum verified" in err and "no fc6-fc8" in err
    assert calls == [("matconvnet", str(tmp_path), False), ("keras-notop", None, True)]


def test_a_failed_download_is_one_line_with_status_1(monkeypatch):
    def fail(source, dest, progress):
        raise DownloadError("downloading x failed: HTTP 404 Not Found")

    monkeypatch.setattr(cli, "fetch_weights", fail)
    status, _, err = run(["weights", "download", "--quiet"])
    assert (status, err) == (
        1,
        "naah: error: downloading x failed: HTTP 404 Not Found\n",
    )


def test_weights_fixture_writes_labelled_stand_in_weights_that_load(tmp_path):
    from naah.io.weights import load_weights
    from naah.testing import DEFAULT_WIDTHS

    path = tmp_path / "stand-in.mat"
    status, out, err = run(["weights", "fixture", str(path), "--seed", "3"])
    assert (status, err) == (0, "")
    assert "NOT pretrained" in out and str(path) in out
    weights = load_weights(path)
    assert weights.widths() == DEFAULT_WIDTHS and len(weights.params) == 19


def test_weights_fixture_refuses_a_missing_folder(tmp_path):
    status, _, err = run(["weights", "fixture", str(tmp_path / "no" / "w.mat")])
    assert status == 2 and "does not exist" in err


@pytest.fixture(scope="module")
def normalized(files, tmp_path_factory):
    folder = tmp_path_factory.mktemp("normalize")
    images = folder / "images"
    images.mkdir()
    rng = np.random.default_rng(1)
    for i in range(2):
        pixels = rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(images / f"{i}.png")
    output = folder / "normalized.mat"
    # The CLI prints warnings (dead filters of the narrow random layers) itself.
    status, out, err = run(["weights", "normalize", files["weights"], "--images",
                            images, "--size", 48, "-o", output])  # fmt: skip
    return status, out, err, output


@pytest.mark.filterwarnings("default::UserWarning")  # dead filters, shown by the CLI
def test_weights_normalize_writes_a_file_naah_knows_as_normalised(normalized):
    from naah.normalize import is_normalized

    status, out, _, output = normalized
    assert status == 0 and f"wrote {output}" in out
    assert is_normalized(output)


def test_weights_normalize_refuses_to_write_over_the_weights(files):
    status, _, err = run(["weights", "normalize", files["weights"], "--images",
                          files["out"], "-o", files["weights"]])  # fmt: skip
    assert status == 2 and "is the weights file" in err


@pytest.mark.filterwarnings("default::UserWarning")
def test_normalised_weights_get_gatys_loss_weights_unless_given(
    files, normalized, tmp_path, fake_run
):
    from naah.normalize import normalized_loss_weights

    weights = normalized[3]
    options = ["--weights", weights, "--quiet"]
    assert stylize(files, tmp_path / "r.png", *options)[0] == 0
    alpha, beta = normalized_loss_weights(fake_run["content_shape"][:2])
    assert (fake_run["loss_weights"].alpha, fake_run["loss_weights"].beta) == (
        alpha, beta)  # fmt: skip
    assert stylize(files, tmp_path / "r.png", *options, "--beta", 5)[0] == 0
    assert fake_run["loss_weights"].beta == 5


def test_several_styles_and_their_blend_reach_the_run(files, tmp_path, fake_run):
    status, _, err = run(["stylize", files["content"], files["style"], files["style"],
                          "--style-blend", "3,1", "--style-scale", "1,0.5", "-o",
                          tmp_path / "r.png", "--weights", files["weights"], "-q"])  # fmt: skip
    assert status == 0, err
    assert fake_run["style_blend"] == (3.0, 1.0)
    assert fake_run["style_scale"] == (1.0, 0.5)


def test_a_region_mask_without_pixels_inside_is_refused_naming_it(files, tmp_path):
    mask = tmp_path / "empty.png"
    Image.fromarray(np.zeros((40, 30), np.uint8)).save(mask)
    status, _, err = run(["stylize", files["content"], "--region",
                          f"{mask}={files['style']}", "-o", tmp_path / "r.png",
                          "--weights", files["weights"]])  # fmt: skip
    assert status == 2 and f"--region {mask}=" in err
    assert not (tmp_path / "r.png").exists()


# -- memory known before the start ---------------------------------------------------
def test_a_size_too_large_for_memory_is_refused_at_once_with_the_size_that_fits(
    files, tmp_path
):
    status, _, err = run(["stylize", files["content"], files["style"], "-o",
                          tmp_path / "r.png", "--weights", files["weights"],
                          "--size", 100000])  # fmt: skip
    assert status == 1
    assert "needs about" in err and "the largest --size that fits is" in err
    assert "--force" in err and not (tmp_path / "r.png").exists()


def test_force_runs_what_the_estimate_refuses(files, tmp_path, fake_run, monkeypatch):
    import naah.estimate

    monkeypatch.setattr(naah.estimate, "available_memory", lambda: 10 << 20)
    args = ["stylize", files["content"], files["style"], "-o", tmp_path / "r.png",
            "--weights", files["weights"], "-q"]  # fmt: skip
    status, _, err = run(args)
    assert status == 1 and "10 MiB is available" in err
    assert run([*args, "--force"])[0] == 0


def test_size_auto_takes_the_largest_that_fits_up_to_the_contents_own(
    files, tmp_path, fake_run
):
    status, _, err = run(["stylize", files["content"], files["style"], "-o",
                          tmp_path / "r.png", "--weights", files["weights"],
                          "--size", "auto"])  # fmt: skip
    assert status == 0, err
    assert fake_run["content_shape"][:2] == (40, 30)  # its own size: everything fits
    assert "--size auto: 40 px" in err


def test_dry_run_prints_the_estimate_and_the_time_and_writes_nothing(files, tmp_path):
    status, out, err = run(["stylize", files["content"], files["style"], "-o",
                            tmp_path / "r.png", "--weights", files["weights"],
                            "--size", 32, "--dry-run", "-q"])  # fmt: skip
    assert status == 0, err
    memory, time_line = out.splitlines()
    assert memory.startswith("memory: about ") and "available" in memory
    assert time_line.startswith("time: about ") and "per iteration" in time_line
    assert list(tmp_path.iterdir()) == []
