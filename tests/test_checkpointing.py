"""StyleTransfer checkpoints: what they hold, when they are written, true resume
through the file for every optimiser, and refusals of other inputs.

Fixture weights and two real images at 40 px, shallow layers (conv1_1, conv2_1), so
that each transfer compiles in seconds.
"""

import functools
import shutil
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from naah import StyleTransfer
from naah._version import __version__
from naah.checkpointing import MAX_OVERHEAD, VERSION, Checkpointer, load_run, read_run
from naah.io.checkpoint import CheckpointError, read_checkpoint
from naah.io.weights import load_weights
from naah.style_transfer import RunDiverged, RunInterrupted
from naah.testing import write_vgg19_mat
from tests.io import _corpus

IMAGES = Path(__file__).resolve().parents[1] / "data"
if not (IMAGES / "tubingen.jpg").exists():
    IMAGES = Path("/work/shared/images")
SIZE = 40
SHALLOW = {"content_layers": ("conv2_1",), "style_layers": ("conv1_1", "conv2_1")}
OPTIMIZERS = {
    "lbfgs": {},
    "adam": {"learning_rate": 5.0},
    "gd": {"learning_rate": 1e-3},
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    write_vgg19_mat(folder / "vgg19.mat")
    for name in ("tubingen.jpg", "starry_night.jpg"):
        shutil.copy(IMAGES / name, folder / name)
    return folder


def transfer(folder, optimizer="lbfgs"):
    return StyleTransfer(
        folder / "vgg19.mat", optimizer=optimizer, **SHALLOW, **OPTIMIZERS[optimizer]
    )


def run(folder, iterations, optimizer="lbfgs", **options):
    return transfer(folder, optimizer).run(
        folder / "tubingen.jpg", folder / "starry_night.jpg",
        iterations=iterations, size=SIZE, **options,
    )  # fmt: skip


@pytest.fixture(scope="module")
def uninterrupted(folder):
    return {name: run(folder, 12, name) for name in OPTIMIZERS}


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_resume_from_the_file_follows_the_uninterrupted_run(
    folder, uninterrupted, optimizer, tmp_path
):
    ckpt = tmp_path / "run.ckpt"
    first = run(folder, 5, optimizer, checkpoint=ckpt)
    assert first.checkpoint == ckpt and first.status == "finished"
    resumed = StyleTransfer.resume(ckpt, iterations=12)
    whole = uninterrupted[optimizer]
    ours = np.array(resumed.history.column("total"))
    theirs = np.array(whole.history.column("total"))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    assert np.abs(resumed.image.astype(int) - whole.image.astype(int)).max() <= 1
    assert read_checkpoint(ckpt).metadata["iteration"] == 12


def test_the_checkpoint_holds_settings_inputs_history_and_version(folder, tmp_path):
    ckpt = tmp_path / "run.ckpt"
    result = run(folder, 3, "adam", checkpoint=ckpt)
    saved, state = read_run(ckpt)
    meta = saved.metadata
    assert meta["naah_version"] == __version__
    assert meta["settings"]["optimizer"] == "adam"
    assert meta["settings"]["learning_rate"] == 5.0
    assert meta["settings"]["style_layers"] == {"conv1_1": 0.5, "conv2_1": 0.5}
    assert meta["run"] == {"iterations": 3, "size": SIZE, "style_scale": 1.0,
                           "init": "noise"}  # fmt: skip
    inputs = meta["inputs"]
    assert inputs["content"]["path"] == str(folder / "tubingen.jpg")
    assert len(inputs["weights"]["sha256"]) == 64
    assert [r["total"] for r in meta["history"]] == result.history.column("total")
    assert {"image", "best_image", "first_order.0"} <= set(saved.arrays)
    assert meta["status"] == "finished" and meta["iteration"] == 3
    assert state.history == result.history


def test_a_checkpoint_is_written_every_n_iterations(folder, tmp_path, monkeypatch):
    seen = []
    write = Checkpointer.write

    def counting(self, minimizer, status="running"):
        seen.append((minimizer.history[-1].iteration, status))
        return write(self, minimizer, status)

    monkeypatch.setattr(Checkpointer, "write", counting)
    run(folder, 7, "gd", checkpoint=tmp_path / "run.ckpt", checkpoint_every=3)
    assert seen == [(3, "running"), (6, "running"), (7, "finished")]


def test_time_based_checkpoints_keep_their_cost_below_the_overhead_bound(tmp_path):
    checkpointer = Checkpointer(tmp_path / "x.ckpt", {}, every=1000, seconds=0.0)
    checkpointer._write_seconds = 1.0  # a slow write: wait 1 / MAX_OVERHEAD seconds
    checkpointer._since -= 0.5 / MAX_OVERHEAD
    assert not checkpointer.due(1)
    checkpointer._since -= 0.6 / MAX_OVERHEAD
    assert checkpointer.due(2)


def test_an_interrupt_writes_a_checkpoint_that_resumes(folder, uninterrupted, tmp_path):
    ckpt = tmp_path / "run.ckpt"

    def interrupt(record, image):
        if record.iteration == 4:
            raise KeyboardInterrupt

    with pytest.raises(RunInterrupted) as caught:
        run(folder, 12, "lbfgs", checkpoint=ckpt, callback=interrupt)
    partial = caught.value.result
    assert partial.status == "interrupted" and len(partial.history) == 5
    assert read_checkpoint(ckpt).metadata["status"] == "interrupted"
    resumed = StyleTransfer.resume(ckpt)  # the run's own total: 12
    np.testing.assert_allclose(
        resumed.history.column("total"),
        uninterrupted["lbfgs"].history.column("total"),
        rtol=1e-6,
    )


def test_divergence_keeps_the_best_image_and_a_checkpoint(folder, tmp_path):
    ckpt = tmp_path / "run.ckpt"
    st = transfer(folder, "adam")

    def explode(record, image):
        if record.iteration == 3:  # from now on every loss overflows float32
            st._problem.set_loss_weights(beta=1e38, alpha=1e38)

    with pytest.raises(RunDiverged, match="rollbacks") as caught:
        st.run(folder / "tubingen.jpg", folder / "starry_night.jpg", iterations=20,
               size=SIZE, checkpoint=ckpt, callback=explode)  # fmt: skip
    result = caught.value.result
    assert result.status == "diverged"
    assert result.best_iteration == int(np.argmin(result.history.column("total")))
    assert read_checkpoint(ckpt).metadata["status"] == "diverged"


def test_resume_refuses_another_image_naming_it(folder, tmp_path):
    ckpt = tmp_path / "run.ckpt"
    run(folder, 2, "gd", checkpoint=ckpt)
    with pytest.raises(ValueError, match="content image is not the one"):
        StyleTransfer.resume(ckpt, content=folder / "starry_night.jpg")


def test_resume_refuses_other_weights_before_loading_them(folder, tmp_path):
    ckpt = tmp_path / "run.ckpt"
    run(folder, 2, "gd", checkpoint=ckpt)
    other = write_vgg19_mat(tmp_path / "other.mat", seed=1)
    with pytest.raises(ValueError, match="weights file .*other.mat is not the one"):
        StyleTransfer.resume(ckpt, weights=other)


def test_resume_refuses_fewer_iterations_than_done(folder, tmp_path):
    ckpt = tmp_path / "run.ckpt"
    run(folder, 4, "gd", checkpoint=ckpt)
    with pytest.raises(ValueError, match="at iteration 4; iterations"):
        StyleTransfer.resume(ckpt, iterations=3)


def test_resume_of_a_run_given_arrays_asks_for_them(folder, tmp_path):
    ckpt = tmp_path / "run.ckpt"
    content = np.full((SIZE, SIZE, 3), 100, np.float32)
    transfer(folder, "gd").run(content, folder / "starry_night.jpg", iterations=2,
                               size=SIZE, checkpoint=ckpt)  # fmt: skip
    with pytest.raises(ValueError, match=r"as an array: pass it again \(content="):
        StyleTransfer.resume(ckpt)
    result = StyleTransfer.resume(ckpt, content=content, iterations=3)
    assert len(result.history) == 4


def test_a_truncated_checkpoint_is_a_clear_error_before_any_work(folder, tmp_path):
    ckpt = tmp_path / "run.ckpt"
    run(folder, 2, "gd", checkpoint=ckpt)
    data = ckpt.read_bytes()
    ckpt.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="run.ckpt is not a complete"):
        StyleTransfer.resume(ckpt)


