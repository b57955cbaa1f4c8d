"""Tests of naah.io.weights (load_weights) and its streaming MAT-file reader."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import tracemalloc

import h5py
import numpy as np
import pytest
import scipy.io

import naah.io
from naah import testing
from naah.architecture import CONV_LAYERS, FC_LAYERS, WEIGHT_LAYERS
from naah.io import (
    ConvParams,
    VGGWeights,
    WeightsError,
    WeightsSource,
    load_weights,
    matv5,
    weights,
)

# Bytes the loader may use on top of twice what it keeps: the reader's 64 KiB
# buffers, Python objects for the 43 layer structs, the class names.
MEMORY_SLACK_BYTES = 1_000_000
PARAMS = testing.make_vgg19_params()
PARAMS_WIDE = testing.make_vgg19_params(fc_width=1024)
NAMES, DESCRIPTIONS = testing.make_class_names(testing.DEFAULT_NUM_CLASSES)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """One small fixture file per format and release, written once."""
    folder = tmp_path_factory.mktemp("weights")
    return {
        "current": testing.write_vgg19_mat(folder / "current.mat"),
        "current-raw": testing.write_vgg19_mat(
            folder / "current-raw.mat", compression=False
        ),
        "beta16": testing.write_vgg19_mat(folder / "beta16.mat", release="beta16"),
        "beta16-raw": testing.write_vgg19_mat(
            folder / "beta16-raw.mat", release="beta16", compression=False
        ),
        "legacy": testing.write_vgg19_mat(folder / "legacy.mat", release="legacy"),
        "v73": testing.write_vgg19_mat73(folder / "v73.mat"),
        "v73-beta16": testing.write_vgg19_mat73(
            folder / "v73-beta16.mat", release="beta16"
        ),
        "keras1": testing.write_vgg19_keras_h5(folder / "keras1.h5"),
        "keras2": testing.write_vgg19_keras_h5(folder / "keras2.h5", naming="keras2"),
        "notop": testing.write_vgg19_keras_h5(folder / "notop.h5", include_top=False),
    }


def _read(path):
    with open(path, "rb") as file:
        return file.read()


def assert_params_equal(loaded, names=WEIGHT_LAYERS, source=PARAMS):
    assert list(loaded.params) == list(names)
    for name in names:
        kernel, bias = source[name]
        conv = loaded.params[name]
        assert conv.kernel.dtype == np.float32 and conv.kernel.flags.c_contiguous
        assert conv.bias.dtype == np.float32 and conv.bias.shape == bias.shape
        np.testing.assert_array_equal(conv.kernel, kernel, err_msg=name)
        np.testing.assert_array_equal(conv.bias, bias, err_msg=name)


def assert_vgg_pads_and_strides(loaded):
    for name, conv in loaded.params.items():
        pad = (0, 0, 0, 0) if name in FC_LAYERS else (1, 1, 1, 1)
        assert (conv.pad, conv.stride) == (pad, (1, 1)), name


# -- round trips ------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["current", "current-raw"])
def test_current_release_mat_loads_every_layer_as_written(files, key):
    loaded = load_weights(files[key])
    assert_params_equal(loaded)
    assert_vgg_pads_and_strides(loaded)
    assert loaded.mean_pixel.dtype == np.float32 and loaded.mean_pixel.shape == (3,)
    np.testing.assert_allclose(loaded.mean_pixel, testing.VGG_MEAN_PIXEL, rtol=1e-6)
    assert loaded.class_names == NAMES
    assert loaded.class_descriptions == DESCRIPTIONS
    assert loaded.class_descriptions[0] == "tench, Tinca tinca"
    assert (loaded.source.format, loaded.source.release) == (
        "matconvnet",
        "matconvnet-current",
    )


@pytest.mark.parametrize("key", ["beta16", "beta16-raw"])
def test_beta16_release_with_top_level_normalization_just_works(files, key):
    loaded = load_weights(files[key])
    assert_params_equal(loaded)
    assert_vgg_pads_and_strides(loaded)
    np.testing.assert_allclose(loaded.mean_pixel, testing.VGG_MEAN_PIXEL, rtol=1e-5)
    assert loaded.class_names == NAMES
    assert loaded.source.release == "matconvnet-beta16"


def test_older_filters_and_biases_fields_are_read_like_weights(files):
    assert_params_equal(load_weights(files["legacy"]))


@pytest.mark.parametrize(
    "key, release", [("v73", "matconvnet-current"), ("v73-beta16", "matconvnet-beta16")]
)
def test_matlab_v73_file_loads_like_the_v7_file(files, key, release):
    loaded = load_weights(files[key])
    assert_params_equal(loaded)
    assert_vgg_pads_and_strides(loaded)
    np.testing.assert_allclose(loaded.mean_pixel, testing.VGG_MEAN_PIXEL, rtol=1e-5)
    assert loaded.class_descriptions == DESCRIPTIONS
    assert (loaded.source.format, loaded.source.release) == ("matlab-v7.3", release)


@pytest.mark.parametrize("key", ["keras1", "keras2"])
def test_keras_file_loads_as_rgb_oihw_kernels(files, key):
    loaded = load_weights(files[key])
    assert_params_equal(loaded)
    assert_vgg_pads_and_strides(loaded)
    np.testing.assert_allclose(loaded.mean_pixel, (123.68, 116.779, 103.939))
    assert loaded.class_names is None and loaded.class_descriptions is None
    assert (loaded.source.format, loaded.source.release) == ("keras-h5", "keras")


def test_keras_notop_file_loads_its_sixteen_conv_layers(files):
    assert_params_equal(load_weights(files["notop"]), CONV_LAYERS)


def test_same_weights_load_identically_from_mat_and_keras_h5(files):
    """Covers Keras' BGR input order and fc1's (h, w, c) row order."""
    from_mat = load_weights(files["current"])
    from_keras = load_weights(files["keras1"])
    for name in WEIGHT_LAYERS:
        mat_conv, keras_conv = from_mat.params[name], from_keras.params[name]
        np.testing.assert_array_equal(mat_conv.kernel, keras_conv.kernel, name)
        np.testing.assert_array_equal(mat_conv.bias, keras_conv.bias, name)
        assert (mat_conv.pad, mat_conv.stride) == (keras_conv.pad, keras_conv.stride)
    np.testing.assert_allclose(from_mat.mean_pixel, from_keras.mean_pixel)


@pytest.mark.parametrize(
    "write",
    [testing.write_vgg19_mat, testing.write_vgg19_mat73, testing.write_vgg19_keras_h5],
)
def test_a_single_tap_lands_at_its_height_and_width_not_transposed(tmp_path, write):
    conv = np.zeros_like(PARAMS["conv2_1"][0])
    conv[5, 2, 0, 2] = 1.0  # top row, right column: a swapped H/W puts it bottom-left
    fc6 = np.zeros_like(PARAMS["fc6"][0])
    fc6[3, 7, 1, 5] = 1.0
    first = np.zeros_like(PARAMS["conv1_1"][0])
    first[0, 0, 2, 1] = 1.0  # red input channel: Keras stores it last (BGR)
    overrides = {"conv2_1": conv, "fc6": fc6, "conv1_1": first}
    if write is testing.write_vgg19_keras_h5:
        path = tmp_path / "taps.h5"
        _write_keras_with_overrides(path, overrides)
    else:
        path = write(tmp_path / "taps.mat", kernel_overrides=overrides)
    loaded = load_weights(path, layers=overrides)
    for name, kernel in overrides.items():
        np.testing.assert_array_equal(loaded.params[name].kernel, kernel, name)


def _write_keras_with_overrides(path, overrides):
    """A Keras file whose kernels are replaced, converted by hand (HWIO, BGR, rows)."""
    testing.write_vgg19_keras_h5(path)
    with h5py.File(path, "r+") as file:
        hwio = overrides["conv2_1"].transpose(2, 3, 1, 0)
        file["block2_conv1/block2_conv1_W_1:0"][...] = hwio
        hwio = overrides["conv1_1"].transpose(2, 3, 1, 0)[:, :, ::-1, :]
        file["block1_conv1/block1_conv1_W_1:0"][...] = hwio
        fc6 = overrides["fc6"]  # row (h * 7 + w) * C + c, column out
        rows = np.zeros(file["fc1/fc1_W_1:0"].shape, dtype=np.float32)
        for o, c, h, w in zip(*np.nonzero(fc6), strict=True):
            rows[(h * 7 + w) * fc6.shape[1] + c, o] = fc6[o, c, h, w]
        file["fc1/fc1_W_1:0"][...] = rows


def test_a_mean_pixel_other_than_vggs_is_read_from_the_file(tmp_path):
    path = testing.write_vgg19_mat(tmp_path / "m.mat", mean_pixel=(1.0, 2.0, 3.5))
    np.testing.assert_array_equal(load_weights(path).mean_pixel, [1.0, 2.0, 3.5])


# -- choosing layers ----------------------------------------------------------------------
@pytest.mark.parametrize("key", ["current", "v73", "keras1"])
def test_layers_keeps_only_the_named_layers_in_network_order(files, key):
    loaded = load_weights(files[key], layers=["fc7", "conv3_1", "conv1_1"])
    assert_params_equal(loaded, ["conv1_1", "conv3_1", "fc7"])


def test_layers_accepts_conv_layers_and_a_single_name(files):
    assert list(load_weights(files["current"], layers=CONV_LAYERS).params) == list(
        CONV_LAYERS
    )
    assert list(load_weights(files["current"], layers="conv4_2").params) == ["conv4_2"]


@pytest.mark.parametrize(
    "name, hint",
    [("relu1_1", "relu1_1 has no weights"), ("block1_conv1", "called conv1_1")],
)
def test_unknown_layer_names_are_rejected_with_the_valid_names(files, name, hint):
    with pytest.raises(WeightsError, match="Valid names") as error:
        load_weights(files["current"], layers=["conv1_1", name])
    assert hint in str(error.value) and "conv5_4" in str(error.value)


def test_asking_a_notop_file_for_fc_layers_says_it_has_none(files):
    with pytest.raises(WeightsError, match="no fully connected layers.*CONV_LAYERS"):
        load_weights(files["notop"], layers=["conv1_1", "fc6"])


def test_format_is_detected_from_content_not_extension(files, tmp_path):
    disguised_mat = tmp_path / "weights.h5"
    disguised_mat.write_bytes(_read(files["current"]))
    disguised_h5 = tmp_path / "weights.mat"
    disguised_h5.write_bytes(_read(files["keras1"]))
    assert load_weights(disguised_mat).source.format == "matconvnet"
    assert load_weights(disguised_h5).source.format == "keras-h5"


# -- memory ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def wide_fc_files(tmp_path_factory):
    """Files whose fc weights (about 7.5 MB) dwarf the conv weights (about 84 kB)."""
    folder = tmp_path_factory.mktemp("wide")
    return {
        "compressed": testing.write_vgg19_mat(folder / "c.mat", fc_width=1024),
        "uncompressed": testing.write_vgg19_mat(
            folder / "u.mat", fc_width=1024, compression=False
        ),
        "v73": testing.write_vgg19_mat73(folder / "v73.mat", fc_width=1024),
        "keras": testing.write_vgg19_keras_h5(folder / "k.h5", fc_width=1024),
    }


def _traced_load(path, layers):
    tracemalloc.start()
    try:
        loaded = load_weights(path, layers=layers)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    kept = sum(conv.kernel.nbytes + conv.bias.nbytes for conv in loaded.params.values())
    return peak, kept


@pytest.mark.parametrize("key", ["compressed", "uncompressed", "v73", "keras"])
def test_loading_conv_layers_never_holds_the_fc_weights(wide_fc_files, key):
    fc_bytes = sum(PARAMS_WIDE[name][0].nbytes for name in FC_LAYERS)
    peak, kept = _traced_load(wide_fc_files[key], CONV_LAYERS)
    assert peak < 2 * kept + MEMORY_SLACK_BYTES < fc_bytes / 2, (peak, kept)


@pytest.mark.parametrize("key", ["compressed", "v73", "keras"])
def test_loading_every_layer_needs_less_than_twice_what_it_keeps(wide_fc_files, key):
    peak, kept = _traced_load(wide_fc_files[key], None)
    assert kept < peak < 2 * kept, (peak, kept)


def test_streaming_reader_returns_declined_arrays_as_shapes_only(files):
    with open(files["current"], "rb") as file:
        values = matv5.read_variables(file, keep=lambda path: "weights" not in path)
    kernel, bias = values["layers"][0, 0]["weights"].ravel()
    assert kernel == matv5.Skipped((3, 3, 3, 4), "single")
    assert bias == matv5.Skipped((4, 1), "single")


# -- the streaming MAT-file reader --------------------------------------------------------
def _assert_same_value(ours, theirs, where="value"):
    """Compare a matv5 value with scipy.io.loadmat's (struct_as_record=False)."""
    if (
        isinstance(theirs, np.ndarray)
        and theirs.shape == (1, 1)
        and isinstance(ours, dict)
    ):
        theirs = theirs[0, 0]
    if isinstance(ours, dict):
        assert list(ours) == list(theirs._fieldnames), where
        for field in ours:
            _assert_same_value(ours[field], getattr(theirs, field), f"{where}.{field}")
    elif isinstance(ours, str):
        assert np.asarray(theirs).reshape(-1).tolist() == ([ours] if ours else []), (
            where
        )
    elif ours.dtype == object:
        assert ours.shape == theirs.shape, where
        for index in np.ndindex(ours.shape):
            _assert_same_value(ours[index], theirs[index], f"{where}{index}")
    else:
        assert ours.shape == theirs.shape, where
        np.testing.assert_array_equal(ours, theirs, err_msg=where)


