"""Optical flow for video style transfer: estimate, warp, and where to trust it.

Ruder, Dosovitskiy & Brox (2016), *Artistic style transfer for videos*, keep a
stylised video steady by asking each frame to agree with the previous stylised
frame carried along the motion of the input video, except where that motion is
not to be trusted. This module measures the motion (:func:`estimate_flow`,
:func:`estimate_flows`), carries images along it (:func:`warp`) and computes the
weights of trust (:func:`consistency`, :func:`long_term_weights`).

Convention
----------
An image is an ``ndarray of shape (H, W, 3)``, RGB, uint8 or float in 0–255 (naah's
convention, :mod:`naah.io.images`). A flow is an ``ndarray of shape (H, W, 2)``,
float32, ``flow[y, x] = (dx, dy)``: the column offset first, as OpenCV has it. The
flow from image A to image B says, at each pixel p of A, where p's content is in B::

    A(p) ≈ B(p + flow_A→B(p))

which is OpenCV's ``calcOpticalFlow*(prev=A, next=B)``. So *backward* warping an
image of B with the flow from A to B gives an image at A's pixels:
``warp(B, flow_A→B)[p] = B(p + flow_A→B(p)) ≈ A(p)``. To carry the previous
stylised frame x_{i-1} onto frame i, warp it with the flow from frame i to frame
i-1: ``ω = warp(x_{i-1}, flow_i→i-1)``.

The consistency check (Ruder et al., section 3.3)
-------------------------------------------------
Let w = (u, v) be the forward flow, from frame i-1 to frame i, and ŵ = (û, v̂) the
backward flow, from frame i to frame i-1. The forward flow warped to frame i,
``w̃(p) = w(p + ŵ(p))``, should be the opposite of ŵ where nothing was hidden
between the two frames. A pixel p of frame i is a *disocclusion* (its content was
not visible in frame i-1) where::

    |w̃ + ŵ|² > 0.01 (|w̃|² + |ŵ|²) + 0.5

and lies on a *motion boundary* (where the flow is least reliable) where::

    |∇û|² + |∇v̂|² > 0.01 |ŵ|² + 0.002

with ∇ taken by central differences (one-sided at the image's edges, as
``np.gradient``). The weight ``c(p)`` is 0 at disocclusions, at motion boundaries
and where ``p + ŵ(p)`` leaves the image, and 1 elsewhere (:func:`consistency`).

Long-term weights (Ruder et al., section 3.4)
---------------------------------------------
With several earlier frames i - j, j ∈ J, sorted closest first and each with its
weights c_j = c^(i-j, i), a pixel is asked to agree only with the closest frame in
which it was visible::

    c_long_j = max(c_j − Σ_{k ∈ J, k < j} c_k, 0)

(:func:`long_term_weights`). The sum is over the original weights c_k, not over
the already reduced c_long_k.

Flow methods
------------
:data:`FLOW_METHODS`: ``"dis"`` (Kroeger et al. 2016, OpenCV's DIS at its medium
preset; fast, the default), ``"farneback"`` (Farnebäck 2003, polynomial
expansion) and ``"deepflow"`` (Weinzaepfel et al. 2013, the method Ruder et al.
used; from opencv-contrib's ``cv2.optflow``, about 25 times slower than DIS).
Every method sees the frames as 8-bit grey images. The results do not depend on
OpenCV's number of threads, so :func:`estimate_flows` gives the same flows with
any number of processes.

References
----------
- M. Ruder, A. Dosovitskiy, T. Brox (2016), *Artistic style transfer for videos*,
  GCPR, arXiv:1604.08610, sections 3.3 and 3.4.
- N. Sundaram, T. Brox, K. Keutzer (2010), *Dense point trajectories by
  GPU-accelerated large displacement optical flow*, ECCV (the consistency check
  Ruder et al. use).
- T. Kroeger, R. Timofte, D. Dai, L. Van Gool (2016), *Fast Optical Flow using
  Dense Inverse Search*, ECCV.
- G. Farnebäck (2003), *Two-Frame Motion Estimation Based on Polynomial
  Expansion*, SCIA.
- P. Weinzaepfel, J. Revaud, Z. Harchaoui, C. Schmid (2013), *DeepFlow: Large
  displacement optical flow with deep matching*, ICCV.
"""

