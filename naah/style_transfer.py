"""``naah.StyleTransfer``: the report's algorithm behind one class."""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from naah.architecture import CONV_LAYERS, FEATURE_LAYERS
from naah.checkpointing import (
    CHECKPOINT_EVERY,
    Checkpointer,
    history_from_rows,
    read_run,
    sha256_of_pixels,
)
from naah.color import (
    COLOR_MODES,
    MATCH_MODES,
    luminance,
    luminance_as_rgb,
    match_color,
    match_luminance,
    original_colors,
)
from naah.io.files import sha256_of_file
from naah.io.images import ImageLike, load_image, preprocess, to_uint8
from naah.io.locate import find_weights
from naah.io.sources import ensure_weights
from naah.io.weights import VGGWeights, load_weights
from naah.live import JupyterView, chain
from naah.models import POOL_MODES, VGG_19, LuminanceView
from naah.optim import History, IterationRecord, MinimizerState, OptimizerSettings
from naah.problem import LossWeights, StyleProblem, blend_weights
from naah.progress import RunDisplay, interactive
from naah.pyramid import Pyramid, checked_scales, per_scale
from naah.regions import GUIDE_MODES, Region
from naah.runs import RunDiverged, RunInterrupted, StopRun, StyleResult, optimize
from naah.runtime import DEFAULT as DEFAULT_RUNTIME
from naah.runtime import Runtime

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_BETA",
    "DEFAULT_CONTENT_LAYERS",
    "DEFAULT_SIZE",
    "DEFAULT_STYLE_LAYERS",
    "INITS",
    "RunDiverged",
    "RunInterrupted",
    "StopRun",
    "StyleResult",
    "StyleTransfer",
    "optimize",
    "style_edge",
]

# Gatys et al. (2015), section 2: content from conv4_2; style from conv1_1 … conv5_1
# with equal weights w_l = 1/5.
DEFAULT_CONTENT_LAYERS = ("conv4_2",)
DEFAULT_STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
# α/β = 1e-3, the ratio of Gatys et al.'s Figure 3 (second row).
DEFAULT_ALPHA = 1.0
DEFAULT_BETA = 1e3
DEFAULT_SIZE = 512
INITS = ("noise", "content", "style")