@pytest.mark.parametrize("key", ["current", "current-raw", "beta16"])
def test_streaming_reader_agrees_with_scipy_loadmat_on_every_value(files, key):
    theirs = scipy.io.loadmat(
        files[key], squeeze_me=False, struct_as_record=False, chars_as_strings=True
    )
    with open(files[key], "rb") as file:
        ours = matv5.read_variables(file)
    assert list(ours) == [k for k in theirs if not k.startswith("__")]
    for name, value in ours.items():
        _assert_same_value(value, theirs[name], name)


def test_streaming_reader_hashes_every_byte_of_the_file(files):
    for key in ("current", "current-raw"):
        sha = hashlib.sha256()
        with open(files[key], "rb") as file:
            matv5.read_variables(file, keep=lambda path: False, hashers=[sha])
        expected = hashlib.sha256(_read(files[key])).hexdigest()
        assert sha.hexdigest() == expected


def _element(order, mi_type, data):
    return struct.pack(order + "II", mi_type, len(data)) + data + bytes(-len(data) % 8)


def _hand_written_mat(order):
    """A file scipy cannot write: byte order `order`, text as UTF-16 code units."""
    indicator = b"IM" if order == "<" else b"MI"
    header = b"MATLAB 5.0 MAT-file".ljust(116) + bytes(8)
    header += struct.pack(order + "H", 0x0100) + indicator

    def matrix(mx_class, dims, name, body):
        flags = _element(order, matv5.MI_UINT32, struct.pack(order + "II", mx_class, 0))
        shape = _element(order, matv5.MI_INT32, struct.pack(order + "2i", *dims))
        return _element(
            order, matv5.MI_MATRIX, flags + shape + _element(order, 1, name) + body
        )

    numbers = np.arange(6, dtype=order + "f8").reshape(2, 3)
    text = "héllo".encode("utf-16-le" if order == "<" else "utf-16-be")
    return header + (
        matrix(6, (2, 3), b"x", _element(order, matv5.MI_DOUBLE, numbers.tobytes("F")))
        + matrix(4, (1, 5), b"s", _element(order, matv5.MI_UINT16, text))
    )


