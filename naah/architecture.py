"""The VGG-19 layer table, as stored in MatConvNet's ``imagenet-vgg-verydeep-19.mat``.

This module is the single source of truth for layer names, types and order. Weight
loaders check files against it and :class:`naah.VGG_19` builds its network from it.
It imports nothing from naah.

The 43 MatConvNet layers are, in file order::

    conv1_1 relu1_1 conv1_2 relu1_2 pool1
    conv2_1 relu2_1 conv2_2 relu2_2 pool2
    conv3_1 relu3_1 ... conv3_4 relu3_4 pool3
    conv4_1 relu4_1 ... conv4_4 relu4_4 pool4
    conv5_1 relu5_1 ... conv5_4 relu5_4 pool5
    fc6 relu6 fc7 relu7 fc8 prob

``fc6``, ``fc7`` and ``fc8`` are stored as convolutions (7x7, 1x1, 1x1 kernels). For
training, the report (Table 1) inserts dropout after ``relu6`` and ``relu7``; those
layers (``drop6``, ``drop7``) are not in the file and carry no parameters.
"""

from __future__ import annotations

from typing import NamedTuple

# Convolutions per block of VGG-19, "configuration E" of Simonyan & Zisserman (2015).
CONVS_PER_BLOCK = (2, 2, 4, 4, 4)
# Output channels per block, same source.
CHANNELS_PER_BLOCK = (64, 128, 256, 512, 512)
# Spatial size of pool5's output for a 224x224 input: the size fc6's kernel covers.
FC6_KERNEL_SIZE = 7
FC_WIDTH = 4096
NUM_CLASSES = 1000
# Input size the fully connected layers were trained for.
IMAGE_SIZE = 224


class LayerInfo(NamedTuple):
    """One entry of the layer table: a MatConvNet name and type ('conv', 'relu',
    'pool', 'dropout' or 'softmax')."""

    name: str
    type: str


def _build_table() -> tuple[LayerInfo, ...]:
    table: list[LayerInfo] = []
    for block, n_convs in enumerate(CONVS_PER_BLOCK, start=1):
        for i in range(1, n_convs + 1):
            table.append(LayerInfo(f"conv{block}_{i}", "conv"))
            table.append(LayerInfo(f"relu{block}_{i}", "relu"))
        table.append(LayerInfo(f"pool{block}", "pool"))
    table += [
        LayerInfo("fc6", "conv"),
        LayerInfo("relu6", "relu"),
        LayerInfo("fc7", "conv"),
        LayerInfo("relu7", "relu"),
        LayerInfo("fc8", "conv"),
        LayerInfo("prob", "softmax"),
    ]
    return tuple(table)


#: The 43 layers of ``imagenet-vgg-verydeep-19.mat`` in file order.
MATCONVNET_LAYERS: tuple[LayerInfo, ...] = _build_table()

#: The 19 layers that carry weights (16 convolutions, fc6, fc7, fc8), in order.
WEIGHT_LAYERS: tuple[str, ...] = tuple(
    layer.name for layer in MATCONVNET_LAYERS if layer.type == "conv"
)

#: The 16 convolutional layers (what style transfer needs).
CONV_LAYERS: tuple[str, ...] = tuple(n for n in WEIGHT_LAYERS if n.startswith("conv"))

#: The three fully connected layers, stored as convolutions.
FC_LAYERS: tuple[str, ...] = ("fc6", "fc7", "fc8")

#: The training-time table of the report (Table 1): dropout after relu6 and relu7.
TRAINING_LAYERS: tuple[LayerInfo, ...] = (
    *MATCONVNET_LAYERS[: MATCONVNET_LAYERS.index(LayerInfo("relu6", "relu")) + 1],
    LayerInfo("drop6", "dropout"),
    LayerInfo("fc7", "conv"),
    LayerInfo("relu7", "relu"),
    LayerInfo("drop7", "dropout"),
    LayerInfo("fc8", "conv"),
    LayerInfo("prob", "softmax"),
)

LAYER_NAMES: tuple[str, ...] = tuple(layer.name for layer in TRAINING_LAYERS)


def expected_kernel_shape(
    name: str,
    widths: tuple[int, ...] = CHANNELS_PER_BLOCK,
    fc_width: int = FC_WIDTH,
    num_classes: int = NUM_CLASSES,
) -> tuple[int, int, int, int]:
    """Kernel shape (out, in, height, width) of weight layer ``name``.

    ``widths``, ``fc_width`` and ``num_classes`` default to the real VGG-19; other
    values describe the narrow networks the tests build.
    """
    if name == "fc6":
        return (fc_width, widths[-1], FC6_KERNEL_SIZE, FC6_KERNEL_SIZE)
    if name == "fc7":
        return (fc_width, fc_width, 1, 1)
    if name == "fc8":
        return (num_classes, fc_width, 1, 1)
    block, index = (int(part) for part in name[len("conv") :].split("_"))
    out_channels = widths[block - 1]
    if index > 1:
        in_channels = out_channels
    elif block > 1:
        in_channels = widths[block - 2]
    else:
        in_channels = 3
    return (out_channels, in_channels, 3, 3)
