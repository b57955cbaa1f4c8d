"""Tests for naah.ops.pool: Pool2d, Pool2dGrad and MaxPool2dGradGrad against
loop-based references, and second derivatives against finite differences."""

import math

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode
from pytensor.gradient import verify_grad
from threadpoolctl import threadpool_limits

from naah.ops import (
    MaxPool2dGradGrad,
    Pool2d,
    Pool2dGrad,
    check_pool_mode,
    pool2d,
    threads,
)
from tests._reference import central_differences
from tests._reference import max_pool2d_grad_grad as reference_grad_grad
from tests._reference import pool2d as reference_pool
from tests._reference import pool2d_grad as reference_pool_grad
from tests._reference import pool_length as reference_length

# naah compiles with the C VM linker; its Ops run their ``perform``.
CVM = Mode(linker="cvm", optimizer="fast_run")


def random(shape, dtype="float64", seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def distinct(shape, seed=0):
    """Values 0.1 apart, so no window has a tie and finite differences are exact."""
    values = np.random.default_rng(seed).permutation(math.prod(shape)) * 0.1
    return values.reshape(shape)


def run_pool(x, *args, **kwargs):
    xv = pt.tensor4("x", dtype=x.dtype)
    return pytensor.function([xv], Pool2d(*args, **kwargs)(xv), mode=CVM)(x)


# x shape, window, stride, pad, ceil_mode
CASES = {
    "4x4, window 2": ((1, 1, 4, 4), 2, None, 0, False),
    "5x7, window 2, floor": ((2, 3, 5, 7), 2, None, 0, False),
    "5x7, window 2, ceil": ((2, 3, 5, 7), 2, None, 0, True),
    "5x7, window 3, stride 1": ((1, 2, 5, 7), 3, 1, 0, False),
    "5x7, window 3, stride 2, pad 1, floor": ((1, 2, 5, 7), 3, 2, 1, False),
    "5x7, window 3, stride 2, pad 1, ceil": ((1, 2, 5, 7), 3, 2, 1, True),
    "37x53, window 2, floor": ((1, 3, 37, 53), 2, 2, 0, False),
    "37x53, window 2, ceil": ((1, 3, 37, 53), 2, 2, 0, True),
    "37x53, window 3, MatConvNet pad, ceil": ((1, 2, 37, 53), 3, 2, (1, 0, 1, 2), True),
    "window (3, 2), stride (2, 1), pad (1, 0)": (
        (2, 2, 7, 9),
        (3, 2),
        (2, 1),
        (1, 0),
        False,
    ),
    "window 2, stride 3, pad 1, ceil": ((1, 2, 5, 5), 2, 3, 1, True),
    # Windows that tile the input take a faster path.
    "8x6, window 2, ceil, dividing evenly": ((2, 2, 8, 6), 2, None, 0, True),
    "7x8, window (3, 2), floor": ((1, 2, 7, 8), (3, 2), None, 0, False),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize(
    ("shape", "window", "stride", "pad", "ceil_mode"),
    list(CASES.values()),
    ids=list(CASES),
)
def test_pool2d_matches_the_loop_reference(
    shape, window, stride, pad, ceil_mode, mode, dtype
):
    x = random(shape, dtype)
    out = run_pool(x, mode, window, stride, pad, ceil_mode)
    expected = reference_pool(
        x.astype(np.float64), mode, window, stride, pad, ceil_mode
    )
    assert out.dtype == dtype
    assert out.shape == expected.shape
    tolerance = {"rtol": 1e-6, "atol": 1e-6} if dtype == "float32" else {"rtol": 1e-12}
    np.testing.assert_allclose(out, expected, **tolerance)


# size, window, stride, pad (before, after), ceil_mode, expected output length
LENGTHS = [
    (37, 2, 2, (0, 0), False, 18),
    (37, 2, 2, (0, 0), True, 19),
    (53, 2, 2, (0, 0), False, 26),
    (53, 2, 2, (0, 0), True, 27),
    (224, 2, 2, (0, 0), False, 112),
    (6, 3, 2, (0, 0), False, 2),
    (6, 3, 2, (0, 0), True, 3),
    (5, 3, 2, (1, 1), True, 3),
    # Ceil would add a third window starting at 5 (4 with 'after' only), inside the
    # trailing padding; Caffe drops it.
    (5, 2, 3, (1, 1), True, 2),
    (4, 2, 2, (0, 1), True, 2),
    # Ceil mode pools a one-pixel input with a partial window, as Caffe does.
    (1, 2, 2, (0, 0), True, 1),
]


@pytest.mark.parametrize(
    ("size", "window", "stride", "pad", "ceil_mode", "expected"), LENGTHS
)
def test_output_length_follows_matconvnet_floor_or_caffe_ceil(
    size, window, stride, pad, ceil_mode, expected
):
    assert reference_length(size, window, stride, *pad, ceil_mode) == expected
    op = Pool2d("max", (window, 1), (stride, 1), (*pad, 0, 0), ceil_mode)
    x = random((1, 1, size, 3))
    xv = pt.tensor4("x")
    computed, inferred = pytensor.function([xv], [op(xv), op(xv).shape], mode=CVM)(x)
    assert computed.shape[2] == inferred[2] == expected
    assert op(pt.tensor4(shape=x.shape)).type.shape[2] == expected


def test_pool2d_docstring_example_holds():
    out = run_pool(np.arange(16.0).reshape(1, 1, 4, 4), "max", 2)
    np.testing.assert_array_equal(out[0, 0], [[5.0, 7.0], [13.0, 15.0]])


def test_pool2d_function_builds_the_same_op():
    y = pool2d(pt.tensor4("x"), "avg", (3, 2), (2, 1), (1, 0, 1, 1), ceil_mode=True)
    assert y.owner.op == Pool2d("avg", (3, 2), (2, 1), (1, 0, 1, 1), True)


def test_padding_never_wins_a_max():
    x = -1.0 - np.abs(random((1, 2, 5, 5)))
    out = run_pool(x, "max", 3, 2, 1, ceil_mode=True)
    assert (out < 0).all()
    np.testing.assert_array_equal(out, reference_pool(x, "max", 3, 2, 1, True))


def test_padding_is_left_out_of_an_average():
    out = run_pool(np.ones((1, 1, 5, 6)), "avg", 3, 2, (1, 2, 1, 0), ceil_mode=True)
    np.testing.assert_allclose(out, 1.0, rtol=1e-15)


def pool_input_grad(x, g, *args):
    xv = pt.tensor4("x")
    y = Pool2d(*args)(xv)
    return pytensor.function([xv], pytensor.grad((y * g).sum(), xv), mode=CVM)(x)


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        ([[3.0, 3.0], [3.0, 3.0]], [[1, 0], [0, 0]]),
        ([[0.0, 5.0], [5.0, 1.0]], [[0, 1], [0, 0]]),
        ([[-2.0, -7.0], [-2.0, -2.0]], [[1, 0], [0, 0]]),
    ],
    ids=["all equal", "tie on the anti-diagonal", "negative tie"],
)
def test_max_gradient_goes_to_the_first_maximum_in_row_major_order(x, expected):
    grad = pool_input_grad(np.array(x)[None, None], np.ones((1, 1, 1, 1)), "max", 2)
    np.testing.assert_array_equal(grad[0, 0], expected)


