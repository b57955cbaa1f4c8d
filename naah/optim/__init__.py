"""Optimisers over the generated image: L-BFGS (scipy), gradient descent and Adam."""

from naah.optim.history import History, IterationRecord
from naah.optim.minimize import METHODS, OptimizerSettings, minimize
from naah.optim.updates import adam, momentum, sgd

__all__ = [
    "METHODS",
    "History",
    "IterationRecord",
    "OptimizerSettings",
    "adam",
    "minimize",
    "momentum",
    "sgd",
]
