"""naah.classify against a forward pass written here with tests/_reference.py."""

import contextlib

import numpy as np
import pytest
from PIL import Image

import naah.classify
from naah.classify import Prediction, classify, predict_proba
from naah.models import VGG_19
from naah.testing import (
    DEFAULT_NUM_CLASSES,
    VGG_MEAN_PIXEL,
    make_class_names,
    make_vgg19_params,
    write_vgg19_mat,
)
from tests._reference import conv2d, pool2d

# VGG-19's blocks (Simonyan & Zisserman 2015, configuration E), spelled out here
# rather than taken from naah.architecture.
BLOCKS = (2, 2, 4, 4, 4)


def reference_probabilities(images, pooling="max"):
    """Class probabilities of (N, H, W, 3) images: the network by hand in float64,
    a softmax at each position of fc8's map, then the mean over positions."""
    params = make_vgg19_params()
    x = (np.asarray(images, np.float64) - VGG_MEAN_PIXEL).transpose(0, 3, 1, 2)
    for block, convs in enumerate(BLOCKS, start=1):
        for i in range(1, convs + 1):
            kernel, bias = params[f"conv{block}_{i}"]
            x = np.maximum(conv2d(x, kernel, pad=1) + bias[:, None, None], 0)
        x = pool2d(x, pooling, 2)
    for name in ("fc6", "fc7", "fc8"):
        kernel, bias = params[name]
        x = conv2d(x, kernel) + bias[:, None, None]
        if name != "fc8":
            x = np.maximum(x, 0)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).mean(axis=(2, 3))


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    return write_vgg19_mat(tmp_path_factory.mktemp("weights") / "vgg19.mat")


@pytest.fixture(scope="module")
def net(weights_file):
    return VGG_19(weights_file)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(3).uniform(0, 255, (2, 224, 224, 3))


def test_probabilities_match_a_reference_forward_pass(net, images):
    got = predict_proba(net, list(images))
    assert got.shape == (2, DEFAULT_NUM_CLASSES)
    np.testing.assert_allclose(got, reference_probabilities(images), rtol=1e-4)


def test_dense_fc_layers_give_the_same_probabilities(weights_file, images):
    dense = VGG_19(weights_file, fully_connected=True)
    np.testing.assert_allclose(
        predict_proba(dense, images), reference_probabilities(images), rtol=1e-4
    )


def test_larger_images_average_the_probability_maps(net):
    # 256x288 input: pool5 is 8x9, so fc8 gives a 2x3 map of class scores.
    image = np.random.default_rng(5).uniform(0, 255, (256, 288, 3))
    expected = reference_probabilities(image[None])
    np.testing.assert_allclose(predict_proba(net, image), expected, rtol=1e-4)


def test_average_pooling_networks_are_classified_with_average_pooling(weights_file):
    image = np.random.default_rng(6).uniform(0, 255, (224, 224, 3))
    net = VGG_19(weights_file, pooling="avg")
    expected = reference_probabilities(image[None], pooling="avg")
    np.testing.assert_allclose(predict_proba(net, image), expected, rtol=1e-4)


def test_paths_pil_images_and_arrays_are_the_same_image(net, tmp_path):
    pixels = np.random.default_rng(7).integers(0, 256, (224, 224, 3), dtype=np.uint8)
    path = tmp_path / "image.png"
    Image.fromarray(pixels).save(path)
    from_array = predict_proba(net, pixels)
    np.testing.assert_allclose(predict_proba(net, path), from_array, rtol=1e-6)
    pil = Image.fromarray(pixels)
    np.testing.assert_allclose(predict_proba(net, pil), from_array, rtol=1e-6)


def test_classify_gives_the_most_likely_classes_with_the_files_labels(net, images):
    expected = reference_probabilities(images)
    _, descriptions = make_class_names(DEFAULT_NUM_CLASSES)
    results = classify(net, images, top=3)
    assert len(results) == 2
    for row, top in zip(expected, results, strict=True):
        assert all(isinstance(p, Prediction) for p in top)
        assert [p.index for p in top] == list(np.argsort(-row)[:3])
        assert [p.label for p in top] == [descriptions[p.index] for p in top]
        assert [p.probability for p in top] == pytest.approx(
            np.sort(row)[::-1][:3], rel=1e-4
        )


def test_classify_uses_given_labels_and_gives_all_classes_when_top_is_larger(net):
    image = np.full((224, 224, 3), 100.0)
    labels = [f"label {i}" for i in range(DEFAULT_NUM_CLASSES)]
    (top,) = classify(net, image, top=50, labels=labels)
    assert sorted(p.index for p in top) == list(range(DEFAULT_NUM_CLASSES))
    assert all(p.label == f"label {p.index}" for p in top)
    assert sum(p.probability for p in top) == pytest.approx(1, rel=1e-5)


@pytest.mark.parametrize("top", [0, -1, 2.5, True])
def test_classify_rejects_a_top_that_is_not_a_positive_int(net, top):
    with pytest.raises(ValueError, match="top must be a positive int"):
        classify(net, np.zeros((224, 224, 3)), top=top)


def test_classify_rejects_labels_that_do_not_match_the_classes(net):
    with pytest.raises(ValueError, match="3 labels for a network with 10 classes"):
        classify(net, np.zeros((224, 224, 3)), labels=["a", "b", "c"])


def test_images_of_different_sizes_are_rejected(net):
    with pytest.raises(ValueError, match="same size"):
        predict_proba(net, [np.zeros((224, 224, 3)), np.zeros((240, 224, 3))])


def test_images_smaller_than_fc6_reads_are_rejected(net):
    with pytest.raises(ValueError, match="at least 224x224"):
        predict_proba(net, np.zeros((200, 240, 3)))


def test_dense_networks_take_exactly_the_trained_size(weights_file):
    dense = VGG_19(weights_file, fully_connected=True)
    with pytest.raises(ValueError, match="takes 224x224 images, got 256x224"):
        predict_proba(dense, np.zeros((256, 224, 3)))


def test_the_network_is_compiled_once_per_backend(weights_file, monkeypatch):
    compiled = []
    real_function = naah.classify.function

    def counting_function(*args, **kwargs):
        compiled.append(kwargs["backend"])
        return real_function(*args, **kwargs)

    monkeypatch.setattr(naah.classify, "function", counting_function)
    net = VGG_19(weights_file)
    image = np.zeros((224, 224, 3))
    first = predict_proba(net, image)
    np.testing.assert_array_equal(classify(net, image)[0][0].probability, first.max())
    assert compiled == ["c"]


def test_the_evaluation_runs_under_the_given_runtime(net):
    class RecordingRuntime:
        def __init__(self):
            self.backends = []

        @contextlib.contextmanager
        def activate(self, backend="c"):
            self.backends.append(backend)
            yield

    runtime = RecordingRuntime()
    predict_proba(net, np.zeros((224, 224, 3)), runtime=runtime)
    assert runtime.backends == ["c"]
