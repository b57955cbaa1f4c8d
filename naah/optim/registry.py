"""Every optimiser by name: the one place that lists them.

An optimiser is an :class:`~naah.optim.strategy.Optimizer` (start, iterate, roll
back, save, restore); adding one is adding its entry here. The first-order methods
share :class:`~naah.optim.first_order.FirstOrder` and differ in their update rule
(:mod:`naah.optim.updates`) and the settings it takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from naah.optim.first_order import FirstOrder
from naah.optim.lbfgs import LBFGS
from naah.optim.strategy import Optimizer
from naah.optim.updates import adam, momentum, sgd

#: Optimiser name -> the object that runs it. Read-only: an optimiser is added here,
#: in the source, so that METHODS and every list of choices made from it show it.
OPTIMIZERS: Mapping[str, Optimizer[Any]] = MappingProxyType(
    {
        "lbfgs": LBFGS(),
        "adam": FirstOrder(adam, ("beta1", "beta2", "epsilon")),
        "gd": FirstOrder(sgd),
        "momentum": FirstOrder(momentum, ("momentum",)),
    }
)
#: The names of :data:`OPTIMIZERS`, L-BFGS (the default) first.
METHODS = tuple(OPTIMIZERS)
