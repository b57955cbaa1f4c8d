"""Shared fixtures of the batch tests: fixture weights, small input images, and the
``naah`` command run in this process."""

import contextlib
import io

import numpy as np
import pytest
from PIL import Image

from naah import cli
from naah.batch import BatchProgress
from naah.testing import write_vgg19_mat


@pytest.fixture(scope="session")
def weights_file(tmp_path_factory):
    return write_vgg19_mat(tmp_path_factory.mktemp("weights") / "vgg19-fixture.mat")


@pytest.fixture(scope="session")
def inputs(tmp_path_factory):
    """Folders ``contents/`` (c1.png, c2.png: 48x40) and ``styles/`` (s1.png)."""
    root = tmp_path_factory.mktemp("inputs")
    (root / "contents").mkdir()
    (root / "styles").mkdir()
    y, x = np.mgrid[0:40, 0:48].astype(np.float32)
    c1 = np.stack([5 * x, 6 * y, 255 - 3 * (x + y)], axis=-1)
    c2 = np.stack([6 * y, 5 * x, 128 + 0 * x], axis=-1)
    stripes = 127.5 + 127.5 * np.sin(x * np.pi / 4)
    s1 = np.stack([stripes, 255 - stripes, stripes / 2], axis=-1)
    for name, image in (("contents/c1", c1), ("contents/c2", c2), ("styles/s1", s1)):
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(
            root / f"{name}.png"
        )
    return root


@pytest.fixture
def ctrl_c_at(monkeypatch):
    """``ctrl_c_at(job, iteration)``: Ctrl-C arrives when ``job`` reaches that
    iteration of a batch; ``ctrl_c_at(None)`` stops it."""
    original = BatchProgress.iteration

    def arrange(job, at=None):
        def interrupt(self, current, iteration):
            if current is job and iteration == at:
                raise KeyboardInterrupt
            original(self, current, iteration)

        patched = original if job is None else interrupt
        monkeypatch.setattr(BatchProgress, "iteration", patched)

    return arrange


@pytest.fixture
def naah():
    """``naah(ARGV)`` -> (exit status, stdout, stderr)."""
    return run_naah


def run_naah(argv):
    """``naah ARGV`` in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main([str(a) for a in argv])
    return status, out.getvalue(), err.getvalue()
