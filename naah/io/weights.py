"""Load pretrained VGG-19 weights from MatConvNet ``.mat`` or Keras ``.h5`` files.

:func:`load_weights` reads, whatever the file's extension:

* MatConvNet's ``imagenet-vgg-verydeep-19.mat``, current release (a ``meta``
  variable) or the older beta16 release (top-level ``normalization`` and
  ``classes``), saved as MATLAB v5/v7 (read by the streaming :mod:`.matv5`) or v7.3
  (HDF5, read by :mod:`.mat73`);
* Keras' ``vgg19_weights_tf_dim_ordering_tf_kernels.h5`` and its ``_notop`` variant.

Whatever the source, kernels come out as float32 arrays of shape
(out, in, height, width) for cross-correlation, the layout MatConvNet's
``vl_nnconv`` uses, with input channels in RGB order, and the mean pixel comes out as
RGB in 0..255 units. Every field is found by name, never by position, and every
layer's name, type and shape is checked against the VGG-19 table in
:mod:`naah.architecture`, including the layers not kept. Layers not kept are never
held in memory: the MAT v5 reader skips their arrays as it streams past them, and
HDF5 datasets are only read when kept. No size a file declares is believed before
it is checked against the bytes that could hold it and against VGG-19's largest
layer, and the values kept must be finite numbers.

:func:`load_meta` reads a file's ``meta`` variable alone through the same readers,
so that no file naah is given is read any other way.
"""

from __future__ import annotations

import functools
import hashlib
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from naah.architecture import (
    CONV_LAYERS,
    CONVS_PER_BLOCK,
    MATCONVNET_LAYERS,
    WEIGHT_LAYERS,
)
from naah.io import matv5
from naah.io._weights_common import (
    HDF5_ERRORS,
    KERAS_URL,
    MATCONVNET_URL,
    ConvParams,
    WeightsError,
    label,
    open_h5,
)
from naah.io._weights_keras import keras_names, load_keras
from naah.io._weights_matconvnet import (
    load_mat73,
    load_matv5,
    read_mat73_variable,
    read_matv5_variable,
)
from naah.io.files import check_regular_file, sha256_of_file

__all__ = [
    "ConvParams",
    "VGGWeights",
    "WeightsError",
    "WeightsSource",
    "load_meta",
    "load_weights",
]


@dataclass(frozen=True)
class KnownFile:
    """A published weights file: its name, release, size and digests (hex)."""

    name: str
    release: str
    size: int | None
    sha256: str | None
    md5: str | None
    url: str


#: Published weights files. MatConvNet current release: size and SHA-256 of the file
#: at MATCONVNET_URL; its MD5 and the beta16 release's MD5 are the ones quoted by
#: anishathalye/neural-style (vgg.py). Keras: MD5 ``file_hash`` values from
#: keras/applications/vgg19.py, sizes from Keras' download progress output.
KNOWN_FILES: tuple[KnownFile, ...] = (
    KnownFile(
        "imagenet-vgg-verydeep-19.mat",
        "matconvnet-current",
        534_904_783,
        "abdb57167f82a2a1fbab1e1c16ad9373411883f262a1a37ee5db2e6fb0044695",
        "106118b7cf60435e6d8e04f6a6dc3657",
        "https://www.vlfeat.org/matconvnet/models/imagenet-vgg-verydeep-19.mat",
    ),
    KnownFile(
        "imagenet-vgg-verydeep-19.mat",
        "matconvnet-beta16",
        None,
        None,
        "8ee3263992981a1d26e73b3ca028a123",
        "https://www.vlfeat.org/matconvnet/models/beta16/imagenet-vgg-verydeep-19.mat",
    ),
    KnownFile(
        "vgg19_weights_tf_dim_ordering_tf_kernels.h5",
        "keras",
        574_710_816,
        None,
        "cbe5617147190e668d6c5d5026f83318",
        KERAS_URL,
    ),
    KnownFile(
        "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "keras",
        80_134_624,
        None,
        "253f8cb515780f3b799900260a226db6",
        KERAS_URL,
    ),
)

