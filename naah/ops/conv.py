"""2-d convolution (cross-correlation) Ops and their gradients.

``Conv2d(pad, stride)(x, w[, b])`` correlates an (N, C, H, W) batch with (O, C, KH, KW)
kernels: ``out[n, o, i, j] = sum_{c,p,q} x_pad[n, c, i*sh + p, j*sw + q] * w[o, c, p, q]``
(``+ b[o]`` with a bias). No kernel flip, as MatConvNet's ``vl_nnconv`` and Caffe.
The activation is a separate graph node.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import disconnected_type
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


class _ConvOp(Op):
    """Shared properties of the convolution Op and its two gradient Ops."""

    __props__ = ("pad", "stride")

    def __init__(self, pad: IntOrInts = 0, stride: IntOrInts = 1) -> None:
        self.pad = padding(pad)
        self.stride = pair(stride, "stride")

    @property
    def geometry(self) -> tuple[int, int, int, int, int, int]:
        return (*self.pad, *self.stride)


class Conv2d(_ConvOp):
    """Cross-correlation of an NCHW batch with OIHW kernels.

    Parameters
    ----------
    pad : int, (int, int) or (int, int, int, int)
        Zero padding: all sides, (vertical, horizontal) or MatConvNet's
        (top, bottom, left, right).
    stride : int or (int, int)
        Step between windows, (vertical, horizontal).

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> x, w = pt.tensor4("x"), pt.tensor4("w")
    >>> y = Conv2d(pad=1)(x, w)  # 3x3 kernels keep the spatial size
    """

    # Named inputs; PyTensor types Op.make_node as (*inputs).
    def make_node(  # type: ignore[override]
        self, x: TensorLike, w: TensorLike, b: TensorLike | None = None
    ) -> Apply:
        x, w = as_batch(x, "input"), as_batch(w, "kernel")
        _same_dtype(x, w, "input", "kernel")
        inputs = [x, w]
        if b is not None:
            b = pt.as_tensor_variable(b)
            if b.type.ndim != 1:
                raise TypeError(f"bias must be a vector (one per kernel), got {b.type}")
            _same_dtype(x, b, "input", "bias")
            inputs.append(b)
        pt_, pb, pl, pr = self.pad
        sh, sw = self.stride
        (h, wd), (kh, kw) = x.type.shape[2:], w.type.shape[2:]
        # Each spatial length is static where its input and kernel lengths are.
        shape = (
            x.type.shape[0],
            w.type.shape[0],
            None if h is None or kh is None else output_size(h, kh, sh, pt_, pb),
            None if wd is None or kw is None else output_size(wd, kw, sw, pl, pr),
        )
        if any(size is not None and size < 1 for size in shape[2:]):
            raise ValueError(
                f"the {kh}x{kw} kernel does not fit the input of static shape "
                f"{x.type.shape} with padding {self.pad}"
            )
        out = TensorType(x.type.dtype, shape=shape)()
        return Apply(self, inputs, [out])

    def perform(
        self,
        node: Apply,
        inputs: Sequence[np.ndarray],
        output_storage: OutputStorageType,
    ) -> None:
        x, w, *bias = (np.ascontiguousarray(a) for a in inputs)
        self._check_shapes(x, w, *bias)
        output_storage[0][0] = threads.conv2d_forward(x, w, *self.geometry, *bias)

    def _check_shapes(
        self, x: np.ndarray, w: np.ndarray, bias: np.ndarray | None = None
    ) -> None:
        if bias is not None and bias.shape != (w.shape[0],):
            raise ValueError(
                f"bias has shape {bias.shape} but there are {w.shape[0]} kernels "
                f"(kernel shape {w.shape}); give one bias per kernel"
            )
        if x.shape[1] != w.shape[1]:
            raise ValueError(
                f"input has {x.shape[1]} channels but the kernels expect {w.shape[1]} "
                f"(input shape {x.shape}, kernel shape {w.shape})"
            )
        top, bottom, left, right = self.pad
        padded = (x.shape[2] + top + bottom, x.shape[3] + left + right)
        if padded[0] < w.shape[2] or padded[1] < w.shape[3]:
            raise ValueError(
                f"the {w.shape[2]}x{w.shape[3]} kernel does not fit the input, "
                f"{padded[0]}x{padded[1]} after padding; use a larger input or more padding"
            )

    def output_shape(
        self, x_shape: Sequence[Length], w_shape: Sequence[Length]
    ) -> tuple[Length, Length, Length, Length]:
        """(N, O, H_out, W_out) for an (N, C, H, W) input and (O, C, KH, KW)
        kernels, as ints or as symbolic lengths (:func:`~naah.ops.output_size`).

        Examples
        --------
        >>> Conv2d(pad=1, stride=2).output_shape((1, 3, 224, 224), (64, 3, 3, 3))
        (1, 64, 112, 112)
        """
        pt_, pb, pl, pr = self.pad
        sh, sw = self.stride
        return (
            x_shape[0],
            w_shape[0],
            output_size(x_shape[2], w_shape[2], sh, pt_, pb),
            output_size(x_shape[3], w_shape[3], sw, pl, pr),
        )

    def infer_shape(self, *args: Any) -> list[Shape]:
        _, (x_shape, w_shape, *_) = node_and_shapes(args)
        return [self.output_shape(x_shape, w_shape)]

    def pullback(
        self,
        inputs: Sequence[Variable],
        outputs: Sequence[Variable],
        cotangents: Sequence[Variable],
    ) -> list[Variable]:
        x, w, *bias = cast(Sequence[TensorVariable], inputs)
        (gz,) = cast(Sequence[TensorVariable], cotangents)
        grad_input = Conv2dGradInput(self.pad, self.stride)(gz, w, x.shape[2:])
        grad_kernel = Conv2dGradKernel(self.pad, self.stride)(x, gz, w.shape[2:])
        grad_bias = [gz.sum(axis=(0, 2, 3))] if bias else []
        return [grad_input, grad_kernel, *grad_bias]


class Conv2dGradInput(_ConvOp):
    """Gradient of :class:`Conv2d` with respect to its input.

    Inputs are the output gradient (N, O, H_out, W_out), the kernels and the input's
    spatial size (H, W), which a strided convolution does not determine. The result
    is bilinear in the output gradient and the kernels, and differentiable in both.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> gz, w = pt.tensor4("gz"), pt.tensor4("w")
    >>> gx = Conv2dGradInput(pad=1, stride=2)(gz, w, (9, 11))
    """

    # Named inputs; PyTensor types Op.make_node as (*inputs).
    def make_node(  # type: ignore[override]
        self, gz: TensorLike, w: TensorLike, input_size: TensorLike
    ) -> Apply:
        gz, w = as_batch(gz, "output gradient"), as_batch(w, "kernel")
        _same_dtype(gz, w, "output gradient", "kernel")
        input_size = pt.as_tensor_variable(input_size, dtype="int64")
        out = TensorType(
            gz.type.dtype, shape=(gz.type.shape[0], w.type.shape[1], None, None)
        )()
        return Apply(self, [gz, w, input_size], [out])

    def perform(
        self,
        node: Apply,
        inputs: Sequence[np.ndarray],
        output_storage: OutputStorageType,
    ) -> None:
        gz, w, (height, width) = inputs
        gz, w = np.ascontiguousarray(gz), np.ascontiguousarray(w)
        output_storage[0][0] = threads.conv2d_grad_input(
            gz, w, int(height), int(width), *self.geometry
        )

    def infer_shape(self, *args: Any) -> list[Shape]:
        node, (gz_shape, w_shape, _) = node_and_shapes(args)
        size = cast(TensorVariable, node.inputs[2])
        return [(gz_shape[0], w_shape[1], size[0], size[1])]

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        # The size only shapes the output: no gradient flows to it.
        return [[True], [True], [False]]

    def pullback(
        self,
        inputs: Sequence[Variable],
        outputs: Sequence[Variable],
        cotangents: Sequence[Variable],
    ) -> list[Variable]:
        # The output is A_w^T gz, where A_w x = Conv2d(x, w) on inputs of this
        # size. For a cotangent c of the input's shape, <c, A_w^T gz> =
        # <Conv2d(c, w), gz>: linear in gz through Conv2d (whose output has gz's
        # shape, since c has the input size gz came from), in w through the kernel
        # gradient of that convolution.
        gz, w, _ = cast(Sequence[TensorVariable], inputs)
        (cot,) = cotangents
        return [
            cast(Variable, Conv2d(self.pad, self.stride)(cot, w)),
            cast(
                Variable, Conv2dGradKernel(self.pad, self.stride)(cot, gz, w.shape[2:])
            ),
            disconnected_type(),
        ]


class Conv2dGradKernel(_ConvOp):
    """Gradient of :class:`Conv2d` with respect to its kernels.

    Inputs are the forward input, the output gradient and the kernel size (KH, KW),
    which a strided convolution does not determine either. The result is bilinear
    in the input and the output gradient, and differentiable in both.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> x, gz = pt.tensor4("x"), pt.tensor4("gz")
    >>> gw = Conv2dGradKernel(pad=1)(x, gz, (3, 3))
    """

    # Named inputs; PyTensor types Op.make_node as (*inputs).
    def make_node(  # type: ignore[override]
        self, x: TensorLike, gz: TensorLike, kernel_size: TensorLike
    ) -> Apply:
        x, gz = as_batch(x, "input"), as_batch(gz, "output gradient")
        _same_dtype(x, gz, "input", "output gradient")
        kernel_size = pt.as_tensor_variable(kernel_size, dtype="int64")
        out = TensorType(
            x.type.dtype, shape=(gz.type.shape[1], x.type.shape[1], None, None)
        )()
        return Apply(self, [x, gz, kernel_size], [out])

    def perform(
        self,
        node: Apply,
        inputs: Sequence[np.ndarray],
        output_storage: OutputStorageType,
    ) -> None:
        x, gz, (kh, kw) = inputs
        x, gz = np.ascontiguousarray(x), np.ascontiguousarray(gz)
        output_storage[0][0] = threads.conv2d_grad_kernel(
            x, gz, int(kh), int(kw), *self.geometry
        )

    def infer_shape(self, *args: Any) -> list[Shape]:
        node, (x_shape, gz_shape, _) = node_and_shapes(args)
        size = cast(TensorVariable, node.inputs[2])
        return [(gz_shape[1], x_shape[1], size[0], size[1])]

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        # The size only shapes the output: no gradient flows to it.
        return [[True], [True], [False]]

    def pullback(
        self,
        inputs: Sequence[Variable],
        outputs: Sequence[Variable],
        cotangents: Sequence[Variable],
    ) -> list[Variable]:
        # The output gw satisfies <gw, c> = <Conv2d(x, c), gz> for any c of the
        # kernels' shape: linear in x through the input gradient of that
        # convolution, in gz through Conv2d(x, c).
        x, gz, _ = cast(Sequence[TensorVariable], inputs)
        (cot,) = cotangents
        return [
            cast(
                Variable, Conv2dGradInput(self.pad, self.stride)(gz, cot, x.shape[2:])
            ),
            cast(Variable, Conv2d(self.pad, self.stride)(x, cot)),
            disconnected_type(),
        ]


def _same_dtype(a: TensorVariable, b: TensorVariable, a_role: str, b_role: str) -> None:
    if a.type.dtype != b.type.dtype:
        raise TypeError(
            f"{a_role} is {a.type.dtype} but {b_role} is {b.type.dtype}; cast one so "
            "both have the same dtype"
        )


def conv2d(
    x: TensorLike,
    w: TensorLike,
    pad: IntOrInts = 0,
    stride: IntOrInts = 1,
    bias: TensorLike | None = None,
) -> TensorVariable:
    """Cross-correlate an NCHW batch with OIHW kernels (no flip).

    Parameters
    ----------
    x : TensorVariable of shape (N, C, H, W)
    w : TensorVariable of shape (O, C, KH, KW)
    pad : int, (int, int) or (top, bottom, left, right)
    stride : int or (int, int)
    bias : TensorVariable of shape (O,), optional
        Added to each output channel; inside the convolution, it saves a pass over
        the output.

    Returns
    -------
    TensorVariable of shape (N, O, H_out, W_out), where
    ``H_out = (H + top + bottom - KH) // stride_h + 1`` and likewise for W.

    Examples
    --------
    >>> import numpy as np, pytensor.tensor as pt
    >>> from naah.compile import function  # the mode naah compiles with
    >>> x = pt.tensor4("x")
    >>> f = function([x], conv2d(x, np.ones((1, 1, 3, 3)), pad=1))
    >>> f(np.ones((1, 1, 4, 4)))[0, 0, 0]
    array([4., 6., 6., 4.])
    """
    if bias is None:
        return cast(TensorVariable, Conv2d(pad, stride)(x, w))
    return cast(TensorVariable, Conv2d(pad, stride)(x, w, bias))
