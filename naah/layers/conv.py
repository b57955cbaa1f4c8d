"""Convolution layer: naah's Conv2d Op with its bias, and an optional activation."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from pytensor.tensor.variable import TensorVariable

from naah.layers.activation import resolve_activation
from naah.layers.base import Layer
from naah.ops import IntOrInts
from naah.ops.conv import Conv2d, conv2d


class ConvLayer(Layer):
    """2-d cross-correlation with learned kernels and biases.

    Parameters
    ----------
    name : str
    kernel : ndarray of shape (out, in, height, width)
        OIHW kernels for cross-correlation (no flip), as MatConvNet stores them
        after ``W.transpose(3, 2, 0, 1)``.
    bias : ndarray of shape (out,)
    pad : int, (int, int) or (top, bottom, left, right)
    stride : int or (int, int)
    activation : None, 'relu' or callable
        Applied after the bias. VGG_19 keeps ReLU as separate layers instead, so
        that pre-activation outputs stay reachable.

    Examples
    --------
    >>> import numpy as np, pytensor.tensor as pt
    >>> layer = ConvLayer("conv1_1", np.zeros((8, 3, 3, 3)), np.zeros(8), pad=1)
    >>> layer.params["W"].name
    'conv1_1.W'
    >>> y = layer(pt.tensor4("x", dtype="float32"))  # parameters are float32
    """

    def __init__(
        self,
        name: str,
        kernel: np.ndarray,
        bias: np.ndarray,
        *,
        pad: IntOrInts = 0,
        stride: IntOrInts = 1,
        activation: str | Callable | None = None,
    ) -> None:
        super().__init__(name)
        kernel, bias = np.asarray(kernel), np.asarray(bias)
        if kernel.ndim != 4 or bias.shape != (kernel.shape[0],):
            raise ValueError(
                f"{name}: kernel must be (out, in, height, width) and bias (out,), got "
                f"kernel {kernel.shape} and bias {bias.shape}"
            )
        self.W = self.add_param("W", kernel)
        self.b = self.add_param("b", bias)
        # The Op checks and normalises the geometry and sizes the output: one rule
        # for layer and Op.
        self._op = Conv2d(pad, stride)
        self.pad, self.stride = self._op.pad, self._op.stride
        self.activation = resolve_activation(activation)

    @property
    def kernel_shape(self) -> tuple[int, int, int, int]:
        return tuple(self.W.get_value(borrow=True).shape)

    def __call__(self, x: TensorVariable, *, training: bool = False) -> TensorVariable:
        return self.activation(conv2d(x, self.W, self.pad, self.stride, bias=self.b))

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return self._op.output_shape(input_shape, self.kernel_shape)
