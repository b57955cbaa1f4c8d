"""Reading MatConvNet's VGG-19 (``imagenet-vgg-verydeep-19.mat``) into naah's layout.

Both MATLAB encodings give the same tree of values (:mod:`.matv5` streams v5/v7
files, :mod:`.mat73` reads v7.3 HDF5 files); this module checks it against the
VGG-19 table and converts kernels from MATLAB's (height, width, in, out) to
(out, in, height, width). Fields are found by name: the current release stores
conv layers as ``name, type, weights, ...`` with a ``meta`` variable, beta16 as
``weights, pad, type, name, stride`` with top-level ``normalization`` and
``classes``, and older files ``filters`` and ``biases`` instead of ``weights``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, TypeGuard

import numpy as np

from naah.architecture import (
    MATCONVNET_LAYERS,
    NUM_CLASSES,
    WEIGHT_LAYERS,
    expected_kernel_shape,
)
from naah.io import mat73, matv5
from naah.io._weights_common import (
    HDF5_ERRORS,
    MATCONVNET_URL,
    TRANSPOSE_BLOCK_BYTES,
    ConvParams,
    Network,
    ShapeTable,
    WeightsError,
    check_shapes,
    label,
    open_h5,
)

# Struct fields holding a layer's parameters: current and beta16 releases use
# 'weights' ({W, b}); older releases used 'filters' and 'biases'.
WEIGHT_FIELDS = ("weights", "filters", "biases")
# Variables holding metadata (read in full; numeric arrays elsewhere are skipped).
METADATA_VARIABLES = ("meta", "normalization", "classes")
#: What a VGG-19 file's metadata (``meta``, or beta16's ``normalization`` and
#: ``classes``) takes when read, at most: the 1000 class names and descriptions
#: take under 1 MB and beta16's 224x224x3 mean image 1.2 MB, so 64 MiB leaves room
#: for any real file and none for a bomb.
METADATA_BYTES = 64 * 2**20
#: The largest things a MatConvNet VGG-19 file holds, from the layer table: no array
#: has more values than fc6's kernel (4096x512x7x7), no cell more elements than
#: the 1000 class names (the layer list has 43), and all it holds takes no more
#: than every layer's parameters as doubles and the metadata. A file declaring more
#: is corrupt, and is reported before anything of that size is allocated.
VGG19_LIMITS = matv5.Limits(
    max_values=max(math.prod(expected_kernel_shape(n)) for n in WEIGHT_LAYERS),
    max_elements=max(len(MATCONVNET_LAYERS), NUM_CLASSES),
    kind="a VGG-19 weights file",
    max_bytes=8
    * sum(
        math.prod(expected_kernel_shape(n)) + expected_kernel_shape(n)[0]
        for n in WEIGHT_LAYERS
    )
    + METADATA_BYTES,
)
#: The limits of reading the metadata alone (:func:`naah.io.weights.load_meta`).
METADATA_LIMITS = VGG19_LIMITS._replace(
    max_bytes=METADATA_BYTES, kind="the metadata of a VGG-19 weights file"
)


def _matconvnet_keep(wanted: tuple[str, ...]) -> matv5.KeepPredicate:
    """A predicate reading weights of wanted layers (by file position) and metadata."""
    indices = {i for i, layer in enumerate(MATCONVNET_LAYERS) if layer.name in wanted}

    def keep(path: matv5.Path) -> bool:
        if path[0] != "layers":
            return path[0] in METADATA_VARIABLES
        if len(path) >= 3 and path[2] in WEIGHT_FIELDS:
            return path[1] in indices
        return True

    return keep


def load_matv5(
    filename: str,
    wanted: tuple[str, ...],
    hashers: Iterable[Any] = (),
    *,
    truncated_hint: str = "",
) -> Network:
    """Read a MATLAB v5/v7 MatConvNet file, streaming; keep only ``wanted`` layers.

    ``hashers`` see every byte of the file. ``truncated_hint`` is added to the
    message when the file turns out to be truncated (e.g. the size it should have).
    """
    try:
        with open(filename, "rb") as file:
            variables = matv5.read_variables(
                file,
                keep=_matconvnet_keep(wanted),
                hashers=hashers,
                limits=VGG19_LIMITS,
            )
    except matv5.MatFileError as exc:
        raise _matv5_error(filename, exc, truncated_hint) from exc
    return _interpret_matconvnet(variables, wanted, filename)


def read_matv5_variable(filename: str, name: str) -> Any:
    """The variable ``name`` of a MATLAB v5/v7 file, or None if it has none: read
    under :data:`METADATA_LIMITS`, the other variables passed over unread."""
    try:
        with open(filename, "rb") as file:
            variables = matv5.read_variables(
                file, limits=METADATA_LIMITS, variables=(name,)
            )
    except matv5.MatFileError as exc:
        raise _matv5_error(filename, exc) from exc
    return variables.get(name)


def read_mat73_variable(filename: str, name: str) -> Any:
    """The variable ``name`` of a MATLAB v7.3 (HDF5) file, or None if it has
    none: read under :data:`METADATA_LIMITS`, the other variables not looked at."""
    with open_h5(filename) as file:
        try:
            variables = mat73.read_variables(
                file, limits=METADATA_LIMITS, variables=(name,)
            )
        except HDF5_ERRORS as exc:
            raise _mat73_error(filename, exc) from exc
    return variables.get(name)


def _matv5_error(
    filename: str, exc: matv5.MatFileError, truncated_hint: str = ""
) -> WeightsError:
    if not exc.truncated:
        return WeightsError(f"{label(filename)} is not a readable MAT-file: {exc}.")
    return WeightsError(
        f"{label(filename)} is truncated: {exc}{truncated_hint}. The download "
        f"was probably interrupted; download the file again from "
        f"{MATCONVNET_URL}."
    )


def _mat73_error(filename: str, exc: Exception) -> WeightsError:
    return WeightsError(
        f"{label(filename)} (MATLAB v7.3) cannot be read: {exc}. The file "
        f"is probably truncated or corrupt; download it again from "
        f"{MATCONVNET_URL}."
    )


def load_mat73(filename: str, wanted: tuple[str, ...]) -> Network:
    """Read a MATLAB v7.3 (HDF5) MatConvNet file; keep only ``wanted`` layers."""
    with open_h5(filename) as file:
        try:
            variables = mat73.read_variables(
                file, keep=_matconvnet_keep(wanted), limits=VGG19_LIMITS
            )
        except HDF5_ERRORS as exc:
            raise _mat73_error(filename, exc) from exc
    return _interpret_matconvnet(variables, wanted, filename)


def _interpret_matconvnet(
    variables: dict[str, Any], wanted: tuple[str, ...], filename: str
) -> Network:
    entries = _layer_entries(variables, filename)
    _check_layer_table(entries, filename)
    shapes: ShapeTable = {}
    params: dict[str, tuple[dict, Any, Any]] = {}
    for index, layer in enumerate(MATCONVNET_LAYERS):
        if layer.type != "conv":
            continue
        kept = layer.name in wanted
        kernel, bias = _weights_of(entries[index], layer.name, index, filename, kept)
        shapes[layer.name] = (_oihw_shape(kernel.shape), int(np.prod(bias.shape)))
        if kept:
            params[layer.name] = (entries[index], kernel, bias)
    check_shapes(shapes, filename)
    converted = {
        name: _conv_params(entry, kernel, bias, name, filename)
        for name, (entry, kernel, bias) in params.items()
    }
    mean, descriptions, names, release = _matconvnet_meta(variables, filename)
    return Network(converted, mean, descriptions, names, release)


def _layer_entries(variables: dict[str, Any], filename: str) -> list[dict]:
    if "layers" not in variables:
        found = ", ".join(variables) or "none"
        raise WeightsError(
            f"{label(filename)} has no 'layers' variable (variables: {found}), so it "
            "is not a MatConvNet network. naah needs imagenet-vgg-verydeep-19.mat "
            f"from {MATCONVNET_URL}."
        )
    cell = variables["layers"]
    values = list(cell.ravel(order="F")) if isinstance(cell, np.ndarray) else [cell]
    for index, entry in enumerate(values):
        if not (isinstance(entry, dict) and "name" in entry and "type" in entry):
            raise WeightsError(
                f"{label(filename)}: layers{{{index + 1}}} is not a struct with "
                "'name' and 'type' fields, so 'layers' is not a MatConvNet SimpleNN "
                f"layer list. naah needs imagenet-vgg-verydeep-19.mat from "
                f"{MATCONVNET_URL}."
            )
        for field in ("name", "type"):
            if not isinstance(entry[field], str):
                raise WeightsError(
                    f"{label(filename)}: layers{{{index + 1}}}.{field} should be "
                    f"text, got {_describe(entry[field])}. The file is corrupt; "
                    f"download it again from {MATCONVNET_URL}."
                )
    return values


def _check_layer_table(entries: list[dict], filename: str) -> None:
    names = [entry["name"] for entry in entries]
    types = [entry["type"] for entry in entries]
    expected = [layer.name for layer in MATCONVNET_LAYERS]
    if names != expected:
        raise WeightsError(_table_message(names, types, filename))
    for layer, kind in zip(MATCONVNET_LAYERS, types, strict=True):
        if kind != layer.type:
            raise WeightsError(
                f"{label(filename)}: layer {layer.name} has type {kind!r}, VGG-19 "
                f"needs {layer.type!r}. The file is not MatConvNet's VGG-19."
            )


def _table_message(names: list[Any], types: list[Any], filename: str) -> str:
    text = label(filename)
    fix = (
        f"naah needs VGG-19: download imagenet-vgg-verydeep-19.mat from "
        f"{MATCONVNET_URL}."
    )
    if any(isinstance(t, str) and t.startswith("dagnn.") for t in types):
        return f"{text} is a MatConvNet DagNN network; naah reads SimpleNN files. {fix}"
    if names == [layer.name for layer in _vgg16_table()]:
        return f"{text} is VGG-16 ({len(names)} layers, no conv3_4, conv4_4, conv5_4). {fix}"
    expected = [layer.name for layer in MATCONVNET_LAYERS]
    missing = [name for name in expected if name not in names]
    extra = [repr(name) for name in names if name not in expected]
    details = [f"it has {len(names)} layers, VGG-19 has {len(expected)}"]
    if missing:
        details.append(f"missing: {_first(missing)}")
    if extra:
        details.append(f"not in VGG-19: {_first(extra)}")
    repeated = sorted({str(name) for name in names if names.count(name) > 1})
    if repeated:
        details.append(f"repeated: {_first(repeated)}")
    elif not missing and not extra:
        pairs = enumerate(zip(names, expected, strict=True))
        first = next(i for i, (got, want) in pairs if got != want)
        details.append(
            f"layer {first + 1} is {names[first]!r}, not {expected[first]!r}"
        )
    return f"{text} does not hold MatConvNet's VGG-19 ({'; '.join(details)}). {fix}"


def _first(items: list[str], count: int = 6) -> str:
    more = f" and {len(items) - count} more" if len(items) > count else ""
    return ", ".join(items[:count]) + more


def _vgg16_table() -> list[Any]:
    """The layer table of MatConvNet's VGG-16 (configuration D)."""
    dropped = {f"{kind}{block}_4" for block in (3, 4, 5) for kind in ("conv", "relu")}
    return [layer for layer in MATCONVNET_LAYERS if layer.name not in dropped]


