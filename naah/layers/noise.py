"""Dropout, with an explicit training switch and a seed."""

from __future__ import annotations

import numpy as np
from pytensor.tensor.random import shared_rng
from pytensor.tensor.variable import TensorVariable

from naah.layers.base import Layer


class Dropout(Layer):
    """Inverted dropout: in training, zero each unit with probability ``p`` and scale
    the rest by ``1 / (1 - p)``; at inference, the identity.

    Parameters
    ----------
    name : str
    p : float
        Drop probability, in [0, 1). The report (Table 1) used 0.5 after relu6
        and relu7.
    seed : int, optional
        Seed of the layer's random generator, for reproducible training.

    Notes
    -----
    Applying the layer with ``training=True`` sets :attr:`updates`, the random
    generator's update; compile with it so that each call draws a new mask.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> drop = Dropout("drop6", p=0.5, seed=0)
    >>> train_out = drop(pt.matrix("x"), training=True)
    >>> test_out = drop(pt.matrix("x"))  # identity
    >>> drop.updates  # pass to pytensor.function(..., updates=...)  # doctest: +ELLIPSIS
    {drop6.rng: ...}
    """

    def __init__(self, name: str, p: float = 0.5, seed: int | None = None) -> None:
        super().__init__(name)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"{name}: dropout probability must be in [0, 1), got {p}")
        self.p = float(p)
        self.rng = shared_rng(seed=seed, name=f"{name}.rng")
        self.updates: dict = {}

    def __call__(self, x: TensorVariable, *, training: bool = False) -> TensorVariable:
        if not training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        # Chain from the last draw, so applying the layer twice gives two masks.
        rng = self.updates.get(self.rng, self.rng)
        next_rng, uniform = rng.uniform(size=x.shape, dtype=x.dtype)
        # The caller compiles with these updates for a new mask on every call.
        self.updates = {self.rng: next_rng}
        mask = uniform < keep
        # A numpy scalar of x's dtype: a Python float could upcast float32 to float64.
        return x * mask * np.asarray(1.0 / keep, dtype=x.dtype)