# The HDF5 superblock signature; it sits at offset 0, or after a userblock (MATLAB
# v7.3 files have a 512-byte one).
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
HDF5_OFFSETS = (0, 512)
# Enough of the file to tell formats apart.
SNIFF_BYTES = 1024
# Read size of the separate checksum pass over HDF5 files.
HASH_CHUNK_BYTES = 1 << 20
# Values counted at a time when looking for NaN and infinity: bounds the temporary.
FINITE_CHECK_BLOCK = 1 << 20


class _MissingWeightsFile(WeightsError, FileNotFoundError):
    """No file at the given path (also a :class:`FileNotFoundError`)."""


@dataclass(frozen=True)
class WeightsSource:
    """Where weights came from.

    Attributes
    ----------
    path : str
    format : str
        ``"matconvnet"`` (MATLAB v5/v7 .mat), ``"matlab-v7.3"`` (HDF5 .mat) or
        ``"keras-h5"``.
    release : str
        ``"matconvnet-current"`` (has ``meta``), ``"matconvnet-beta16"`` (top-level
        ``normalization``) or ``"keras"``.
    size : int
        File size in bytes.
    sha256 : str or None
        Hex SHA-256 of the file, None when it was not computed.
    checksum : str
        ``"verified"`` (a published file, size and digests match), ``"mismatch"``
        (named like a published file but different), ``"unknown"`` (not a published
        file) or ``"not computed"``.
    """

    path: str
    format: str
    release: str
    size: int
    sha256: str | None
    checksum: str

    def identity(self) -> dict[str, Any]:
        """``{"path", "sha256", "size"}``: the file, as checkpoints and batch
        manifests record it (the SHA-256 computed once if loading did not).

        Examples
        --------
        >>> source = WeightsSource("/w/vgg.mat", "matconvnet", "?", 10, "ab12", "unknown")
        >>> source.identity()
        {'path': '/w/vgg.mat', 'sha256': 'ab12', 'size': 10}
        """
        return {
            "path": os.path.abspath(self.path),
            "sha256": self._digest,
            "size": self.size,
        }

    @functools.cached_property
    def _digest(self) -> str | None:
        if self.sha256 is not None or not os.path.isfile(self.path):
            return self.sha256
        return sha256_of_file(self.path)


@dataclass(frozen=True, eq=False)
class VGGWeights:
    """Pretrained VGG-19 parameters and the preprocessing they expect.

    Attributes
    ----------
    params : dict of str to ConvParams
        Weight layers in VGG-19 order (``naah.architecture.WEIGHT_LAYERS``), only
        those requested. fc6, fc7, fc8 are convolutions (fc6 kernel 7x7).
    mean_pixel : ndarray of float32, shape (3,)
        RGB mean to subtract from 0..255 images.
    class_descriptions : tuple of str or None
        ImageNet class descriptions, e.g. ``'tench, Tinca tinca'``.
    class_names : tuple of str or None
        WordNet ids, e.g. ``'n01440764'``.
    source : WeightsSource
    """

    params: dict[str, ConvParams]
    mean_pixel: np.ndarray
    class_descriptions: tuple[str, ...] | None
    class_names: tuple[str, ...] | None
    source: WeightsSource

    def widths(self) -> tuple[int | None, ...]:
        """Output channels of each of the five conv blocks (None if none kept).

        With all layers loaded this is ``naah.architecture.CHANNELS_PER_BLOCK`` for
        the real network, and the ``widths`` a test fixture was written with.
        """
        found: list[int | None] = [None] * len(CONVS_PER_BLOCK)
        for name, conv in self.params.items():
            if name in CONV_LAYERS:
                found[int(name[4]) - 1] = conv.kernel.shape[0]
        return tuple(found)

    def non_finite(self) -> tuple[str, ...]:
        """Where the parameters or the mean pixel hold NaN or infinity.

        Empty for a usable network. :func:`load_weights` refuses the others unless
        called with ``check_finite=False``.

        Returns
        -------
        tuple of str
            One entry per array, e.g. ``'conv1_1 kernel (3 NaN of 1,728 values)'``.

        Examples
        --------
        >>> import numpy as np
        >>> conv = ConvParams(np.ones((1, 3, 3, 3), np.float32),
        ...                   np.array([np.inf], np.float32), (1, 1, 1, 1), (1, 1))
        >>> source = WeightsSource("w.mat", "matconvnet", "?", 0, None, "unknown")
        >>> mean = np.array([np.nan, 0, 0], np.float32)
        >>> VGGWeights({"conv1_1": conv}, mean, None, None, source).non_finite()
        ('conv1_1 bias (1 infinite of 1 values)', 'mean pixel (1 NaN of 3 values)')
        """
        arrays = [
            (f"{name} {part}", array)
            for name, conv in self.params.items()
            for part, array in (("kernel", conv.kernel), ("bias", conv.bias))
        ]
        arrays.append(("mean pixel", self.mean_pixel))
        found = []
        for where, array in arrays:
            counts = _non_finite_counts(array)
            if counts:
                found.append(f"{where} ({counts} of {array.size:,} values)")
        return tuple(found)

    def __repr__(self) -> str:
        names = list(self.params)
        span = f"{names[0]}..{names[-1]}" if names else "none"
        classes = len(self.class_names) if self.class_names is not None else None
        mean = tuple(round(float(v), 3) for v in self.mean_pixel)
        return (
            f"VGGWeights({len(names)} layers {span}, widths={self.widths()}, "
            f"classes={classes}, mean_pixel={mean}, "
            f"source={os.path.basename(self.source.path)!r} ({self.source.release}, "
            f"checksum {self.source.checksum}))"
        )


