"""naah: neural style transfer (Gatys, Ecker & Bethge 2015) on PyTensor.

Examples
--------
>>> import naah
>>> st = naah.StyleTransfer("imagenet-vgg-verydeep-19.mat")  # doctest: +SKIP
>>> result = st.run("tubingen.jpg", "starry_night.jpg")  # doctest: +SKIP
>>> result.save("out.png")  # doctest: +SKIP
>>> naah.video("clip.mp4", "starry_night.jpg", "clip_starry.mp4")  # doctest: +SKIP
"""

from naah import _runtime  # noqa: F401, I001  (imports pytensor.tensor without its pip BLAS warning)

from naah import metrics
from naah._version import __version__
from naah.io.images import load_image, save_image
from naah.io.weights import VGGWeights, WeightsError, load_weights
from naah.models import VGG_19
from naah.runtime import Runtime
from naah.settings import Settings
from naah.style_transfer import StyleResult, StyleTransfer, video
from naah.video_transfer import VideoResult


__all__ = [
    "VGG_19",
    "Runtime",
    "Settings",
    "StyleResult",
    "StyleTransfer",
    "VGGWeights",
    "VideoResult",
    "WeightsError",
    "__version__",
    "load_image",
    "load_weights",
    "metrics",
    "save_image",
    "video",
]