from __future__ import annotations

import multiprocessing
import operator
import os
import signal
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import cv2

__all__ = [
    "DEFAULT_FLOW",
    "DISOCCLUSION_ABSOLUTE",
    "DISOCCLUSION_RELATIVE",
    "FARNEBACK_PARAMETERS",
    "FLOW_METHODS",
    "MOTION_BOUNDARY_ABSOLUTE",
    "MOTION_BOUNDARY_RELATIVE",
    "consistency",
    "estimate_flow",
    "estimate_flows",
    "long_term_weights",
    "warp",
]

# The optical flow methods (module docstring); DIS is fast enough for every pair of
# frames of a long video.
FLOW_METHODS = ("dis", "farneback", "deepflow")
DEFAULT_FLOW = "dis"

# Ruder, Dosovitskiy & Brox (2016), section 3.3, after Sundaram, Brox & Keutzer
# (2010): a disocclusion where |w̃ + ŵ|² > 0.01 (|w̃|² + |ŵ|²) + 0.5, a motion
# boundary where |∇û|² + |∇v̂|² > 0.01 |ŵ|² + 0.002 (flows in pixels).
DISOCCLUSION_RELATIVE = 0.01
DISOCCLUSION_ABSOLUTE = 0.5
MOTION_BOUNDARY_RELATIVE = 0.01
MOTION_BOUNDARY_ABSOLUTE = 0.002

# cv2.calcOpticalFlowFarneback's parameters: those of OpenCV's dense optical flow
# tutorial (0.5, 3, 15, 3, 5, 1.2, 0), with two more pyramid levels (each half the
# size of the one above), which follow motions 4 times larger. OpenCV builds fewer
# levels on images too small for them.
FARNEBACK_PARAMETERS: dict[str, Any] = {
    "pyr_scale": 0.5,
    "levels": 5,
    "winsize": 15,
    "iterations": 3,
    "poly_n": 5,
    "poly_sigma": 1.2,
    "flags": 0,
}

# warp works on bands of rows of about this many pixels, so that each of its float64
# temporaries (128 KiB) stays in a core's cache. Measured on a 512x512x3 image: 11 ms
# with bands of 2**13 to 2**15 pixels, 30 ms with the whole image at once.
WARP_BAND_PIXELS = 2**14

# Seconds a spawned worker takes to start: it imports naah, and so PyTensor
# (measured 1 to 3.5 s on a 2-core machine). estimate_flows uses a pool only when
# the pairs take longer than that alone.
WORKER_START_SECONDS = 3.0


# --- estimating the flow -------------------------------------------------------------


def estimate_flow(
    first: npt.ArrayLike, second: npt.ArrayLike, method: str = DEFAULT_FLOW
) -> np.ndarray:
    """The optical flow from ``first`` to ``second``.

    Parameters
    ----------
    first, second : array-like of shape (H, W, 3) or (H, W)
        RGB (or grey) images, uint8 or float in 0–255, of the same shape. They are
        rounded and clipped to 8-bit grey images for the flow method.
    method : {"dis", "farneback", "deepflow"}
        The flow method (:data:`FLOW_METHODS`, module docstring).

    Returns
    -------
    ndarray of shape (H, W, 2)
        float32, ``flow[y, x] = (dx, dy)``: ``first(p) ≈ second(p + flow(p))``.

    Raises
    ------
    ValueError
        If the method is unknown, the images differ in shape, are not (H, W, 3) or
        (H, W), or hold values that are not finite; or for ``"deepflow"`` when
        OpenCV lacks its contrib modules.

    Examples
    --------
    A smooth random texture, moved 3 pixels to the right:

    >>> from scipy.ndimage import gaussian_filter
    >>> rng = np.random.default_rng(0)
    >>> texture = gaussian_filter(rng.uniform(0, 255, (80, 90, 3)), (1.5, 1.5, 0))
    >>> texture = 255 * (texture - texture.min()) / np.ptp(texture)
    >>> first, second = texture[10:74, 10:80], texture[10:74, 7:77]
    >>> flow = estimate_flow(first, second)
    >>> flow.shape, flow.dtype
    ((64, 70, 2), dtype('float32'))
    >>> dx, dy = np.median(flow[8:-8, 8:-8], axis=(0, 1))
    >>> bool(abs(dx - 3) < 0.1 and abs(dy) < 0.1)
    True
    """
    _check_method(method)
    first_grey = _grey(first, "first")
    second_grey = _grey(second, "second")
    if first_grey.shape != second_grey.shape:
        raise ValueError(
            f"first is {np.shape(first)} and second is {np.shape(second)}: the flow "
            "is between images of the same size; resize one to the other's"
        )
    return _flow_of_grey(first_grey, second_grey, method)


