"""notebook_config: full, fixture and tiny modes."""

import pytest

from naah.experiments import notebook_config
from naah.experiments.setup import TINY_ENV


@pytest.fixture
def no_weights(monkeypatch, tmp_path):
    monkeypatch.delenv("NAAH_WEIGHTS", raising=False)
    monkeypatch.setenv("NAAH_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("NAAH_NOTEBOOK_OUTPUT", str(tmp_path / "out"))
    monkeypatch.delenv(TINY_ENV, raising=False)


def test_tiny_mode_uses_fixture_weights_at_32_px(no_weights, monkeypatch):
    monkeypatch.setenv(TINY_ENV, "1")
    config = notebook_config("nb")
    assert (config.mode, config.size) == ("tiny", 32)
    assert config.weights.is_file()
    assert "RANDOM fixture weights" in config.banner
    assert config.output_dir.name == "nb" and config.output_dir.is_dir()


def test_without_weights_the_banner_says_so_and_how_to_get_them(no_weights):
    config = notebook_config("nb")
    assert config.mode == "fixture"
    assert not config.pretrained
    assert "NO PRETRAINED VGG-19 WEIGHTS" in config.banner
    assert "naah weights download" in config.banner
    assert "fixture" in config.label


def test_found_weights_select_the_full_size_run(no_weights, monkeypatch, weights_file):
    monkeypatch.setenv("NAAH_WEIGHTS", str(weights_file))
    config = notebook_config("nb")
    assert (config.mode, config.size, config.iterations) == ("full", 512, 500)
    assert str(config.weights) == str(weights_file)
    assert config.pretrained


def test_pick_chooses_the_value_of_the_mode(no_weights):
    config = notebook_config("nb", tiny=True)
    assert config.pick(full=1000, fixture=100, tiny=5) == 5


def test_the_transfer_shares_loaded_weights(no_weights):
    config = notebook_config("nb", tiny=True)
    assert config.transfer().net.weights is config.vgg_weights()
