"""Gradient descent, Adam and momentum as dictionaries of symbolic updates
(Lasagne's design).

Each function takes a loss gradient and the shared variables it belongs to and
returns ``{shared: new_value}``, ready for ``pytensor.function(updates=...)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.graph.basic import Variable
from pytensor.tensor.sharedvar import TensorSharedVariable
from pytensor.tensor.variable import TensorVariable

# A number, or a symbolic scalar such as a shared learning rate.
Scalar = float | Variable
# ``{shared variable: its new value}``, for ``pytensor.function(updates=...)``.
Updates = dict[Variable, Variable]


def _as_constant(value: Scalar, like: TensorVariable) -> TensorVariable:
    """A number as a constant of ``like``'s dtype; a symbolic value (a shared
    learning rate, say) cast to it."""
    if isinstance(value, pytensor.graph.basic.Variable):
        return pt.cast(value, like.dtype)
    return pt.constant(np.asarray(value, dtype=like.dtype))


def sgd(
    grads: Sequence[Variable],
    params: Sequence[TensorSharedVariable],
    learning_rate: Scalar,
) -> Updates:
    """Plain gradient descent: ``p ← p − η ∇p``.

    ``learning_rate`` is a number or a symbolic scalar (a shared variable lets one
    compiled step serve any rate).

    Examples
    --------
    >>> import numpy as np, pytensor
    >>> p = pytensor.shared(np.float32(1.0))
    >>> updates = sgd([2 * p], [p], learning_rate=0.1)
    """
    return {
        p: p - _as_constant(learning_rate, p) * g
        for p, g in zip(params, grads, strict=True)
    }


def adam(
    grads: Sequence[Variable],
    params: Sequence[TensorSharedVariable],
    learning_rate: Scalar = 1.0,
    beta1: float = 0.9,
    beta2: float = 0.999,
    epsilon: float = 1e-8,
) -> Updates:
    """Adam (Kingma & Ba 2015), with bias-corrected moment estimates.

    ``m ← β1 m + (1−β1) g``, ``v ← β2 v + (1−β2) g²``,
    ``p ← p − η √(1−β2^t)/(1−β1^t) · m / (√v + ε)``.

    The default learning rate of 1.0 suits pixel values in 0–255 (an update moves a
    pixel by about one grey level). It may be a symbolic scalar, as in :func:`sgd`.

    Examples
    --------
    >>> import numpy as np, pytensor
    >>> p = pytensor.shared(np.zeros(3, dtype="float32"))
    >>> updates = adam([p - 1], [p], learning_rate=0.1)
    """
    step = pytensor.shared(np.float32(0), name="adam.t")
    t = step + 1
    fix = pt.sqrt(1 - np.float32(beta2) ** t) / (1 - np.float32(beta1) ** t)
    updates: Updates = {step: t}
    for p, g in zip(params, grads, strict=True):
        value = p.get_value(borrow=True)
        m = pytensor.shared(np.zeros_like(value), name=f"{p.name}.adam_m")
        v = pytensor.shared(np.zeros_like(value), name=f"{p.name}.adam_v")
        m_new = _as_constant(beta1, p) * m + _as_constant(1 - beta1, p) * g
        v_new = _as_constant(beta2, p) * v + _as_constant(1 - beta2, p) * pt.sqr(g)
        lr = pt.cast(_as_constant(learning_rate, p) * fix, p.dtype)
        updates[m] = m_new
        updates[v] = v_new
        updates[p] = p - lr * m_new / (pt.sqrt(v_new) + _as_constant(epsilon, p))
    return updates


def momentum(
    grads: Sequence[Variable],
    params: Sequence[TensorSharedVariable],
    learning_rate: Scalar = 0.01,
    momentum: float = 0.9,
) -> Updates:
    """Stochastic gradient descent with (heavy-ball) momentum.

    ``v ← μ v − η ∇p``, ``p ← p + v``, with one velocity ``v`` per parameter,
    starting at zero. The report trained VGG-19 (its Figure 3) this way, as
    Simonyan & Zisserman did (μ = 0.9).

    Examples
    --------
    >>> import numpy as np, pytensor
    >>> p = pytensor.shared(np.ones(2, dtype="float32"), name="p")
    >>> updates = momentum([2 * p], [p], learning_rate=0.1, momentum=0.9)
    >>> len(updates)  # the parameter and its velocity
    2
    """
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    updates: Updates = {}
    for p, g in zip(params, grads, strict=True):
        value = p.get_value(borrow=True)
        velocity = pytensor.shared(np.zeros_like(value), name=f"{p.name}.velocity")
        v_new = (
            _as_constant(momentum, p) * velocity - _as_constant(learning_rate, p) * g
        )
        updates[velocity] = v_new
        updates[p] = p + v_new
    return updates