def load_weights(
    path: str | os.PathLike,
    *,
    layers: Iterable[str] | None = None,
    check_finite: bool = True,
) -> VGGWeights:
    """Load VGG-19 weights, checking every layer's name and shape.

    Parameters
    ----------
    path : str or path-like
        A MatConvNet ``imagenet-vgg-verydeep-19.mat`` (any release, MATLAB v5, v7
        or v7.3) or a Keras ``vgg19_weights_tf_dim_ordering_tf_kernels[_notop].h5``.
        The format is recognised from the content, not the extension.
    layers : iterable of str, optional
        Weight layers to keep, e.g. ``naah.architecture.CONV_LAYERS``; others are
        checked but never held in memory. Default: every weight layer in the file
        (all 19, or the 16 convolutions of a Keras ``_notop`` file).
    check_finite : bool, optional
        Refuse a file whose kept kernels, biases or mean pixel hold NaN or
        infinity (the default). ``False`` loads them anyway, for inspection:
        :meth:`VGGWeights.non_finite` says where they are.

    Returns
    -------
    VGGWeights

    Raises
    ------
    FileNotFoundError
        If nothing is at ``path`` (also a :class:`WeightsError`).
    WeightsError
        If the file is not a complete, consistent VGG-19 weights file, declares
        arrays larger than it holds or than VGG-19's, holds non-finite values
        (unless ``check_finite=False``), or ``layers`` names a layer VGG-19 does
        not have.

    Warns
    -----
    UserWarning
        If the file has the name of a published file but a different size or
        checksum (usually a partial download) yet is structurally valid.

    Examples
    --------
    >>> from naah.architecture import CONV_LAYERS
    >>> weights = load_weights("imagenet-vgg-verydeep-19.mat", layers=CONV_LAYERS)
    ... # doctest: +SKIP
    >>> weights.params["conv1_1"].kernel.shape  # doctest: +SKIP
    (64, 3, 3, 3)
    """
    filename = _check_file(path)
    explicit = layers is not None
    wanted = _select_layers(layers)
    size = os.path.getsize(filename)
    file_format = _detect_format(filename, size)
    streamed = file_format == "matconvnet"
    algorithms = _algorithms_for(filename, size, streamed)
    hashers = {name: hashlib.new(name) for name in algorithms}
    if streamed:
        hint = _expected_size_hint(filename, size)
        network = load_matv5(filename, wanted, hashers.values(), truncated_hint=hint)
    else:
        if file_format == "matlab-v7.3":
            network = load_mat73(filename, wanted)
        else:
            network = load_keras(filename, wanted, explicit)
        _hash_file(filename, hashers.values())
    digests = {name: hasher.hexdigest() for name, hasher in hashers.items()}
    status, warning = _checksum_status(filename, size, digests, network.release)
    source = WeightsSource(
        filename, file_format, network.release, size, digests.get("sha256"), status
    )
    weights = VGGWeights(
        network.params,
        network.mean_pixel,
        network.class_descriptions,
        network.class_names,
        source,
    )
    if check_finite and (found := weights.non_finite()):
        raise WeightsError(
            f"{label(filename)} holds values that are not finite numbers: "
            f"{'; '.join(found)}. The file is corrupt; download it again from "
            f"{MATCONVNET_URL if network.release != 'keras' else KERAS_URL}. "
            "(load_weights(..., check_finite=False) loads it anyway.)"
        )
    if warning:
        warnings.warn(warning, UserWarning, stacklevel=2)
    return weights


