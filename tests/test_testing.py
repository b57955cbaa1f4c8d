"""Tests of naah.testing's fixture writers, read back with scipy and h5py only.

These pin the layouts the writers promise (those of the published files), without
going through naah's own loader, so a loader bug cannot hide behind a writer bug.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import scipy.io

from naah import testing

PARAMS = testing.make_vgg19_params()
CURRENT_CONV_FIELDS = (
    "name", "type", "weights", "size", "pad", "stride", "precious", "dilate", "opts",
)  # fmt: skip


def _load(path):
    return scipy.io.loadmat(path, struct_as_record=False, squeeze_me=False)


def _layers(variables):
    return [entry[0, 0] for entry in variables["layers"][0]]


def _text(value):
    return str(value[0])


def test_make_vgg19_params_chains_shapes_and_is_reproducible():
    params = testing.make_vgg19_params()
    in_channels = 3
    for kernel, bias in params.values():
        assert kernel.dtype == bias.dtype == np.float32
        assert kernel.shape[1] == in_channels and bias.shape == (kernel.shape[0],)
        in_channels = kernel.shape[0]
    assert params["fc6"][0].shape == (32, 16, 7, 7)
    assert params["fc8"][0].shape == (10, 32, 1, 1)
    np.testing.assert_array_equal(params["conv3_2"][0], PARAMS["conv3_2"][0])
    other = testing.make_vgg19_params(seed=1)
    assert not np.array_equal(other["conv3_2"][0], PARAMS["conv3_2"][0])


def test_layer_table_has_the_43_matconvnet_layers_and_vgg16_has_37():
    table = testing.layer_table()
    assert len(table) == 43 and len(testing.layer_table(vgg16=True)) == 37
    assert table[:5] == [
        ("conv1_1", "conv"), ("relu1_1", "relu"), ("conv1_2", "conv"),
        ("relu1_2", "relu"), ("pool1", "pool"),
    ]  # fmt: skip
    assert table[-6:] == [
        ("fc6", "conv"), ("relu6", "relu"), ("fc7", "conv"), ("relu7", "relu"),
        ("fc8", "conv"), ("prob", "softmax"),
    ]  # fmt: skip


def test_vgg16_stand_in_has_three_convolutions_in_blocks_3_to_5():
    params = testing.make_vgg19_params(vgg16=True)
    convs = [n for n in params if n.startswith("conv")]
    assert convs == [
        "conv1_1", "conv1_2", "conv2_1", "conv2_2",
        "conv3_1", "conv3_2", "conv3_3", "conv4_1", "conv4_2", "conv4_3",
        "conv5_1", "conv5_2", "conv5_3",
    ]  # fmt: skip
    assert list(params)[-3:] == ["fc6", "fc7", "fc8"]
    assert params["conv4_1"][0].shape == (16, 8, 3, 3)
    assert params["fc6"][0].shape == (32, 16, 7, 7)


@pytest.mark.parametrize("compression", [True, False])
def test_current_release_mat_has_matconvnets_layout(tmp_path, compression):
    path = testing.write_vgg19_mat(tmp_path / "c.mat", compression=compression)
    variables = _load(path)
    assert [k for k in variables if not k.startswith("__")] == ["layers", "meta"]
    layers = _layers(variables)
    assert variables["layers"].shape == (1, 43)
    assert [(_text(e.name), _text(e.type)) for e in layers] == testing.layer_table()
    conv = layers[0]
    assert tuple(conv._fieldnames) == CURRENT_CONV_FIELDS
    assert conv.weights.shape == (1, 2)
    kernel, bias = conv.weights[0]
    assert kernel.shape == (3, 3, 3, 4) and bias.shape == (4, 1)
    np.testing.assert_array_equal(kernel, PARAMS["conv1_1"][0].transpose(2, 3, 1, 0))
    np.testing.assert_array_equal(conv.pad, [[1, 1, 1, 1]])
    assert tuple(layers[1]._fieldnames) == ("name", "type", "leak", "precious")
    pool = layers[4]
    assert _text(pool.method) == "max" and pool.pool.tolist() == [[2, 2]]
    assert _text(layers[-1].type) == "softmax" and _text(layers[-1].name) == "prob"
    meta = variables["meta"][0, 0]
    assert tuple(meta._fieldnames) == ("inputs", "classes", "normalization")
    average = meta.normalization[0, 0].averageImage
    assert average.shape == (1, 1, 3)
    np.testing.assert_allclose(average.reshape(3), testing.VGG_MEAN_PIXEL, rtol=1e-6)
    descriptions = meta.classes[0, 0].description
    assert descriptions.shape == (1, 10)
    assert _text(descriptions[0, 0]) == "tench, Tinca tinca"
    assert _text(meta.classes[0, 0].name[0, 0]) == "n01440764"


def test_beta16_mat_has_top_level_normalization_and_row_biases(tmp_path):
    variables = _load(testing.write_vgg19_mat(tmp_path / "b.mat", release="beta16"))
    assert [k for k in variables if not k.startswith("__")] == [
        "layers", "classes", "normalization",
    ]  # fmt: skip
    conv = _layers(variables)[2]
    assert tuple(conv._fieldnames) == ("weights", "pad", "type", "name", "stride")
    kernel, bias = conv.weights[0]
    assert kernel.shape == (3, 3, 4, 4) and bias.shape == (1, 4)
    image = variables["normalization"][0, 0].averageImage
    assert image.shape == (224, 224, 3)
    np.testing.assert_allclose(image.mean(axis=(0, 1)), testing.VGG_MEAN_PIXEL, 1e-5)


def test_legacy_mat_stores_filters_and_biases(tmp_path):
    variables = _load(testing.write_vgg19_mat(tmp_path / "l.mat", release="legacy"))
    conv = _layers(variables)[0]
    assert tuple(conv._fieldnames)[:2] == ("filters", "biases")
    assert conv.filters.shape == (3, 3, 3, 4)


def test_mat_writer_drops_layers_variables_and_overrides_kernels(tmp_path):
    kernel = np.ones((4, 3, 3, 5), np.float32)
    path = testing.write_vgg19_mat(
        tmp_path / "d.mat",
        drop_layers=["conv3_2"],
        drop_variables=["meta"],
        kernel_overrides={"conv1_1": kernel},
    )
    variables = _load(path)
    assert "meta" not in variables and variables["layers"].shape == (1, 42)
    layers = _layers(variables)
    assert "conv3_2" not in [_text(e.name) for e in layers]
    assert layers[0].weights[0, 0].shape == (3, 5, 3, 4)


def test_mat73_file_is_hdf5_behind_a_matlab_header(tmp_path):
    path = testing.write_vgg19_mat73(tmp_path / "v73.mat")
    with open(path, "rb") as file:
        head = file.read(520)
    assert head.startswith(b"MATLAB 7.3 MAT-file")
    assert head[124:128] == b"\x00\x02IM" and head[512:520] == b"\x89HDF\r\n\x1a\n"
    with h5py.File(path, "r") as file:
        layers = file["layers"]
        assert layers.attrs["MATLAB_class"] == b"cell" and layers.shape == (43, 1)
        conv = file[layers[0, 0]]
        assert conv.attrs["MATLAB_class"] == b"struct"
        fields = [b"".join(f).decode() for f in conv.attrs["MATLAB_fields"]]
        assert tuple(fields) == CURRENT_CONV_FIELDS
        name = conv["name"]
        assert name.attrs["MATLAB_class"] == b"char" and name.dtype == np.uint16
        assert "".join(map(chr, name[:, 0])) == "conv1_1"
        weights = conv["weights"]
        assert weights.attrs["MATLAB_class"] == b"cell" and weights.shape == (2, 1)
        kernel, bias = (file[ref] for ref in weights[:, 0])
        assert kernel.attrs["MATLAB_class"] == b"single"
        np.testing.assert_array_equal(  # MATLAB's (h, w, in, out), reversed
            kernel[()], PARAMS["conv1_1"][0].transpose(2, 3, 1, 0).T
        )
        assert bias.shape == (1, 4)
        opts = conv["opts"]
        assert opts.attrs["MATLAB_empty"] == 1 and opts[()].tolist() == [0, 0]
        average = file["meta/normalization/averageImage"]
        assert average.shape == (3, 1, 1)


@pytest.mark.parametrize(
    "naming, kernel_path",
    [
        ("keras1", "block1_conv1/block1_conv1_W_1:0"),
        ("keras2", "block1_conv1/block1_conv1/kernel:0"),
    ],
)
def test_keras_file_has_keras_layout_with_bgr_input(tmp_path, naming, kernel_path):
    path = testing.write_vgg19_keras_h5(tmp_path / "k.h5", naming=naming)
    with h5py.File(path, "r") as file:
        names = [n.decode() for n in file.attrs["layer_names"]]
        assert names[:4] == ["input_1", "block1_conv1", "block1_conv2", "block1_pool"]
        assert names[-4:] == ["flatten", "fc1", "fc2", "predictions"]
        weight_names = [n.decode() for n in file["block1_conv1"].attrs["weight_names"]]
        assert f"block1_conv1/{weight_names[0]}" == kernel_path
        hwio = PARAMS["conv1_1"][0].transpose(2, 3, 1, 0)
        np.testing.assert_array_equal(file[kernel_path][()], hwio[:, :, ::-1, :])
        fc6 = PARAMS["fc6"][0]
        fc1 = file[f"fc1/{file['fc1'].attrs['weight_names'][0].decode()}"]
        assert fc1.shape == (7 * 7 * 16, 32)
        assert fc1[(2 * 7 + 5) * 16 + 3, 9] == fc6[9, 3, 2, 5]
        assert len(file["block1_pool"].attrs["weight_names"]) == 0


def test_keras_notop_file_has_no_fully_connected_layers(tmp_path):
    path = testing.write_vgg19_keras_h5(tmp_path / "n.h5", include_top=False)
    with h5py.File(path, "r") as file:
        assert "fc1" not in file and "block5_conv4" in file
        assert file.attrs["layer_names"][-1] == b"block5_pool"
