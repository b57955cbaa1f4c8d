"""Image sizes checked against the deepest layer before loading; several styles
and regions."""

import time

import numpy as np
from PIL import Image

from naah.regions import MAX_REGIONS
from tests.cli._commands import run, stylize, stylize_inputs


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
