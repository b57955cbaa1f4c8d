"""Inputs that cannot be read and outputs that cannot be written are usage errors;
inputs are never written over."""

import os
import shutil
import tempfile

import pytest

from naah.cli.common import UsageError
from naah.cli.paths import recorded_file
from tests.cli._commands import run, stylize, stylize_inputs

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

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
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


# -- paths a checkpoint records --------------------------------------------------------
def test_a_recorded_path_beside_the_checkpoint_or_not_there_yet_is_taken(tmp_path):
    checkpoint = tmp_path / "run" / "run.ckpt"
    checkpoint.parent.mkdir()
    beside = checkpoint.with_name("o.png")
    beside.write_bytes(b"the run's own result")
    new = tmp_path / "new.png"
    for path in (beside, new):
        assert recorded_file(str(path), "output image", checkpoint, "-o OUT") == path


@pytest.mark.parametrize("kind", ["file", "dangling link"])
def test_a_recorded_path_that_exists_elsewhere_is_refused(tmp_path, kind):
    checkpoint = tmp_path / "run" / "run.ckpt"
    theirs = tmp_path / "notes.json"
    if kind == "file":
        theirs.write_text("{}")
    else:
        theirs.symlink_to(tmp_path / "nowhere" / "x.json")
    with pytest.raises(UsageError, match="outside the checkpoint's folder") as error:
        recorded_file(str(theirs), "history", checkpoint, "--history PATH")
    assert str(error.value).endswith("give --history PATH")


@pytest.mark.parametrize("value", [None, 7, "", ["a.png"]])
def test_a_recorded_path_that_is_no_path_is_refused(tmp_path, value):
    with pytest.raises(UsageError, match="records no usable path for its output"):
        recorded_file(value, "output image", tmp_path / "r.ckpt", "-o OUT")