def load_meta(path: str | os.PathLike) -> dict[str, Any] | None:
    """The ``meta`` variable of a MatConvNet weights file, read as
    :func:`load_weights` reads files: every size checked before it is read, the
    layers passed over unread, and a ``meta`` of more than 64 MiB refused (a
    network's takes a megabyte or two).

    Parameters
    ----------
    path : str or path-like
        A weights file of any format :func:`load_weights` reads.

    Returns
    -------
    dict or None
        ``meta`` as a dict of its fields (MAT-file values as :mod:`naah.io.matv5`
        gives them); None for a file that has none (Keras' files, MatConvNet's
        beta16 release) or that is neither a MAT-file nor an HDF5 file.

    Raises
    ------
    FileNotFoundError
        If nothing is at ``path`` (also a :class:`WeightsError`).
    WeightsError
        If the path is a directory or not a regular file, or the file is empty,
        truncated or corrupt, or its ``meta`` is larger than any network's.

    Examples
    --------
    >>> load_meta("imagenet-vgg-verydeep-19.mat")["normalization"]["averageImage"]
    ... # doctest: +SKIP
    array([[[123.68 , 116.779, 103.939]]], dtype=float32)
    """
    filename = _check_file(path)
    with open(filename, "rb") as file:
        head = file.read(SNIFF_BYTES)
    if any(head[at : at + 8] == HDF5_SIGNATURE for at in HDF5_OFFSETS):
        meta = read_mat73_variable(filename, "meta")
    elif head.startswith(b"MATLAB"):
        _check_mat_header(filename, head, os.path.getsize(filename))
        meta = read_matv5_variable(filename, "meta")
    else:
        return None
    return meta if isinstance(meta, dict) else None


def _non_finite_counts(array: np.ndarray) -> str:
    """How many NaN and infinite values ``array`` holds, as text ('' for none)."""
    # A float64 sum of float32 values cannot overflow, so it is finite exactly when
    # every value is, and costs no temporary array: the common case is one pass.
    with np.errstate(invalid="ignore"):  # inf - inf is NaN: that is the point
        total = np.sum(array, dtype=np.float64)
    if np.isfinite(total):
        return ""
    flat = array.reshape(-1)
    nan = infinite = 0
    for start in range(0, flat.size, FINITE_CHECK_BLOCK):
        block = flat[start : start + FINITE_CHECK_BLOCK]
        nan += int(np.count_nonzero(np.isnan(block)))
        infinite += int(np.count_nonzero(np.isinf(block)))
    counts = [
        f"{nan:,} NaN" if nan else "",
        f"{infinite:,} infinite" if infinite else "",
    ]
    return ", ".join(filter(None, counts))