def test_a_failed_checkpoint_warns_naming_it_and_the_run_goes_on(
    folder, tmp_path, monkeypatch
):
    import errno

    import naah.checkpointing

    def full_disk(path, arrays, metadata):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(naah.checkpointing, "write_checkpoint", full_disk)
    ckpt = tmp_path / "run.ckpt"
    with pytest.warns(
        RuntimeWarning, match=f"could not write checkpoint {ckpt}: No space"
    ):
        result = run(folder, 4, "gd", checkpoint=ckpt, checkpoint_every=2)
    assert result.status == "finished" and len(result.history) == 5
    assert result.checkpoint is None and not ckpt.exists()


@pytest.mark.parametrize("color", ["luminance", "histogram"])
def test_a_colour_controlled_run_resumes_with_the_same_iterates(
    folder, tmp_path, color
):
    def colored(iterations, **options):
        st = StyleTransfer(folder / "vgg19.mat", color=color, **SHALLOW)
        return st.run(folder / "tubingen.jpg", folder / "starry_night.jpg",
                      iterations=iterations, size=SIZE, **options)  # fmt: skip

    whole = colored(8)
    colored(3, checkpoint=tmp_path / "c.ckpt")
    resumed = StyleTransfer.resume(tmp_path / "c.ckpt", iterations=8)
    np.testing.assert_allclose(resumed.history.column("total"),
                               whole.history.column("total"), rtol=1e-6)  # fmt: skip
    np.testing.assert_array_equal(resumed.image, whole.image)


