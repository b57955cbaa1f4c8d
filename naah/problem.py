"""A style-transfer problem: the loss graph for one content/style pair, compiled once.

:class:`StyleProblem` computes the targets (:math:`P^l` of the content image,
:math:`A^l` of the style image) once, holds the generated image in a shared variable
and compiles the total loss, its parts and its gradient into one function that every
iteration reuses. Optimisers (:mod:`naah.optim`) drive it; :class:`naah.StyleTransfer`
builds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import cast

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile import Function
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.tensor.sharedvar import TensorSharedVariable
from pytensor.tensor.variable import TensorVariable

from naah.compile import function
from naah.io.images import preprocess
from naah.losses import content_loss, gram_matrix, style_loss, total_variation
from naah.models import VGG_19
from naah.runtime import DEFAULT, Runtime


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
    """Loss terms at one image: total, content, style and each layer's :math:`E_l`.

    ``content`` and ``style`` are L_content and L_style before α and β; ``tv`` is
    the weighted total-variation term (``tv_weight`` · TV, what the total adds) and
    ``tv_raw`` the unweighted TV.
    """

    total: float
    content: float
    style: float
    style_layers: dict[str, float]
    tv: float
    tv_raw: float = 0.0


class StyleProblem:
    """Loss and gradient of the generated image for a content/style pair.

    The graph is compiled once. Targets, α, β and the total-variation weight are
    shared variables, so :meth:`set_images` (another pair, any size) and
    :meth:`set_loss_weights` reuse the compiled function; only other layers need a
    new problem.

    Parameters
    ----------
    net : VGG_19
    content, style : ndarray of shape (H, W, 3)
        RGB images in 0–255 (float). They may have different sizes; the generated
        image has the content image's size.
    weights : LossWeights
    backend : str
        See :mod:`naah.compile`.
    runtime : Runtime, optional
        Threads and memory policy of the evaluations (:mod:`naah.runtime`).

    Attributes
    ----------
    image : shared variable of shape (1, 3, H, W)
        The generated image, preprocessed (RGB minus the mean pixel), float32.
    terms : dict of str to TensorVariable
        Symbolic ``total``, ``content``, ``style``, ``tv`` and ``E_<layer>``.
    alpha, beta, tv_weight : shared float32 scalars
    """

    def __init__(
        self,
        net: VGG_19,
        content: np.ndarray,
        style: np.ndarray,
        weights: LossWeights,
        *,
        backend: str = "c",
        runtime: Runtime = DEFAULT,
    ) -> None:
        if not weights.content_layers and not weights.style_layers:
            raise ValueError(
                "no content and no style layers: there is nothing to optimise"
            )
        self.net = net
        self.weights = weights
        self.backend = backend
        self.runtime = runtime
        self.mean_pixel = net.mean_pixel
        self.alpha = _shared_scalar(weights.alpha, "alpha")
        self.beta = _shared_scalar(weights.beta, "beta")
        self.tv_weight = _shared_scalar(weights.tv_weight, "tv_weight")
        self.targets = {
            **{f"P_{n}": _shared_array(4, f"P_{n}") for n in weights.content_layers},
            **{f"A_{n}": _shared_array(2, f"A_{n}") for n in weights.style_layers},
        }
        self.image = _shared_array(4, "generated_image")
        self._targets_of = self._compile_targets()
        self.terms = self._loss_terms()
        self.gradient = cast(
            TensorVariable, pytensor.grad(self.terms["total"], self.image)
        )
        self._term_names = list(self.terms)
        self._evaluate = function(
            [],
            [self.terms[n] for n in self._term_names] + [self.gradient],
            backend=backend,
        )
        self.set_images(content, style)

    def _compile_targets(self) -> Function:
        """One function giving P^l (content layers) and A^l (style layers) of an image;
        shapes are not fixed, so it serves the content and the style image alike."""
        w = self.weights
        x = pt.tensor4("x", dtype="float32")
        features = self.net.features(x, [*w.content_layers, *w.style_layers])
        outputs = [features[n] for n in w.content_layers]
        outputs += [gram_matrix(features[n]) for n in w.style_layers]
        return function([x], outputs, backend=self.backend)

    def set_images(self, content: np.ndarray, style: np.ndarray) -> None:
        """Retarget the problem at another pair (any size): computes P^l and A^l once
        and starts the generated image at the content image."""
        self.content_image = np.asarray(content, dtype=np.float32)
        self.style_image = np.asarray(style, dtype=np.float32)
        self.shape = self.content_image.shape
        content_layers, style_layers = (
            self.weights.content_layers,
            self.weights.style_layers,
        )
        if content_layers:
            values = self.targets_of(self.content_image)
            for name, value in zip(content_layers, values, strict=False):
                self.targets[f"P_{name}"].set_value(value)
        if style_layers:
            values = self.targets_of(self.style_image)
            for name, value in zip(
                style_layers, values[len(content_layers) :], strict=True
            ):
                self.targets[f"A_{name}"].set_value(value)
        self.image.set_value(preprocess(self.content_image, self.mean_pixel))
        self.evaluations = 0

    def targets_of(self, image: np.ndarray) -> list[np.ndarray]:
        """P^l of the content layers, then A^l of the style layers, for an
        (H, W, 3) RGB image."""
        with self.runtime.activate(self.backend):
            return self._targets_of(preprocess(image, self.mean_pixel))

    def set_loss_weights(
        self,
        *,
        alpha: float | None = None,
        beta: float | None = None,
        tv_weight: float | None = None,
    ) -> None:
        """Change α, β or the total-variation weight without recompiling."""
        changes = {
            k: float(v)
            for k, v in (("alpha", alpha), ("beta", beta), ("tv_weight", tv_weight))
            if v is not None
        }
        for name, value in changes.items():
            if not value >= 0:
                raise ValueError(f"{name} must be a non-negative number, got {value}")
            getattr(self, name).set_value(np.float32(value))
        w = self.weights
        self.weights = replace(
            w,
            alpha=changes.get("alpha", w.alpha),
            beta=changes.get("beta", w.beta),
            tv_weight=changes.get("tv_weight", w.tv_weight),
        )

    def _loss_terms(self) -> dict[str, TensorVariable]:
        w = self.weights
        features = self.net.features(self.image, [*w.content_layers, *w.style_layers])
        zero = pt.constant(np.float32(0))
        content = sum(
            (
                content_loss(features[n], self.targets[f"P_{n}"])
                for n in w.content_layers
            ),
            zero,
        )
        style_targets = {n: self.targets[f"A_{n}"] for n in w.style_layers}
        style, per_layer = (
            style_loss(features, style_targets, w.style_layers)
            if w.style_layers
            else (zero, {})
        )
        tv = total_variation(self.image)
        total = self.alpha * content + self.beta * style + self.tv_weight * tv
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
        with self.runtime.activate(self.backend):
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
            tv=self.weights.tv_weight * values["tv"],
            tv_raw=values["tv"],
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


def _shared_scalar(value: float, name: str) -> SharedVariable:
    return pytensor.shared(np.float32(value), name=name)


def _shared_array(ndim: int, name: str) -> TensorSharedVariable:
    """A float32 shared variable of any shape (set later)."""
    return pytensor.shared(
        np.zeros((1,) * ndim, np.float32), name=name, shape=(None,) * ndim
    )