def _weights_of(
    entry: dict, name: str, index: int, filename: str, kept: bool
) -> tuple[Any, Any]:
    """The kernel and bias of a conv layer's struct: arrays if ``kept``, else
    arrays or the Skipped numeric arrays the reader declined."""
    if "weights" in entry:
        pair = entry["weights"]
        if isinstance(pair, np.ndarray) and pair.dtype == object and pair.size == 2:
            kernel, bias = pair.ravel(order="F")
        else:
            raise WeightsError(
                f"{label(filename)}: layer {name} (layers{{{index + 1}}}).weights "
                f"should be a 1x2 cell {{W, b}}, got {_describe(pair)}."
            )
    elif "filters" in entry and "biases" in entry:
        kernel, bias = entry["filters"], entry["biases"]
    else:
        raise WeightsError(
            f"{label(filename)}: layer {name} (layers{{{index + 1}}}) has no "
            f"'weights' field (fields: {', '.join(entry)}). The file is not a "
            "MatConvNet network or is damaged."
        )
    for part, value in (("kernel", kernel), ("bias", bias)):
        if not (_is_numeric(value) or (not kept and _is_declined_numeric(value))):
            raise WeightsError(
                f"{label(filename)}: the {part} of layer {name} should be a "
                f"numeric array, got {_describe(value)}."
            )
    return kernel, bias


