"""Colour control for style transfer: YIQ, luminance-only transfer, colour matching.

Gatys, Ecker, Bethge, Hertzmann & Shechtman (2017), *Controlling Perceptual Factors
in Neural Style Transfer* (CVPR), section 5, keep the content image's colours in
two ways, and tools offer a third, post-hoc one (:data:`COLOR_MODES`):

``"luminance"`` (section 5.1)
    Transfer style between luminance images only. The style's luminance Y is first
    matched to the content's mean and standard deviation (:func:`match_luminance`),
    both are shown to the network as ``(Y, Y, Y)`` (:func:`luminance_as_rgb`), and
    the result's luminance is put together with the content's chroma I, Q
    (:func:`original_colors`).
``"histogram"`` (section 5.2, "colour histogram matching")
    Recolour the style image so that the mean and covariance of its RGB values are
    the content's (:func:`match_color`), then run the transfer as usual.
``"original"``
    Run the transfer as usual, then keep the result's luminance and the content's
    chroma (:func:`original_colors`): what other tools call ``--original-colors``.

Images are ``ndarray of shape (H, W, 3)``, RGB, 0–255 (naah's convention, see
:mod:`naah.io.images`); luminance images are ``(H, W)`` in the same units. Every
function computes in float64 and returns float32 (the colour-space transforms keep
float64 input float64). Nothing here clips but :func:`original_colors`, which makes
a display image.

The YIQ transform
-----------------
NTSC's YIQ, the colour space Gatys et al. use. Y is the NTSC (and Rec. 601) luma,
``Y = 0.299 R + 0.587 G + 0.114 B``; I and Q are the colour differences
``U = 0.492111 (B - Y)`` and ``V = 0.877283 (R - Y)`` turned by 33°,
``I = V cos 33° - U sin 33°``, ``Q = V sin 33° + U cos 33°``. The FCC's NTSC
standard (1953; 47 CFR 73.682) states the same to two digits,
``I = 0.74 (R - Y) - 0.27 (B - Y)``, ``Q = 0.48 (R - Y) + 0.41 (B - Y)``, and
scikit-image's ``yiq_from_rgb`` is this matrix to 8 digits. To 4 digits::

    [Y]   [0.299   0.587   0.114 ] [R]
    [I] = [0.5959 -0.2746 -0.3213] [G]
    [Q]   [0.2115 -0.5227  0.3112] [B]

:data:`YIQ_FROM_RGB` is built from that definition at full float64 precision, so a
grey ``R = G = B = g`` has ``Y = g`` and ``I = Q = 0`` (to rounding), and
:data:`RGB_FROM_YIQ` is its exact inverse (``np.linalg.inv``).

Luminance images and VGG's mean pixel
-------------------------------------
The network sees a luminance image as ``(Y, Y, Y)`` with the usual mean pixel
subtracted. VGG-19's mean pixel ``(123.68, 116.779, 103.939)`` is not grey: its own
luminance is 117.379, so the network sees ``(Y - 117.379) + (-6.30, +0.60, +13.44)``,
a centred grey image plus a constant colour offset (blue 13.4 levels above the
centred grey, red 6.3 below). :func:`greyscale_mean_pixel` gives the alternative,
``(Y(mean),) * 3``, after which all three channels the network sees are equal.

naah should use the usual mean pixel, for three reasons: it is how VGG saw
greyscale photographs in training (decoded to three equal channels, then centred
with the same RGB mean), so the input is one the network knows; the offset is the
same for the content, the style and the result, so the losses compare like with
like; and preprocessing and deprocessing stay one code path for every run. Either
way, the optimised image has three channels that the gradients pull apart (the
first convolution weighs R, G and B differently), so the result is not grey: take
its luminance (:func:`original_colors` does) and deprocess with the mean it was
preprocessed with.

References
----------
- L. A. Gatys, A. S. Ecker, M. Bethge, A. Hertzmann, E. Shechtman (2017),
  *Controlling Perceptual Factors in Neural Style Transfer*, CVPR, section 5; code
  at github.com/leongatys/NeuralImageSynthesis (``match_color``, modes ``chol``,
  ``pca``, ``sym``).
- L. A. Gatys, M. Bethge, A. Hertzmann, E. Shechtman (2016), *Preserving Color in
  Neural Artistic Style Transfer*, arXiv:1606.05897 (the Cholesky and the Image
  Analogies colour transfer).
- A. Hertzmann, C. E. Jacobs, N. Oliver, B. Curless, D. H. Salesin (2001), *Image
  Analogies*, SIGGRAPH (luminance remapping by mean and standard deviation).
- F. Pitié, A. Kokaram (2007), *The linear Monge-Kantorovitch linear colour mapping
  for example-based colour transfer*, IET CVMP (the ``sym`` map).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "COLOR_MODES",
    "COVARIANCE_EPS",
    "MATCH_MODES",
    "RGB_FROM_YIQ",
    "YIQ_FROM_RGB",
    "ColorControl",
    "Recoloring",
    "combine_luminance",
    "greyscale_mean_pixel",
    "luminance",
    "luminance_as_rgb",
    "match_color",
    "match_luminance",
    "original_colors",
    "rgb_to_yiq",
    "yiq_to_rgb",
]

# The ways to keep the content's colours (the CLI's --color), module docstring.
COLOR_MODES = ("luminance", "histogram", "original")
# match_color's linear maps (the CLI's --color-match); Gatys' code names them so.
MATCH_MODES = ("pca", "chol", "sym")

# Regulariser added to the diagonal of both 3x3 covariances, in grey levels² (0–255
# units): a standard deviation of 0.001 grey levels, 1/83,000 of the variance of
# 8-bit rounding (1/12). It makes a flat image's covariance invertible; on real
# images it moves the matched covariance by about eps·λ_max(ref)/λ_min(image),
# well below float32 precision. (Gatys' code adds 1e-5 to images in [0, 1], which
# is 0.65 grey levels²: large enough to show in the statistics.)
COVARIANCE_EPS = 1e-6

# NTSC luma weights (the FCC's text rounds them to 0.30, 0.59, 0.11; ITU-R BT.601
# keeps them to three digits).
_LUMA = np.array([0.299, 0.587, 0.114])
# Scales of the colour differences B - Y and R - Y (the U and V of YUV), and the
# angle I and Q are turned from them (module docstring: the FCC's 2-digit I and Q
# coefficients are these, rounded).
_U_SCALE, _V_SCALE = 0.492111, 0.877283
_IQ_ANGLE = np.deg2rad(33.0)


def _yiq_matrix() -> np.ndarray:
    u = _U_SCALE * (np.array([0.0, 0.0, 1.0]) - _LUMA)
    v = _V_SCALE * (np.array([1.0, 0.0, 0.0]) - _LUMA)
    cos, sin = np.cos(_IQ_ANGLE), np.sin(_IQ_ANGLE)
    return np.stack([_LUMA, v * cos - u * sin, v * sin + u * cos])


YIQ_FROM_RGB = _yiq_matrix()
RGB_FROM_YIQ = np.linalg.inv(YIQ_FROM_RGB)
YIQ_FROM_RGB.setflags(write=False)
RGB_FROM_YIQ.setflags(write=False)


# --- colour spaces -----------------------------------------------------------------


def rgb_to_yiq(image: npt.ArrayLike) -> np.ndarray:
    """Convert RGB to NTSC YIQ (matrix in the module docstring).

    Parameters
    ----------
    image : array-like of shape (..., 3)
        RGB, usually an (H, W, 3) image in 0–255.

    Returns
    -------
    ndarray of shape (..., 3)
        Y, I, Q in the same units as the input (Y of 0–255 RGB is in 0–255).
        float64 for float64 input, else float32.

    Raises
    ------
    ValueError
        If the last axis is not 3 long or the values are not finite numbers.

    Examples
    --------
    >>> print(rgb_to_yiq([[128.0, 128.0, 128.0], [255.0, 0.0, 0.0]]).round(3))
    [[128.      0.      0.   ]
     [ 76.245 151.955  53.942]]
    """
    rgb = _channels_last(image, "image", "RGB")
    return (rgb @ YIQ_FROM_RGB.T).astype(_result_dtype(image))


def yiq_to_rgb(image: npt.ArrayLike) -> np.ndarray:
    """Convert NTSC YIQ back to RGB: the exact inverse of :func:`rgb_to_yiq`.

    Parameters
    ----------
    image : array-like of shape (..., 3)
        Y, I, Q.

    Returns
    -------
    ndarray of shape (..., 3)
        RGB, not clipped; float64 for float64 input, else float32.

    Raises
    ------
    ValueError
        If the last axis is not 3 long or the values are not finite numbers.

    Examples
    --------
    >>> rgb = np.array([[12.0, 200.0, 90.0]])
    >>> np.allclose(yiq_to_rgb(rgb_to_yiq(rgb)), rgb, atol=1e-10)
    True
    """
    yiq = _channels_last(image, "image", "YIQ")
    return (yiq @ RGB_FROM_YIQ.T).astype(_result_dtype(image))


# --- luminance-only transfer ---------------------------------------------------------


def luminance(image: npt.ArrayLike) -> np.ndarray:
    """The luminance Y of an RGB image (0.299 R + 0.587 G + 0.114 B).

    Parameters
    ----------
    image : array-like of shape (H, W, 3)
        RGB, 0–255.

    Returns
    -------
    ndarray of shape (H, W)
        float32, 0–255 for 0–255 input.

    Examples
    --------
    >>> print(luminance(np.full((1, 2, 3), 200.0)))
    [[200. 200.]]
    """
    return _luminance(_image(image, "image")).astype(np.float32)


def luminance_as_rgb(y: npt.ArrayLike) -> np.ndarray:
    """A luminance image as the network sees it: Y repeated in R, G and B.

    Parameters
    ----------
    y : array-like of shape (H, W)
        Luminance, 0–255.

    Returns
    -------
    ndarray of shape (H, W, 3)
        float32, C-contiguous, all three channels equal to ``y``.

    Examples
    --------
    >>> luminance_as_rgb(np.zeros((4, 5))).shape
    (4, 5, 3)
    """
    plane = _plane(y, "y")
    return np.ascontiguousarray(
        np.repeat(plane[..., np.newaxis], 3, axis=2), np.float32
    )


def match_luminance(
    style_y: npt.ArrayLike, content_y: npt.ArrayLike, *, eps: float = COVARIANCE_EPS
) -> np.ndarray:
    """Give the style's luminance the content's mean and standard deviation.

    Hertzmann et al.'s luminance remapping (Image Analogies, 2001), which Gatys et
    al. (2017, section 5.1) apply before luminance-only transfer::

        Y_S' = σ_C / σ_S · (Y_S − μ_S) + μ_C

    with μ, σ the mean and (population) standard deviation over all pixels, and
    σ_S = sqrt(var_S + eps) so that a flat style image gives a flat μ_C image
    instead of NaN.

    Parameters
    ----------
    style_y, content_y : array-like of shape (H, W)
        Luminance images (sizes may differ), 0–255.
    eps : float, optional
        Added to the style's variance, in grey levels² (:data:`COVARIANCE_EPS`).

    Returns
    -------
    ndarray of style_y's shape
        float32, not clipped.

    Raises
    ------
    ValueError
        If an input is not a finite 2-D array, or ``eps`` is not positive.

    Examples
    --------
    >>> style = np.array([[0.0, 10.0], [20.0, 30.0]])
    >>> out = match_luminance(style, np.array([[100.0, 140.0]]))
    >>> print(round(float(out.mean()), 3), round(float(out.std()), 3))
    120.0 20.0
    """
    style = _plane(style_y, "style_y")
    content = _plane(content_y, "content_y")
    eps = _check_eps(eps)
    scale = content.std() / np.sqrt(style.var() + eps)
    return ((style - style.mean()) * scale + content.mean()).astype(np.float32)


def combine_luminance(y: npt.ArrayLike, chroma_from: npt.ArrayLike) -> np.ndarray:
    """The RGB image whose luminance is ``y`` and whose chroma is ``chroma_from``'s.

    In YIQ: Y from ``y``, I and Q from ``chroma_from``, then back to RGB.

    Parameters
    ----------
    y : array-like of shape (H, W)
        Luminance, 0–255.
    chroma_from : array-like of shape (H, W, 3)
        RGB image, 0–255, of the same height and width, giving I and Q.

    Returns
    -------
    ndarray of shape (H, W, 3)
        float32 RGB, not clipped (a bright Y with strong chroma can leave 0–255).

    Raises
    ------
    ValueError
        If the shapes are wrong or differ, or a value is not finite.

    Examples
    --------
    >>> red = np.zeros((1, 1, 3))
    >>> red[..., 0] = 200.0
    >>> out = combine_luminance(np.full((1, 1), 100.0), red)
    >>> print(rgb_to_yiq(out).round(2), rgb_to_yiq(red).round(2))
    [[[100.   119.18  42.31]]] [[[ 59.8  119.18  42.31]]]
    """
    plane = _plane(y, "y")
    rgb = _image(chroma_from, "chroma_from")
    _same_size(plane.shape, "y", rgb.shape, "chroma_from")
    return _combine(plane, rgb).astype(np.float32)


def original_colors(result: npt.ArrayLike, content: npt.ArrayLike) -> np.ndarray:
    """Keep a result's luminance and give it the content's colours, for display.

    The post-hoc colour swap that other tools call ``--original-colors`` (and
    naah's ``--color original``): the luminance of ``result`` with the I and Q of
    ``content``, clipped to 0–255. It also finishes luminance-only transfer
    (``--color luminance``): pass the result of the run on ``(Y, Y, Y)`` images.

    Parameters
    ----------
    result : array-like of shape (H, W, 3)
        The stylised RGB image, 0–255 (need not be clipped).
    content : array-like of shape (H, W, 3)
        The content image at the result's size.

    Returns
    -------
    ndarray of shape (H, W, 3)
        float32 RGB, clipped to [0, 255].

    Raises
    ------
    ValueError
        If the shapes are wrong or differ, or a value is not finite.

    Examples
    --------
    A grey result given a pure blue content's colours (blue, 275.93 before
    clipping, is clipped):

    >>> grey_result = np.full((2, 2, 3), 50.0)
    >>> content = np.zeros((2, 2, 3))
    >>> content[..., 2] = 255.0
    >>> print(original_colors(grey_result, content)[0, 0].round(2))
    [ 20.93  20.93 255.  ]
    """
    stylised = _image(result, "result")
    colours = _image(content, "content")
    _same_size(stylised.shape, "result", colours.shape, "content")
    combined = _combine(_luminance(stylised), colours)
    return np.clip(combined, 0, 255).astype(np.float32)


def greyscale_mean_pixel(mean_pixel: npt.ArrayLike) -> tuple[float, float, float]:
    """The luminance of a mean pixel, three times: a grey mean for (Y, Y, Y) input.

    The alternative to the usual mean pixel for luminance-only transfer (see the
    module docstring for which naah uses and why).

    Parameters
    ----------
    mean_pixel : array-like of 3 floats
        RGB mean, e.g. VGG-19's ``(123.68, 116.779, 103.939)``.

    Returns
    -------
    tuple of 3 floats
        ``(Y, Y, Y)`` with Y the mean pixel's luminance.

    Examples
    --------
    >>> [round(v, 3) for v in greyscale_mean_pixel((123.68, 116.779, 103.939))]
    [117.379, 117.379, 117.379]
    """
    mean = np.asarray(mean_pixel)
    if (
        mean.shape != (3,)
        or mean.dtype.kind not in "uif"
        or not np.isfinite(mean).all()
    ):
        raise ValueError(
            "mean_pixel must be 3 finite RGB values, e.g. (123.68, 116.779, 103.939); "
            f"got {mean_pixel!r}"
        )
    y = float(_LUMA @ mean.astype(np.float64))
    return (y, y, y)


# --- colour matching -----------------------------------------------------------------


def match_color(
    image: npt.ArrayLike,
    reference: npt.ArrayLike,
    mode: str = "pca",
    *,
    eps: float = COVARIANCE_EPS,
) -> np.ndarray:
    """Recolour ``image`` so its RGB mean and covariance are ``reference``'s.

    Gatys et al.'s colour histogram matching (2017, section 5.2): every pixel
    ``x`` becomes ``A (x − μ_I) + μ_R``, with μ the per-channel means and A a 3x3
    matrix with ``A Σ_I Aᵀ = Σ_R`` (Σ the population covariances of the RGB
    values, ``eps`` added to both diagonals). Any such A is
    ``Σ_R^½ U Σ_I^-½`` with U orthogonal; the modes choose U:

    ``"pca"``
        ``A = Σ_R^½ Σ_I^-½``, symmetric square roots by eigendecomposition
        (``Σ = Q Λ Qᵀ``, ``Σ^½ = Q Λ^½ Qᵀ``): the Image Analogies colour transfer
        (Hertzmann et al. 2001, as named by Gatys et al. 2016) and Gatys' default.
    ``"chol"``
        ``A = L_R L_I⁻¹`` with Cholesky factors ``Σ = L Lᵀ`` (Gatys et al. 2016).
    ``"sym"``
        ``A = Σ_I^-½ (Σ_I^½ Σ_R Σ_I^½)^½ Σ_I^-½``: the symmetric, positive definite
        A, which moves the colours least (the linear Monge–Kantorovich map; Pitié
        & Kokaram 2007).

    Parameters
    ----------
    image : array-like of shape (H, W, 3)
        RGB, 0–255: the image to recolour (the style image, for Gatys' method).
    reference : array-like of shape (H', W', 3)
        RGB, 0–255, any size: the colours to take (the content image).
    mode : {"pca", "chol", "sym"}, optional
        The matrix A, as above (:data:`MATCH_MODES`).
    eps : float, optional
        Added to both covariances' diagonals, in grey levels²
        (:data:`COVARIANCE_EPS`). A flat or otherwise rank-deficient ``image``
        then maps to the reference's mean (plus what variation it has) rather
        than NaN; its covariance cannot reach the reference's.

    Returns
    -------
    ndarray of image's shape
        float32 RGB, not clipped: values can leave 0–255, and clipping would change
        the statistics (:func:`naah.io.images.to_uint8` clips for saving).

    Raises
    ------
    ValueError
        If an image is not a finite (H, W, 3) array of numbers, ``mode`` is
        unknown or ``eps`` is not positive.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> style = rng.uniform(0, 255, (32, 32, 3)) * (1.0, 0.5, 0.2)
    >>> content = rng.uniform(0, 255, (20, 40, 3))
    >>> out = match_color(style, content, mode="pca")
    >>> out.shape, out.dtype
    ((32, 32, 3), dtype('float32'))
    >>> means = out.reshape(-1, 3).mean(0), content.reshape(-1, 3).mean(0)
    >>> bool(np.allclose(*means, atol=1e-3))
    True
    """
    source = _image(image, "image")
    target = _image(reference, "reference")
    if mode not in MATCH_MODES:
        raise ValueError(
            f"mode must be one of {', '.join(map(repr, MATCH_MODES))}; got {mode!r}"
        )
    eps = _check_eps(eps)
    pixels = source.reshape(-1, 3)
    mean_i, cov_i = _mean_and_covariance(pixels, eps)
    mean_r, cov_r = _mean_and_covariance(target.reshape(-1, 3), eps)
    a = _LINEAR_MAPS[mode](cov_i, cov_r)
    matched = (pixels - mean_i) @ a.T + mean_r
    return matched.reshape(source.shape).astype(np.float32)


def _mean_and_covariance(
    pixels: np.ndarray, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    mean = pixels.mean(axis=0)
    centred = pixels - mean
    return mean, centred.T @ centred / len(pixels) + eps * np.eye(3)


def _sqrt_psd(cov: np.ndarray, power: float = 0.5) -> np.ndarray:
    """``cov ** power`` of a symmetric positive (semi)definite matrix."""
    values, vectors = np.linalg.eigh((cov + cov.T) / 2)
    # Eigenvalues of a covariance are >= 0; clip what rounding made negative.
    values = np.maximum(values, np.finfo(np.float64).tiny)
    return (vectors * values**power) @ vectors.T


def _pca_map(cov_i: np.ndarray, cov_r: np.ndarray) -> np.ndarray:
    return _sqrt_psd(cov_r) @ _sqrt_psd(cov_i, -0.5)


def _cholesky_map(cov_i: np.ndarray, cov_r: np.ndarray) -> np.ndarray:
    return np.linalg.cholesky(cov_r) @ np.linalg.inv(np.linalg.cholesky(cov_i))


def _monge_kantorovich_map(cov_i: np.ndarray, cov_r: np.ndarray) -> np.ndarray:
    root, inv_root = _sqrt_psd(cov_i), _sqrt_psd(cov_i, -0.5)
    return inv_root @ _sqrt_psd(root @ cov_r @ root) @ inv_root


_LINEAR_MAPS = {"pca": _pca_map, "chol": _cholesky_map, "sym": _monge_kantorovich_map}


# --- helpers -------------------------------------------------------------------------


def _luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb @ _LUMA


def _combine(y: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    yiq = rgb @ YIQ_FROM_RGB.T
    yiq[..., 0] = y
    return yiq @ RGB_FROM_YIQ.T


def _numbers(values: npt.ArrayLike, name: str) -> np.ndarray:
    """``values`` as a finite float64 array, or a ValueError that names ``name``."""
    array = np.asarray(values)
    if array.dtype.kind not in "uif":
        raise ValueError(f"{name} must hold numbers, got dtype {array.dtype}")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise ValueError(
            f"{name} contains NaN or infinite values; replace them (np.nan_to_num) "
            "first"
        )
    return array


def _channels_last(values: npt.ArrayLike, name: str, space: str) -> np.ndarray:
    shape = np.shape(values)
    if not shape or shape[-1] != 3:
        raise ValueError(
            f"{name} must be an array of shape (..., 3) with {space} in the last "
            f"axis, e.g. (H, W, 3); got shape {shape}"
        )
    return _numbers(values, name)


def _image(values: npt.ArrayLike, name: str) -> np.ndarray:
    shape = np.shape(values)
    if len(shape) != 3 or shape[2] != 3:
        raise ValueError(
            f"{name} must be an RGB image, an array of shape (H, W, 3) in 0–255; "
            f"got shape {shape}"
        )
    if 0 in shape:
        raise ValueError(f"{name} is empty (shape {shape}); it needs pixels")
    return _numbers(values, name)


def _plane(values: npt.ArrayLike, name: str) -> np.ndarray:
    shape = np.shape(values)
    if len(shape) != 2:
        raise ValueError(
            f"{name} must be a luminance image, an array of shape (H, W) in 0–255 "
            f"(naah.color.luminance makes one); got shape {shape}"
        )
    if 0 in shape:
        raise ValueError(f"{name} is empty (shape {shape}); it needs pixels")
    return _numbers(values, name)


def _same_size(
    shape_a: tuple[int, ...], name_a: str, shape_b: tuple[int, ...], name_b: str
) -> None:
    if shape_a[:2] != shape_b[:2]:
        raise ValueError(
            f"{name_a} and {name_b} must have the same height and width; got "
            f"{name_a} {shape_a} and {name_b} {shape_b}; resize one first "
            "(naah.io.images.load_image(..., size=(H, W)))"
        )


def _check_eps(eps: float) -> float:
    if (
        isinstance(eps, bool)
        or not isinstance(eps, int | float | np.integer | np.floating)
        or not np.isfinite(eps)
        or eps <= 0
    ):
        raise ValueError(
            "eps must be a positive number (a variance in grey levels², default "
            f"{COVARIANCE_EPS}); got {eps!r}"
        )
    return float(eps)


def _result_dtype(values: npt.ArrayLike) -> type[np.floating]:
    return np.float64 if np.asarray(values).dtype == np.float64 else np.float32


# -- a run's colour control ----------------------------------------------------------
@dataclass(frozen=True)
class Recoloring:
    """What a colour mode does to one run (:meth:`ColorControl.for_content`).

    Attributes
    ----------
    content : ndarray of shape (H, W, 3)
        The content image as the network sees it.
    style : callable or None
        Turns a style image into what the network sees (None: as it is).
    result : callable or None
        Gives a result (float RGB, 0–255) the content's chroma (None: as it is).
    """

    content: np.ndarray
    style: Callable[[np.ndarray], np.ndarray] | None = None
    result: Callable[[np.ndarray], np.ndarray] | None = None


@dataclass(frozen=True)
class ColorControl:
    """A colour mode of :data:`COLOR_MODES` (or None: the style's colours) and the
    linear map of ``'histogram'`` (:data:`MATCH_MODES`).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> content = rng.uniform(0, 255, (8, 8, 3))
    >>> recoloring = ColorControl("luminance").for_content(content)
    >>> bool(np.allclose(recoloring.content[..., 0], recoloring.content[..., 2]))
    True
    >>> ColorControl(None).for_content(content).result is None
    True
    """

    mode: str | None = None
    match: str = "pca"

    @property
    def sees_luminance(self) -> bool:
        """Whether the network sees luminance images only (then through
        :class:`naah.models.LuminanceView`, whose gradient is the luminance's)."""
        return self.mode == "luminance"

    def for_content(self, content: np.ndarray) -> Recoloring:
        """How a run on ``content`` (at the result's size) is recoloured."""
        if self.mode is None:
            return Recoloring(content)
        return _RECOLORINGS[self.mode](content, self.match)


def _histogram(content: np.ndarray, match: str) -> Recoloring:
    """Section 5.2: the style recoloured to the content's colour statistics."""

    def recolor(style: np.ndarray) -> np.ndarray:
        return np.clip(match_color(style, content, match), 0, 255)

    return Recoloring(content, style=recolor)


def _luminance_only(content: np.ndarray, match: str) -> Recoloring:
    """Section 5.1: luminance images in, the content's chroma given back."""
    content_y = luminance(content)

    def to_luminance(style: np.ndarray) -> np.ndarray:
        return luminance_as_rgb(match_luminance(luminance(style), content_y))

    return Recoloring(luminance_as_rgb(content_y), to_luminance, _chroma_of(content))


def _original(content: np.ndarray, match: str) -> Recoloring:
    """The post-hoc swap: the usual transfer, then the content's chroma."""
    return Recoloring(content, result=_chroma_of(content))


def _chroma_of(content: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    def recolor(result: np.ndarray) -> np.ndarray:
        return original_colors(result, content)

    return recolor


# Each colour mode's Recoloring, by name (COLOR_MODES).
_RECOLORINGS: dict[str, Callable[[np.ndarray, str], Recoloring]] = {
    "luminance": _luminance_only,
    "histogram": _histogram,
    "original": _original,
}