def test_max_gradient_of_padded_flat_windows_goes_to_their_first_in_bounds_pixel():
    # Window 3, stride 1, pad 1 over a constant 3x3 image: each window's first
    # in-bounds pixel is its top-left one clipped to the image.
    grad = pool_input_grad(
        np.zeros((1, 1, 3, 3)), np.ones((1, 1, 3, 3)), "max", 3, 1, 1
    )
    np.testing.assert_array_equal(grad[0, 0], [[4, 2, 0], [2, 1, 0], [0, 0, 0]])


def test_average_gradient_divides_by_the_in_bounds_count():
    # Window 2, stride 2, ceil mode on 3x3: windows of 4, 2, 2 and 1 pixels.
    grad = pool_input_grad(
        random((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), "avg", 2, 2, 0, True
    )
    expected = [[0.25, 0.25, 0.5], [0.25, 0.25, 0.5], [0.5, 0.5, 1.0]]
    np.testing.assert_allclose(grad[0, 0], expected, rtol=1e-15)


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize(
    ("shape", "window", "stride", "pad", "ceil_mode"),
    list(CASES.values()),
    ids=list(CASES),
)
def test_pool2d_grad_matches_the_loop_reference_even_with_ties(
    shape, window, stride, pad, ceil_mode, mode
):
    # Values in {0, 1, 2}: most max windows have ties.
    x = np.random.default_rng(1).integers(0, 3, shape).astype(np.float64)
    gz = random(reference_pool(x, mode, window, stride, pad, ceil_mode).shape, seed=2)
    xv, gzv = pt.tensor4("x"), pt.tensor4("gz")
    op = Pool2dGrad(mode, window, stride, pad, ceil_mode)
    grad = pytensor.function([xv, gzv], op(xv, gzv), mode=CVM)(x, gz)
    expected = reference_pool_grad(x, gz, mode, window, stride, pad, ceil_mode)
    np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-15)


