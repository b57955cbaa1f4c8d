"""Image sizes checked against the deepest layer before loading; several styles
and regions; inputs that are not regular files; images far larger than the run."""

import os
import re
import time

import numpy as np
import pytest
from PIL import Image

from naah.io import images
from naah.regions import MAX_REGIONS
from naah.testing import write_vgg19_mat
from tests._bounds import deadline, run_bounded
from tests.cli._commands import run, stylize, stylize_inputs
from tests.io import _corpus


# -- image sizes: checked against the deepest layer before loading ------------------------
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


# -- special files: refused at once, naming the option --------------------------------
def special_inputs(files, path):
    """Each option an input can come through, with ``path`` in that place, and how
    the message names it."""
    content, style, out = files["content"], files["style"], path.parent / "r.png"
    base = ["-o", out, "--weights", files["weights"]]
    region = ["stylize", content, "--region"]
    return {
        "content image": ["stylize", path, style, *base],
        "style image": ["stylize", content, path, *base],
        f"--region {path}'s mask": [*region, f"{path}={style}", *base],
        f"--region {content}'s style image": [*region, f"{content}={path}", *base],
        "--init": ["stylize", content, style, "--init", path, *base],
        "--weights": ["stylize", content, style, "-o", out, "--weights", path],
    }


@pytest.mark.parametrize(
    ("make", "kind"),
    [(_corpus.fifo, "a FIFO"), (_corpus.dev_zero, "a character device")],
    ids=["fifo", "dev-zero"],
)
def test_an_input_that_is_not_a_regular_file_is_refused_at_once(
    files, tmp_path, make, kind
):
    path = tmp_path / "input.png"
    make(path)
    for named, argv in special_inputs(files, path).items():
        with deadline(10):  # opened, a FIFO would block here for ever
            status, _, err = run(argv)
        assert status == 2 and err.count("\n") == 1, (named, err)
        assert named in err and str(path) in err
        if named == "--init":  # its check wants an image file, or a start's name
            assert "or an image file" in err
        elif named == "--weights":  # the weights' locator says what it is not
            assert "is not a regular file" in err
        else:
            assert f"is not a regular file ({kind}): give a file" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.png"]


@pytest.mark.skipif(not os.path.exists("/proc/self/mem"), reason="no /proc here")
def test_a_kernel_pseudo_file_is_refused_not_an_io_error(files, tmp_path):
    output = tmp_path / "r.png"
    status, _, err = stylize_inputs(files, "/proc/self/mem", files["style"], output)
    assert status == 2 and err == (
        "naah: error: content image '/proc/self/mem' is not a regular file (a kernel "
        "pseudo-file in /proc): give a file\n"
    )


# -- images far larger than the run: decoded at reduced size, said once -------------------
@pytest.mark.filterwarnings("default::UserWarning")
def test_an_image_far_larger_than_the_run_needs_is_said_once(
    files, tmp_path, fake_run, monkeypatch
):
    # 4200² pixels are to Pillow at this limit what 12000² are at its default: a
    # "decompression bomb" to warn of, which the command leaves unsaid.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2**24)
    content = tmp_path / "huge.png"
    content.write_bytes(_corpus.png_bomb(4200, 128))
    status, _, err = stylize_inputs(files, content, files["style"], tmp_path / "r.png")
    assert status == 0, err
    (warning,) = [line for line in err.splitlines() if "warning" in line]
    assert re.fullmatch(
        rf"naah: warning: {re.escape(str(content))} is 4200x4200 pixels, far more "
        r"than the 32x32 result needs: decoded at reduced size \(\d+x\d+\) to save "
        "memory",
        warning,
    )
    assert fake_run["content_shape"] == (32, 32, 3)


def test_a_size_no_memory_holds_is_refused_with_the_size_and_the_estimate(
    files, tmp_path, monkeypatch
):
    def no_memory(*args, **kwargs):
        raise MemoryError  # as numpy raises it for an allocation it cannot make

    monkeypatch.setattr(images, "_resize", no_memory)
    status, _, err = stylize(files, tmp_path / "r.png", "--force")
    assert status == 1 and err.count("\n") == 1
    assert err.startswith(
        f"naah: error: cannot read content image {files['content']!r}: not enough "
        f"memory to load {files['content']} (30x40 pixels) at 24x32: that needs about"
    )