@pytest.mark.parametrize("order", ["<", ">"])
def test_streaming_reader_handles_either_byte_order_and_utf16_text(order):
    values = matv5.read_variables(io.BytesIO(_hand_written_mat(order)))
    np.testing.assert_array_equal(values["x"], np.arange(6.0).reshape(2, 3))
    assert values["s"] == "héllo"


def test_streaming_reader_keeps_column_major_order_of_4d_arrays():
    array = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {"a": array})
    buffer.seek(0)
    np.testing.assert_array_equal(matv5.read_variables(buffer)["a"], array)


# -- checksums ------------------------------------------------------------------------------
def test_an_unpublished_mat_file_gets_its_sha256_and_status_unknown(files):
    source = load_weights(files["current"]).source
    data = _read(files["current"])
    assert source == WeightsSource(
        files["current"],
        "matconvnet",
        "matconvnet-current",
        len(data),
        hashlib.sha256(data).hexdigest(),
        "unknown",
    )


def test_hdf5_files_with_unpublished_names_and_sizes_are_not_hashed(files):
    source = load_weights(files["keras1"]).source
    assert (source.sha256, source.checksum) == (None, "not computed")


def test_a_short_file_named_like_the_published_mat_warns_and_still_loads(
    files, tmp_path
):
    path = tmp_path / "imagenet-vgg-verydeep-19.mat"
    path.write_bytes(_read(files["current"]))
    with pytest.warns(UserWarning, match=r"expected 534,904,783 bytes .*, got [\d,]+"):
        loaded = load_weights(path)
    assert loaded.source.checksum == "mismatch"
    assert_params_equal(loaded)


