"""VGG-19 (Simonyan & Zisserman 2015, configuration E) built from MatConvNet weights.

A symbolic model, as Lasagne's: it holds the layers and builds PyTensor graphs; it
compiles nothing and reads no images (:mod:`naah.classify` and
:mod:`naah.style_transfer` do).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor.sharedvar import TensorSharedVariable
from pytensor.tensor.variable import TensorVariable

from naah.architecture import FC_LAYERS, POOL_WINDOW, RELU_AFTER, TRAINING_LAYERS
from naah.io.weights import VGGWeights, load_weights
from naah.layers import ConvLayer, Dropout, FCLayer, Layer, PoolLayer, ReLU, Softmax
from naah.ops.pool import check_pool_mode


class VGG_19:
    """VGG-19 as MatConvNet's layer table, with weights from a ``.mat``/``.h5`` file.

    The network takes NCHW float32 batches of RGB images in 0–255 minus the weights'
    mean pixel (:attr:`mean_pixel`; :func:`naah.io.images.preprocess` does this).

    Parameters
    ----------
    weights : str, PathLike or VGGWeights
        A weight file (see :func:`naah.load_weights`) or what it returned. Weights
        loaded with a subset of layers give a network that ends at the last layer
        whose weights are present (for style transfer, conv5_1 is enough).
    pooling : {'max', 'avg'}
        VGG-19 was trained with max pooling; Gatys et al. report that average
        pooling gives slightly smoother images.
    fully_connected : bool
        False (default): fc6–fc8 stay convolutions, as stored, so any input of at
        least 224x224 works and larger ones give class score maps (averaged by
        :func:`naah.classify.predict_proba`). True: fc6–fc8 are dense layers over
        the flattened pool5, which needs exactly 224x224 input.
    dropout : float
        Probability of the drop6/drop7 layers, active only with ``training=True``.
    seed : int, optional
        Seed of the dropout layers.

    Examples
    --------
    >>> net = VGG_19("imagenet-vgg-verydeep-19.mat")  # doctest: +SKIP

    Offline, with the narrow stand-in of :mod:`naah.testing`:

    >>> import os, tempfile, pytensor.tensor as pt
    >>> from naah.testing import write_vgg19_mat
    >>> net = VGG_19(write_vgg19_mat(os.path.join(tempfile.mkdtemp(), "vgg19.mat")))
    >>> net
    VGG_19(45 layers, conv1_1…prob, pooling='max')
    >>> x = pt.tensor4("x", dtype="float32")
    >>> feats = net.features(x, ["conv4_2", "conv1_1"])
    >>> type(feats["conv4_2"].owner.op).__name__  # rectified, as Gatys et al. used
    'Relu'
    >>> net["conv4_2"].kernel_shape  # the stand-in is narrow: 16 channels, not 512
    (16, 16, 3, 3)
    """

    def __init__(
        self,
        weights: str | os.PathLike | VGGWeights,
        *,
        pooling: str = "max",
        fully_connected: bool = False,
        dropout: float = 0.5,
        seed: int | None = None,
    ) -> None:
        self.pooling = check_pool_mode(pooling)
        if not isinstance(weights, VGGWeights):
            weights = load_weights(weights)
        self.weights = weights
        self.fully_connected = fully_connected
        self.mean_pixel = np.asarray(weights.mean_pixel, dtype=np.float32)
        self.layers: dict[str, Layer] = {}
        for info in TRAINING_LAYERS:
            layer = self._make_layer(info.name, info.type, dropout, seed)
            if layer is None:
                break
            self.layers[info.name] = layer
        if not self.layers:
            raise ValueError(
                "the weights hold no conv1_1; load them with layers=None or a list "
                "that starts at conv1_1"
            )

    def _make_layer(
        self, name: str, kind: str, dropout: float, seed: int | None
    ) -> Layer | None:
        if kind == "conv":
            params = self.weights.params.get(name)
            if params is None:
                return None
            if self.fully_connected and name in FC_LAYERS:
                activation = None
                return FCLayer.from_conv(
                    name, params.kernel, params.bias, activation=activation
                )
            return ConvLayer(
                name, params.kernel, params.bias, pad=params.pad, stride=params.stride
            )
        if kind == "relu":
            return ReLU(name)
        if kind == "pool":
            return PoolLayer(name, self.pooling, window=POOL_WINDOW)
        if kind == "dropout":
            return Dropout(
                name, dropout, None if seed is None else seed + len(self.layers)
            )
        return Softmax(name)

    @property
    def layer_names(self) -> tuple[str, ...]:
        """Names of this network's layers, in order."""
        return tuple(self.layers)

    def __getitem__(self, name: str) -> Layer:
        try:
            return self.layers[name]
        except KeyError:
            raise KeyError(self._unknown_layer_message(name)) from None

    def _unknown_layer_message(self, name: str) -> str:
        all_names = [info.name for info in TRAINING_LAYERS]
        if name in all_names:
            return (
                f"layer {name!r} is past the last layer whose weights were loaded "
                f"({self.layer_names[-1]}); load more layers of the weight file"
            )
        return f"no layer named {name!r}; VGG-19's layers are {', '.join(all_names)}"

    def params(self) -> list[TensorSharedVariable]:
        """All shared variables of the network (kernels and biases), in order."""
        return [p for layer in self.layers.values() for p in layer.params.values()]

    def random_updates(self) -> dict:
        """Updates of the dropout generators built by the last ``training=True`` call.

        Pass them to the training function (``updates=``) so each call draws new
        dropout masks.
        """
        updates: dict = {}
        for layer in self.layers.values():
            updates.update(getattr(layer, "updates", {}))
        return updates

    def features(
        self,
        x: TensorVariable,
        layers: Iterable[str],
        *,
        pre_relu: bool = False,
        training: bool = False,
    ) -> dict[str, pt.TensorVariable]:
        """Symbolic outputs of the named layers for the input batch ``x``.

        Only the layers up to the deepest one requested are built.

        Parameters
        ----------
        x : TensorVariable of shape (N, 3, H, W)
            float32 RGB batch, mean pixel already subtracted.
        layers : iterable of str
            Layer names. A convolution's name (``conv4_2``, ``fc6``) means its
            rectified output (Caffe's in-place ReLU, as Gatys et al. used) unless
            ``pre_relu``; other names (``relu4_2``, ``pool5``, ``prob``) mean that
            layer's output.
        pre_relu : bool
            Give convolutions' outputs before the ReLU.
        training : bool
            Switch dropout on.

        Returns
        -------
        dict mapping each requested name to its symbolic output.
        """
        wanted = list(dict.fromkeys(layers))
        for name in wanted:
            self[name]  # raises a clear KeyError for an unknown layer
        source = {name: self._source_layer(name, pre_relu) for name in wanted}
        pending = set(source.values())
        outputs: dict[str, pt.TensorVariable] = {}
        current = x
        for name, layer in self.layers.items():
            if not pending:
                break
            current = layer(current, training=training)
            outputs[name] = current
            pending.discard(name)
        return {name: outputs[source[name]] for name in wanted}

    def _source_layer(self, name: str, pre_relu: bool) -> str:
        """The layer whose output stands for feature ``name``."""
        relu_name = RELU_AFTER.get(name)
        if pre_relu or relu_name not in self.layers:
            return name
        return relu_name

    def output(self, x: TensorVariable, *, training: bool = False) -> TensorVariable:
        """Symbolic class probabilities (``prob``) for the batch ``x``."""
        return self.features(x, ["prob"], training=training)["prob"]

    def __repr__(self) -> str:
        return (
            f"VGG_19({len(self.layers)} layers, {self.layer_names[0]}…"
            f"{self.layer_names[-1]}, pooling={self.pooling!r})"
        )
