"""naah.normalize against a forward pass written here with tests/_reference.py."""

import dataclasses
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from naah.architecture import CONV_LAYERS
from naah.io import WeightsError, load_weights
from naah.io.images import load_image
from naah.normalize import (
    GATYS_NORMALIZED_CONTENT_WEIGHT,
    GATYS_NORMALIZED_STYLE_WEIGHT,
    NORMALIZED_DEFAULT_ALPHA,
    NORMALIZED_DEFAULT_BETA,
    DeadFilterWarning,
    NormalizedWeights,
    image_files,
    is_normalized,
    mean_activations,
    normalization_info,
    normalize_file,
    normalize_weights,
    normalized_loss_weights,
    write_normalized_mat,
)
from naah.testing import (
    make_vgg19_params,
    write_vgg19_keras_h5,
    write_vgg19_mat,
    write_vgg19_mat73,
)
from tests._reference import conv2d, pool2d
from tests.io import _corpus

IMAGES = Path(__file__).resolve().parents[1] / "data"
# Three photographs and paintings of different aspect ratios, small enough for the
# reference pass: 48 px on the long edge leaves conv5 a 3x2 or 3x3 map.
PHOTOS = tuple(
    IMAGES / n for n in ("tubingen.jpg", "starry_night.jpg", "shipwreck.jpg")
)
SIZE = 48
# VGG-19's blocks (Simonyan & Zisserman 2015, configuration E), spelled out here
# rather than taken from naah.architecture.
BLOCKS = (2, 2, 4, 4, 4)
# The filter killed in the dead-filter network: an all-zero kernel and a negative
# bias never rectify to anything but 0.
DEAD_LAYER, DEAD_FILTER = "conv3_1", 2


def he_scaled_params():
    """naah.testing's weights, each filter centred and scaled to He et al.'s (2015)
    sqrt(2 / fan-in). Centred, a filter answers the variations of its rectified
    (positive) input rather than its mean, so none is negative everywhere; scaled,
    activations neither vanish nor explode over 16 layers. No filter dies on the
    test images."""
    kernels = {}
    for name, (kernel, _) in make_vgg19_params().items():
        centred = kernel - kernel.mean(axis=(1, 2, 3), keepdims=True)
        fan_in = np.prod(kernel.shape[1:])
        scale = np.sqrt(2 / fan_in) / centred.std()
        kernels[name] = (centred * scale).astype(np.float32)
    return kernels


def reference_features(params, mean_pixel, images, size=SIZE, pooling="max"):
    """Every conv layer's rectified output for each image, by hand in float64."""
    features = {name: [] for name in CONV_LAYERS}
    for image in images:
        rgb = load_image(image, long_edge=size).astype(np.float64)
        x = (rgb - mean_pixel).transpose(2, 0, 1)[np.newaxis]
        for block, convs in enumerate(BLOCKS, start=1):
            for i in range(1, convs + 1):
                name = f"conv{block}_{i}"
                kernel, bias = params[name]
                x = np.maximum(conv2d(x, kernel, pad=1) + bias[:, None, None], 0)
                features[name].append(x)
            x = pool2d(x, pooling, 2)
    return features


def reference_means(features):
    """Per filter, the mean over every position of every image."""
    return {
        name: sum(f.sum(axis=(0, 2, 3)) for f in maps)
        / sum(f.shape[0] * f.shape[2] * f.shape[3] for f in maps)
        for name, maps in features.items()
    }


def arrays(weights):
    return {n: (p.kernel, p.bias) for n, p in weights.params.items()}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("normalize")


@pytest.fixture(scope="module")
def weights_path(folder):
    return write_vgg19_mat(folder / "vgg19.mat", kernel_overrides=he_scaled_params())


@pytest.fixture(scope="module")
def original(weights_path):
    return load_weights(weights_path)


@pytest.fixture(scope="module")
def normalized(original):
    return normalize_weights(original, PHOTOS, size=SIZE)


@pytest.fixture(scope="module")
def original_features(original):
    return reference_features(arrays(original), original.mean_pixel, PHOTOS)


@pytest.fixture(scope="module")
def dead(folder):
    kernels = he_scaled_params()
    kernels[DEAD_LAYER][DEAD_FILTER] = 0
    bias = make_vgg19_params()[DEAD_LAYER][1].copy()
    bias[DEAD_FILTER] = -1
    path = write_vgg19_mat(
        folder / "dead.mat",
        kernel_overrides=kernels,
        bias_overrides={DEAD_LAYER: bias},
    )
    original = load_weights(path)
    with pytest.warns(DeadFilterWarning, match=rf"{DEAD_LAYER} \[{DEAD_FILTER}\]"):
        normalized = normalize_weights(original, PHOTOS, size=SIZE)
    return original, normalized


