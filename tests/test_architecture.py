"""Tests for naah.architecture: the VGG-19 layer table."""

import pytest

from naah.architecture import (
    CONV_KERNEL_SIZE,
    CONV_LAYERS,
    CONV_PADDING,
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_STYLE_LAYERS,
    FC6_KERNEL_SIZE,
    FC_LAYERS,
    FEATURE_LAYERS,
    LAYER_NAMES,
    MATCONVNET_LAYERS,
    POOL_WINDOW,
    POOLING_FACTOR,
    RELU_AFTER,
    TRAINING_LAYERS,
    VGG16_CONVS_PER_BLOCK,
    WEIGHT_LAYERS,
    LayerInfo,
    expected_kernel_shape,
    kernel_size,
    layer_table,
)

# The 43 layers of imagenet-vgg-verydeep-19.mat, in file order, written out by hand.
EXPECTED_NAMES = [
    "conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1",
    "conv2_1", "relu2_1", "conv2_2", "relu2_2", "pool2",
    "conv3_1", "relu3_1", "conv3_2", "relu3_2",
    "conv3_3", "relu3_3", "conv3_4", "relu3_4", "pool3",
    "conv4_1", "relu4_1", "conv4_2", "relu4_2",
    "conv4_3", "relu4_3", "conv4_4", "relu4_4", "pool4",
    "conv5_1", "relu5_1", "conv5_2", "relu5_2",
    "conv5_3", "relu5_3", "conv5_4", "relu5_4", "pool5",
    "fc6", "relu6", "fc7", "relu7", "fc8", "prob",
]  # fmt: skip

EXPECTED_CONVS = [
    "conv1_1", "conv1_2",
    "conv2_1", "conv2_2",
    "conv3_1", "conv3_2", "conv3_3", "conv3_4",
    "conv4_1", "conv4_2", "conv4_3", "conv4_4",
    "conv5_1", "conv5_2", "conv5_3", "conv5_4",
]  # fmt: skip


def test_matconvnet_table_has_the_43_layers_of_the_file_in_order():
    assert len(MATCONVNET_LAYERS) == 43
    assert [layer.name for layer in MATCONVNET_LAYERS] == EXPECTED_NAMES


def test_matconvnet_layer_types_follow_their_names():
    prefixes = {"conv": "conv", "fc": "conv", "relu": "relu", "pool": "pool"}
    for layer in MATCONVNET_LAYERS:
        assert isinstance(layer, LayerInfo)
        if layer.name == "prob":
            assert layer.type == "softmax"
        else:
            prefix = layer.name.rstrip("0123456789_")
            assert layer.type == prefixes[prefix], layer


def test_there_are_19_weight_layers_16_convolutions_and_3_fully_connected():
    assert len(WEIGHT_LAYERS) == 19
    assert list(WEIGHT_LAYERS) == [*EXPECTED_CONVS, "fc6", "fc7", "fc8"]
    assert len(CONV_LAYERS) == 16
    assert list(CONV_LAYERS) == EXPECTED_CONVS
    assert FC_LAYERS == ("fc6", "fc7", "fc8")


def test_training_table_inserts_dropout_after_relu6_and_relu7():
    names = [layer.name for layer in TRAINING_LAYERS]
    assert len(names) == 45
    assert names[: names.index("relu6") + 1] == EXPECTED_NAMES[:39]
    assert names[-7:] == ["relu6", "drop6", "fc7", "relu7", "drop7", "fc8", "prob"]
    assert names.index("drop6") == names.index("relu6") + 1
    assert names.index("drop7") == names.index("relu7") + 1
    types = {layer.name: layer.type for layer in TRAINING_LAYERS}
    assert types["drop6"] == types["drop7"] == "dropout"
    assert [n for n in names if n not in ("drop6", "drop7")] == EXPECTED_NAMES
    assert list(LAYER_NAMES) == names


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("conv1_1", (64, 3, 3, 3)),
        ("conv1_2", (64, 64, 3, 3)),
        ("conv2_1", (128, 64, 3, 3)),
        ("conv3_1", (256, 128, 3, 3)),
        ("conv4_4", (512, 512, 3, 3)),
        ("conv5_1", (512, 512, 3, 3)),
        ("fc6", (4096, 512, 7, 7)),
        ("fc7", (4096, 4096, 1, 1)),
        ("fc8", (1000, 4096, 1, 1)),
    ],
)
def test_expected_kernel_shape_is_vgg19s(name, shape):
    assert expected_kernel_shape(name) == shape


