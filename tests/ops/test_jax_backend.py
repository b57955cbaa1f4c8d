"""Tests for naah.ops.jax_backend: the JAX backend computes what the C backend does.

The C backend runs the Numba kernels of :mod:`naah.ops.kernels`; the JAX backend
runs XLA's convolutions and reduce_window. Values and gradients agree in float32.
"""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

jax = pytest.importorskip("jax")

from pytensor.graph.op import Op  # noqa: E402
from pytensor.link.jax.dispatch import jax_funcify  # noqa: E402

from naah import StyleTransfer  # noqa: E402
from naah.compile import function  # noqa: E402
from naah.ops import (  # noqa: E402
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
    gram,
    matmul,
    pool2d,
    relu,
)
from naah.testing import write_vgg19_mat  # noqa: E402
from tests._reference import max_pool2d_grad_grad, pool2d_grad  # noqa: E402

TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}


def random(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def both_backends(inputs, outputs, values):
    """Outputs of the graph compiled for the C and the JAX backend."""
    expected = function(inputs, outputs, backend="c")(*values)
    actual = function(inputs, outputs, backend="jax")(*values)
    return expected, [np.asarray(a) for a in actual]


def assert_backends_agree(inputs, outputs, values):
    """Equal values; equal dtypes for arrays (PyTensor's JAX linker gives float64
    sums of float32 arrays, where the C linker gives float32)."""
    expected, actual = both_backends(inputs, outputs, values)
    for value, reference in zip(actual, expected, strict=True):
        assert value.shape == reference.shape
        assert value.ndim == 0 or value.dtype == reference.dtype
        np.testing.assert_allclose(value, reference, **TOLERANCE)


@pytest.mark.parametrize(
    "op_class",
    [
        Conv2d,
        Conv2dGradInput,
        Conv2dGradKernel,
        Pool2d,
        Pool2dGrad,
        MaxPool2dGradGrad,
        Gram,
        MatMul,
        Relu,
        ReluGrad,
    ],
)
def test_every_op_has_a_jax_registration(op_class):
    import naah.ops.jax_backend  # noqa: F401

    assert jax_funcify.dispatch(op_class) is not jax_funcify.dispatch(Op)


def test_a_small_network_and_its_gradients_agree_with_the_c_backend():
    x, w1, w2 = (pt.tensor4(n, dtype="float32") for n in ("x", "w1", "w2"))
    h = pt.maximum(conv2d(x, w1, pad=1), 0)  # zeros: max windows with ties
    h = pool2d(h, "max", 2, ceil_mode=True)
    h = conv2d(h, w2, pad=(1, 0, 2, 1), stride=(2, 1))
    h = pool2d(h, "avg", 3, stride=2, pad=1)
    cost = (h**2).sum()
    values = [random((2, 3, 13, 11)), random((4, 3, 3, 3), 1), random((5, 4, 3, 2), 2)]
    outputs = [cost, *pytensor.grad(cost, [x, w1, w2])]
    assert_backends_agree([x, w1, w2], outputs, values)


# (x shape, kernel shape, pad, stride): odd sizes leave rows no window reaches.
CONVOLUTIONS = [
    ((1, 3, 8, 8), (4, 3, 3, 3), 1, 1),
    ((2, 2, 9, 7), (3, 2, 3, 2), (0, 2, 1, 0), (2, 3)),
    ((1, 4, 10, 10), (2, 4, 1, 1), 0, 1),
    ((1, 1, 11, 12), (2, 1, 5, 4), 2, 3),
]


@pytest.mark.parametrize("x_shape, w_shape, pad, stride", CONVOLUTIONS)
def test_convolution_and_its_gradients_agree_with_the_c_backend(
    x_shape, w_shape, pad, stride
):
    x, w = pt.tensor4("x", dtype="float32"), pt.tensor4("w", dtype="float32")
    y = conv2d(x, w, pad=pad, stride=stride)
    cotangent = random(Conv2d(pad, stride).infer_shape(None, (x_shape, w_shape))[0], 9)
    cost = (y * cotangent).sum()
    outputs = [y, *pytensor.grad(cost, [x, w])]
    assert_backends_agree([x, w], outputs, [random(x_shape), random(w_shape, 1)])


# (mode, window, stride, pad, ceil_mode) on a 9x7 input.
POOLINGS = [
    ("max", 2, None, 0, False),
    ("max", 2, None, 0, True),
    ("max", 3, 2, 1, False),
    ("max", 3, 2, (0, 2, 1, 0), True),
    ("avg", 2, None, 0, True),
    ("avg", 3, 2, 1, False),
    ("avg", (3, 2), (2, 1), (1, 0, 1, 1), True),
]


@pytest.mark.parametrize("mode, window, stride, pad, ceil_mode", POOLINGS)
def test_pooling_and_its_gradient_agree_with_the_c_backend(
    mode, window, stride, pad, ceil_mode
):
    x, g = pt.tensor4("x", dtype="float32"), pt.tensor4("g", dtype="float32")
    y = pool2d(x, mode, window, stride, pad, ceil_mode)
    out_size = Pool2d(mode, window, stride, pad, ceil_mode).output_size(9, 7)
    outputs = [y, pytensor.grad((y * g).sum(), x)]
    values = [random((2, 3, 9, 7)), random((2, 3, *out_size), 1)]
    assert_backends_agree([x, g], outputs, values)


def test_max_pooling_gradient_goes_to_the_first_maximum_as_in_the_c_backend():
    x = pt.tensor4("x", dtype="float32")
    grad = pytensor.grad(pool2d(x, "max", 2).sum(), x)
    tie = np.array([[[[0.0, 5.0], [5.0, 5.0]]]], dtype="float32")
    expected, (actual,) = both_backends([x], [grad], [tie])
    np.testing.assert_array_equal(actual[0, 0], [[0, 1], [0, 0]])
    np.testing.assert_array_equal(actual, expected[0])


@pytest.mark.parametrize("x_shape, w_shape, pad, stride", CONVOLUTIONS)
def test_second_derivatives_of_a_convolution_agree_with_the_c_backend(
    x_shape, w_shape, pad, stride
):
    x, w = pt.tensor4("x", dtype="float32"), pt.tensor4("w", dtype="float32")
    v, u = pt.tensor4("v", dtype="float32"), pt.tensor4("u", dtype="float32")
    gx, gw = pytensor.grad((conv2d(x, w, pad=pad, stride=stride) ** 2).sum(), [x, w])
    outputs = [
        *pytensor.grad((gx * v).sum(), [x, w]),
        *pytensor.grad((gw * u).sum(), [x, w]),
    ]
    values = [
        random(x_shape),
        random(w_shape, 1),
        random(x_shape, 2),
        random(w_shape, 3),
    ]
    assert_backends_agree([x, w, v, u], outputs, values)


@pytest.mark.parametrize("mode, window, stride, pad, ceil_mode", POOLINGS)
def test_second_derivative_of_pooling_agrees_with_the_c_backend(
    mode, window, stride, pad, ceil_mode
):
    x, v = pt.tensor4("x", dtype="float32"), pt.tensor4("v", dtype="float32")
    y = pool2d(x, mode, window, stride, pad, ceil_mode)
    grad = pytensor.grad((y**2).sum(), x)
    outputs = [pytensor.grad((grad * v).sum(), x)]
    assert_backends_agree(
        [x, v], outputs, [random((2, 3, 9, 7)), random((2, 3, 9, 7), 1)]
    )


@pytest.mark.parametrize("mode, window, stride, pad, ceil_mode", POOLINGS[:4])
def test_max_pooling_gradients_pick_each_window_s_first_maximum_even_with_ties(
    mode, window, stride, pad, ceil_mode
):
    # Values in {0, 1, 2}: most windows have ties, overlapping ones included.
    settings = (window, stride, pad, ceil_mode)
    x = np.random.default_rng(4).integers(0, 3, (2, 3, 9, 7)).astype("float32")
    gx = random(x.shape, 5)
    gz = random(Pool2d("max", *settings).output_size(9, 7), 6)[None, None]
    gz = np.ascontiguousarray(np.broadcast_to(gz, (2, 3, *gz.shape[2:])))
    xv, gxv, gzv = (pt.tensor4(n, dtype="float32") for n in ("x", "gx", "gz"))
    outputs = [
        Pool2dGrad("max", *settings)(xv, gzv),
        MaxPool2dGradGrad(*settings)(xv, gxv),
    ]
    grad, picked = function([xv, gxv, gzv], outputs, backend="jax")(x, gx, gz)
    expected_grad = pool2d_grad(x, gz, "max", *settings)
    np.testing.assert_allclose(np.asarray(grad), expected_grad, rtol=1e-6, atol=1e-6)
    expected_picked = max_pool2d_grad_grad(x, gx, *settings)
    np.testing.assert_array_equal(np.asarray(picked), expected_picked)


def test_second_derivative_of_relu_agrees_with_the_c_backend():
    x, v = pt.tensor4("x", dtype="float32"), pt.tensor4("v", dtype="float32")
    grad = pytensor.grad((relu(x) ** 3).sum(), x)
    outputs = [grad, pytensor.grad((grad * v).sum(), x)]
    assert_backends_agree(
        [x, v], outputs, [random((2, 3, 4, 5)), random((2, 3, 4, 5), 1)]
    )


def test_gram_and_matmul_and_their_gradients_agree_with_the_c_backend():
    f, b = pt.matrix("F", dtype="float32"), pt.matrix("b", dtype="float32")
    cost = (gram(f) ** 2).sum() + matmul(f, b).sum()
    outputs = [gram(f), matmul(f, b), *pytensor.grad(cost, [f, b])]
    assert_backends_agree([f, b], outputs, [random((5, 7)), random((7, 3), 1)])


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    return write_vgg19_mat(tmp_path_factory.mktemp("weights") / "vgg19.mat")


# PyTensor's JAX linker drops the broadcast checks (Assert Ops) of elementwise
# subtractions whose shapes are not static, and warns that it does.
@pytest.mark.filterwarnings("ignore:Skipping Assert")
@pytest.mark.parametrize("pooling", ["max", "avg"])
def test_style_problem_losses_and_gradient_agree_with_the_c_backend(
    weights_file, pooling
):
    rng = np.random.default_rng(3)
    content = rng.uniform(0, 255, (37, 45, 3)).astype(np.float32)
    style = rng.uniform(0, 255, (40, 33, 3)).astype(np.float32)
    image = rng.uniform(0, 255, (37, 45, 3)).astype(np.float32)
    results = {}
    for backend in ("c", "jax"):
        transfer = StyleTransfer(weights_file, pooling=pooling, backend=backend)
        problem = transfer.prepare(content, style)
        loss, grad = problem.loss_and_grad(image)
        evaluation, _ = problem.evaluate()
        results[backend] = (loss, grad, evaluation)
    (c_loss, c_grad, c_eval), (j_loss, j_grad, j_eval) = results.values()
    np.testing.assert_allclose(j_loss, c_loss, rtol=1e-4)
    np.testing.assert_allclose(j_eval.content, c_eval.content, rtol=1e-4)
    np.testing.assert_allclose(j_eval.style, c_eval.style, rtol=1e-4)
    for name, value in c_eval.style_layers.items():
        np.testing.assert_allclose(j_eval.style_layers[name], value, rtol=1e-4)
    scale = np.abs(c_grad).max()
    np.testing.assert_allclose(j_grad / scale, c_grad / scale, atol=1e-4)


def test_a_size_known_only_at_run_time_is_a_clear_error():
    gz, w = pt.tensor4("gz", dtype="float32"), pt.tensor4("w", dtype="float32")
    size = pt.lvector("size")
    f = function([gz, w, size], Conv2dGradInput(0, 2)(gz, w, size), backend="jax")
    with pytest.raises(NotImplementedError, match="known when the graph is traced"):
        f(random((1, 1, 3, 3)), random((1, 1, 2, 2)), np.array([7, 7]))
