"""Networks assembled from naah's layers."""

from naah.models.vgg19 import VGG_19, Prediction

__all__ = ["VGG_19", "Prediction"]