def estimate_flows(
    frames: Sequence[npt.ArrayLike],
    pairs: Sequence[tuple[int, int]],
    method: str = DEFAULT_FLOW,
    *,
    processes: int | None = None,
) -> dict[tuple[int, int], np.ndarray]:
    """The flows between pairs of frames, computed in parallel processes.

    Parameters
    ----------
    frames : sequence of array-like of shape (H, W, 3) or (H, W)
        The video's frames, uint8 or float in 0–255.
    pairs : sequence of (int, int)
        ``(a, b)`` asks for the flow from ``frames[a]`` to ``frames[b]``; ask for
        ``(a, b)`` and ``(b, a)`` for both directions.
    method : {"dis", "farneback", "deepflow"}
        The flow method (:func:`estimate_flow`).
    processes : int, optional
        How many worker processes, at most one per pair. By default this process
        times the first pair and uses one process per CPU core only when that is
        faster than going on alone, a worker's start included
        (:data:`WORKER_START_SECONDS`): DeepFlow or a long video, not a short
        clip with DIS. With 1, the flows are computed in this process. Workers are started with ``"spawn"`` (never ``fork``: this process
        may hold threads and compiled state), are sent only the two 8-bit grey
        frames of their pair, and run OpenCV on one thread each; this process's
        OpenCV settings are left as they are. The flows are the same for any
        number of processes. As with any ``"spawn"`` pool, a script that calls
        this with more than one process must keep its top-level code under
        ``if __name__ == "__main__":``, which the workers do not run (a
        RuntimeError says so). Ctrl-C stops the pool at once.

    Returns
    -------
    dict of (int, int) to ndarray of shape (H, W, 2)
        The flow of each pair, float32, as :func:`estimate_flow` gives it.

    Raises
    ------
    ValueError
        If the method is unknown, a pair is not two indices of ``frames``, the
        frames of a pair differ in shape, or ``processes`` is not a positive int;
        and as :func:`estimate_flow`.

    Examples
    --------
    >>> from scipy.ndimage import gaussian_filter
    >>> rng = np.random.default_rng(0)
    >>> texture = gaussian_filter(rng.uniform(0, 255, (80, 90, 3)), (1.5, 1.5, 0))
    >>> texture = 255 * (texture - texture.min()) / np.ptp(texture)
    >>> frames = [texture[10:74, 10:80], texture[10:74, 7:77]]
    >>> flows = estimate_flows(frames, [(0, 1), (1, 0)], processes=1)
    >>> sorted(flows)
    [(0, 1), (1, 0)]
    >>> dx, dy = np.median(flows[1, 0][8:-8, 8:-8], axis=(0, 1))  # back to the left
    >>> bool(abs(dx + 3) < 0.1 and abs(dy) < 0.1)
    True
    """
    _check_method(method)
    pairs = list(dict.fromkeys(_pair(pair, len(frames)) for pair in pairs))
    if processes is not None:
        processes = _positive_int(processes, "processes")
    needed = sorted({index for pair in pairs for index in pair})
    grey = {index: _grey(frames[index], f"frames[{index}]") for index in needed}
    for a, b in pairs:
        if grey[a].shape != grey[b].shape:
            raise ValueError(
                f"frames[{a}] is {np.shape(frames[a])} and frames[{b}] is "
                f"{np.shape(frames[b])}: the flow is between frames of the same "
                "size; resize the video's frames to one size"
            )
    if not pairs:
        return {}
    flows: dict[tuple[int, int], np.ndarray] = {}
    if processes is None:
        # Time the first pair here, then use a pool only if it pays for itself.
        started = time.perf_counter()
        a, b = pairs[0]
        flows[a, b] = _flow_of_grey(grey[a], grey[b], method)
        processes = _pays_off(time.perf_counter() - started, len(pairs) - 1)
    rest = [pair for pair in pairs if pair not in flows]
    processes = min(processes, len(rest))
    if processes <= 1:
        flows.update({(a, b): _flow_of_grey(grey[a], grey[b], method) for a, b in rest})
        return {pair: flows[pair] for pair in pairs}
    flows.update(_in_pool(grey, rest, method, processes))
    return {pair: flows[pair] for pair in pairs}


