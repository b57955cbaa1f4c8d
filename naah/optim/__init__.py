"""Optimisers over the generated image: L-BFGS-B (scipy, resumable; within a memory
budget too small for its state, naah's float32 L-BFGS), gradient descent, Adam and
momentum, each an entry of the registry :data:`OPTIMIZERS`."""

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
from naah.optim.registry import OPTIMIZERS
from naah.optim.strategy import Optimizer
from naah.optim.updates import adam, momentum, sgd

__all__ = [
    "MAX_ROLLBACKS",
    "METHODS",
    "OPTIMIZERS",
    "DivergenceError",
    "History",
    "IterationRecord",
    "Minimizer",
    "MinimizerState",
    "Optimizer",
    "OptimizerSettings",
    "adam",
    "minimize",
    "momentum",
    "sgd",
]