def test_a_short_file_named_like_the_published_keras_file_warns(files, tmp_path):
    path = tmp_path / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
    path.write_bytes(_read(files["notop"]))
    with pytest.warns(UserWarning, match="expected 80,134,624 bytes"):
        source = load_weights(path).source
    assert source.checksum == "mismatch" and source.sha256 is not None


def _known(name, path, **changes):
    data = _read(path)
    fields = dict(
        name=name,
        release="matconvnet-current",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        md5=hashlib.md5(data).hexdigest(),
        url="https://example.org/",
    )
    return weights.KnownFile(**{**fields, **changes})


@pytest.mark.parametrize("key", ["current", "keras1"])
def test_a_published_file_is_verified_even_when_renamed(files, monkeypatch, key):
    monkeypatch.setattr(weights, "KNOWN_FILES", (_known("published.mat", files[key]),))
    assert load_weights(files[key]).source.checksum == "verified"


def test_a_file_of_the_right_size_but_wrong_digest_warns_of_corruption(
    files, tmp_path, monkeypatch
):
    path = tmp_path / "published.mat"
    path.write_bytes(_read(files["current"]))
    known = _known("published.mat", path, sha256="0" * 64, md5=None)
    monkeypatch.setattr(weights, "KNOWN_FILES", (known,))
    with pytest.warns(UserWarning, match="expected SHA256 0+ .*corrupted"):
        assert load_weights(path).source.checksum == "mismatch"


