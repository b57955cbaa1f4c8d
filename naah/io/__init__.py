"""Reading naah's input files: pretrained VGG-19 weights."""

from naah.io.weights import (
    ConvParams,
    VGGWeights,
    WeightsError,
    WeightsSource,
    load_weights,
)

__all__ = [
    "ConvParams",
    "VGGWeights",
    "WeightsError",
    "WeightsSource",
    "load_weights",
]
