"""2-d max and average pooling Ops, their gradient and its gradient.

Output size follows MatConvNet's ``vl_nnpool`` by default (floor:
``H_out = (H + top + bottom - KH) // stride + 1``, so an odd row or column left over
is dropped); ``ceil_mode=True`` follows Caffe instead (a last, partial window covers
the remainder). Padding never wins a max and is left out of an average's divisor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.basic import Apply, Variable
from pytensor.graph.op import Op, OutputStorageType
from pytensor.tensor import TensorLike
from pytensor.tensor.type import TensorType
from pytensor.tensor.variable import TensorVariable

from naah._lazy import lazy_import
from naah.ops._common import (
    IntOrInts,
    Shape,
    as_batch,
    node_and_shapes,
    padding,
    pair,
)
from naah.ops.geometry import Length, output_size

kernels = lazy_import("naah.ops.kernels")
threads = lazy_import("naah.ops.threads")

# Max, as VGG was trained, or average, which Gatys et al. (2015), section 2, found
# gives slightly more appealing images.
POOL_MODES = ("max", "avg")


def check_pool_mode(mode: str) -> str:
    """``mode`` if it is one of :data:`POOL_MODES`; the one check of a pooling mode.

    Raises
    ------
    ValueError
        For any other value, naming the valid ones.

    Examples
    --------
    >>> check_pool_mode("avg")
    'avg'
    >>> check_pool_mode("min")
    Traceback (most recent call last):
    ...
    ValueError: pooling must be 'max' or 'avg', got 'min'
    """
    if mode not in POOL_MODES:
        modes = " or ".join(repr(m) for m in POOL_MODES)
        raise ValueError(f"pooling must be {modes}, got {mode!r}")
    return mode


class _PoolOp(Op):
    __props__ = ("mode", "window", "stride", "pad", "ceil_mode")

    def __init__(
        self,
        mode: str = "max",
        window: IntOrInts = 2,
        stride: IntOrInts | None = None,
        pad: IntOrInts = 0,
        ceil_mode: bool = False,
    ) -> None:
        self.mode = check_pool_mode(mode)
        self.window = pair(window, "window")
        self.stride = self.window if stride is None else pair(stride, "stride")
        self.pad = padding(pad)
        if max(self.pad[:2]) >= self.window[0] or max(self.pad[2:]) >= self.window[1]:
            raise ValueError(
                f"padding {self.pad} must be smaller than the window {self.window}, "
                "or some windows would see only padding"
            )
        self.ceil_mode = bool(ceil_mode)

    @property
    def settings(
        self,
    ) -> tuple[bool, tuple[int, int], tuple[int, int], tuple[int, int, int, int], bool]:
        return (self.mode == "max", self.window, self.stride, self.pad, self.ceil_mode)

    def output_size(self, height: Length, width: Length) -> tuple[Length, Length]:
        """(H_out, W_out) of an H x W input, as ints or as symbolic lengths
        (:func:`~naah.ops.output_size`)."""
        kh, kw = self.window
        sh, sw = self.stride
        pt_, pb, pl, pr = self.pad
        return (
            output_size(height, kh, sh, pt_, pb, self.ceil_mode),
            output_size(width, kw, sw, pl, pr, self.ceil_mode),
        )

    def pooled_type(self, x: TensorVariable) -> TensorType:
        """Type of the pooled ``x``, static sizes included where ``x``'s are known."""
        h, w = x.type.shape[2:]
        static = (None, None) if h is None or w is None else self.output_size(h, w)
        if static[0] is not None and min(static) < 1:
            raise ValueError(
                f"input of spatial size {h}x{w} is smaller than the pooling window "
                f"{self.window}; use a larger image"
            )
        return TensorType(x.type.dtype, shape=(*x.type.shape[:2], *static))

    def pooled_shape(self, x_shape: Shape) -> Shape:
        """Symbolic (N, C, H_out, W_out) for the symbolic input shape ``x_shape``."""
        return (x_shape[0], x_shape[1], *self.output_size(x_shape[2], x_shape[3]))


