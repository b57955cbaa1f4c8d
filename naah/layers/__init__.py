"""Layers: hold parameters, build symbolic output when applied to an input."""

from naah.layers.activation import ReLU, Softmax, relu
from naah.layers.base import Layer
from naah.layers.conv import ConvLayer
from naah.layers.dense import FCLayer
from naah.layers.noise import Dropout
from naah.layers.pool import PoolLayer

__all__ = [
    "ConvLayer",
    "Dropout",
    "FCLayer",
    "Layer",
    "PoolLayer",
    "ReLU",
    "Softmax",
    "relu",
]