GRADIENT_CASES = {
    "5x7, window 2, floor": ((2, 2, 5, 7), 2, None, 0, False),
    "5x7, window 3, stride 2, pad 1, ceil": ((1, 2, 5, 7), 3, 2, 1, True),
    "7x9, window (3, 2), stride (2, 1), MatConvNet pad, ceil": (
        (1, 1, 7, 9),
        (3, 2),
        (2, 1),
        (1, 0, 0, 1),
        True,
    ),
    "11x13, window 3, stride 1, pad 2": ((1, 1, 11, 13), 3, 1, 2, False),
}


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize(
    ("shape", "window", "stride", "pad", "ceil_mode"),
    list(GRADIENT_CASES.values()),
    ids=list(GRADIENT_CASES),
)
def test_pool2d_gradient_matches_finite_differences(
    shape, window, stride, pad, ceil_mode, mode
):
    verify_grad(
        Pool2d(mode, window, stride, pad, ceil_mode),
        [distinct(shape, seed=3)],
        rng=np.random.default_rng(4),
        mode=CVM,
    )


# Overlapping windows, padding, ceil mode and (5x7, window 2) tiles with a row and
# a column left over.
SECOND_DERIVATIVE_CASES = {
    case: GRADIENT_CASES[case]
    for case in (
        "5x7, window 2, floor",
        "5x7, window 3, stride 2, pad 1, ceil",
        "7x9, window (3, 2), stride (2, 1), MatConvNet pad, ceil",
    )
}


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize(
    ("shape", "window", "stride", "pad", "ceil_mode"),
    list(SECOND_DERIVATIVE_CASES.values()),
    ids=list(SECOND_DERIVATIVE_CASES),
)
def test_pool2d_grad_gradients_match_finite_differences(
    shape, window, stride, pad, ceil_mode, mode
):
    # Distinct values: no argmax changes within a finite-difference step, so the
    # gradient in x is 0 there, as the Op says.
    x = distinct(shape, seed=5)
    gz = random(reference_pool(x, mode, window, stride, pad, ceil_mode).shape, seed=6)
    verify_grad(
        Pool2dGrad(mode, window, stride, pad, ceil_mode),
        [x, gz],
        rng=np.random.default_rng(7),
        mode=CVM,
    )


@pytest.mark.parametrize(
    ("shape", "window", "stride", "pad", "ceil_mode"),
    list(SECOND_DERIVATIVE_CASES.values()),
    ids=list(SECOND_DERIVATIVE_CASES),
)
def test_max_grad_grad_gradients_match_finite_differences(
    shape, window, stride, pad, ceil_mode
):
    verify_grad(
        MaxPool2dGradGrad(window, stride, pad, ceil_mode),
        [distinct(shape, seed=8), random(shape, seed=9)],
        rng=np.random.default_rng(10),
        mode=CVM,
    )