# -- arguments -----------------------------------------------------------------------
def _check_file(path: Any) -> str:
    try:
        filename = os.fspath(path)
    except TypeError as exc:
        raise WeightsError(
            f"load_weights needs a file path (str or pathlib.Path), got "
            f"{type(path).__name__} {path!r}"
        ) from exc
    if not os.path.exists(filename):
        raise _MissingWeightsFile(
            f"No weights file at '{filename}'. Download imagenet-vgg-verydeep-19.mat "
            f"from {MATCONVNET_URL} and pass its path, e.g. "
            "load_weights('path/to/imagenet-vgg-verydeep-19.mat')."
        )
    if os.path.isdir(filename):
        raise WeightsError(_directory_message(filename))
    try:  # a FIFO would block, a device never end: refused unopened
        check_regular_file(filename, "weights file")
    except ValueError as error:
        raise WeightsError(str(error)) from None
    if os.path.getsize(filename) == 0:
        raise WeightsError(
            f"{label(filename)} is empty (0 bytes): the download failed. Download "
            f"imagenet-vgg-verydeep-19.mat again from {MATCONVNET_URL}."
        )
    return filename


def _directory_message(directory: str) -> str:
    known = {k.name for k in KNOWN_FILES}
    found = sorted(n for n in os.listdir(directory) if n in known)
    hint = (
        f" It contains {', '.join(found)}: pass that file's path, e.g. "
        f"'{os.path.join(directory, found[0])}'."
        if found
        else " Pass the path of the weights file itself, e.g. "
        f"'{os.path.join(directory, 'imagenet-vgg-verydeep-19.mat')}'."
    )
    return f"'{directory}' is a directory, not a weights file.{hint}"


def _select_layers(layers: Iterable[str] | None) -> tuple[str, ...]:
    if layers is None:
        return WEIGHT_LAYERS
    names = [layers] if isinstance(layers, str) else list(layers)
    unknown = [name for name in names if name not in WEIGHT_LAYERS]
    if unknown:
        raise WeightsError(
            f"layers= names {', '.join(map(repr, unknown))}: not a weight layer of "
            f"VGG-19{_layer_hint(unknown[0])}. Valid names "
            f"(naah.architecture.WEIGHT_LAYERS): {', '.join(WEIGHT_LAYERS)}."
        )
    chosen = set(names)
    return tuple(name for name in WEIGHT_LAYERS if name in chosen)


def _layer_hint(name: Any) -> str:
    if any(layer.name == name for layer in MATCONVNET_LAYERS):
        return f" ({name} has no weights)"
    for ours, theirs in keras_names().items():
        if theirs == name:
            return f" (the Keras layer {name} is called {ours} here)"
    return ""


# -- format detection ------------------------------------------------------------------
def _detect_format(filename: str, size: int) -> str:
    with open(filename, "rb") as file:
        head = file.read(SNIFF_BYTES)
    if any(head[at : at + 8] == HDF5_SIGNATURE for at in HDF5_OFFSETS):
        return _classify_hdf5(filename, head)
    if head.startswith(b"MATLAB"):
        _check_mat_header(filename, head, size)
        return "matconvnet"
    raise WeightsError(
        f"{label(filename)} is {_describe_content(head)}, not a VGG-19 weights "
        "file. load_weights reads MatConvNet's imagenet-vgg-verydeep-19.mat "
        f"({MATCONVNET_URL}) or Keras' vgg19_weights_tf_dim_ordering_tf_kernels.h5 "
        "(or _notop.h5); pass the path of one of those."
    )


def _check_mat_header(filename: str, head: bytes, size: int) -> None:
    """Refuse a MAT-file whose header is cut short: shorter than a v5 header, or a
    v7.3 header with no HDF5 file after it."""
    if size < matv5.HEADER_BYTES or head[124:126] in (b"\x00\x02", b"\x02\x00"):
        raise WeightsError(
            f"{label(filename)} is a MAT-file cut short: its header is "
            f"incomplete ({size:,} bytes in all). Download it again from "
            f"{MATCONVNET_URL}."
        )


