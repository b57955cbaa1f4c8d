"""Small stand-ins for the pretrained VGG-19 files, for tests and offline examples.

The real ``imagenet-vgg-verydeep-19.mat`` is 535 MB. The writers here produce files
with exactly its layout (the 43 layers with their real names, types, fields and
field order, the metadata, the shapes of biases and mean image) but narrow layers
and random weights, in each format :func:`naah.io.load_weights` reads:

* :func:`write_vgg19_mat`: MatConvNet, MATLAB v5/v7 (current or beta16 release);
* :func:`write_vgg19_mat73`: the same content as a MATLAB v7.3 (HDF5) file;
* :func:`write_vgg19_keras_h5`: Keras' ``vgg19_weights_tf_dim_ordering_tf_kernels``.

:func:`make_vgg19_params` returns the weights a writer stores, as (out, in, height,
width) kernels on RGB input, so tests can compare what a loader returns with what
was written. The writers do their own layout conversions and share no code with
the loaders; the layer table and kernel shapes come from :mod:`naah.architecture`,
the one description of VGG's geometry (its tests spell the table out by hand).

Examples
--------
>>> import tempfile, os
>>> from naah.io import load_weights
>>> path = write_vgg19_mat(os.path.join(tempfile.mkdtemp(), "vgg19.mat"))
>>> weights = load_weights(path)
>>> weights.params["conv1_1"].kernel.shape
(4, 3, 3, 3)
>>> expected = make_vgg19_params()["conv1_1"][0]
>>> bool((weights.params["conv1_1"].kernel == expected).all())
True
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

import h5py
import numpy as np
import scipy.io

from naah import architecture

# Narrow channel widths per block (the real network has 64, 128, 256, 512, 512).
DEFAULT_WIDTHS = (4, 8, 8, 16, 16)
DEFAULT_FC_WIDTH = 32  # real: 4096
DEFAULT_NUM_CLASSES = 10  # real: 1000
# MatConvNet's meta.normalization.averageImage for the VGG models, RGB, 0..255.
VGG_MEAN_PIXEL = (123.68, 116.779, 103.939)
# beta16 stores a mean image of the input size.
IMAGE_SIZE = architecture.IMAGE_SIZE
# Scale of the random weights: small, like trained ones.
WEIGHT_SCALE = 0.1
# The 128-byte header MATLAB puts in the 512-byte userblock of a v7.3 file: text,
# 8 bytes of subsystem offset, version 0x0200 and endian indicator 'IM'.
MAT73_USERBLOCK = 512
MAT73_TEXT = (
    "MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 "
    "HDF5 schema 1.00 ."
)
RELEASES = ("current", "beta16", "legacy")


def layer_table(*, vgg16: bool = False) -> list[tuple[str, str]]:
    """MatConvNet's (name, type) list for VGG-19 (43 layers) or VGG-16 (37).

    Examples
    --------
    >>> table = layer_table()
    >>> len(table), table[0], table[-1]
    (43, ('conv1_1', 'conv'), ('prob', 'softmax'))
    """
    blocks = (
        architecture.VGG16_CONVS_PER_BLOCK if vgg16 else architecture.CONVS_PER_BLOCK
    )
    return [(layer.name, layer.type) for layer in architecture.layer_table(blocks)]


def make_vgg19_params(
    widths: tuple[int, ...] = DEFAULT_WIDTHS,
    fc_width: int = DEFAULT_FC_WIDTH,
    num_classes: int = DEFAULT_NUM_CLASSES,
    seed: int = 0,
    *,
    vgg16: bool = False,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Random weights for every weight layer, as the writers store them.

    Parameters
    ----------
    widths : tuple of 5 ints
        Output channels of the convolutions of each block.
    fc_width : int
        Outputs of fc6 and fc7.
    num_classes : int
        Outputs of fc8.
    seed : int
        Seed of the random generator: same arguments, same weights.
    vgg16 : bool
        Make VGG-16's 16 weight layers instead of VGG-19's 19.

    Returns
    -------
    dict of str to (kernel, bias)
        In layer order. ``kernel`` is float32 of shape (out, in, height, width), for
        cross-correlation with RGB input; ``bias`` float32 of shape (out,).

    Examples
    --------
    >>> params = make_vgg19_params()
    >>> params["conv2_1"][0].shape, params["fc6"][0].shape, params["fc8"][1].shape
    ((8, 4, 3, 3), (32, 16, 7, 7), (10,))
    """
    rng = np.random.default_rng(seed)
    params = {}
    for name, kind in layer_table(vgg16=vgg16):
        if kind != "conv":
            continue
        shape = architecture.expected_kernel_shape(name, widths, fc_width, num_classes)
        kernel = (WEIGHT_SCALE * rng.standard_normal(shape)).astype(np.float32)
        bias = (WEIGHT_SCALE * rng.standard_normal(shape[0])).astype(np.float32)
        params[name] = (kernel, bias)
    return params


