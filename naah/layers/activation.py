"""Activation layers (ReLU, Softmax) and the activation lookup used by other layers."""

from __future__ import annotations

from collections.abc import Callable

from pytensor.tensor.special import softmax

from naah import ops
from naah.layers.base import Layer


def relu(x):
    """Rectified linear unit, ``max(x, 0)`` (naah's threaded :class:`~naah.ops.Relu`)."""
    return ops.relu(x)


def identity(x):
    return x


ACTIVATIONS: dict[str, Callable] = {"relu": relu, "linear": identity}


def resolve_activation(activation: str | Callable | None) -> Callable:
    """An activation function from a name in :data:`ACTIVATIONS`, a callable or None."""
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
    >>>     >>> y = ReLU("relu1_1")(pt.tensor4("x"))
    """

    def __call__(self, x, *, training: bool = False):
        return relu(x)


class Softmax(Layer):
    """Softmax over the channel axis (axis 1), like MatConvNet's ``prob`` layer.

    Works on (N, K) scores and on (N, K, H, W) score maps alike.

    Examples
    --------
    >>>     >>> p = Softmax("prob")(pt.matrix("scores"))
    """

    def __call__(self, x, *, training: bool = False):
        return softmax(x, axis=1)
