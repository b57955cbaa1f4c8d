"""Tests for naah.layers.conv: ConvLayer against a scipy reference."""

import numpy as np
import pytensor.tensor as pt
import pytest
from pytensor.tensor.sharedvar import TensorSharedVariable

from naah.compile import function
from naah.layers import ConvLayer
from naah.ops import Conv2d
from tests._reference import conv2d as reference_conv2d

TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}


def random(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def reference_conv_layer(x, kernel, bias, pad=0, stride=1, relu=False):
    """Cross-correlation by scipy (tests/_reference.py), plus bias, then ReLU."""
    y = reference_conv2d(x, kernel, pad, stride)
    y += bias.astype(np.float64)[None, :, None, None]
    return np.maximum(y, 0) if relu else y


def run(layer, x):
    xv = pt.tensor4("x", dtype="float32")
    return function([xv], layer(xv))(x)


def test_conv_layer_with_relu_matches_numpy_einsum_over_padded_patches():
    x, kernel, bias = random((2, 3, 9, 8)), random((5, 3, 3, 3), 1), random(5, 2)
    layer = ConvLayer("conv1_1", kernel, bias, pad=1, activation="relu")
    expected = reference_conv_layer(x, kernel, bias, pad=(1, 1, 1, 1), relu=True)
    got = run(layer, x)
    np.testing.assert_allclose(got, expected, **TOLERANCE)
    assert (got == 0).any() and (got > 0).any()  # the ReLU did clip something


def test_conv_layer_without_activation_keeps_negative_outputs():
    x, kernel, bias = random((1, 2, 6, 6)), random((3, 2, 3, 3), 1), random(3, 2)
    got = run(ConvLayer("conv", kernel, bias), x)
    np.testing.assert_allclose(got, reference_conv_layer(x, kernel, bias), **TOLERANCE)
    assert (got < 0).any()


def test_conv_layer_params_are_float32_shared_variables_named_after_the_layer():
    layer = ConvLayer("conv3_1", np.zeros((4, 2, 3, 3)), np.zeros(4))
    assert set(layer.params) == {"W", "b"}
    assert layer.params["W"] is layer.W and layer.params["b"] is layer.b
    assert layer.W.name == "conv3_1.W"
    assert layer.b.name == "conv3_1.b"
    for param in (layer.W, layer.b):
        assert isinstance(param, TensorSharedVariable)
        assert param.get_value().dtype == np.float32
        assert param.type.dtype == "float32"
    assert layer.kernel_shape == (4, 2, 3, 3)


# (input shape, kernel shape, pad, stride, the same pad as (top, bottom, left, right))
GEOMETRIES = {
    "3x3, pad 1": ((2, 3, 8, 8), (4, 3, 3, 3), 1, 1, (1, 1, 1, 1)),
    "3x3, no pad": ((1, 3, 7, 9), (2, 3, 3, 3), 0, 1, (0, 0, 0, 0)),
    "stride 2 on an odd image": ((1, 2, 9, 11), (3, 2, 3, 3), 1, 2, (1, 1, 1, 1)),
    "(vertical, horizontal) pad": ((1, 2, 7, 9), (2, 2, 3, 2), (1, 0), 1, (1, 1, 0, 0)),
    "MatConvNet pad, stride (2, 3)": (
        (2, 3, 11, 13),
        (4, 3, 5, 3),
        (2, 1, 0, 2),
        (2, 3),
        (2, 1, 0, 2),
    ),
    "7x7 kernel on 7x7 (fc6)": ((2, 4, 7, 7), (3, 4, 7, 7), 0, 1, (0, 0, 0, 0)),
}


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "pad", "stride", "four_sided"),
    list(GEOMETRIES.values()),
    ids=list(GEOMETRIES),
)
def test_conv_layer_output_shape_and_values_match_the_compiled_output(
    x_shape, w_shape, pad, stride, four_sided
):
    x, kernel, bias = random(x_shape), random(w_shape, 1), random(w_shape[0], 2)
    layer = ConvLayer("conv", kernel, bias, pad=pad, stride=stride)
    got = run(layer, x)
    assert layer.output_shape(x_shape) == got.shape
    stride_pair = (stride, stride) if isinstance(stride, int) else stride
    expected = reference_conv_layer(x, kernel, bias, four_sided, stride_pair)
    np.testing.assert_allclose(got, expected, **TOLERANCE)


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "pad", "stride", "four_sided"),
    list(GEOMETRIES.values()),
    ids=list(GEOMETRIES),
)
def test_conv_layer_output_shape_is_the_op_s_inferred_shape(
    x_shape, w_shape, pad, stride, four_sided
):
    kernel, bias = random(w_shape, 1), random(w_shape[0], 2)
    layer = ConvLayer("conv", kernel, bias, pad=pad, stride=stride)
    xv = pt.tensor4("x", dtype="float32")
    shape = function([xv], layer(xv).shape)
    # The shape comes from Conv2d.infer_shape: the convolution itself never runs.
    assert Conv2d not in {type(node.op) for node in shape.maker.fgraph.toposort()}
    assert layer.output_shape(x_shape) == tuple(shape(random(x_shape)))