def test_a_truncated_file_with_a_published_name_says_how_big_it_should_be(
    files, tmp_path
):
    path = tmp_path / "imagenet-vgg-verydeep-19.mat"
    data = _read(files["current"])
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="truncated.*534,904,783 bytes"):
        load_weights(path)


# -- errors ---------------------------------------------------------------------------------
def test_a_missing_file_is_a_file_not_found_error_naming_the_file(tmp_path):
    path = tmp_path / "nowhere.mat"
    with pytest.raises(FileNotFoundError, match="nowhere.mat.*pass its path") as error:
        load_weights(path)
    assert isinstance(error.value, WeightsError)


def test_a_directory_is_rejected_pointing_at_the_weights_file_inside(files, tmp_path):
    (tmp_path / "imagenet-vgg-verydeep-19.mat").write_bytes(b"x")
    with pytest.raises(WeightsError, match="is a directory.*imagenet-vgg-verydeep"):
        load_weights(tmp_path)


def test_an_empty_file_is_rejected_as_a_failed_download(tmp_path):
    path = tmp_path / "imagenet-vgg-verydeep-19.mat"
    path.touch()
    with pytest.raises(WeightsError, match="empty.*download"):
        load_weights(path)


def test_a_path_that_is_not_a_path_is_rejected():
    with pytest.raises(WeightsError, match="needs a file path"):
        load_weights(42)


