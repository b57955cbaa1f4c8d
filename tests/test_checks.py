"""naah.checks: the value checks of every setting, and how a setting is declared."""

import copy
import dataclasses
import pickle

import numpy as np
import pytest

from naah import checks
from naah.checks import SettingError, check_fields, setting, setting_fields


# -- numbers -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("check", "good", "canonical"),
    [
        (checks.non_negative_float, 0, 0.0),
        (checks.non_negative_float, np.float32(2.5), 2.5),
        (checks.positive_float, 3, 3.0),
        (checks.finite_float, -1e30, -1e30),
        (checks.unit_interval, 0.999, 0.999),
        (checks.positive_int, np.int64(7), 7),
        (checks.non_negative_int, 0, 0),
        (checks.seed, 2**70, 2**70),
        (checks.boolean, np.True_, True),
        (checks.blend_weights, [1e307, 1e307], (1e307, 1e307)),
    ],
)
def test_a_check_gives_the_canonical_value_of_a_good_one(check, good, canonical):
    value = check(good)
    assert value == canonical and type(value) is type(canonical)


@pytest.mark.parametrize(
    ("check", "bad", "says"),
    [
        (
            checks.non_negative_float,
            -0.5,
            "must be a finite non-negative number, got -0.5",
        ),
        (checks.non_negative_float, float("inf"), "got inf"),
        (checks.non_negative_float, True, "got True"),
        (checks.non_negative_float, "1", "got '1'"),
        (checks.positive_float, 0.0, "must be positive and finite, got 0.0"),
        (checks.finite_float, float("nan"), "must be a finite number"),
        (checks.unit_interval, 1.0, "must be in [0, 1), got 1.0"),
        (checks.positive_int, 2.0, "must be a positive int, got 2.0"),
        (checks.positive_int, 0, "must be a positive int, got 0"),
        (checks.non_negative_int, -1, "must be a non-negative int, got -1"),
        (checks.non_negative_int, "10", "got '10'"),
        (checks.seed, -3, "got -3"),
        (checks.boolean, "yes", "must be true or false, got 'yes'"),
        (checks.blend_weights, (1e308, 1e308), "must sum to a finite number"),
        (checks.blend_weights, (1, -1), "must be a finite non-negative number"),
    ],
)
def test_a_check_refuses_a_bad_value_saying_what_it_must_be(check, bad, says):
    with pytest.raises(ValueError) as error:
        check(bad)
    assert says in str(error.value)


def test_text_is_parsed_before_the_check_so_python_gets_no_strings():
    assert checks.as_int(" 12 ") == 12
    assert checks.as_floats("1,2.5") == (1.0, 2.5)
    assert checks.as_ints("256,512") == (256, 512)
    assert checks.as_names("conv1_1, conv2_1") == ("conv1_1", "conv2_1")
    assert checks.as_boolean("off") is False
    with pytest.raises(ValueError, match="must be a number, got 'x'"):
        checks.as_float("x")
    with pytest.raises(ValueError, match="comma-separated layer names"):
        checks.as_names("conv1_1,,conv2_1")


# -- print sizes -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "pixels", "dpi"),
    [
        ("30cm@300dpi", 3543, 300.0),  # 30 / 2.54 * 300 = 3543.3
        ("300mm@300dpi", 3543, 300.0),
        ("12in@300dpi", 3600, 300.0),
        ("29.7cm@150dpi", 1754, 150.0),  # A4's long edge: 1753.9
        (" 8.5 IN @ 72.5 DPI ", 616, 72.5),  # 616.25
        (".5in@100dpi", 50, 100.0),
    ],
)
def test_a_print_size_is_its_long_edge_in_pixels_and_keeps_its_dpi(text, pixels, dpi):
    edge = checks.print_size(text)
    assert edge == pixels and isinstance(edge, int) and edge.dpi == dpi


@pytest.mark.parametrize("text", ["512", "auto", "30cm", "30cm@300", "30@300dpi", ""])
def test_text_that_is_not_a_print_size_gives_none(text):
    assert checks.print_size(text) is None


def test_a_print_size_of_less_than_a_pixel_is_refused():
    with pytest.raises(ValueError, match="gives 0 pixels, less than one"):
        checks.print_size("0.1mm@10dpi")