@pytest.mark.parametrize(
    ("shape", "window", "stride", "pad", "ceil_mode"),
    list(CASES.values()),
    ids=list(CASES),
)
def test_max_grad_grad_reads_where_the_max_gradient_writes_even_with_ties(
    shape, window, stride, pad, ceil_mode
):
    # Values in {0, 1, 2}: most windows have ties, which both Ops must break alike
    # for one to be the other's transpose.
    settings = (window, stride, pad, ceil_mode)
    x = np.random.default_rng(11).integers(0, 3, shape).astype(np.float64)
    gx = random(shape, seed=12)
    gz = random(reference_pool(x, "max", *settings).shape, seed=13)
    xv, gxv, gzv = pt.tensor4("x"), pt.tensor4("gx"), pt.tensor4("gz")
    f = pytensor.function(
        [xv, gxv, gzv],
        [
            MaxPool2dGradGrad(*settings)(xv, gxv),
            Pool2dGrad("max", *settings)(xv, gzv),
        ],
        mode=CVM,
    )
    picked, grad = f(x, gx, gz)
    np.testing.assert_array_equal(picked, reference_grad_grad(x, gx, *settings))
    assert np.vdot(picked, gz) == pytest.approx(np.vdot(gx, grad), rel=1e-12)


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize(
    ("shape", "window", "stride", "pad", "ceil_mode"),
    list(SECOND_DERIVATIVE_CASES.values()),
    ids=list(SECOND_DERIVATIVE_CASES),
)
def test_second_derivative_of_pooling_matches_finite_differences(
    shape, window, stride, pad, ceil_mode, mode
):
    # cost = sum(pool(x)**2 * c); its gradient projected on v, differentiated again,
    # against central differences of numpy's gradient projected on v. With values
    # 0.1 apart no window's maximum moves within a step, and the projection is
    # linear there: central differences are exact up to rounding.
    settings = (window, stride, pad, ceil_mode)
    x = distinct(shape, seed=14)
    c = random(reference_pool(x, mode, *settings).shape, seed=15)
    v = random(shape, seed=16)
    xv = pt.tensor4("x")
    grad = pytensor.grad((Pool2d(mode, *settings)(xv) ** 2 * c).sum(), xv)
    second = pytensor.grad((grad * v).sum(), xv)
    grad_value, second_value = pytensor.function([xv], [grad, second], mode=CVM)(x)

    def first_derivative(x):
        return reference_pool_grad(
            x, 2 * c * reference_pool(x, mode, *settings), mode, *settings
        )

    np.testing.assert_allclose(grad_value, first_derivative(x), rtol=1e-12)
    (expected,) = central_differences(
        lambda x: np.vdot(first_derivative(x), v), [x], eps=1e-3
    )
    np.testing.assert_allclose(second_value, expected, rtol=1e-8, atol=1e-10)


def test_numba_max_grad_grad_matches_the_loop_reference_even_with_ties():
    import naah.ops.numba_backend  # noqa: F401  (registers the Numba kernels)

    settings = (3, 2, (1, 0, 1, 2), True)
    x = np.random.default_rng(17).integers(0, 3, (2, 2, 7, 9)).astype(np.float64)
    gx = random(x.shape, seed=18)
    xv, gxv = pt.tensor4("x"), pt.tensor4("gx")
    f = pytensor.function(
        [xv, gxv], MaxPool2dGradGrad(*settings)(xv, gxv), mode="NUMBA"
    )
    np.testing.assert_array_equal(f(x, gx), reference_grad_grad(x, gx, *settings))


def test_max_grad_grad_of_mismatched_shapes_or_dtypes_is_a_clear_error():
    xv, gxv = pt.tensor4("x"), pt.tensor4("gx")
    f = pytensor.function([xv, gxv], MaxPool2dGradGrad(2)(xv, gxv), mode=CVM)
    with pytest.raises(ValueError, match="input gradient has shape"):
        f(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 4, 5)))
    with pytest.raises(TypeError, match="float64 but input gradient is float32"):
        MaxPool2dGradGrad(2)(xv, pt.tensor4("gx", dtype="float32"))


def test_max_grad_grad_is_always_a_max_op_with_pool2d_settings():
    op = MaxPool2dGradGrad((3, 2), (2, 1), (1, 0), ceil_mode=True)
    assert op.mode == "max"
    assert op.settings == Pool2dGrad("max", (3, 2), (2, 1), (1, 0), True).settings
    assert op != Pool2dGrad("max", (3, 2), (2, 1), (1, 0), True)