@pytest.mark.parametrize(
    "content, kind",
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(200), "JPEG image"),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "PNG image"),
        (b"layer,weight\nconv1_1,0.5\n", "text file"),
        (b"<!DOCTYPE html><html>Not Found</html>", "HTML page"),
        (b"PK\x03\x04" + bytes(100), "zip archive"),
    ],
)
def test_a_file_that_is_not_a_weights_file_says_what_it_is(tmp_path, content, kind):
    path = tmp_path / "imagenet-vgg-verydeep-19.mat"
    path.write_bytes(content)
    with pytest.raises(WeightsError, match=f"is an? {kind}.*not a VGG-19 weights"):
        load_weights(path)


@pytest.mark.parametrize("key", ["current", "current-raw", "beta16", "v73", "keras1"])
@pytest.mark.parametrize("fraction", [0.5, 0.97])
def test_a_truncated_file_is_reported_as_truncated(files, tmp_path, key, fraction):
    data = _read(files[key])
    path = tmp_path / "cut.mat"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(WeightsError, match="truncated") as error:
        load_weights(path)
    assert "cut.mat" in str(error.value)
    assert error.value.__cause__ is not None  # chained, not leaked


def test_a_file_cut_inside_its_header_is_reported(files, tmp_path):
    path = tmp_path / "cut.mat"
    path.write_bytes(_read(files["current"])[:100])
    with pytest.raises(WeightsError, match="cut short"):
        load_weights(path)


def test_corrupt_compressed_data_is_reported_with_the_variable(files, tmp_path):
    data = bytearray(_read(files["current"]))
    data[1000:1100] = bytes(100)
    path = tmp_path / "corrupt.mat"
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="corrupt.mat.*layers") as error:
        load_weights(path)
    assert isinstance(error.value.__cause__, matv5.MatFileError)


@pytest.mark.parametrize(
    "write",
    [testing.write_vgg19_mat, testing.write_vgg19_mat73, testing.write_vgg19_keras_h5],
)
def test_a_vgg16_file_is_recognised_and_vgg19_asked_for(tmp_path, write):
    path = write(tmp_path / "vgg16.file", vgg16=True)
    with pytest.raises(WeightsError, match="VGG-16.*needs VGG-19"):
        load_weights(path)


def test_another_networks_mat_file_is_rejected(tmp_path):
    layers = np.empty((1, 2), dtype=object)
    layers[0, 0] = {"name": "conv1", "type": "conv"}
    layers[0, 1] = {"name": "relu1", "type": "relu"}
    path = tmp_path / "alexnet.mat"
    scipy.io.savemat(path, {"layers": layers})
    with pytest.raises(WeightsError, match="2 layers, VGG-19 has 43.*'conv1'"):
        load_weights(path)


def test_a_mat_file_without_layers_is_rejected(tmp_path):
    path = tmp_path / "data.mat"
    scipy.io.savemat(path, {"images": np.zeros((2, 2))})
    with pytest.raises(WeightsError, match="no 'layers' variable.*images"):
        load_weights(path)


def test_another_hdf5_file_is_rejected(tmp_path):
    path = tmp_path / "resnet.h5"
    with h5py.File(path, "w") as file:
        file.create_group("conv1")
    with pytest.raises(WeightsError, match="without Keras VGG-19 layers.*conv1"):
        load_weights(path)


