"""Tests for naah.compile: backend modes and the function wrapper."""

import sys
import warnings

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile import Function, UnusedInputError
from pytensor.link.jax.linker import JAXLinker
from pytensor.link.numba.linker import NumbaLinker
from pytensor.link.vm import VMLinker

from naah.compile import BACKENDS, function, get_mode
from naah.ops import conv2d, gram, pool2d


@pytest.mark.skipif(not pytensor.config.cxx, reason="needs a C compiler")
def test_c_backend_uses_the_c_vm_linker():
    mode = get_mode("c")
    assert isinstance(mode.linker, VMLinker)
    assert mode.linker.use_cloop


def test_default_backend_is_c():
    assert type(get_mode().linker) is type(get_mode("c").linker)
    assert get_mode().linker.use_cloop == get_mode("c").linker.use_cloop


def test_numba_backend_uses_the_numba_linker():
    assert isinstance(get_mode("numba").linker, NumbaLinker)


def test_jax_backend_uses_the_jax_linker_when_jax_is_installed():
    pytest.importorskip("jax")
    assert isinstance(get_mode("jax").linker, JAXLinker)


def test_jax_backend_without_jax_says_to_install_the_jax_extra(monkeypatch):
    # A None entry in sys.modules makes ``import jax`` raise ImportError,
    # whether or not jax is installed.
    monkeypatch.setitem(sys.modules, "jax", None)
    with pytest.raises(ImportError, match=r"naah\[jax\]"):
        get_mode("jax")


@pytest.mark.parametrize("backend", ["C", "cuda", "", "python"])
def test_unknown_backend_raises_listing_the_backends(backend):
    with pytest.raises(ValueError, match=f"unknown backend {backend!r}") as error:
        get_mode(backend)
    assert "c, numba, jax" in str(error.value)
    assert BACKENDS == ("c", "numba", "jax")


def test_function_compiles_and_runs_a_small_graph():
    x = pt.vector("x")
    y = pt.vector("y")
    f = function([x, y], [x * y, (x + y).sum()], name="small")
    product, total = f([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    np.testing.assert_array_equal(product, [4.0, 10.0, 18.0])
    assert total == 21.0
    assert f.name == "small"


def test_compiled_functions_copy_and_pickle_with_naahs_ops():
    import copy
    import pickle

    x = pt.tensor4("x")
    f = function([x], conv2d(x, np.ones((2, 1, 3, 3)), pad=1).sum())
    value = np.arange(16.0).reshape(1, 1, 4, 4)
    # Independent reference: a 3x3 box sum with zero padding, two kernels.
    padded = np.pad(value[0, 0], 1)
    expected = 2 * sum(
        padded[i : i + 4, j : j + 4].sum() for i in range(3) for j in range(3)
    )
    for g in (f, copy.copy(f), f.copy(), pickle.loads(pickle.dumps(f))):
        assert isinstance(g, Function)
        assert float(g(value)) == pytest.approx(expected)


def test_function_applies_updates_to_shared_variables():
    counter = pytensor.shared(np.float64(0.0), name="counter")
    step = pt.scalar("step")
    f = function([step], counter, updates={counter: counter + step})
    assert f(2.0) == 0.0
    assert f(3.0) == 2.0
    assert counter.get_value() == 5.0


def test_function_passes_extra_keyword_arguments_to_pytensor():
    x, unused = pt.vector("x"), pt.vector("unused")
    with pytest.raises(UnusedInputError, match="unused"):
        function([x, unused], 2 * x)
    f = function([x, unused], 2 * x, on_unused_input="ignore")
    np.testing.assert_array_equal(f([1.0], [0.0]), [2.0])


def test_compiling_naah_ops_in_the_c_mode_emits_no_warnings():
    x = pt.tensor4("x", dtype="float32")
    w = pt.tensor4("w", dtype="float32")
    features = pool2d(conv2d(x, w, pad=1), "avg", window=2)
    cost = gram(features.reshape((features.shape[1], -1))).sum()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = function([x, w], [cost, pytensor.grad(cost, x)], backend="c")
        rng = np.random.default_rng(0)
        value, grad = f(
            rng.standard_normal((1, 2, 6, 6)).astype("float32"),
            rng.standard_normal((3, 2, 3, 3)).astype("float32"),
        )
    assert [str(w.message) for w in caught] == []
    assert np.isfinite(value) and grad.shape == (1, 2, 6, 6)
