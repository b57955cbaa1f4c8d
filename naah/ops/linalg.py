"""Matrix-product Ops for Gram matrices, on the same BLAS as the convolutions.

``pt.dot`` would run through numpy's bundled OpenBLAS while naah's convolution
kernels run through scipy's (Numba links ``np.dot`` to it); alternating between two
BLAS thread pools inside one evaluation is slow. These Ops keep every product of a
style-transfer evaluation on scipy's BLAS.
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
from naah.ops._common import Shape, node_and_shapes

kernels = lazy_import("naah.ops.kernels")
threads = lazy_import("naah.ops.threads")


def _product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` with its rows shared between naah's worker threads (one share, on
    BLAS's threads, outside :func:`threads.parallel`)."""
    out = np.empty((a.shape[0], b.shape[1]), np.result_type(a, b))
    threads.run(
        lambda first, last: kernels.product_rows(a, b, first, last, out), len(a)
    )
    return out


def _as_matrix(x: TensorLike, name: str) -> TensorVariable:
    x = pt.as_tensor_variable(x)
    if x.type.ndim != 2 or x.type.dtype not in ("float32", "float64"):
        raise TypeError(f"{name} must be a float32/float64 matrix, got {x.type}")
    return x


class MatMul(Op):
    """Matrix product ``a @ b`` of two float matrices of the same dtype."""

    __props__ = ()

    # Named inputs; PyTensor types Op.make_node as (*inputs).
    def make_node(self, a: TensorLike, b: TensorLike) -> Apply:  # type: ignore[override]
        a, b = _as_matrix(a, "a"), _as_matrix(b, "b")
        if a.type.dtype != b.type.dtype:
            raise TypeError(f"dtypes differ: {a.type.dtype} and {b.type.dtype}")
        out = TensorType(a.type.dtype, shape=(a.type.shape[0], b.type.shape[1]))()
        return Apply(self, [a, b], [out])

    def perform(
        self,
        node: Apply,
        inputs: Sequence[np.ndarray],
        output_storage: OutputStorageType,
    ) -> None:
        a, b = inputs
        if a.shape[1] != b.shape[0]:
            raise ValueError(
                f"cannot multiply matrices of shapes {a.shape} and {b.shape}"
            )
        output_storage[0][0] = _product(
            np.ascontiguousarray(a), np.ascontiguousarray(b)
        )

    def infer_shape(self, *args: Any) -> list[Shape]:
        _, (a_shape, b_shape) = node_and_shapes(args)
        return [(a_shape[0], b_shape[1])]

    def pullback(
        self,
        inputs: Sequence[Variable],
        outputs: Sequence[Variable],
        cotangents: Sequence[Variable],
    ) -> list[Variable]:
        a, b = cast(Sequence[TensorVariable], inputs)
        (g,) = cotangents
        return [matmul(g, b.T), matmul(a.T, g)]


class Gram(Op):
    """Gram matrix ``G = F Fᵀ`` of an (N, M) float matrix F (rows are feature maps)."""

    __props__ = ()

    # Named inputs; PyTensor types Op.make_node as (*inputs).
    def make_node(self, f: TensorLike) -> Apply:  # type: ignore[override]
        f = _as_matrix(f, "F")
        out = TensorType(f.type.dtype, shape=(f.type.shape[0], f.type.shape[0]))()
        return Apply(self, [f], [out])

    def perform(
        self,
        node: Apply,
        inputs: Sequence[np.ndarray],
        output_storage: OutputStorageType,
    ) -> None:
        f = np.ascontiguousarray(inputs[0])
        output_storage[0][0] = _product(f, f.T)

    def infer_shape(self, *args: Any) -> list[Shape]:
        _, ((n, _),) = node_and_shapes(args)
        return [(n, n)]

    def pullback(
        self,
        inputs: Sequence[Variable],
        outputs: Sequence[Variable],
        cotangents: Sequence[Variable],
    ) -> list[Variable]:
        (f,) = inputs
        (g,) = cast(Sequence[TensorVariable], cotangents)
        return [matmul(g + g.T, f)]


def matmul(a: TensorLike, b: TensorLike) -> TensorVariable:
    """Symbolic ``a @ b`` for float matrices, on scipy's BLAS.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> c = matmul(pt.matrix("a"), pt.matrix("b"))
    """
    return cast(TensorVariable, MatMul()(a, b))


def gram(f: TensorLike) -> TensorVariable:
    """Symbolic Gram matrix ``F Fᵀ`` of an (N, M) matrix.

    Examples
    --------
    >>> import numpy as np, pytensor.tensor as pt
    >>> from naah.compile import function  # the mode naah compiles with
    >>> f = pt.matrix("F")
    >>> function([f], gram(f))(np.eye(2) * 3)
    array([[9., 0.],
           [0., 9.]])
    """
    return cast(TensorVariable, Gram()(f))