def make_class_names(num_classes: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """WordNet-like ids and descriptions for ``num_classes`` classes.

    Examples
    --------
    >>> names, descriptions = make_class_names(3)
    >>> names[0], descriptions[0]
    ('n01440764', 'tench, Tinca tinca')
    """
    names = tuple(f"n{1440764 + i:08d}" for i in range(num_classes))
    descriptions = tuple(
        "tench, Tinca tinca" if i == 0 else f"class {i}, test class"
        for i in range(num_classes)
    )
    return names, descriptions


def write_vgg19_mat(
    path: str | os.PathLike,
    *,
    release: str = "current",
    widths: tuple[int, ...] = DEFAULT_WIDTHS,
    fc_width: int = DEFAULT_FC_WIDTH,
    num_classes: int = DEFAULT_NUM_CLASSES,
    seed: int = 0,
    compression: bool = True,
    drop_layers: Iterable[str] = (),
    drop_variables: Iterable[str] = (),
    kernel_overrides: Mapping[str, np.ndarray] | None = None,
    bias_overrides: Mapping[str, np.ndarray] | None = None,
    vgg16: bool = False,
    mean_pixel: tuple[float, float, float] = VGG_MEAN_PIXEL,
) -> str:
    """Write a small MatConvNet VGG-19 file (MATLAB v5/v7, via scipy.io.savemat).

    Parameters
    ----------
    path : str or path-like
        Where to write.
    release : {"current", "beta16", "legacy"}
        ``"current"``: variables ``layers`` and ``meta`` (``meta.normalization``
        with a 1x1x3 ``averageImage``, ``meta.classes``), conv fields ``name, type,
        weights, size, pad, stride, precious, dilate, opts``, biases C x 1.
        ``"beta16"``: variables ``layers``, ``classes``, ``normalization`` (a
        224x224x3 ``averageImage`` whose per-channel mean is ``mean_pixel``), conv
        fields ``weights, pad, type, name, stride``, biases 1 x C. ``"legacy"``:
        beta16 with ``filters`` and ``biases`` fields instead of ``weights``.
    widths, fc_width, num_classes, seed, vgg16
        Passed to :func:`make_vgg19_params`.
    compression : bool
        Compress variables (MATLAB -v7) or not (-v6).
    drop_layers : iterable of str
        Layer names (any of the 43) to leave out of ``layers``.
    drop_variables : iterable of str
        Top-level variables to leave out, e.g. ``"meta"``.
    kernel_overrides, bias_overrides : mapping of str to ndarray, optional
        Replace a layer's kernel (out, in, height, width) or bias (out,), e.g. with
        a wrong shape.
    mean_pixel : 3 floats
        RGB mean pixel to store.

    Returns
    -------
    str
        ``path``.
    """
    variables = _matconvnet_variables(
        release=release,
        widths=widths,
        fc_width=fc_width,
        num_classes=num_classes,
        seed=seed,
        drop_layers=drop_layers,
        drop_variables=drop_variables,
        kernel_overrides=kernel_overrides,
        bias_overrides=bias_overrides,
        vgg16=vgg16,
        mean_pixel=mean_pixel,
    )
    scipy.io.savemat(path, variables, do_compression=compression, oned_as="row")
    return os.fspath(path)


def write_vgg19_mat73(path: str | os.PathLike, **options: Any) -> str:
    """Write the file :func:`write_vgg19_mat` writes, as MATLAB ``save -v7.3`` would.

    The result is HDF5 behind a 512-byte userblock starting with the MATLAB 7.3
    header. Structs are groups (attribute ``MATLAB_class='struct'`` and
    ``MATLAB_fields``), cells are datasets of object references into ``#refs#``,
    char arrays are uint16, and every array is stored with its dimensions reversed.
    Parameters are those of :func:`write_vgg19_mat`.

    Returns
    -------
    str
        ``path``.
    """
    variables = _matconvnet_variables(**options)
    with h5py.File(path, "w", userblock_size=MAT73_USERBLOCK) as file:
        writer = _Mat73Writer(file.create_group("#refs#"))
        for name, value in variables.items():
            writer.write(file, name, value)
    header = MAT73_TEXT.encode("ascii").ljust(116) + bytes(8) + b"\x00\x02IM"
    with open(path, "r+b") as file:
        file.write(header.ljust(MAT73_USERBLOCK, b"\0"))
    return os.fspath(path)


def write_vgg19_keras_h5(
    path: str | os.PathLike,
    *,
    include_top: bool = True,
    widths: tuple[int, ...] = DEFAULT_WIDTHS,
    fc_width: int = DEFAULT_FC_WIDTH,
    num_classes: int = DEFAULT_NUM_CLASSES,
    seed: int = 0,
    vgg16: bool = False,
    naming: str = "keras1",
) -> str:
    """Write a small Keras ``vgg19_weights_tf_dim_ordering_tf_kernels[_notop].h5``.

    Layer groups ``block1_conv1`` ... ``block5_conv4`` (and ``fc1``, ``fc2``,
    ``predictions`` if ``include_top``) hold kernels in (height, width, in, out)
    order, block1_conv1's input channels in BGR order, fc1 as a (7*7*C, out) matrix
    whose rows are in (height, width, channel) order. The root's ``layer_names``
    and each group's ``weight_names`` attributes list them, as Keras writes them.

    Parameters
    ----------
    path : str or path-like
    include_top : bool
        Write the fully connected layers (False: the ``_notop`` file).
    widths, fc_width, num_classes, seed, vgg16
        Passed to :func:`make_vgg19_params`.
    naming : {"keras1", "keras2"}
        ``"keras1"``: datasets ``block1_conv1/block1_conv1_W_1:0`` and ``..._b_1:0``
        (the published files); ``"keras2"``: ``block1_conv1/block1_conv1/kernel:0``
        and ``.../bias:0``.

    Returns
    -------
    str
        ``path``.
    """
    if naming not in ("keras1", "keras2"):
        raise ValueError(f"naming must be 'keras1' or 'keras2', got {naming!r}")
    params = make_vgg19_params(widths, fc_width, num_classes, seed, vgg16=vgg16)
    with h5py.File(path, "w") as file:
        names = _keras_layer_names(vgg16, include_top)
        file.attrs["layer_names"] = np.array([n.encode() for n in names.values()])
        file.attrs["backend"] = b"tensorflow"
        file.attrs["keras_version"] = b"1.1.0" if naming == "keras1" else b"2.2.4"
        for ours, theirs in names.items():
            arrays = _keras_arrays(ours, params) if ours in params else ()
            _write_keras_group(file.create_group(theirs), theirs, arrays, naming)
    return os.fspath(path)


# -- MatConvNet content ------------------------------------------------------------------
def _matconvnet_variables(
    *,
    release: str = "current",
    widths: tuple[int, ...] = DEFAULT_WIDTHS,
    fc_width: int = DEFAULT_FC_WIDTH,
    num_classes: int = DEFAULT_NUM_CLASSES,
    seed: int = 0,
    drop_layers: Iterable[str] = (),
    drop_variables: Iterable[str] = (),
    kernel_overrides: Mapping[str, np.ndarray] | None = None,
    bias_overrides: Mapping[str, np.ndarray] | None = None,
    vgg16: bool = False,
    mean_pixel: tuple[float, float, float] = VGG_MEAN_PIXEL,
) -> dict[str, Any]:
    """The file's variables: dicts are structs, object arrays cells, str chars."""
    if release not in RELEASES:
        raise ValueError(f"release must be one of {RELEASES}, got {release!r}")
    params = make_vgg19_params(widths, fc_width, num_classes, seed, vgg16=vgg16)
    params.update(
        {n: (np.asarray(k), params[n][1]) for n, k in (kernel_overrides or {}).items()}
    )
    params.update(
        {n: (params[n][0], np.asarray(b)) for n, b in (bias_overrides or {}).items()}
    )
    dropped = set(drop_layers)
    layers = [
        _layer_struct(name, kind, params.get(name), release)
        for name, kind in layer_table(vgg16=vgg16)
        if name not in dropped
    ]
    names, descriptions = make_class_names(num_classes)
    classes = {"name": _cell(names), "description": _cell(descriptions)}
    if release == "current":
        variables = {"layers": _cell(layers), "meta": _meta(classes, mean_pixel)}
    else:
        normalization = _beta16_normalization(mean_pixel, seed)
        variables = {
            "layers": _cell(layers),
            "classes": classes,
            "normalization": normalization,
        }
    return {k: v for k, v in variables.items() if k not in set(drop_variables)}


def _cell(items: Iterable[Any]) -> np.ndarray:
    """A 1 x N MATLAB cell."""
    values = list(items)
    cell = np.empty((1, len(values)), dtype=object)
    for i, value in enumerate(values):
        cell[0, i] = value
    return cell


def _row(*values: float) -> np.ndarray:
    return np.array([values], dtype=np.float64)


def _layer_struct(
    name: str, kind: str, weights: tuple | None, release: str
) -> dict[str, Any]:
    if kind == "conv":
        if weights is None:
            raise ValueError(f"no weights for convolution {name}")
        return _conv_struct(name, weights, release)
    if release == "current":
        precious = np.array([[False]])
        if kind == "relu":
            return {"name": name, "type": kind, "leak": _row(0), "precious": precious}
        if kind == "pool":
            return {
                "name": name,
                "type": kind,
                "method": "max",
                "pool": _row(2, 2),
                "stride": _row(2, 2),
                "pad": _row(0, 0, 0, 0),
                "precious": precious,
                "opts": np.empty((0, 0), dtype=object),
            }
        return {"name": name, "type": kind, "precious": precious}
    if kind == "pool":
        return {
            "name": name,
            "stride": _row(2, 2),
            "pad": _row(0, 0, 0, 0),
            "type": kind,
            "method": "max",
            "pool": _row(2, 2),
        }
    return {"type": kind, "name": name}


def _conv_struct(name: str, weights: tuple, release: str) -> dict[str, Any]:
    kernel, bias = weights
    matlab_kernel = np.ascontiguousarray(
        kernel.transpose(2, 3, 1, 0)
    )  # (h, w, in, out)
    pad = _row(*(1,) * 4) if kernel.shape[2] == 3 else _row(*(0,) * 4)
    if release == "current":
        return {
            "name": name,
            "type": "conv",
            "weights": _cell([matlab_kernel, bias.reshape(-1, 1)]),
            "size": _row(*matlab_kernel.shape),
            "pad": pad,
            "stride": _row(1, 1),
            "precious": np.array([[False]]),
            "dilate": _row(1),
            "opts": np.empty((0, 0), dtype=object),
        }
    row_bias = bias.reshape(1, -1)
    if release == "beta16":
        parameters = {"weights": _cell([matlab_kernel, row_bias])}
    else:
        parameters = {"filters": matlab_kernel, "biases": row_bias}
    return {
        **parameters,
        "pad": pad,
        "type": "conv",
        "name": name,
        "stride": _row(1, 1),
    }


def _meta(classes: dict, mean_pixel: tuple[float, float, float]) -> dict[str, Any]:
    normalization = {
        "imageSize": _row(IMAGE_SIZE, IMAGE_SIZE, 3),
        "averageImage": np.array(mean_pixel, dtype=np.float32).reshape(1, 1, 3),
        "keepAspect": np.array([[True]]),
        "border": _row(32, 32),
        "cropSize": _row(0.875),
        "interpolation": "bilinear",
    }
    inputs = {"name": "data", "size": _row(IMAGE_SIZE, IMAGE_SIZE, 3, 10)}
    return {"inputs": inputs, "classes": classes, "normalization": normalization}


def _beta16_normalization(
    mean_pixel: tuple[float, float, float], seed: int
) -> dict[str, Any]:
    noise = np.random.default_rng(seed).standard_normal((IMAGE_SIZE, IMAGE_SIZE, 3))
    noise -= noise.mean(axis=(0, 1))
    image = (np.asarray(mean_pixel) + 20 * noise).astype(np.float32)
    return {
        "averageImage": image,
        "keepAspect": np.array([[True]]),
        "border": _row(32, 32),
        "imageSize": _row(IMAGE_SIZE, IMAGE_SIZE, 3),
        "interpolation": "bilinear",
    }


# -- MATLAB v7.3 -------------------------------------------------------------------------
_MATLAB_CLASSES = {
    "float64": "double",
    "float32": "single",
    "int8": "int8",
    "uint8": "uint8",
    "int16": "int16",
    "uint16": "uint16",
    "int32": "int32",
    "uint32": "uint32",
    "int64": "int64",
    "uint64": "uint64",
}


class _Mat73Writer:
    """Writes MATLAB values into HDF5 the way MATLAB's -v7.3 does."""

    def __init__(self, refs: h5py.Group):
        self._refs = refs
        self._count = 0

    def write(self, parent: h5py.Group, name: str, value: Any) -> None:
        if isinstance(value, dict):
            self._struct(parent, name, value)
        elif isinstance(value, np.ndarray) and value.dtype == object:
            self._cell(parent, name, value)
        elif isinstance(value, str):
            codes = np.array([ord(c) for c in value], dtype=np.uint16).reshape(-1, 1)
            dataset = parent.create_dataset(name, data=codes)
            _set_class(dataset, "char", int_decode=2)
        else:
            self._numeric(parent, name, np.asarray(value))

    def _struct(self, parent: h5py.Group, name: str, value: dict) -> None:
        group = parent.create_group(name)
        _set_class(group, "struct")
        fields = np.empty(len(value), dtype=h5py.vlen_dtype(np.dtype("S1")))
        for i, field in enumerate(value):
            fields[i] = np.array(list(field), dtype="S1")
        group.attrs["MATLAB_fields"] = fields
        for field, item in value.items():
            self.write(group, field, item)

    def _cell(self, parent: h5py.Group, name: str, value: np.ndarray) -> None:
        if value.size == 0:
            self._empty(parent, name, value.shape, "cell")
            return
        refs = np.empty(value.size, dtype=h5py.ref_dtype)
        for i, item in enumerate(value.ravel(order="F")):
            refs[i] = self._reference(item)
        dataset = parent.create_dataset(name, data=refs.reshape(value.shape[::-1]))
        _set_class(dataset, "cell")

    def _reference(self, item: Any) -> Any:
        self._count += 1
        name = _refs_name(self._count)
        self.write(self._refs, name, item)
        return self._refs[name].ref

    def _numeric(self, parent: h5py.Group, name: str, value: np.ndarray) -> None:
        logical = value.dtype == bool
        mat_class = "logical" if logical else _MATLAB_CLASSES[value.dtype.name]
        if value.size == 0:
            self._empty(parent, name, value.shape, mat_class)
            return
        data = value.astype(np.uint8) if logical else value
        dataset = parent.create_dataset(name, data=np.ascontiguousarray(data.T))
        _set_class(dataset, mat_class, int_decode=1 if logical else None)

    @staticmethod
    def _empty(parent: h5py.Group, name: str, shape: tuple, mat_class: str) -> None:
        dataset = parent.create_dataset(name, data=np.array(shape, dtype=np.uint64))
        _set_class(dataset, mat_class)
        dataset.attrs["MATLAB_empty"] = np.uint8(1)


def _set_class(obj: Any, mat_class: str, int_decode: int | None = None) -> None:
    obj.attrs["MATLAB_class"] = np.bytes_(mat_class)
    if int_decode is not None:
        obj.attrs["MATLAB_int_decode"] = np.int32(int_decode)


def _refs_name(number: int) -> str:
    """MATLAB-style names of #refs# entries: a, b, ..., z, ba, bb, ..."""
    letters = ""
    while True:
        number, digit = divmod(number, 26)
        letters = chr(ord("a") + digit) + letters
        if not number:
            return letters


# -- Keras ------------------------------------------------------------------------------
def _keras_layer_names(vgg16: bool, include_top: bool) -> dict[str, str]:
    """naah's layer name to Keras' for every Keras layer, in model order."""
    names = {"input": "input_1"}
    for name, _ in layer_table(vgg16=vgg16):
        if name.startswith("conv"):
            names[name] = f"block{name[4]}_conv{name[6:]}"
        elif name.startswith("pool"):
            names[name] = f"block{name[4]}_pool"
    if include_top:
        names.update(flatten="flatten", fc6="fc1", fc7="fc2", fc8="predictions")
    return names


def _keras_arrays(name: str, params: dict) -> tuple[np.ndarray, np.ndarray]:
    """Keras' (kernel, bias) for one of naah's layers."""
    kernel, bias = params[name]
    if name == "fc6":
        hwio = kernel.transpose(2, 3, 1, 0)  # rows of fc1: (h, w, c) flatten order
        return np.ascontiguousarray(hwio.reshape(-1, kernel.shape[0])), bias
    if name in ("fc7", "fc8"):
        return np.ascontiguousarray(kernel[:, :, 0, 0].T), bias
    hwio = kernel.transpose(2, 3, 1, 0)
    if name == "conv1_1":  # Keras' VGG takes BGR input
        hwio = hwio[:, :, ::-1, :]
    return np.ascontiguousarray(hwio), bias


def _write_keras_group(
    group: h5py.Group, name: str, arrays: tuple, naming: str
) -> None:
    if naming == "keras1":
        weight_names = [f"{name}_W_1:0", f"{name}_b_1:0"]
    else:
        weight_names = [f"{name}/kernel:0", f"{name}/bias:0"]
    weight_names = weight_names[: len(arrays)]
    group.attrs["weight_names"] = np.array([n.encode() for n in weight_names], "S")
    for weight_name, array in zip(weight_names, arrays, strict=True):
        group.create_dataset(weight_name, data=array)
