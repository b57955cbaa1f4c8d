"""Tests for naah.layers.dense: FCLayer against numpy, and its conv view."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from naah.compile import function
from naah.layers import FCLayer
from naah.ops import conv2d

TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}


def random(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def reference_dense(x, weights, bias, relu=False):
    y = x.astype(np.float64).reshape(x.shape[0], -1) @ weights + bias
    return np.maximum(y, 0) if relu else y


@pytest.mark.parametrize("activation", [None, "relu"])
def test_fc_layer_on_a_matrix_matches_numpy(activation):
    x, weights, bias = random((5, 12)), random((12, 7), 1), random(7, 2)
    layer = FCLayer("fc8", weights, bias, activation=activation)
    xv = pt.matrix("x", dtype="float32")
    got = function([xv], layer(xv))(x)
    expected = reference_dense(x, weights, bias, relu=activation == "relu")
    np.testing.assert_allclose(got, expected, **TOLERANCE)
    assert got.dtype == np.float32
    assert layer.output_shape(x.shape) == got.shape


def test_fc_layer_flattens_a_4d_input_in_nchw_order():
    x, weights, bias = random((3, 4, 2, 5)), random((40, 6), 1), random(6, 2)
    layer = FCLayer("fc6", weights, bias)
    xv = pt.tensor4("x", dtype="float32")
    got = function([xv], layer(xv))(x)
    np.testing.assert_allclose(got, reference_dense(x, weights, bias), **TOLERANCE)
    assert layer.output_shape(x.shape) == (3, 6)
    # An NHWC flattening gives a different answer: the order really is NCHW.
    nhwc = x.transpose(0, 2, 3, 1).reshape(3, -1) @ weights + bias
    assert not np.allclose(got, nhwc, **TOLERANCE)


def test_fc_layer_params_are_float32_shared_variables_named_after_the_layer():
    layer = FCLayer("fc7", np.zeros((8, 4)), np.zeros(4))
    assert layer.W.name == "fc7.W" and layer.b.name == "fc7.b"
    assert layer.params == {"W": layer.W, "b": layer.b}
    assert layer.W.get_value().dtype == np.float32
    assert layer.b.get_value().dtype == np.float32


@pytest.mark.parametrize(
    ("weights_shape", "bias_shape"),
    [((8,), (8,)), ((8, 4), (8,)), ((2, 8, 4), (4,))],
    ids=["1-d weights", "bias matching the input width", "3-d weights"],
)
def test_fc_layer_rejects_bad_weight_or_bias_shapes_naming_the_layer(
    weights_shape, bias_shape
):
    with pytest.raises(ValueError, match=r"fc7: weights must be \(in, out\)"):
        FCLayer("fc7", np.zeros(weights_shape), np.zeros(bias_shape))


def test_fc_layer_from_conv_agrees_with_the_convolution_it_views():
    # fc6 in miniature: a 7x7 kernel covering the whole 7x7 map of pool5.
    x, kernel, bias = random((2, 4, 7, 7)), random((5, 4, 7, 7), 1), random(5, 2)
    dense = FCLayer.from_conv("fc6", kernel, bias, activation="relu")
    assert dense.W.get_value().shape == (4 * 7 * 7, 5)

    xv = pt.tensor4("x", dtype="float32")
    kv = pt.tensor4("k", dtype="float32")
    conv_out = conv2d(xv, kv) + pt.as_tensor(bias).dimshuffle("x", 0, "x", "x")
    got_dense, got_conv = function([xv, kv], [dense(xv), pt.maximum(conv_out, 0)])(
        x, kernel
    )
    assert got_conv.shape == (2, 5, 1, 1)
    np.testing.assert_allclose(got_dense, got_conv.reshape(2, 5), **TOLERANCE)
    # and both equal an explicit sum over (channel, row, column)
    expected = np.einsum("nchw,ochw->no", x, kernel.astype(np.float64)) + bias
    np.testing.assert_allclose(got_dense, np.maximum(expected, 0), **TOLERANCE)


def test_gradient_of_fc_output_sum_wrt_weights_is_x_transpose_times_ones():
    x, weights, bias = random((3, 2, 2, 2)), random((8, 4), 1), random(4, 2)
    layer = FCLayer("fc", weights, bias)
    xv = pt.tensor4("x", dtype="float32")
    grad_w, grad_b = pytensor.grad(layer(xv).sum(), [layer.W, layer.b])
    got_w, got_b = function([xv], [grad_w, grad_b])(x)
    flat = x.reshape(3, -1).astype(np.float64)
    np.testing.assert_allclose(got_w, flat.T @ np.ones((3, 4)), **TOLERANCE)
    np.testing.assert_allclose(got_b, np.full(4, 3.0), **TOLERANCE)


def test_gradient_of_fc_output_wrt_weights_matches_finite_differences():
    x, weights, bias = random((3, 6)), random((6, 2), 1), random(2, 2)
    layer = FCLayer("fc", weights, bias, activation="relu")
    xv = pt.matrix("x", dtype="float32")
    cost = (layer(xv) ** 2).sum()
    cost_and_grad = function([xv], [cost, pytensor.grad(cost, layer.W)])
    _, analytic = cost_and_grad(x)
    eps = 1e-2
    numeric = np.empty_like(weights, dtype=np.float64)
    for index in np.ndindex(weights.shape):
        values = []
        for step in (eps, -eps):
            shifted = weights.copy()
            shifted[index] += step
            layer.W.set_value(shifted)
            values.append(float(cost_and_grad(x)[0]))
        numeric[index] = (values[0] - values[1]) / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-2, atol=1e-2)
