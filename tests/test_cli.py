"""Tests for the ``naah`` command (naah.cli), on small fixture weights."""

import contextlib
import csv
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from naah import cli
from naah.cli import main
from naah.io.download import DownloadError
from naah.io.images import ImageError
from naah.io.weights import KNOWN_FILES
from naah.style_transfer import StyleTransfer
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
        "--plot", folder / "curve.svg",
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
    for option in ("--style-weights", "--save-every", "--plot", "--backend", "--init"):
        assert option in out


# -- bad command lines: status 2, one line, nothing written -------------------------------
BAD_OPTIONS = {
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
    "unsupported plot format": (["--plot", "{out}/loss.xyz"], "--plot"),
    "plot over the output": (["--plot", "{out}/result.png"], "same file"),
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


# -- failures while working: status 1, one line ------------------------------------------
@pytest.fixture
def no_weights(monkeypatch, tmp_path):
    monkeypatch.delenv("NAAH_WEIGHTS", raising=False)
    monkeypatch.setenv("NAAH_CACHE", str(tmp_path / "cache"))


def test_missing_weights_say_which_file_is_needed_and_where_to_put_it(
    files, tmp_path, no_weights
):
    output = tmp_path / "result.png"
    status, _, err = run(["stylize", files["content"], files["style"], "-o", output])
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
        "download_weights",
        lambda dest, progress: calls.append((dest, progress)) or tmp_path,
    )
    assert run(["weights", "download", "--dest", tmp_path, "--quiet"]) == (0, "", "")
    status, _, err = run(["weights", "download"])
    assert status == 0 and "SHA-256 verified" in err
    assert calls == [(str(tmp_path), False), (None, True)]


def test_a_failed_download_is_one_line_with_status_1(monkeypatch):
    def fail(dest, progress):
        raise DownloadError("downloading x failed: HTTP 404 Not Found")

    monkeypatch.setattr(cli, "download_weights", fail)
    status, _, err = run(["weights", "download", "--quiet"])
    assert (status, err) == (
        1,
        "naah: error: downloading x failed: HTTP 404 Not Found\n",
    )