@pytest.mark.parametrize("dropped", [["conv3_2"], ["relu5_1"]])
def test_a_mat_file_missing_a_layer_names_it(tmp_path, dropped):
    path = testing.write_vgg19_mat(tmp_path / "w.mat", drop_layers=dropped)
    with pytest.raises(WeightsError, match=f"42 layers.*missing: {dropped[0]}"):
        load_weights(path)


def _kernel(name, out=None, c_in=None, size=None):
    kernel = PARAMS[name][0]
    out, c_in = out or kernel.shape[0], c_in or kernel.shape[1]
    height, width = size or kernel.shape[2:]
    return np.zeros((out, c_in, height, width), dtype=np.float32)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"conv2_1": _kernel("conv2_1", c_in=5)}, "conv2_1 has 5 input channels, but "
         "conv1_2 has 4 output channels"),
        ({"conv1_1": _kernel("conv1_1", c_in=1)}, "conv1_1 has 1 input channels, but "
         "the RGB input has 3"),
        ({"conv4_2": _kernel("conv4_2", size=(3, 5))}, "conv4_2 has a 3x5 kernel, "
         "expected 3x3"),
        ({"fc6": _kernel("fc6", size=(6, 6))}, "fc6 has a 6x6 kernel, expected 7x7"),
        ({"fc7": _kernel("fc7", size=(3, 3))}, "fc7 has a 3x3 kernel, expected 1x1"),
        ({"fc8": _kernel("fc8", c_in=31)}, "fc8 has 31 input channels"),
    ],
)  # fmt: skip
def test_a_wrong_kernel_shape_is_reported_even_for_layers_not_kept(
    tmp_path, overrides, message
):
    path = testing.write_vgg19_mat(tmp_path / "w.mat", kernel_overrides=overrides)
    with pytest.raises(WeightsError, match=message):
        load_weights(path, layers=["conv1_2"])


def test_a_bias_of_the_wrong_length_is_reported(tmp_path):
    path = testing.write_vgg19_mat(
        tmp_path / "w.mat", bias_overrides={"conv3_3": np.zeros(7, np.float32)}
    )
    with pytest.raises(WeightsError, match="conv3_3 has 7 biases for 8 output"):
        load_weights(path)


def test_a_file_with_neither_meta_nor_normalization_says_so(tmp_path):
    path = testing.write_vgg19_mat(tmp_path / "w.mat", drop_variables=["meta"])
    with pytest.raises(WeightsError, match="neither a 'meta' .* nor a 'normalization'"):
        load_weights(path)


# -- the public API -------------------------------------------------------------------------
def test_naah_io_exports_the_weights_api():
    for name in ("load_weights", "VGGWeights", "ConvParams", "WeightsSource"):
        assert getattr(naah.io, name) is getattr(weights, name)
    assert issubclass(naah.io.WeightsError, ValueError)


def test_reprs_are_short_summaries_without_array_values(files):
    loaded = load_weights(files["current"])
    assert isinstance(loaded, VGGWeights)
    assert isinstance(loaded.params["conv1_1"], ConvParams)
    text = repr(loaded)
    assert "19 layers conv1_1..fc8" in text and "current.mat" in text
    assert len(text) < 300 and "array" not in text
    assert repr(loaded.params["fc6"]).startswith("ConvParams(kernel=(32, 16, 7, 7)")


def test_widths_reports_each_blocks_output_channels(files):
    assert load_weights(files["current"]).widths() == testing.DEFAULT_WIDTHS
    partial = load_weights(files["current"], layers=["conv2_2", "conv5_1"])
    assert partial.widths() == (None, 8, None, None, 16)


def test_fixture_writers_leave_no_stray_files(tmp_path):
    testing.write_vgg19_mat73(tmp_path / "a.mat")
    assert os.listdir(tmp_path) == ["a.mat"]
