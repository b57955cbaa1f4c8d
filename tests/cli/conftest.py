"""Shared fixtures of the CLI tests: fixture weights and images, a run without
weights, an environment without weights."""

import numpy as np
import pytest
from PIL import Image

from naah.io.images import load_image
from naah.optim import History, IterationRecord
from naah.style_transfer import StyleResult, StyleTransfer
from naah.testing import write_vgg19_mat


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Fixture weights, a 40x30 content image, a 30x30 style image, an output dir."""
    root = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)).save(
        root / "content.png"
    )
    Image.fromarray(rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)).save(
        root / "style.png"
    )
    (root / "notes.txt").write_text("not an image")
    (root / "out").mkdir()
    return {
        "weights": write_vgg19_mat(root / "vgg.mat"),
        "content": str(root / "content.png"),
        "style": str(root / "style.png"),
        "text": str(root / "notes.txt"),
        "out": root / "out",
    }


@pytest.fixture
def fake_run(monkeypatch):
    """StyleTransfer.run without weights or compiling: the callback sees every
    iteration, the result is a black image of the content's shape, resized to the
    run's size as the run resizes it."""
    seen = {}

    def run_(self, content, style, *, iterations, callback=None, **kwargs):
        shape = load_image(content, long_edge=kwargs.get("size")).shape
        seen.update(
            kwargs,
            content_shape=shape,
            loss_weights=self.loss_weights,
            runtime=self.runtime,
        )
        image = np.zeros(shape, np.float32)
        history = History()
        for i in range(iterations + 1):
            history.append(IterationRecord(i, 100.0 / (i + 1), 1.5, 0.25, 0.0, i, i))
            if callback is not None:
                callback(history[-1], image)
        return StyleResult(image=image.astype(np.uint8), history=history)

    monkeypatch.setattr(StyleTransfer, "run", run_)
    return seen


@pytest.fixture
def no_weights(monkeypatch, tmp_path):
    monkeypatch.delenv("NAAH_WEIGHTS", raising=False)
    monkeypatch.setenv("NAAH_CACHE", str(tmp_path / "cache"))
