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
Total
    :math:`\mathcal{L}_{total} = \alpha \mathcal{L}_{content} + \beta
    \mathcal{L}_{style}`, optionally plus a total-variation term.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pytensor.tensor as pt
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


def style_layer_loss(
    features: TensorVariable, target_gram: TensorVariable | np.ndarray
) -> TensorVariable:
    """:math:`E_l` for a (1, N_l, H, W) feature batch and the target Gram :math:`A^l`.

    The difference is scaled by :math:`1 / (2 N_l M_l)` before squaring, which is
    the same value but keeps float32 intermediates far from overflow.
    """
    n_l = features.shape[1]
    m_l = features.shape[2] * features.shape[3]
    scale = pt.cast(1.0 / (2.0 * n_l * m_l), features.dtype)
    return pt.sum(pt.sqr((gram_matrix(features) - target_gram) * scale))


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


def total_variation(image: TensorVariable) -> TensorVariable:
    """Sum of squared differences between vertical and horizontal neighbours of an
    NCHW image batch; penalises high-frequency noise."""
    vertical = image[:, :, 1:, :] - image[:, :, :-1, :]
    horizontal = image[:, :, :, 1:] - image[:, :, :, :-1]
    return pt.sum(pt.sqr(vertical)) + pt.sum(pt.sqr(horizontal))
