"""A style-transfer problem: the loss graph for one content/style pair, compiled once.

:class:`StyleProblem` computes the targets (:math:`P^l` of the content image,
:math:`A^l` of the style image) once, holds the generated image in a shared variable
and compiles the total loss, its parts and its gradient into one function that every
iteration reuses. Optimisers (:mod:`naah.optim`) drive it; :class:`naah.StyleTransfer`
builds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pytensor
import pytensor.tensor as pt

from naah.compile import function
from naah.io.images import preprocess
from naah.losses import content_loss, gram_matrix, style_loss, total_variation
from naah.models import VGG_19


@dataclass(frozen=True)
class LossWeights:
    """α, β, the style layers' :math:`w_l` and the total-variation weight."""

    alpha: float
    beta: float
    style_layers: Mapping[str, float]
    content_layers: Sequence[str]
    tv_weight: float = 0.0


@dataclass(frozen=True)
class Evaluation:
    """Loss terms at one image: total, content, style and each layer's :math:`E_l`."""

    total: float
    content: float
    style: float
    style_layers: dict[str, float]
    tv: float


class StyleProblem:
    """Loss and gradient of the generated image for one content/style pair.

    Parameters
    ----------
    net : VGG_19
    content, style : ndarray of shape (H, W, 3)
        RGB images in 0–255 (float). They may have different sizes; the generated
        image has the content image's size.
    weights : LossWeights
    backend : str
        See :mod:`naah.compile`.

    Attributes
    ----------
    image : shared variable of shape (1, 3, H, W)
        The generated image, preprocessed (RGB minus the mean pixel), float32.
    terms : dict of str to TensorVariable
        Symbolic ``total``, ``content``, ``style``, ``tv`` and ``E_<layer>``.
    """

    def __init__(
        self, net: VGG_19, content, style, weights: LossWeights, *, backend="c"
    ):
        self.net = net
        self.weights = weights
        self.backend = backend
        self.mean_pixel = net.mean_pixel
        self.content_image = np.asarray(content, dtype=np.float32)
        self.style_image = np.asarray(style, dtype=np.float32)
        self.shape = self.content_image.shape
        targets = self._targets()
        self.image = pytensor.shared(
            preprocess(self.content_image, self.mean_pixel), name="generated_image"
        )
        self.terms = self._loss_terms(targets)
        self.gradient = pytensor.grad(self.terms["total"], self.image)
        names = list(self.terms)
        self._term_names = names
        self._evaluate = function(
            [], [self.terms[n] for n in names] + [self.gradient], backend=backend
        )
        self.evaluations = 0

    def _targets(self) -> dict[str, np.ndarray]:
        """P^l for the content layers and A^l for the style layers, computed once.

        One compiled function gives both kinds of target; it runs on the content
        image and on the style image (shapes are not fixed, so sizes may differ).
        """
        content_layers = list(self.weights.content_layers)
        style_layers = list(self.weights.style_layers)
        if not content_layers and not style_layers:
            raise ValueError(
                "no content and no style layers: there is nothing to optimise"
            )
        x = pt.tensor4("x", dtype="float32")
        features = self.net.features(x, content_layers + style_layers)
        outputs = [features[n] for n in content_layers]
        outputs += [gram_matrix(features[n]) for n in style_layers]
        targets_of = function([x], outputs, backend=self.backend)
        targets = {}
        if content_layers:
            values = targets_of(preprocess(self.content_image, self.mean_pixel))
            targets.update(
                {f"P_{n}": v for n, v in zip(content_layers, values, strict=False)}
            )
        if style_layers:
            values = targets_of(preprocess(self.style_image, self.mean_pixel))[
                len(content_layers) :
            ]
            targets.update(
                {f"A_{n}": v for n, v in zip(style_layers, values, strict=True)}
            )
        return targets

    def _loss_terms(self, targets) -> dict:
        w = self.weights
        features = self.net.features(self.image, [*w.content_layers, *w.style_layers])
        zero = pt.constant(np.float32(0))
        content = sum(
            (content_loss(features[n], targets[f"P_{n}"]) for n in w.content_layers),
            zero,
        )
        style_targets = {n: targets[f"A_{n}"] for n in w.style_layers}
        style, per_layer = (
            style_loss(features, style_targets, w.style_layers)
            if w.style_layers
            else (zero, {})
        )
        tv = total_variation(self.image) if w.tv_weight else zero
        total = np.float32(w.alpha) * content + np.float32(w.beta) * style
        if w.tv_weight:
            total = total + np.float32(w.tv_weight) * tv
        terms = {"total": total, "content": content, "style": style, "tv": tv}
        terms.update({f"E_{n}": e for n, e in per_layer.items()})
        return terms

    # -- evaluation ---------------------------------------------------------------

    def set_image(self, image_nchw: np.ndarray) -> None:
        """Set the generated image from a preprocessed (1, 3, H, W) array (any float)."""
        self.image.set_value(
            np.asarray(image_nchw, dtype=np.float32).reshape(self.nchw_shape)
        )

    @property
    def nchw_shape(self) -> tuple[int, int, int, int]:
        h, w, _ = self.shape
        return (1, 3, h, w)

    def evaluate(
        self, image_nchw: np.ndarray | None = None
    ) -> tuple[Evaluation, np.ndarray]:
        """Loss terms and the gradient (1, 3, H, W) at a preprocessed image
        (default: the current value of :attr:`image`)."""
        if image_nchw is not None:
            self.set_image(image_nchw)
        *values, grad = self._evaluate()
        self.evaluations += 1
        named = dict(zip(self._term_names, (float(v) for v in values), strict=True))
        return self.evaluation_from_terms(named), grad

    def evaluation_from_terms(self, values: Mapping[str, float]) -> Evaluation:
        """An :class:`Evaluation` from values keyed like :attr:`terms`."""
        return Evaluation(
            total=values["total"],
            content=values["content"],
            style=values["style"],
            tv=values["tv"],
            style_layers={n: values[f"E_{n}"] for n in self.weights.style_layers},
        )

    def loss_and_grad(self, image: np.ndarray) -> tuple[float, np.ndarray]:
        """Total loss and its gradient at an (H, W, 3) RGB image in 0–255.

        Parameters
        ----------
        image : ndarray of shape (H, W, 3)
            Same size as the content image; any float dtype.

        Returns
        -------
        loss : float
        grad : ndarray of shape (H, W, 3), float32
            d loss / d pixel value.

        Examples
        --------
        >>> problem = naah.StyleTransfer(weights).prepare(content, style)  # doctest: +SKIP
        >>> loss, grad = problem.loss_and_grad(content)  # doctest: +SKIP
        """
        image = np.asarray(image)
        if image.shape != self.shape:
            raise ValueError(
                f"image has shape {image.shape}; this problem was prepared for {self.shape}"
            )
        evaluation, grad = self.evaluate(preprocess(image, self.mean_pixel))
        return evaluation.total, np.ascontiguousarray(grad[0].transpose(1, 2, 0))

    def pixel_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds (1, 3, 1, 1) of preprocessed pixels: 0–255 minus mean."""
        mean = self.mean_pixel.reshape(1, 3, 1, 1)
        return -mean, 255.0 - mean
