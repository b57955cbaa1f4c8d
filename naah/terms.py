r"""The terms of the total loss, as objects, and the weights that set them.

:math:`\mathcal{L}_{total} = \sum_t \lambda_t \mathcal{L}_t`: each :class:`LossTerm`
is one :math:`\mathcal{L}_t` (:mod:`naah.losses` defines them) with its weight
:math:`\lambda_t` in a shared variable (α, β, the TV weight), so that changing a
weight never recompiles. :class:`naah.problem.StyleProblem` composes the terms it is
given; it does not know which they are.

A term says what it reads and how it is computed in two steps:

``statistics(features)``
    Sums over the image's positions that the term needs whole (the Gram matrices
    :math:`G^l` and the positions :math:`M_l` of a style term). Being sums, they
    can be added up block by block.
``value(image, features, statistics)``
    The unweighted :math:`\mathcal{L}_t` and its named parts (:math:`E_l`), from
    the features and those statistics.

On the whole image the statistics come from the same features; an evaluation
block by block (Galerne et al. 2024, :mod:`naah.tiled`) sums them over the blocks
first and then differentiates each block's value, with no term-specific code. For
that to be exact a term keeps one of two shapes:

* a term *with* statistics computes its value from them alone (and its targets):
  the style terms, whose :math:`E_l` needs the whole image's :math:`G^l`;
* a term *without* statistics has a value that is a sum over positions, so that
  the blocks' values add up to it: the content and total-variation terms.

:meth:`LossTerm.window_value` gives a term's value over one block's inner area
(a :class:`Window`); a term whose sum reads neighbouring positions (total
variation) overrides it. Targets and guides that have a value per position of a
layer (:math:`P^l`, :math:`T^l_r`) are named in :attr:`LossTerm.spatial`, so that
each block gets its slice of them; a term's other targets (:math:`A^l`) must be
sums over positions, which the blocks of a large style image add up.

Targets (:math:`P^l`, :math:`A^l`, guides) are shared variables, which
:meth:`LossTerm.retarget` computes for a :class:`Scene` (the content image, the
styles or the regions) and sets only once every term has checked its part: a bad
image changes nothing.

Where a change goes: a new term is a subclass here (its statistics, value and
targets), its weight a field of :class:`LossWeights`, and one line in
:func:`terms_for`; the command line, batch jobs and checkpoints follow from the
field (``CONTRIBUTING.md`` works an example).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile import Function
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.tensor.sharedvar import TensorSharedVariable
from pytensor.tensor.variable import TensorVariable

from naah.architecture import DEFAULT_CONTENT_LAYERS, DEFAULT_STYLE_LAYERS
from naah.checks import (
    SettingError,
    as_floats,
    as_names,
    check_fields,
    layer_names,
    non_negative_float,
    non_negative_floats,
    optional,
    setting,
    style_layer_weights,
)
from naah.compile import function
from naah.io.images import preprocess
from naah.losses import (
    content_loss,
    gram_loss,
    gram_matrix,
    guide_mass,
    guided_gram_loss,
    guided_gram_matrix,
    normalised_guided_gram,
    positions,
    total_variation,
)
from naah.models import VGG_19
from naah.regions import GUIDE_MODES, Region, check_regions, guides_per_layer
from naah.runtime import Runtime

__all__ = [
    "ContentTerm",
    "GuidedStyleTerm",
    "LossTerm",
    "LossWeights",
    "Scene",
    "StyleTerm",
    "TemporalTargets",
    "TemporalTerm",
    "TotalVariationTerm",
    "Window",
    "blend_weights",
    "terms_for",
]

Commit = Callable[[], None]


@dataclass(frozen=True)
class LossWeights:
    """α, β, the style layers' :math:`w_l`, the content layers and the TV weight.

    Every field is a setting (:mod:`naah.checks`): checked here, and offered as a
    keyword of :class:`naah.StyleTransfer`, an option of ``naah stylize`` and
    ``naah batch`` and a key of job files.

    Examples
    --------
    >>> LossWeights(style_layers=("conv1_1", "conv2_1")).style_layers
    {'conv1_1': 0.5, 'conv2_1': 0.5}
    >>> LossWeights(alpha=0, beta=0)
    Traceback (most recent call last):
    ...
    naah.checks.SettingError: nothing to minimise: alpha 0, beta 0 and tv_weight 0; give the content (alpha), style (beta) or total-variation (tv_weight) term a positive weight
    """

    alpha: float = setting(
        1.0,
        check=non_negative_float,
        metavar="ALPHA",
        aliases=("content_weight",),
        help="content weight α (α/β = 1e-3 is the ratio of Gatys et al.'s Figure 3)",
    )
    beta: float = setting(
        1e3,
        check=non_negative_float,
        metavar="BETA",
        aliases=("style_weight",),
        help="style weight β",
    )
    style_layers: Mapping[str, float] = setting(
        DEFAULT_STYLE_LAYERS,
        check=style_layer_weights,
        text=as_names,
        metavar="L1,L2",
        shown=",".join(DEFAULT_STYLE_LAYERS),
        help="style layers (Gatys et al.: conv1_1 … conv5_1, equal weights w_l)",
    )
    content_layers: Sequence[str] = setting(
        DEFAULT_CONTENT_LAYERS,
        check=layer_names("content"),
        text=as_names,
        metavar="L1,L2",
        shown=",".join(DEFAULT_CONTENT_LAYERS),
        help="content layers (Gatys et al.: conv4_2)",
    )
    tv_weight: float = setting(
        0.0,
        check=non_negative_float,
        metavar="W",
        help="total-variation weight (0: off, as in the paper)",
    )
    style_weights: tuple[float, ...] | None = setting(
        None,
        check=optional(non_negative_floats),
        text=as_floats,
        metavar="W1,W2",
        folds_into="style_layers",
        shown="equal, summing to 1",
        help="weight w_l of each style layer, in the order of the style layers",
    )

    def __post_init__(self) -> None:
        check_fields(self)
        if self.style_weights is not None:
            object.__setattr__(self, "style_layers", self._weighted_layers())
            object.__setattr__(self, "style_weights", None)
        self._something_to_minimise()

    def _weighted_layers(self) -> dict[str, float]:
        names, weights = list(self.style_layers), self.style_weights or ()
        if len(weights) != len(names):
            raise SettingError(
                "{style_weights} has {n} values ({n} weights for {m} style layers: "
                "{names}); give one weight per style layer",
                "style_weights",
                n=len(weights),
                m=len(names),
                names=", ".join(names),
            )
        return dict(zip(names, weights, strict=True))

    def _something_to_minimise(self) -> None:
        content = self.alpha > 0 and bool(self.content_layers)
        style = self.beta > 0 and any(self.style_layers.values())
        if content or style or self.tv_weight > 0:
            return
        if not self.content_layers and self.alpha > 0:
            no_content = "no content layers"
        else:
            no_content = "{alpha} 0"
        if self.beta == 0:
            no_style = "{beta} 0"
        elif self.style_layers:
            no_style = "{style_weights} all 0"
        else:
            no_style = "no style layers"
        raise SettingError(
            f"nothing to minimise: {no_content}, {no_style} and {{tv_weight}} 0; give "
            "the content ({alpha}), style ({beta}) or total-variation ({tv_weight}) "
            "term a positive weight",
            "alpha",
            "beta",
            "tv_weight",
            "style_weights",
        )

    @property
    def layers(self) -> tuple[str, ...]:
        """The content and style layers, each once."""
        return tuple(dict.fromkeys([*self.content_layers, *self.style_layers]))


@dataclass(frozen=True)
class TemporalTargets:
    r"""What the temporal term of a video frame compares with (Ruder et al. 2016).

    Attributes
    ----------
    warped : tuple of ndarray of shape (H, W, 3)
        :math:`\omega_{i-j}^{i}`: earlier stylised frames warped onto this one
        (RGB, 0–255), closest first.
    weights : tuple of ndarray of shape (H, W)
        The per-pixel weights :math:`c` of each, in [0, 1]: the consistency
        check's (:func:`naah.flow.consistency`), long-term ones already reduced
        (:func:`naah.flow.long_term_weights`).
    weight : float
        :math:`\gamma`, the term's weight.
    frames : int
        How many earlier frames the problem's graph compares with (the long-term
        offsets); ``warped`` may hold fewer (the first frames of a video).
    """

    warped: tuple[np.ndarray, ...] = ()
    weights: tuple[np.ndarray, ...] = ()
    weight: float = 0.0
    frames: int = 1


@dataclass(frozen=True)
class Scene:
    """What a problem's targets are computed from.

    Attributes
    ----------
    content : ndarray of shape (H, W, 3)
        The content image, float32 RGB in 0–255; the generated image has its size.
    styles : tuple of ndarray, or None
        The style images (checked, float32), or None with regions.
    blend : sequence of float, or None
        One weight per style image (:func:`blend_weights`).
    regions : sequence of Region, or None
        Spatial control; None keeps a problem's regions for a content image of the
        same size.
    guide_mode : str or None
        None keeps the problem's mode.
    cover, exclusive : bool
        Refuse regions with gaps or overlaps (:func:`naah.regions.check_regions`).
    temporal : TemporalTargets or None
        A video frame's earlier frames, warped (None: none, the temporal term
        is 0).
    """

    content: np.ndarray
    styles: tuple[np.ndarray, ...] | None = None
    blend: Sequence[float] | None = None
    regions: Sequence[Region] | None = None
    guide_mode: str | None = None
    cover: bool = False
    exclusive: bool = False
    temporal: TemporalTargets | None = None


@dataclass
class GraphContext:
    """What a term needs to compute its targets: the network, how functions are
    compiled and run, and the problem's one function of an image's targets (every
    term's :meth:`LossTerm.target_outputs`, keyed)."""

    net: VGG_19
    backend: str
    runtime: Runtime
    targets_of: Callable[[np.ndarray], dict[str, np.ndarray]]

    def compile(self, inputs: list[Any], outputs: list[Any]) -> Function:
        return function(inputs, outputs, backend=self.backend)

    def call(self, compiled: Function, *args: Any) -> list[np.ndarray]:
        with self.runtime.activate(self.backend):
            return compiled(*args)

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        return preprocess(image, self.net.mean_pixel)


class LossTerm(abc.ABC):
    """One weighted term of the total loss (see the module docstring).

    Parameters
    ----------
    weight : float
        Its :math:`\\lambda_t`, held in the shared variable :attr:`weight`.

    Attributes
    ----------
    name : str
        Its unweighted value's key in :attr:`naah.problem.StyleProblem.terms`.
    weight_name : str
        The name of its weight (``alpha``, ``beta``, ``tv_weight``).
    weight : shared float32 scalar
    targets, guides : dict of str to shared variable
        What :meth:`retarget` sets (``P_conv4_2``, ``A_conv1_1``, ``T_conv1_1[0]``).
    region_weights : list of shared float32 scalars
        :math:`\\lambda_r` of the regions it has (empty without).
    region_count : int
        How many regions its graph has (0: none).
    regions : tuple of Region
        Its regions, resolved (float32 arrays at their images' sizes); empty
        without.
    guide_mode : str or None
        How its regions' guides are brought to each layer.
    """

    name: ClassVar[str]
    weight_name: ClassVar[str]

    def __init__(self, weight: float) -> None:
        self.weight = shared_scalar(weight, self.weight_name)
        self.targets: dict[str, TensorSharedVariable] = {}
        self.guides: dict[str, TensorSharedVariable] = {}
        self.region_weights: list[SharedVariable] = []
        self.region_count = 0
        self.regions: tuple[Region, ...] = ()
        self.guide_mode: str | None = None

    @property
    def layers(self) -> tuple[str, ...]:
        """The feature layers it reads (none: the image itself)."""
        return ()

    @property
    def spatial(self) -> dict[str, str]:
        """Its targets and guides that hold a value per position of a layer, by key,
        with that layer: a block of a tiled evaluation gets its slice of them."""
        return {}

    def statistics(self, features: Mapping[str, TensorVariable]) -> dict[str, Any]:
        """Its sums over positions (none by default)."""
        return {}

    @abc.abstractmethod
    def value(
        self,
        image: TensorVariable,
        features: Mapping[str, TensorVariable],
        statistics: Mapping[str, Any],
    ) -> tuple[TensorVariable, dict[str, TensorVariable]]:
        """Its unweighted value and named parts, symbolic."""

    def window_value(
        self,
        image: TensorVariable,
        features: Mapping[str, TensorVariable],
        statistics: Mapping[str, Any],
        window: Window,
    ) -> tuple[TensorVariable, dict[str, TensorVariable]]:
        """Its value over the inner area of one block (:mod:`naah.tiled`), from the
        block's image and features and the whole image's statistics: by default its
        :meth:`value` on the window's crop of them."""
        return self.value(window.image(image), window.features(features), statistics)

    def target_outputs(
        self, features: Mapping[str, TensorVariable]
    ) -> dict[str, TensorVariable]:
        """Targets it computes from an image's features with the problem's one
        target function (:attr:`GraphContext.targets_of`), keyed like
        :attr:`targets`."""
        return {}

    def compile(self, context: GraphContext) -> None:  # noqa: B027  (optional hook)
        """Compile any function of its own (default: none)."""

    def retarget(self, scene: Scene, context: GraphContext) -> Commit:
        """Check ``scene`` and compute its targets for it; change nothing yet.

        Returns
        -------
        callable
            Sets the targets (called once every term has checked its part).
        """
        return _nothing


def _nothing() -> None:
    return None


class ContentTerm(LossTerm):
    r""":math:`\mathcal{L}_{content} = \sum_l \tfrac12 \sum (F^l - P^l)^2` over the
    content layers (weight α)."""

    name = "content"
    weight_name = "alpha"

    def __init__(self, layers: Sequence[str], weight: float) -> None:
        super().__init__(weight)
        self._layers = tuple(layers)
        self.targets = {f"P_{n}": shared_array(4, f"P_{n}") for n in self._layers}

    @property
    def layers(self) -> tuple[str, ...]:
        return self._layers

    @property
    def spatial(self) -> dict[str, str]:
        return {f"P_{n}": n for n in self._layers}

    def value(
        self,
        image: TensorVariable,
        features: Mapping[str, TensorVariable],
        statistics: Mapping[str, Any],
    ) -> tuple[TensorVariable, dict[str, TensorVariable]]:
        losses = [
            content_loss(features[n], self.targets[f"P_{n}"]) for n in self.layers
        ]
        return _sum(losses), {}

    def target_outputs(
        self, features: Mapping[str, TensorVariable]
    ) -> dict[str, TensorVariable]:
        return {f"P_{n}": features[n] for n in self.layers}

    def retarget(self, scene: Scene, context: GraphContext) -> Commit:
        if not self.layers:
            return _nothing
        values = context.targets_of(scene.content)
        return _setter({k: values[k] for k in self.targets}, self.targets)


class _LayerWeighted(LossTerm):
    """A term over layers with weights :math:`w_l` (the style terms)."""

    def __init__(self, layer_weights: Mapping[str, float], weight: float) -> None:
        super().__init__(weight)
        self.layer_weights = dict(layer_weights)

    @property
    def layers(self) -> tuple[str, ...]:
        return tuple(self.layer_weights)


class StyleTerm(_LayerWeighted):
    r""":math:`\mathcal{L}_{style} = \sum_l w_l E_l` (weight β), against the Gram
    matrices of one style image or the blend :math:`A^l = \sum_k w_k A^l_k` of
    several (Gatys et al. 2017): blending changes the targets, not the graph.

    Statistics: :math:`G^l` and :math:`M_l` of each style layer.
    """

    name = "style"
    weight_name = "beta"

    def __init__(self, layer_weights: Mapping[str, float], weight: float) -> None:
        super().__init__(layer_weights, weight)
        self.targets = {f"A_{n}": shared_array(2, f"A_{n}") for n in self.layers}

    def statistics(self, features: Mapping[str, TensorVariable]) -> dict[str, Any]:
        stats: dict[str, Any] = {}
        for n in self.layers:
            stats[f"G_{n}"] = gram_matrix(features[n])
            stats[f"M_{n}"] = positions(features[n])
        return stats

    def value(
        self,
        image: TensorVariable,
        features: Mapping[str, TensorVariable],
        statistics: Mapping[str, Any],
    ) -> tuple[TensorVariable, dict[str, TensorVariable]]:
        per_layer = {
            n: gram_loss(
                statistics[f"G_{n}"],
                self.targets[f"A_{n}"],
                features[n].shape[1],
                statistics[f"M_{n}"],
            )
            for n in self.layers
        }
        return _weighted(per_layer, self.layer_weights), per_layer

    def target_outputs(
        self, features: Mapping[str, TensorVariable]
    ) -> dict[str, TensorVariable]:
        return {f"A_{n}": gram_matrix(features[n]) for n in self.layers}

    def retarget(self, scene: Scene, context: GraphContext) -> Commit:
        if scene.regions is not None:
            raise ValueError(
                "this problem was compiled without regions; build a new "
                "StyleProblem(..., regions=[...]) for them"
            )
        if scene.styles is None:
            raise ValueError(
                "style is None: give a style image or a sequence of them (or build "
                "the problem with regions=)"
            )
        styles = scene.styles
        blend = blend_weights(scene.blend, len(styles))
        if not self.layers:
            return _nothing
        per_style = [
            self._grams(context.targets_of(image)) if w > 0 else []
            for image, w in zip(styles, blend, strict=True)
        ]
        values = dict(zip(self.targets, _blend(per_style, blend), strict=True))
        return _setter(values, self.targets)

    def _grams(self, targets: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """This term's targets, :math:`A^l` of each style layer, among an image's."""
        return [targets[key] for key in self.targets]


class GuidedStyleTerm(_LayerWeighted):
    r""":math:`\sum_l w_l \sum_r \lambda_r E_{l,r}` (weight β): each region takes the
    style of its own image through guided Gram matrices (Gatys et al. 2017,
    section 4; :mod:`naah.losses`). The number of regions is fixed by the graph;
    their guides :math:`T^l_r`, targets :math:`\hat A^l_r` and weights
    :math:`\lambda_r` are shared variables.

    Statistics: each region's :math:`G^l_r` and guide mass :math:`\mu^l_r`, and
    :math:`M_l`.
    """

    name = "style"
    weight_name = "beta"

    def __init__(
        self,
        layer_weights: Mapping[str, float],
        weight: float,
        region_count: int,
        guide_mode: str = "simple",
    ) -> None:
        if not layer_weights:
            raise ValueError(
                "regions need style layers: give style_layers, or leave regions out"
            )
        super().__init__(layer_weights, weight)
        self.region_count = region_count
        self.guide_mode = guide_mode_of(guide_mode)
        self.shape: tuple[int, ...] | None = None
        for n in self.layers:
            for r in range(region_count):
                self.targets[f"A_{n}[{r}]"] = shared_array(2, f"A_{n}[{r}]")
                self.guides[f"T_{n}[{r}]"] = shared_array(2, f"T_{n}[{r}]")
        self.region_weights = [
            shared_scalar(1.0, f"lambda[{r}]") for r in range(region_count)
        ]
        self._targets_of: Function | None = None

    @property
    def spatial(self) -> dict[str, str]:
        return {f"T_{n}[{r}]": n for n in self.layers for r in range(self.region_count)}

    def statistics(self, features: Mapping[str, TensorVariable]) -> dict[str, Any]:
        stats: dict[str, Any] = {}
        for n in self.layers:
            stats[f"M_{n}"] = positions(features[n])
            for r in range(self.region_count):
                guide = pt.cast(self.guides[f"T_{n}[{r}]"], features[n].dtype)
                stats[f"G_{n}[{r}]"] = guided_gram_matrix(features[n], guide)
                stats[f"mu_{n}[{r}]"] = guide_mass(guide)
        return stats

    def value(
        self,
        image: TensorVariable,
        features: Mapping[str, TensorVariable],
        statistics: Mapping[str, Any],
    ) -> tuple[TensorVariable, dict[str, TensorVariable]]:
        per_layer = {}
        for n in self.layers:
            terms = [
                guided_gram_loss(
                    statistics[f"G_{n}[{r}]"],
                    statistics[f"mu_{n}[{r}]"],
                    self.targets[f"A_{n}[{r}]"],
                    features[n].shape[1],
                    statistics[f"M_{n}"],
                )
                * weight
                for r, weight in enumerate(self.region_weights)
            ]
            per_layer[n] = _sum(terms)
        return _weighted(per_layer, self.layer_weights), per_layer

    def compile(self, context: GraphContext) -> None:
        """The targets :math:`\\hat A^l_r` of one region: its style image and its
        style guide at each style layer in, the normalised guided Grams out."""
        x = pt.tensor4("x", dtype="float32")
        guides = [pt.matrix(f"S_{n}", dtype="float32") for n in self.layers]
        features = context.net.features(x, list(self.layers))
        outputs = [
            normalised_guided_gram(features[n], guide)
            for n, guide in zip(self.layers, guides, strict=True)
        ]
        self._targets_of = context.compile([x, *guides], outputs)

    def targets_of(
        self,
        image: np.ndarray,
        style_guides: Sequence[np.ndarray],
        context: GraphContext,
    ) -> list[np.ndarray]:
        """:math:`\\hat A^l_r` of the style layers for an (H, W, 3) RGB style image
        and its guide at each style layer."""
        assert self._targets_of is not None, "compile() comes first"
        guides = [np.asarray(g, np.float32) for g in style_guides]
        return context.call(self._targets_of, context.preprocess(image), *guides)

    def retarget(self, scene: Scene, context: GraphContext) -> Commit:
        if scene.styles is not None or scene.blend is not None:
            raise ValueError(
                "this problem takes its styles from its regions: pass style=None "
                "and no blend, and give each Region its style"
            )
        if scene.regions is None:
            if scene.content.shape != self.shape:
                raise ValueError(
                    "a content image of another size needs its own regions: pass "
                    "regions= with guides for it"
                )
            return _nothing
        return self.prepare_regions(
            scene.regions,
            scene.content.shape,
            scene.guide_mode,
            context,
            cover=scene.cover,
            exclusive=scene.exclusive,
        )

    def prepare_regions(
        self,
        regions: Sequence[Region],
        shape: tuple[int, ...],
        guide_mode: str | None,
        context: GraphContext,
        *,
        cover: bool = False,
        exclusive: bool = False,
    ) -> Commit:
        """Check the regions and compute every value the graph needs; the commit
        sets them."""
        given = region_list(regions)
        if len(given) != self.region_count:
            raise ValueError(
                f"this problem was compiled for {self.region_count} regions, got "
                f"{len(given)}; build a new StyleProblem for another number"
            )
        mode = guide_mode_of(guide_mode or self.guide_mode or "simple")
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
        values: dict[str, np.ndarray] = {}
        for r, (region, label) in enumerate(zip(resolved, labels, strict=True)):
            values.update(self._region_values(r, region, label, mode, context))

        def commit() -> None:
            _setter(values, {**self.targets, **self.guides})()
            for weight, region in zip(self.region_weights, resolved, strict=True):
                weight.set_value(np.float32(region.weight))
            self.regions, self.guide_mode, self.shape = resolved, mode, shape

        return commit

    def _region_values(
        self, r: int, region: Region, label: str, mode: str, context: GraphContext
    ) -> dict[str, np.ndarray]:
        layers = list(self.layers)
        guides = guides_per_layer(np.asarray(region.guide), layers, mode)
        if not any(g.any() for g in guides.values()):
            raise ValueError(
                f"{label}: no position of its guide is left at any style layer "
                f"in {mode!r} mode; draw it larger or use guide_mode='simple'"
            )
        style_guides = guides_per_layer(np.asarray(region.style_guide), layers, mode)
        for n in layers:
            if guides[n].any() and not style_guides[n].any():
                raise ValueError(
                    f"{label}: its style_guide has no position left at {n} in "
                    f"{mode!r} mode (the region is narrower than {n}'s receptive "
                    "field); draw it larger, use guide_mode='simple' or leave "
                    f"{n} out of the style layers"
                )
        targets = self.targets_of(
            np.asarray(region.style), [style_guides[n] for n in layers], context
        )
        values = {}
        for n, target in zip(layers, targets, strict=True):
            values[f"T_{n}[{r}]"] = guides[n]
            values[f"A_{n}[{r}]"] = target
        return values


class TotalVariationTerm(LossTerm):
    """The total variation of the image (weight ``tv_weight``; 0 turns it off)."""

    name = "tv"
    weight_name = "tv_weight"

    def value(
        self,
        image: TensorVariable,
        features: Mapping[str, TensorVariable],
        statistics: Mapping[str, Any],
    ) -> tuple[TensorVariable, dict[str, TensorVariable]]:
        return total_variation(image), {}

    def window_value(
        self,
        image: TensorVariable,
        features: Mapping[str, TensorVariable],
        statistics: Mapping[str, Any],
        window: Window,
    ) -> tuple[TensorVariable, dict[str, TensorVariable]]:
        """The differences from each inner pixel to its neighbour below and to its
        right, which may lie in the margin: every pair of the image is counted by
        the block that holds its first pixel."""
        x = window.image(image, extra=1)
        height, width = window.size()
        vertical = x[:, :, 1:, :width] - x[:, :, :-1, :width]
        horizontal = x[:, :, :height, 1:] - x[:, :, :height, :-1]
        return pt.sum(pt.sqr(vertical)) + pt.sum(pt.sqr(horizontal)), {}


class TemporalTerm(LossTerm):
    r"""Ruder, Dosovitskiy & Brox (2016)'s temporal consistency of a video frame
    (weight ``temporal_weight``, their :math:`\gamma`):

    .. math::

        \mathcal{L}_{temporal} = \sum_{j} \frac1D \sum_{k} c^{(j)}_k
        (x_k - \omega^{(j)}_k)^2,

    over its ``frames`` earlier frames :math:`j` (one: the short-term loss; more:
    the long-term one, with :math:`c_{long}` weights), where :math:`\omega^{(j)}`
    is frame :math:`j`'s result warped onto this frame, :math:`c^{(j)}` its
    per-pixel weights (0 at disocclusions and motion boundaries) and
    :math:`D = W \times H \times 3`.

    :math:`\omega^{(j)}` and :math:`c^{(j)} / D` are targets (shared variables,
    ``omega[j]`` and ``c[j]``), set per frame by :meth:`retarget`, so one compiled
    problem serves every frame. Both have a value per pixel
    (:attr:`LossTerm.spatial`), so a tiled evaluation slices them per block; the
    term is a sum over pixels, so the blocks' values add up to it.

    Parameters
    ----------
    weight : float
        :math:`\gamma`.
    frames : int
        How many earlier frames the graph compares with (the long-term offsets).
    """

    name = "temporal"
    weight_name = "temporal_weight"

    def __init__(self, weight: float, frames: int = 1) -> None:
        if not isinstance(frames, int) or frames < 1:
            raise ValueError(f"frames must be a positive integer, got {frames!r}")
        super().__init__(weight)
        self.frames = frames
        for j in range(frames):
            self.targets[f"omega[{j}]"] = shared_array(4, f"omega[{j}]")
            # (1, 1, H, W): one weight per pixel, broadcast over the channels
            self.targets[f"c[{j}]"] = pytensor.shared(
                np.zeros((1, 1, 1, 1), np.float32),
                name=f"c[{j}]",
                shape=(1, 1, None, None),
            )

    @property
    def spatial(self) -> dict[str, str]:
        return {key: "image" for key in self.targets}

    def value(
        self,
        image: TensorVariable,
        features: Mapping[str, TensorVariable],
        statistics: Mapping[str, Any],
    ) -> tuple[TensorVariable, dict[str, TensorVariable]]:
        losses = [
            pt.sum(
                self.targets[f"c[{j}]"] * pt.sqr(image - self.targets[f"omega[{j}]"])
            )
            for j in range(self.frames)
        ]
        return _sum(losses), {}

    def retarget(self, scene: Scene, context: GraphContext) -> Commit:
        height, width, _ = scene.content.shape
        given = scene.temporal or TemporalTargets()
        if len(given.warped) != len(given.weights):
            raise ValueError(
                f"the temporal targets have {len(given.warped)} warped frames and "
                f"{len(given.weights)} weights; give one weight map per frame"
            )
        if len(given.warped) > self.frames:
            raise ValueError(
                f"this problem compares a frame with {self.frames} earlier frames, "
                f"got {len(given.warped)}; build it with TemporalTerm(frames=...)"
            )
        values: dict[str, np.ndarray] = {}
        scale = 1.0 / (height * width * 3)  # 1/D
        for j in range(self.frames):
            if j < len(given.warped):
                warped = _frame_like(given.warped[j], (height, width, 3), "warped")
                weights = _frame_like(given.weights[j], (height, width), "weights")
                values[f"omega[{j}]"] = context.preprocess(warped)
                values[f"c[{j}]"] = (weights * scale)[None, None].astype(np.float32)
            else:
                values[f"omega[{j}]"] = np.zeros((1, 3, height, width), np.float32)
                values[f"c[{j}]"] = np.zeros((1, 1, height, width), np.float32)
        set_targets = _setter(values, self.targets)
        weight = non_negative_float(given.weight) if scene.temporal else 0.0

        def commit() -> None:
            set_targets()
            self.weight.set_value(np.float32(weight))

        return commit


def _frame_like(value: object, shape: tuple[int, ...], name: str) -> np.ndarray:
    """A temporal target as float32 of ``shape``, finite, or a ValueError."""
    array = np.asarray(value, dtype=np.float32)
    if array.shape != shape:
        raise ValueError(
            f"temporal {name} has shape {array.shape}; the frame needs {shape}"
        )
    if not np.isfinite(array).all():
        raise ValueError(f"temporal {name} holds NaN or infinite values")
    return array


class Window:
    """The inner area of a block, symbolic: one row ``[top, bottom, left, right]``
    of ``crop`` per name of ``layers`` (the first, ``"image"``, in pixels; the
    others in positions of the block's layers; :meth:`naah.blocks.Block.crops`).

    Parameters
    ----------
    crop : TensorVariable of shape (len(layers), 4), int64
    layers : sequence of str
    """

    def __init__(self, crop: TensorVariable, layers: Sequence[str]) -> None:
        self.crop = crop
        self.layers = list(layers)

    def _row(self, name: str) -> TensorVariable:
        return self.crop[self.layers.index(name)]

    def image(self, image: TensorVariable, extra: int = 0) -> TensorVariable:
        """The block's inner pixels, with ``extra`` more rows and columns past its
        bottom and right edges where the block has them."""
        top, bottom, left, right = (self._row("image")[k] for k in range(4))
        return image[:, :, top : bottom + extra, left : right + extra]

    def size(self) -> tuple[TensorVariable, TensorVariable]:
        """Height and width of the inner area, in pixels."""
        row = self._row("image")
        return row[1] - row[0], row[3] - row[2]

    def features(
        self, features: Mapping[str, TensorVariable]
    ) -> dict[str, TensorVariable]:
        """Each layer's features at the inner positions."""
        cropped = {}
        for name, value in features.items():
            top, bottom, left, right = (self._row(name)[k] for k in range(4))
            cropped[name] = value[:, :, top:bottom, left:right]
        return cropped


def terms_for(
    weights: LossWeights,
    region_count: int = 0,
    guide_mode: str = "simple",
    temporal_frames: int = 0,
) -> list[LossTerm]:
    """The terms of Gatys et al.'s loss for ``weights``: content, style (guided with
    regions) and total variation; with ``temporal_frames``, Ruder et al.'s temporal
    term over that many earlier frames (its weight is set per run, 0 here).

    Examples
    --------
    >>> [t.name for t in terms_for(LossWeights())]
    ['content', 'style', 'tv']
    """
    style: LossTerm
    if region_count:
        style = GuidedStyleTerm(
            weights.style_layers, weights.beta, region_count, guide_mode
        )
    else:
        style = StyleTerm(weights.style_layers, weights.beta)
    terms: list[LossTerm] = [
        ContentTerm(weights.content_layers, weights.alpha),
        style,
        TotalVariationTerm(weights.tv_weight),
    ]
    if temporal_frames:
        terms.append(TemporalTerm(0.0, temporal_frames))
    return terms


# -- helpers -------------------------------------------------------------------------
def shared_scalar(value: float, name: str) -> SharedVariable:
    """A float32 shared scalar."""
    return pytensor.shared(np.float32(value), name=name)


def shared_array(ndim: int, name: str) -> TensorSharedVariable:
    """A float32 shared variable of any shape (set later)."""
    return pytensor.shared(
        np.zeros((1,) * ndim, np.float32), name=name, shape=(None,) * ndim
    )


def _setter(
    values: Mapping[str, np.ndarray], variables: Mapping[str, TensorSharedVariable]
) -> Commit:
    def commit() -> None:
        for key, value in values.items():
            variables[key].set_value(value)

    return commit


def _sum(values: Sequence[TensorVariable]) -> TensorVariable:
    return sum(values[1:], values[0]) if values else pt.constant(np.float32(0))


def _weighted(
    per_layer: Mapping[str, TensorVariable], layer_weights: Mapping[str, float]
) -> TensorVariable:
    if not per_layer:
        return pt.constant(np.float32(0))
    return sum(np.float32(w) * per_layer[n] for n, w in layer_weights.items())


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


def region_list(regions: Sequence[Region]) -> list[Region]:
    """``regions`` as a list, once it is a non-empty sequence of Region."""
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


def guide_mode_of(mode: str) -> str:
    """``mode`` once it is one of :data:`naah.regions.GUIDE_MODES`."""
    if mode not in GUIDE_MODES:
        raise ValueError(
            f"guide_mode must be {' or '.join(map(repr, GUIDE_MODES))}, got {mode!r}"
        )
    return mode