# -- the normalised network ------------------------------------------------------------
def test_every_conv_filter_of_the_normalised_network_has_mean_activation_one(
    normalized,
):
    features = reference_features(arrays(normalized), normalized.mean_pixel, PHOTOS)
    for name, mean in reference_means(features).items():
        np.testing.assert_allclose(mean, 1, atol=1e-5, rtol=0, err_msg=name)


def test_the_means_divided_out_are_the_original_networks(normalized, original_features):
    expected = reference_means(original_features)
    assert list(normalized.means) == list(CONV_LAYERS)
    for name, mean in normalized.means.items():
        np.testing.assert_allclose(mean, expected[name], rtol=1e-5, err_msg=name)


def test_features_are_the_originals_divided_by_the_means(normalized, original_features):
    features = reference_features(arrays(normalized), normalized.mean_pixel, PHOTOS)
    for name, maps in features.items():
        scale = normalized.means[name][:, None, None]
        for got, original in zip(maps, original_features[name], strict=True):
            # The features average 1, so atol is relative to their size; values
            # near 0 come from cancelling sums and keep only absolute accuracy.
            np.testing.assert_allclose(
                got, original / scale, rtol=1e-5, atol=1e-5, err_msg=name
            )


def test_naahs_own_measurement_of_the_normalised_network_gives_one(normalized):
    for name, mean in mean_activations(normalized, PHOTOS, size=SIZE).items():
        np.testing.assert_allclose(mean, 1, atol=1e-5, rtol=0, err_msg=name)


def test_no_filter_is_dead_and_nothing_warns_on_a_healthy_network(normalized):
    # The module fixture ran under "warnings as errors": a warning would have failed.
    assert normalized.dead_filters == {}
    assert isinstance(normalized, NormalizedWeights)
    assert (normalized.image_count, normalized.size) == (len(PHOTOS), SIZE)


def test_fc6_absorbs_conv5_4s_scales_and_fc7_fc8_are_untouched(original, normalized):
    # fc6 is a 7x7 valid convolution of pool5: on the normalised pool5 (the
    # original's divided by conv5_4's means) it must give the original's output.
    pool5 = np.random.default_rng(1).uniform(
        0, 3, original.params["fc6"].kernel[0].shape
    )
    m = normalized.means["conv5_4"][:, None, None]
    fc6, fc6_normalized = original.params["fc6"], normalized.params["fc6"]
    expected = np.tensordot(fc6.kernel, pool5, axes=3) + fc6.bias
    got = np.tensordot(fc6_normalized.kernel, pool5 / m, axes=3) + fc6_normalized.bias
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    for name in ("fc7", "fc8"):
        assert normalized.params[name] is original.params[name]


def test_average_pooling_is_measured_with_average_pooling(original):
    # Averaging smooths the maps, and at 48 px a conv5 filter or two never fires:
    # whether one does is beside the point here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeadFilterWarning)
        normalized = normalize_weights(original, PHOTOS, size=SIZE, pooling="avg")
    features = reference_features(
        arrays(normalized), normalized.mean_pixel, PHOTOS, pooling="avg"
    )
    for name, mean in reference_means(features).items():
        live = normalized.means[name] > 0
        np.testing.assert_allclose(mean[live], 1, atol=1e-5, rtol=0, err_msg=name)
    assert normalized.pooling == "avg"


def test_an_image_already_at_the_size_is_not_resampled(original):
    image = load_image(PHOTOS[0], long_edge=SIZE)
    at_size = mean_activations(original, [image], size=SIZE)
    as_is = mean_activations(original, [image], size=None)
    for name in CONV_LAYERS:
        np.testing.assert_array_equal(at_size[name], as_is[name])


# -- dead filters ----------------------------------------------------------------------
def test_dead_filters_are_reported_and_left_unscaled(dead):
    original, normalized = dead
    assert normalized.dead_filters == {DEAD_LAYER: (DEAD_FILTER,)}
    before, after = original.params[DEAD_LAYER], normalized.params[DEAD_LAYER]
    np.testing.assert_array_equal(after.kernel[DEAD_FILTER], before.kernel[DEAD_FILTER])
    assert after.bias[DEAD_FILTER] == before.bias[DEAD_FILTER]


