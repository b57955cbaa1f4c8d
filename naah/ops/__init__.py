"""naah's own PyTensor Ops: convolution, pooling, ReLU and Gram matrices with
their gradients.

PyTensor no longer ships ``conv2d`` or pooling; these are naah's, with a numpy/BLAS
``perform`` for the C VM linker and registrations for the Numba linker in
:mod:`naah.ops.numba_backend`. Importing PyTensor's Numba dispatch costs about a
second, so naah imports it only when :func:`naah.compile.get_mode` is asked for the
``"numba"`` backend; to compile naah's Ops with ``pytensor.function(...,
mode="NUMBA")`` directly, ``import naah.ops.numba_backend`` first.
"""

from naah.ops._common import IntOrInts
from naah.ops.activation import Relu, ReluGrad, relu
from naah.ops.conv import Conv2d, Conv2dGradInput, Conv2dGradKernel, conv2d
from naah.ops.linalg import Gram, MatMul, gram, matmul
from naah.ops.pool import MaxPool2dGradGrad, Pool2d, Pool2dGrad, pool2d

__all__ = [
    "Conv2d",
    "Conv2dGradInput",
    "Conv2dGradKernel",
    "Gram",
    "IntOrInts",
    "MatMul",
    "MaxPool2dGradGrad",
    "Pool2d",
    "Pool2dGrad",
    "Relu",
    "ReluGrad",
    "conv2d",
    "gram",
    "matmul",
    "pool2d",
    "relu",
]
