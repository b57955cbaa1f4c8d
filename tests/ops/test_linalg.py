"""Gram and MatMul Ops against numpy, with verify_grad for their gradients."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.gradient import verify_grad
from threadpoolctl import threadpool_limits

from naah.compile import get_mode
from naah.ops import Gram, MatMul, gram, matmul, threads
from tests._reference import central_differences

MODE = get_mode("c")


def random(shape, dtype="float64", seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gram_is_f_times_f_transposed(dtype):
    f = random((5, 37), dtype)
    fv = pt.matrix("f", dtype=dtype)
    out = pytensor.function([fv], gram(fv), mode=MODE)(f)
    assert out.dtype == dtype
    np.testing.assert_allclose(
        out, f.astype(np.float64) @ f.T.astype(np.float64), rtol=1e-5
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matmul_is_the_matrix_product(dtype):
    a, b = random((4, 6), dtype, 1), random((6, 3), dtype, 2)
    av, bv = pt.matrix("a", dtype=dtype), pt.matrix("b", dtype=dtype)
    out = pytensor.function([av, bv], matmul(av, bv), mode=MODE)(a, b)
    np.testing.assert_allclose(
        out, a.astype(np.float64) @ b.astype(np.float64), rtol=1e-5
    )


def test_products_split_over_worker_threads_match_numpy():
    f, a, b = random((7, 40), "float32", 3), random((5, 6)), random((6, 4), seed=4)
    fv, av, bv = pt.matrix("f", dtype="float32"), pt.matrix("a"), pt.matrix("b")
    compiled = pytensor.function([fv, av, bv], [gram(fv), matmul(av, bv)], mode=MODE)
    with threadpool_limits(limits=2, user_api="blas"), threads.parallel():
        assert threads.workers() == 2
        g, product = compiled(f, a, b)
    f64 = f.astype(np.float64)
    np.testing.assert_allclose(g, f64 @ f64.T, rtol=1e-5)
    np.testing.assert_allclose(product, a @ b, rtol=1e-12)


def test_gram_gradient_matches_finite_differences():
    verify_grad(Gram(), [random((4, 9))], rng=np.random.default_rng(3), mode=MODE)


def test_matmul_gradients_match_finite_differences():
    verify_grad(
        MatMul(), [random((3, 5), seed=4), random((5, 2), seed=5)],
        rng=np.random.default_rng(6), mode=MODE,
    )  # fmt: skip


def test_second_derivatives_of_a_gram_loss_match_finite_differences():
    # Gram and MatMul have no gradient Ops of their own: their gradients are
    # matmuls, so second derivatives (as of a style loss) need nothing more.
    # cost = sum((gram(f) @ b) * c); its gradient in f projected on v,
    # differentiated again in f and b, against central differences of numpy's
    # gradient (each entry is at most quadratic in one element: exact).
    f, b = random((3, 5), seed=7), random((3, 2), seed=8)
    c, v = random((3, 2), seed=9), random((3, 5), seed=10)
    fv, bv = pt.matrix("f"), pt.matrix("b")
    grad = pytensor.grad((matmul(gram(fv), bv) * c).sum(), fv)
    second = pytensor.grad((grad * v).sum(), [fv, bv])
    grad_value, *second_values = pytensor.function(
        [fv, bv], [grad, *second], mode=MODE
    )(f, b)

    def first_derivative(f, b):
        outer = c @ b.T  # d cost / d gram
        return (outer + outer.T) @ f

    np.testing.assert_allclose(grad_value, first_derivative(f, b), rtol=1e-12)
    expected = central_differences(
        lambda f, b: np.vdot(first_derivative(f, b), v), [f, b], eps=1e-3
    )
    for value, reference in zip(second_values, expected, strict=True):
        np.testing.assert_allclose(value, reference, rtol=1e-8, atol=1e-10)


def test_gram_shape_is_inferred_without_running_it():
    fv = pt.matrix("f")
    f = pytensor.function([fv], gram(fv).shape, mode=MODE)
    assert not any(isinstance(n.op, Gram) for n in f.maker.fgraph.toposort())
    assert tuple(f(random((6, 11)))) == (6, 6)


def test_mismatched_inner_dimensions_are_a_clear_error():
    av, bv = pt.matrix("a"), pt.matrix("b")
    f = pytensor.function([av, bv], matmul(av, bv), mode=MODE)
    with pytest.raises(ValueError, match=r"shapes \(2, 3\) and \(4, 5\)"):
        f(random((2, 3)), random((4, 5)))


def test_non_matrix_or_integer_inputs_are_type_errors():
    with pytest.raises(TypeError, match="matrix"):
        gram(pt.tensor3("f"))
    with pytest.raises(TypeError, match="float32/float64"):
        gram(pt.matrix("f", dtype="int64"))
