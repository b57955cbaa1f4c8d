"""Pooling layer."""

from __future__ import annotations

from pytensor.tensor.variable import TensorVariable

from naah.layers.base import Layer
from naah.ops import IntOrInts
from naah.ops.pool import Pool2d, pool2d


class PoolLayer(Layer):
    """Max or average pooling over the spatial axes.

    Parameters
    ----------
    name : str
    mode : {'max', 'avg'}
        Gatys et al. found average pooling gives slightly more appealing results;
        VGG-19 was trained with max pooling.
    window, stride, pad, ceil_mode
        As :func:`naah.ops.pool2d`: output size follows MatConvNet (floor) unless
        ``ceil_mode`` (Caffe).

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> y = PoolLayer("pool1", "avg")(pt.tensor4("x"))
    """

    def __init__(
        self,
        name: str,
        mode: str = "max",
        window: IntOrInts = 2,
        stride: IntOrInts | None = None,
        pad: IntOrInts = 0,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__(name)
        try:
            self._op = Pool2d(mode, window, stride, pad, ceil_mode)
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from None
        self.mode = mode

    def __call__(self, x: TensorVariable, *, training: bool = False) -> TensorVariable:
        op = self._op
        return pool2d(x, op.mode, op.window, op.stride, op.pad, op.ceil_mode)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        n, c, h, w = input_shape
        return (n, c, *self._op.output_size(h, w))