def test_a_coarse_to_fine_run_interrupted_in_its_second_scale_resumes_there(
    folder, tmp_path
):
    def pyramid(**options):
        st = transfer(folder, "lbfgs")
        return st.run(folder / "tubingen.jpg", folder / "starry_night.jpg",
                      scales=(24, 32, 40), iterations=(3, 4, 2), **options)  # fmt: skip

    whole = pyramid()

    def interrupt(record, image):
        if record.iteration == 5:
            raise KeyboardInterrupt

    ckpt = tmp_path / "p.ckpt"
    with pytest.raises(RunInterrupted) as caught:
        pyramid(checkpoint=ckpt, callback=interrupt)
    assert [r.scale for r in caught.value.result.history][-1] == 32
    saved = read_checkpoint(ckpt).metadata["run"]
    assert (saved["scales"], saved["scale_index"]) == ([24, 32, 40], 1)
    resumed = StyleTransfer.resume(ckpt)
    assert [(r.iteration, r.scale) for r in resumed.history] == [
        (r.iteration, r.scale) for r in whole.history
    ]
    np.testing.assert_allclose(resumed.history.column("total"),
                               whole.history.column("total"), rtol=1e-6)  # fmt: skip
    np.testing.assert_array_equal(resumed.image, whole.image)


# -- checkpoints of the release before the settings model -----------------------------
RELEASE = Path(__file__).resolve().parent / "data"
RELEASE_RUNS = {
    # tests/data/make_release_checkpoints.py wrote them with naah at git ff4d0cd.
    "release-lbfgs.ckpt": (
        {},
        "starry_night.jpg",
        {"size": 16, "iterations": 8},
        {"iterations": 8},
    ),
    "release-adam-scales.ckpt": (
        {"optimizer": "adam", "learning_rate": 5.0},
        ["starry_night.jpg", "shipwreck.jpg"],
        {"style_blend": (0.7, 0.3), "scales": (12, 16), "iterations": (3, 3)},
        {},
    ),
}


@pytest.mark.parametrize("name", list(RELEASE_RUNS))
def test_a_checkpoint_of_the_previous_release_resumes_with_the_same_iterates(
    tmp_path, name
):
    settings, style, run_options, resume_options = RELEASE_RUNS[name]
    styles = [IMAGES / s for s in style] if isinstance(style, list) else IMAGES / style
    # The same values as the file that wrote the checkpoints (its header, with its
    # date, differs): given loaded, the weights are the caller's to vouch for.
    weights = load_weights(write_vgg19_mat(tmp_path / "vgg19.mat"))
    ckpt = tmp_path / name
    shutil.copy(RELEASE / name, ckpt)
    resumed = StyleTransfer.resume(
        ckpt, weights=weights, content=IMAGES / "tubingen.jpg", style=styles,
        progress=False, **resume_options,
    )  # fmt: skip
    whole = StyleTransfer(weights, **SHALLOW, **settings).run(
        IMAGES / "tubingen.jpg", styles, progress=False, **run_options
    )
    assert [(r.iteration, r.scale) for r in resumed.history] == [
        (r.iteration, r.scale) for r in whole.history
    ]
    np.testing.assert_allclose(resumed.history.column("total"),
                               whole.history.column("total"), rtol=1e-6)  # fmt: skip
    np.testing.assert_array_equal(resumed.image, whole.image)
    saved = load_run(ckpt)
    assert saved.checkpoint.metadata["version"] == VERSION
    assert saved.description.settings.loss.style_layers == {
        "conv1_1": 0.5,
        "conv2_1": 0.5,
    }


