"""Tests for naah.ops.activation: the threaded ReLU and its gradient against numpy."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.gradient import verify_grad
from threadpoolctl import threadpool_limits

from naah.compile import get_mode
from naah.ops import Relu, ReluGrad, relu, threads
from tests._reference import central_differences

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
    x = away_from_the_kink((3, 4, 5), seed=2)
    verify_grad(Relu(), [x], rng=np.random.default_rng(3), mode=CVM)


def away_from_the_kink(shape, seed):
    x = random(shape, seed=seed)
    x[np.abs(x) < 0.1] = 0.5  # finite differences need distance from the kink
    return x


def test_relu_grad_gradients_match_finite_differences():
    # The gradient in y is 0 away from y = 0, as the Op says.
    y, gz = away_from_the_kink((3, 4, 5), seed=6), random((3, 4, 5), seed=7)
    verify_grad(ReluGrad(), [y, gz], rng=np.random.default_rng(8), mode=CVM)


def test_second_derivative_of_relu_matches_finite_differences():
    # cost = sum(relu(x)**2 * c); its gradient projected on v, differentiated
    # again, against central differences of numpy's gradient 2 c relu(x) (x > 0)
    # projected on v (linear between kinks: exact up to rounding).
    x = away_from_the_kink((2, 3, 4), seed=9)
    c, v = random(x.shape, seed=10), random(x.shape, seed=11)
    xv = pt.tensor3("x")
    grad = pytensor.grad((relu(xv) ** 2 * c).sum(), xv)
    second = pytensor.grad((grad * v).sum(), xv)
    grad_value, second_value = pytensor.function([xv], [grad, second], mode=CVM)(x)

    def first_derivative(x):
        return 2 * c * np.maximum(x, 0) * (x > 0)

    np.testing.assert_allclose(grad_value, first_derivative(x), rtol=1e-15)
    (expected,) = central_differences(
        lambda x: np.vdot(first_derivative(x), v), [x], eps=1e-3
    )
    np.testing.assert_allclose(second_value, expected, rtol=1e-9, atol=1e-12)


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
