"""The rectified linear unit as an Op whose work is split over naah's threads.

``pt.maximum(x, 0)`` compiles to PyTensor's elementwise C loop, which runs on one
thread; on VGG-19's activations (64 MB each at 512x512) the ReLUs and their
gradients were a tenth of an evaluation. :class:`Relu` and :class:`ReluGrad` do the
same arithmetic in Numba, each worker thread (:mod:`naah.ops.threads`) taking a
contiguous share of the elements.

The gradient passes where the output is positive, as MatConvNet's ``vl_nnrelu``
(``dzdx = dzdy .* (x > 0)``): at exactly 0 it is 0, where ``pt.maximum``'s
gradient would pass it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.basic import Apply, Variable
from pytensor.graph.op import Op, OutputStorageType
from pytensor.tensor import TensorLike
from pytensor.tensor.variable import TensorVariable

from naah._lazy import lazy_import
from naah.ops._common import Shape, node_and_shapes

kernels = lazy_import("naah.ops.kernels")
threads = lazy_import("naah.ops.threads")


def _float_tensor(x: TensorLike, name: str) -> TensorVariable:
    x = pt.as_tensor_variable(x)
    if x.type.dtype not in ("float32", "float64"):
        raise TypeError(f"{name} must be float32 or float64, got {x.type.dtype}")
    return x


class Relu(Op):
    """``max(x, 0)`` of a float tensor of any shape.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> y = Relu()(pt.tensor4("x"))
    """

    __props__ = ()

    # Named inputs; PyTensor types Op.make_node as (*inputs).
    def make_node(self, x: TensorLike) -> Apply:  # type: ignore[override]
        x = _float_tensor(x, "ReLU input")
        return Apply(self, [x], [x.type()])

    def perform(
        self,
        node: Apply,
        inputs: Sequence[np.ndarray],
        output_storage: OutputStorageType,
    ) -> None:
        x = np.ascontiguousarray(inputs[0])
        out = np.empty_like(x)
        flat_x, flat_out = x.reshape(-1), out.reshape(-1)
        threads.run(lambda a, b: kernels.relu(flat_x, flat_out, a, b), x.size)
        output_storage[0][0] = out

    def infer_shape(self, *args: Any) -> list[Shape]:
        _, (shape,) = node_and_shapes(args)
        return [shape]

    def pullback(
        self,
        inputs: Sequence[Variable],
        outputs: Sequence[Variable],
        cotangents: Sequence[Variable],
    ) -> list[Variable]:
        return [cast(Variable, ReluGrad()(outputs[0], cotangents[0]))]


class ReluGrad(Op):
    """Gradient of :class:`Relu` from its output ``y`` and the output gradient.

    ``gz`` passes where ``y > 0``. Linear in ``gz``; in ``y`` it is piecewise
    constant, so its own gradient there is zero (almost everywhere).

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> y, gz = pt.matrix("y"), pt.matrix("gz")
    >>> gx = ReluGrad()(y, gz)
    """

    __props__ = ()

    # Named inputs; PyTensor types Op.make_node as (*inputs).
    def make_node(self, y: TensorLike, gz: TensorLike) -> Apply:  # type: ignore[override]
        y, gz = _float_tensor(y, "ReLU output"), _float_tensor(gz, "output gradient")
        if y.type.ndim != gz.type.ndim:
            raise TypeError(f"ranks differ: {y.type} and {gz.type}")
        return Apply(self, [y, gz], [gz.type()])

    def perform(
        self,
        node: Apply,
        inputs: Sequence[np.ndarray],
        output_storage: OutputStorageType,
    ) -> None:
        y, gz = (np.ascontiguousarray(a) for a in inputs)
        if y.shape != gz.shape:
            raise ValueError(f"shapes differ: {y.shape} and {gz.shape}")
        out = np.empty_like(gz)
        flats = y.reshape(-1), gz.reshape(-1), out.reshape(-1)
        threads.run(lambda a, b: kernels.relu_grad(*flats, a, b), y.size)
        output_storage[0][0] = out

    def infer_shape(self, *args: Any) -> list[Shape]:
        _, (_, gz_shape) = node_and_shapes(args)
        return [gz_shape]

    def pullback(
        self,
        inputs: Sequence[Variable],
        outputs: Sequence[Variable],
        cotangents: Sequence[Variable],
    ) -> list[Variable]:
        y, _ = inputs
        (cot,) = cotangents
        # The mask y > 0 is the same for the cotangent. It changes only where y
        # crosses 0, so y's own gradient is zero: connected (it matters), but 0.
        return [pt.zeros_like(y), cast(Variable, ReluGrad()(y, cot))]


def relu(x: TensorLike) -> TensorVariable:
    """Symbolic ``max(x, 0)``, computed on naah's worker threads.

    Examples
    --------
    >>> import numpy as np, pytensor.tensor as pt
    >>> from naah.compile import function  # the mode naah compiles with
    >>> x = pt.vector("x")
    >>> function([x], relu(x))(np.array([-1.0, 0.0, 2.0]))
    array([0., 0., 2.])
    """
    return cast(TensorVariable, Relu()(x))
