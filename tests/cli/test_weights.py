"""``naah weights``: info, path, download, fixture, normalize."""

import numpy as np
import pytest
from PIL import Image

from naah.cli import weights as weights_command
from naah.io.download import DownloadError
from naah.io.weights import KNOWN_FILES
from naah.testing import write_vgg19_mat
from tests._bounds import deadline
from tests.cli._commands import run, stylize
from tests.io import _corpus


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


@pytest.mark.parametrize("make", [_corpus.fifo, _corpus.dev_zero], ids=["fifo", "zero"])
def test_weights_info_on_a_special_file_refuses_it_unread(tmp_path, make):
    path = make(tmp_path / "vgg.mat")
    with deadline(5):
        status, _, err = run(["weights", "info", path])
    assert status == 2 and err.startswith(
        f"naah: error: weights file {path!r} is not a regular file ("
    )


def test_weights_path_shows_where_naah_looks_and_what_it_uses(
    files, tmp_path, no_weights, monkeypatch
):
    status, out, err = run(["weights", "path"])
    assert status == 0 and "(missing)" in out and err == ""  # answered: no file
    using = out.splitlines()[-1]
    assert using.startswith("using:         none: ") and KNOWN_FILES[0].sha256 in using
    monkeypatch.setenv("NAAH_WEIGHTS", files["weights"])
    status, out, _ = run(["weights", "path"])
    assert status == 0 and f"using:         {files['weights']}" in out


def test_weights_download_passes_the_destination_and_quiet_on(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(
        weights_command,
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

    monkeypatch.setattr(weights_command, "fetch_weights", fail)
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
