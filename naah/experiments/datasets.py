"""Labelled image sets for training VGG-19 from scratch (the report's Figure 3).

An :class:`ImageSet` holds images of one size and their labels. It comes from an
image folder laid out as ``root/<class name>/<image>`` (:func:`load_image_folder`),
the way most small classification data sets are distributed, or from scikit-learn's
handwritten digits, upscaled (:func:`digits_image_set`): ten classes that need no
download, standing in for the report's ten-category image set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from naah.io.images import load_image, save_image

#: File extensions :func:`load_image_folder` reads (lower case).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
# scikit-learn's digits are 8x8 grey levels 0..16 (the UCI optdigits set).
DIGITS_MAX_VALUE = 16.0


@dataclass(frozen=True)
class ImageSet:
    """Images of one size with integer labels.

    Attributes
    ----------
    images : ndarray of shape (N, H, W, 3)
        float32 RGB in 0–255.
    labels : ndarray of shape (N,)
        int32 class indices into ``class_names``.
    class_names : tuple of str
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    def subset(
        self, indices: npt.NDArray[np.integer] | npt.NDArray[np.bool_]
    ) -> ImageSet:
        """The images at ``indices`` (an index array or a boolean mask)."""
        return ImageSet(self.images[indices], self.labels[indices], self.class_names)

    def split(
        self, test_fraction: float = 0.2, seed: int = 0
    ) -> tuple[ImageSet, ImageSet]:
        """Split into (train, test), the same fraction of every class in test.

        Examples
        --------
        >>> train, test = digits_image_set(size=32).split(0.25)
        >>> len(test) / (len(train) + len(test))  # doctest: +ELLIPSIS
        0.25...
        """
        if not 0 < test_fraction < 1:
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
        rng = np.random.default_rng(seed)
        test = np.zeros(len(self), dtype=bool)
        for label in np.unique(self.labels):
            members = rng.permutation(np.flatnonzero(self.labels == label))
            test[members[: round(len(members) * test_fraction)]] = True
        return self.subset(~test), self.subset(test)

    def take_per_class(self, count: int, seed: int = 0) -> ImageSet:
        """At most ``count`` random images of each class."""
        rng = np.random.default_rng(seed)
        chosen = [
            rng.permutation(np.flatnonzero(self.labels == label))[:count]
            for label in np.unique(self.labels)
        ]
        return self.subset(np.sort(np.concatenate(chosen)))


def load_image_folder(root: str | os.PathLike, *, size: int = 32) -> ImageSet:
    """Read ``root/<class name>/*.jpg`` (or .png …) as an :class:`ImageSet`.

    Classes are the sub-folders, in sorted order; every image is resized to
    ``size`` x ``size`` pixels (Lanczos, aspect ratio not kept).

    Examples
    --------
    >>> import tempfile
    >>> digits = digits_image_set(size=8).take_per_class(2)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     images = load_image_folder(write_image_folder(digits, tmp), size=16)
    >>> len(images), images.class_names[:3], images.images.shape[1:]
    (20, ('0', '1', '2'), (16, 16, 3))
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {str(root)!r} does not exist")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    images, labels = [], []
    for label, name in enumerate(classes):
        for path in sorted((root / name).iterdir()):
            if path.suffix.lower() in IMAGE_EXTENSIONS:
                images.append(load_image(path, size=(size, size)))
                labels.append(label)
    if not images:
        raise ValueError(
            f"no images in {str(root)!r}: expected one sub-folder per class, e.g. "
            f"{root / 'cats' / 'cat_001.jpg'} (extensions {', '.join(IMAGE_EXTENSIONS)})"
        )
    return ImageSet(
        np.stack(images), np.asarray(labels, dtype=np.int32), tuple(classes)
    )


def write_image_folder(images: ImageSet, root: str | os.PathLike) -> Path:
    """Write an :class:`ImageSet` as ``root/<class name>/<index>.png``."""
    root = Path(root)
    for index, (image, label) in enumerate(
        zip(images.images, images.labels, strict=True)
    ):
        folder = root / images.class_names[label]
        folder.mkdir(parents=True, exist_ok=True)
        save_image(folder / f"{index:05d}.png", image)
    return root


def digits_image_set(size: int = 32) -> ImageSet:
    """scikit-learn's 1,797 handwritten digits as ``size`` x ``size`` RGB images.

    The 8x8 grey images (values 0–16) are scaled to 0–255 and upscaled (Lanczos);
    classes are ``'0'`` … ``'9'``. Needs scikit-learn (``pip install
    'naah[experiments]'``); it ships the data, so nothing is downloaded.

    Examples
    --------
    >>> digits = digits_image_set(size=32)
    >>> digits.images.shape, digits.class_names[:3]
    ((1797, 32, 32, 3), ('0', '1', '2'))
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise ImportError(
            "the digits need scikit-learn: pip install 'naah[experiments]'"
        ) from error
    digits = load_digits()
    grey = (digits.images * (255.0 / DIGITS_MAX_VALUE)).astype(np.float32)
    images = np.stack([load_image(g, size=(size, size)) for g in grey])
    names = tuple(str(n) for n in digits.target_names)
    return ImageSet(images, digits.target.astype(np.int32), names)