def test_the_next_layer_reads_a_dead_filter_unscaled(dead):
    original, normalized = dead
    m_in, m_out = normalized.means[DEAD_LAYER], normalized.means["conv3_2"]
    incoming = np.where(m_in > 0, m_in, 1)
    expected = (
        original.params["conv3_2"].kernel
        * incoming[None, :, None, None]
        / m_out[:, None, None, None]
    )
    got = normalized.params["conv3_2"].kernel
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    np.testing.assert_allclose(
        got[:, DEAD_FILTER],
        original.params["conv3_2"].kernel[:, DEAD_FILTER] / m_out[:, None, None],
        rtol=1e-6,
    )


def test_live_filters_still_reach_mean_one_beside_a_dead_one(dead):
    _, normalized = dead
    features = reference_features(arrays(normalized), normalized.mean_pixel, PHOTOS)
    for name, mean in reference_means(features).items():
        live = normalized.means[name] > 0
        np.testing.assert_allclose(mean[live], 1, atol=1e-5, rtol=0, err_msg=name)
        assert np.all(mean[~live] == 0)


# -- files -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def written(folder, normalized):
    return write_normalized_mat(normalized, folder / "normalized.mat")


def test_the_written_file_loads_and_round_trips_every_parameter(written, normalized):
    loaded = load_weights(written)
    assert list(loaded.params) == list(normalized.params)
    for name, conv in normalized.params.items():
        got = loaded.params[name]
        np.testing.assert_array_equal(got.kernel, conv.kernel, err_msg=name)
        np.testing.assert_array_equal(got.bias, conv.bias, err_msg=name)
        assert (got.pad, got.stride) == (conv.pad, conv.stride)
    np.testing.assert_array_equal(loaded.mean_pixel, normalized.mean_pixel)
    assert loaded.class_names == normalized.class_names
    assert loaded.class_descriptions == normalized.class_descriptions
    assert loaded.source.release == "matconvnet-current"


def test_the_written_file_says_it_is_normalised(written, normalized, original):
    assert is_normalized(written)
    assert is_normalized(load_weights(written))
    assert is_normalized(normalized)
    assert not is_normalized(original)
    assert not is_normalized(original.source.path)
    info = normalization_info(written)
    assert (info.image_count, info.size, info.pooling) == (len(PHOTOS), SIZE, "max")
    assert info.dead_filters == {}
    assert "vgg19.mat" in info.source
    for name, mean in normalized.means.items():
        np.testing.assert_array_equal(info.means[name], mean)


def test_other_files_are_not_normalised(folder):
    assert not is_normalized(write_vgg19_mat73(folder / "v73.mat"))
    assert not is_normalized(write_vgg19_keras_h5(folder / "keras.h5"))
    assert not is_normalized(write_vgg19_mat(folder / "beta16.mat", release="beta16"))
    assert not is_normalized(PHOTOS[0])
    with pytest.raises(FileNotFoundError, match="no weights file"):
        is_normalized(folder / "missing.mat")


@pytest.mark.parametrize("writer", [write_vgg19_mat, write_vgg19_mat73])
def test_a_truncated_file_is_a_weights_error_naming_it(folder, writer):
    whole = Path(writer(folder / f"whole-{writer.__name__}.mat")).read_bytes()
    cut = folder / f"cut-{writer.__name__}.mat"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(WeightsError, match=rf"weights file '{cut}'.*(truncated|read)"):
        is_normalized(cut)


def test_a_file_whose_meta_is_a_bomb_is_refused_as_load_weights_refuses_it(folder):
    layers = Path(write_vgg19_mat(folder / "layers.mat", drop_variables=("meta",)))
    bomb = folder / "bomb.mat"
    bomb.write_bytes(_corpus.with_meta_bomb(layers.read_bytes(), 2**24))
    with pytest.raises(WeightsError, match=r"meta\.junk brings what is read to"):
        is_normalized(bomb)


def test_the_written_file_keeps_the_positions_scripts_read(written, normalized):
    # Scripts written for imagenet-vgg-verydeep-19.mat index it by position:
    # meta.normalization's third field is the mean pixel, a conv layer's third
    # field its {kernel (h, w, in, out), bias}.
    data = scipy.io.loadmat(written)
    np.testing.assert_allclose(
        data["meta"]["normalization"][0][0][0][0][2][0][0], normalized.mean_pixel
    )
    kernel, bias = data["layers"][0][0][0][0][2][0]
    expected = normalized.params["conv1_1"]
    np.testing.assert_array_equal(kernel, expected.kernel.transpose(2, 3, 1, 0))
    np.testing.assert_array_equal(bias.reshape(-1), expected.bias)


def test_dead_filters_are_recorded_in_the_file(folder, dead):
    path = write_normalized_mat(
        dead[1], folder / "dead-normalized.mat", compression=False
    )
    assert normalization_info(path).dead_filters == {DEAD_LAYER: (DEAD_FILTER,)}