class Pool2d(_PoolOp):
    """Max or average pooling over the last two axes of an NCHW batch.

    Parameters
    ----------
    mode : {'max', 'avg'}
    window : int or (int, int)
    stride : int or (int, int), optional
        Defaults to the window (non-overlapping windows).
    pad : int, (int, int) or (top, bottom, left, right)
    ceil_mode : bool
        False (default) sizes the output as MatConvNet does, True as Caffe does.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> y = Pool2d("max", window=2)(pt.tensor4("x"))
    """

    # Named inputs; PyTensor types Op.make_node as (*inputs).
    def make_node(self, x: TensorLike) -> Apply:  # type: ignore[override]
        x = as_batch(x, "input")
        return Apply(self, [x], [self.pooled_type(x)()])

    def perform(
        self,
        node: Apply,
        inputs: Sequence[np.ndarray],
        output_storage: OutputStorageType,
    ) -> None:
        x = np.ascontiguousarray(inputs[0])
        h, w = x.shape[2:]
        if min(self.output_size(h, w)) < 1:
            raise ValueError(
                f"input of spatial size {h}x{w} is smaller than the pooling window "
                f"{self.window}; use a larger image"
            )
        out = np.empty(kernels.pool_output_shape(x.shape, *self.settings[1:]), x.dtype)
        threads.run(
            lambda first, last: kernels.pool2d_forward_planes(
                x, out, *self.settings, first, last
            ),
            x.shape[0] * x.shape[1],
        )
        output_storage[0][0] = out

    def infer_shape(self, *args: Any) -> list[Shape]:
        _, (x_shape,) = node_and_shapes(args)
        return [self.pooled_shape(x_shape)]

    def pullback(
        self,
        inputs: Sequence[Variable],
        outputs: Sequence[Variable],
        cotangents: Sequence[Variable],
    ) -> list[Variable]:
        (x,) = inputs
        (gz,) = cotangents
        pool_grad = Pool2dGrad(
            self.mode, self.window, self.stride, self.pad, self.ceil_mode
        )
        return [cast(Variable, pool_grad(x, gz))]


class Pool2dGrad(_PoolOp):
    """Gradient of :class:`Pool2d` with respect to its input, from (x, output gradient).

    Max pooling sends each window's gradient to its first maximum in row-major
    order, average pooling shares it over the window's in-bounds pixels. Linear in
    the output gradient; in ``x`` it is piecewise constant (max) or constant (avg),
    so its gradient there is zero.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> x, gz = pt.tensor4("x"), pt.tensor4("gz")
    >>> gx = Pool2dGrad("max", window=2)(x, gz)
    """

    # Named inputs; PyTensor types Op.make_node as (*inputs).
    def make_node(self, x: TensorLike, gz: TensorLike) -> Apply:  # type: ignore[override]
        x, gz = as_batch(x, "input"), as_batch(gz, "output gradient")
        return Apply(self, [x, gz], [x.type()])

    def perform(
        self,
        node: Apply,
        inputs: Sequence[np.ndarray],
        output_storage: OutputStorageType,
    ) -> None:
        x, gz = (np.ascontiguousarray(a) for a in inputs)
        gx = np.empty_like(x)
        threads.run(
            lambda first, last: kernels.pool2d_grad_planes(
                x, gz, gx, *self.settings, first, last
            ),
            x.shape[0] * x.shape[1],
        )
        output_storage[0][0] = gx

    def infer_shape(self, *args: Any) -> list[Shape]:
        _, (x_shape, _) = node_and_shapes(args)
        return [x_shape]

    def pullback(
        self,
        inputs: Sequence[Variable],
        outputs: Sequence[Variable],
        cotangents: Sequence[Variable],
    ) -> list[Variable]:
        x, _ = inputs
        (cot,) = cotangents
        settings = (self.window, self.stride, self.pad, self.ceil_mode)
        if self.mode == "max":
            grad_gz = cast(Variable, MaxPool2dGradGrad(*settings)(x, cot))
        else:
            # The transpose of spreading each gradient evenly over its window is
            # averaging over the same window: the average pooling itself.
            grad_gz = cast(Variable, Pool2d("avg", *settings)(cot))
        # x decides only which pixel wins (max) or nothing but the shape (avg): it
        # is connected, and its gradient is zero wherever it exists. Theano's
        # max-pool gradients did the same.
        return [pt.zeros_like(x), grad_gz]


