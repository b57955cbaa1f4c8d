r"""Normalised VGG-19 weights: every filter's mean rectified activation becomes 1.

Gatys, Ecker & Bethge (2015), section 2: "We normalized the network by scaling the
weights such that the mean activation of each convolutional filter over images and
positions is equal to one." With :math:`m_l[o]` the mean of
:math:`\mathrm{relu}(\mathrm{conv}_l)` of the *original* network for filter
:math:`o`, over every position of every image, each convolution becomes

.. math::

    W'_l[o, i] = W_l[o, i] \, \frac{m_{l-1}[i]}{m_l[o]}, \qquad
    b'_l[o] = \frac{b_l[o]}{m_l[o]}, \qquad m_0 = 1,

so that its rectified output is the original's divided by :math:`m_l` (the ReLU,
max pooling and average pooling all commute with a positive per-channel scale).
The normalised network computes the same function up to those scales: its mean
activations are 1 by construction, which is what makes loss weights carry over
from one layer to another. A filter that never activates on the images
(:math:`m_l[o] = 0`, a *dead* filter) is left as it is and counts as
:math:`m_l[o] = 1` for the next layer. fc6–fc8 are not normalised: fc6's kernel
absorbs conv5_4's scales, so the class scores are those of the original network.

:func:`normalize_weights` does this in memory, :func:`write_normalized_mat` writes
the result as a MatConvNet file that marks itself as normalised
(``meta.naah_normalized``), :func:`normalize_file` does both for the command line,
and :func:`is_normalized` / :func:`normalization_info` recognise such a file.
:data:`NORMALIZED_DEFAULT_ALPHA` and :data:`NORMALIZED_DEFAULT_BETA` are loss
weights that suit it (see :func:`normalized_loss_weights`).

Examples
--------
The examples that measure a network are skipped as doctests: the stand-in
weights' random filters die on random images, and the warning that says so fails
them; ``tests/test_normalize.py`` runs the same calls on weights built to live.

>>> import os, tempfile, numpy as np
>>> from naah.io import load_weights
>>> from naah.testing import write_vgg19_mat
>>> folder = tempfile.mkdtemp()
>>> weights = load_weights(write_vgg19_mat(os.path.join(folder, "vgg19.mat")))
>>> image = np.random.default_rng(0).uniform(0, 255, (32, 32, 3))
>>> normalized = normalize_weights(weights, [image], size=32)  # doctest: +SKIP
>>> path = write_normalized_mat(normalized, os.path.join(folder, "norm.mat"))
... # doctest: +SKIP
>>> is_normalized(path), is_normalized(weights)  # doctest: +SKIP
(True, False)
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytensor.tensor as pt
import scipy.io
from PIL import Image

from naah._version import __version__
from naah.architecture import (
    CHANNELS_PER_BLOCK,
    CONV_LAYERS,
    IMAGE_SIZE,
    MATCONVNET_LAYERS,
    WEIGHT_LAYERS,
)
from naah.compile import function
from naah.io.files import write_atomically
from naah.io.images import load_image, preprocess
from naah.io.weights import ConvParams, VGGWeights, load_meta, load_weights
from naah.models import VGG_19
from naah.ops.pool import check_pool_mode
from naah.runtime import DEFAULT, Runtime

__all__ = [
    "NORMALIZED_DEFAULT_ALPHA",
    "NORMALIZED_DEFAULT_BETA",
    "DeadFilterWarning",
    "NormalizationInfo",
    "NormalizationReport",
    "NormalizedWeights",
    "image_files",
    "is_normalized",
    "mean_activations",
    "normalization_info",
    "normalize_file",
    "normalize_weights",
    "normalized_loss_weights",
    "write_normalized_mat",
]

ImageLike = str | os.PathLike | Image.Image | np.ndarray

# Images are measured at VGG's training size unless told otherwise.
DEFAULT_SIZE = IMAGE_SIZE
# What normalize_file reads from a folder (Pillow reads them all).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
# The struct under ``meta`` that marks a file as normalised; MATLAB field names are
# letters, digits and underscores.
MARKER = "naah_normalized"
METHOD = "mean rectified activation 1 per conv filter (Gatys et al. 2015)"
# Kernel values rescaled at a time: bounds the float64 temporary for fc6 (100 M
# values in the real network) to 32 MB.
RESCALE_BLOCK_VALUES = 1 << 22
# MatConvNet's meta.normalization for the VGG models (as naah.testing writes it),
# in an order that puts averageImage third: scripts that read the current release
# positionally (``meta['normalization'][0][0][0][0][2]``) find the mean there.
NORMALIZATION_FIELDS = {
    "imageSize": [[IMAGE_SIZE, IMAGE_SIZE, 3]],
    "interpolation": "bilinear",
    "averageImage": None,  # the weights' mean pixel, 1x1x3
    "keepAspect": np.array([[True]]),
    "border": [[32, 32]],
    "cropSize": [[0.875]],
}

# Loss weights of Gatys' own code for the normalised VGG-19: NeuralImageSynthesis,
# ExampleNotebooks/BasicStyleTransfer.ipynb, "Standard parameters for the
# normalised vgg-19 net": sw = 1e9 / len(style layers) for each style layer and
# cw = 1e6, on torch's nn.MSECriterion (a mean) of F and of the Gram matrix F F^T / M.
GATYS_NORMALIZED_STYLE_WEIGHT = 1e9  # summed over the style layers
GATYS_NORMALIZED_CONTENT_WEIGHT = 1e6
# In naah's losses (naah.losses: L_content = ½Σ(F - P)², E_l = Σ(G - A)² / (4N²M²),
# w_l = 1/L) those are α = 1 and β = 2 sw N_c M_c / cw: N_c M_c, conv4_2's
# channels times positions, is 512 × 64 × 64 for a 512 × 512 content image.
NORMALIZED_DEFAULT_ALPHA = 1.0
NORMALIZED_DEFAULT_BETA = (
    2 * GATYS_NORMALIZED_STYLE_WEIGHT / GATYS_NORMALIZED_CONTENT_WEIGHT * 512 * 64 * 64
)


class DeadFilterWarning(UserWarning):
    """Some filters never activate on the images; they were left unscaled."""


@dataclass(frozen=True, eq=False)
class NormalizedWeights(VGGWeights):
    """:class:`~naah.io.weights.VGGWeights` rescaled by :func:`normalize_weights`.

    Usable wherever VGGWeights are (``VGG_19(normalized)``); ``params`` hold the
    normalised kernels, ``source`` is the original file's.

    Attributes
    ----------
    means : dict of str to ndarray of float64
        Per conv layer, each filter's mean rectified activation in the *original*
        network over the images and positions: the :math:`m_l` divided out.
    image_count : int
        Images measured.
    size : int or None
        Long edge they were resized to (None: their own sizes).
    pooling : {'max', 'avg'}
        Pooling of the network that was measured.
    """

    means: dict[str, np.ndarray]
    image_count: int
    size: int | None
    pooling: str

    @property
    def dead_filters(self) -> dict[str, tuple[int, ...]]:
        """Per layer that has some, the (0-based) filters that never activated."""
        return _dead(self.means)

    def __repr__(self) -> str:
        dead = sum(len(v) for v in self.dead_filters.values())
        return (
            f"NormalizedWeights({len(self.params)} layers, widths={self.widths()}, "
            f"{self.image_count} images at size {self.size}, pooling="
            f"{self.pooling!r}, {dead} dead filters, from "
            f"{os.path.basename(self.source.path)!r})"
        )


@dataclass(frozen=True)
class NormalizationInfo:
    """What a normalised file says about its normalisation (``meta.naah_normalized``).

    Attributes
    ----------
    image_count : int
    size : int or None
        Long edge of the measured images (None: their own sizes).
    pooling : str
    means : dict of str to ndarray of float64
        The original network's mean activations that were divided out.
    source : str
        The file that was normalised (name and SHA-256 where known).
    naah_version : str
    """

    image_count: int
    size: int | None
    pooling: str
    means: dict[str, np.ndarray]
    source: str
    naah_version: str

    @property
    def dead_filters(self) -> dict[str, tuple[int, ...]]:
        """Per layer that has some, the (0-based) filters left unscaled."""
        return _dead(self.means)


@dataclass(frozen=True)
class NormalizationReport:
    """What :func:`normalize_file` did.

    Attributes
    ----------
    output, weights_path : Path
    images : tuple of Path
    size : int or None
    pooling : str
    dead_filters : dict of str to tuple of int
    seconds : dict of str to float
        Wall time of each step: ``"load"``, ``"measure"``, ``"write"`` and, with
        ``verify``, ``"verify"``.
    deviation : dict of str to float or None
        With ``verify``: per conv layer, the largest ``|mean activation - 1|`` of
        the written network's live filters over the same images.
    """

    output: Path
    weights_path: Path
    images: tuple[Path, ...]
    size: int | None
    pooling: str
    dead_filters: dict[str, tuple[int, ...]]
    seconds: dict[str, float]
    deviation: dict[str, float] | None = None

    def __str__(self) -> str:
        size = "their own sizes" if self.size is None else f"long edge {self.size}"
        lines = [
            f"wrote {self.output} (normalised on {len(self.images)} images at "
            f"{size}, {self.pooling} pooling)",
            "time: "
            + ", ".join(f"{step} {s:.1f} s" for step, s in self.seconds.items()),
        ]
        for layer, filters in self.dead_filters.items():
            lines.append(f"dead filters left unscaled: {layer} {list(filters)}")
        if self.deviation is not None:
            worst = max(self.deviation.values())
            lines.append(f"largest |mean activation - 1|: {worst:.2e}")
        return "\n".join(lines)


# -- measuring and rescaling -----------------------------------------------------------
def mean_activations(
    weights: VGGWeights,
    images: ImageLike | Sequence[ImageLike],
    *,
    size: int | None = DEFAULT_SIZE,
    pooling: str = "max",
    backend: str = "c",
    runtime: Runtime = DEFAULT,
) -> dict[str, np.ndarray]:
    """Each conv filter's mean rectified activation over images and positions.

    Every position of every image counts once (a larger image weighs more).

    Parameters
    ----------
    weights : VGGWeights
        Holding conv1_1 and the conv layers after it that are to be measured.
    images : image or sequence of images
        Paths, Pillow images or (H, W, 3) RGB arrays in 0–255 (an (N, H, W, 3)
        array is N images), as :func:`naah.io.images.load_image` takes them.
    size : int or None
        Resize each image so its long edge is ``size`` (one already that size is
        not resampled); None keeps each image's size.
    pooling : {'max', 'avg'}
    backend : {'c', 'numba', 'jax'}
        See :func:`naah.compile.function`.
    runtime : Runtime
        Threads and memory policy of the evaluation.

    Returns
    -------
    dict of str to ndarray of float64, shape (filters,)
        In layer order, one entry per conv layer of ``weights``.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from naah.io import load_weights
    >>> from naah.testing import write_vgg19_mat
    >>> weights = load_weights(write_vgg19_mat(os.path.join(tempfile.mkdtemp(), "v.mat")))
    >>> means = mean_activations(weights, np.zeros((32, 32, 3)), size=None)
    ... # doctest: +SKIP
    >>> means["conv1_1"].shape  # doctest: +SKIP
    (4,)
    """
    check_pool_mode(pooling)
    convs = _conv_weights(weights)
    listed = _as_list(images)
    if not listed:
        raise ValueError(
            "no images to measure the activations on: pass at least one (Gatys et "
            "al. averaged over many photographs)"
        )
    net = VGG_19(convs, pooling=pooling)
    x = pt.tensor4("images", dtype="float32")
    # A conv layer's name stands for its rectified output.
    features = net.features(x, list(convs.params))
    outputs = []
    for feature in features.values():
        outputs += [
            feature.sum(axis=(0, 2, 3), dtype="float64"),
            feature.shape[0] * feature.shape[2] * feature.shape[3],
        ]
    measure = function([x], outputs, backend=backend)
    sums = {name: np.zeros(p.kernel.shape[0]) for name, p in convs.params.items()}
    counts = dict.fromkeys(sums, 0)
    with runtime.activate(backend):
        for batch in _batches(listed, size, weights.mean_pixel, list(sums)[-1]):
            values = measure(batch)
            for k, name in enumerate(sums):
                sums[name] += values[2 * k]
                counts[name] += int(values[2 * k + 1])
    means = {name: sums[name] / counts[name] for name in sums}
    for name, mean in means.items():
        if not np.all(np.isfinite(mean)):
            raise ValueError(
                f"the mean activations of {name} overflowed to infinity or NaN; the "
                "weights are not a working VGG-19 (load the file again)"
            )
    return means


def normalize_weights(
    weights: VGGWeights | str | os.PathLike,
    images: ImageLike | Sequence[ImageLike],
    *,
    size: int | None = DEFAULT_SIZE,
    pooling: str = "max",
    backend: str = "c",
    runtime: Runtime = DEFAULT,
) -> NormalizedWeights:
    """Rescale VGG-19 so each conv filter's mean rectified activation is 1.

    See the module docstring for the formula. Only conv1_1 to conv5_4 are
    normalised; fc6's kernel takes conv5_4's scales so fc6–fc8 compute what they
    did.

    Parameters
    ----------
    weights : VGGWeights, str or path-like
        The network (a file is read with :func:`naah.io.load_weights`).
    images : image or sequence of images
        The images to measure, as :func:`mean_activations` takes them. Gatys et
        al. do not say which images they used; many varied photographs give a
        network that does not depend on any one picture.
    size, pooling, backend, runtime
        As :func:`mean_activations`. The scales commute with both poolings, but
        the means after pool1 differ between them: measure with the pooling you
        will run.

    Returns
    -------
    NormalizedWeights

    Raises
    ------
    ValueError
        If there are no images, an image is too small to reach the last conv
        layer, or the weights hold NaN or infinity.

    Warns
    -----
    DeadFilterWarning
        If some filters never activate on the images (they are left unscaled).

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from naah.io import load_weights
    >>> from naah.testing import write_vgg19_mat
    >>> weights = load_weights(write_vgg19_mat(os.path.join(tempfile.mkdtemp(), "v.mat")))
    >>> image = np.random.default_rng(0).uniform(0, 255, (32, 32, 3))
    >>> normalized = normalize_weights(weights, [image], size=32)  # doctest: +SKIP
    >>> after = mean_activations(normalized, [image], size=32)  # doctest: +SKIP
    >>> bool(np.allclose(after["conv3_1"], 1, atol=1e-5))  # doctest: +SKIP
    True
    """
    if not isinstance(weights, VGGWeights):
        weights = load_weights(weights)
    _check_finite(weights)
    listed = _as_list(images)
    means = mean_activations(
        weights, listed, size=size, pooling=pooling, backend=backend, runtime=runtime
    )
    dead = _dead(means)
    if dead:
        which = "; ".join(f"{layer} {list(f)}" for layer, f in dead.items())
        warnings.warn(
            f"{sum(map(len, dead.values()))} filters never activate on these "
            f"images and are left unscaled ({which}). More or more varied images "
            "may wake them.",
            DeadFilterWarning,
            stacklevel=2,
        )
    fields = {f.name: getattr(weights, f.name) for f in dataclasses.fields(VGGWeights)}
    fields["params"] = _rescaled(weights.params, means)
    return NormalizedWeights(
        **fields,
        means=means,
        image_count=len(listed),
        size=size,
        pooling=pooling,
    )


def _rescaled(
    params: Mapping[str, ConvParams], means: Mapping[str, np.ndarray]
) -> dict[str, ConvParams]:
    incoming = np.ones(params[WEIGHT_LAYERS[0]].kernel.shape[1])  # m_0: RGB
    rescaled = {}
    for name, conv in params.items():
        outgoing = np.ones(conv.kernel.shape[0])
        if name in means:
            outgoing = np.where(means[name] > 0, means[name], 1.0)  # dead: m = 1
        if np.all(incoming == 1) and np.all(outgoing == 1):
            rescaled[name] = conv  # fc7, fc8: nothing to do, no copy
        else:
            factor = incoming[np.newaxis, :] / outgoing[:, np.newaxis]
            kernel = _scaled_kernel(conv.kernel, factor)
            bias = (conv.bias / outgoing).astype(np.float32)
            rescaled[name] = ConvParams(kernel, bias, conv.pad, conv.stride)
        if _non_finite(rescaled[name]):
            raise ValueError(
                f"rescaling {name} overflowed float32: its smallest mean activation "
                f"is {outgoing.min():.3g}; measure on more or larger images"
            )
        incoming = outgoing
    return rescaled


def _scaled_kernel(kernel: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """``kernel * factor[:, :, None, None]`` rounded once to float32, in blocks of
    output channels so no float64 copy of a whole fc6 kernel is made."""
    out = np.empty_like(kernel, dtype=np.float32)
    rows = max(1, RESCALE_BLOCK_VALUES // max(1, kernel[0].size))
    for start in range(0, kernel.shape[0], rows):
        block = slice(start, start + rows)
        out[block] = kernel[block] * factor[block, :, np.newaxis, np.newaxis]
    return out


def _dead(means: Mapping[str, np.ndarray]) -> dict[str, tuple[int, ...]]:
    found = {name: tuple(np.flatnonzero(m == 0).tolist()) for name, m in means.items()}
    return {name: filters for name, filters in found.items() if filters}


def _conv_weights(weights: VGGWeights) -> VGGWeights:
    """``weights`` with only its conv layers, which must run from conv1_1 on."""
    present = [name for name in CONV_LAYERS if name in weights.params]
    if not present or present != list(CONV_LAYERS[: len(present)]):
        raise ValueError(
            f"the weights hold conv layers {present or 'none'}; normalising needs "
            "conv1_1 and every conv layer after it up to the last one wanted: load "
            "the file with layers=None"
        )
    return dataclasses.replace(weights, params={n: weights.params[n] for n in present})


def _check_finite(weights: VGGWeights) -> None:
    for name, conv in weights.params.items():
        bad = _non_finite(conv)
        if bad:
            raise ValueError(
                f"the weights of {name} hold {bad:,} NaN or infinite values; the "
                "weights file is damaged: download it again"
            )


def _non_finite(conv: ConvParams) -> int:
    return sum(
        int(np.size(values) - np.count_nonzero(np.isfinite(values)))
        for values in (conv.kernel, conv.bias)
    )


# -- images ----------------------------------------------------------------------------
def _as_list(images: ImageLike | Sequence[ImageLike]) -> list[ImageLike]:
    if isinstance(images, np.ndarray):
        return list(images) if images.ndim == 4 else [images]
    if isinstance(images, (str, os.PathLike, Image.Image)):
        return [images]
    return list(images)


def _batches(
    images: list[ImageLike],
    size: int | None,
    mean_pixel: np.ndarray,
    last_layer: str,
) -> Iterable[np.ndarray]:
    """Each image as a (1, 3, H, W) batch, loaded when needed: a folder of
    thousands of photographs never sits in memory at once."""
    # Each block's first conv sees the input pooled once per block before it.
    smallest = 2 ** (int(last_layer[len("conv")]) - 1)
    for index, image in enumerate(images):
        rgb = load_image(image, long_edge=size)
        if min(rgb.shape[:2]) < smallest:
            shown = image if isinstance(image, (str, os.PathLike)) else f"#{index}"
            raise ValueError(
                f"image {shown} is {rgb.shape[0]}x{rgb.shape[1]} after resizing; "
                f"{last_layer} needs at least {smallest} pixels on each side: pass "
                "a larger size= or a less elongated image"
            )
        yield preprocess(rgb, mean_pixel)


def image_files(images: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """A folder's JPEG and PNG files (sorted by name), or the given paths.

    Examples
    --------
    >>> [p.name for p in image_files("data")][:2]  # doctest: +SKIP
    ['composition_vii.jpg', 'shipwreck.jpg']
    """
    if isinstance(images, (str, os.PathLike)):
        path = Path(images)
        if path.is_dir():
            found = sorted(
                p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
            )
            if not found:
                raise ValueError(
                    f"no images in {path}: it has no {', '.join(IMAGE_SUFFIXES)} "
                    "files; pass a folder of photographs"
                )
            return found
        paths = [path]
    else:
        paths = [Path(p) for p in images]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"no image file at {', '.join(missing)}")
    if not paths:
        raise ValueError("no images given: pass a folder or at least one image file")
    return paths


# -- files -----------------------------------------------------------------------------
def write_normalized_mat(
    weights: NormalizedWeights, path: str | os.PathLike, *, compression: bool = False
) -> Path:
    """Write normalised weights as a MatConvNet ``.mat`` file (current release).

    The layout is ``imagenet-vgg-verydeep-19.mat``'s (``layers``: the 43 layers;
    ``meta.normalization``, ``meta.classes``), so :func:`naah.io.load_weights`,
    MatConvNet and scripts written for the original file read it. ``meta`` also
    holds ``naah_normalized``: the images, size and pooling measured and the means
    divided out (``means.conv1_1`` ...), which :func:`normalization_info` reads.
    The file is written to a temporary name and renamed, so a failure leaves no
    partial file.

    Parameters
    ----------
    weights : NormalizedWeights
        With all 19 weight layers (load the original with ``layers=None``).
    path : str or path-like
    compression : bool
        Compress as MATLAB's ``-v7`` does. float32 weights barely compress (the
        published file holds 575 MB of parameters in 535 MB), and compressing a
        full-size network took 63 s against 12 s uncompressed here, so the
        default writes ``-v6``.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> write_normalized_mat(normalized, "vgg19-normalized.mat")  # doctest: +SKIP
    PosixPath('vgg19-normalized.mat')
    """
    if not isinstance(weights, NormalizedWeights):
        raise TypeError(
            "write_normalized_mat writes what normalize_weights returns, got "
            f"{type(weights).__name__}; call normalize_weights(weights, images) first"
        )
    missing = [name for name in WEIGHT_LAYERS if name not in weights.params]
    if missing:
        raise ValueError(
            f"a MatConvNet file holds all 19 weight layers; these are missing: "
            f"{', '.join(missing)}. Load the original with layers=None before "
            "normalising."
        )
    path = Path(path)
    variables = {"meta": _meta(weights), "layers": _layers(weights.params)}
    write_atomically(
        path,
        lambda file: scipy.io.savemat(
            file, variables, do_compression=compression, oned_as="row"
        ),
    )
    return path


def _meta(weights: NormalizedWeights) -> dict[str, Any]:
    normalization = dict(NORMALIZATION_FIELDS)
    normalization["averageImage"] = weights.mean_pixel.astype(np.float32).reshape(
        1, 1, 3
    )
    meta: dict[str, Any] = {
        "inputs": {"name": "data", "size": _matlab([[IMAGE_SIZE, IMAGE_SIZE, 3, 10]])}
    }
    meta["normalization"] = {k: _matlab(v) for k, v in normalization.items()}
    if weights.class_names is not None and weights.class_descriptions is not None:
        meta["classes"] = {
            "name": _cell(weights.class_names),
            "description": _cell(weights.class_descriptions),
        }
    source = os.path.basename(weights.source.path)
    if weights.source.sha256:
        source += f" (SHA-256 {weights.source.sha256})"
    meta[MARKER] = {
        "method": METHOD,
        "images": float(weights.image_count),
        "size": float(weights.size or 0),  # 0: each image at its own size
        "pooling": weights.pooling,
        "means": {n: m.reshape(1, -1) for n, m in weights.means.items()},
        "source": source,
        "naah_version": __version__,
    }
    return meta


def _layers(params: Mapping[str, ConvParams]) -> np.ndarray:
    precious = np.array([[False]])
    layers = []
    for layer in MATCONVNET_LAYERS:
        entry: dict[str, Any] = {"name": layer.name, "type": layer.type}
        if layer.type == "conv":
            conv = params[layer.name]
            matlab_kernel = np.ascontiguousarray(conv.kernel.transpose(2, 3, 1, 0))
            entry |= {
                "weights": _cell([matlab_kernel, conv.bias.reshape(-1, 1)]),
                "size": _matlab([matlab_kernel.shape]),
                "pad": _matlab([conv.pad]),
                "stride": _matlab([conv.stride]),
                "precious": precious,
                "dilate": _matlab([[1]]),
                "opts": np.empty((0, 0), dtype=object),
            }
        elif layer.type == "relu":
            entry |= {"leak": _matlab([[0]]), "precious": precious}
        elif layer.type == "pool":
            entry |= {
                "method": "max",
                "pool": _matlab([[2, 2]]),
                "stride": _matlab([[2, 2]]),
                "pad": _matlab([[0, 0, 0, 0]]),
                "precious": precious,
                "opts": np.empty((0, 0), dtype=object),
            }
        else:
            entry["precious"] = precious
        layers.append(entry)
    return _cell(layers)


def _matlab(value: Any) -> Any:
    """Numbers as MATLAB doubles; text, arrays and cells as they are."""
    if value is None or isinstance(value, (str, np.ndarray)):
        return value
    return np.array(value, dtype=np.float64)


def _cell(items: Iterable[Any]) -> np.ndarray:
    values = list(items)
    cell = np.empty((1, len(values)), dtype=object)
    for i, value in enumerate(values):
        cell[0, i] = value
    return cell


def normalization_info(
    weights: VGGWeights | str | os.PathLike,
) -> NormalizationInfo | None:
    """How a file or weights were normalised, or None if they were not.

    Parameters
    ----------
    weights : VGGWeights, str or path-like
        :class:`NormalizedWeights`, weights loaded from a file (the file is
        asked), or a file path. Only ``meta`` is read, not the layers.

    Returns
    -------
    NormalizationInfo or None
        None for any file without the marker :func:`write_normalized_mat` writes,
        the original MatConvNet and Keras files included.

    Raises
    ------
    FileNotFoundError
        If there is no file at the path.
    naah.io.WeightsError
        If it is not a regular file, or a MAT-file or HDF5 file that is truncated
        or corrupt (read as :func:`naah.io.weights.load_meta` reads it).

    Examples
    --------
    >>> normalization_info("imagenet-vgg-verydeep-19.mat") is None  # doctest: +SKIP
    True
    """
    if isinstance(weights, NormalizedWeights):
        return NormalizationInfo(
            weights.image_count,
            weights.size,
            weights.pooling,
            weights.means,
            os.path.basename(weights.source.path),
            __version__,
        )
    path = Path(weights.source.path if isinstance(weights, VGGWeights) else weights)
    if not path.exists():
        raise FileNotFoundError(f"no weights file at {path}")
    marker = _read_marker(path)
    return None if marker is None else _interpret_marker(marker, path)


def is_normalized(weights: VGGWeights | str | os.PathLike) -> bool:
    """Whether weights, or a weights file, were normalised by naah.

    Examples
    --------
    >>> is_normalized("vgg19-normalized.mat")  # doctest: +SKIP
    True
    """
    return normalization_info(weights) is not None


def _read_marker(path: Path) -> Any:
    # naah's guarded reader, as for the weights: a truncated or hostile file is
    # refused naming it, and the layers are passed over unread.
    meta = load_meta(path)
    return None if meta is None else meta.get(MARKER)


def _interpret_marker(marker: Any, path: Path) -> NormalizationInfo:
    try:
        means = {
            name: np.asarray(value, dtype=np.float64).reshape(-1)
            for name, value in marker["means"].items()
        }
        size = int(np.asarray(marker["size"]).reshape(-1)[0])
        return NormalizationInfo(
            int(np.asarray(marker["images"]).reshape(-1)[0]),
            size or None,
            str(marker["pooling"]),
            means,
            str(marker["source"]),
            str(marker["naah_version"]),
        )
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ValueError(
            f"{path} has a meta.{MARKER} struct that naah cannot read ({exc!r}); "
            "normalise the original file again"
        ) from exc


# -- the whole job ---------------------------------------------------------------------
def normalize_file(
    weights_path: str | os.PathLike,
    images: str | os.PathLike | Iterable[str | os.PathLike],
    output_path: str | os.PathLike,
    size: int | None = DEFAULT_SIZE,
    *,
    pooling: str = "max",
    verify: bool = False,
    compression: bool = False,
    backend: str = "c",
    runtime: Runtime = DEFAULT,
) -> NormalizationReport:
    """Normalise a weights file on a folder of images and write the result.

    What ``naah weights normalize WEIGHTS --images DIR [--size N] -o OUT.mat``
    does: :func:`naah.io.load_weights`, :func:`normalize_weights`,
    :func:`write_normalized_mat`.

    Parameters
    ----------
    weights_path : str or path-like
        Any file :func:`naah.io.load_weights` reads.
    images : folder, image path or iterable of image paths
        A folder's ``.jpg``, ``.jpeg`` and ``.png`` files are all used.
    output_path : str or path-like
    size : int or None
        Long edge the images are resized to.
    pooling : {'max', 'avg'}
    verify : bool
        Measure the written network again and report each layer's largest
        ``|mean - 1|`` (doubles the measuring time).
    compression, backend, runtime
        As :func:`write_normalized_mat` and :func:`mean_activations`.

    Returns
    -------
    NormalizationReport
        ``str(report)`` is a summary for the command line.

    Examples
    --------
    >>> report = normalize_file("imagenet-vgg-verydeep-19.mat", "photos/",
    ...                         "vgg19-normalized.mat")  # doctest: +SKIP
    >>> print(report)  # doctest: +SKIP
    wrote vgg19-normalized.mat (normalised on 40 images at long edge 224, max pooling)
    time: load 4.1 s, measure 35.0 s, write 38.2 s
    """
    paths = image_files(images)
    seconds = {}
    start = time.perf_counter()
    weights = load_weights(weights_path)
    seconds["load"] = time.perf_counter() - start
    start = time.perf_counter()
    normalized = normalize_weights(
        weights, paths, size=size, pooling=pooling, backend=backend, runtime=runtime
    )
    seconds["measure"] = time.perf_counter() - start
    start = time.perf_counter()
    output = write_normalized_mat(normalized, output_path, compression=compression)
    seconds["write"] = time.perf_counter() - start
    deviation = None
    if verify:
        start = time.perf_counter()
        after = mean_activations(
            normalized,
            paths,
            size=size,
            pooling=pooling,
            backend=backend,
            runtime=runtime,
        )
        deviation = {
            name: float(np.max(np.abs(m[m > 0] - 1), initial=0.0))
            for name, m in after.items()
        }
        seconds["verify"] = time.perf_counter() - start
    return NormalizationReport(
        output,
        Path(weights_path),
        tuple(paths),
        size,
        pooling,
        normalized.dead_filters,
        seconds,
        deviation,
    )


def normalized_loss_weights(
    content_size: int | tuple[int, int] = 512,
    *,
    content_layer: str = "conv4_2",
    channels: int | None = None,
) -> tuple[float, float]:
    """α and β for a normalised network: Gatys' own settings, in naah's losses.

    Gatys' NeuralImageSynthesis notebooks weight the mean squared error of the
    content features by ``cw = 1e6`` and that of the Gram matrices :math:`G / M_l`
    by ``sw = 1e9 / L`` per style layer. With naah's :math:`\\mathcal{L}_{content}`
    and :math:`E_l` (:mod:`naah.losses`) and :math:`w_l = 1/L` that is
    :math:`\\alpha = 1`, :math:`\\beta = 2\\,sw\\,N_c M_c / cw`: β grows with the
    content layer's size :math:`N_c M_c` (channels × positions).

    Parameters
    ----------
    content_size : int or (int, int)
        The content image's (height, width), or its side if square.
    content_layer : str
        The content layer (Gatys: conv4_2).
    channels : int, optional
        Its channels; default the real VGG-19's (512 for conv4_2).

    Returns
    -------
    (alpha, beta) : (float, float)

    Examples
    --------
    >>> alpha, beta = normalized_loss_weights(512)
    >>> alpha, f"{beta:.3g}", beta == NORMALIZED_DEFAULT_BETA
    (1.0, '4.19e+09', True)
    >>> f"{normalized_loss_weights((384, 512))[1]:.3g}"
    '3.15e+09'
    """
    if content_layer not in CONV_LAYERS:
        raise ValueError(
            f"content_layer must be a conv layer ({', '.join(CONV_LAYERS)}), got "
            f"{content_layer!r}"
        )
    height, width = (
        (content_size, content_size) if isinstance(content_size, int) else content_size
    )
    block = int(content_layer[len("conv")])
    if channels is None:
        channels = CHANNELS_PER_BLOCK[block - 1]
    stride = 2 ** (block - 1)  # the poolings before the content layer's block
    positions = (height // stride) * (width // stride)
    beta = (
        2
        * GATYS_NORMALIZED_STYLE_WEIGHT
        / GATYS_NORMALIZED_CONTENT_WEIGHT
        * channels
        * positions
    )
    return NORMALIZED_DEFAULT_ALPHA, float(beta)
