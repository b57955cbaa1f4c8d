"""Tests for naah.ops.numba_backend: every backend computes the same values.

The C VM linker runs the Ops' ``perform``; PyTensor's Numba linker (its default mode)
runs the registrations. Both call the same Numba kernels, so results agree to
rounding, and neither may fall back to object mode (which warns).
"""

import warnings

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import numba_funcify
from pytensor.link.numba.linker import NumbaLinker

import naah.ops.numba_backend  # noqa: F401  (registers naah's Ops for mode="NUMBA")
from naah.ops import (
    Conv2d,
    Conv2dGradInput,
    Conv2dGradKernel,
    MaxPool2dGradGrad,
    Pool2d,
    Pool2dGrad,
    conv2d,
    pool2d,
)

MODES = {
    "cvm": Mode(linker="cvm", optimizer="fast_run"),
    "numba": "NUMBA",
    "default": None,
}
TOLERANCE = {"float32": {"rtol": 2e-5, "atol": 1e-6}, "float64": {"rtol": 1e-12}}


@pytest.mark.parametrize(
    "op_class",
    [Conv2d, Conv2dGradInput, Conv2dGradKernel, Pool2d, Pool2dGrad, MaxPool2dGradGrad],
)
def test_every_op_has_a_numba_registration(op_class):
    assert numba_funcify.dispatch(op_class) is not numba_funcify.dispatch(Op)


def test_pytensor_default_mode_uses_the_numba_linker():
    x = pt.tensor4("x")
    assert isinstance(pytensor.function([x], 2 * x).maker.linker, NumbaLinker)


def small_network(dtype):
    """conv + relu + max pool + strided conv + avg pool, the cost and its gradient."""
    x = pt.tensor4("x", dtype=dtype)
    w1 = pt.tensor4("w1", dtype=dtype)
    w2 = pt.tensor4("w2", dtype=dtype)
    h = pt.maximum(conv2d(x, w1, pad=1), 0)  # zeros: max windows with ties
    h = pool2d(h, "max", 2, ceil_mode=True)
    h = conv2d(h, w2, pad=(1, 0, 2, 1), stride=(2, 1))
    h = pool2d(h, "avg", 3, stride=2, pad=1)
    cost = (h**2).sum()
    return [x, w1, w2], [cost, *pytensor.grad(cost, [x, w1, w2])]


def network_values(dtype):
    rng = np.random.default_rng(0)
    shapes = [(2, 3, 13, 11), (4, 3, 3, 3), (5, 4, 3, 2)]
    return [rng.standard_normal(shape).astype(dtype) for shape in shapes]


def compile_and_run(mode, dtype):
    """Outputs of :func:`small_network` and the warnings raised on the way."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inputs, outputs = small_network(dtype)
        f = pytensor.function(inputs, outputs, mode=MODES[mode])
        values = f(*network_values(dtype))
    return values, [str(w.message) for w in caught]


# float32 only: naah runs in float32, and each dtype is minutes of cold Numba
# compilation. The registrations are dtype-agnostic; float64 kernels are covered by
# the C VM test below and tests/ops/test_conv.py, test_pool.py.
@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32"])
@pytest.mark.parametrize("mode", ["numba", "default"])
def test_backends_agree_on_a_small_network_and_its_gradient(mode, dtype):
    expected, _ = compile_and_run("cvm", dtype)
    values, caught = compile_and_run(mode, dtype)
    assert caught == []
    for value, reference in zip(values, expected, strict=True):
        assert value.dtype == dtype
        np.testing.assert_allclose(value, reference, **TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_cvm_mode_compiles_and_runs_without_warnings(dtype):
    _, caught = compile_and_run("cvm", dtype)
    assert caught == []


@pytest.mark.slow
def test_numba_max_gradient_goes_to_the_first_maximum():
    x = pt.tensor4("x", dtype="float32")
    grad = pytensor.grad(pool2d(x, "max", 2).sum(), x)
    f = pytensor.function([x], grad, mode="NUMBA")
    tie = np.array([[[[0.0, 5.0], [5.0, 1.0]]]], dtype="float32")
    np.testing.assert_array_equal(f(tie)[0, 0], [[0, 1], [0, 0]])


@pytest.mark.slow
def test_numba_pooling_of_an_input_smaller_than_the_window_is_a_clear_error():
    x = pt.tensor4("x", dtype="float32")
    f = pytensor.function([x], pool2d(x, "max", 3), mode="NUMBA")
    with pytest.raises(ValueError, match="smaller than the pooling window"):
        f(np.zeros((1, 1, 2, 2), dtype="float32"))


@pytest.mark.slow
def test_numba_channel_mismatch_names_the_channels():
    x, w = pt.tensor4("x", dtype="float32"), pt.tensor4("w", dtype="float32")
    f = pytensor.function([x, w], conv2d(x, w), mode="NUMBA")
    with pytest.raises(ValueError, match="channels"):
        f(np.zeros((1, 3, 5, 5), "float32"), np.zeros((2, 4, 3, 3), "float32"))
