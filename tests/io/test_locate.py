"""Tests for naah.io.locate: where the weights are looked for, and in which order."""

import pytest

from naah.io.locate import (
    WeightsNotFoundError,
    cache_dir,
    default_weights_path,
    find_weights,
    missing_weights_message,
    search_order,
)
from naah.io.weights import KNOWN_FILES

NAME = KNOWN_FILES[0].name


@pytest.fixture
def env(monkeypatch, tmp_path):
    """No $NAAH_WEIGHTS, and an empty cache in tmp_path/cache."""
    monkeypatch.delenv("NAAH_WEIGHTS", raising=False)
    monkeypatch.setenv("NAAH_CACHE", str(tmp_path / "cache"))
    return monkeypatch


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"weights")
    return path


def test_an_explicit_path_wins_over_the_environment_and_the_cache(env, tmp_path):
    explicit = touch(tmp_path / "mine.mat")
    env.setenv("NAAH_WEIGHTS", str(touch(tmp_path / "env.mat")))
    touch(default_weights_path())
    assert find_weights(explicit) == explicit
    assert find_weights(str(explicit)) == explicit


def test_the_environment_wins_over_the_cache(env, tmp_path):
    from_env = touch(tmp_path / "env.mat")
    env.setenv("NAAH_WEIGHTS", str(from_env))
    touch(default_weights_path())
    assert find_weights() == from_env


def test_the_cache_is_used_when_nothing_else_is_given(env, tmp_path):
    cached = touch(tmp_path / "cache" / NAME)
    assert find_weights() == cached


def test_a_missing_explicit_file_is_an_error_even_if_the_cache_has_one(env, tmp_path):
    touch(default_weights_path())
    with pytest.raises(WeightsNotFoundError, match="nope.mat.*does not exist"):
        find_weights(tmp_path / "nope.mat")


def test_a_missing_file_named_by_the_environment_says_to_fix_the_variable(
    env, tmp_path
):
    touch(default_weights_path())
    env.setenv("NAAH_WEIGHTS", str(tmp_path / "gone.mat"))
    with pytest.raises(WeightsNotFoundError, match=r"\$NAAH_WEIGHTS.*gone.mat.*unset"):
        find_weights()


def test_a_directory_is_not_a_weights_file_and_the_file_inside_is_suggested(
    env, tmp_path
):
    touch(tmp_path / "models" / NAME)
    with pytest.raises(WeightsNotFoundError, match=f"directory.*did you mean.*{NAME}"):
        find_weights(tmp_path / "models")


def test_with_nothing_found_the_error_says_what_is_needed_and_where(env):
    with pytest.raises(WeightsNotFoundError) as caught:
        find_weights()
    message = str(caught.value)
    assert message == missing_weights_message()
    known = KNOWN_FILES[0]
    for expected in (known.name, f"{known.size:,}", known.sha256, known.url):
        assert expected in message
    assert str(default_weights_path()) in message
    assert "naah weights download" in message


def test_weights_not_found_is_a_file_not_found_error():
    assert issubclass(WeightsNotFoundError, FileNotFoundError)


def test_the_cache_folder_is_naah_cache_then_xdg_cache_home_then_home(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("NAAH_CACHE", str(tmp_path / "n"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "n"
    monkeypatch.delenv("NAAH_CACHE")
    assert cache_dir() == tmp_path / "x" / "naah"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "naah"
    assert default_weights_path() == cache_dir() / NAME


def test_search_order_lists_only_the_places_that_apply(env, tmp_path):
    assert [label for label, _ in search_order()] == ["cache", "cache (Keras)"]
    env.setenv("NAAH_WEIGHTS", str(tmp_path / "e.mat"))
    keras = default_weights_path().with_name(
        "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
    )
    assert search_order(tmp_path / "x.mat") == [
        ("given", tmp_path / "x.mat"),
        ("$NAAH_WEIGHTS", tmp_path / "e.mat"),
        ("cache", default_weights_path()),
        ("cache (Keras)", keras),
    ]


NO_SUCH_USER = "~naah-no-such-user-7f3a"


@pytest.mark.parametrize("variable", ["NAAH_CACHE", "XDG_CACHE_HOME"])
def test_a_cache_variable_whose_tilde_names_no_user_is_named(env, variable):
    env.delenv("NAAH_CACHE")
    env.setenv(variable, f"{NO_SUCH_USER}/cache")
    with pytest.raises(ValueError, match=rf"\${variable} is '{NO_SUCH_USER}/cache'"):
        cache_dir()


def test_a_weights_variable_whose_tilde_names_no_user_is_named(env):
    env.setenv("NAAH_WEIGHTS", f"{NO_SUCH_USER}/vgg.mat")
    with pytest.raises(ValueError, match=r"\$NAAH_WEIGHTS is .*cannot be expanded"):
        find_weights()