def _is_numeric(value: object) -> TypeGuard[np.ndarray]:
    return isinstance(value, np.ndarray) and value.dtype.kind in "fiu"


def _is_declined_numeric(value: object) -> bool:
    """A numeric array the reader passed over. Its class names a numpy type:
    MATLAB's 'single', 'double', 'int8', ... and HDF5's 'float32', ... do."""
    if not isinstance(value, matv5.Skipped):
        return False
    try:
        return np.dtype(value.mat_class).kind in "fiu"
    except TypeError:
        return False


def _describe(value: Any) -> str:
    if isinstance(value, matv5.Skipped):
        return f"a {value.mat_class} array of shape {value.shape}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and type {value.dtype}"
    return f"a {type(value).__name__}"


def _oihw_shape(dims: tuple[int, ...]) -> tuple[int, ...]:
    """(out, in, height, width) of a MATLAB (height, width, in, out) kernel shape."""
    if len(dims) > 4:
        return tuple(dims)
    h, w, c_in, c_out = tuple(dims) + (1,) * (4 - len(dims))
    return (c_out, c_in, h, w)


def _conv_params(
    entry: dict, kernel: np.ndarray, bias: np.ndarray, name: str, filename: str
) -> ConvParams:
    oihw = _kernel_oihw(kernel)
    pad = _integers(entry.get("pad", 0), (1, 4), name, "pad", filename)
    stride = _integers(entry.get("stride", 1), (1, 2), name, "stride", filename)
    top, bottom, left, right = pad * 4 if len(pad) == 1 else pad
    vertical, horizontal = stride * 2 if len(stride) == 1 else stride
    return ConvParams(
        oihw,
        np.ascontiguousarray(bias.reshape(-1), dtype=np.float32),
        (top, bottom, left, right),
        (vertical, horizontal),
    )


