"""Tests for naah.layers.noise: Dropout's masks, scaling, seeds and updates."""

import numpy as np
import pytensor.tensor as pt
import pytest

from naah.compile import function
from naah.layers import Dropout

# 250 000 units: the fraction dropped has a standard deviation below 0.001.
BIG = (500, 500)


def dropout_function(layer, dtype="float32", updates=True):
    x = pt.matrix("x", dtype=dtype)
    y = layer(x, training=True)
    return function([x], y, updates=layer.updates if updates else None)


def test_dropout_at_inference_is_the_identity_itself():
    x = pt.matrix("x", dtype="float32")
    layer = Dropout("drop6", p=0.5, seed=0)
    assert layer(x) is x
    assert layer(x, training=False) is x
    assert layer.updates == {}
    assert layer.params == {}


def test_dropout_with_p_zero_is_the_identity_even_in_training():
    x = pt.matrix("x", dtype="float32")
    assert Dropout("drop", p=0.0, seed=0)(x, training=True) is x


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_in_training_zeroes_about_p_of_the_units_and_scales_the_rest(p):
    x = np.ones(BIG, dtype="float32")
    got = dropout_function(Dropout("drop", p=p, seed=1))(x)
    dropped = got == 0
    assert abs(dropped.mean() - p) < 0.01
    np.testing.assert_allclose(got[~dropped], 1 / (1 - p), rtol=1e-6)


def test_dropout_keeps_the_expected_value_of_its_input():
    x = np.random.default_rng(0).uniform(1, 2, BIG).astype("float32")
    got = dropout_function(Dropout("drop", p=0.5, seed=2))(x)
    assert abs(got.mean() / x.mean() - 1) < 0.02
    kept = got != 0
    np.testing.assert_allclose(got[kept], 2 * x[kept], rtol=1e-6)


def test_dropout_with_the_same_seed_draws_the_same_mask():
    x = np.ones((50, 40), dtype="float32")
    first = dropout_function(Dropout("drop", p=0.5, seed=42))(x)
    second = dropout_function(Dropout("drop", p=0.5, seed=42))(x)
    np.testing.assert_array_equal(first, second)


def test_dropout_with_different_seeds_draws_different_masks():
    x = np.ones((50, 40), dtype="float32")
    first = dropout_function(Dropout("drop", p=0.5, seed=1))(x)
    second = dropout_function(Dropout("drop", p=0.5, seed=2))(x)
    assert not np.array_equal(first == 0, second == 0)


def test_dropout_draws_a_new_mask_each_call_when_compiled_with_its_updates():
    layer = Dropout("drop7", p=0.5, seed=0)
    f = dropout_function(layer)
    assert set(layer.updates) == {layer.rng}
    x = np.ones((50, 40), dtype="float32")
    assert not np.array_equal(f(x) == 0, f(x) == 0)


def test_dropout_repeats_its_mask_when_compiled_without_its_updates():
    f = dropout_function(Dropout("drop7", p=0.5, seed=0), updates=False)
    x = np.ones((50, 40), dtype="float32")
    np.testing.assert_array_equal(f(x), f(x))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dropout_keeps_the_input_dtype(dtype):
    layer = Dropout("drop", p=0.5, seed=0)
    x = pt.matrix("x", dtype=dtype)
    y = layer(x, training=True)
    assert y.type.dtype == dtype
    got = function([x], y, updates=layer.updates)(np.ones((4, 5), dtype=dtype))
    assert got.dtype == dtype


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_dropout_rejects_a_probability_outside_zero_to_one(p):
    with pytest.raises(
        ValueError, match=r"drop6: dropout probability must be in \[0, 1\)"
    ):
        Dropout("drop6", p=p)
