"""naah's own PyTensor Ops: convolution, pooling, ReLU and Gram matrices with
their gradients.

PyTensor no longer ships ``conv2d`` or pooling; these are naah's, with a numpy/BLAS
``perform`` for the C VM linker and registrations for the Numba linker (imported
here so that any PyTensor mode finds them).
"""

from naah.ops import numba_backend as _numba_backend  # noqa: F401  (registers kernels)
from naah.ops.activation import Relu, ReluGrad, relu
from naah.ops.conv import Conv2d, Conv2dGradInput, Conv2dGradKernel, conv2d
from naah.ops.linalg import Gram, MatMul, gram, matmul
from naah.ops.pool import Pool2d, Pool2dGrad, pool2d

__all__ = [
    "Conv2d",
    "Conv2dGradInput",
    "Conv2dGradKernel",
    "Gram",
    "MatMul",
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
