"""Bad option values: status 2, one line, nothing written."""

import pytest

from tests.cli._commands import stylize

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
