"""What each VGG-19 layer keeps of an image (Gatys et al.'s Figure 1, the report's
Figures 2 and 7).

A content reconstruction starts from white noise and minimises only the content
loss at one layer (β = 0): shallow layers give the image back almost exactly, deep
ones keep its arrangement but lose the exact pixels. A style reconstruction
minimises only the style loss (α = 0) over conv1_1 up to a layer: textures of
growing scale, with no arrangement.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from naah.architecture import CONV_LAYERS
from naah.experiments.figures import image_grid
from naah.io.images import ImageLike
from naah.io.locate import find_weights
from naah.io.weights import VGGWeights, load_weights
from naah.style_transfer import DEFAULT_SIZE, StyleResult, StyleTransfer

if TYPE_CHECKING:
    # matplotlib is an optional dependency: only the type checker imports it here.
    from matplotlib.figure import Figure

WeightsLike = str | os.PathLike[str] | VGGWeights | None

#: The layers of Gatys et al.'s Figure 1.
RECONSTRUCTION_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")


@dataclass(frozen=True)
class Reconstruction:
    """A reconstruction from ``layers`` (``kind`` 'content' or 'style')."""

    kind: str
    layers: tuple[str, ...]
    result: StyleResult

    @property
    def label(self) -> str:
        """E.g. ``'content: conv4_2'`` or ``'style: conv1_1 … conv3_1'``."""
        span = self.layers[0]
        if len(self.layers) > 1:
            span += f" … {self.layers[-1]}"
        return f"{self.kind}: {span}"


def reconstruct_content(
    weights: WeightsLike,
    image: ImageLike,
    layers: Sequence[str] = RECONSTRUCTION_LAYERS,
    *,
    size: int | None = DEFAULT_SIZE,
    iterations: int = 500,
    seed: int = 0,
    **settings: Any,
) -> list[Reconstruction]:
    """Reconstruct ``image`` from each layer's features alone, starting from noise.

    Parameters
    ----------
    weights : path, VGGWeights or None
        None: found as :func:`naah.io.locate.find_weights` finds them.
    image : path, PIL image or ndarray of shape (H, W, 3)
    layers : sequence of str
        One reconstruction per layer; ``("conv4_2",)`` is the report's Figure 7.
    size, iterations, seed
        As for :meth:`naah.StyleTransfer.run`.
    **settings
        Other :class:`naah.StyleTransfer` settings (``pooling`` …).

    Returns
    -------
    list of Reconstruction, one per layer.

    Examples
    --------
    With the pretrained weights:

    >>> recs = reconstruct_content(None, "data/tubingen.jpg", ["conv4_2"])  # doctest: +SKIP
    >>> recs[0].result.image.shape  # doctest: +SKIP
    (384, 512, 3)
    """
    layer_sets = [(layer,) for layer in layers]
    return _reconstruct(
        "content", weights, image, layer_sets, size, iterations, seed, settings
    )


def reconstruct_style(
    weights: WeightsLike,
    image: ImageLike,
    layers: Sequence[str] = RECONSTRUCTION_LAYERS,
    *,
    cumulative: bool = True,
    size: int | None = DEFAULT_SIZE,
    iterations: int = 500,
    seed: int = 0,
    **settings: Any,
) -> list[Reconstruction]:
    """Synthesise ``image``'s texture from the Gram matrices of growing layer sets.

    Parameters
    ----------
    weights : path, VGGWeights or None
    image : path, PIL image or ndarray of shape (H, W, 3)
        The style image; the result has its size (scaled to ``size``).
    layers : sequence of str
    cumulative : bool
        True (Gatys et al.): the i-th texture uses ``layers[:i + 1]``; False: each
        layer alone.
    size, iterations, seed, **settings
        As for :func:`reconstruct_content`.

    Returns
    -------
    list of Reconstruction, one per layer.
    """
    layer_sets = [
        tuple(layers[: index + 1]) if cumulative else (layer,)
        for index, layer in enumerate(layers)
    ]
    return _reconstruct(
        "style", weights, image, layer_sets, size, iterations, seed, settings
    )


def _reconstruct(
    kind: str,
    weights: WeightsLike,
    image: ImageLike,
    layer_sets: Sequence[tuple[str, ...]],
    size: int | None,
    iterations: int,
    seed: int,
    settings: dict[str, Any],
) -> list[Reconstruction]:
    """One run per layer set, from noise, with only the ``kind`` loss switched on."""
    if not isinstance(weights, VGGWeights):  # read the file once, not once per run
        weights = load_weights(find_weights(weights), layers=CONV_LAYERS)
    reconstructions: list[Reconstruction] = []
    for layers in layer_sets:
        content: dict[str, Any] = {
            "content_layers": layers,
            "style_layers": (),
            "alpha": 1.0,
            "beta": 0.0,
        }
        style: dict[str, Any] = {
            "content_layers": (),
            "style_layers": layers,
            "alpha": 0.0,
            "beta": 1.0,
        }
        transfer = StyleTransfer(
            weights, **(content if kind == "content" else style), seed=seed, **settings
        )
        result = transfer.run(image, image, iterations=iterations, size=size)
        reconstructions.append(Reconstruction(kind, layers, result))
    return reconstructions


def reconstruction_figure(
    reconstructions: Sequence[Reconstruction],
    *,
    original: np.ndarray | None = None,
    note: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """The reconstructions in a row (after ``original``, if given), labelled."""
    images = [r.result.image for r in reconstructions]
    titles = [r.label for r in reconstructions]
    if original is not None:
        images, titles = [original, *images], ["original", *titles]
    return image_grid(images, titles, note=note, path=path)
