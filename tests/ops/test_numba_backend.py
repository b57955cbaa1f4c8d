"""Tests for naah.ops.numba_backend: every backend computes the same values.

The C VM linker runs the Ops' ``perform``; PyTensor's Numba linker (its default mode)
runs the registrations. Both call the same Numba kernels, so results agree to
rounding, and neither may fall back to object mode (which warns).
"""

import warnings
from pathlib import Path

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from numba.core.dispatcher import Dispatcher
from pytensor.compile.mode import Mode
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import numba_funcify
from pytensor.link.numba.linker import NumbaLinker

from naah.ops import (
    Conv2d,
    Conv2dGradInput,
    Conv2dGradKernel,
    Gram,
    MatMul,
    MaxPool2dGradGrad,
    Pool2d,
    Pool2dGrad,
    Relu,
    ReluGrad,
    conv2d,
    geometry,
    gram,
    matmul,
    numba_backend,  # registers naah's Ops for mode="NUMBA"
    pool2d,
    relu,
)

CVM = Mode(linker="cvm", optimizer="fast_run")
TOLERANCE = {"float32": {"rtol": 2e-5, "atol": 1e-6}, "float64": {"rtol": 1e-12}}
OPS = [
    Conv2d,
    Conv2dGradInput,
    Conv2dGradKernel,
    Pool2d,
    Pool2dGrad,
    MaxPool2dGradGrad,
    Relu,
    ReluGrad,
    Gram,
    MatMul,
]


@pytest.mark.parametrize("op_class", OPS)
def test_every_op_has_a_numba_registration(op_class):
    assert numba_funcify.dispatch(op_class) is not numba_funcify.dispatch(Op)


def test_the_cache_key_counts_the_source_of_every_function_the_kernels_compile():
    # A kernel compiled from a module left out of KERNELS_VERSION would keep its
    # stale machine code in PyTensor's cache after that module changed.
    salted = {Path(module.__file__) for module in numba_backend.KERNEL_MODULES}
    assert Path(geometry.__file__) in salted  # output_size, compiled by the kernels
    for module in numba_backend.KERNEL_MODULES:
        for name, value in vars(module).items():
            if isinstance(value, Dispatcher):
                source = Path(value.py_func.__code__.co_filename)
                assert source in salted, f"{module.__name__}.{name} from {source}"


def test_pytensor_default_mode_uses_the_numba_linker():
    # So the NUMBA-mode tests below also cover PyTensor's default mode.
    x = pt.tensor4("x")
    assert isinstance(pytensor.function([x], 2 * x).maker.linker, NumbaLinker)


def small_network(dtype):
    """Every naah Op and its gradient in one graph: conv + ReLU + max pool (ties
    at ReLU's zeros) + strided conv with bias + avg pool, a Gram matrix and a
    matrix product, the cost and its gradient."""
    x = pt.tensor4("x", dtype=dtype)
    w1 = pt.tensor4("w1", dtype=dtype)
    w2 = pt.tensor4("w2", dtype=dtype)
    b2 = pt.vector("b2", dtype=dtype)
    h = relu(conv2d(x, w1, pad=1))
    h = pool2d(h, "max", 2, ceil_mode=True)
    h = conv2d(h, w2, pad=(1, 0, 2, 1), stride=(2, 1), bias=b2)
    h = pool2d(h, "avg", 3, stride=2, pad=1)
    features = h.reshape((h.shape[0] * h.shape[1], -1))
    cost = (h**2).sum() + gram(features).sum() + matmul(features.T, features).sum()
    wrt = [x, w1, w2, b2]
    return wrt, [cost, *pytensor.grad(cost, wrt)]


def network_values(dtype):
    rng = np.random.default_rng(0)
    shapes = [(2, 3, 13, 11), (4, 3, 3, 3), (5, 4, 3, 2), (5,)]
    return [rng.standard_normal(shape).astype(dtype) for shape in shapes]


def compile_network(mode, dtype):
    """:func:`small_network` compiled in ``mode``, and the warnings raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inputs, outputs = small_network(dtype)
        f = pytensor.function(inputs, outputs, mode=mode)
    return f, [str(w.message) for w in caught]


@pytest.fixture(scope="module")
def numba_network():
    """Compiled once: cold, PyTensor's Numba linker takes minutes for it."""
    return compile_network("NUMBA", "float32")


# float32 only: naah runs in float32, and each dtype is minutes of cold Numba
# compilation. The registrations are dtype-agnostic; float64 kernels are covered by
# the C VM test below and tests/ops/test_conv.py, test_pool.py.
@pytest.mark.slow
def test_numba_and_cvm_agree_on_a_network_of_every_op_and_its_gradient(
    numba_network,
):
    f, caught = numba_network
    assert caught == []  # no object-mode fallback
    values = f(*network_values("float32"))
    expected = pytensor.function(*small_network("float32"), mode=CVM)(
        *network_values("float32")
    )
    for value, reference in zip(values, expected, strict=True):
        assert value.dtype == "float32"
        np.testing.assert_allclose(value, reference, **TOLERANCE["float32"])


@pytest.mark.slow
def test_numba_channel_mismatch_names_the_channels(numba_network):
    f, _ = numba_network
    _, w1, w2, b2 = network_values("float32")
    with pytest.raises(ValueError, match="channels"):
        f(np.zeros((2, 4, 13, 11), "float32"), w1, w2, b2)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_cvm_mode_compiles_and_runs_without_warnings(dtype):
    f, caught = compile_network(CVM, dtype)
    f(*network_values(dtype))
    assert caught == []


@pytest.mark.slow
def test_numba_max_pooling_picks_the_first_maximum_and_refuses_small_inputs():
    x = pt.tensor4("x", dtype="float32")
    pooled = pool2d(x, "max", 2)
    f = pytensor.function([x], [pooled, pytensor.grad(pooled.sum(), x)], mode="NUMBA")
    tie = np.array([[[[0.0, 5.0], [5.0, 1.0]]]], dtype="float32")
    np.testing.assert_array_equal(f(tie)[1][0, 0], [[0, 1], [0, 0]])
    with pytest.raises(ValueError, match="smaller than the pooling window"):
        f(np.zeros((1, 1, 1, 1), dtype="float32"))
