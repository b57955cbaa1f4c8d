"""Numba implementations of naah's Ops, for PyTensor's Numba linker.

PyTensor 3 compiles with Numba by default; an Op without a registration here would
run its ``perform`` in Numba's object mode (slow to compile, memory hungry, and a
warning). The kernels in :mod:`naah.ops.kernels` are already Numba functions, so each
registration is a thin jitted call with the Op's settings baked in.
"""

from __future__ import annotations

from typing import cast

import numpy as np
from pytensor.link.numba.dispatch.basic import (
    numba_njit,
    register_funcify_default_op_cache_key,
)

from naah.ops import blas, geometry, kernels, padding, winograd
from naah.ops._common import source_version
from naah.ops.activation import Relu, ReluGrad
from naah.ops.conv import Conv2d, Conv2dGradInput, Conv2dGradKernel
from naah.ops.linalg import Gram, MatMul
from naah.ops.pool import MaxPool2dGradGrad, Pool2d, Pool2dGrad

# Every module whose Python functions the kernels compile, geometry's output_size
# included: their source salts PyTensor's Numba cache key, so editing or upgrading
# them never reuses stale machine code.
KERNEL_MODULES = (kernels, winograd, padding, blas, geometry)
KERNELS_VERSION = source_version(*(cast(str, m.__file__) for m in KERNEL_MODULES))


@register_funcify_default_op_cache_key(Conv2d)
def _numba_conv2d(op, node=None, **kwargs):
    pt_, pb, pl, pr, sh, sw = op.geometry
    forward = kernels.conv2d_forward
    add_bias = kernels.add_bias_planes

    @numba_njit
    def conv2d(x, w):
        return forward(x, w, pt_, pb, pl, pr, sh, sw)

    @numba_njit
    def conv2d_bias(x, w, b):
        out = forward(x, w, pt_, pb, pl, pr, sh, sw)
        add_bias(out, b, 0, out.shape[0] * out.shape[1])
        return out

    with_bias = node is not None and len(node.inputs) == 3
    # The cache key must tell the two apart: the Op's props are the same.
    return (
        (conv2d_bias, KERNELS_VERSION + 1) if with_bias else (conv2d, KERNELS_VERSION)
    )


@register_funcify_default_op_cache_key(Conv2dGradInput)
def _numba_conv2d_grad_input(op, node=None, **kwargs):
    pt_, pb, pl, pr, sh, sw = op.geometry
    grad_input = kernels.conv2d_grad_input

    @numba_njit
    def conv2d_grad_input(gz, w, size):
        return grad_input(gz, w, size[0], size[1], pt_, pb, pl, pr, sh, sw)

    return conv2d_grad_input, KERNELS_VERSION


@register_funcify_default_op_cache_key(Conv2dGradKernel)
def _numba_conv2d_grad_kernel(op, node=None, **kwargs):
    pt_, pb, pl, pr, sh, sw = op.geometry
    grad_kernel = kernels.conv2d_grad_kernel

    @numba_njit
    def conv2d_grad_kernel(x, gz, size):
        return grad_kernel(x, gz, size[0], size[1], pt_, pb, pl, pr, sh, sw)

    return conv2d_grad_kernel, KERNELS_VERSION


@register_funcify_default_op_cache_key(Pool2d)
def _numba_pool2d(op, node=None, **kwargs):
    is_max, window, stride, pad, ceil_mode = op.settings
    forward = kernels.pool2d_forward

    @numba_njit
    def pool2d(x):
        return forward(x, is_max, window, stride, pad, ceil_mode)

    return pool2d, KERNELS_VERSION


@register_funcify_default_op_cache_key(Pool2dGrad)
def _numba_pool2d_grad(op, node=None, **kwargs):
    is_max, window, stride, pad, ceil_mode = op.settings
    grad = kernels.pool2d_grad

    @numba_njit
    def pool2d_grad(x, gz):
        return grad(x, gz, is_max, window, stride, pad, ceil_mode)

    return pool2d_grad, KERNELS_VERSION


@register_funcify_default_op_cache_key(MaxPool2dGradGrad)
def _numba_max_pool2d_grad_grad(op, node=None, **kwargs):
    _, window, stride, pad, ceil_mode = op.settings
    grad_grad = kernels.max_pool2d_grad_grad

    @numba_njit
    def max_pool2d_grad_grad(x, gx):
        return grad_grad(x, gx, window, stride, pad, ceil_mode)

    return max_pool2d_grad_grad, KERNELS_VERSION


@register_funcify_default_op_cache_key(Relu)
def _numba_relu(op, node=None, **kwargs):
    relu = kernels.relu

    @numba_njit
    def relu_(x):
        x = np.ascontiguousarray(x)
        out = np.empty_like(x)
        relu(x.reshape(x.size), out.reshape(x.size), 0, x.size)
        return out

    return relu_, KERNELS_VERSION


@register_funcify_default_op_cache_key(ReluGrad)
def _numba_relu_grad(op, node=None, **kwargs):
    relu_grad = kernels.relu_grad

    @numba_njit
    def relu_grad_(y, gz):
        y, gz = np.ascontiguousarray(y), np.ascontiguousarray(gz)
        out = np.empty_like(gz)
        relu_grad(y.reshape(y.size), gz.reshape(y.size), out.reshape(y.size), 0, y.size)
        return out

    return relu_grad_, KERNELS_VERSION


@register_funcify_default_op_cache_key(MatMul)
def _numba_matmul(op, node=None, **kwargs):
    matmul = kernels.matmul

    @numba_njit
    def matmul_(a, b):
        return matmul(a, b)

    return matmul_, KERNELS_VERSION


@register_funcify_default_op_cache_key(Gram)
def _numba_gram(op, node=None, **kwargs):
    gram = kernels.gram

    @numba_njit
    def gram_(f):
        return gram(np.ascontiguousarray(f))

    return gram_, KERNELS_VERSION
