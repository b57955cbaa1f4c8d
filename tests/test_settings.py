"""naah.settings: one description of a run, and what is made from it (the Python
keywords, the options of naah stylize and naah batch, JSON, resume)."""

import argparse
import inspect

import pytest

from naah import StyleTransfer, settings
from naah.checks import SettingError
from naah.cli import build_parser
from naah.settings import Settings, specs


def subparser(name):
    """The parser of ``naah NAME``."""
    parser = build_parser()
    commands = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )
    return commands.choices[name]


def options(parser):
    """Each option of a parser by its destination: (flags, metavar, help)."""
    return {
        a.dest: (tuple(a.option_strings), a.metavar, a.help)
        for a in parser._actions
        if a.option_strings
    }


# -- the model ---------------------------------------------------------------------------
def test_the_defaults_are_the_papers():
    defaults = Settings()
    assert (defaults.loss.alpha, defaults.loss.beta) == (1.0, 1e3)  # α/β = 1e-3
    assert list(defaults.loss.content_layers) == ["conv4_2"]
    assert defaults.loss.style_layers == dict.fromkeys(
        ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"], 0.2
    )
    assert defaults.optimizer.method == "lbfgs"
    assert (defaults.images.size, defaults.schedule.iterations) == (512, 500)


def test_every_setting_has_one_name_help_and_a_known_scope():
    declared = specs()
    assert len(declared) == len(set(declared))
    for name, spec in declared.items():
        assert spec.help and not spec.help.endswith("."), name
        assert spec.scope in ("transfer", "run", "runtime"), name


def test_settings_of_names_the_setting_it_refuses():
    with pytest.raises(TypeError, match="unexpected keyword argument 'betta'"):
        Settings.of({"betta": 1.0})
    with pytest.raises(SettingError, match="beta must be a finite non-negative"):
        Settings.of({"beta": -1})
    with pytest.raises(SettingError, match="iterations has 3 values for 2 scales"):
        Settings.of({"scales": (16, 32), "iterations": (1, 2, 3)})


def test_json_gives_back_the_same_settings():
    given = Settings.of(
        {"style_layers": {"conv1_1": 3.0, "conv3_1": 1.0}, "optimizer": "adam",
         "scales": (64, 128), "iterations": (5, 2), "style_blend": (0.7, 0.3),
         "color": "luminance", "init": "content", "seed": 9}
    )  # fmt: skip
    json = given.to_json()
    assert json["scales"] == [64, 128] and json["style_layers"]["conv1_1"] == 3.0
    assert "checkpoint_every" not in json and "threads" not in json  # not recorded
    assert Settings.from_json(json) == given


def test_style_weights_fold_into_the_style_layers():
    folded = Settings.of(
        {"style_layers": ("conv1_1", "conv2_1"), "style_weights": (1, 3)}
    )
    assert folded.loss.style_layers == {"conv1_1": 1.0, "conv2_1": 3.0}
    assert folded.loss.style_weights is None
    with pytest.raises(SettingError) as error:
        Settings.of({"style_weights": (1, 1)})
    assert error.value.spelled(settings.flag).startswith(
        "--style-weights has 2 values (2 weights for 5 style layers"
    )


# -- the Python keywords -------------------------------------------------------------
def test_style_transfers_keywords_are_the_transfer_settings():
    parameters = inspect.signature(StyleTransfer).parameters
    assert [p for p in parameters if p in specs()] == list(settings.names("transfer"))
    for name in settings.names("transfer"):
        assert parameters[name].default == Settings().value(name)
    with pytest.raises(
        TypeError, match=r"StyleTransfer\(\) got an unexpected .*'size'"
    ):
        StyleTransfer(size=256)


def test_runs_keywords_are_the_run_settings_and_documented():
    parameters = inspect.signature(StyleTransfer.run).parameters
    assert [p for p in parameters if p in specs()] == list(settings.names("run"))
    for name in settings.names("run"):
        assert f"{name} : default" in StyleTransfer.run.__doc__
    assert "alpha : default 1" in StyleTransfer.__doc__


