"""What the notebooks run on: weights, image size, iterations, output folder.

Three modes, chosen by :func:`notebook_config`:

``full``
    The pretrained VGG-19 weights were found (``$NAAH_WEIGHTS`` or naah's cache, see
    :func:`naah.io.locate.find_weights`): the report's figures at 512 px with
    hundreds of iterations. Minutes to hours on a CPU.
``fixture``
    No pretrained weights: small random weights from :mod:`naah.testing` at a small
    size, so that every cell runs. The images show that the code works, not what
    the report shows.
``tiny``
    ``$NAAH_NOTEBOOK_TINY=1``: fixture weights at 32 px and a few iterations, for
    continuous integration.
"""

from __future__ import annotations

import functools
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from naah.architecture import CONV_LAYERS
from naah.io.locate import WeightsNotFoundError, find_weights
from naah.io.weights import VGGWeights, load_weights
from naah.style_transfer import StyleTransfer
from naah.testing import write_vgg19_mat

TINY_ENV = "NAAH_NOTEBOOK_TINY"
OUTPUT_ENV = "NAAH_NOTEBOOK_OUTPUT"
MODES = ("full", "fixture", "tiny")

_T = TypeVar("_T")
# Gatys et al. (2015) and the report: 512 px images; L-BFGS converges within ~500
# iterations (naah's CLI default).
FULL_SIZE, FULL_ITERATIONS = 512, 500
# Small enough to run every notebook in a few minutes on a laptop CPU.
FIXTURE_SIZE, FIXTURE_ITERATIONS = 96, 40
# The smallest size VGG-19's five poolings leave conv5_1 a 2x2 map at.
TINY_SIZE, TINY_ITERATIONS = 32, 4


@dataclass(frozen=True)
class NotebookConfig:
    """Settings of one notebook run; see the module docstring for the modes.

    Attributes
    ----------
    mode : {'full', 'fixture', 'tiny'}
    weights : Path
        The pretrained weights (full) or a fixture file written for this run.
    size : int
        Long edge of the images.
    iterations : int
        L-BFGS iterations of a main run.
    output_dir : Path
        Where the notebook saves its figures.
    banner : str
        What the first cell prints: the mode, and how to get the real figures.
    """

    mode: str
    weights: Path
    size: int
    iterations: int
    output_dir: Path
    banner: str

    @property
    def pretrained(self) -> bool:
        return self.mode == "full"

    @property
    def label(self) -> str:
        """A short note for figure titles, e.g. ``'fixture weights, 96 px'``."""
        kind = "VGG-19" if self.pretrained else "random fixture weights"
        return f"{kind}, {self.size} px, {self.mode} mode"

    def pick(self, *, full: _T, fixture: _T, tiny: _T) -> _T:
        """The value for this mode, e.g. ``config.pick(full=1000, fixture=100, tiny=5)``."""
        return {"full": full, "fixture": fixture, "tiny": tiny}[self.mode]

    def vgg_weights(self) -> VGGWeights:
        """The convolutional layers' weights, loaded once per file and process."""
        return _load_conv_weights(str(self.weights))

    def transfer(self, **settings: Any) -> StyleTransfer:
        """A :class:`naah.StyleTransfer` on these weights with the given settings."""
        return StyleTransfer(self.vgg_weights(), **settings)

    def output(self, name: str) -> Path:
        """``output_dir / name``."""
        return self.output_dir / name


@functools.cache
def _load_conv_weights(path: str) -> VGGWeights:
    return load_weights(path, layers=CONV_LAYERS)


def notebook_config(
    name: str,
    *,
    weights: str | os.PathLike[str] | None = None,
    tiny: bool | None = None,
) -> NotebookConfig:
    """The configuration of notebook ``name`` in this environment.

    Parameters
    ----------
    name : str
        The notebook's name; its figures go to ``output/<name>`` (relative to the
        working directory) or ``$NAAH_NOTEBOOK_OUTPUT/<name>``; in tiny mode to a
        temporary folder unless ``$NAAH_NOTEBOOK_OUTPUT`` is set.
    weights : path, optional
        Pretrained weights; default: found as :func:`naah.io.locate.find_weights`
        finds them.
    tiny : bool, optional
        Default: ``$NAAH_NOTEBOOK_TINY`` is set to ``1``.

    Returns
    -------
    NotebookConfig

    Examples
    --------
    >>> config = notebook_config("02_style_transfer_fig4_5", tiny=True)
    >>> config.mode, config.size
    ('tiny', 32)
    """
    tiny = os.environ.get(TINY_ENV) == "1" if tiny is None else tiny
    output_dir = _output_dir(name, tiny)
    output_dir.mkdir(parents=True, exist_ok=True)
    if tiny:
        return _fixture_config("tiny", TINY_SIZE, TINY_ITERATIONS, output_dir, "")
    try:
        found = find_weights(weights)
    except WeightsNotFoundError as error:
        why = f"NO PRETRAINED VGG-19 WEIGHTS: {error}\n"
        return _fixture_config(
            "fixture", FIXTURE_SIZE, FIXTURE_ITERATIONS, output_dir, why
        )
    banner = (
        f"Pretrained VGG-19 weights: {found}. Full-size run ({FULL_SIZE} px, "
        f"{FULL_ITERATIONS} L-BFGS iterations): expect minutes to hours on a CPU.\n"
        f"Figures are saved in {output_dir}."
    )
    return NotebookConfig("full", found, FULL_SIZE, FULL_ITERATIONS, output_dir, banner)


def _output_dir(name: str, tiny: bool) -> Path:
    if os.environ.get(OUTPUT_ENV):
        return Path(os.environ[OUTPUT_ENV]).expanduser() / name
    if tiny:
        return Path(tempfile.mkdtemp(prefix=f"naah-{name}-"))
    return Path("output") / name


def _fixture_config(
    mode: str, size: int, iterations: int, output_dir: Path, why: str
) -> NotebookConfig:
    folder = tempfile.mkdtemp(prefix="naah-fixture-weights-")
    weights = Path(write_vgg19_mat(os.path.join(folder, "vgg19-fixture.mat")))
    banner = (
        f"{why}Running in {mode.upper()} mode on small RANDOM fixture weights "
        f"(naah.testing.write_vgg19_mat) at {size} px, {iterations} iterations: the "
        "images below show that the code runs, NOT what the report shows. With the "
        "pretrained weights (`naah weights download`, or $NAAH_WEIGHTS=PATH) and "
        f"without ${TINY_ENV}, this notebook makes the full-size figures.\n"
        f"Figures are saved in {output_dir}."
    )
    return NotebookConfig(mode, weights, size, iterations, output_dir, banner)
