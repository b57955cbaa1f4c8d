"""sgd and adam update dictionaries against steps computed by hand in numpy."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from naah.compile import function
from naah.optim import adam, sgd

DTYPES = ("float32", "float64")
# Adam's bias correction is computed from a float32 step counter, so float64
# parameters agree with a float64 reference to float32's precision.
RTOL = {"float32": 1e-5, "float64": 1e-6}

# A quadratic 1/2 sum(a (p - c)^2): gradient a (p - c), minimum at c.
CURVATURE = np.array([0.5, 2.0, 4.0, 10.0])
CENTRE = np.array([1.0, -2.0, 3.0, 0.5])
START = np.array([4.0, 3.0, -1.0, 2.0])


def quadratic_step(dtype, make_updates):
    """A compiled step of ``make_updates`` on the quadratic, and its parameter."""
    p = pytensor.shared(START.astype(dtype), name="p")
    loss = 0.5 * pt.sum(CURVATURE.astype(dtype) * pt.sqr(p - CENTRE.astype(dtype)))
    updates = make_updates([pytensor.grad(loss, p)], [p])
    return function([], [], updates=updates), p


def numpy_gradient(p):
    return CURVATURE * (p - CENTRE)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sgd_steps_against_the_gradient_times_the_learning_rate(dtype):
    step, p = quadratic_step(dtype, lambda g, ps: sgd(g, ps, learning_rate=0.05))
    expected = START.copy()
    for _ in range(3):
        step()
        expected = expected - 0.05 * numpy_gradient(expected)

        np.testing.assert_allclose(p.get_value(), expected, rtol=RTOL[dtype])
    assert p.get_value().dtype == dtype


def test_sgd_returns_one_update_per_parameter():
    a = pytensor.shared(np.float32(1.0))
    b = pytensor.shared(np.zeros(3, dtype="float32"))

    updates = sgd([a * 2, b + 1], [a, b], learning_rate=0.5)

    assert set(updates) == {a, b}
    function([], [], updates=updates)()
    assert a.get_value() == 0.0
    np.testing.assert_array_equal(b.get_value(), [-0.5, -0.5, -0.5])


@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_takes_three_bias_corrected_steps_like_the_paper(dtype):
    lr, beta1, beta2, eps = 0.1, 0.9, 0.999, 1e-8
    step, p = quadratic_step(dtype, lambda g, ps: adam(g, ps, lr, beta1, beta2, eps))
    # Kingma & Ba (2015), Algorithm 1, written out.
    theta = START.copy()
    m = np.zeros(4)
    v = np.zeros(4)
    for t in (1, 2, 3):
        g = numpy_gradient(theta)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        step()

        np.testing.assert_allclose(p.get_value(), theta, rtol=RTOL[dtype])
    assert p.get_value().dtype == dtype


def test_adams_first_step_moves_every_coordinate_by_the_learning_rate():
    # m_hat / sqrt(v_hat) = g / |g| at t = 1, whatever the gradient's scale (up to
    # epsilon and float32's 1 - beta2, both about 1e-5 of the step here).
    p = pytensor.shared(np.array([1.0, -1.0, 1e3, -1e-2], dtype="float32"))
    function([], [], updates=adam([3 * p], [p], learning_rate=0.5))()

    moved = p.get_value() - np.array([1.0, -1.0, 1e3, -1e-2])
    np.testing.assert_allclose(moved, [-0.5, 0.5, -0.5, 0.5], rtol=1e-4)


def test_adam_updates_several_parameters_with_one_shared_step_count():
    a = pytensor.shared(START.astype("float32"), name="a")
    b = pytensor.shared(np.float32(5.0), name="b")
    updates = adam([a - 1, 2 * b], [a, b], learning_rate=0.2, beta1=0.5, beta2=0.9)
    step = function([], [], updates=updates)
    # Parameters, their two moments, and one step counter.
    assert len(updates) == 2 * 3 + 1

    expected = {"a": START.copy(), "b": np.array(5.0)}
    moments = {k: [np.zeros_like(v), np.zeros_like(v)] for k, v in expected.items()}
    gradients = {"a": lambda x: x - 1, "b": lambda x: 2 * x}
    for t in (1, 2, 3):
        step()
        for k in expected:
            g = gradients[k](expected[k])
            m, v = moments[k]
            m = 0.5 * m + 0.5 * g
            v = 0.9 * v + 0.1 * g**2
            moments[k] = [m, v]
            expected[k] = expected[k] - 0.2 * (m / (1 - 0.5**t)) / (
                np.sqrt(v / (1 - 0.9**t)) + 1e-8
            )

    np.testing.assert_allclose(a.get_value(), expected["a"], rtol=1e-5)
    np.testing.assert_allclose(b.get_value(), expected["b"], rtol=1e-5)


def test_adam_minimises_the_quadratic():
    step, p = quadratic_step("float64", lambda g, ps: adam(g, ps, learning_rate=0.1))
    for _ in range(300):
        step()

    np.testing.assert_allclose(p.get_value(), CENTRE, atol=0.05)