# -- untrusted checkpoints: metadata, arrays and the optimiser's state ----------------
# The release checkpoints above, crafted: load_run reads no array, so these need no
# compiling; tests/io/_corpus.py makes the lies.
RELEASE_LBFGS = RELEASE / "release-lbfgs.ckpt"
RELEASE_SCALES = RELEASE / "release-adam-scales.ckpt"


def crafted(tmp_path, data, name="crafted.ckpt"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def with_metadata(tmp_path, source, change):
    """A copy of ``source`` whose metadata ``change(metadata)`` edited."""
    data = source.read_bytes()
    manifest, _ = _corpus.checkpoint_parts(data)
    metadata = manifest["metadata"]
    change(metadata)
    return crafted(tmp_path, _corpus.checkpoint_with_metadata(data, metadata))


def setter(*path, value):
    def change(metadata):
        target = metadata
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


DEEP = functools.reduce(lambda inner, _: {"a": inner}, range(500), 1)


@pytest.mark.parametrize(
    "path, value, named",
    [
        # What raw int(), float(), zip(), AttributeError and RecursionError said.
        (("iteration",), "four", r"metadata field iteration must be an integer >= -1"),
        (("history", 1, "total"), [1], r"field history\[1\].total must be a number"),
        (("history", 2), "x", r"field history\[2\] must be an object, got 'x'"),
        (("run", "style_scale"), {"a": 1}, "field run.style_scale must be a finite"),
        (
            ("run", "size"),
            10**400,
            "field run.size must be an integer from 1 to 1048576 or null",
        ),
        (("inputs", "styles", 0), None, r"field inputs.styles\[0\] must be an object"),
        (("inputs", "content", "sha256"), 5, "field inputs.content.sha256 must be a"),
        (("inputs", "weights"), [], "field inputs.weights must be an object"),
        (("optimizer_state",), "x", "field optimizer_state must be an object"),
        (("optimizer_state", "rollbacks"), -2, "field optimizer_state.rollbacks must"),
        (("optimizer_state", "started"), "yes", "optimizer_state.started must be true"),
        (("info", "plot"), 7, "field info.plot must be a string or null, got 7"),
        (("settings", "alpha"), "x", "field settings: alpha must be a finite non-neg"),
        (("settings", "style_layers"), DEEP, "settings.style_layers must be a JSON"),
        (("settings", "colour"), 1, "field settings.colour is no setting of this naah"),
        (("history",), [], "field iteration is 4, but the history has 0 records"),
        (("optimizer_state", "best_iteration"), 9, "best_iteration is 9, beyond the"),
        (("inputs", "style"), None, "field inputs.style must be an object"),
        (("version",), 3, "metadata is version 3, not one this naah reads"),
    ],
)
def test_wrong_metadata_is_refused_naming_the_checkpoint_and_the_field(
    tmp_path, path, value, named
):
    ckpt = with_metadata(tmp_path, RELEASE_LBFGS, setter(*path, value=value))
    with pytest.raises(CheckpointError, match=named) as error:
        load_run(ckpt)
    message = str(error.value)
    assert message.startswith(f"{ckpt}: ") and "\n" not in message


@pytest.mark.parametrize(
    "key, value, named",
    [
        ("scale_index", 2, "run.scale_index is 2, beyond 2 scales"),
        ("scale_iterations", [3], "run.scale_iterations has 1 values for 2 scales"),
        ("earlier_history", None, "run.earlier_history must be a list"),
        (
            "scales",
            [12, "16"],
            r"run.scales\[1\] must be an integer from 1 to 1048576, got '16'",
        ),
    ],
)
def test_a_coarse_to_fine_position_that_does_not_add_up_is_refused(
    tmp_path, key, value, named
):
    ckpt = with_metadata(tmp_path, RELEASE_SCALES, setter("run", key, value=value))
    with pytest.raises(CheckpointError, match=named):
        load_run(ckpt)


def fields(value, path=()):
    """Every field of a JSON document, as the path of keys and indices to it."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = list(enumerate(value))[:2]
    else:
        return
    for key, item in items:
        yield (*path, key)
        yield from fields(item, (*path, key))


WRONG = {"text": "x", "list": [], "object": {}, "null": None, "negative": -1,
         "huge": 10**400, "true": True, "deep": DEEP}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    "source", [RELEASE_LBFGS, RELEASE_SCALES], ids=["lbfgs", "scales"]
)
def test_no_wrong_value_in_any_field_gives_another_error_than_a_named_refusal(
    tmp_path, source
):
    """Each field of a real checkpoint, given each wrong value: load_run accepts it
    (a value the field takes) or refuses it naming the file; nothing else."""
    manifest, _ = _corpus.checkpoint_parts(source.read_bytes())
    others = []
    for path in fields(manifest["metadata"]):
        for name, value in WRONG.items():
            ckpt = with_metadata(tmp_path, source, setter(*path, value=value))
            try:
                load_run(ckpt)
            except CheckpointError as error:
                if not str(error).startswith(f"{ckpt}: "):
                    others.append((path, name, str(error)))
            except Exception as error:  # what this test is for
                others.append((path, name, f"{type(error).__name__}: {error}"))
    assert others == []


@pytest.mark.parametrize("names", [("image",), ("image", "best_image")])
def test_an_image_listed_larger_than_the_run_is_refused_before_inflating(
    tmp_path, names
):
    """1.2 GB of deflated image in a 2 MB file: refused by its listing."""
    data = RELEASE_LBFGS.read_bytes()
    for name in names:
        data = _corpus.checkpoint_bomb(data, name, (1, 3, 10_000, 10_000))
    ckpt = crafted(tmp_path, data)
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError) as error:
            load_run(ckpt)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000, peak
    assert str(error.value) == (
        f"{ckpt}: array 'best_image' has shape (1, 3, 12, 16), 'image' "
        "(1, 3, 10000, 10000)"
        if len(names) == 1
        else f"{ckpt}: array 'image' is 10000x10000 pixels, larger than the run's "
        "size (16, metadata field run.size)"
    )


@pytest.fixture(scope="module")
def release_weights(tmp_path_factory):
    folder = tmp_path_factory.mktemp("release")
    return load_weights(write_vgg19_mat(folder / "vgg19.mat"))


def resume_release(ckpt, weights):
    return StyleTransfer.resume(
        ckpt, weights=weights, content=IMAGES / "tubingen.jpg",
        style=IMAGES / "starry_night.jpg", iterations=8, progress=False,
    )  # fmt: skip


def test_an_optimiser_state_larger_than_the_run_is_refused_before_it_is_read(
    tmp_path, release_weights
):
    """L-BFGS-B's workspace listed as 4 GB: load_run leaves it in the file, and the
    resumed run refuses it by its listed size, reading none of it."""
    data = RELEASE_LBFGS.read_bytes()
    ckpt = crafted(tmp_path, _corpus.checkpoint_bomb(data, "lbfgs.wa", (5 * 10**8,)))
    saved = load_run(ckpt)
    assert saved.state.arrays["lbfgs.wa"].shape == (5 * 10**8,)
    with pytest.raises(CheckpointError, match=r"array 'wa' is float64\[500000000\]"):
        resume_release(ckpt, release_weights)


@pytest.mark.parametrize(
    "array, index, value, named",
    [("lbfgs.isave", 21 + 5, 10**9, r"head \(isave\) is 1000000000"),
     ("lbfgs.iwa", 0, -12345, "iwa holds a variable index -12345")],
)  # fmt: skip
def test_garbage_in_the_l_bfgs_integer_state_is_refused_before_scipy_sees_it(
    tmp_path, release_weights, array, index, value, named
):
    """It made --resume die with SIGSEGV inside scipy's L-BFGS-B."""
    data = RELEASE_LBFGS.read_bytes()
    saved = read_checkpoint(RELEASE_LBFGS).arrays[array].copy()
    saved[index] = value
    ckpt = crafted(tmp_path, _corpus.checkpoint_with_array(data, array, saved))
    with pytest.raises(CheckpointError, match=f"^{ckpt}: L-BFGS-B state is spoilt: "):
        resume_release(ckpt, release_weights)
