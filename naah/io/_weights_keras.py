"""Reading Keras' ``vgg19_weights_tf_dim_ordering_tf_kernels[_notop].h5``.

Keras names layers ``block1_conv1`` ... ``block5_conv4``, ``fc1``, ``fc2``,
``predictions``; stores conv kernels as (height, width, in, out) with block1_conv1's
input channels in BGR order, and fc1 as a (7*7*512, 4096) matrix whose rows are
pool5's output flattened in (height, width, channel) order. Datasets are found
through the ``weight_names`` attribute of each layer group (Keras 1 files name them
``block1_conv1_W_1:0``, Keras 2 files ``block1_conv1/kernel:0``) and read only for
the layers kept, a block of rows at a time for the large ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from naah._lazy import lazy_import
from naah.architecture import CONV_LAYERS, FC6_KERNEL_SIZE, FC_LAYERS
from naah.io import mat73
from naah.io._weights_common import (
    HDF5_ERRORS,
    KERAS_URL,
    TRANSPOSE_BLOCK_BYTES,
    ConvParams,
    Network,
    ShapeTable,
    WeightsError,
    check_shapes,
    label,
    open_h5,
)

if TYPE_CHECKING:  # the real module, for annotations
    import h5py
else:
    h5py = lazy_import("h5py")  # MATLAB v7.3 and Keras files only

# Keras' 'caffe' preprocessing subtracts BGR (103.939, 116.779, 123.68)
# (keras/applications/imagenet_utils.py); the same mean in RGB order.
KERAS_MEAN_PIXEL = (123.68, 116.779, 103.939)


def keras_names() -> dict[str, str]:
    """naah's weight-layer names to Keras' (block1_conv1, ..., fc1, fc2, predictions)."""
    names = {name: f"block{name[4]}_conv{name[6:]}" for name in CONV_LAYERS}
    names.update(zip(FC_LAYERS, ("fc1", "fc2", "predictions"), strict=True))
    return names


def load_keras(filename: str, wanted: tuple[str, ...], explicit: bool) -> Network:
    """Read a Keras VGG-19 weights file; keep only ``wanted`` layers.

    A ``_notop`` file has no fully connected layers: they are dropped from
    ``wanted`` unless the caller asked for them ``explicit``-ly, which is an error.
    """
    with open_h5(filename) as file:
        try:
            return _read_keras(file, filename, wanted, explicit)
        except WeightsError:
            raise
        except HDF5_ERRORS as exc:
            raise WeightsError(
                f"{label(filename)} cannot be read ({exc}): it is probably truncated "
                f"or corrupt. Download it again from {KERAS_URL}."
            ) from exc


def _read_keras(
    file: h5py.File, filename: str, wanted: tuple[str, ...], explicit: bool
) -> Network:
    root = file["model_weights"] if "model_weights" in file else file
    names = keras_names()
    listed = root.attrs.get("layer_names")
    present = set(root) if listed is None else {_text(name) for name in listed}
    _check_keras_layers(present, filename)
    has_top = all(names[fc] in present for fc in FC_LAYERS)
    if not has_top:
        if explicit and any(name in FC_LAYERS for name in wanted):
            raise WeightsError(
                f"{label(filename)} has no fully connected layers (a Keras _notop "
                "file) but layers= asks for "
                f"{', '.join(n for n in wanted if n in FC_LAYERS)}. Pass "
                "layers=naah.architecture.CONV_LAYERS, or use "
                "vgg19_weights_tf_dim_ordering_tf_kernels.h5."
            )
        wanted = tuple(name for name in wanted if name in CONV_LAYERS)
    available = CONV_LAYERS + (FC_LAYERS if has_top else ())
    datasets = {n: _keras_datasets(root[names[n]], n, filename) for n in available}
    shapes: ShapeTable = {}
    for name in available:
        kernel, bias = datasets[name]
        shapes[name] = (_keras_shape(name, kernel.shape, shapes, filename), bias.size)
    check_shapes(shapes, filename)
    for name in wanted:
        for dataset in datasets[name]:
            _check_stored(dataset, name, filename)
    params = {name: _keras_params(name, *datasets[name]) for name in wanted}
    mean = np.array(KERAS_MEAN_PIXEL, dtype=np.float32)
    return Network(params, mean, None, None, "keras")


def _check_keras_layers(present: set[str], filename: str) -> None:
    convs = [name for ours, name in keras_names().items() if ours in CONV_LAYERS]
    missing = [name for name in convs if name not in present]
    if not missing:
        return
    fix = (
        f"naah needs VGG-19: vgg19_weights_tf_dim_ordering_tf_kernels.h5 ({KERAS_URL})."
    )
    if missing == ["block3_conv4", "block4_conv4", "block5_conv4"]:
        raise WeightsError(f"{label(filename)} holds VGG-16 weights. {fix}")
    if len(missing) == len(convs):
        found = ", ".join(sorted(present)[:8]) or "none"
        raise WeightsError(
            f"{label(filename)} is an HDF5 file without Keras VGG-19 layers "
            f"(no group block1_conv1; groups: {found}). {fix}"
        )
    raise WeightsError(
        f"{label(filename)} lacks the layers {', '.join(missing)}. {fix}"
    )


def _keras_datasets(group: Any, name: str, filename: str) -> tuple[Any, Any]:
    """The kernel and bias datasets of a Keras layer group, found via weight_names."""
    found: list[Any] = []
    if not isinstance(group, h5py.Group):
        pass  # reported below: a layer is a group of datasets
    elif "weight_names" in group.attrs:
        found = [group[_text(n)] for n in group.attrs["weight_names"]]
    else:
        group.visititems(lambda _, obj: found.append(obj))
    datasets = [d for d in found if isinstance(d, h5py.Dataset)]
    kernels = [d for d in datasets if d.ndim >= 2]
    biases = [d for d in datasets if d.ndim == 1]
    if len(kernels) != 1 or len(biases) != 1:
        raise WeightsError(
            f"{label(filename)}: Keras layer {group.name} (naah's {name}) should hold "
            f"one kernel and one bias, found datasets "
            f"{[d.name for d in found] or 'none'}. Download the file again."
        )
    return kernels[0], biases[0]


def _check_stored(dataset: Any, name: str, filename: str) -> None:
    problem = mat73.stored_size_problem(dataset)
    if problem:
        raise WeightsError(
            f"{label(filename)}: dataset {dataset.name} (naah's {name}) {problem}. "
            f"The file is truncated or corrupt; download it again from {KERAS_URL}."
        )


def _text(value: Any) -> str:
    # An undecodable name matches no Keras layer, so it is reported as missing.
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _keras_shape(
    name: str, kernel: tuple[int, ...], shapes: dict, filename: str
) -> tuple[int, ...]:
    """(out, in, height, width) of a Keras kernel shape (HWIO, or (in, out) dense)."""
    if name in CONV_LAYERS:
        if len(kernel) == 4 and kernel[2:] == (3, 3) and kernel[:2] != (3, 3):
            raise WeightsError(
                f"{label(filename)}: layer {name} has shape {kernel}, Theano's "
                "(out, in, h, w) ordering. Use the TensorFlow-ordered file "
                "vgg19_weights_tf_dim_ordering_tf_kernels.h5."
            )
        if len(kernel) != 4:
            return tuple(kernel)
        height, width, c_in, c_out = kernel
        return (c_out, c_in, height, width)
    if len(kernel) != 2:
        return tuple(kernel)
    if name != "fc6":
        return (kernel[1], kernel[0], 1, 1)
    pool5 = shapes["conv5_4"][0][0]
    spatial = FC6_KERNEL_SIZE * FC6_KERNEL_SIZE
    if kernel[0] != spatial * pool5:
        raise WeightsError(
            f"{label(filename)}: layer fc1 (naah's fc6) has {kernel[0]} inputs; "
            f"VGG-19 flattens pool5's {FC6_KERNEL_SIZE}x{FC6_KERNEL_SIZE}x{pool5} "
            f"output into {spatial * pool5}. The file is not VGG-19."
        )
    return (kernel[1], pool5, FC6_KERNEL_SIZE, FC6_KERNEL_SIZE)


def _keras_params(name: str, kernel: Any, bias: Any) -> ConvParams:
    if name in CONV_LAYERS:
        hwio = kernel[()]
        if name == "conv1_1":  # Keras' VGG takes BGR input; ours takes RGB
            hwio = hwio[:, :, ::-1, :]
        oihw = np.ascontiguousarray(hwio.transpose(3, 2, 0, 1), dtype=np.float32)
        pad = (1, 1, 1, 1)
    elif name == "fc6":
        oihw, pad = _keras_fc6(kernel), (0, 0, 0, 0)
    else:
        oihw, pad = _keras_dense(kernel)[:, :, np.newaxis, np.newaxis], (0, 0, 0, 0)
    return ConvParams(oihw, np.asarray(bias[()], dtype=np.float32), pad, (1, 1))


def _keras_dense(dataset: Any) -> np.ndarray:
    """A Dense layer's (in, out) matrix as (out, in), read a block of rows at a time."""
    inputs, outputs = dataset.shape
    matrix = np.empty((outputs, inputs), dtype=np.float32)
    rows = max(1, TRANSPOSE_BLOCK_BYTES // (4 * outputs))
    for start in range(0, inputs, rows):
        matrix[:, start : start + rows] = dataset[start : start + rows, :].T
    return matrix


def _keras_fc6(dataset: Any) -> np.ndarray:
    """fc1's (7*7*C, out) matrix, rows in (h, w, c) order, as an (out, C, 7, 7) kernel.

    Filled one (h, w) block of rows at a time, so no second full-size copy exists.
    """
    size = FC6_KERNEL_SIZE
    channels = dataset.shape[0] // (size * size)
    oihw = np.empty((dataset.shape[1], channels, size, size), dtype=np.float32)
    for h in range(size):
        for w in range(size):
            start = (h * size + w) * channels
            oihw[:, :, h, w] = dataset[start : start + channels, :].T
    return oihw