# -- the command lines -----------------------------------------------------------------
def test_stylize_and_batch_offer_every_setting_with_the_same_option_and_help():
    stylize, batch = options(subparser("stylize")), options(subparser("batch"))
    for name in specs():
        assert stylize[name] == batch[name], name
        flags, _, help_ = stylize[name]
        assert flags[0] == settings.flag(name)
        assert "(default " in help_


def test_an_option_spells_the_settings_its_help_names_as_options():
    help_ = options(subparser("stylize"))["iterations"][2]
    assert "with --scales, N at every scale, or N1,N2,… one per scale" in help_
    assert "``scales``" in settings.describe("run")


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("alpha", "0.5", 0.5),
        ("style_layers", "conv1_1,conv2_1", {"conv1_1": 0.5, "conv2_1": 0.5}),
        ("iterations", "300", 300),
        ("scales", "256,512", (256, 512)),
        ("size", "auto", "auto"),
        ("style_scale", "1,0.5", (1.0, 0.5)),
        ("bounds", "false", False),
        ("color", "luminance", "luminance"),
    ],
)
def test_text_gives_the_same_value_as_python(name, text, value):
    assert settings.parse_text(name, text) == value
    assert Settings.of({name: value}).value(name) == value


@pytest.mark.parametrize("text", ["30cm@300dpi", "300mm@300dpi"])
def test_a_size_as_printed_is_pixels_from_text_and_python_alike(text):
    for size in (
        settings.parse_text("size", text),
        Settings.of({"size": text}).value("size"),
    ):
        assert (size, size.dpi) == (3543, 300.0)


def test_a_size_that_is_neither_pixels_nor_a_print_says_what_it_may_be():
    with pytest.raises(
        ValueError,
        match="auto, or a print.s length at a resolution, such as 30cm@300dpi",
    ):
        settings.parse_text("size", "30 cm")
    with pytest.raises(SettingError, match="size must be pixels"):
        Settings.of({"size": "large"})


def test_a_bad_text_is_quoted_as_written():
    with pytest.raises(ValueError, match="must be a non-negative int, got '-1'"):
        settings.parse_text("seed", "-1")


def test_given_finds_the_settings_a_command_line_gave_and_no_others():
    args = build_parser().parse_args(
        ["stylize", "c.png", "s.png", "-o", "r.png", "--content-weight", "5",
         "--pooling", "avg", "--quiet"]
    )  # fmt: skip
    assert settings.given(args) == {"alpha": 5.0, "pooling": "avg"}


def test_setting_keys_take_aliases_dashes_and_name_the_close_ones():
    assert settings.setting_key("--content-weight") == "alpha"
    assert settings.setting_key("learning-rate") == "learning_rate"
    with pytest.raises(SettingError, match="did you mean pooling"):
        settings.setting_key("poolng")


# -- resume and compiled graphs ----------------------------------------------------------
def test_a_resumed_run_keeps_its_settings_but_takes_a_new_total():
    recorded = Settings.of({"pooling": "avg", "iterations": 10})
    given = {"pooling": "max", "alpha": 1.0, "iterations": 20, "threads": 2}
    assert list(settings.kept_differences(recorded, given)) == [
        ("pooling", "max", "avg")
    ]


def test_style_weights_given_on_resume_are_compared_as_the_layers_they_give():
    recorded = Settings()  # equal weights 0.2
    same = {"style_weights": (0.2,) * 5}
    other = {"style_weights": (1.0,) * 5}
    assert list(settings.kept_differences(recorded, same)) == []
    [(name, mine, theirs)] = settings.kept_differences(recorded, other)
    assert (
        name == "style_weights" and mine["conv1_1"] == 1.0 and theirs["conv1_1"] == 0.2
    )


def test_only_the_graphs_settings_need_another_compiled_loss():
    base = settings.graph_key(Settings())
    for same in ({"alpha": 3.0}, {"optimizer": "adam"}, {"seed": 4}, {"size": 64},
                 {"color": "histogram"}, {"iterations": 3}):  # fmt: skip
        assert settings.graph_key(Settings.of(same)) == base, same
    for other in ({"pooling": "avg"}, {"content_layers": ("conv1_1",)},
                  {"style_weights": (1, 2, 3, 4, 5)}, {"color": "luminance"},
                  {"backend": "numba"}):  # fmt: skip
        assert settings.graph_key(Settings.of(other)) != base, other
