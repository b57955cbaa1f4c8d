r"""A style-transfer problem: the terms of the loss for one scene, compiled once.

:class:`StyleProblem` holds the generated image in a shared variable and compiles
the total loss :math:`\sum_t \lambda_t \mathcal{L}_t` of its terms
(:mod:`naah.terms`: content, style or guided style, total variation), each term's
value and parts, and the gradient into one function that every iteration reuses.
It composes the terms it is given and asks each for its targets when the images
change (:meth:`StyleProblem.set_images`); it does not know which terms they are.
Optimisers (:mod:`naah.optim`) drive it; :class:`naah.StyleTransfer` builds it.

Two controls of Gatys et al. (2017) change only what the targets are:

Several styles
    ``style`` may be a sequence of images (each of any size) with ``blend``
    weights :math:`w_k`, normalised to sum 1 (equal by default). The target of each
    style layer is the blend of the styles' Gram matrices,
    :math:`A^l = \sum_k w_k A^l_k`; a weight of 0 leaves its style out, so weights
    (1, 0) give exactly the first style's targets. The compiled graph is the
    single-style one.
Regions (spatial control, section 4)
    ``regions=[Region(...), ...]`` (:mod:`naah.regions`) replaces the style term by
    the guided one. The guides :math:`T^l_r` and targets :math:`\hat A^l_r` of every
    region at every style layer are shared variables, so
    :meth:`StyleProblem.set_regions` and :meth:`StyleProblem.set_images` reuse the
    compiled function for new masks, styles and images, as long as the number of
    regions stays the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile import Function
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.tensor.sharedvar import TensorSharedVariable
from pytensor.tensor.variable import TensorVariable

from naah.architecture import FEATURE_LAYERS
from naah.compile import function
from naah.io.images import preprocess
from naah.models import VGG_19
from naah.regions import Region
from naah.runtime import DEFAULT, Runtime
from naah.terms import (
    GraphContext,
    GuidedStyleTerm,
    LossTerm,
    LossWeights,
    Scene,
    TemporalTargets,
    blend_weights,
    guide_mode_of,
    region_list,
    shared_array,
    terms_for,
)

__all__ = ["Evaluation", "LossWeights", "StyleProblem", "blend_weights"]

ImageOrImages = np.ndarray | Sequence[np.ndarray]


@dataclass(frozen=True)
class Evaluation:
    """Loss terms at one image: total, content, style and each layer's :math:`E_l`.

    ``content`` and ``style`` are L_content and L_style before α and β; ``tv`` is
    the weighted total-variation term (``tv_weight`` · TV, what the total adds) and
    ``tv_raw`` the unweighted TV; ``temporal`` the unweighted temporal term of a
    video frame (:class:`naah.terms.TemporalTerm`; 0 without).
    """

    total: float
    content: float
    style: float
    style_layers: dict[str, float]
    tv: float
    tv_raw: float = 0.0
    temporal: float = 0.0


class StyleProblem:
    r"""Loss and gradient of the generated image for a content/style pair.

    The graph is compiled once. Targets and the terms' weights are shared
    variables, so :meth:`set_images` (another pair, any size) and
    :meth:`set_loss_weights` reuse the compiled function; only other layers or
    terms need a new problem.

    Parameters
    ----------
    net : VGG_19
    content : ndarray of shape (H, W, 3)
        RGB image in 0–255 (float). The generated image has its size.
    style : ndarray of shape (H_S, W_S, 3), a sequence of them, or None
        The style image, or several (each of any size) whose Gram matrices are
        blended with ``blend``. None with ``regions``, which bring their own.
    weights : LossWeights, optional
        Gives Gatys et al.'s terms (:func:`naah.terms.terms_for`).
    terms : sequence of LossTerm, optional
        The terms themselves, instead of ``weights``.
    backend : str
        See :mod:`naah.compile`.
    runtime : Runtime, optional
        Threads and memory policy of the evaluations (:mod:`naah.runtime`).
    blend : sequence of float, optional
        One weight per style image, normalised to sum 1; default equal weights.
    regions : sequence of Region, optional
        Spatial control (:mod:`naah.regions`): the style term becomes the guided
        one, :math:`\sum_l w_l \sum_r \lambda_r E_{l,r}`. The number of regions is
        fixed when the problem is compiled.
    guide_mode : {'simple', 'inside'}
        How the regions' guides are brought to each layer
        (:func:`naah.regions.guides_per_layer`).

    Attributes
    ----------
    image : shared variable of shape (1, 3, H, W)
        The generated image, preprocessed (RGB minus the mean pixel), float32.
    loss_terms : tuple of LossTerm
    terms : dict of str to TensorVariable
        Symbolic ``total``, each term's unweighted value (``content``, ``style``,
        ``tv``) and its parts (``E_<layer>``).
    alpha, beta, tv_weight : shared float32 scalars
        The terms' weights, by name.
    targets, guides : dict of str to shared variable
        Every term's targets (``P_<layer>``, ``A_<layer>``) and guides
        (``T_<layer>[r]``).
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
    region_weights : list of shared float32 scalars
        :math:`\lambda_r`.
    compiled : dict
        Functions compiled over this problem's graph by the parts that drive it
        (an optimiser's step), by their key: they live as long as the problem.
    optimizer_budget : int or None
        Bytes the optimiser's state may take, or None (the default) for no limit;
        :class:`naah.session.Session` sets it from the run's memory budget. With a budget, L-BFGS keeps scipy's float64 L-BFGS-B only if its state
        fits, else it runs naah's float32 L-BFGS with the longest history that
        fits (:func:`naah.optim.lbfgs.lbfgs_implementation`).

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

    optimizer_budget: int | None = None

    def __init__(
        self,
        net: VGG_19,
        content: np.ndarray,
        style: ImageOrImages | None,
        weights: LossWeights | None = None,
        *,
        terms: Sequence[LossTerm] | None = None,
        backend: str = "c",
        runtime: Runtime = DEFAULT,
        blend: Sequence[float] | None = None,
        regions: Sequence[Region] | None = None,
        guide_mode: str = "simple",
        temporal: TemporalTargets | None = None,
    ) -> None:
        region_count = 0 if regions is None else len(region_list(regions))
        guide_mode_of(guide_mode)
        _check_inputs(content, style, blend, regions)
        if terms is None:
            if weights is None:
                raise ValueError("give the loss weights, or the terms themselves")
            terms = terms_for(weights, region_count, guide_mode)
        self.loss_terms = tuple(terms)
        if not any(term.layers for term in self.loss_terms):
            raise ValueError(
                "no content and no style layers: there is nothing to optimise"
            )
        self.net = net
        self.weights = weights
        self.backend = backend
        self.runtime = runtime
        self.mean_pixel = net.mean_pixel
        self._weight_values = _weight_values(self.loss_terms, weights)
        self.image = shared_array(4, "generated_image")
        self.compiled: dict[object, object] = {}
        self._compile()
        self._context = GraphContext(net, backend, runtime, self._targets_by_key)
        for term in self.loss_terms:
            term.compile(self._context)
        self.regions: tuple[Region, ...] = ()
        self.guide_mode = guide_mode
        self.set_images(
            content,
            style,
            blend=blend,
            regions=regions,
            guide_mode=guide_mode,
            temporal=temporal,
        )

    # -- the graph ---------------------------------------------------------------------

    def _compile(self) -> None:
        """The loss, its terms and gradient over the whole image, compiled; and the
        function of an image's targets."""
        self.terms = self._loss_terms()
        self.gradient = cast(
            TensorVariable, pytensor.grad(self.terms["total"], self.image)
        )
        self._term_names = list(self.terms)
        self._evaluate = function(
            [],
            [self.terms[n] for n in self._term_names] + [self.gradient],
            backend=self.backend,
        )
        self._target_keys, self._targets_of = self._compile_targets()

    @property
    def layers(self) -> list[str]:
        """Every feature layer a term reads, in the network's order."""
        wanted = {n for term in self.loss_terms for n in term.layers}
        return [n for n in FEATURE_LAYERS if n in wanted]

    def _loss_terms(self) -> dict[str, TensorVariable]:
        features = self.net.features(self.image, self.layers)
        total = pt.constant(np.float32(0))
        values: dict[str, TensorVariable] = {}
        parts: dict[str, TensorVariable] = {}
        for term in self.loss_terms:
            value, named = term.value(self.image, features, term.statistics(features))
            total = total + term.weight * value
            values[term.name] = value
            parts.update({f"E_{n}": e for n, e in named.items()})
        return {"total": total, **values, **parts}

    def _compile_targets(self) -> tuple[list[str], Function | None]:
        """One function of an image's targets, every term's keyed outputs (P^l of
        the content layers, A^l of the style layers); shapes are not fixed, so it
        serves the content and the style images alike."""
        x = pt.tensor4("x", dtype="float32")
        features = self.net.features(x, self.layers)
        outputs = {
            key: output
            for term in self.loss_terms
            for key, output in term.target_outputs(features).items()
        }
        if not outputs:
            return [], None
        return list(outputs), function(
            [x], list(outputs.values()), backend=self.backend
        )

    def _targets_by_key(self, image: np.ndarray) -> dict[str, np.ndarray]:
        return dict(zip(self._target_keys, self.targets_of(image), strict=True))

    def weight(self, name: str) -> SharedVariable:
        """The shared variable of the weight ``name`` (``alpha``, ``beta`` …)."""
        for term in self.loss_terms:
            if term.weight_name == name:
                return term.weight
        raise KeyError(f"no term of this problem has the weight {name!r}")

    @property
    def alpha(self) -> SharedVariable:
        return self.weight("alpha")

    @property
    def beta(self) -> SharedVariable:
        return self.weight("beta")

    @property
    def tv_weight(self) -> SharedVariable:
        return self.weight("tv_weight")

    @property
    def targets(self) -> dict[str, TensorSharedVariable]:
        return {k: v for term in self.loss_terms for k, v in term.targets.items()}

    @property
    def guides(self) -> dict[str, TensorSharedVariable]:
        return {k: v for term in self.loss_terms for k, v in term.guides.items()}

    @property
    def region_weights(self) -> list[SharedVariable]:
        return [w for term in self.loss_terms for w in term.region_weights]

    @property
    def region_count(self) -> int:
        return sum(term.region_count for term in self.loss_terms)

    # -- targets ----------------------------------------------------------------------

    def set_images(
        self,
        content: np.ndarray,
        style: ImageOrImages | None,
        *,
        blend: Sequence[float] | None = None,
        regions: Sequence[Region] | None = None,
        guide_mode: str | None = None,
        temporal: TemporalTargets | None = None,
    ) -> None:
        """Retarget the problem at other images (any size): computes every term's
        targets once and starts the generated image at the content image.

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
        temporal : TemporalTargets, optional
            For a problem with a :class:`naah.terms.TemporalTerm`: the video
            frame's earlier results, warped onto it, and their weights (None: the
            term is 0).

        Raises
        ------
        ValueError
            Before anything changes, for a bad image, blend, or regions, or styles
            given to a problem with regions (and the reverse).
        """
        styles = None if style is None else _style_images(style)
        scene = Scene(
            _rgb_image(content, "content"),
            styles,
            blend,
            regions,
            guide_mode,
            temporal=temporal,
        )
        self._retarget(scene, self.loss_terms)
        self.content_image = scene.content
        self.shape = scene.content.shape
        if styles is not None:
            self._set_style_images(styles, blend_weights(blend, len(styles)))
        self.image.set_value(preprocess(scene.content, self.mean_pixel))
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
        guided = [term for term in self.loss_terms if term.region_count]
        if not guided:
            raise ValueError(
                "this problem was compiled without regions; build a new "
                "StyleProblem(..., regions=[...]) for them"
            )
        scene = Scene(
            self.content_image, None, None, regions, guide_mode, cover, exclusive
        )
        self._retarget(scene, guided)

    def _retarget(self, scene: Scene, terms: Sequence[LossTerm]) -> None:
        """Every term checks the scene and computes its targets; only then do they
        change (a bad image or mask changes nothing)."""
        commits = [term.retarget(scene, self._context) for term in terms]
        for commit in commits:
            commit()
        for term in terms:
            if term.regions:
                self.regions = term.regions
                self.guide_mode = term.guide_mode or self.guide_mode
                styles = tuple(np.asarray(r.style) for r in term.regions)
                self._set_style_images(styles, ())

    def _set_style_images(
        self, images: tuple[np.ndarray, ...], blend: tuple[float, ...]
    ) -> None:
        self.style_images = images
        self.style_image = images[0]
        self.style_blend = blend

    def targets_of(self, image: np.ndarray) -> list[np.ndarray]:
        """Every term's targets for an (H, W, 3) RGB image, in the order of
        :attr:`targets` (P^l of the content layers, then A^l of the style layers;
        with regions: P^l only)."""
        if self._targets_of is None:
            return []
        return self._context.call(self._targets_of, self._context.preprocess(image))

    def guided_targets_of(
        self, image: np.ndarray, style_guides: Sequence[np.ndarray]
    ) -> list[np.ndarray]:
        """:math:`\\hat A^l_r` of the style layers for an (H, W, 3) RGB style image
        and its guide at each style layer (a problem with regions only)."""
        for term in self.loss_terms:
            if isinstance(term, GuidedStyleTerm):
                return term.targets_of(image, style_guides, self._context)
        raise ValueError("this problem was compiled without regions")

    def set_loss_weights(self, **weights: float | None) -> None:
        """Change the terms' weights by name (``alpha=``, ``beta=``,
        ``tv_weight=`` …; None leaves one as it is) without recompiling."""
        changes = {k: float(v) for k, v in weights.items() if v is not None}
        for name, value in changes.items():
            if not value >= 0:
                raise ValueError(f"{name} must be a non-negative number, got {value}")
            self.weight(name)  # a KeyError for a weight no term has, before changes
        if self.weights is not None:
            known: dict[str, Any] = {
                k: v for k, v in changes.items() if hasattr(self.weights, k)
            }
            self.weights = replace(self.weights, **known)
        for name, value in changes.items():
            self.weight(name).set_value(np.float32(value))
            self._weight_values[name] = value

    def use_weights(self, weights: LossWeights) -> None:
        """Give every term its weight from ``weights`` (whose layers must be the
        problem's), without recompiling; a term whose weight ``weights`` has not
        (the temporal term's) keeps its own."""
        self.set_loss_weights(
            **{
                term.weight_name: getattr(weights, term.weight_name)
                for term in self.loss_terms
                if hasattr(weights, term.weight_name)
            }
        )

    # -- evaluation -------------------------------------------------------------------

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
        tv = values.get("tv", 0.0)
        return Evaluation(
            total=values["total"],
            content=values.get("content", 0.0),
            style=values.get("style", 0.0),
            tv=self._weight_values.get("tv_weight", 0.0) * tv,
            tv_raw=tv,
            temporal=values.get("temporal", 0.0),
            style_layers={
                k.removeprefix("E_"): v for k, v in values.items() if k.startswith("E_")
            },
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


def _weight_values(
    terms: Sequence[LossTerm], weights: LossWeights | None
) -> dict[str, float]:
    """The terms' weights as Python floats (the history reports weighted terms in
    float64): the LossWeights' own values when given."""
    values = {t.weight_name: float(t.weight.get_value()) for t in terms}
    if weights is not None:
        values.update({k: getattr(weights, k) for k in values if hasattr(weights, k)})
    return values


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
    for index, region in enumerate(region_list(regions)):
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