def _classify_hdf5(filename: str, head: bytes) -> str:
    if head.startswith(b"MATLAB"):
        return "matlab-v7.3"
    with open_h5(filename) as file:
        try:
            return "matlab-v7.3" if "layers" in file else "keras-h5"
        except HDF5_ERRORS as exc:
            raise WeightsError(
                f"{label(filename)} is an HDF5 file whose root group cannot be read "
                f"({exc}): it is truncated or corrupt. Download it again."
            ) from exc


def _describe_content(head: bytes) -> str:
    signatures = (
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"\x89PNG", "a PNG image"),
        (b"GIF8", "a GIF image"),
        (b"PK\x03\x04", "a zip archive (a PyTorch .pth checkpoint?)"),
        (b"\x1f\x8b", "a gzip archive"),
        (b"\x93NUMPY", "a NumPy .npy array"),
        (b"\x80", "a Python pickle"),
    )
    for signature, kind in signatures:
        if head.startswith(signature):
            return kind
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html")):
        return "an HTML page (a download that saved an error page?)"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "an unrecognised binary file (neither a MAT-file nor HDF5)"
    return "a text file"


# -- checksums ---------------------------------------------------------------------------
def _algorithms_for(filename: str, size: int, streamed: bool) -> tuple[str, ...]:
    """Digests worth computing.

    A streamed MAT v5 file always gets its SHA-256 (it costs nothing extra). An
    HDF5 file needs a second pass, made only when the file is named or sized like a
    published one. MD5 is added where the matching published file has one.
    """
    base = os.path.basename(filename)
    relevant = [k for k in KNOWN_FILES if k.name == base or k.size == size]
    if not relevant and not streamed:
        return ()
    return ("sha256", "md5") if any(k.md5 for k in relevant) else ("sha256",)


def _hash_file(filename: str, hashers: Iterable[Any]) -> None:
    hashers = list(hashers)
    if not hashers:
        return
    with open(filename, "rb") as file:
        while chunk := file.read(HASH_CHUNK_BYTES):
            for hasher in hashers:
                hasher.update(chunk)


def _expected_size_hint(filename: str, size: int) -> str:
    """For a file named like a published one: the size it should have."""
    expected = [
        f"a complete {k.name} ({k.release}) is {k.size:,} bytes"
        for k in KNOWN_FILES
        if k.name == os.path.basename(filename) and k.size
    ]
    return f" ({'; '.join(expected)}; this one is {size:,})" if expected else ""


def _checksum_status(
    filename: str, size: int, digests: dict[str, str], release: str
) -> tuple[str, str | None]:
    """The WeightsSource.checksum value and, for a mismatch, a warning message."""
    if not digests:
        return "not computed", None
    if any(_matches(known, size, digests) for known in KNOWN_FILES):
        return "verified", None
    named = [k for k in KNOWN_FILES if k.name == os.path.basename(filename)]
    if not named:
        return "unknown", None
    same_release = [k for k in named if k.release == release]
    named = same_release or named
    reasons = "; or ".join(_difference(known, size, digests) for known in named)
    return "mismatch", (
        f"{label(filename)} has the name of a published file but not its content: "
        f"{reasons}. A partial or corrupted download is the likely cause; download it "
        f"again from {named[0].url}. Loading it anyway: its structure is valid."
    )


def _matches(known: KnownFile, size: int, digests: dict[str, str]) -> bool:
    pairs = [
        (want, digests.get(algorithm))
        for algorithm, want in (("sha256", known.sha256), ("md5", known.md5))
        if want and digests.get(algorithm)
    ]
    if not pairs or (known.size is not None and known.size != size):
        return False
    return all(want == got for want, got in pairs)


def _difference(known: KnownFile, size: int, digests: dict[str, str]) -> str:
    if known.size is not None and known.size != size:
        return f"expected {known.size:,} bytes ({known.release}), got {size:,}"
    want: str | None
    if known.sha256 and "sha256" in digests:
        algorithm, want = "sha256", known.sha256
    else:
        algorithm, want = "md5", known.md5
    same = " with the expected size (corrupted?)" if known.size else ""
    return (
        f"expected {algorithm.upper()} {want} ({known.release}), got "
        f"{digests.get(algorithm)}{same}"
    )
