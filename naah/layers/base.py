"""The Layer base class: named parameters held as shared variables, output on call."""

from __future__ import annotations

import numpy as np
import pytensor
from pytensor.tensor.sharedvar import TensorSharedVariable
from pytensor.tensor.variable import TensorVariable


class Layer:
    """A named step of a network that builds its symbolic output when called.

    A layer holds its parameters as PyTensor shared variables named
    ``<layer>.<param>`` (``conv1_1.W``, ``conv1_1.b``) and computes nothing until it
    is applied to an input, so one network serves the content image, the style
    image and the generated image alike (Lasagne's design).

    Parameters
    ----------
    name : str
        The layer's name; MatConvNet's (``conv4_2``, ``pool5``, ``fc6``) in VGG_19.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.params: dict[str, TensorSharedVariable] = {}

    def add_param(
        self, key: str, value: np.ndarray, dtype: str = "float32"
    ) -> TensorSharedVariable:
        """Register ``value`` as the shared variable ``<name>.<key>`` and return it."""
        shared = pytensor.shared(
            np.ascontiguousarray(value, dtype=dtype),
            name=f"{self.name}.{key}",
            borrow=True,
        )
        self.params[key] = shared
        return shared

    def __call__(self, x: TensorVariable, *, training: bool = False) -> TensorVariable:
        """Symbolic output for input ``x``; ``training`` switches dropout on."""
        raise NotImplementedError

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the output for a concrete input shape (default: unchanged)."""
        return tuple(input_shape)

    def __repr__(self) -> str:
        shapes = ", ".join(
            f"{key}={tuple(p.get_value(borrow=True).shape)}"
            for key, p in self.params.items()
        )
        return f"{type(self).__name__}({self.name!r}{', ' if shapes else ''}{shapes})"
