"""Shared fixtures of the experiment tests: fixture weights and one compiled pair."""

import numpy as np
import pytest

from naah import StyleTransfer
from naah.experiments import PreparedPair
from naah.io.weights import load_weights
from naah.testing import write_vgg19_mat

SIZE = 32


@pytest.fixture(scope="session")
def weights_file(tmp_path_factory):
    return write_vgg19_mat(tmp_path_factory.mktemp("weights") / "vgg19-fixture.mat")


@pytest.fixture(scope="session")
def weights(weights_file):
    return load_weights(weights_file)


@pytest.fixture(scope="session")
def images():
    """A smooth content image and a striped style image, (32, 32, 3) in 0–255."""
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    content = np.stack([8 * x, 8 * y, 255 - 4 * (x + y)], axis=-1)
    stripes = 127.5 + 127.5 * np.sin(x * np.pi / 4)
    style = np.stack([stripes, 255 - stripes, stripes / 2], axis=-1)
    return content, style


@pytest.fixture(scope="session")
def pair(weights, images):
    """One compiled content/style pair, shared by the tests that only run it."""
    return PreparedPair(StyleTransfer(weights), *images, size=SIZE)
