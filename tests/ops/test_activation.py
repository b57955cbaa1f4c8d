"""Tests for naah.ops.activation: the threaded ReLU and its gradient against numpy."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.gradient import verify_grad
from threadpoolctl import threadpool_limits

from naah.compile import get_mode
from naah.ops import Relu, ReluGrad, relu, threads

CVM = get_mode("c")


def random(shape, dtype="float64", seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (11,), ()])
def test_relu_is_max_of_x_and_zero(shape, dtype):
    x = random(shape, dtype)
    xv = pt.tensor("x", dtype=dtype, shape=(None,) * len(shape))
    out = pytensor.function([xv], relu(xv), mode=CVM)(x)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, np.maximum(x, 0))


def test_nan_stays_nan():
    xv = pt.vector("x")
    out = pytensor.function([xv], relu(xv), mode=CVM)(np.array([np.nan, -1.0, 1.0]))
    np.testing.assert_array_equal(out, [np.nan, 0.0, 1.0])


def test_gradient_passes_where_the_output_is_positive():
    x = np.array([[-2.0, 0.0, 3.0], [1e-9, -1e-9, 5.0]])
    g = random(x.shape, seed=1)
    xv, gv = pt.matrix("x"), pt.matrix("g")
    grad = pytensor.grad((relu(xv) * gv).sum(), xv)
    out = pytensor.function([xv, gv], grad, mode=CVM)(x, g)
    np.testing.assert_array_equal(out, g * (x > 0))  # 0 at exactly 0, as MatConvNet


def test_gradient_matches_finite_differences():
    x = random((3, 4, 5), seed=2)
    x[np.abs(x) < 0.1] = 0.5  # finite differences need distance from the kink
    verify_grad(Relu(), [x], rng=np.random.default_rng(3), mode=CVM)


@pytest.mark.parametrize("backend", ["c", "numba"])
def test_split_over_workers_and_numba_backend_agree_with_numpy(backend):
    x, g = random((2, 16, 9, 9), "float32", 4), random((2, 16, 9, 9), "float32", 5)
    xv, gv = pt.tensor4("x", dtype="float32"), pt.tensor4("g", dtype="float32")
    y = relu(xv)
    f = pytensor.function([xv, gv], [y, ReluGrad()(y, gv)], mode=get_mode(backend))
    with threadpool_limits(limits=2, user_api="blas"), threads.parallel():
        out, grad = f(x, g)
    np.testing.assert_array_equal(out, np.maximum(x, 0))
    np.testing.assert_array_equal(grad, np.where(x > 0, g, 0))


def test_integer_input_is_a_type_error():
    with pytest.raises(TypeError, match="float32 or float64"):
        relu(pt.ivector("x"))


def test_shape_is_inferred_without_running_the_op():
    xv = pt.tensor4("x")
    f = pytensor.function([xv], relu(xv).shape, mode=CVM)
    assert not any(isinstance(n.op, Relu) for n in f.maker.fgraph.toposort())
    assert tuple(f(np.zeros((1, 2, 3, 4)))) == (1, 2, 3, 4)
