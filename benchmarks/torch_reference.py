"""The loss naah minimises, written in PyTorch, for speed comparisons.

VGG-19's convolutions up to conv5_1 with the same weights, the content loss at
conv4_2 and Gram style losses at conv1_1 … conv5_1, with naah's normalisation
(:mod:`naah.losses`):

* :math:`\\mathcal{L}_{content} = \\tfrac12 \\sum (F - P)^2`
* :math:`E_l = \\sum ((G^l - A^l) / (2 N_l M_l))^2`, :math:`w_l = 1/5`
* :math:`\\mathcal{L} = \\alpha \\mathcal{L}_{content} + \\beta \\sum_l w_l E_l`

Features are the rectified outputs (relu4_2 for "conv4_2"), pooling is 2x2 max with
floor sizes, as in naah's VGG_19. Nothing here imports naah except
:func:`params_from_weights_file`, so a PyTorch worker process holds only PyTorch.
"""

from __future__ import annotations

import numpy as np
import torch

# naah.style_transfer's defaults: Gatys et al.'s layers and α/β = 1e-3.
CONTENT_LAYERS = ("conv4_2",)
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
ALPHA, BETA = 1.0, 1e3
# VGG-19's convolutions up to conv5_1, in order; a pool follows each block's last.
CONV_LAYERS = (
    "conv1_1", "conv1_2",
    "conv2_1", "conv2_2",
    "conv3_1", "conv3_2", "conv3_3", "conv3_4",
    "conv4_1", "conv4_2", "conv4_3", "conv4_4",
    "conv5_1",
)  # fmt: skip
POOLED_AFTER = ("conv1_2", "conv2_2", "conv3_4", "conv4_4")


def params_from_weights_file(path) -> dict[str, np.ndarray]:
    """Kernels, biases and paddings of :data:`CONV_LAYERS` and the mean pixel, read
    with :func:`naah.load_weights` (the same arrays naah uses), as a flat dict that
    ``np.savez`` can store."""
    from naah import load_weights

    weights = load_weights(path, layers=CONV_LAYERS)
    arrays = {"mean_pixel": np.asarray(weights.mean_pixel, np.float32)}
    for name in CONV_LAYERS:
        p = weights.params[name]
        if tuple(p.stride) != (1, 1):
            raise ValueError(f"{name} has stride {p.stride}; VGG-19's are all 1")
        arrays[f"{name}.kernel"] = p.kernel
        arrays[f"{name}.bias"] = p.bias
        arrays[f"{name}.pad"] = np.asarray(p.pad)
    return arrays


def preprocess(image: np.ndarray, mean_pixel) -> np.ndarray:
    """(H, W, 3) RGB 0–255 to a (1, 3, H, W) float32 batch minus the mean pixel."""
    batch = np.asarray(image, np.float32) - np.asarray(mean_pixel, np.float32)
    return np.ascontiguousarray(batch.transpose(2, 0, 1)[np.newaxis])


class TorchStyleLoss:
    """``loss_and_grad(x)`` of naah's style-transfer loss for one content/style pair.

    Parameters
    ----------
    params : mapping
        What :func:`params_from_weights_file` returns.
    content, style : ndarray of shape (1, 3, H, W)
        Preprocessed images (float32).
    """

    def __init__(self, params, content: np.ndarray, style: np.ndarray):
        self.shape = content.shape
        self.layers = [
            (
                name,
                torch.from_numpy(np.ascontiguousarray(params[f"{name}.kernel"])),
                torch.from_numpy(np.ascontiguousarray(params[f"{name}.bias"])),
                tuple(int(v) for v in params[f"{name}.pad"]),
            )
            for name in CONV_LAYERS
        ]
        with torch.no_grad():
            content_features = self.features(torch.from_numpy(content))
            style_features = self.features(torch.from_numpy(style))
            self.targets = {n: content_features[n] for n in CONTENT_LAYERS}
            self.grams = {n: gram(style_features[n]) for n in STYLE_LAYERS}

    def features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Rectified outputs of every convolution up to conv5_1."""
        out = {}
        for name, kernel, bias, (top, bottom, left, right) in self.layers:
            if top == bottom and left == right:
                x = torch.nn.functional.conv2d(x, kernel, bias, padding=(top, left))
            else:
                x = torch.nn.functional.pad(x, (left, right, top, bottom))
                x = torch.nn.functional.conv2d(x, kernel, bias)
            x = torch.relu(x)
            out[name] = x
            if name in POOLED_AFTER:
                x = torch.nn.functional.max_pool2d(x, 2, 2)
        return out

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        features = self.features(x)
        content = sum(
            0.5 * ((features[n] - self.targets[n]) ** 2).sum() for n in CONTENT_LAYERS
        )
        style = 0.0
        for name in STYLE_LAYERS:
            f = features[name]
            n_l, m_l = f.shape[1], f.shape[2] * f.shape[3]
            e_l = (((gram(f) - self.grams[name]) / (2.0 * n_l * m_l)) ** 2).sum()
            style = style + e_l / len(STYLE_LAYERS)
        return ALPHA * content + BETA * style

    def loss_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """Loss and gradient at a preprocessed image given as any float array of
        1*3*H*W values, as scipy's L-BFGS-B hands it (float64, flat); the gradient
        comes back flat and float64, as L-BFGS-B wants it."""
        image = torch.from_numpy(np.asarray(x, np.float32).reshape(self.shape))
        image.requires_grad_(True)
        loss = self.loss(image)
        loss.backward()
        return loss.item(), image.grad.numpy().ravel().astype(np.float64)


def gram(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix F Fᵀ of a (1, N, H, W) feature batch."""
    f = features[0].reshape(features.shape[1], -1)
    return f @ f.T
