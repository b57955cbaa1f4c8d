"""2-d max and average pooling Ops and their gradient.

Output size follows MatConvNet's ``vl_nnpool`` by default (floor:
``H_out = (H + top + bottom - KH) // stride + 1``, so an odd row or column left over
is dropped); ``ceil_mode=True`` follows Caffe instead (a last, partial window covers
the remainder). Padding never wins a max and is left out of an average's divisor.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import grad_not_implemented
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.tensor.type import TensorType

from naah.ops import kernels, threads
from naah.ops._common import as_batch, node_and_shapes, padding, pair

POOL_MODES = ("max", "avg")


class _PoolOp(Op):
    __props__ = ("mode", "window", "stride", "pad", "ceil_mode")

    def __init__(self, mode="max", window=2, stride=None, pad=0, ceil_mode=False):
        if mode not in POOL_MODES:
            raise ValueError(f"pooling mode must be 'max' or 'avg', got {mode!r}")
        self.mode = mode
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
    def settings(self):
        return (self.mode == "max", self.window, self.stride, self.pad, self.ceil_mode)

    def output_size(self, height, width):
        kh, kw = self.window
        sh, sw = self.stride
        pt_, pb, pl, pr = self.pad
        return (
            kernels.pool_output_size(height, kh, sh, pt_, pb, self.ceil_mode),
            kernels.pool_output_size(width, kw, sw, pl, pr, self.ceil_mode),
        )


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

    def make_node(self, x):
        x = as_batch(x, "input")
        h, w = x.type.shape[2:]
        static = (None, None) if h is None or w is None else self.output_size(h, w)
        if static[0] is not None and min(static) < 1:
            raise ValueError(
                f"input of spatial size {h}x{w} is smaller than the pooling window "
                f"{self.window}; use a larger image"
            )
        out = TensorType(x.type.dtype, shape=(*x.type.shape[:2], *static))()
        return Apply(self, [x], [out])

    def perform(self, node, inputs, output_storage):
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

    def infer_shape(self, *args):
        _, (x_shape,) = node_and_shapes(args)
        kh, kw = self.window
        sh, sw = self.stride
        pt_, pb, pl, pr = self.pad
        return [
            (
                x_shape[0],
                x_shape[1],
                self._symbolic_size(x_shape[2], kh, sh, pt_, pb),
                self._symbolic_size(x_shape[3], kw, sw, pl, pr),
            )
        ]

    def _symbolic_size(self, size, window, stride, before, after):
        """:func:`kernels.pool_output_size` for a symbolic input length."""
        span = size + before + after - window
        if not self.ceil_mode:
            return span // stride + 1
        out = -((-span) // stride) + 1
        return out - pt.ge((out - 1) * stride, size + before).astype("int64")

    def pullback(self, inputs, outputs, cotangents):
        (x,) = inputs
        (gz,) = cotangents
        return [
            Pool2dGrad(self.mode, self.window, self.stride, self.pad, self.ceil_mode)(
                x, gz
            )
        ]


class Pool2dGrad(_PoolOp):
    """Gradient of :class:`Pool2d` with respect to its input, from (x, output gradient)."""

    def make_node(self, x, gz):
        x, gz = as_batch(x, "input"), as_batch(gz, "output gradient")
        return Apply(self, [x, gz], [x.type()])

    def perform(self, node, inputs, output_storage):
        x, gz = (np.ascontiguousarray(a) for a in inputs)
        gx = np.empty_like(x)
        threads.run(
            lambda first, last: kernels.pool2d_grad_planes(
                x, gz, gx, *self.settings, first, last
            ),
            x.shape[0] * x.shape[1],
        )
        output_storage[0][0] = gx

    def infer_shape(self, *args):
        _, (x_shape, _) = node_and_shapes(args)
        return [x_shape]

    def pullback(self, inputs, outputs, cotangents):
        return [grad_not_implemented(self, i, v) for i, v in enumerate(inputs)]


def pool2d(x, mode="max", window=2, stride=None, pad=0, ceil_mode=False):
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
    >>> import numpy as np, pytensor, pytensor.tensor as pt
    >>> x = pt.tensor4("x")
    >>> f = pytensor.function([x], pool2d(x, "max", window=2))
    >>> f(np.arange(16.0).reshape(1, 1, 4, 4))[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    return Pool2d(mode, window, stride, pad, ceil_mode)(x)
