"""Training VGG-19 from random weights on a small image set (the report's Figure 3).

The report trained VGG-19 (with the dropout layers of its Table 1) with mini-batch
SGD with momentum on a ten-category image set and plotted test accuracy per epoch.
:func:`train_vgg19` does the same with a narrow VGG-19 on small images, so that it
runs on a CPU: the same 19 weight layers, fewer channels. Its weights come from
:func:`random_vgg19_weights`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import pytensor.tensor as pt
from pytensor.compile import Function
from pytensor.tensor.special import log_softmax

from naah.architecture import (
    CONV_LAYERS,
    POOLING_FACTOR,
    WEIGHT_LAYERS,
    expected_kernel_shape,
)
from naah.compile import function
from naah.experiments.datasets import ImageSet
from naah.io.images import preprocess
from naah.io.weights import ConvParams, VGGWeights, WeightsSource
from naah.models import VGG_19
from naah.optim import momentum as momentum_updates

# Narrow defaults that train on a CPU in minutes at 32x32 (real: 64 … 512, 4096).
SMALL_WIDTHS = (8, 16, 32, 64, 64)
SMALL_FC_WIDTH = 64
# Simonyan & Zisserman (2015), section 3.1: momentum 0.9, weight decay 5e-4,
# dropout 0.5 after fc6 and fc7.
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4
DROPOUT = 0.5


@dataclass(frozen=True)
class EpochRecord:
    """The state after ``epoch`` epochs (0: the untrained network).

    ``train_loss`` and ``train_accuracy`` are the mean cross-entropy and accuracy
    over the epoch's mini-batches, with dropout on, as they were trained on
    (``train_loss`` is NaN for epoch 0, accuracy then is the untrained network's);
    ``test_accuracy`` is measured after the epoch without dropout; ``seconds``
    counts from the start of training.
    """

    epoch: int
    train_loss: float
    train_accuracy: float
    test_accuracy: float
    seconds: float


@dataclass
class TrainingResult:
    """What :func:`train_vgg19` returns.

    Attributes
    ----------
    history : list of EpochRecord
        Epoch 0 (the untrained network) and one record per epoch.
    net : VGG_19
        The trained network. It takes batches preprocessed with its mean pixel and
        then divided by ``input_scale`` (training from scratch is far better
        conditioned on unit-variance input).
    input_scale : float
        Standard deviation of the training set's mean-subtracted pixels.
    class_names : tuple of str
    """

    history: list[EpochRecord]
    net: VGG_19
    input_scale: float
    class_names: tuple[str, ...]
    _predict: Callable = field(repr=False)

    @property
    def test_accuracy(self) -> list[float]:
        """Test accuracy per epoch, the curve of the report's Figure 3."""
        return [r.test_accuracy for r in self.history]

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Class indices of (N, H, W, 3) RGB images in 0–255."""
        return self._predict(_batch(images, self.net.mean_pixel, self.input_scale))


def random_vgg19_weights(
    widths: tuple[int, ...] = SMALL_WIDTHS,
    fc_width: int = SMALL_FC_WIDTH,
    num_classes: int = 10,
    seed: int = 0,
    *,
    image_size: int = 32,
    mean_pixel: Sequence[float] | np.ndarray = (0.0, 0.0, 0.0),
    class_names: tuple[str, ...] | None = None,
) -> VGGWeights:
    """He-initialised VGG-19 weights, for training from scratch.

    Kernels are normal with standard deviation √(2 / fan-in) (He et al. 2015; fc8,
    which no ReLU follows, √(1 / fan-in)); biases are zero. fc6 is a convolution
    covering pool5's whole output, ``image_size / 32`` pixels square (7 for the
    real network's 224), so the network ends in (N, classes, 1, 1) probabilities.

    Examples
    --------
    >>> weights = random_vgg19_weights(image_size=32)
    >>> weights.params["fc6"].kernel.shape, weights.params["fc8"].kernel.shape
    ((64, 64, 1, 1), (10, 64, 1, 1))
    """
    if image_size < POOLING_FACTOR or image_size % POOLING_FACTOR:
        raise ValueError(
            f"image_size must be a multiple of {POOLING_FACTOR} (VGG-19 pools five "
            f"times), got {image_size}"
        )
    rng = np.random.default_rng(seed)
    params = {}
    for name in WEIGHT_LAYERS:
        shape = expected_kernel_shape(
            name, widths, fc_width, num_classes, fc6_size=image_size // POOLING_FACTOR
        )
        fan_in = int(np.prod(shape[1:]))
        gain = 1.0 if name == "fc8" else 2.0
        kernel = rng.standard_normal(shape) * np.sqrt(gain / fan_in)
        pad = (1, 1, 1, 1) if name in CONV_LAYERS else (0, 0, 0, 0)
        params[name] = ConvParams(
            kernel.astype(np.float32), np.zeros(shape[0], np.float32), pad, (1, 1)
        )
    names = class_names or tuple(f"class {i}" for i in range(num_classes))
    source = WeightsSource("<random>", "random", "random", 0, None, "not computed")
    mean = np.asarray(mean_pixel, dtype=np.float32)
    return VGGWeights(params, mean, tuple(names), tuple(names), source)


def train_vgg19(
    train: ImageSet,
    test: ImageSet,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    learning_rate: float = 0.01,
    momentum: float = MOMENTUM,
    weight_decay: float = WEIGHT_DECAY,
    dropout: float = DROPOUT,
    widths: tuple[int, ...] = SMALL_WIDTHS,
    fc_width: int = SMALL_FC_WIDTH,
    seed: int = 0,
    backend: str = "c",
    callback: Callable[[EpochRecord], None] | None = None,
) -> TrainingResult:
    """Train VGG-19 from random weights with mini-batch SGD with momentum.

    Minimises the mean cross-entropy of the softmax over fc8 plus
    ``weight_decay / 2`` times the squared kernels, with dropout after fc6 and fc7.

    Parameters
    ----------
    train, test : ImageSet
        Square images, all of one size, a multiple of 32 (e.g. 32x32).
    epochs, batch_size : int
    learning_rate, momentum, weight_decay, dropout : float
    widths : 5 ints
        Channels of the convolutions of each block (real VGG-19: 64 … 512).
    fc_width : int
        Outputs of fc6 and fc7 (real: 4096).
    seed : int
        Seeds the weights, the batch order and dropout.
    callback : callable(EpochRecord), optional
        Called after each epoch (and for epoch 0, before training).

    Returns
    -------
    TrainingResult

    Examples
    --------
    >>> train, test = digits_image_set(32).split(0.2)  # doctest: +SKIP
    >>> result = train_vgg19(train, test, epochs=5)  # doctest: +SKIP
    >>> result.test_accuracy[-1]  # doctest: +SKIP
    0.9...
    """
    side = _image_side(train, test)
    mean_pixel = train.images.mean(axis=(0, 1, 2))
    weights = random_vgg19_weights(
        widths,
        fc_width,
        len(train.class_names),
        seed,
        image_size=side,
        mean_pixel=mean_pixel,
        class_names=train.class_names,
    )
    net = VGG_19(weights, dropout=dropout, seed=seed)
    step = _training_step(net, learning_rate, momentum, weight_decay, backend)
    predict = _predictor(net, backend)
    rng = np.random.default_rng(seed)
    scale = float((train.images - mean_pixel).std()) or 1.0
    x_train = _batch(train.images, net.mean_pixel, scale)
    x_test = _batch(test.images, net.mean_pixel, scale)
    history: list[EpochRecord] = []
    start = time.perf_counter()
    for epoch in range(epochs + 1):
        losses, correct = [], 0
        if epoch > 0:
            for batch in _batches(rng.permutation(len(train)), batch_size):
                loss, hits = step(x_train[batch], train.labels[batch])
                losses.append(float(loss) * len(batch))
                correct += int(hits)
        else:
            correct = int((predict(x_train) == train.labels).sum())
        record = EpochRecord(
            epoch=epoch,
            train_loss=sum(losses) / len(train) if losses else float("nan"),
            train_accuracy=correct / len(train),
            test_accuracy=float((predict(x_test) == test.labels).mean()),
            seconds=time.perf_counter() - start,
        )
        history.append(record)
        if callback is not None:
            callback(record)
    return TrainingResult(history, net, scale, train.class_names, predict)


def _image_side(*sets: ImageSet) -> int:
    shapes = {s.images.shape[1:] for s in sets}
    if len(shapes) != 1 or (shape := shapes.pop())[0] != shape[1]:
        raise ValueError(f"train and test images must be one square size, got {shapes}")
    return shape[0]


def _batch(images: np.ndarray, mean_pixel: np.ndarray, scale: float) -> np.ndarray:
    """(N, 3, H, W) float32 network input: mean-subtracted, divided by ``scale``."""
    batch = np.concatenate([preprocess(image, mean_pixel) for image in images])
    return batch * np.float32(1.0 / scale)


def _batches(order: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for first in range(0, len(order), size):
        yield order[first : first + size]


def _training_step(
    net: VGG_19,
    learning_rate: float,
    momentum: float,
    weight_decay: float,
    backend: str,
) -> Function:
    """Compiled ``step(x, y) -> (mean loss, correct)`` that updates the weights."""
    x = pt.tensor4("images", dtype="float32")
    y = pt.ivector("labels")
    scores = net.features(x, ["fc8"], training=True)["fc8"].flatten(2)
    log_p = log_softmax(scores, axis=1)
    cross_entropy = -log_p[pt.arange(y.shape[0]), y].mean()
    kernels = [layer.W for layer in net.layers.values() if hasattr(layer, "W")]
    decay = sum((pt.sqr(w).sum() for w in kernels), pt.constant(np.float32(0)))
    loss = cross_entropy + np.float32(weight_decay / 2) * decay
    params = net.params()
    # A list of wrt gives a list of gradients; PyTensor's return type is the union.
    grads = cast(list, pt.grad(loss, params))
    updates = momentum_updates(grads, params, learning_rate, momentum)
    updates.update(net.random_updates())
    correct = pt.eq(scores.argmax(axis=1), y).sum()
    return function([x, y], [cross_entropy, correct], updates=updates, backend=backend)


def _predictor(net: VGG_19, backend: str) -> Callable[[np.ndarray], np.ndarray]:
    """Compiled class prediction (no dropout) of a preprocessed batch."""
    x = pt.tensor4("images", dtype="float32")
    classes = net.output(x).flatten(2).argmax(axis=1)
    return function([x], classes, backend=backend)
