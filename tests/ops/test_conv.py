"""Tests for naah.ops.conv: Conv2d and its gradient Ops against scipy references,
and the gradient Ops' own gradients against finite differences."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode
from pytensor.gradient import DisconnectedType, verify_grad
from threadpoolctl import threadpool_limits

from naah.ops import Conv2d, Conv2dGradInput, Conv2dGradKernel, conv2d, threads
from tests._reference import central_differences
from tests._reference import conv2d as reference_conv2d
from tests._reference import conv2d_grad_input as reference_grad_input
from tests._reference import conv2d_grad_kernel as reference_grad_kernel

# naah compiles with the C VM linker; its Ops run their ``perform``.
CVM = Mode(linker="cvm", optimizer="fast_run")
TOLERANCE = {"float32": {"rtol": 1e-4, "atol": 1e-4}, "float64": {"rtol": 1e-10}}


def random(shape, dtype="float64", seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def run_conv(x, w, pad=0, stride=1):
    xv = pt.tensor4("x", dtype=x.dtype)
    wv = pt.tensor4("w", dtype=w.dtype)
    return pytensor.function([xv, wv], Conv2d(pad, stride)(xv, wv), mode=CVM)(x, w)


# (x shape, w shape, pad, stride)
GEOMETRIES = {
    "3x3 kernel, pad 1": ((2, 3, 8, 8), (4, 3, 3, 3), 1, 1),
    "1x1 kernel on an odd image": ((1, 5, 7, 9), (3, 5, 1, 1), 0, 1),
    "7x7 kernel on a 7x7 input (fc6)": ((2, 16, 7, 7), (8, 16, 7, 7), 0, 1),
    "3x2 kernel, (vertical, horizontal) pad": ((1, 3, 7, 9), (2, 3, 3, 2), (1, 0), 1),
    "3x3 kernel on 37x53": ((1, 3, 37, 53), (4, 3, 3, 3), 1, 1),
    "MatConvNet padding (1, 0, 2, 1)": ((2, 3, 7, 9), (4, 3, 3, 3), (1, 0, 2, 1), 1),
    "stride 2": ((1, 3, 9, 11), (2, 3, 3, 3), 1, 2),
    "stride (2, 1), 3x2 kernel": ((1, 2, 8, 7), (3, 2, 3, 2), (0, 1, 1, 0), (2, 1)),
    "16 channels, 1x1 kernel": ((1, 16, 5, 7), (3, 16, 1, 1), 0, 1),
    # 3x3 stride 1: Winograd with few or many channels, shift-GEMM in between.
    "3x3, 64 -> 64 channels (shift-GEMM)": ((1, 64, 9, 11), (64, 64, 3, 3), 1, 1),
    "3x3, 128 -> 128 channels (Winograd)": (
        (1, 128, 7, 9),
        (128, 128, 3, 3),
        (1, 0, 2, 1),
        1,
    ),
    "32 channels, 3x2 kernel, MatConvNet padding, 37x53": (
        (2, 32, 37, 53),
        (4, 32, 3, 2),
        (1, 0, 2, 1),
        1,
    ),
    "37x53, 5x3 kernel, stride (2, 3)": (
        (3, 3, 37, 53),
        (4, 3, 5, 3),
        (2, 1, 0, 2),
        (2, 3),
    ),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    ("x_shape", "w_shape", "pad", "stride"),
    list(GEOMETRIES.values()),
    ids=list(GEOMETRIES),
)
def test_conv2d_matches_scipy_cross_correlation(x_shape, w_shape, pad, stride, dtype):
    x, w = random(x_shape, dtype, seed=1), random(w_shape, dtype, seed=2)
    out = run_conv(x, w, pad, stride)
    expected = reference_conv2d(x, w, pad, stride)
    assert out.dtype == dtype
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, **TOLERANCE[dtype])


def test_fc6_like_kernel_covering_the_whole_input_gives_a_1x1_output():
    x, w = random((2, 4, 7, 7)), random((5, 4, 7, 7), seed=1)
    out = run_conv(x, w)
    assert out.shape == (2, 5, 1, 1)
    np.testing.assert_allclose(out[..., 0, 0], np.einsum("nchw,ochw->no", x, w))


def test_conv2d_function_builds_the_same_op():
    x, w = pt.tensor4("x"), pt.tensor4("w")
    y = conv2d(x, w, pad=(1, 0, 2, 1), stride=(2, 1))
    assert y.owner.op == Conv2d((1, 0, 2, 1), (2, 1))


def test_conv2d_docstring_example_holds():
    x = pt.tensor4("x")
    f = pytensor.function([x], conv2d(x, np.ones((1, 1, 3, 3)), pad=1), mode=CVM)
    np.testing.assert_array_equal(f(np.ones((1, 1, 4, 4)))[0, 0, 0], [4, 6, 6, 4])


@pytest.mark.parametrize(
    ("tap", "expected_from_image"),
    [
        # A tap at the kernel's top-left reads the pixel up and left: the image
        # moves down and right. A convolution (flipped kernel) would do the opposite.
        ((0, 0), lambda img, out: (out[1:, 1:], img[:-1, :-1], out[0], out[:, 0])),
        ((2, 2), lambda img, out: (out[:-1, :-1], img[1:, 1:], out[-1], out[:, -1])),
    ],
    ids=["top-left tap shifts down-right", "bottom-right tap shifts up-left"],
)
def test_kernel_is_not_flipped(tap, expected_from_image):
    image = np.arange(1.0, 36.0).reshape(5, 7)
    kernel = np.zeros((1, 1, 3, 3))
    kernel[(0, 0, *tap)] = 1.0
    out = run_conv(image[None, None], kernel, pad=1)[0, 0]
    shifted, source, border_row, border_col = expected_from_image(image, out)
    np.testing.assert_array_equal(shifted, source)
    assert not border_row.any() and not border_col.any()


# Geometries for the gradient checks: (x shape, w shape, pad, stride).
GRADIENT_GEOMETRIES = {
    "3x3 pad 1": ((2, 2, 5, 6), (3, 2, 3, 3), 1, 1),
    "stride 2, MatConvNet padding": ((1, 2, 7, 8), (2, 2, 3, 2), (1, 0, 2, 1), 2),
    "stride (2, 1), unused last row": ((1, 1, 8, 7), (2, 1, 3, 3), 0, (2, 1)),
}


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "pad", "stride"),
    list(GRADIENT_GEOMETRIES.values()),
    ids=list(GRADIENT_GEOMETRIES),
)
def test_conv2d_gradients_match_finite_differences(x_shape, w_shape, pad, stride):
    x, w = random(x_shape, seed=3), random(w_shape, seed=4)
    verify_grad(
        Conv2d(pad, stride),
        [x, w],
        rng=np.random.default_rng(5),
        mode=CVM,
    )


def output_shape(x_shape, w_shape, pad, stride):
    return reference_conv2d(np.zeros(x_shape), np.zeros(w_shape), pad, stride).shape


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "pad", "stride"),
    list(GRADIENT_GEOMETRIES.values()),
    ids=list(GRADIENT_GEOMETRIES),
)
def test_grad_input_gradients_match_finite_differences(x_shape, w_shape, pad, stride):
    gz = random(output_shape(x_shape, w_shape, pad, stride), seed=40)
    verify_grad(
        lambda gz, w: Conv2dGradInput(pad, stride)(gz, w, x_shape[2:]),
        [gz, random(w_shape, seed=41)],
        rng=np.random.default_rng(42),
        mode=CVM,
    )


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "pad", "stride"),
    list(GRADIENT_GEOMETRIES.values()),
    ids=list(GRADIENT_GEOMETRIES),
)
def test_grad_kernel_gradients_match_finite_differences(x_shape, w_shape, pad, stride):
    gz = random(output_shape(x_shape, w_shape, pad, stride), seed=43)
    verify_grad(
        lambda x, gz: Conv2dGradKernel(pad, stride)(x, gz, w_shape[2:]),
        [random(x_shape, seed=44), gz],
        rng=np.random.default_rng(45),
        mode=CVM,
    )


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "pad", "stride"),
    list(GRADIENT_GEOMETRIES.values()),
    ids=list(GRADIENT_GEOMETRIES),
)
def test_second_derivatives_of_conv2d_match_finite_differences(
    x_shape, w_shape, pad, stride
):
    # cost = sum(conv2d(x, w)**2 * c); its gradients gx, gw projected on v and u,
    # differentiated again in x and w, against central differences of the same
    # projections of numpy's first derivatives. Each entry is at most quadratic in
    # any one element of x or w, so central differences are exact up to rounding.
    x, w = random(x_shape, seed=46), random(w_shape, seed=47)
    c = random(output_shape(x_shape, w_shape, pad, stride), seed=48)
    v, u = random(x_shape, seed=49), random(w_shape, seed=50)
    xv, wv = pt.tensor4("x"), pt.tensor4("w")
    gx, gw = pytensor.grad((Conv2d(pad, stride)(xv, wv) ** 2 * c).sum(), [xv, wv])
    second = [
        *pytensor.grad((gx * v).sum(), [xv, wv]),
        *pytensor.grad((gw * u).sum(), [xv, wv]),
    ]
    first_value, *second_values = pytensor.function([xv, wv], [gx, *second], mode=CVM)(
        x, w
    )

    def first_derivatives(x, w):
        gz = 2 * c * reference_conv2d(x, w, pad, stride)
        return (
            reference_grad_input(gz, w, x.shape[2:], pad, stride),
            reference_grad_kernel(x, gz, w.shape[2:], pad, stride),
        )

    np.testing.assert_allclose(first_value, first_derivatives(x, w)[0], rtol=1e-10)
    expected = [
        *central_differences(
            lambda x, w: np.vdot(first_derivatives(x, w)[0], v), [x, w]
        ),
        *central_differences(
            lambda x, w: np.vdot(first_derivatives(x, w)[1], u), [x, w]
        ),
    ]
    for value, reference in zip(second_values, expected, strict=True):
        np.testing.assert_allclose(value, reference, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize(
    "op_class", [Conv2dGradInput, Conv2dGradKernel], ids=lambda c: c.__name__
)
def test_size_input_of_a_gradient_op_is_disconnected_from_its_gradient(op_class):
    a, b, size = pt.tensor4("a"), pt.tensor4("b"), pt.lvector("size")
    out = op_class(1, 2)(a, b, size)
    assert out.owner.op.connection_pattern(out.owner) == [[True], [True], [False]]
    grads = pytensor.grad(
        out.sum(),
        [a, b, size],
        disconnected_inputs="ignore",
        return_disconnected="disconnected",
    )
    assert [isinstance(g.type, DisconnectedType) for g in grads] == [False, False, True]


def inner(a, b):
    return float(np.vdot(a, b))


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "pad", "stride"),
    list(GEOMETRIES.values()),
    ids=list(GEOMETRIES),
)
def test_grad_input_is_the_adjoint_of_conv2d(x_shape, w_shape, pad, stride):
    x, w = random(x_shape, seed=6), random(w_shape, seed=7)
    y = run_conv(x, w, pad, stride)
    g = random(y.shape, seed=8)
    gzv, wv = pt.tensor4("gz"), pt.tensor4("w")
    grad_input = pytensor.function(
        [gzv, wv], Conv2dGradInput(pad, stride)(gzv, wv, x.shape[2:]), mode=CVM
    )(g, w)
    assert grad_input.shape == x.shape
    assert inner(y, g) == pytest.approx(inner(x, grad_input), rel=1e-12)


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "pad", "stride"),
    list(GEOMETRIES.values()),
    ids=list(GEOMETRIES),
)
def test_grad_kernel_is_the_adjoint_of_conv2d(x_shape, w_shape, pad, stride):
    x, w = random(x_shape, seed=9), random(w_shape, seed=10)
    y = run_conv(x, w, pad, stride)
    g = random(y.shape, seed=11)
    xv, gzv = pt.tensor4("x"), pt.tensor4("gz")
    grad_kernel = pytensor.function(
        [xv, gzv], Conv2dGradKernel(pad, stride)(xv, gzv, w.shape[2:]), mode=CVM
    )(x, g)
    assert grad_kernel.shape == w.shape
    assert inner(y, g) == pytest.approx(inner(w, grad_kernel), rel=1e-12)


@pytest.mark.parametrize("height", [7, 8])
def test_strided_grad_input_has_the_input_size_the_output_does_not_determine(height):
    # Kernel 3, stride 2, no padding: heights 7 and 8 both give 3 output rows.
    x, w = random((1, 2, height, 5), seed=12), random((3, 2, 3, 3), seed=13)
    xv, wv = pt.tensor4("x"), pt.tensor4("w")
    y = Conv2d(0, 2)(xv, wv)
    g = random((1, 3, 3, 2), seed=14)
    gx, gw = pytensor.grad((y * g).sum(), [xv, wv])
    gx_value, gw_value = pytensor.function([xv, wv], [gx, gw], mode=CVM)(x, w)
    assert gx_value.shape == x.shape
    assert gw_value.shape == w.shape
    if height == 8:
        assert not gx_value[:, :, 7].any(), "the last row is never read"
    assert inner(run_conv(x, w, 0, 2), g) == pytest.approx(inner(x, gx_value))


@pytest.mark.parametrize("kernel_height", [3, 4])
def test_strided_grad_kernel_has_the_kernel_size_the_output_does_not_determine(
    kernel_height,
):
    # Input height 8, stride 2: kernel heights 3 and 4 both give 3 output rows.
    x, w = random((2, 2, 8, 5), seed=15), random((3, 2, kernel_height, 3), seed=16)
    y = run_conv(x, w, 0, 2)
    assert y.shape[2] == 3
    g = random(y.shape, seed=17)
    xv, gzv = pt.tensor4("x"), pt.tensor4("gz")
    grad_kernel = pytensor.function(
        [xv, gzv], Conv2dGradKernel(0, 2)(xv, gzv, w.shape[2:]), mode=CVM
    )(x, g)
    assert grad_kernel.shape == w.shape
    assert inner(y, g) == pytest.approx(inner(w, grad_kernel), rel=1e-12)


def test_gradient_graph_uses_the_gradient_ops():
    x, w = pt.tensor4("x"), pt.tensor4("w")
    cost = Conv2d(1)(x, w).sum()
    f = pytensor.function([x, w], pytensor.grad(cost, [x, w]), mode=CVM)
    ops = {type(node.op) for node in f.maker.fgraph.toposort()}
    assert {Conv2dGradInput, Conv2dGradKernel} <= ops


@pytest.mark.parametrize(
    ("x_shape", "stride"),
    [((1, 512, 64, 64), 1), ((1, 512, 128, 128), 2)],
    ids=["stride 1", "stride 2"],
)
def test_large_inputs_processed_in_blocks_show_no_seams(x_shape, stride):
    # 512 channels x 3x3 taps x 64 output columns: one im2col patch matrix of
    # 2**24 elements holds 56 of the 64 output rows, so the kernels work in row
    # blocks; the result must not depend on where the blocks meet.
    x = random(x_shape, "float32", 18)
    w = 0.05 * random((2, 512, 3, 3), "float32", 19)
    out = run_conv(x, w, 1, stride)
    assert out.shape == (1, 2, 64, 64)
    expected = reference_conv2d(x, w, 1, stride)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
    g = random(out.shape, "float32", 20)
    gzv, wv, xv = (pt.tensor4(name, dtype="float32") for name in ("gz", "w", "x"))
    grad_input, grad_kernel = pytensor.function(
        [gzv, wv, xv],
        [
            Conv2dGradInput(1, stride)(gzv, wv, x.shape[2:]),
            Conv2dGradKernel(1, stride)(xv, gzv, w.shape[2:]),
        ],
        mode=CVM,
    )(g, w, x)
    y_dot_g = np.vdot(expected, g)
    assert np.vdot(x.astype(np.float64), grad_input) == pytest.approx(y_dot_g, rel=1e-4)
    assert np.vdot(w.astype(np.float64), grad_kernel) == pytest.approx(
        y_dot_g, rel=1e-4
    )


SHAPE_CASES = {
    "3x3 pad 1": ((2, 3, 37, 53), (4, 3, 3, 3), 1, 1),
    "MatConvNet padding, stride (2, 3)": (
        (1, 3, 37, 53),
        (2, 3, 5, 3),
        (2, 1, 0, 2),
        (2, 3),
    ),
    "7x7 kernel": ((1, 2, 7, 7), (3, 2, 7, 7), 0, 1),
}


def op_types(f):
    return {type(node.op) for node in f.maker.fgraph.toposort()}


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "pad", "stride"),
    list(SHAPE_CASES.values()),
    ids=list(SHAPE_CASES),
)
def test_output_shape_is_inferred_without_running_the_convolution(
    x_shape, w_shape, pad, stride
):
    xv, wv = pt.tensor4("x"), pt.tensor4("w")
    f = pytensor.function([xv, wv], Conv2d(pad, stride)(xv, wv).shape, mode=CVM)
    assert Conv2d not in op_types(f)
    x, w = random(x_shape), random(w_shape)
    assert tuple(f(x, w)) == run_conv(x, w, pad, stride).shape


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "pad", "stride"),
    list(SHAPE_CASES.values()),
    ids=list(SHAPE_CASES),
)
def test_gradient_shapes_are_inferred_without_running_the_gradient_ops(
    x_shape, w_shape, pad, stride
):
    xv, wv, gzv = pt.tensor4("x"), pt.tensor4("w"), pt.tensor4("gz")
    grad_input = Conv2dGradInput(pad, stride)(gzv, wv, xv.shape[2:])
    grad_kernel = Conv2dGradKernel(pad, stride)(xv, gzv, wv.shape[2:])
    f = pytensor.function(
        [xv, wv, gzv], [grad_input.shape, grad_kernel.shape], mode=CVM
    )
    assert not {Conv2dGradInput, Conv2dGradKernel} & op_types(f)
    x, w = random(x_shape), random(w_shape)
    gz = random(run_conv(x, w, pad, stride).shape)
    input_shape, kernel_shape = f(x, w, gz)
    assert tuple(input_shape) == x_shape
    assert tuple(kernel_shape) == w_shape


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "pad", "stride", "expected"),
    [
        ((1, 3, 37, 53), (8, 3, 3, 3), 1, 1, (1, 8, 37, 53)),
        ((1, 3, 37, 53), (8, 3, 3, 3), 1, 2, (1, 8, 19, 27)),
        ((1, 3, 37, 53), (8, 3, 3, 2), (1, 0, 2, 1), (2, 1), (1, 8, 18, 55)),
        ((2, 512, 7, 7), (16, 512, 7, 7), 0, 1, (2, 16, 1, 1)),
        ((None, 3, 37, None), (8, 3, 3, 3), 1, 1, (None, 8, 37, None)),
        ((1, 3, 37, 53), (8, 3, None, None), 1, 1, (1, 8, None, None)),
    ],
)
def test_static_output_shape_is_known_when_input_shapes_are(
    x_shape, w_shape, pad, stride, expected
):
    x, w = pt.tensor4(shape=x_shape), pt.tensor4(shape=w_shape)
    assert Conv2d(pad, stride)(x, w).type.shape == expected


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "pad", "stride"),
    list(SHAPE_CASES.values()),
    ids=list(SHAPE_CASES),
)
def test_output_shape_of_concrete_shapes_is_the_computed_shape(
    x_shape, w_shape, pad, stride
):
    x, w = random(x_shape), random(w_shape)
    computed = run_conv(x, w, pad, stride).shape
    assert Conv2d(pad, stride).output_shape(x_shape, w_shape) == computed


def test_static_shape_matches_the_computed_shape():
    x, w = random((1, 3, 37, 53)), random((8, 3, 3, 2))
    y = Conv2d((1, 0, 2, 1), (2, 1))(
        pt.tensor4(shape=x.shape), pt.tensor4(shape=w.shape)
    )
    assert y.type.shape == run_conv(x, w, (1, 0, 2, 1), (2, 1)).shape


def test_channel_mismatch_is_reported_at_run_time():
    xv, wv = pt.tensor4("x"), pt.tensor4("w")
    f = pytensor.function([xv, wv], Conv2d(1)(xv, wv), mode=CVM)
    with pytest.raises(ValueError, match="3 channels but the kernels expect 4"):
        f(random((1, 3, 5, 5)), random((2, 4, 3, 3)))


def test_dtype_mismatch_is_a_type_error_at_graph_build():
    x = pt.tensor4("x", dtype="float32")
    w = pt.tensor4("w", dtype="float64")
    with pytest.raises(TypeError, match="float32 but kernel is float64"):
        Conv2d(1)(x, w)


@pytest.mark.parametrize(
    ("x", "w", "message"),
    [
        (pt.tensor3("x"), pt.tensor4("w"), "input must be a 4-d tensor"),
        (pt.tensor4("x"), pt.matrix("w"), "kernel must be a 4-d tensor"),
        (pt.tensor4("x", dtype="int32"), pt.tensor4("w"), "float32 or float64"),
    ],
    ids=["3-d input", "2-d kernel", "integer input"],
)
def test_inputs_of_the_wrong_rank_or_dtype_are_type_errors(x, w, message):
    with pytest.raises(TypeError, match=message):
        Conv2d(1)(x, w)


@pytest.mark.parametrize(
    ("pad", "stride", "message"),
    [
        (-1, 1, "padding"),
        ((1, 2, 3), 1, "padding"),
        ((1, -1), 1, "padding"),
        ((0, 0, 0, -2), 1, "padding"),
        (0, 0, "stride"),
        (0, -2, "stride"),
        (0, (2, 0), "stride"),
        (0, (1, 2, 3), "stride"),
    ],
)
def test_bad_pad_or_stride_values_are_value_errors(pad, stride, message):
    with pytest.raises(ValueError, match=message):
        Conv2d(pad, stride)


@pytest.mark.parametrize(("pad", "stride"), [(1.5, 1), (0, 2.0)])
def test_non_integer_pad_or_stride_is_rejected_with_a_message_naming_it(pad, stride):
    with pytest.raises(ValueError, match="padding|stride"):
        Conv2d(pad, stride)


def test_numpy_integers_are_accepted_as_pad_and_stride():
    op = Conv2d(np.int64(1), (np.int32(2), 1))
    assert op == Conv2d(1, (2, 1))
    assert all(type(v) is int for v in (*op.pad, *op.stride))


@pytest.mark.parametrize(
    ("size", "kernel"), [(2, 3), (1, 5)], ids=["0 output rows", "negative rows"]
)
def test_a_kernel_larger_than_the_padded_input_is_rejected(size, kernel):
    xv, wv = pt.tensor4("x"), pt.tensor4("w")
    f = pytensor.function([xv, wv], Conv2d(0)(xv, wv), mode=CVM)
    with pytest.raises(ValueError, match="kernel"):
        f(random((1, 1, size, size)), random((1, 1, kernel, kernel)))


def test_padding_can_make_a_large_kernel_fit():
    x, w = random((1, 1, 1, 1)), random((1, 1, 3, 3))
    out = run_conv(x, w, pad=1)
    np.testing.assert_allclose(out, x * w[:, :, 1:2, 1:2])


@pytest.mark.parametrize(
    "same",
    [Conv2d(1, 1), Conv2d((1, 1), (1, 1)), Conv2d((1, 1, 1, 1), 1)],
    ids=["ints", "pairs", "MatConvNet padding"],
)
def test_equal_settings_give_equal_ops_with_equal_hashes(same):
    assert same == Conv2d(1)
    assert hash(same) == hash(Conv2d(1))


@pytest.mark.parametrize(
    "other",
    [Conv2d(0), Conv2d((1, 0, 1, 1)), Conv2d(1, 2), Conv2dGradInput(1)],
    ids=["pad 0", "asymmetric pad", "stride 2", "gradient op"],
)
def test_different_settings_give_different_ops(other):
    assert other != Conv2d(1)


def test_equal_convolutions_of_the_same_inputs_are_merged():
    xv, wv = pt.tensor4("x"), pt.tensor4("w")
    out = Conv2d(1)(xv, wv) + Conv2d((1, 1, 1, 1), (1, 1))(xv, wv)
    f = pytensor.function([xv, wv], out, mode=CVM)
    convs = [n for n in f.maker.fgraph.toposort() if isinstance(n.op, Conv2d)]
    assert len(convs) == 1
    x, w = random((1, 2, 5, 5)), random((3, 2, 3, 3))
    np.testing.assert_allclose(f(x, w), 2 * reference_conv2d(x, w, 1))


# -- bias ----------------------------------------------------------------------------
BIAS_CASES = {
    "3x3 (Winograd)": ((2, 3, 9, 8), (5, 3, 3, 3), 1),
    "3x2, 32 channels (shift-GEMM)": ((1, 32, 7, 9), (4, 32, 3, 2), (1, 0)),
    "5x5, 3 channels (im2col)": ((1, 3, 9, 9), (2, 3, 5, 5), 2),
}


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize(
    ("x_shape", "w_shape", "pad"), BIAS_CASES.values(), ids=BIAS_CASES
)
def test_bias_is_added_to_each_output_channel(x_shape, w_shape, pad, workers):
    x, w = random(x_shape, "float32", 30), random(w_shape, "float32", 31)
    b = random(w_shape[:1], "float32", 32)
    xv, wv = pt.tensor4("x", dtype="float32"), pt.tensor4("w", dtype="float32")
    bv = pt.vector("b", dtype="float32")
    f = pytensor.function([xv, wv, bv], conv2d(xv, wv, pad, bias=bv), mode=CVM)
    with threadpool_limits(limits=workers, user_api="blas"), threads.parallel():
        out = f(x, w, b)
    expected = reference_conv2d(x, w, pad) + b[None, :, None, None]
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def test_bias_gradient_matches_finite_differences():
    x, w, b = random((1, 2, 5, 6), seed=33), random((3, 2, 3, 3), seed=34), random(3)
    verify_grad(Conv2d(1), [x, w, b], rng=np.random.default_rng(35), mode=CVM)


def test_a_bias_of_the_wrong_length_is_reported_at_run_time():
    xv, wv, bv = pt.tensor4("x"), pt.tensor4("w"), pt.vector("b")
    f = pytensor.function([xv, wv, bv], conv2d(xv, wv, bias=bv), mode=CVM)
    with pytest.raises(ValueError, match="one bias per kernel"):
        f(np.zeros((1, 2, 4, 4)), np.zeros((3, 2, 3, 3)), np.zeros(2))


def test_a_bias_that_is_not_a_vector_is_a_type_error():
    with pytest.raises(TypeError, match="bias must be a vector"):
        conv2d(pt.tensor4("x"), pt.tensor4("w"), bias=pt.matrix("b"))