def test_normalize_file_reads_a_folder_and_writes_a_verified_file(folder, weights_path):
    photos = folder / "photos"
    photos.mkdir()
    for photo in PHOTOS:
        shutil.copy(photo, photos / photo.name)
    (photos / "SOURCES.md").write_text("not an image")
    report = normalize_file(
        weights_path, photos, folder / "from-file.mat", size=SIZE, verify=True
    )
    assert [p.name for p in report.images] == sorted(p.name for p in PHOTOS)
    assert is_normalized(report.output)
    assert max(report.deviation.values()) < 1e-5
    assert set(report.seconds) == {"load", "measure", "write", "verify"}
    assert str(report.output) in str(report)


# -- bad input -------------------------------------------------------------------------
def test_no_images_is_an_error_that_says_so(original, folder):
    with pytest.raises(ValueError, match="no images"):
        normalize_weights(original, [])
    empty = folder / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"no images in .*empty.*\.jpg"):
        image_files(empty)
    with pytest.raises(FileNotFoundError, match="no image file"):
        image_files([folder / "missing.jpg"])


def test_non_finite_weights_are_rejected_naming_the_layer(original):
    kernel = original.params["conv2_1"].kernel.copy()
    kernel[0, 0, 1, 1] = np.nan
    params = dict(original.params)
    params["conv2_1"] = dataclasses.replace(params["conv2_1"], kernel=kernel)
    broken = dataclasses.replace(original, params=params)
    with pytest.raises(ValueError, match=r"conv2_1 hold 1 NaN or infinite"):
        normalize_weights(broken, PHOTOS)


def test_an_image_too_small_for_conv5_is_rejected(original):
    with pytest.raises(ValueError, match="conv5_4 needs at least 16 pixels"):
        normalize_weights(original, PHOTOS[:1], size=8)


def test_conv_layers_must_start_at_conv1_1(weights_path):
    partial = load_weights(weights_path, layers=["conv2_1", "conv2_2"])
    with pytest.raises(ValueError, match="needs conv1_1"):
        normalize_weights(partial, PHOTOS)


def test_only_normalised_weights_with_every_layer_are_written(folder, original):
    with pytest.raises(TypeError, match="normalize_weights"):
        write_normalized_mat(original, folder / "x.mat")
    convs = load_weights(original.source.path, layers=CONV_LAYERS)
    normalized = normalize_weights(convs, PHOTOS[:1], size=SIZE)
    with pytest.raises(ValueError, match="missing: fc6, fc7, fc8"):
        write_normalized_mat(normalized, folder / "x.mat")
    assert not (folder / "x.mat").exists()


def test_unknown_pooling_is_rejected(original):
    with pytest.raises(ValueError) as raised:
        normalize_weights(original, PHOTOS, pooling="min")
    assert str(raised.value) == "pooling must be 'max' or 'avg', got 'min'"


# -- loss weights ----------------------------------------------------------------------
def test_the_default_weights_are_gatys_settings_in_naahs_losses():
    # Gatys' notebook: cw * mean((F - P)^2) + sum_l (sw / L) * mean((G/M - A/M)^2).
    # naah: alpha * 1/2 sum((F - P)^2) + beta * sum_l (1 / L) E_l. The two must be
    # proportional, content and style terms alike.
    rng = np.random.default_rng(0)
    height, width, channels, layers = 64, 48, 16, 3
    alpha, beta = normalized_loss_weights((height, width), channels=channels)
    n_c, m_c = channels, (height // 8) * (width // 8)
    content, target = rng.uniform(0, 2, (2, n_c, m_c))
    gatys_content = GATYS_NORMALIZED_CONTENT_WEIGHT * np.mean((content - target) ** 2)
    naah_content = alpha * 0.5 * np.sum((content - target) ** 2)
    gatys_style = naah_style = 0.0
    for n, m in ((8, 300), (16, 70), (16, 20))[:layers]:
        f, a = rng.uniform(0, 2, (2, n, m))
        g, a = f @ f.T, a @ a.T
        sw = GATYS_NORMALIZED_STYLE_WEIGHT / layers
        gatys_style += sw * np.mean((g / m - a / m) ** 2)
        naah_style += beta / layers * np.sum((g - a) ** 2) / (4 * n**2 * m**2)
    ratio = gatys_content / naah_content
    np.testing.assert_allclose(gatys_style / naah_style, ratio, rtol=1e-12)
    assert NORMALIZED_DEFAULT_ALPHA == 1.0
    assert normalized_loss_weights(512) == (1.0, NORMALIZED_DEFAULT_BETA)
