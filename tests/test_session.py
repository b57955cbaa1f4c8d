"""naah.session: the network and the problems compiled on it, kept across runs."""

import copy

import numpy as np
import pytest

from naah import StyleTransfer
from naah.settings import Settings
from naah.testing import write_vgg19_mat

SHALLOW = {"content_layers": ("conv1_1",), "style_layers": ("conv1_1", "conv2_1")}


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return write_vgg19_mat(tmp_path_factory.mktemp("weights") / "vgg19.mat")


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return rng.uniform(0, 255, (12, 16, 3)), rng.uniform(0, 255, (10, 10, 3))


def test_retuning_the_loss_weights_keeps_the_compiled_problem(weights, images):
    transfer = StyleTransfer(weights, **SHALLOW)
    problem = transfer.prepare(*images)
    compiled = problem._evaluate
    transfer.config = Settings.of({"alpha": 7.0, "optimizer": "adam"}, transfer.config)
    again = transfer.prepare(*images)
    assert again is problem and again._evaluate is compiled
    assert float(problem.alpha.get_value()) == 7.0  # the problem took the new α


def test_settings_that_change_the_graph_get_a_session_of_their_own(weights, images):
    transfer = StyleTransfer(weights, **SHALLOW)
    first = transfer.session
    problem = transfer.prepare(*images)
    transfer.config = Settings.of({"pooling": "avg"}, transfer.config)
    assert transfer.session is not first and transfer.pooling == "avg"
    assert transfer.prepare(*images) is not problem
    with pytest.raises(ValueError, match="need a session of their own"):
        first.prepared(images[0], None, None, transfer.config)


def test_a_copy_retuned_leaves_the_originals_settings(weights, images):
    transfer = StyleTransfer(weights, **SHALLOW)
    problem = transfer.prepare(*images)
    other = copy.copy(transfer)
    other.config = Settings.of({"beta": 5.0}, other.config)
    assert transfer.config.loss.beta == 1e3 and other.config.loss.beta == 5.0
    assert other.prepare(*images) is problem  # one compiled loss for both
