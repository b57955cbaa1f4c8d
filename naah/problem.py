r"""A style-transfer problem: the loss graph for one content/style pair, compiled once.

:class:`StyleProblem` computes the targets (:math:`P^l` of the content image,
:math:`A^l` of the style image) once, holds the generated image in a shared variable
and compiles the total loss, its parts and its gradient into one function that every
iteration reuses. Optimisers (:mod:`naah.optim`) drive it; :class:`naah.StyleTransfer`
builds it.

Two controls of Gatys et al. (2017) change only what the targets are:

Several styles
    ``style`` may be a sequence of images (each of any size) with ``blend``
    weights :math:`w_k`, normalised to sum 1 (equal by default). The target of each
    style layer is the blend of the styles' Gram matrices,
    :math:`A^l = \sum_k w_k A^l_k`; a weight of 0 leaves its style out, so weights
    (1, 0) give exactly the first style's targets. The compiled graph is the
    single-style one.
Regions (spatial control, section 4)
    ``regions=[Region(...), ...]`` (:mod:`naah.regions`) replaces the style loss by
    the guided one of :mod:`naah.losses`. The guides :math:`T^l_r` and targets
    :math:`\hat A^l_r` of every region at every style layer are shared variables,
    so :meth:`StyleProblem.set_regions` and :meth:`StyleProblem.set_images` reuse
    the compiled function for new masks, styles and images, as long as the number
    of regions stays the same.
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
from naah.losses import (
    content_loss,
    gram_matrix,
    guided_style_loss,
    normalised_guided_gram,
    style_loss,
    total_variation,
)
from naah.models import VGG_19
from naah.regions import GUIDE_MODES, Region, check_regions, guides_per_layer
from naah.runtime import DEFAULT, Runtime

ImageOrImages = np.ndarray | Sequence[np.ndarray]


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
    r"""Loss and gradient of the generated image for a content/style pair.

    The graph is compiled once. Targets, α, β and the total-variation weight are
    shared variables, so :meth:`set_images` (another pair, any size) and
    :meth:`set_loss_weights` reuse the compiled function; only other layers need a
    new problem.

    Parameters
    ----------
    net : VGG_19
    content : ndarray of shape (H, W, 3)
        RGB image in 0–255 (float). The generated image has its size.
    style : ndarray of shape (H_S, W_S, 3), a sequence of them, or None
        The style image, or several (each of any size) whose Gram matrices are
        blended with ``blend``. None with ``regions``, which bring their own.
    weights : LossWeights
    backend : str
        See :mod:`naah.compile`.
    runtime : Runtime, optional
        Threads and memory policy of the evaluations (:mod:`naah.runtime`).
    blend : sequence of float, optional
        One weight per style image, normalised to sum 1; default equal weights.
    regions : sequence of Region, optional
        Spatial control (:mod:`naah.regions`): the style loss becomes the guided
        one of :mod:`naah.losses`, :math:`\sum_l w_l \sum_r \lambda_r E_{l,r}`. The
        number of regions is fixed when the problem is compiled.
    guide_mode : {'simple', 'inside'}
        How the regions' guides are brought to each layer
        (:func:`naah.regions.guides_per_layer`).

    Attributes
    ----------
    image : shared variable of shape (1, 3, H, W)
        The generated image, preprocessed (RGB minus the mean pixel), float32.
    terms : dict of str to TensorVariable
        Symbolic ``total``, ``content``, ``style``, ``tv`` and ``E_<layer>``.
    alpha, beta, tv_weight : shared float32 scalars
    style_image : ndarray
        The first style image (with regions: the first region's).
    style_images : tuple of ndarray
        Every style image, in order (with regions: one per region).
    style_blend : tuple of float
        The normalised blend weights (empty with regions).
    regions : tuple of Region
        The regions with float32 arrays at their images' sizes (empty without).
    region_count : int
        How many regions the compiled graph has (0: the unguided loss).
    guides : dict of str to shared variable
        ``T_<layer>[r]``: region r's guide at each style layer.
    region_weights : list of shared float32 scalars
        :math:`\lambda_r`.

    Examples
    --------
    Two styles, blended 70/30, and a problem whose sky and town take different
    styles (not run here: they need a network, loss weights and images, as
    :class:`naah.StyleTransfer` makes them; ``tests/test_problem.py`` runs both):

    >>> problem = StyleProblem(net, content, [starry, shipwreck], weights,
    ...                        blend=(0.7, 0.3))  # doctest: +SKIP
    >>> regions = [Region(sky_mask, starry, name="sky"),
    ...            Region(town_mask, shipwreck, name="town")]  # doctest: +SKIP
    >>> guided = StyleProblem(net, content, None, weights, regions=regions,
    ...                       guide_mode="inside")  # doctest: +SKIP
    """

    def __init__(
        self,
        net: VGG_19,
        content: np.ndarray,
        style: ImageOrImages | None,
        weights: LossWeights,
        *,
        backend: str = "c",
        runtime: Runtime = DEFAULT,
        blend: Sequence[float] | None = None,
        regions: Sequence[Region] | None = None,
        guide_mode: str = "simple",
    ) -> None:
        if not weights.content_layers and not weights.style_layers:
            raise ValueError(
                "no content and no style layers: there is nothing to optimise"
            )
        self.region_count = 0 if regions is None else len(_region_list(regions))
        if self.region_count and not weights.style_layers:
            raise ValueError(
                "regions need style layers: give style_layers, or leave regions out"
            )
        self.guide_mode = _guide_mode(guide_mode)
        _check_inputs(content, style, blend, regions)
        self.net = net
        self.weights = weights
        self.backend = backend
        self.runtime = runtime
        self.mean_pixel = net.mean_pixel
        self.alpha = _shared_scalar(weights.alpha, "alpha")
        self.beta = _shared_scalar(weights.beta, "beta")
        self.tv_weight = _shared_scalar(weights.tv_weight, "tv_weight")
        self.targets = {
            f"P_{n}": _shared_array(4, f"P_{n}") for n in weights.content_layers
        }
        self.guides: dict[str, TensorSharedVariable] = {}
        self.region_weights: list[SharedVariable] = []
        if self.region_count:
            for n in weights.style_layers:
                for r in range(self.region_count):
                    key = f"{n}[{r}]"
                    self.targets[f"A_{key}"] = _shared_array(2, f"A_{key}")
                    self.guides[f"T_{key}"] = _shared_array(2, f"T_{key}")
            self.region_weights = [
                _shared_scalar(1.0, f"lambda[{r}]") for r in range(self.region_count)
            ]
        else:
            self.targets.update(
                {f"A_{n}": _shared_array(2, f"A_{n}") for n in weights.style_layers}
            )
        self.image = _shared_array(4, "generated_image")
        #: Functions compiled over this problem's graph by the parts that drive it
        #: (an optimiser's step), by their key: they live as long as the problem.
        self.compiled: dict[object, object] = {}
        self._targets_of = self._compile_targets()
        self._guided_targets_of = (
            self._compile_guided_targets() if self.region_count else None
        )
        self.regions: tuple[Region, ...] = ()
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
        self.set_images(
            content, style, blend=blend, regions=regions, guide_mode=guide_mode
        )

    def _compile_targets(self) -> Function | None:
        """One function giving P^l (content layers) and A^l (style layers) of an image;
        shapes are not fixed, so it serves the content and the style image alike.
        With regions, the targets are guided (:meth:`_compile_guided_targets`) and
        this gives P^l only (None when there are no content layers)."""
        w = self.weights
        style_layers = [] if self.region_count else list(w.style_layers)
        if not w.content_layers and not style_layers:
            return None
        x = pt.tensor4("x", dtype="float32")
        features = self.net.features(x, [*w.content_layers, *style_layers])
        outputs = [features[n] for n in w.content_layers]
        outputs += [gram_matrix(features[n]) for n in style_layers]
        return function([x], outputs, backend=self.backend)

    def _compile_guided_targets(self) -> Function:
        """The targets :math:`\\hat A^l_r` of one region: its style image and its
        style guide at each style layer in, the normalised guided Grams out."""
        layers = list(self.weights.style_layers)
        x = pt.tensor4("x", dtype="float32")
        guides = [pt.matrix(f"S_{n}", dtype="float32") for n in layers]
        features = self.net.features(x, layers)
        outputs = [
            normalised_guided_gram(features[n], guide)
            for n, guide in zip(layers, guides, strict=True)
        ]
        return function([x, *guides], outputs, backend=self.backend)

    def set_images(
        self,
        content: np.ndarray,
        style: ImageOrImages | None,
        *,
        blend: Sequence[float] | None = None,
        regions: Sequence[Region] | None = None,
        guide_mode: str | None = None,
    ) -> None:
        """Retarget the problem at other images (any size): computes P^l and the
        style targets once and starts the generated image at the content image.

        Parameters
        ----------
        content : ndarray of shape (H, W, 3)
        style : ndarray of shape (H_S, W_S, 3), a sequence of them, or None
            None for a problem with regions.
        blend : sequence of float, optional
            One weight per style image (:func:`blend_weights`); default equal.
        regions : sequence of Region, optional
            For a problem with regions: as many as it was compiled for. They may be
            left out while the content image keeps its size (the current regions
            stay); a content image of another size needs its own.
        guide_mode : {'simple', 'inside'}, optional
            Default: the problem's current mode.

        Raises
        ------
        ValueError
            Before anything changes, for a bad image, blend, or regions, or styles
            given to a problem with regions (and the reverse).
        """
        content_image = _rgb_image(content, "content")
        if self.region_count:
            self._set_images_with_regions(
                content_image, style, blend, regions, guide_mode
            )
            return
        if regions is not None:
            raise ValueError(
                "this problem was compiled without regions; build a new "
                "StyleProblem(..., regions=[...]) for them"
            )
        styles = _style_images(style)
        blend_values = blend_weights(blend, len(styles))
        content_layers = self.weights.content_layers
        style_layers = self.weights.style_layers
        content_values = self.targets_of(content_image) if content_layers else []
        style_values: list[np.ndarray] = []
        if style_layers:
            per_style = [
                self.targets_of(image)[len(content_layers) :] if w > 0 else []
                for image, w in zip(styles, blend_values, strict=True)
            ]
            style_values = _blend(per_style, blend_values)
        # Everything is computed and checked: now the problem changes.
        self.content_image = content_image
        self.style_images = styles
        self.style_image = styles[0]
        self.style_blend = blend_values
        self.shape = content_image.shape
        for name, value in zip(content_layers, content_values, strict=False):
            self.targets[f"P_{name}"].set_value(value)
        for name, value in zip(style_layers, style_values, strict=True):
            self.targets[f"A_{name}"].set_value(value)
        self.image.set_value(preprocess(content_image, self.mean_pixel))
        self.evaluations = 0

    def _set_images_with_regions(
        self,
        content_image: np.ndarray,
        style: ImageOrImages | None,
        blend: Sequence[float] | None,
        regions: Sequence[Region] | None,
        guide_mode: str | None,
    ) -> None:
        if style is not None or blend is not None:
            raise ValueError(
                "this problem takes its styles from its regions: pass style=None "
                "and no blend, and give each Region its style"
            )
        if regions is None and content_image.shape != getattr(self, "shape", None):
            raise ValueError(
                "a content image of another size needs its own regions: pass "
                "regions= with guides for it"
            )
        content_layers = self.weights.content_layers
        content_values = self.targets_of(content_image) if content_layers else []
        prepared = (
            None
            if regions is None
            else self._prepare_regions(regions, content_image.shape, guide_mode)
        )
        self.content_image = content_image
        self.shape = content_image.shape
        for name, value in zip(content_layers, content_values, strict=True):
            self.targets[f"P_{name}"].set_value(value)
        if prepared is not None:
            self._commit_regions(*prepared)
        self.image.set_value(preprocess(content_image, self.mean_pixel))
        self.evaluations = 0

    def set_regions(
        self,
        regions: Sequence[Region],
        *,
        guide_mode: str | None = None,
        cover: bool = False,
        exclusive: bool = False,
    ) -> None:
        """Give the problem other regions (masks, styles, weights) for the current
        content image, without recompiling; the generated image is kept.

        Parameters
        ----------
        regions : sequence of Region
            As many as the problem was compiled for (:attr:`region_count`).
        guide_mode : {'simple', 'inside'}, optional
            Default: the problem's current mode.
        cover, exclusive : bool
            Refuse regions that leave pixels of the content image uncovered, or
            overlap (:func:`naah.regions.check_regions`).

        Raises
        ------
        ValueError
            Before anything changes: another number of regions, a region with no
            pixel inside, a style guide eroded away at a style layer, or (when
            asked) gaps or overlaps.
        """
        if not self.region_count:
            raise ValueError(
                "this problem was compiled without regions; build a new "
                "StyleProblem(..., regions=[...]) for them"
            )
        prepared = self._prepare_regions(
            regions, self.shape, guide_mode, cover=cover, exclusive=exclusive
        )
        self._commit_regions(*prepared)

    def _prepare_regions(
        self,
        regions: Sequence[Region],
        shape: tuple[int, ...],
        guide_mode: str | None,
        *,
        cover: bool = False,
        exclusive: bool = False,
    ) -> tuple[tuple[Region, ...], str, dict[str, np.ndarray]]:
        """Check the regions and compute every value the compiled graph needs:
        (resolved regions, guide mode, values of the guides and targets by key)."""
        given = _region_list(regions)
        if len(given) != self.region_count:
            raise ValueError(
                f"this problem was compiled for {self.region_count} regions, got "
                f"{len(given)}; build a new StyleProblem for another number"
            )
        mode = self.guide_mode if guide_mode is None else _guide_mode(guide_mode)
        resolved = tuple(
            region.resolved(shape[:2], index) for index, region in enumerate(given)
        )
        labels = [region.label(index) for index, region in enumerate(resolved)]
        if cover or exclusive:
            check_regions(
                [np.asarray(r.guide) for r in resolved],
                cover=cover,
                exclusive=exclusive,
                names=labels,
            )
        layers = list(self.weights.style_layers)
        values: dict[str, np.ndarray] = {}
        for r, (region, label) in enumerate(zip(resolved, labels, strict=True)):
            guides = guides_per_layer(np.asarray(region.guide), layers, mode)
            if not any(g.any() for g in guides.values()):
                raise ValueError(
                    f"{label}: no position of its guide is left at any style layer "
                    f"in {mode!r} mode; draw it larger or use guide_mode='simple'"
                )
            style_guides = guides_per_layer(
                np.asarray(region.style_guide), layers, mode
            )
            for n in layers:
                if guides[n].any() and not style_guides[n].any():
                    raise ValueError(
                        f"{label}: its style_guide has no position left at {n} in "
                        f"{mode!r} mode (the region is narrower than {n}'s receptive "
                        "field); draw it larger, use guide_mode='simple' or leave "
                        f"{n} out of the style layers"
                    )
            targets = self.guided_targets_of(
                np.asarray(region.style), [style_guides[n] for n in layers]
            )
            for n, guide, target in zip(layers, guides.values(), targets, strict=True):
                values[f"T_{n}[{r}]"] = guide
                values[f"A_{n}[{r}]"] = target
        return resolved, mode, values

    def _commit_regions(
        self, regions: tuple[Region, ...], mode: str, values: dict[str, np.ndarray]
    ) -> None:
        for key, value in values.items():
            (self.guides if key.startswith("T_") else self.targets)[key].set_value(
                value
            )
        for weight, region in zip(self.region_weights, regions, strict=True):
            weight.set_value(np.float32(region.weight))
        self.regions = regions
        self.guide_mode = mode
        self.style_images = tuple(np.asarray(r.style) for r in regions)
        self.style_image = self.style_images[0]
        self.style_blend = ()

    def targets_of(self, image: np.ndarray) -> list[np.ndarray]:
        """P^l of the content layers, then A^l of the style layers, for an
        (H, W, 3) RGB image (with regions: P^l only)."""
        if self._targets_of is None:
            return []
        with self.runtime.activate(self.backend):
            return self._targets_of(preprocess(image, self.mean_pixel))

    def guided_targets_of(
        self, image: np.ndarray, style_guides: Sequence[np.ndarray]
    ) -> list[np.ndarray]:
        """:math:`\\hat A^l_r` of the style layers for an (H, W, 3) RGB style image
        and its guide at each style layer (a problem with regions only)."""
        if self._guided_targets_of is None:
            raise ValueError("this problem was compiled without regions")
        guides = [np.asarray(g, np.float32) for g in style_guides]
        with self.runtime.activate(self.backend):
            return self._guided_targets_of(preprocess(image, self.mean_pixel), *guides)

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
        if self.region_count:
            regions = range(self.region_count)
            guides = {
                n: [self.guides[f"T_{n}[{r}]"] for r in regions] for n in w.style_layers
            }
            targets = {
                n: [self.targets[f"A_{n}[{r}]"] for r in regions]
                for n in w.style_layers
            }
            style, per_layer = guided_style_loss(
                features, guides, targets, w.style_layers, self.region_weights
            )
        else:
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


def blend_weights(
    blend: Sequence[float] | None, count: int, *, name: str = "blend"
) -> tuple[float, ...]:
    """``blend`` normalised to sum 1, one weight per style image; None: equal.

    A weight of exactly 0 leaves its style out; so does the normalisation's
    ``w / sum``, which gives exactly 1.0 for a lone non-zero weight.

    Raises
    ------
    ValueError
        Naming ``name``: not one number per style image, a negative or
        non-finite weight, or all weights 0.

    Examples
    --------
    >>> blend_weights((7, 3), 2)
    (0.7, 0.3)
    >>> blend_weights(None, 4)
    (0.25, 0.25, 0.25, 0.25)
    """
    if blend is None:
        return (1.0 / count,) * count
    if isinstance(blend, str | bytes) or not isinstance(blend, Sequence | np.ndarray):
        raise ValueError(
            f"{name} must be a sequence of numbers, one per style image, got {blend!r}"
        )
    values = list(blend)
    if len(values) != count:
        raise ValueError(
            f"{name} has {len(values)} weights for {count} style images; give one "
            "weight per style image"
        )
    if not all(
        isinstance(v, int | float | np.integer | np.floating)
        and not isinstance(v, bool)
        and np.isfinite(v)
        and v >= 0
        for v in values
    ):
        raise ValueError(
            f"{name} weights must be finite non-negative numbers, got {tuple(values)}"
        )
    total = float(sum(float(v) for v in values))
    if total == 0:
        raise ValueError(
            f"{name} weights are all 0; give at least one style a positive weight"
        )
    return tuple(float(v) / total for v in values)


def _blend(
    per_style: Sequence[Sequence[np.ndarray]], weights: Sequence[float]
) -> list[np.ndarray]:
    """:math:`\\sum_k w_k A^l_k` for each layer. A lone style of weight 1 passes
    through untouched, so its loss is the single-style loss bit for bit; several
    are summed in float64."""
    used = [(w, values) for w, values in zip(weights, per_style, strict=True) if w > 0]
    if len(used) == 1 and used[0][0] == 1.0:
        return list(used[0][1])
    layers = zip(*(values for _, values in used), strict=True)
    return [
        sum(
            w * a.astype(np.float64) for (w, _), a in zip(used, arrays, strict=True)
        ).astype(np.float32)
        for arrays in layers
    ]


def _check_inputs(
    content: np.ndarray,
    style: ImageOrImages | None,
    blend: Sequence[float] | None,
    regions: Sequence[Region] | None,
) -> None:
    """The checks of :meth:`StyleProblem.set_images` that need no network, made
    before compiling, so that a bad image, blend or mask costs no compile time."""
    image = _rgb_image(content, "content")
    if regions is None:
        blend_weights(blend, len(_style_images(style)))
        return
    if style is not None or blend is not None:
        raise ValueError(
            "give style images or regions, not both: with regions, each Region "
            "brings its style (pass style=None and no blend)"
        )
    for index, region in enumerate(_region_list(regions)):
        region.resolved(image.shape[:2], index)


def _rgb_image(image: object, name: str) -> np.ndarray:
    """An (H, W, 3) image as float32, or a ValueError naming it."""
    array = np.asarray(image, dtype=np.float32)
    if array.ndim != 3 or array.shape[2] != 3 or 0 in array.shape:
        raise ValueError(
            f"{name} must be an RGB image of shape (H, W, 3), got shape {array.shape}"
        )
    if not np.isfinite(array).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return array


def _style_images(style: ImageOrImages | None) -> tuple[np.ndarray, ...]:
    """One style image or a sequence of them, each checked."""
    if style is None:
        raise ValueError(
            "style is None: give a style image or a sequence of them (or build the "
            "problem with regions=)"
        )
    if isinstance(style, np.ndarray):
        return (_rgb_image(style, "style"),)
    if not isinstance(style, Sequence) or isinstance(style, str | bytes):
        raise ValueError(
            f"style must be an image array or a sequence of them, got {type(style)}"
        )
    if not style:
        raise ValueError("style is empty: give at least one style image")
    return tuple(_rgb_image(image, f"style[{k}]") for k, image in enumerate(style))


def _region_list(regions: Sequence[Region]) -> list[Region]:
    if isinstance(regions, Region) or not isinstance(regions, Sequence):
        raise ValueError(
            f"regions must be a sequence of Region, got {type(regions).__name__}"
        )
    if not regions:
        raise ValueError("regions is empty: give at least one Region, or None")
    bad = [type(r).__name__ for r in regions if not isinstance(r, Region)]
    if bad:
        raise ValueError(
            f"regions must hold naah.regions.Region objects, got a {bad[0]}"
        )
    return list(regions)


def _guide_mode(mode: str) -> str:
    if mode not in GUIDE_MODES:
        raise ValueError(
            f"guide_mode must be {' or '.join(map(repr, GUIDE_MODES))}, got {mode!r}"
        )
    return mode