def _pays_off(seconds_per_pair: float, pairs: int) -> int:
    """How many processes to use for ``pairs`` more pairs: one per core when
    that is faster than this process alone, counting each worker's start."""
    cores = os.cpu_count() or 1
    alone = seconds_per_pair * pairs
    pooled = WORKER_START_SECONDS + alone / max(1, min(cores, pairs))
    return min(cores, pairs) if pooled < alone else 1


def _in_pool(
    grey: dict[int, np.ndarray],
    pairs: list[tuple[int, int]],
    method: str,
    processes: int,
) -> dict[tuple[int, int], np.ndarray]:
    """The flows of ``pairs`` from a pool of spawned processes; on Ctrl-C the
    pool stops at once (its pending pairs cancelled)."""
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=processes, mp_context=context, initializer=_quiet_worker
    )
    try:
        flows = pool.map(
            _flow_of_grey,
            [grey[a] for a, _ in pairs],
            [grey[b] for _, b in pairs],
            [method] * len(pairs),
        )
        return dict(zip(pairs, flows, strict=True))
    except BrokenProcessPool:
        raise RuntimeError(
            "a worker process computing the optical flow stopped: the workers "
            "start by importing your script again, so keep its top-level code "
            'under if __name__ == "__main__": (or pass processes=1)'
        ) from None
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _cv2() -> Any:
    """OpenCV, imported on first use: ``import naah`` does not pay for it."""
    import cv2

    return cv2


def _quiet_worker() -> None:
    """A worker's initialiser: the workers share the cores, one OpenCV thread
    each, and leave Ctrl-C to this process (which stops the pool), so that a
    terminal's SIGINT to the whole group prints no worker's traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _one_opencv_thread()


def _one_opencv_thread() -> None:
    """A worker's initialiser: the workers share the cores, one thread each."""
    _cv2().setNumThreads(1)


def _flow_of_grey(first: np.ndarray, second: np.ndarray, method: str) -> np.ndarray:
    """The flow from ``first`` to ``second``, two checked (H, W) uint8 images.

    Module level: :func:`estimate_flows`' worker processes call it.
    """
    if method == "farneback":
        flow = _cv2().calcOpticalFlowFarneback(
            first, second, None, **FARNEBACK_PARAMETERS
        )
    else:
        # None: OpenCV allocates the flow (its type stubs leave that case out).
        flow = _dense_flow(method).calc(first, second, None)  # type: ignore[call-overload]
    return np.asarray(flow, dtype=np.float32)


def _dense_flow(method: str) -> cv2.DenseOpticalFlow:
    """OpenCV's estimator for ``"dis"`` or ``"deepflow"``."""
    if method == "dis":
        return _cv2().DISOpticalFlow.create(_cv2().DISOPTICAL_FLOW_PRESET_MEDIUM)
    _check_method(method)
    return _cv2().optflow.createOptFlow_DeepFlow()