def op_types(f):
    return {type(node.op) for node in f.maker.fgraph.toposort()}


@pytest.mark.parametrize(
    ("shape", "window", "stride", "pad", "ceil_mode"),
    list(CASES.values()),
    ids=list(CASES),
)
def test_output_shapes_are_inferred_without_running_the_ops(
    shape, window, stride, pad, ceil_mode
):
    xv, gzv = pt.tensor4("x"), pt.tensor4("gz")
    y = Pool2d("max", window, stride, pad, ceil_mode)(xv)
    grad = Pool2dGrad("max", window, stride, pad, ceil_mode)(xv, gzv)
    grad_grad = MaxPool2dGradGrad(window, stride, pad, ceil_mode)(xv, xv)
    f = pytensor.function([xv, gzv], [y.shape, grad.shape, grad_grad.shape], mode=CVM)
    assert not {Pool2d, Pool2dGrad, MaxPool2dGradGrad} & op_types(f)
    x = random(shape)
    expected = reference_pool(x, "max", window, stride, pad, ceil_mode).shape
    y_shape, grad_shape, grad_grad_shape = f(x, np.zeros(expected))
    assert tuple(y_shape) == tuple(grad_grad_shape) == expected
    assert tuple(grad_shape) == shape


@pytest.mark.parametrize(
    ("shape", "args", "expected"),
    [
        ((1, 3, 37, 53), ("max", 2), (1, 3, 18, 26)),
        ((1, 3, 37, 53), ("max", 2, 2, 0, True), (1, 3, 19, 27)),
        ((1, 3, 37, 53), ("avg", 3, 2, 1, True), (1, 3, 19, 27)),
        ((1, 3, 37, 53), ("avg", 3, 2, 1, False), (1, 3, 19, 27)),
        ((1, 3, 36, 52), ("avg", 3, 2, 0, False), (1, 3, 17, 25)),
        ((1, 3, 36, 52), ("avg", 3, 2, 0, True), (1, 3, 18, 26)),
        ((None, 3, 37, 53), ("max", 2), (None, 3, 18, 26)),
        ((1, 3, None, 53), ("max", 2), (1, 3, None, None)),
    ],
)
def test_static_output_shape_is_known_when_the_input_shape_is(shape, args, expected):
    assert Pool2d(*args)(pt.tensor4(shape=shape)).type.shape == expected


def test_pooling_an_input_smaller_than_the_window_is_a_clear_error():
    xv = pt.tensor4("x")
    f = pytensor.function([xv], Pool2d("max", 3)(xv), mode=CVM)
    with pytest.raises(ValueError, match="2x2 is smaller than the pooling window"):
        f(np.zeros((1, 1, 2, 2)))


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (pt.tensor3("x"), "4-d tensor"),
        (pt.tensor4("x", dtype="int64"), "float32 or float64"),
    ],
    ids=["3-d input", "integer input"],
)
def test_inputs_of_the_wrong_rank_or_dtype_are_type_errors(x, message):
    with pytest.raises(TypeError, match=message):
        Pool2d("max", 2)(x)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "min"}, "pooling must be 'max' or 'avg', got 'min'"),
        ({"mode": "average"}, "pooling must be 'max' or 'avg', got 'average'"),
        ({"window": 0}, "window"),
        ({"window": -2}, "window"),
        ({"window": (2, 2, 2)}, "window"),
        ({"stride": 0}, "stride"),
        ({"stride": (1, -1)}, "stride"),
        ({"pad": -1}, "padding"),
        ({"pad": (1, 1, 1)}, "padding"),
        ({"pad": (2, 0, 0, 0)}, "smaller than the window"),
        ({"pad": (0, 0, 2, 0)}, "smaller than the window"),
        ({"window": (3, 2), "pad": (0, 2)}, "smaller than the window"),
    ],
)
def test_bad_settings_are_value_errors(kwargs, message):
    settings = {"mode": "max", "window": 2} | kwargs
    with pytest.raises(ValueError, match=message):
        Pool2d(**settings)


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_a_valid_pooling_mode_is_returned_as_it_is(mode):
    assert check_pool_mode(mode) == mode