def _kernel_oihw(kernel: np.ndarray) -> np.ndarray:
    """A MATLAB (height, width, in, out) kernel as C-contiguous float32 OIHW.

    A column-major float32 kernel is already (out, in, width, height) in row-major
    order; for the square kernels of VGG swapping height and width in place, a
    block of output channels at a time, avoids a second full-size copy.
    """
    padded = kernel[(...,) + (np.newaxis,) * (4 - kernel.ndim)]
    stored = padded.T  # (out, in, width, height)
    square = stored.shape[2] == stored.shape[3]
    if not (square and stored.dtype == np.float32 and stored.flags.c_contiguous):
        return np.ascontiguousarray(padded.transpose(3, 2, 0, 1), dtype=np.float32)
    if stored.shape[2] == 1:  # 1x1 kernels: nothing to swap
        return stored
    per_output = max(1, stored[0].nbytes)
    rows = max(1, TRANSPOSE_BLOCK_BYTES // per_output)
    for start in range(0, stored.shape[0], rows):
        block = stored[start : start + rows]
        block[...] = block.transpose(0, 1, 3, 2).copy()
    return stored


def _integers(
    value: Any, counts: tuple[int, ...], name: str, field: str, filename: str
) -> list[int]:
    numbers = np.asarray(value).reshape(-1) if _is_numeric(value) else None
    if (
        numbers is None
        or numbers.size not in counts
        or not np.all(np.isfinite(numbers))
        or np.any(numbers < 0)
        or np.any(numbers != np.floor(numbers))
    ):
        raise WeightsError(
            f"{label(filename)}: layer {name}.{field} should be "
            f"{' or '.join(map(str, counts))} non-negative integers, got "
            f"{_describe(value)}."
        )
    return [int(n) for n in numbers]


def _matconvnet_meta(
    variables: dict[str, Any], filename: str
) -> tuple[np.ndarray, Any, Any, str]:
    """Mean pixel, class descriptions, class names and release from the metadata."""
    if "meta" in variables:
        meta = variables["meta"]
        if not isinstance(meta, dict) or "normalization" not in meta:
            raise WeightsError(
                f"{label(filename)}: the 'meta' variable has no 'normalization' "
                "field, which holds the mean pixel (meta.normalization.averageImage)."
                f" Download imagenet-vgg-verydeep-19.mat again from {MATCONVNET_URL}."
            )
        normalization, classes = meta["normalization"], meta.get("classes")
        release, prefix = "matconvnet-current", "meta."
    elif "normalization" in variables:
        normalization, classes = variables["normalization"], variables.get("classes")
        release, prefix = "matconvnet-beta16", ""
    else:
        raise WeightsError(
            f"{label(filename)} has neither a 'meta' variable (current MatConvNet "
            "release) nor a 'normalization' variable (beta16 release), so it does not "
            "say which mean pixel the network was trained with. Download "
            f"imagenet-vgg-verydeep-19.mat from {MATCONVNET_URL}."
        )
    mean = _mean_pixel(normalization, f"{prefix}normalization", filename)
    names = _strings(classes, "name", f"{prefix}classes", filename)
    descriptions = _strings(classes, "description", f"{prefix}classes", filename)
    return mean, descriptions, names, release


def _mean_pixel(normalization: Any, where: str, filename: str) -> np.ndarray:
    image = (
        normalization.get("averageImage") if isinstance(normalization, dict) else None
    )
    if _is_numeric(image) and image.size == 3:
        return image.reshape(3).astype(np.float32)
    if _is_numeric(image) and image.ndim == 3 and image.shape[2] == 3:
        return image.mean(axis=(0, 1), dtype=np.float64).astype(np.float32)
    raise WeightsError(
        f"{label(filename)}: {where}.averageImage should be an RGB mean pixel (1x1x3) "
        f"or mean image (HxWx3), got {_describe(image)}."
    )


def _strings(
    classes: Any, field: str, where: str, filename: str
) -> tuple[str, ...] | None:
    if not isinstance(classes, dict) or field not in classes:
        return None
    value = classes[field]
    if isinstance(value, str):
        return (value,)
    if isinstance(value, tuple):
        return value
    if isinstance(value, np.ndarray) and all(isinstance(v, str) for v in value.flat):
        return tuple(value.ravel(order="F"))
    raise WeightsError(
        f"{label(filename)}: {where}.{field} should be a cell of strings, got "
        f"{_describe(value)}."
    )