def test_a_print_size_keeps_its_dpi_when_copied_or_pickled():
    edge = checks.PrintSize(3543, 300)
    for same in (copy.deepcopy(edge), pickle.loads(pickle.dumps(edge))):
        assert (same, same.dpi, type(same)) == (3543, 300.0, checks.PrintSize)


# -- names ---------------------------------------------------------------------------
def test_layer_names_list_every_layer_of_vgg19_when_one_is_unknown():
    assert checks.layer_names("content")("conv4_2") == ("conv4_2",)
    with pytest.raises(ValueError) as error:
        checks.layer_names("style")(["conv1_1", "conv9_9"])
    message = str(error.value)
    assert "unknown style layer 'conv9_9'" in message
    assert all(name in message for name in ("conv1_1", "relu3_4", "pool5"))


def test_style_layers_get_equal_weights_or_keep_theirs():
    assert checks.style_layer_weights(("conv1_1", "conv2_1")) == {
        "conv1_1": 0.5,
        "conv2_1": 0.5,
    }
    assert checks.style_layer_weights({"conv3_1": 2}) == {"conv3_1": 2.0}
    with pytest.raises(ValueError, match="the weight of conv3_1 as -1"):
        checks.style_layer_weights({"conv3_1": -1})


def test_a_choice_names_its_options():
    check = checks.choice(("max", "avg"))
    assert check("avg") == "avg"
    with pytest.raises(ValueError, match="must be one of max, avg, got 'min'"):
        check("min")
    assert checks.optional(check)(None) is None


# -- errors that name settings ---------------------------------------------------------
def test_a_setting_error_spells_the_settings_it_names_as_each_front_end_does():
    error = SettingError(
        "{iterations} has {n} values for {m} {scales}", "iterations", "scales", n=3, m=2
    )
    assert str(error) == "iterations has 3 values for 2 scales"
    assert (
        error.spelled(lambda n: "--" + n) == "--iterations has 3 values for 2 --scales"
    )
    assert isinstance(error, ValueError)


def test_values_in_a_setting_error_are_not_read_as_templates():
    error = SettingError("{alpha} is {value}", "alpha", value="{beta}")
    assert str(error) == "alpha is {beta}"


@pytest.mark.parametrize(
    ("detail", "message"),
    [
        ("must be 0 or more, got -1", "gain must be 0 or more, got -1"),
        ("expected comma-separated numbers", "gain: expected comma-separated numbers"),
        ("the gain is out of range", "the gain is out of range"),
    ],
)
def test_a_checks_message_names_its_setting_once(detail, message):
    assert str(SettingError.of("gain", ValueError(detail))) == message


# -- declaring settings ----------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Knobs:
    gain: float = setting(1.0, help="gain", check=checks.non_negative_float)
    names: tuple = setting(("a",), help="names", text=checks.as_names)
    offset: float = setting(
        0.0, help="offset", name="shift", scope="run", record=False, resume="new"
    )
    plain: int = 3

    def __post_init__(self):
        check_fields(self)


def test_a_declared_setting_is_checked_and_normalised_in_the_dataclass():
    assert Knobs(gain=2).gain == 2.0 and isinstance(Knobs(gain=2).gain, float)
    with pytest.raises(SettingError, match="gain must be a finite non-negative number"):
        Knobs(gain=-1)


def test_setting_fields_give_each_setting_its_keyword_and_declaration():
    fields = {name: (f.name, spec) for name, f, spec in setting_fields(Knobs)}
    assert list(fields) == ["gain", "names", "shift"]  # not the plain field
    field_name, spec = fields["shift"]
    assert field_name == "offset"
    assert (spec.scope, spec.record, spec.resume) == ("run", False, "new")
    assert fields["names"][1].text("x,y") == ("x", "y")
    assert fields["gain"][1].text("2") == 2.0  # from the default's type


def test_a_setting_folded_into_another_is_never_recorded():
    spec = setting(None, help="w", folds_into="layers").metadata["naah"]
    assert spec.folds_into == "layers" and spec.record is False


def test_a_dict_default_is_copied_for_each_instance():
    @dataclasses.dataclass(frozen=True)
    class Table:
        rows: dict = setting({"a": 1}, help="rows")

    first, second = Table(), Table()
    first.rows["b"] = 2
    assert second.rows == {"a": 1}


def test_a_message_given_whole_keeps_its_braces():
    message = "--content '/tmp/a{1}.png': no such file or folder"
    assert str(SettingError(message)) == message