# -- bombs, in a child process whose memory is bounded --------------------------------
# The bound on any input at --size 32, and the address space the child gets
# (room for PyTensor's compiler too: a regression ends in a MemoryError there).
BOUND_BYTES = 1.5e9
CHILD_ADDRESS_SPACE = 3 * 2**30


@pytest.fixture(scope="module")
def bombs(tmp_path_factory):
    """The files of issue 21: a 140 KB PNG of 12000² pixels, a TIFF of as many, an
    all-inside mask of as many, and weights whose meta inflates to 1 GiB."""
    root = tmp_path_factory.mktemp("bombs")
    (root / "pixels.png").write_bytes(_corpus.png_bomb(12000))
    (root / "pixels.tif").write_bytes(_corpus.tiff_bomb(12000))
    (root / "mask.png").write_bytes(_corpus.png_bomb(12000, 255))
    layers = write_vgg19_mat(root / "layers.mat", drop_variables=("meta",))
    with open(layers, "rb") as file:
        (root / "meta.mat").write_bytes(_corpus.with_meta_bomb(file.read(), 2**27))
    Image.fromarray(np.full((30, 30, 3), 90, np.uint8)).save(root / "square.png")
    return root


BOMB_CASES = {
    "png": ["{bombs}/pixels.png", "{style}"],
    "png --dry-run": ["{bombs}/pixels.png", "{style}", "--dry-run"],
    "tiff": ["{bombs}/pixels.tif", "{style}"],
    "mask": ["{bombs}/square.png", "--region", "{bombs}/mask.png={style}"],
    "style": ["{content}", "{bombs}/pixels.png"],
    "--init": ["{content}", "{style}", "--init", "{bombs}/pixels.png"],
}


@pytest.mark.slow
@pytest.mark.parametrize("case", BOMB_CASES.values(), ids=BOMB_CASES)
def test_a_pixel_bomb_at_size_32_runs_in_bounded_memory_saying_so_once(
    files, bombs, tmp_path, case
):
    inputs = [
        a.format(bombs=bombs, content=files["content"], style=files["style"])
        for a in case
    ]
    done = run_bounded(
        ["-m", "naah", "stylize", *inputs, "-o", str(tmp_path / "r.png"),
         "--weights", files["weights"], "--size", "32", "--iterations", "1", "-q"],
        address_space=CHILD_ADDRESS_SPACE, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.peak_bytes < BOUND_BYTES, done.peak_bytes
    (said,) = done.stderr.splitlines()
    assert said.startswith("naah: warning: ") and "is 12000x12000 pixels" in said
    assert "decoded at reduced size" in said


@pytest.mark.slow
def test_weights_whose_meta_is_a_bomb_are_refused_in_bounded_memory(
    files, bombs, tmp_path
):
    done = run_bounded(
        ["-m", "naah", "stylize", files["content"], files["style"], "-o",
         str(tmp_path / "r.png"), "--weights", str(bombs / "meta.mat"), "-q"],
        address_space=CHILD_ADDRESS_SPACE, timeout=600,
    )  # fmt: skip
    assert done.returncode == 1
    # A naah process that has imported everything is about 0.4 GB before it reads
    # a byte; the bomb took 1.37 GB before the guarded reader.
    assert done.peak_bytes < BOUND_BYTES / 2, done.peak_bytes
    assert done.stderr == (
        f"naah: error: weights file '{bombs / 'meta.mat'}' is not a readable "
        "MAT-file: meta.junk is a 1x134217728 array of 134,217,728 values; the "
        "metadata of a VGG-19 weights file has none larger than 102,760,448.\n"
    )


def test_two_hundred_regions_are_refused_at_once_naming_the_option(files, tmp_path):
    # They compiled for over 5 minutes.
    mask = tmp_path / "half.png"
    half = np.zeros((40, 30), np.uint8)
    half[:20] = 255
    Image.fromarray(half).save(mask)
    regions = [a for _ in range(200) for a in ("--region", f"{mask}={files['style']}")]
    start = time.monotonic()
    status, _, err = run(["stylize", files["content"], *regions, "-o",
                          tmp_path / "r.png", "--weights", files["weights"]])  # fmt: skip
    assert time.monotonic() - start < 5
    assert status == 2 and err.count("\n") == 1
    assert err.startswith(
        f"naah: error: --region given 200 times: 200 regions are more than the "
        f"{MAX_REGIONS} a run may have"
    )
