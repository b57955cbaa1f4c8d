"""Networks assembled from naah's layers: symbolic models that compile nothing."""

from naah.models.luminance import LuminanceView
from naah.models.vgg19 import VGG_19
from naah.ops.pool import POOL_MODES

__all__ = ["POOL_MODES", "VGG_19", "LuminanceView"]