@pytest.mark.parametrize(
    ("kernel_shape", "bias_shape"),
    [
        ((4, 3, 3), (4,)),
        ((4, 3, 3, 3), (3,)),
        ((4, 3, 3, 3), (4, 1)),
        ((4, 3, 3, 3), ()),
    ],
    ids=["3-d kernel", "bias of the wrong length", "2-d bias", "scalar bias"],
)
def test_conv_layer_rejects_bad_kernel_or_bias_shapes_naming_the_layer(
    kernel_shape, bias_shape
):
    with pytest.raises(ValueError, match=r"conv2_1: kernel must be \(out, in"):
        ConvLayer("conv2_1", np.zeros(kernel_shape), np.zeros(bias_shape))


def test_conv_layer_rejects_an_unknown_activation_listing_the_choices():
    with pytest.raises(ValueError, match="unknown activation 'tanh'") as error:
        ConvLayer("conv", np.zeros((2, 1, 3, 3)), np.zeros(2), activation="tanh")
    assert "'linear'" in str(error.value) and "'relu'" in str(error.value)


def test_conv_layer_accepts_a_callable_activation():
    x, kernel, bias = random((1, 1, 5, 5)), random((2, 1, 3, 3), 1), random(2, 2)
    layer = ConvLayer("conv", kernel, bias, activation=lambda y: -y)
    np.testing.assert_allclose(
        run(layer, x), -reference_conv_layer(x, kernel, bias), **TOLERANCE
    )


def test_one_conv_layer_applied_to_two_inputs_gives_two_outputs_in_one_graph():
    kernel, bias = random((3, 2, 3, 3), 1), random(3, 2)
    layer = ConvLayer("conv1_1", kernel, bias, pad=1, activation="relu")
    a, b = pt.tensor4("a", dtype="float32"), pt.tensor4("b", dtype="float32")
    out_a, out_b = layer(a), layer(b)
    assert out_a is not out_b
    xa, xb = random((1, 2, 6, 6), 3), random((2, 2, 5, 7), 4)
    got_a, got_b = function([a, b], [out_a, out_b])(xa, xb)
    np.testing.assert_allclose(
        got_a, reference_conv_layer(xa, kernel, bias, (1,) * 4, relu=True), **TOLERANCE
    )
    np.testing.assert_allclose(
        got_b, reference_conv_layer(xb, kernel, bias, (1,) * 4, relu=True), **TOLERANCE
    )
    # Both outputs read the same parameters: zeroing W leaves relu(bias) in both.
    layer.W.set_value(np.zeros_like(kernel))
    got_a, got_b = function([a, b], [out_a, out_b])(xa, xb)
    for got in (got_a, got_b):
        expected = np.broadcast_to(np.maximum(bias, 0)[None, :, None, None], got.shape)
        np.testing.assert_allclose(got, expected, **TOLERANCE)
