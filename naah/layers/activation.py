"""Activation layers (ReLU, Softmax) and the activation lookup used by other layers."""

from __future__ import annotations

from collections.abc import Callable

from pytensor.tensor.special import softmax
from pytensor.tensor.variable import TensorVariable

from naah.layers.base import Layer
from naah.ops.activation import relu as _relu_op

# An activation function: symbolic input to symbolic output.
Activation = Callable[[TensorVariable], TensorVariable]


def relu(x: TensorVariable) -> TensorVariable:
    """Rectified linear unit, ``max(x, 0)`` (naah's threaded :class:`~naah.ops.Relu`).

    Examples
    --------
    >>> import numpy as np, pytensor.tensor as pt
    >>> from naah.compile import function  # the mode naah compiles with
    >>> x = pt.vector("x")
    >>> function([x], relu(x))(np.array([-1.0, 2.0]))
    array([0., 2.])
    """
    return _relu_op(x)


def identity(x: TensorVariable) -> TensorVariable:
    """``x`` unchanged: the ``'linear'`` activation."""
    return x


ACTIVATIONS: dict[str, Activation] = {"relu": relu, "linear": identity}


def resolve_activation(activation: str | Callable | None) -> Activation:
    """An activation function from a name in :data:`ACTIVATIONS`, a callable or None.

    Examples
    --------
    >>> resolve_activation("relu") is relu, resolve_activation(None) is identity
    (True, True)
    """
    if activation is None:
        return identity
    if callable(activation):
        return activation
    try:
        return ACTIVATIONS[activation]
    except KeyError:
        raise ValueError(
            f"unknown activation {activation!r}; use one of {sorted(ACTIVATIONS)} or a "
            "callable"
        ) from None


class ReLU(Layer):
    """ReLU as a layer of its own, like MatConvNet's ``relu1_1``.

    Examples
    --------
    >>> import numpy as np, pytensor.tensor as pt
    >>> from naah.compile import function  # the mode naah compiles with
    >>> x = pt.tensor4("x")
    >>> y = ReLU("relu1_1")(x)
    >>> function([x], y)(np.array([[[[-1.0, 2.0]]]]))
    array([[[[0., 2.]]]])
    """

    def __call__(self, x: TensorVariable, *, training: bool = False) -> TensorVariable:
        return relu(x)


class Softmax(Layer):
    """Softmax over the channel axis (axis 1), like MatConvNet's ``prob`` layer.

    Works on (N, K) scores and on (N, K, H, W) score maps alike.

    Examples
    --------
    >>> import numpy as np, pytensor.tensor as pt
    >>> from naah.compile import function  # the mode naah compiles with
    >>> scores = pt.matrix("scores")
    >>> p = Softmax("prob")(scores)
    >>> function([scores], p)(np.log([[1.0, 3.0]])).round(6)
    array([[0.25, 0.75]])
    """

    def __call__(self, x: TensorVariable, *, training: bool = False) -> TensorVariable:
        return softmax(x, axis=1)
