"""VGG_19 against a pure-numpy forward pass written here, on fixture weights.

Classification (images in, top classes out) is naah.classify's: tests/test_classify.py.
"""

import numpy as np
import pytensor.tensor as pt
import pytest

from naah.architecture import CONV_LAYERS, MATCONVNET_LAYERS
from naah.compile import function
from naah.io.weights import load_weights
from naah.layers import ConvLayer, Dropout, FCLayer
from naah.models import VGG_19
from naah.testing import make_vgg19_params, write_vgg19_keras_h5, write_vgg19_mat

HEIGHT, WIDTH = (
    37,
    53,
)  # non-square and odd: a swapped height/width or pooling rule fails


def numpy_conv(x, kernel, bias, pad):
    """Cross-correlation of one (C, H, W) image, written independently of naah."""
    _, h, w = x.shape
    o, _, kh, kw = kernel.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (pad, pad), (pad, pad)))
    ho, wo = h + 2 * pad - kh + 1, w + 2 * pad - kw + 1
    out = np.zeros((o, ho, wo))
    for i in range(kh):
        for j in range(kw):
            out += np.einsum(
                "chw,oc->ohw", xp[:, i : i + ho, j : j + wo], kernel[:, :, i, j]
            )
    return out + bias[:, None, None]


def numpy_pool(x, mode):
    c, h, w = x.shape
    blocks = x[:, : h // 2 * 2, : w // 2 * 2].reshape(c, h // 2, 2, w // 2, 2)
    return blocks.max(axis=(2, 4)) if mode == "max" else blocks.mean(axis=(2, 4))


def numpy_vgg(image, params, mode, stop):
    """Outputs of every layer up to ``stop``, pre-ReLU conv outputs under 'conv*'."""
    outputs, x = {}, image
    for name, kind in MATCONVNET_LAYERS:
        if kind == "conv":
            kernel, bias = params[name]
            x = numpy_conv(x, kernel, bias, pad=1 if name.startswith("conv") else 0)
        elif kind == "relu":
            x = np.maximum(x, 0)
        elif kind == "pool":
            x = numpy_pool(x, mode)
        outputs[name] = x
        if name == stop:
            return outputs
    return outputs


@pytest.fixture(scope="module")
def fixture_file(tmp_path_factory):
    return write_vgg19_mat(tmp_path_factory.mktemp("weights") / "vgg19.mat")


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(7)
    return (50 * rng.standard_normal((1, 3, HEIGHT, WIDTH))).astype(np.float32)


def compiled_features(net, names, **kwargs):
    x = pt.tensor4("x", dtype="float32")
    feats = net.features(x, names, **kwargs)
    return function([x], [feats[n] for n in names])


@pytest.mark.parametrize("pooling", ["max", "avg"])
def test_features_match_a_numpy_forward_pass_at_a_non_square_size(
    fixture_file, image, pooling
):
    net = VGG_19(fixture_file, pooling=pooling)
    names = ["conv1_1", "conv2_1", "conv3_1", "conv4_2", "pool4", "conv5_1"]
    got = compiled_features(net, names)(image)
    expected = numpy_vgg(
        image[0].astype(np.float64), make_vgg19_params(), pooling, "relu5_1"
    )
    for name, value in zip(names, got, strict=True):
        ref = (
            expected[name.replace("conv", "relu")]
            if name.startswith("conv")
            else expected[name]
        )
        assert value.shape == (1, *ref.shape), name
        np.testing.assert_allclose(
            value[0], ref, rtol=2e-4, atol=2e-4 * np.abs(ref).max()
        )


def test_conv_features_are_rectified_unless_pre_relu_is_asked(fixture_file, image):
    net = VGG_19(fixture_file)
    rectified, raw = compiled_features(net, ["conv4_2"])(image)[0], None
    raw = compiled_features(net, ["conv4_2"], pre_relu=True)(image)[0]
    assert (raw < 0).any()
    np.testing.assert_array_equal(rectified, np.maximum(raw, 0))


def test_features_build_only_the_layers_needed(fixture_file):
    net = VGG_19(fixture_file)
    x = pt.tensor4("x", dtype="float32")
    out = net.features(x, ["conv1_2"])["conv1_2"]
    graph = function([x], out).maker.fgraph.toposort()
    assert sum("Conv2d" in type(node.op).__name__ for node in graph) == 2


def test_network_has_the_43_matconvnet_layers_plus_two_dropouts(fixture_file):
    net = VGG_19(fixture_file)
    expected = [name for name, _ in MATCONVNET_LAYERS]
    assert [n for n in net.layer_names if not n.startswith("drop")] == expected
    assert (
        isinstance(net["drop6"], Dropout)
        and net.layer_names.index("drop6") == net.layer_names.index("relu6") + 1
    )
    assert net["conv1_1"].params["W"].name == "conv1_1.W"
    assert len(net.params()) == 38


def test_conv_only_weights_give_a_network_that_ends_at_relu5_4(fixture_file):
    net = VGG_19(load_weights(fixture_file, layers=CONV_LAYERS))
    assert net.layer_names[-1] == "pool5"
    with pytest.raises(KeyError, match="past the last layer"):
        net.features(pt.tensor4("x", dtype="float32"), ["fc7"])


def test_unknown_layer_names_are_reported_with_the_valid_ones(fixture_file):
    net = VGG_19(fixture_file)
    with pytest.raises(KeyError, match="no layer named 'conv6_1'.*conv1_1"):
        net.features(pt.tensor4("x", dtype="float32"), ["conv6_1"])


def test_bad_pooling_is_rejected(fixture_file):
    with pytest.raises(ValueError) as raised:
        VGG_19(fixture_file, pooling="median")
    assert str(raised.value) == "pooling must be 'max' or 'avg', got 'median'"


def test_dense_and_convolutional_fc_layers_agree_at_224(fixture_file):
    conv_net = VGG_19(fixture_file)
    dense_net = VGG_19(fixture_file, fully_connected=True)
    assert isinstance(conv_net["fc6"], ConvLayer) and isinstance(
        dense_net["fc6"], FCLayer
    )
    x = pt.tensor4("x", dtype="float32")
    rng = np.random.default_rng(3)
    batch = rng.uniform(-100, 100, (2, 3, 224, 224)).astype(np.float32)
    p_conv = function([x], conv_net.output(x))(batch)
    p_dense = function([x], dense_net.output(x))(batch)
    assert p_conv.shape == (2, 10, 1, 1) and p_dense.shape == (2, 10)
    np.testing.assert_allclose(p_conv[:, :, 0, 0], p_dense, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(p_dense.sum(axis=1), 1, rtol=1e-5)


@pytest.mark.parametrize("fully_connected", [False, True])
def test_fc6_and_fc7_features_are_rectified_and_fc8_gives_raw_scores(
    fixture_file, fully_connected
):
    net = VGG_19(fixture_file, fully_connected=fully_connected)
    names = ["fc6", "relu6", "fc7", "relu7", "fc8"]
    batch = np.random.default_rng(8).uniform(-100, 100, (1, 3, 224, 224))
    fc6, relu6, fc7, relu7, fc8 = compiled_features(net, names)(
        batch.astype(np.float32)
    )
    np.testing.assert_array_equal(fc6, relu6)
    np.testing.assert_array_equal(fc7, relu7)
    raw6 = compiled_features(net, ["fc6"], pre_relu=True)(batch.astype(np.float32))[0]
    assert (raw6 < 0).any() and (fc8 < 0).any()  # fc8 has no ReLU
    np.testing.assert_array_equal(fc6, np.maximum(raw6, 0))


def test_dropout_is_off_at_inference_and_on_in_training(fixture_file):
    net = VGG_19(fixture_file, seed=0)
    x = pt.tensor4("x", dtype="float32")
    image = (
        np.random.default_rng(5).uniform(-100, 100, (1, 3, 224, 224)).astype(np.float32)
    )
    test_fn = function([x], list(net.features(x, ["drop6", "relu6"]).values()))
    train_fn = function(
        [x], list(net.features(x, ["drop6", "relu6"], training=True).values())
    )
    dropped, relu = test_fn(image)
    np.testing.assert_array_equal(dropped, relu)
    dropped, relu = train_fn(image)
    kept = dropped != 0
    np.testing.assert_allclose(dropped[kept], 2 * relu[kept], rtol=1e-6)
    assert (relu[~kept] != 0).any()


def test_mat_and_keras_files_give_the_same_network_outputs(tmp_path, image):
    mat = VGG_19(write_vgg19_mat(tmp_path / "a.mat"))
    keras = VGG_19(write_vgg19_keras_h5(tmp_path / "b.h5"))
    names = ["conv1_1", "conv5_1"]
    for a, b in zip(
        compiled_features(mat, names)(image),
        compiled_features(keras, names)(image),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_the_pooling_modes_are_those_of_the_pooling_op():
    from naah import models
    from naah.ops import pool

    assert models.POOL_MODES is pool.POOL_MODES
    assert set(pool.POOL_MODES) == {"max", "avg"}
