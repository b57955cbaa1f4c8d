"""Optimisers over the generated image: L-BFGS-B (scipy, resumable), gradient descent and Adam."""

from naah.optim.history import History, IterationRecord
from naah.optim.minimize import (
    MAX_ROLLBACKS,
    METHODS,
    DivergenceError,
    Minimizer,
    MinimizerState,
    OptimizerSettings,
    minimize,
)
from naah.optim.updates import adam, momentum, sgd

__all__ = [
    "MAX_ROLLBACKS",
    "METHODS",
    "DivergenceError",
    "History",
    "IterationRecord",
    "Minimizer",
    "MinimizerState",
    "OptimizerSettings",
    "adam",
    "minimize",
    "momentum",
    "sgd",
]