class MaxPool2dGradGrad(_PoolOp):
    """Gradient of max :class:`Pool2dGrad` with respect to its output gradient.

    From ``x`` and a tensor ``gx`` shaped like it, each output pixel is ``gx`` at
    the first maximum (row-major) of ``x`` in its window: the pixel
    :class:`Pool2dGrad` sends that window's gradient to. It is Theano's
    ``DownsampleFactorMaxGradGrad``, and what second derivatives through max
    pooling need. The output has the pooled shape.

    Parameters
    ----------
    window, stride, pad, ceil_mode
        As :class:`Pool2d`'s; the mode is always ``'max'``.

    Examples
    --------
    >>> import numpy as np, pytensor.tensor as pt
    >>> x = pt.as_tensor(np.array([[[[0.0, 5.0], [5.0, 1.0]]]]))
    >>> gx = pt.as_tensor(np.arange(4.0).reshape(1, 1, 2, 2))
    >>> MaxPool2dGradGrad(window=2)(x, gx).eval(mode="FAST_COMPILE")  # gx at 5.0
    array([[[[1.]]]])
    """

    def __init__(
        self,
        window: IntOrInts = 2,
        stride: IntOrInts | None = None,
        pad: IntOrInts = 0,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__("max", window, stride, pad, ceil_mode)

    # Named inputs; PyTensor types Op.make_node as (*inputs).
    def make_node(self, x: TensorLike, gx: TensorLike) -> Apply:  # type: ignore[override]
        x, gx = as_batch(x, "input"), as_batch(gx, "input gradient")
        if x.type.dtype != gx.type.dtype:
            raise TypeError(
                f"input is {x.type.dtype} but input gradient is {gx.type.dtype}"
            )
        return Apply(self, [x, gx], [self.pooled_type(x)()])

    def perform(
        self,
        node: Apply,
        inputs: Sequence[np.ndarray],
        output_storage: OutputStorageType,
    ) -> None:
        x, gx = (np.ascontiguousarray(a) for a in inputs)
        if x.shape != gx.shape:
            raise ValueError(
                f"input gradient has shape {gx.shape} but the input {x.shape}"
            )
        _, window, stride, pad, ceil_mode = self.settings
        shape = kernels.pool_output_shape(x.shape, window, stride, pad, ceil_mode)
        out = np.empty(shape, x.dtype)
        threads.run(
            lambda first, last: kernels.max_pool2d_grad_grad_planes(
                x, gx, out, window, stride, pad, first, last
            ),
            x.shape[0] * x.shape[1],
        )
        output_storage[0][0] = out

    def infer_shape(self, *args: Any) -> list[Shape]:
        _, (x_shape, _) = node_and_shapes(args)
        return [self.pooled_shape(x_shape)]

    def pullback(
        self,
        inputs: Sequence[Variable],
        outputs: Sequence[Variable],
        cotangents: Sequence[Variable],
    ) -> list[Variable]:
        x, _ = inputs
        (cot,) = cotangents
        # Linear in gx with Pool2dGrad as its transpose; piecewise constant in x.
        settings = (self.window, self.stride, self.pad, self.ceil_mode)
        grad_gx = cast(Variable, Pool2dGrad("max", *settings)(x, cot))
        return [pt.zeros_like(x), grad_gx]


def pool2d(
    x: TensorLike,
    mode: str = "max",
    window: IntOrInts = 2,
    stride: IntOrInts | None = None,
    pad: IntOrInts = 0,
    ceil_mode: bool = False,
) -> TensorVariable:
    """Pool an NCHW batch over its last two axes.

    Parameters
    ----------
    x : TensorVariable of shape (N, C, H, W)
    mode : {'max', 'avg'}
    window : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``window``.
    pad : int, (int, int) or (top, bottom, left, right)
    ceil_mode : bool
        Output size as MatConvNet (False, default) or Caffe (True).

    Returns
    -------
    TensorVariable of shape (N, C, H_out, W_out)

    Examples
    --------
    >>> import numpy as np, pytensor.tensor as pt
    >>> from naah.compile import function  # the mode naah compiles with
    >>> x = pt.tensor4("x")
    >>> f = function([x], pool2d(x, "max", window=2))
    >>> f(np.arange(16.0).reshape(1, 1, 4, 4))[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    return cast(TensorVariable, Pool2d(mode, window, stride, pad, ceil_mode)(x))
