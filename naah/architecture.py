"""The VGG-19 layer table, as stored in MatConvNet's ``imagenet-vgg-verydeep-19.mat``.

This module is the single source of truth for layer names, types, order and kernel
shapes. Weight loaders check files against it, :class:`naah.VGG_19` builds its network
from it, and the stand-in weights of :mod:`naah.testing` and
:mod:`naah.experiments.training` take their shapes from it. It imports nothing from
naah.

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

from itertools import pairwise
from typing import NamedTuple

# Convolutions per block: VGG-19 is "configuration E" of Simonyan & Zisserman (2015,
# Table 1), VGG-16 configuration D (the tests' stand-in for a file of the wrong net).
CONVS_PER_BLOCK = (2, 2, 4, 4, 4)
VGG16_CONVS_PER_BLOCK = (2, 2, 3, 3, 3)
# Output channels per block, same source.
CHANNELS_PER_BLOCK = (64, 128, 256, 512, 512)
# Every convolution of the blocks is 3x3, stride 1, zero-padded by 1 pixel on each
# side so that it keeps the image's size (same source, section 2.1).
CONV_KERNEL_SIZE = 3
CONV_PADDING = 1
# Each block ends in a 2x2 pooling of stride 2 (section 2.1): pool5's side is the
# input's / 32.
POOL_WINDOW = 2
POOLING_FACTOR = POOL_WINDOW ** len(CONVS_PER_BLOCK)
# Input size the fully connected layers were trained for.
IMAGE_SIZE = 224
# Spatial size of pool5's output for a 224x224 input: the size fc6's kernel covers.
FC6_KERNEL_SIZE = IMAGE_SIZE // POOLING_FACTOR
FC_WIDTH = 4096
NUM_CLASSES = 1000
# The layers naah matches by default, Gatys et al.'s (2015), section 2: content from
# conv4_2; style from conv1_1 … conv5_1 with equal weights w_l = 1/5.
DEFAULT_CONTENT_LAYERS = ("conv4_2",)
DEFAULT_STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")


class LayerInfo(NamedTuple):
    """One entry of the layer table: a MatConvNet name and type ('conv', 'relu',
    'pool', 'dropout' or 'softmax')."""

    name: str
    type: str


def layer_table(
    convs_per_block: tuple[int, ...] = CONVS_PER_BLOCK,
) -> tuple[LayerInfo, ...]:
    """MatConvNet's layer table of a VGG network with ``convs_per_block``.

    The default is VGG-19's (:data:`MATCONVNET_LAYERS`);
    :data:`VGG16_CONVS_PER_BLOCK` gives VGG-16's 37 layers.

    Examples
    --------
    >>> table = layer_table(VGG16_CONVS_PER_BLOCK)
    >>> len(table), table[0].name, table[-1]
    (37, 'conv1_1', LayerInfo(name='prob', type='softmax'))
    """
    table: list[LayerInfo] = []
    for block, n_convs in enumerate(convs_per_block, start=1):
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
MATCONVNET_LAYERS: tuple[LayerInfo, ...] = layer_table()

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

#: The layers whose outputs can serve as image features: conv1_1 up to pool5, past
#: which fc6's fixed kernel size ties the network to one input size.
FEATURE_LAYERS: tuple[str, ...] = LAYER_NAMES[: LAYER_NAMES.index("pool5") + 1]

#: Each weight layer's ReLU (``conv4_2`` → ``relu4_2``, ``fc6`` → ``relu6``): the
#: layer that follows it in the table, if that is a ReLU (fc8 has none).
RELU_AFTER: dict[str, str] = {
    layer.name: after.name
    for layer, after in pairwise(MATCONVNET_LAYERS)
    if layer.type == "conv" and after.type == "relu"
}


def kernel_size(name: str, fc6_size: int = FC6_KERNEL_SIZE) -> int:
    """Kernel height (= width) of weight layer ``name``.

    ``fc6_size`` is the side of pool5's output fc6 covers: 7 for the real network's
    224x224 input, ``image_size // POOLING_FACTOR`` for another input size.

    Examples
    --------
    >>> kernel_size("conv3_1"), kernel_size("fc6"), kernel_size("fc8")
    (3, 7, 1)
    """
    if name == "fc6":
        return fc6_size
    if name in FC_LAYERS:
        return 1
    return CONV_KERNEL_SIZE


def expected_kernel_shape(
    name: str,
    widths: tuple[int, ...] = CHANNELS_PER_BLOCK,
    fc_width: int = FC_WIDTH,
    num_classes: int = NUM_CLASSES,
    *,
    fc6_size: int = FC6_KERNEL_SIZE,
) -> tuple[int, int, int, int]:
    """Kernel shape (out, in, height, width) of weight layer ``name``.

    ``widths``, ``fc_width``, ``num_classes`` and ``fc6_size`` (see
    :func:`kernel_size`) default to the real VGG-19; other values describe the
    narrow networks the tests and experiments build.

    Examples
    --------
    >>> expected_kernel_shape("conv2_1"), expected_kernel_shape("fc6")
    ((128, 64, 3, 3), (4096, 512, 7, 7))
    >>> expected_kernel_shape("fc6", (4, 8, 8, 16, 16), 32, fc6_size=1)
    (32, 16, 1, 1)
    """
    size = kernel_size(name, fc6_size)
    if name == "fc6":
        return (fc_width, widths[-1], size, size)
    if name == "fc7":
        return (fc_width, fc_width, size, size)
    if name == "fc8":
        return (num_classes, fc_width, size, size)
    block, index = (int(part) for part in name[len("conv") :].split("_"))
    out_channels = widths[block - 1]
    if index > 1:
        in_channels = out_channels
    elif block > 1:
        in_channels = widths[block - 2]
    else:
        in_channels = 3
    return (out_channels, in_channels, size, size)
