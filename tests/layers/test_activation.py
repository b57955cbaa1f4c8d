"""Tests for naah.layers.activation: ReLU and Softmax against numpy."""

import numpy as np
import pytensor.tensor as pt
import pytest

from naah.compile import function
from naah.layers import ReLU, Softmax, relu


def random(shape, seed=0):
    return (3 * np.random.default_rng(seed).standard_normal(shape)).astype("float32")


def reference_softmax(x, axis=1):
    z = x.astype(np.float64)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("shape", [(4, 6), (2, 3, 5, 4)], ids=["matrix", "4-d"])
def test_relu_layer_matches_numpy_maximum_with_zero(shape):
    x = random(shape)
    xv = pt.tensor("x", dtype="float32", shape=(None,) * len(shape))
    got = function([xv], ReLU("relu1_1")(xv))(x)
    np.testing.assert_array_equal(got, np.maximum(x, 0))
    assert got.dtype == np.float32


def test_relu_function_and_relu_layer_agree():
    x = random((3, 4))
    xv = pt.matrix("x", dtype="float32")
    layer_out, function_out = function([xv], [ReLU("relu")(xv), relu(xv)])(x)
    np.testing.assert_array_equal(layer_out, function_out)


@pytest.mark.parametrize(
    "shape", [(4, 10), (2, 10, 3, 5)], ids=["(N, K) scores", "(N, K, H, W) maps"]
)
def test_softmax_layer_normalises_over_axis_1_like_numpy(shape):
    x = random(shape)
    xv = pt.tensor("x", dtype="float32", shape=(None,) * len(shape))
    got = function([xv], Softmax("prob")(xv))(x)
    np.testing.assert_allclose(got, reference_softmax(x), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-5)
    assert (got > 0).all()
    # Along any other axis the sums are not 1: the axis really is 1.
    assert not np.allclose(got.sum(axis=0), 1.0)


def test_activation_layers_have_no_params():
    assert ReLU("relu6").params == {}
    assert Softmax("prob").params == {}