@pytest.mark.parametrize("mode", ["min", "MAX", "", None])
def test_a_pooling_mode_is_checked_with_one_message_naming_the_valid_ones(mode):
    expected = f"pooling must be 'max' or 'avg', got {mode!r}"
    with pytest.raises(ValueError) as raised:
        check_pool_mode(mode)
    assert str(raised.value) == expected
    with pytest.raises(ValueError) as raised:
        Pool2d(mode)
    assert str(raised.value) == expected


@pytest.mark.parametrize("pad", [(0, 2, 0, 0), (0, 0, 0, 2)], ids=["bottom", "right"])
def test_trailing_padding_as_large_as_the_window_is_rejected(pad):
    with pytest.raises(ValueError, match="smaller than the window"):
        Pool2d("max", 2, pad=pad)


@pytest.mark.parametrize(
    "same",
    [
        Pool2d("max", (2, 2), (2, 2), 0, False),
        Pool2d("max", 2, None, (0, 0), False),
        Pool2d("max", 2, 2, (0, 0, 0, 0), 0),
    ],
    ids=["pairs", "default stride", "MatConvNet padding"],
)
def test_equal_settings_give_equal_ops_with_equal_hashes(same):
    assert same == Pool2d("max", 2)
    assert hash(same) == hash(Pool2d("max", 2))


@pytest.mark.parametrize(
    "other",
    [
        Pool2d("avg", 2),
        Pool2d("max", 3),
        Pool2d("max", 2, 1),
        Pool2d("max", 2, pad=(1, 0, 1, 0)),
        Pool2d("max", 2, ceil_mode=True),
        Pool2dGrad("max", 2),
    ],
    ids=["avg", "window 3", "stride 1", "padding", "ceil mode", "gradient op"],
)
def test_different_settings_give_different_ops(other):
    assert other != Pool2d("max", 2)


def test_equal_poolings_of_the_same_input_are_merged():
    xv = pt.tensor4("x")
    out = Pool2d("max", 2)(xv) + pool2d(xv, "max", (2, 2), (2, 2), (0, 0, 0, 0))
    f = pytensor.function([xv], out, mode=CVM)
    assert sum(isinstance(n.op, Pool2d) for n in f.maker.fgraph.toposort()) == 1
    x = random((1, 2, 4, 6))
    np.testing.assert_array_equal(f(x), 2 * reference_pool(x, "max", 2))


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize(
    "case", ["37x53, window 2, floor", "5x7, window 3, stride 2, pad 1, ceil"]
)
def test_pooling_split_over_worker_threads_matches_the_loop_reference(case, mode):
    shape, window, stride, pad, ceil_mode = CASES[case]
    shape = (2, 5, *shape[2:])  # planes of two images shared between the workers
    x = np.random.default_rng(1).integers(0, 3, shape).astype(np.float64)
    gz = random(reference_pool(x, mode, window, stride, pad, ceil_mode).shape, seed=2)
    gx = random(shape, seed=3)
    xv, gzv, gxv = pt.tensor4("x"), pt.tensor4("gz"), pt.tensor4("gx")
    settings = (window, stride, pad, ceil_mode)
    grad_grad = (
        MaxPool2dGradGrad(*settings)(xv, gxv)
        if mode == "max"
        else Pool2d("avg", *settings)(gxv)
    )
    f = pytensor.function(
        [xv, gzv, gxv],
        [
            Pool2d(mode, *settings)(xv),
            Pool2dGrad(mode, *settings)(xv, gzv),
            grad_grad,
        ],
        mode=CVM,
    )
    with threadpool_limits(limits=2, user_api="blas"), threads.parallel():
        out, grad, grad_grad_value = f(x, gz, gx)
    expected = reference_pool(x, mode, *settings)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    expected_grad = reference_pool_grad(x, gz, mode, *settings)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-15)
    expected_grad_grad = (
        reference_grad_grad(x, gx, *settings)
        if mode == "max"
        else reference_pool(gx, "avg", *settings)
    )
    np.testing.assert_allclose(grad_grad_value, expected_grad_grad, rtol=1e-12)
