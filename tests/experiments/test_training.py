"""Training VGG-19 from random weights: the weights, the momentum update, learning."""

import numpy as np
import pytensor
import pytest

from naah.architecture import WEIGHT_LAYERS
from naah.compile import function
from naah.experiments import ImageSet, random_vgg19_weights, train_vgg19
from naah.models import VGG_19
from naah.optim import momentum

SIDE = 32


def test_random_weights_have_every_layer_with_fc6_covering_pool5():
    weights = random_vgg19_weights((4, 4, 8, 8, 8), 16, 3, image_size=64)
    assert list(weights.params) == list(WEIGHT_LAYERS)
    assert weights.params["conv1_1"].kernel.shape == (4, 3, 3, 3)
    assert weights.params["fc6"].kernel.shape == (16, 8, 2, 2)
    assert weights.params["fc8"].kernel.shape == (3, 16, 1, 1)
    assert weights.params["conv1_1"].pad == (1, 1, 1, 1)
    assert weights.params["fc6"].pad == (0, 0, 0, 0)
    assert all(not p.bias.any() for p in weights.params.values())


def test_random_weights_are_he_initialised():
    weights = random_vgg19_weights((64, 64, 64, 64, 64), 16, 2, seed=1)
    kernel = weights.params["conv3_1"].kernel  # fan-in 64 * 3 * 3
    assert kernel.std() == pytest.approx(np.sqrt(2 / (64 * 9)), rel=0.05)


def test_random_weights_reject_sizes_that_five_poolings_cannot_halve():
    with pytest.raises(ValueError, match="multiple of 32"):
        random_vgg19_weights(image_size=48)


@pytest.mark.slow
def test_random_weights_build_a_network_ending_in_class_probabilities():
    net = VGG_19(random_vgg19_weights((4, 4, 8, 8, 8), 16, 3))
    x = pytensor.tensor.tensor4("x", dtype="float32")
    probs = function([x], net.output(x))(np.zeros((2, 3, SIDE, SIDE), np.float32))
    assert probs.shape == (2, 3, 1, 1)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)


def test_momentum_matches_the_heavy_ball_recursion():
    p = pytensor.shared(np.array([1.0, -2.0], dtype=np.float32), name="p")
    step = function([], [], updates=momentum([2 * p], [p], 0.1, 0.9))
    value, velocity = np.array([1.0, -2.0]), np.zeros(2)
    for _ in range(3):
        step()
        velocity = 0.9 * velocity - 0.1 * 2 * value
        value = value + velocity
    np.testing.assert_allclose(p.get_value(), value, rtol=1e-6)


def test_momentum_rejects_values_outside_zero_to_one():
    p = pytensor.shared(np.float32(1.0))
    with pytest.raises(ValueError, match="momentum"):
        momentum([p], [p], 0.1, 1.0)


def _stripes(count: int, seed: int) -> ImageSet:
    """Horizontal (class 0) or vertical (class 1) noisy stripes of random phase."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:SIDE, 0:SIDE]
    labels = np.arange(count) % 2
    images = []
    for label in labels:
        coordinate = y if label == 0 else x
        grey = 127.5 + 100 * np.sin(coordinate * np.pi / 4 + rng.uniform(0, 6.3))
        image = grey[..., None] + rng.normal(0, 20, (SIDE, SIDE, 3))
        images.append(np.clip(image, 0, 255))
    return ImageSet(np.asarray(images, np.float32), labels.astype(np.int32), ("h", "v"))


@pytest.mark.slow
def test_training_on_an_easy_two_class_set_beats_chance():
    records = []
    result = train_vgg19(
        _stripes(64, seed=0), _stripes(32, seed=1), epochs=5, batch_size=16,
        learning_rate=0.03, widths=(4, 4, 8, 8, 8), fc_width=16, dropout=0.0,
        seed=0, callback=records.append,
    )  # fmt: skip
    assert records == result.history
    assert [r.epoch for r in result.history] == list(range(6))
    # Chance is 0.5. A net this small and this fast-learning swings between
    # epochs (with seed 0, 1.0 after epoch 4 and 0.5 after epoch 5, with a
    # training accuracy of 1.0): the test asserts that it learns, not where the
    # last step lands.
    assert max(result.test_accuracy) >= 0.9
    assert np.isnan(result.history[0].train_loss)
    assert result.history[-1].train_loss < result.history[1].train_loss
    predictions = result.predict(_stripes(8, seed=2).images)
    assert predictions.shape == (8,)


def test_training_rejects_images_of_mixed_sizes():
    small, large = _stripes(4, 0), _stripes(4, 1)
    large = ImageSet(np.zeros((4, 64, 64, 3), np.float32), large.labels, ("h", "v"))
    with pytest.raises(ValueError, match="one square size"):
        train_vgg19(small, large, epochs=0)