def _check_method(method: str) -> None:
    if method not in FLOW_METHODS:
        raise ValueError(
            f"unknown flow method {method!r}: choose one of "
            + ", ".join(repr(m) for m in FLOW_METHODS)
        )
    if method == "deepflow" and getattr(_cv2(), "optflow", None) is None:
        raise ValueError(
            "method='deepflow' needs OpenCV's contrib modules (cv2.optflow): "
            "pip install opencv-contrib-python-headless (in place of "
            "opencv-python-headless), or use method='dis'"
        )


def _pair(pair: tuple[int, int], count: int) -> tuple[int, int]:
    try:
        a, b = (operator.index(i) for i in pair)
    except (TypeError, ValueError):
        raise ValueError(
            f"pair {pair!r}: give each pair as two frame indices (a, b), for the "
            "flow from frames[a] to frames[b]"
        ) from None
    if not (0 <= a < count and 0 <= b < count):
        raise ValueError(
            f"pair {pair!r}: there are {count} frames, so the indices are 0 to "
            f"{count - 1}"
        )
    return a, b


def _positive_int(value: int, name: str) -> int:
    try:
        number = operator.index(value)
    except TypeError:
        raise ValueError(f"{name}={value!r}: give a whole number, 1 or more") from None
    if number < 1:
        raise ValueError(f"{name}={value!r}: give a whole number, 1 or more")
    return number


def _grey(image: npt.ArrayLike, name: str) -> np.ndarray:
    """``image``, an (H, W, 3) RGB or (H, W) grey image, as 8-bit grey."""
    array = np.asarray(image)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3):
        raise ValueError(
            f"{name} has shape {array.shape}: give an RGB image of shape (H, W, 3) "
            "or a grey one of shape (H, W)"
        )
    if array.dtype != np.uint8:
        if not np.issubdtype(array.dtype, np.number) or np.issubdtype(
            array.dtype, np.complexfloating
        ):
            raise ValueError(f"{name} is {array.dtype}: give real numbers in 0–255")
        if not np.isfinite(array).all():
            raise ValueError(f"{name} holds NaN or infinite values: give 0–255")
        array = np.clip(np.rint(array), 0, 255).astype(np.uint8)
    array = np.ascontiguousarray(array)
    if array.ndim == 3:
        array = _cv2().cvtColor(array, _cv2().COLOR_RGB2GRAY)
    return array


# --- warping -------------------------------------------------------------------------


