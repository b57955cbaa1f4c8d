"""naah: neural style transfer (Gatys, Ecker & Bethge 2015) on PyTensor."""

from naah import _runtime  # noqa: F401  (configures PyTensor before pytensor.tensor loads)

__version__ = "0.1.0"
