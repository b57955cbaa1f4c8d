"""Fully connected layer."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from pytensor.tensor.variable import TensorVariable

from naah.layers.activation import resolve_activation
from naah.layers.base import Layer
from naah.ops.linalg import matmul


class FCLayer(Layer):
    """Fully connected layer ``y = activation(flatten(x) @ W + b)``.

    Parameters
    ----------
    name : str
    weights : ndarray of shape (in, out)
    bias : ndarray of shape (out,)
    activation : None, 'relu' or callable

    Examples
    --------
    >>> import numpy as np, pytensor.tensor as pt
    >>> fc = FCLayer("fc8", np.zeros((16, 10)), np.zeros(10))
    >>> y = fc(pt.matrix("x", dtype="float32"))  # parameters are float32
    """

    def __init__(
        self,
        name: str,
        weights: np.ndarray,
        bias: np.ndarray,
        *,
        activation: str | Callable | None = None,
    ) -> None:
        super().__init__(name)
        weights, bias = np.asarray(weights), np.asarray(bias)
        if weights.ndim != 2 or bias.shape != (weights.shape[1],):
            raise ValueError(
                f"{name}: weights must be (in, out) and bias (out,), got weights "
                f"{weights.shape} and bias {bias.shape}"
            )
        self.W = self.add_param("W", weights)
        self.b = self.add_param("b", bias)
        self.activation = resolve_activation(activation)

    @classmethod
    def from_conv(
        cls,
        name: str,
        kernel: np.ndarray,
        bias: np.ndarray,
        *,
        activation: str | Callable | None = None,
    ) -> FCLayer:
        """The dense view of a convolution whose kernel covers its whole input.

        MatConvNet stores VGG's fc6 as a 7x7 convolution over pool5's 512 maps: with
        a 224x224 image the two are the same map. Inputs are flattened in NCHW
        order, so the (out, in, h, w) kernel becomes an (in*h*w, out) matrix.
        """
        kernel = np.asarray(kernel)
        weights = kernel.reshape(kernel.shape[0], -1).T
        return cls(name, weights, bias, activation=activation)

    def __call__(self, x: TensorVariable, *, training: bool = False) -> TensorVariable:
        flat = x.flatten(2) if x.ndim > 2 else x
        return self.activation(matmul(flat, self.W) + self.b)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (input_shape[0], self.W.get_value(borrow=True).shape[1])