def test_expected_kernel_shape_describes_narrow_networks_too():
    widths = (4, 8, 8, 16, 16)
    assert expected_kernel_shape("conv1_1", widths) == (4, 3, 3, 3)
    assert expected_kernel_shape("conv2_1", widths) == (8, 4, 3, 3)
    assert expected_kernel_shape("fc6", widths, fc_width=32) == (32, 16, 7, 7)
    assert expected_kernel_shape("fc8", widths, 32, num_classes=10) == (10, 32, 1, 1)


def test_every_weight_layer_has_a_kernel_shape_chained_to_the_previous_one():
    previous_out = 3
    for name in CONV_LAYERS:
        out_channels, in_channels, _, _ = expected_kernel_shape(name)
        assert in_channels == previous_out, name
        previous_out = out_channels


def test_feature_layers_run_from_conv1_1_to_pool5():
    assert list(FEATURE_LAYERS) == EXPECTED_NAMES[: EXPECTED_NAMES.index("pool5") + 1]
    assert len(FEATURE_LAYERS) == 37
    assert FEATURE_LAYERS[-1] == "pool5" and "fc6" not in FEATURE_LAYERS


def test_default_layer_table_is_the_matconvnet_table():
    assert layer_table() == MATCONVNET_LAYERS


def test_vgg16_layer_table_has_three_convolutions_in_blocks_3_to_5():
    names = [layer.name for layer in layer_table(VGG16_CONVS_PER_BLOCK)]
    assert len(names) == 37
    assert names[10:16] == [
        "conv3_1",
        "relu3_1",
        "conv3_2",
        "relu3_2",
        "conv3_3",
        "relu3_3",
    ]
    assert names[16] == "pool3"
    assert "conv3_4" not in names and "conv5_4" not in names
    assert names[-6:] == EXPECTED_NAMES[-6:]


def test_each_weight_layer_but_fc8_has_its_relu():
    expected = {c: c.replace("conv", "relu") for c in EXPECTED_CONVS}
    expected.update(fc6="relu6", fc7="relu7")
    assert RELU_AFTER == expected


def test_kernel_sizes_are_3_for_convolutions_and_7_1_1_for_fc6_to_fc8():
    assert {kernel_size(n) for n in EXPECTED_CONVS} == {3}
    assert [kernel_size(n) for n in ("fc6", "fc7", "fc8")] == [7, 1, 1]
    assert kernel_size("fc6", fc6_size=2) == 2
    assert kernel_size("conv1_1", fc6_size=2) == 3


def test_fc6_covers_pool5_of_a_224_input_after_five_halvings():
    assert POOLING_FACTOR == 2**5
    assert FC6_KERNEL_SIZE == 224 // 32 == 7


def test_convolutions_keep_the_size_and_poolings_halve_it():
    # Simonyan & Zisserman (2015), section 2.1: 3x3 convolutions padded by one
    # pixel, 2x2 max-pooling of stride 2.
    assert (CONV_KERNEL_SIZE, CONV_PADDING, POOL_WINDOW) == (3, 1, 2)


def test_default_layers_are_gatys_conv4_2_and_conv1_1_to_conv5_1():
    assert DEFAULT_CONTENT_LAYERS == ("conv4_2",)
    assert DEFAULT_STYLE_LAYERS == (
        "conv1_1",
        "conv2_1",
        "conv3_1",
        "conv4_1",
        "conv5_1",
    )


def test_expected_kernel_shape_follows_another_fc6_size():
    assert expected_kernel_shape("fc6", fc6_size=1) == (4096, 512, 1, 1)
    assert expected_kernel_shape("fc7", fc6_size=1) == (4096, 4096, 1, 1)