class StyleTransfer:
    """Neural style transfer (Gatys, Ecker & Bethge 2015) with VGG-19.

    Minimises ``alpha * L_content + beta * L_style (+ tv_weight * TV)`` over the image
    (see :mod:`naah.losses` for the definitions).

    Parameters
    ----------
    weights : str, PathLike, VGGWeights or None
        The VGG-19 weights; None looks at ``$NAAH_WEIGHTS`` and then naah's cache,
        and downloads them there on first use (see ``download``).
    content_layers : sequence of str
        Default ``("conv4_2",)``.
    style_layers : sequence of str or mapping of str to float
        Layers and their weights w_l; a sequence gets equal weights summing to 1.
        Default conv1_1, conv2_1, conv3_1, conv4_1, conv5_1.
    alpha, beta : float
        Content and style weights (default 1 and 1e3: α/β = 1e-3). ``beta=0`` gives
        a content reconstruction (the report's Figure 7; start from noise),
        ``alpha=0`` a pure texture synthesis.
    tv_weight : float
        Total-variation weight; 0 (off) by default, as in the paper.
    pooling : {'max', 'avg'}
    optimizer : {'lbfgs', 'adam', 'gd'}
    learning_rate, beta1, beta2 : float
        For Adam and GD, in pixel units.
    bounds : bool
        Keep pixels within 0–255 during optimisation.
    seed : int
        Seed of the white-noise initial image.
    backend : {'c', 'numba', 'jax'}
        See :mod:`naah.compile`.
    color : {None, 'luminance', 'histogram', 'original'}
        Colour control (Gatys et al. 2017, section 5; :mod:`naah.color`):
        ``'luminance'`` transfers style between luminance images (the style's Y
        matched to the content's mean and deviation; the network sees the image's
        Y in three channels, minus the usual mean pixel) and gives the result the
        content's chroma; ``'histogram'`` recolours the style image so that its RGB
        mean and covariance are the content's (clipped to 0–255 for the network),
        then transfers as usual; ``'original'`` transfers as usual and then swaps
        in the content's chroma. None (default): the style's colours.
    color_match : {'pca', 'chol', 'sym'}
        The linear map of ``color='histogram'`` (:func:`naah.color.match_color`).
    download : bool, optional
        When no weights are found (``weights=None``), download them into the
        cache on first use (:func:`naah.io.sources.ensure_weights`: verified,
        several sources). Default yes, unless ``$NAAH_NO_DOWNLOAD`` is set; False
        refuses at once, saying how to get the file.
    runtime : Runtime, optional
        Worker threads and memory policy, applied for the length of each
        evaluation and run (:mod:`naah.runtime`); default ``Runtime()``.

    Examples
    --------
    >>> st = StyleTransfer("imagenet-vgg-verydeep-19.mat")  # doctest: +SKIP
    >>> result = st.run("tubingen.jpg", "starry_night.jpg", iterations=500)  # doctest: +SKIP
    >>> result.save("tubingen_starry.png")  # doctest: +SKIP
    """

    def __init__(
        self,
        weights: str | os.PathLike | VGGWeights | None = None,
        *,
        content_layers: Sequence[str] = DEFAULT_CONTENT_LAYERS,
        style_layers: Sequence[str] | Mapping[str, float] = DEFAULT_STYLE_LAYERS,
        alpha: float = DEFAULT_ALPHA,
        beta: float = DEFAULT_BETA,
        tv_weight: float = 0.0,
        pooling: str = "max",
        optimizer: str = "lbfgs",
        learning_rate: float = 1.0,
        beta1: float = 0.9,
        beta2: float = 0.999,
        bounds: bool = True,
        seed: int = 0,
        backend: str = "c",
        color: str | None = None,
        color_match: str = "pca",
        download: bool | None = None,
        runtime: Runtime = DEFAULT_RUNTIME,
    ):
        self.loss_weights = LossWeights(
            alpha=_non_negative(alpha, "alpha"),
            beta=_non_negative(beta, "beta"),
            style_layers=_style_layer_weights(style_layers),
            content_layers=_layer_names(content_layers, "content"),
            tv_weight=_non_negative(tv_weight, "tv_weight"),
        )
        _something_to_minimise(self.loss_weights)
        self.optimizer = OptimizerSettings(
            optimizer, learning_rate, beta1, beta2, bounds=bounds
        )
        if pooling not in POOL_MODES:
            raise ValueError(
                f"pooling must be {' or '.join(map(repr, POOL_MODES))}, got {pooling!r}"
            )
        self.pooling = pooling
        self.seed = seed
        self.backend = backend
        if color is not None and color not in COLOR_MODES:
            raise ValueError(
                f"color must be None or one of {COLOR_MODES}, got {color!r}"
            )
        if color_match not in MATCH_MODES:
            raise ValueError(
                f"color_match must be one of {MATCH_MODES}, got {color_match!r}"
            )
        self.color = color
        self.color_match = color_match
        self.download = download
        self.runtime = runtime
        # The content image in colour, at the result's size, for the colour modes
        # that give the result the content's chroma.
        self._chroma_source: np.ndarray | None = None
        self._weights = weights
        self._net: VGG_19 | None = None
        self._problem: StyleProblem | None = None  # the one used last
        self._problems: dict[int, StyleProblem] = {}  # by number of regions

    @property
    def net(self) -> VGG_19:
        """The VGG-19 network, loaded on first use with only the layers needed."""
        if self._net is None:
            weights = self._weights
            if not isinstance(weights, VGGWeights):
                weights = load_weights(
                    ensure_weights(
                        weights, download=self.download, progress=interactive()
                    ),
                    layers=self._needed_layers(),
                )
            self._net = VGG_19(weights, pooling=self.pooling)
        return self._net

    def _needed_layers(self) -> tuple[str, ...]:
        used = [*self.loss_weights.content_layers, *self.loss_weights.style_layers]
        deepest = max(FEATURE_LAYERS.index(n) for n in used) if used else 0
        return tuple(n for n in FEATURE_LAYERS[: deepest + 1] if n in CONV_LAYERS)

    def prepare(
        self,
        content: ImageLike,
        style: StyleInput = None,
        *,
        size: int | None = None,
        style_scale: float | Sequence[float] = 1.0,
        style_blend: Sequence[float] | None = None,
        regions: Sequence[Region] | None = None,
        guide_mode: str = "simple",
    ) -> StyleProblem:
        """Build and compile the loss for one content image and its styles.

        Parameters
        ----------
        content : path, PIL image or ndarray of shape (H, W, 3)
            RGB in 0–255. Arrays are used at their own size unless ``size`` is given.
        style : image, list of images, or None
            One style image, several (a list or tuple, blended by ``style_blend``),
            or None with ``regions``.
        size : int, optional
            Resize the content image to this long edge; each style image is resized
            to ``size * style_scale``.
        style_scale : float or sequence of float
            Scale of the style images relative to the content image's long edge
            (only with ``size``): one for all, or one per style.
        style_blend : sequence of float, optional
            Weights of several styles (Gatys et al. 2017): normalised to sum 1,
            equal by default. Each style layer's target is the blend of the styles'
            Gram matrices; ``(1, 0)`` gives exactly the first style's loss.
        regions : sequence of naah.regions.Region, optional
            Spatial control (Gatys et al. 2017, section 4): each region of the
            content image takes the style of its own image (guided Gram matrices).
        guide_mode : {'simple', 'inside'}
            How guides are brought to each layer (:mod:`naah.regions`).

        Returns
        -------
        StyleProblem
            ``problem.loss_and_grad(image)`` gives the total loss and its gradient
            for an (H, W, 3) RGB image. The loss is compiled on the first call only
            (per number of regions): later calls (and :meth:`run`) retarget the
            same problem object at their images, whatever their size.

        Examples
        --------
        >>> st = StyleTransfer()  # doctest: +SKIP
        >>> problem = st.prepare("tubingen.jpg", ["starry_night.jpg", "shipwreck.jpg"],
        ...                      size=256, style_blend=(0.7, 0.3))  # doctest: +SKIP
        """
        inputs = _Inputs.of(style, style_scale, style_blend, regions, guide_mode)
        return self._prepare_inputs(content, inputs, size)

    def _prepare_inputs(
        self, content: ImageLike, inputs: _Inputs, size: int | None
    ) -> StyleProblem:
        return self._prepared(*self._colored(*self._load_inputs(content, inputs, size)))

    def _prepared(self, content_image: np.ndarray, inputs: _Inputs) -> StyleProblem:
        """The problem for images as the network gets them (after :meth:`_colored`);
        one compiled problem per number of regions."""
        key = len(inputs.regions)
        problem = self._problems.get(key)
        styles = None if inputs.regions else list(inputs.styles)
        blend = None if inputs.regions else inputs.blend
        regions = inputs.regions or None
        if problem is None:
            net = self.net if self.color != "luminance" else LuminanceView(self.net)
            problem = StyleProblem(
                net,  # type: ignore[arg-type]  # a LuminanceView is a VGG_19 to it
                content_image,
                styles,
                self.loss_weights,
                backend=self.backend,
                runtime=self.runtime,
                blend=blend,
                regions=regions,
                guide_mode=inputs.guide_mode,
            )
            self._problems[key] = problem
        else:
            problem.set_images(content_image, styles, blend=blend, regions=regions,
                               guide_mode=inputs.guide_mode)  # fmt: skip
        self._problem = problem
        return problem

    def run(
        self,
        content: ImageLike,
        style: StyleInput = None,
        *,
        iterations: int | Sequence[int] = 500,
        size: int | None = DEFAULT_SIZE,
        style_scale: float | Sequence[float] = 1.0,
        style_blend: Sequence[float] | None = None,
        regions: Sequence[Region] | None = None,
        guide_mode: str = "simple",
        init: str | np.ndarray = "noise",
        snapshots: Iterable[int] = (),
        callback: Callable[[IterationRecord, np.ndarray], None] | None = None,
        progress: bool | None = None,
        checkpoint: str | os.PathLike | None = None,
        checkpoint_every: int = CHECKPOINT_EVERY,
        checkpoint_info: Mapping[str, Any] | None = None,
        scales: Sequence[int] | None = None,
        live: bool = False,
    ) -> StyleResult:
        """Transfer the style of ``style`` onto ``content``.

        Parameters
        ----------
        content : path, PIL image or ndarray of shape (H, W, 3)
        style : image, list of images, or None
            One style image; several (a list or tuple), blended by ``style_blend``;
            or None with ``regions``.
        iterations : int, or sequence of int with ``scales``
            Iterations (per scale: one value serves every scale).
        size : int or None
            Long edge of the result (default 512); None keeps the content's size.
            Ignored with ``scales``.
        style_scale : float or sequence of float
            Each style image is resized to a long edge of ``size * style_scale``
            (one value, or one per style).
        style_blend, regions, guide_mode : optional
            Several styles' weights, and spatial control: see :meth:`prepare`.
        init : {'noise', 'content', 'style'} or ndarray of shape (H, W, 3)
            Initial image: seeded white noise (as Gatys et al.), the content image,
            the style image resized to the content's shape, or a given image.
        snapshots : iterable of int
            Iterations at which to keep a copy of the image (0 is the start).
        callback : callable(record, image), optional
            Called after every iteration with the :class:`IterationRecord` and the
            current (H, W, 3) float image. Raising :class:`StopRun` from it ends the
            run there, with status ``'stopped'``.
        progress : bool, optional
            Show the compile time, then a progress bar (tqdm). Default: when
            someone is watching (a notebook, or a terminal on stderr), not in
            scripts and logs (:func:`naah.progress.interactive`).
        checkpoint : path, optional
            Write a checkpoint there (:mod:`naah.checkpointing`) every
            ``checkpoint_every`` iterations and at least once a minute, at the end,
            on KeyboardInterrupt and when the divergence guard gives up;
            :meth:`resume` continues from it.
        checkpoint_every : int
        checkpoint_info : mapping, optional
            More JSON metadata for the checkpoint, under ``"info"`` (``naah
            stylize`` stores its output paths there).
        scales : sequence of int, optional
            Coarse to fine (Gatys et al. 2017, section 6): long edges, increasing,
            e.g. ``(256, 512, 1024)``. Each scale starts from the previous result,
            upsampled; the style image is resampled at each (``style_scale`` kept
            relative); the one compiled problem serves them all. The history's
            ``scale`` column says which; iteration numbers run on across scales,
            and each scale's start is recorded at the number where the previous
            one ended. Checkpoints record the scale and resume there.
        live : bool
            Show the run in the Jupyter notebook as it goes: the image and the loss
            curve, one output each, updated in place every 5 iterations and drawn
            once more at the end (:class:`naah.live.JupyterView`; pass one as
            ``callback`` for other settings). Outside a notebook it raises
            :class:`naah.live.NotebookRequiredError`, before any work.

        Returns
        -------
        StyleResult
            Its ``image`` is the iterate of lowest loss.

        Raises
        ------
        RunInterrupted
            On KeyboardInterrupt: ``error.result`` holds the best image so far.
        RunDiverged
            When the loss stays NaN or infinite (:mod:`naah.optim`):
            ``error.result`` holds the best image seen.

        Examples
        --------
        >>> st = StyleTransfer()  # doctest: +SKIP
        >>> result = st.run("tubingen.jpg", "starry_night.jpg", iterations=300,
        ...                 checkpoint="tubingen.ckpt")  # doctest: +SKIP
        >>> result = StyleTransfer.resume("tubingen.ckpt", iterations=600)  # doctest: +SKIP
        """
        if isinstance(init, str) and init not in INITS:
            raise ValueError(f"init must be one of {INITS} or an image, got {init!r}")
        inputs = _Inputs.of(style, style_scale, style_blend, regions, guide_mode)
        if live:
            view = JupyterView()  # outside a notebook: an error now, before work
            try:
                return self.run(
                    content, style, iterations=iterations, size=size,
                    style_scale=style_scale, style_blend=style_blend,
                    regions=regions, guide_mode=guide_mode, init=init,
                    snapshots=snapshots,
                    callback=chain(callback, view), progress=progress,
                    checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                    checkpoint_info=checkpoint_info, scales=scales,
                )  # fmt: skip
            finally:
                view.close()  # also when interrupted: it shows where the run stopped
        if scales is not None:
            pyramid = Pyramid(
                checked_scales(scales), per_scale(iterations, len(scales))
            )
            return self._run_pyramid(
                pyramid, content, inputs, style_scale, init, snapshots, callback,
                progress, checkpoint, checkpoint_every, checkpoint_info,
            )  # fmt: skip
        if not isinstance(iterations, int) or iterations < 0:
            raise ValueError(
                f"iterations must be a non-negative int, got {iterations!r}"
            )
        with self._display(iterations, progress) as display:
            problem = self._prepare_inputs(content, inputs, size)
            return self._start(
                problem, display, content, inputs, iterations, size, style_scale, init,
                snapshots, callback, checkpoint, checkpoint_every, checkpoint_info,
            )  # fmt: skip

    def _start(
        self,
        problem: StyleProblem,
        display: RunDisplay,
        content: ImageLike,
        inputs: _Inputs,
        iterations: int,
        size: int | None,
        style_scale: float | Sequence[float],
        init: str | np.ndarray,
        snapshots: Iterable[int],
        callback: Callable[[IterationRecord, np.ndarray], None] | None,
        checkpoint: str | os.PathLike | None,
        checkpoint_every: int,
        checkpoint_info: Mapping[str, Any] | None,
        pyramid: dict[str, Any] | None = None,
        start: np.ndarray | None = None,
    ) -> StyleResult:
        """The part of :meth:`run` after :meth:`prepare`; ``pyramid`` is the
        coarse-to-fine part of the checkpoint's metadata and ``start`` the
        start image (default: from ``init``)."""
        if start is None:
            start = self.initial_image(init, problem)
        initial = preprocess(start, problem.mean_pixel)
        checkpointer = None
        if checkpoint is not None:
            description = self._description(
                problem,
                content,
                inputs,
                run={
                    "iterations": iterations,
                    "size": size,
                    "style_scale": (
                        style_scale
                        if isinstance(style_scale, int | float)
                        else list(style_scale)
                    ),
                    "init": init if isinstance(init, str) else "image",
                    **(pyramid or {}),
                },
            )
            description["info"] = dict(checkpoint_info or {})
            checkpointer = Checkpointer(checkpoint, description, checkpoint_every)
        return self._optimize(
            problem,
            initial,
            iterations,
            snapshots=snapshots,
            callback=callback,
            display=display,
            checkpointer=checkpointer,
        )

    def _run_pyramid(
        self,
        pyramid: Pyramid,
        content: ImageLike,
        inputs: _Inputs,
        style_scale: float | Sequence[float],
        init: str | np.ndarray,
        snapshots: Iterable[int],
        callback: Callable[[IterationRecord, np.ndarray], None] | None,
        progress: bool | None,
        checkpoint: str | os.PathLike | None,
        checkpoint_every: int,
        checkpoint_info: Mapping[str, Any] | None,
        *,
        stage: int = 0,
        earlier: History | None = None,
        previous: np.ndarray | None = None,
    ) -> StyleResult:
        """Coarse to fine from scale ``stage`` on (see :meth:`run`'s ``scales``),
        after the ``earlier`` records and from the ``previous`` scale's image."""
        history = History(earlier or ())
        kept: dict[int, np.ndarray] = {}
        wanted = set(snapshots)
        result: StyleResult | None = None
        for k in range(stage, len(pyramid.scales)):
            size, count, offset = (
                pyramid.scales[k],
                pyramid.iterations[k],
                pyramid.offset(k),
            )
            tag = pyramid.tagger(k, history)
            with self._display(count, progress) as display:
                problem = self._prepare_inputs(content, inputs, size)
                start = (
                    None
                    if previous is None
                    else load_image(previous, size=problem.shape[:2])
                )
                with _tagged_results(history, tag):
                    result = self._start(
                        problem, display, content, inputs, count, size, style_scale,
                        init, [i - offset for i in wanted if offset <= i <= offset + count],
                        pyramid.callback(callback, tag), checkpoint, checkpoint_every,
                        checkpoint_info, pyramid=pyramid.meta(k, history), start=start,
                    )  # fmt: skip
            history.extend(tag(r) for r in result.history)
            kept.update({i + offset: v for i, v in result.snapshots.items()})
            previous = result.image
        assert result is not None
        return _tagged(result, history, kept)

    @classmethod
    def resume(
        cls,
        checkpoint: str | os.PathLike,
        *,
        iterations: int | Sequence[int] | None = None,
        weights: str | os.PathLike | VGGWeights | None = None,
        content: ImageLike | None = None,
        style: StyleInput = None,
        save_to: str | os.PathLike | None = None,
        checkpoint_every: int = CHECKPOINT_EVERY,
        checkpoint_info: Mapping[str, Any] | None = None,
        snapshots: Iterable[int] = (),
        callback: Callable[[IterationRecord, np.ndarray], None] | None = None,
        progress: bool | None = None,
        runtime: Runtime = DEFAULT_RUNTIME,
    ) -> StyleResult:
        """Continue a run from its checkpoint, with the same iterates as if it had
        never stopped.

        The settings, the image size and the optimiser's whole state come from the
        checkpoint; the weights and images are read again from their paths (or
        those given here) and must be the ones the run used: their checksums are
        compared before anything is compiled.

        Parameters
        ----------
        checkpoint : path
            Written by :meth:`run` (or ``naah stylize``).
        iterations : int, optional
            The new total (default: the run's own). A finished run can be continued
            with a larger one. For a coarse-to-fine run: per scale (one value
            serves every scale).
        weights, content, style : optional
            Where the run's inputs are now, if not at their recorded paths (arrays
            given to :meth:`run` must be given again).
        save_to : path, optional
            Where to write the checkpoints of the continued run (default
            ``checkpoint`` itself).
        checkpoint_info : mapping, optional
            Updates the checkpoint's ``"info"`` metadata (see :meth:`run`).
        checkpoint_every, snapshots, callback, progress, runtime
            As for :meth:`run` and :class:`StyleTransfer`.

        Returns
        -------
        StyleResult
            Its history includes the iterations before the checkpoint.

        Raises
        ------
        naah.io.checkpoint.CheckpointError
            If the file is not a complete checkpoint.
        ValueError
            If an input differs from the run's, or ``iterations`` is below the
            iterations already done.

        Examples
        --------
        >>> result = StyleTransfer.resume("tubingen.ckpt", iterations=1000)  # doctest: +SKIP
        """
        saved, state = read_run(checkpoint)
        meta = saved.metadata
        done = int(meta["iteration"])
        pyramid = Pyramid.of(meta["run"], iterations)
        if pyramid is not None:
            total = pyramid.iterations[meta["run"]["scale_index"]]
        else:
            total = int(meta["run"]["iterations"]) if iterations is None else iterations
        if not isinstance(total, int) or total < done:
            raise ValueError(
                f"the checkpoint {saved.path} is at iteration {done}; iterations "
                f"(the new total) must be at least that, got {iterations!r}"
            )
        inputs = meta["inputs"]
        weights = _recorded_input(weights, inputs["weights"], "weights", saved.path)
        if not isinstance(weights, VGGWeights):
            _check_file_checksum(weights, inputs["weights"], saved.path)
        transfer = cls.from_settings(meta["settings"], weights=weights, runtime=runtime)
        content = _recorded_input(content, inputs["content"], "content", saved.path)
        recorded = _recorded_inputs(style, inputs, meta["run"], saved.path)
        content_image, loaded = transfer._colored(
            *transfer._load_inputs(content, recorded, meta["run"]["size"])
        )
        _check_pixels(content_image, inputs["content"], "content image", saved.path)
        if loaded.regions:
            for region, identity in zip(loaded.regions, inputs["regions"], strict=True):
                _check_pixels(
                    np.asarray(region.style), identity["style"],
                    f"style image of region {region.name!r}", saved.path,
                )  # fmt: skip
        else:
            for k, (image, identity) in enumerate(
                zip(loaded.styles, inputs.get("styles", [inputs["style"]]), strict=True)
            ):
                _check_pixels(image, identity, f"style image {k + 1}", saved.path)
        images = (content_image, loaded)
        if pyramid is not None:
            return transfer._resume_pyramid(
                pyramid, saved.path, meta, state, images, save_to, checkpoint_every,
                checkpoint_info, snapshots, callback, progress,
                content=content, inputs=recorded,
            )  # fmt: skip
        with transfer._display(total, progress, initial=done) as display:
            problem = transfer._prepared(*images)
            return transfer._continue(
                saved.path, meta, state, problem, display, total, save_to,
                checkpoint_every, checkpoint_info, snapshots, callback,
            )  # fmt: skip

    def _resume_pyramid(
        self,
        pyramid: Pyramid,
        path: Path,
        meta: dict[str, Any],
        state: MinimizerState,
        images: tuple[np.ndarray, _Inputs],
        save_to: str | os.PathLike | None,
        checkpoint_every: int,
        checkpoint_info: Mapping[str, Any] | None,
        snapshots: Iterable[int],
        callback: Callable[[IterationRecord, np.ndarray], None] | None,
        progress: bool | None,
        *,
        content: ImageLike,
        inputs: _Inputs,
    ) -> StyleResult:
        """:meth:`resume` of a coarse-to-fine run: this scale, then the next ones."""
        k = int(meta["run"]["scale_index"])
        earlier = history_from_rows(meta["run"]["earlier_history"])
        tag = pyramid.tagger(k, earlier)
        count, offset = pyramid.iterations[k], pyramid.offset(k)
        wanted = set(snapshots)
        meta = {**meta, "run": {**meta["run"], **pyramid.meta(k, earlier)}}
        done = int(meta["iteration"])
        with self._display(count, progress, initial=done) as display:
            problem = self._prepared(*images)
            with _tagged_results(earlier, tag):
                result = self._continue(
                    path, meta, state, problem, display, count, save_to,
                    checkpoint_every, checkpoint_info,
                    [i - offset for i in wanted if offset <= i <= offset + count],
                    pyramid.callback(callback, tag),
                )  # fmt: skip
        history = History([*earlier, *(tag(r) for r in result.history)])
        if k + 1 == len(pyramid.scales):
            return _tagged(
                result, history, {i + offset: v for i, v in result.snapshots.items()}
            )
        info = {**meta.get("info", {}), **(checkpoint_info or {})}
        rest = self._run_pyramid(
            pyramid, content, inputs, meta["run"]["style_scale"], meta["run"]["init"],
            wanted, callback, progress, path if save_to is None else save_to,
            checkpoint_every, info, stage=k + 1, earlier=history, previous=result.image,
        )  # fmt: skip
        rest.snapshots = {
            **{i + offset: v for i, v in result.snapshots.items()},
            **rest.snapshots,
        }
        return rest

    def _continue(
        self,
        path: Path,
        meta: dict[str, Any],
        state: MinimizerState,
        problem: StyleProblem,
        display: RunDisplay,
        total: int,
        save_to: str | os.PathLike | None,
        checkpoint_every: int,
        checkpoint_info: Mapping[str, Any] | None,
        snapshots: Iterable[int],
        callback: Callable[[IterationRecord, np.ndarray], None] | None,
    ) -> StyleResult:
        """The part of :meth:`resume` after :meth:`prepare`."""
        description = {k: meta[k] for k in ("settings", "run", "inputs")}
        description["info"] = {**meta.get("info", {}), **(checkpoint_info or {})}
        description["run"] = {**description["run"], "iterations": total}
        checkpointer = Checkpointer(
            path if save_to is None else save_to, description, checkpoint_every
        )
        return self._optimize(
            problem,
            None,
            total,
            snapshots=snapshots,
            callback=callback,
            display=display,
            checkpointer=checkpointer,
            state=state,
        )

    def _display(
        self, iterations: int, progress: bool | None, initial: int = 0
    ) -> RunDisplay:
        show = interactive() if progress is None else progress
        what = "loading and compiling" if self._problem is None else "starting"
        return RunDisplay(iterations, show, initial=initial, what=what)

    def _optimize(
        self,
        problem: StyleProblem,
        initial: np.ndarray | None,
        iterations: int,
        *,
        snapshots: Iterable[int],
        callback: Callable[[IterationRecord, np.ndarray], None] | None,
        display: RunDisplay,
        checkpointer: Checkpointer | None,
        state: MinimizerState | None = None,
    ) -> StyleResult:
        source = self._chroma_source
        if callback is not None and source is not None:
            user_callback = callback

            def callback(record: IterationRecord, image: np.ndarray) -> None:
                user_callback(record, original_colors(image, source))

        try:
            result = optimize(
                problem,
                initial,
                iterations,
                self.optimizer,
                snapshots=snapshots,
                callback=callback,
                bar=display,
                state=state,
                checkpointer=checkpointer,
            )
        except (RunInterrupted, RunDiverged) as stopped:
            if stopped.result is not None:
                stopped.result = self._recolored(stopped.result)
            raise
        return self._recolored(result)

    @property
    def settings(self) -> dict[str, object]:
        """Every keyword of this transfer but ``weights`` and ``runtime``, as plain
        JSON values (see :meth:`from_settings`)."""
        w = self.loss_weights
        o = self.optimizer
        return {
            "content_layers": list(w.content_layers),
            "style_layers": dict(w.style_layers),
            "alpha": w.alpha,
            "beta": w.beta,
            "tv_weight": w.tv_weight,
            "pooling": self.pooling,
            "optimizer": o.method,
            "learning_rate": o.learning_rate,
            "beta1": o.beta1,
            "beta2": o.beta2,
            "bounds": o.bounds,
            "seed": self.seed,
            "backend": self.backend,
            "color": self.color,
            "color_match": self.color_match,
        }

    @classmethod
    def from_settings(
        cls,
        settings: Mapping[str, object],
        *,
        weights: str | os.PathLike | VGGWeights | None = None,
        runtime: Runtime = DEFAULT_RUNTIME,
    ) -> StyleTransfer:
        """A transfer with the keywords of :attr:`settings`."""
        return cls(weights, runtime=runtime, **settings)  # type: ignore[arg-type]

    def _description(
        self,
        problem: StyleProblem,
        content: ImageLike,
        inputs: _Inputs,
        run: dict[str, object],
    ) -> dict[str, object]:
        """The unchanging part of a checkpoint's metadata."""
        described: dict[str, object] = {
            "content": _image_identity(content, problem.content_image),
            "weights": self.net.weights.source.identity(),
            "guide_mode": inputs.guide_mode,
        }
        if inputs.regions:
            regions = [
                _region_identity(given, used)
                for given, used in zip(inputs.regions, problem.regions, strict=True)
            ]
            described["regions"] = regions
            described["style"] = regions[0]["style"]
        else:
            styles = [
                _image_identity(given, used)
                for given, used in zip(inputs.styles, problem.style_images, strict=True)
            ]
            described["style"] = styles[0]
            described["styles"] = styles
            described["style_blend"] = (
                None if inputs.blend is None else list(inputs.blend)
            )
        return {"settings": self.settings, "run": run, "inputs": described}

    def _colored(
        self, content: np.ndarray, inputs: _Inputs
    ) -> tuple[np.ndarray, _Inputs]:
        """The images as the network gets them, under :attr:`color`."""
        self._chroma_source = (
            content if self.color in ("luminance", "original") else None
        )
        if self.color == "histogram":

            def recolor(style: np.ndarray) -> np.ndarray:
                return np.clip(match_color(style, content, self.color_match), 0, 255)
        elif self.color == "luminance":
            content_y = luminance(content)

            def recolor(style: np.ndarray) -> np.ndarray:
                return luminance_as_rgb(match_luminance(luminance(style), content_y))

            content = luminance_as_rgb(content_y)
        else:
            return content, inputs
        return content, inputs.with_styles(recolor)

    def _recolored(self, result: StyleResult) -> StyleResult:
        """``result`` with the content's chroma, for the colour modes that want it."""
        source = self._chroma_source
        if source is None:
            return result

        def swap(image: np.ndarray) -> np.ndarray:
            return to_uint8(original_colors(image, source))

        result.image = swap(result.image)
        if result.last_image is not None:
            result.last_image = swap(result.last_image)
        result.snapshots = {k: swap(v) for k, v in result.snapshots.items()}
        return result

    def _load_inputs(
        self, content: ImageLike, inputs: _Inputs, size: int | None
    ) -> tuple[np.ndarray, _Inputs]:
        """The content image at ``size`` and each style at its scale of it."""
        if size is not None and (not isinstance(size, int) or size <= 0):
            raise ValueError(f"size must be a positive int, got {size!r}")
        content_image = load_image(content, long_edge=size)
        return content_image, inputs.loaded(size)

    def _load_pair(
        self,
        content: ImageLike,
        style: ImageLike,
        size: int | None,
        style_scale: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """One content and one style image, loaded as :meth:`prepare` does."""
        content_image, inputs = self._load_inputs(
            content, _Inputs.of(style, style_scale, None, None, "simple"), size
        )
        return content_image, inputs.styles[0]

    def initial_image(
        self, init: str | ImageLike, problem: StyleProblem, seed: int | None = None
    ) -> np.ndarray:
        """The start image for ``problem``, (H, W, 3) float32 RGB in 0–255.

        ``init`` is 'noise' (uniform white noise seeded with ``seed``, default the
        transfer's), 'content', 'style' (resized to the content's shape) or an image.
        """
        shape = problem.shape
        if isinstance(init, str):
            if init == "noise":
                rng = np.random.default_rng(self.seed if seed is None else seed)
                return rng.uniform(0, 255, shape).astype(np.float32)
            if init == "content":
                return problem.content_image
            if init == "style":
                return load_image(problem.style_image, size=shape[:2])
            raise ValueError(f"init must be one of {INITS} or an image, got {init!r}")
        image = load_image(init)
        if image.shape != shape:
            image = load_image(image, size=shape[:2])
        return image


# One style image, several (a list or tuple), or None (with regions).
StyleInput = ImageLike | Sequence[ImageLike] | None


@dataclass(frozen=True)
class _Inputs:
    """The styles of a run: images and their scales, blend, or regions."""

    styles: tuple[Any, ...]
    scales: tuple[float, ...]
    blend: tuple[float, ...] | None
    regions: tuple[Region, ...]
    guide_mode: str

    @classmethod
    def of(
        cls,
        style: StyleInput,
        style_scale: float | Sequence[float],
        style_blend: Sequence[float] | None,
        regions: Sequence[Region] | None,
        guide_mode: str,
    ) -> _Inputs:
        """Checked: every mistake is a ValueError here, before any work."""
        styles = tuple(style) if isinstance(style, list | tuple) else (
            () if style is None else (style,))  # fmt: skip
        areas = tuple(regions or ())
        if styles and areas:
            raise ValueError(
                "give style images or regions (each with its own style), not both"
            )
        if not styles and not areas:
            raise ValueError("give a style image, several, or regions")
        if not all(isinstance(r, Region) for r in areas):
            raise ValueError("regions must be naah.regions.Region objects")
        count = len(styles) or len(areas)
        scales = _style_scales(style_scale, count)
        if style_blend is not None and areas:
            raise ValueError("style_blend is for several style images, not regions")
        blend = None
        if style_blend is not None or len(styles) > 1:
            blend = blend_weights(style_blend, len(styles), name="style_blend")
        if guide_mode not in GUIDE_MODES:
            raise ValueError(
                f"guide_mode must be one of {GUIDE_MODES}, got {guide_mode!r}"
            )
        return cls(styles, scales, blend, areas, guide_mode)

    def loaded(self, size: int | None) -> _Inputs:
        """Each style image loaded at ``size`` times its scale (its own size
        without ``size``)."""

        def edge(scale: float) -> int | None:
            return None if size is None else style_edge(size, scale)

        if self.regions:
            regions = tuple(
                replace(r, style=load_image(r.style, long_edge=edge(scale)))
                for r, scale in zip(self.regions, self.scales, strict=True)
            )
            return replace(self, regions=regions)
        styles = tuple(
            load_image(st, long_edge=edge(scale))
            for st, scale in zip(self.styles, self.scales, strict=True)
        )
        return replace(self, styles=styles)

    def with_styles(self, change: Callable[[np.ndarray], np.ndarray]) -> _Inputs:
        """The same inputs with ``change`` applied to every style image."""
        if self.regions:
            regions = tuple(
                replace(r, style=change(np.asarray(r.style))) for r in self.regions
            )
            return replace(self, regions=regions)
        return replace(self, styles=tuple(change(np.asarray(st)) for st in self.styles))

    @property
    def images(self) -> tuple[Any, ...]:
        """The style images, of the regions too."""
        return tuple(r.style for r in self.regions) if self.regions else self.styles


def style_edge(size: int, style_scale: float) -> int:
    """The long edge a style image is resized to for a content ``size``.

    Examples
    --------
    >>> style_edge(512, 0.5)
    256
    """
    return max(1, round(size * style_scale))


def _style_scales(
    style_scale: float | Sequence[float], count: int
) -> tuple[float, ...]:
    if isinstance(style_scale, int | float):
        values: tuple[float, ...] = (float(style_scale),) * count
    else:
        values = tuple(float(v) for v in style_scale)
        if len(values) != count:
            raise ValueError(
                f"style_scale has {len(values)} values for {count} style images; give "
                "one for all, or one per style"
            )
    if not all(0 < v < math.inf for v in values):
        raise ValueError(
            f"style_scale must be positive and finite, got {style_scale!r}"
        )
    return values


def _image_identity(given: ImageLike, pixels: np.ndarray) -> dict[str, object]:
    path = os.path.abspath(given) if isinstance(given, (str, os.PathLike)) else None
    return {"path": path, "sha256": sha256_of_pixels(pixels)}


def _region_identity(given: Region, used: Region) -> dict[str, object]:
    def path(value: object) -> str | None:
        return os.path.abspath(value) if isinstance(value, str | os.PathLike) else None

    return {
        "name": given.name,
        "weight": float(given.weight),
        "guide": path(given.guide),
        "guide_sha256": sha256_of_pixels(np.asarray(used.guide, np.float32)),
        "style": _image_identity(given.style, np.asarray(used.style)),
        "style_guide": path(given.style_guide),
    }


def _recorded_inputs(
    style: StyleInput, inputs: Mapping[str, Any], run: Mapping[str, Any], path: Path
) -> _Inputs:
    """The styles of a checkpoint's run: ``style`` if given, else the recorded paths."""
    guide_mode = inputs.get("guide_mode", "simple")
    if "regions" in inputs:
        if style is not None:
            raise ValueError(f"the run of {path} has regions: give no style images")
        regions = []
        for k, recorded in enumerate(inputs["regions"]):
            what = f"region {recorded.get('name') or k + 1}"
            for key in ("guide", "style"):
                source = (
                    recorded[key] if key == "guide" else recorded["style"].get("path")
                )
                if source is None:
                    raise ValueError(
                        f"the {key} of {what} of {path} was an array: resume cannot "
                        "read it again; run StyleTransfer.resume with the same run"
                    )
            regions.append(Region(
                recorded["guide"], recorded["style"]["path"], recorded["style_guide"],
                recorded["weight"], recorded["name"],
            ))  # fmt: skip
        return _Inputs.of(None, run["style_scale"], None, regions, guide_mode)
    recorded_styles = inputs.get("styles", [inputs["style"]])
    if style is None:
        styles = [
            _recorded_input(None, identity, f"style image {k + 1}", path)
            for k, identity in enumerate(recorded_styles)
        ]
    else:
        styles = list(style) if isinstance(style, list | tuple) else [style]
    blend = inputs.get("style_blend")
    return _Inputs.of(styles, run["style_scale"], blend, None, guide_mode)


def _check_pixels(
    image: np.ndarray, identity: Mapping[str, Any], what: str, path: Path
) -> None:
    if sha256_of_pixels(image) != identity["sha256"]:
        raise ValueError(
            f"the {what} is not the one the run of {path} used (its pixels at "
            f"{image.shape[1]}x{image.shape[0]} differ)"
        )


def _recorded_input(
    given: Any, recorded: Mapping[str, Any], what: str, checkpoint: Path
) -> Any:
    """The input given to :meth:`StyleTransfer.resume`, else the recorded path."""
    if given is not None:
        return given
    if recorded.get("path") is None:
        raise ValueError(
            f"the run of {checkpoint} was given its {what} as an array: pass it "
            f"again ({what}=...)"
        )
    return recorded["path"]


def _check_file_checksum(
    path: str | os.PathLike | None, recorded: Mapping[str, Any], checkpoint: Path
) -> None:
    """Refuse weights other than the run's, before they are loaded."""
    want = recorded.get("sha256")
    file = find_weights(path)
    if want is not None and sha256_of_file(file) != want:
        raise ValueError(
            f"the weights file {file} is not the one the run of {checkpoint} used "
            f"({recorded.get('path')}, SHA-256 {want[:12]}…)"
        )


@contextlib.contextmanager
def _tagged_results(
    earlier: History, tag: Callable[[IterationRecord], IterationRecord]
) -> Iterator[None]:
    """Give the result of an interrupted or diverged scale the whole history."""
    try:
        yield
    except (RunInterrupted, RunDiverged) as stopped:
        partial = stopped.result
        if partial is not None:
            history = History([*earlier, *(tag(r) for r in partial.history)])
            stopped.result = _tagged(partial, history, partial.snapshots)
        raise


def _tagged(
    result: StyleResult, history: History, snapshots: dict[int, np.ndarray]
) -> StyleResult:
    """``result`` of the last scale run with the whole run's ``history``."""
    return replace(
        result,
        history=history,
        snapshots=snapshots,
        best_iteration=len(history) - len(result.history) + result.best_iteration,
    )


def _non_negative(value: float, name: str) -> float:
    value = float(value)
    if not 0 <= value < math.inf:
        raise ValueError(f"{name} must be a finite non-negative number, got {value}")
    return value


def _something_to_minimise(weights: LossWeights) -> None:
    content = weights.alpha > 0 and weights.content_layers
    style = weights.beta > 0 and any(weights.style_layers.values())
    if not (content or style or weights.tv_weight > 0):
        raise ValueError(
            "nothing to minimise: alpha (with content layers), beta (with style "
            "layers of positive weight) and tv_weight are all zero; give one term "
            "a positive weight"
        )


def _layer_names(names: str | Iterable[str], kind: str) -> tuple[str, ...]:
    names = (names,) if isinstance(names, str) else tuple(names)
    for name in names:
        if name not in FEATURE_LAYERS:
            raise ValueError(
                f"unknown {kind} layer {name!r}; choose from VGG-19's layers up to "
                f"pool5: {', '.join(FEATURE_LAYERS)}"
            )
    return names


def _style_layer_weights(
    style_layers: str | Iterable[str] | Mapping[str, float],
) -> dict[str, float]:
    if isinstance(style_layers, Mapping):
        names = _layer_names(list(style_layers), "style")
        weights = {n: _non_negative(style_layers[n], f"weight of {n}") for n in names}
    else:
        names = _layer_names(style_layers, "style")
        weights = {n: 1.0 / len(names) for n in names}
    return weights
