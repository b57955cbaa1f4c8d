r"""The losses of Gatys, Ecker & Bethge (2015): pure symbolic functions.

Notation (the paper's, section 2). A layer :math:`l` with :math:`N_l` feature maps
of :math:`M_l` positions each (height times width) stores its response to an image
in a matrix :math:`F^l \in \mathbb{R}^{N_l \times M_l}`, :math:`F^l_{ij}` the
activation of filter :math:`i` at position :math:`j`.

Content
    :math:`P^l` is the content image's response. The content loss is
    :math:`\mathcal{L}_{content} = \tfrac12 \sum_{ij} (F^l_{ij} - P^l_{ij})^2`.
Style
    The Gram matrix :math:`G^l = F^l F^{l\top}` holds the correlations between
    filter responses; :math:`A^l` is the style image's. Each layer contributes
    :math:`E_l = \frac{1}{4 N_l^2 M_l^2} \sum_{ij} (G^l_{ij} - A^l_{ij})^2` and
    :math:`\mathcal{L}_{style} = \sum_l w_l E_l`.
Guided style (Gatys et al. 2017, section 4)
    A region :math:`r` has a guide :math:`T^l_r \in [0, 1]^{M_l}` on the generated
    image at layer :math:`l` (its mask brought to the layer, see
    :mod:`naah.regions`) and one, :math:`S^l_r`, on its style image, whose layer has
    :math:`M^S_l` positions. The guided Gram matrix weighs every position by the
    guide: :math:`G^l_r = (F^l \circ T^l_r)(F^l \circ T^l_r)^\top`, the guide
    repeated over the :math:`N_l` feature maps. The guide enters it squared, so its
    mass is :math:`\mu^l_r = \sum_j (T^l_{r,j})^2` (the number of positions
    inside, for a 0/1 guide). Normalised by its mass and scaled back to the whole
    layer, :math:`\hat G^l_r = (M_l / \mu^l_r)\, G^l_r` is the mean outer product
    over the region times :math:`M_l`, which is what :math:`G^l` is over the whole
    image; the target is the style image's
    :math:`\hat A^l_r = (M^S_l / \mu^{S,l}_r)\,
    (F^l_S \circ S^l_r)(F^l_S \circ S^l_r)^\top`, likewise. (As in the unguided
    loss, the target keeps the style image's own :math:`M^S_l`.) A region's
    contribution to layer :math:`l` is weighed by its area :math:`\mu^l_r / M_l`:

    .. math::

        E_{l,r} = \frac{\mu^l_r}{M_l} \cdot \frac{1}{4 N_l^2 M_l^2}
        \sum_{ij} (\hat G^l_{r,ij} - \hat A^l_{r,ij})^2,
        \qquad
        \mathcal{L}_{style} = \sum_l w_l \sum_r \lambda_r E_{l,r}

    with region weights :math:`\lambda_r`. So a guide of ones (with a style guide
    of ones) gives :math:`\hat G^l = G^l`, :math:`\hat A^l = A^l`, weight 1:
    exactly :math:`E_l`; regions that partition the image give a style loss of the
    size of an unguided one, whatever their areas, and a pixel's gradient does not
    grow as its region shrinks. A guide with no mass left at a layer (eroded away)
    contributes nothing there.
Total
    :math:`\mathcal{L}_{total} = \alpha \mathcal{L}_{content} + \beta
    \mathcal{L}_{style}`, optionally plus a total-variation term.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Mapping, Sequence

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.basic import Variable
from pytensor.tensor.variable import TensorVariable

from naah.ops import gram


def feature_matrix(features: TensorVariable) -> TensorVariable:
    """:math:`F^l` of shape (N_l, M_l) from a (1, N_l, H, W) feature batch."""
    return features[0].reshape(
        (features.shape[1], features.shape[2] * features.shape[3])
    )


def gram_matrix(features: TensorVariable) -> TensorVariable:
    """Gram matrix :math:`G^l = F^l F^{l\\top}` of a (1, N_l, H, W) feature batch.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> G = gram_matrix(pt.tensor4("features", dtype="float32"))
    """
    return gram(feature_matrix(features))


def content_loss(
    features: TensorVariable, target: TensorVariable | np.ndarray
) -> TensorVariable:
    """:math:`\\tfrac12 \\sum (F^l - P^l)^2` for features and target of equal shape."""
    return 0.5 * pt.sum(pt.sqr(features - target))


def positions(features: TensorVariable) -> TensorVariable:
    """:math:`M_l`, the positions of a (1, N_l, H, W) feature batch (an int)."""
    return features.shape[2] * features.shape[3]


def gram_loss(
    gram: TensorVariable,
    target_gram: TensorVariable | np.ndarray,
    channels: TensorVariable | int,
    positions: TensorVariable | int,
) -> TensorVariable:
    r""":math:`E_l = \sum_{ij} ((G_{ij} - A_{ij}) / (2 N_l M_l))^2` from the Gram matrix
    of :math:`N_l` channels over :math:`M_l` positions.

    The difference is scaled before squaring, which is the same value but keeps
    float32 intermediates far from overflow. The guided loss uses the same
    expression, so that a guide of ones gives the unguided value bit for bit.
    """
    scale = pt.cast(1.0 / (2.0 * channels * positions), gram.dtype)
    return pt.sum(pt.sqr((gram - target_gram) * scale))


def style_layer_loss(
    features: TensorVariable, target_gram: TensorVariable | np.ndarray
) -> TensorVariable:
    """:math:`E_l` for a (1, N_l, H, W) feature batch and the target Gram :math:`A^l`."""
    return gram_loss(
        gram_matrix(features), target_gram, features.shape[1], positions(features)
    )


def _as_guide(
    guide: TensorVariable | np.ndarray, features: TensorVariable
) -> TensorVariable:
    """The guide in the features' dtype, so that a float64 guide does not turn a
    float32 graph into float64."""
    return pt.cast(pt.as_tensor_variable(guide), features.dtype)


def guide_mass(guide: TensorVariable) -> TensorVariable:
    r""":math:`\mu^l_r = \sum_j (T^l_{r,j})^2` of an (H, W) guide: the guide enters the
    Gram matrix squared, so this, not the plain sum, is what it weighs."""
    return pt.sum(pt.sqr(guide))


def guided_gram_matrix(
    features: TensorVariable, guide: TensorVariable | np.ndarray
) -> TensorVariable:
    r""":math:`G^l_r = (F^l \circ T^l_r)(F^l \circ T^l_r)^\top`, not normalised.

    Parameters
    ----------
    features : TensorVariable of shape (1, N_l, H, W)
    guide : TensorVariable or ndarray of shape (H, W)
        :math:`T^l_r`, the same at every feature map.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> G = guided_gram_matrix(pt.tensor4("F", dtype="float32"), pt.matrix("T"))
    """
    guide = _as_guide(guide, features)
    return gram(feature_matrix(features * guide[None, None, :, :]))


def normalised_gram(
    guided_gram: TensorVariable,
    mass: TensorVariable,
    positions: TensorVariable | int,
) -> TensorVariable:
    r""":math:`\hat G^l_r = (M_l / \mu^l_r)\, G^l_r`, or 0 where the guide has no mass."""
    # A guide eroded away at this layer has mass 0 and G_r = 0; 0 (not 0 * inf) keeps
    # the loss and its gradient finite there.
    scale = pt.switch(pt.gt(mass, 0), pt.cast(positions, mass.dtype) / mass, 0)
    return guided_gram * pt.cast(scale, guided_gram.dtype)


def normalised_guided_gram(
    features: TensorVariable, guide: TensorVariable | np.ndarray
) -> TensorVariable:
    r""":math:`\hat G^l_r = (M_l / \mu^l_r)\, G^l_r`, or 0 where the guide has no mass.

    The region's mean outer product of features, scaled to the whole layer's
    :math:`M_l` positions (the module docstring defines it); with a guide of ones
    it is :math:`G^l` exactly. It is both the generated image's term and, on the
    style image with its own guide, the target :math:`\hat A^l_r`.
    """
    guide = _as_guide(guide, features)
    return normalised_gram(
        guided_gram_matrix(features, guide), guide_mass(guide), positions(features)
    )


def guided_gram_loss(
    guided_gram: TensorVariable,
    mass: TensorVariable,
    target_gram: TensorVariable | np.ndarray,
    channels: TensorVariable | int,
    positions: TensorVariable | int,
) -> TensorVariable:
    r""":math:`E_{l,r}` from the region's guided Gram matrix :math:`G^l_r` and its
    guide's mass :math:`\mu^l_r` (both sums over positions, so that they can be
    summed over the blocks of an image), before :math:`\lambda_r`."""
    area = pt.cast(mass / pt.cast(positions, mass.dtype), guided_gram.dtype)
    normalised = normalised_gram(guided_gram, mass, positions)
    return area * gram_loss(normalised, target_gram, channels, positions)


def guided_style_layer_loss(
    features: TensorVariable,
    guide: TensorVariable | np.ndarray,
    target_gram: TensorVariable | np.ndarray,
) -> TensorVariable:
    r""":math:`E_{l,r}` of one region at one layer (before :math:`\lambda_r`).

    :math:`(\mu^l_r / M_l) \sum_{ij} ((\hat G^l_r - \hat A^l_r)_{ij} /
    (2 N_l M_l))^2` for a (1, N_l, H, W) feature batch, the region's (H, W) guide
    :math:`T^l_r` and its target :math:`\hat A^l_r` (:func:`normalised_guided_gram`
    of the style image's features and guide).

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> F = pt.tensor4("F", dtype="float32")
    >>> T, A = pt.matrix("T", dtype="float32"), pt.matrix("A", dtype="float32")
    >>> E = guided_style_layer_loss(F, T, A)
    """
    guide = _as_guide(guide, features)
    return guided_gram_loss(
        guided_gram_matrix(features, guide),
        guide_mass(guide),
        target_gram,
        features.shape[1],
        positions(features),
    )


def style_loss(
    features: Mapping[str, TensorVariable],
    target_grams: Mapping[str, TensorVariable | np.ndarray],
    layer_weights: Mapping[str, float],
) -> tuple[TensorVariable, dict[str, TensorVariable]]:
    """:math:`\\sum_l w_l E_l` and the per-layer :math:`E_l`.

    Returns
    -------
    (total, per_layer) : (TensorVariable, dict of str to TensorVariable)
    """
    per_layer = {
        name: style_layer_loss(features[name], target_grams[name])
        for name in layer_weights
    }
    total = sum(np.float32(w) * per_layer[name] for name, w in layer_weights.items())
    return total, per_layer


def guided_style_loss(
    features: Mapping[str, TensorVariable],
    guides: Mapping[str, Sequence[TensorVariable | np.ndarray]],
    target_grams: Mapping[str, Sequence[TensorVariable | np.ndarray]],
    layer_weights: Mapping[str, float],
    region_weights: Sequence[Variable | float],
) -> tuple[TensorVariable, dict[str, TensorVariable]]:
    r""":math:`\sum_l w_l \sum_r \lambda_r E_{l,r}` and each layer's
    :math:`\sum_r \lambda_r E_{l,r}`.

    Parameters
    ----------
    features : mapping of layer name to TensorVariable of shape (1, N_l, H, W)
    guides : mapping of layer name to a sequence of (H, W) guides
        :math:`T^l_r`, one per region, in the order of ``region_weights``.
    target_grams : mapping of layer name to a sequence of (N_l, N_l) targets
        :math:`\hat A^l_r`, one per region.
    layer_weights : mapping of layer name to float
        :math:`w_l` of the layers that count.
    region_weights : sequence of float or scalar TensorVariable
        :math:`\lambda_r` (shared variables change them without recompiling).

    Returns
    -------
    (total, per_layer) : (TensorVariable, dict of str to TensorVariable)
    """
    per_layer = {}
    for name in layer_weights:
        if not len(guides[name]) == len(target_grams[name]) == len(region_weights):
            raise ValueError(
                f"{name}: {len(guides[name])} guides and {len(target_grams[name])} "
                f"targets for {len(region_weights)} regions; give one of each per region"
            )
        terms = [
            guided_style_layer_loss(features[name], guide, target) * weight
            for weight, guide, target in zip(
                region_weights, guides[name], target_grams[name], strict=True
            )
        ]
        per_layer[name] = functools.reduce(operator.add, terms)
    total = sum(np.float32(w) * per_layer[name] for name, w in layer_weights.items())
    return total, per_layer


def total_variation(image: TensorVariable) -> TensorVariable:
    """Sum of squared differences between vertical and horizontal neighbours of an
    NCHW image batch; penalises high-frequency noise."""
    vertical = image[:, :, 1:, :] - image[:, :, :-1, :]
    horizontal = image[:, :, :, 1:] - image[:, :, :, :-1]
    return pt.sum(pt.sqr(vertical)) + pt.sum(pt.sqr(horizontal))
