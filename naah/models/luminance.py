"""A network that sees only the luminance of its input (Gatys et al. 2017, §5.1)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor.variable import TensorVariable

from naah.color import YIQ_FROM_RGB
from naah.models.vgg19 import VGG_19


class LuminanceView:
    """``net`` shown the luminance Y of its input, repeated in three channels.

    For luminance-only style transfer the optimised image keeps three channels, but
    the network sees ``(Y, Y, Y)`` minus the usual mean pixel: for a preprocessed
    input ``x = rgb - mean``, channel c of what it sees is ``Y(x) + Y(mean) -
    mean_c``, with Y the NTSC luma (:mod:`naah.color`). Only Y reaches the losses,
    so the gradient moves every pixel along (0.299, 0.587, 0.114) and leaves its
    chroma where it started. It has the interface :class:`naah.problem.StyleProblem`
    uses: :meth:`features`, :attr:`mean_pixel` and :attr:`weights`.

    Examples
    --------
    >>> view = LuminanceView(net)  # doctest: +SKIP
    >>> features = view.features(x, ["conv4_2"])  # doctest: +SKIP
    """

    def __init__(self, net: VGG_19) -> None:
        self.net = net
        luma = YIQ_FROM_RGB[0].astype(np.float32)
        mean = np.asarray(net.mean_pixel, np.float32)
        self._luma = luma.reshape(1, 3, 1, 1)
        self._offset = (np.float32(luma @ mean) - mean).reshape(1, 3, 1, 1)

    @property
    def mean_pixel(self) -> np.ndarray:
        return self.net.mean_pixel

    @property
    def weights(self) -> Any:
        return self.net.weights

    def seen(self, x: TensorVariable) -> TensorVariable:
        """What the network sees of the preprocessed batch ``x``."""
        y = pt.sum(x * pt.constant(self._luma), axis=1, keepdims=True)
        return y + pt.constant(self._offset)

    def features(
        self, x: TensorVariable, layers: Iterable[str], **options: Any
    ) -> dict[str, TensorVariable]:
        """:meth:`naah.VGG_19.features` of :meth:`seen`."""
        return self.net.features(self.seen(x), layers, **options)