def warp(image: npt.ArrayLike, flow: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Backward-warp ``image`` along ``flow`` with bilinear interpolation.

    ``warped[p] = image(p + flow[p])``, image values between pixels interpolated
    bilinearly (exactly, in float64). To carry the previous stylised frame x_{i-1}
    onto frame i, use the backward flow, from frame i to frame i-1:
    ``ω, inside = warp(x_{i-1}, estimate_flow(frame_i, frame_{i-1}))``.

    Parameters
    ----------
    image : array-like of shape (H, W, C) or (H, W)
        The image to sample (any channels: an RGB image, a flow, weights).
    flow : array-like of shape (H, W, 2)
        ``flow[y, x] = (dx, dy)``: where, in ``image``, to sample pixel (x, y).

    Returns
    -------
    warped : ndarray of the image's shape
        float32.
    inside : ndarray of shape (H, W)
        bool: False where ``p + flow[p]`` lies outside the image (outside
        [0, W-1] × [0, H-1]); there ``warped`` holds the value at the nearest point
        of the image's border.

    Raises
    ------
    ValueError
        If the flow is not (H, W, 2) with the image's H and W, or either holds
        values that are not finite.

    Examples
    --------
    >>> image = np.arange(12.0).reshape(3, 4)
    >>> flow = np.zeros((3, 4, 2))
    >>> flow[..., 0] = 0.5  # half a pixel to the right
    >>> warped, inside = warp(image, flow)
    >>> print(warped)
    [[ 0.5  1.5  2.5  3. ]
     [ 4.5  5.5  6.5  7. ]
     [ 8.5  9.5 10.5 11. ]]
    >>> print(inside[0])
    [ True  True  True False]
    """
    pixels = _finite(image, "image")
    offsets = _finite(flow, "flow")
    if pixels.ndim not in (2, 3):
        raise ValueError(
            f"image has shape {pixels.shape}: give one of shape (H, W, C) or (H, W)"
        )
    height, width = pixels.shape[:2]
    if offsets.shape != (height, width, 2):
        raise ValueError(
            f"flow has shape {offsets.shape} and image {pixels.shape}: give a flow "
            f"of shape ({height}, {width}, 2), (dx, dy) at each pixel of the image"
        )
    planes = pixels if pixels.ndim == 3 else pixels[..., None]
    channels = [
        planes[..., c].astype(np.float64).ravel() for c in range(planes.shape[2])
    ]
    warped = np.empty(planes.shape, dtype=np.float32)
    inside = np.empty((height, width), dtype=bool)
    # A band of rows at a time: the dozen temporaries per pixel stay in the cache
    # (at 512x512, whole-image temporaries made warp 2 to 3 times slower).
    band = max(1, WARP_BAND_PIXELS // max(width, 1))
    for top in range(0, height, band):
        rows = slice(top, min(top + band, height))
        inside[rows] = _bilinear(channels, offsets[rows], top, height, warped[rows])
    return warped.reshape(pixels.shape), inside


def _bilinear(
    channels: list[np.ndarray],
    offsets: np.ndarray,
    top: int,
    height: int,
    out: np.ndarray,
) -> np.ndarray:
    """Sample the (H*W,) float64 ``channels`` at the rows from ``top`` on, moved by
    ``offsets`` (rows, W, 2), into ``out`` (rows, W, C); return where inside."""
    rows, width = offsets.shape[:2]
    x = np.arange(width, dtype=np.float64) + offsets[..., 0]
    y = np.arange(top, top + rows, dtype=np.float64)[:, None] + offsets[..., 1]
    inside = (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)
    x0, fx = _cell(x, width)
    y0, fy = _cell(y, height)
    x1 = np.minimum(x0 + 1, width - 1)
    y1 = np.minimum(y0 + 1, height - 1)
    # The four neighbours' flat indices and bilinear weights, then one channel at a
    # time: np.take on a 1-D plane is several times faster than indexing (H*W, C).
    corners = [
        (y0 * width + x0, (1 - fx) * (1 - fy)),
        (y0 * width + x1, fx * (1 - fy)),
        (y1 * width + x0, (1 - fx) * fy),
        (y1 * width + x1, fx * fy),
    ]
    sample, total = np.empty((rows, width)), np.empty((rows, width))
    for channel, plane in enumerate(channels):
        total[...] = 0.0
        for index, weight in corners:
            plane.take(index, out=sample)
            sample *= weight
            total += sample
        out[..., channel] = total
    return inside


def _cell(coordinate: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The pixel left of (above) each coordinate, clamped into the image, and the
    fraction of the way to the next one: 0 to 1 (1 on the last pixel)."""
    clamped = np.clip(coordinate, 0, size - 1)
    start = np.clip(np.floor(clamped), 0, max(size - 2, 0)).astype(np.intp)
    return start, clamped - start


def _finite(values: npt.ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values)
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(
        array.dtype, np.complexfloating
    ):
        raise ValueError(f"{name} is {array.dtype}: give an array of real numbers")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} holds NaN or infinite values: give finite numbers")
    return array


# --- where to trust the flow ---------------------------------------------------------


