"""Image classification with a :class:`~naah.VGG_19`: class probabilities and top-k.

An application of the symbolic model, like :mod:`naah.style_transfer`: it reads
and preprocesses the images (:mod:`naah.io.images`), compiles the network's
``prob`` output once per network and backend (:mod:`naah.compile`) and runs it
under a :class:`~naah.runtime.Runtime`.

Examples
--------
>>> from naah import VGG_19
>>> from naah.classify import classify
>>> net = VGG_19("imagenet-vgg-verydeep-19.mat")  # doctest: +SKIP
>>> classify(net, "cat.jpg")[0][0].label  # doctest: +SKIP
'tabby, tabby cat'
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Sequence
from typing import NamedTuple, cast

import numpy as np
import pytensor.tensor as pt
from PIL import Image
from pytensor.compile import Function

from naah.architecture import POOLING_FACTOR
from naah.compile import function
from naah.io.images import load_image, preprocess
from naah.models import VGG_19
from naah.runtime import DEFAULT, Runtime

ImageLike = str | os.PathLike | Image.Image | np.ndarray

# One compiled classifier per network and backend, dropped with the network.
_COMPILED: weakref.WeakKeyDictionary[VGG_19, dict[str, Function]] = (
    weakref.WeakKeyDictionary()
)


class Prediction(NamedTuple):
    """One of the top classes of an image."""

    # Shadows tuple.index(), which a record of three fields has no use for.
    index: int  # type: ignore[assignment]
    label: str
    probability: float


def predict_proba(
    net: VGG_19,
    images: ImageLike | Sequence[ImageLike],
    *,
    backend: str = "c",
    runtime: Runtime = DEFAULT,
) -> np.ndarray:
    """Class probabilities of images, an (N, classes) array.

    Parameters
    ----------
    net : VGG_19
        A network with its fully connected layers (weights loaded up to fc8).
    images : image or sequence of images
        Paths, PIL images or (H, W, 3) RGB arrays in 0–255 (an (N, H, W, 3) array
        is N images), all the same size: at least the size fc6 was trained for
        (224x224 for the real VGG-19), exactly that with ``fully_connected=True``.
        Probability maps of larger images are averaged over positions.
    backend : {'c', 'numba', 'jax'}
        The PyTensor backend to compile for (:func:`naah.compile.function`).
    runtime : Runtime
        Threads and memory policy of the evaluation (:mod:`naah.runtime`).

    Returns
    -------
    ndarray of float32, shape (N, classes)
        Each row sums to 1.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from naah import VGG_19
    >>> from naah.testing import write_vgg19_mat
    >>> net = VGG_19(write_vgg19_mat(os.path.join(tempfile.mkdtemp(), "vgg19.mat")))
    >>> probs = predict_proba(net, np.full((224, 224, 3), 128.0))
    >>> probs.shape, bool(np.isclose(probs.sum(), 1))
    ((1, 10), True)
    """
    batch = _batch(images, net.mean_pixel)
    _check_size(net, batch.shape[2:])
    compiled = _classifier(net, backend)
    with runtime.activate(backend):
        return compiled(batch)


def classify(
    net: VGG_19,
    images: ImageLike | Sequence[ImageLike],
    *,
    top: int = 5,
    labels: Sequence[str] | None = None,
    backend: str = "c",
    runtime: Runtime = DEFAULT,
) -> list[list[Prediction]]:
    """The ``top`` most likely classes of each image, most likely first.

    Parameters
    ----------
    net, images, backend, runtime
        As :func:`predict_proba`.
    top : int
        How many classes to give per image (all of them if there are fewer).
    labels : sequence of str, optional
        A name per class. Default: the weight file's class descriptions, or
        ``"class <index>"`` if it has none.

    Returns
    -------
    list of list of Prediction
        Per image, ``top`` (index, label, probability) records; ties keep the
        lower class index first.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from naah import VGG_19
    >>> from naah.testing import write_vgg19_mat
    >>> net = VGG_19(write_vgg19_mat(os.path.join(tempfile.mkdtemp(), "vgg19.mat")))
    >>> best = classify(net, np.full((224, 224, 3), 128.0), top=3)[0]
    >>> len(best), best[0].probability >= best[1].probability >= best[2].probability
    (3, True)
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be a positive int, got {top!r}")
    probs = predict_proba(net, images, backend=backend, runtime=runtime)
    names = _labels(net, labels, probs.shape[1])
    return [_top(row, names, top) for row in probs]


def _top(row: np.ndarray, names: Sequence[str], top: int) -> list[Prediction]:
    order = np.argsort(-row, kind="stable")[:top]
    return [Prediction(int(i), names[i], float(row[i])) for i in order]


def _labels(net: VGG_19, labels: Sequence[str] | None, classes: int) -> list[str]:
    if labels is None:
        labels = net.weights.class_descriptions
        if labels is None:
            return [f"class {i}" for i in range(classes)]
    labels = list(labels)
    if len(labels) != classes:
        raise ValueError(
            f"got {len(labels)} labels for a network with {classes} classes"
        )
    return labels


def _classifier(net: VGG_19, backend: str) -> Function:
    """The compiled (N, 3, H, W) batch → (N, classes) probabilities of ``net``."""
    per_backend = _COMPILED.setdefault(net, {})
    if backend not in per_backend:
        x = pt.tensor4("images", dtype="float32")
        probs = net.output(x)
        if probs.ndim == 4:  # fully convolutional: a map of class probabilities
            probs = probs.mean(axis=(2, 3))
        per_backend[backend] = function([x], probs, backend=backend)
    return per_backend[backend]


def _batch(
    images: ImageLike | Sequence[ImageLike], mean_pixel: np.ndarray
) -> np.ndarray:
    """Images as one mean-subtracted float32 NCHW batch."""
    single = isinstance(images, np.ndarray) and images.ndim == 3
    if single or not isinstance(images, (list, tuple, np.ndarray)):
        images = [cast(ImageLike, images)]  # a single image
    arrays = [preprocess(load_image(image), mean_pixel) for image in images]
    sizes = sorted({a.shape[2:] for a in arrays})
    if len(sizes) != 1:
        raise ValueError(
            f"images must all have the same size to form a batch, got {sizes}"
        )
    return np.concatenate(arrays)


def _check_size(net: VGG_19, size: tuple[int, int]) -> None:
    """Reject an image size fc6 cannot read, before compiling or running anything."""
    fc6 = net.weights.params.get("fc6")
    if fc6 is None:
        return  # net.output names the missing layers
    needed = tuple(side * POOLING_FACTOR for side in fc6.kernel.shape[2:])
    if net.fully_connected and tuple(size) != needed:
        raise ValueError(
            f"a VGG_19 with fully_connected=True takes {needed[0]}x{needed[1]} "
            f"images, got {size[0]}x{size[1]}; resize them or use "
            "fully_connected=False"
        )
    if size[0] < needed[0] or size[1] < needed[1]:
        raise ValueError(
            f"images must be at least {needed[0]}x{needed[1]} for fc6, got "
            f"{size[0]}x{size[1]}"
        )