def consistency(forward: npt.ArrayLike, backward: npt.ArrayLike) -> np.ndarray:
    """Ruder et al.'s weights c: 1 where the flow is trusted, 0 elsewhere.

    At the pixels of the second frame of the pair (frame i): 0 at disocclusions, at
    motion boundaries and where ``p + backward(p)`` leaves the image; the
    inequalities are in the module docstring.

    Parameters
    ----------
    forward : array-like of shape (H, W, 2)
        w, the flow from frame i-1 to frame i.
    backward : array-like of shape (H, W, 2)
        ŵ, the flow from frame i to frame i-1.

    Returns
    -------
    ndarray of shape (H, W)
        float32, 0 or 1.

    Raises
    ------
    ValueError
        If the flows are not both (H, W, 2) of the same shape or hold values that
        are not finite.

    Examples
    --------
    A translation by 2 pixels to the right: the two columns on the left of frame i
    came from outside frame i-1.

    >>> forward = np.zeros((3, 5, 2))
    >>> forward[..., 0] = 2.0
    >>> print(consistency(forward, -forward))
    [[0. 0. 1. 1. 1.]
     [0. 0. 1. 1. 1.]
     [0. 0. 1. 1. 1.]]
    """
    w = _flow(forward, "forward")
    w_hat = _flow(backward, "backward")
    if w.shape != w_hat.shape:
        raise ValueError(
            f"forward has shape {w.shape} and backward {w_hat.shape}: give the two "
            "flows between the same pair of frames"
        )
    w_tilde, inside = warp(w, w_hat)
    w_tilde = w_tilde.astype(np.float64)
    w_hat = w_hat.astype(np.float64)
    squared = np.sum(w_hat**2, axis=-1)
    disoccluded = np.sum((w_tilde + w_hat) ** 2, axis=-1) > (
        DISOCCLUSION_RELATIVE * (np.sum(w_tilde**2, axis=-1) + squared)
        + DISOCCLUSION_ABSOLUTE
    )
    boundary = (
        _squared_gradient(w_hat)
        > MOTION_BOUNDARY_RELATIVE * squared + MOTION_BOUNDARY_ABSOLUTE
    )
    return (inside & ~disoccluded & ~boundary).astype(np.float32)


def _squared_gradient(flow: np.ndarray) -> np.ndarray:
    """|∇u|² + |∇v|² of a flow (u, v): central differences, one-sided at the edges
    (``np.gradient``); none along an axis one pixel long."""
    total = np.zeros(flow.shape[:2])
    for axis in (0, 1):
        if flow.shape[axis] > 1:
            total += np.sum(np.gradient(flow, axis=axis) ** 2, axis=-1)
    return total


def _flow(values: npt.ArrayLike, name: str) -> np.ndarray:
    array = _finite(values, name)
    if array.ndim != 3 or array.shape[2] != 2:
        raise ValueError(
            f"{name} has shape {array.shape}: give a flow of shape (H, W, 2), "
            "(dx, dy) at each pixel"
        )
    return array


def long_term_weights(weights: Sequence[npt.ArrayLike]) -> list[np.ndarray]:
    """Ruder et al.'s long-term weights: each pixel kept for its closest frame.

    ``c_long_j = max(c_j − Σ_{k<j} c_k, 0)`` (module docstring), with the earlier
    frames sorted closest first.

    Parameters
    ----------
    weights : sequence of array-like of shape (H, W)
        The weights c_j of the earlier frames (:func:`consistency`), closest frame
        first.

    Returns
    -------
    list of ndarray of shape (H, W)
        float32, one for each of ``weights``; an empty list for none.

    Raises
    ------
    ValueError
        If the weights are not all 2-D of one shape or hold values that are not
        finite.

    Examples
    --------
    >>> closest, further = np.array([[1.0, 0.0, 0.0]]), np.array([[1.0, 1.0, 0.0]])
    >>> for c in long_term_weights([closest, further]):
    ...     print(c)
    [[1. 0. 0.]]
    [[0. 1. 0.]]
    """
    arrays = [_finite(c, f"weights[{j}]") for j, c in enumerate(weights)]
    for j, c in enumerate(arrays):
        if c.ndim != 2 or c.shape != arrays[0].shape:
            raise ValueError(
                f"weights[{j}] has shape {c.shape} and weights[0] {arrays[0].shape}: "
                "give (H, W) weights of one frame size"
            )
    result = []
    earlier = np.zeros(arrays[0].shape if arrays else (0, 0))
    for c in arrays:
        result.append(np.maximum(c - earlier, 0).astype(np.float32))
        earlier = earlier + c
    return result
