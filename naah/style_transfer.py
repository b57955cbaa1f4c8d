"""``naah.StyleTransfer``: the report's algorithm behind one class."""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from naah.architecture import CONV_LAYERS, FEATURE_LAYERS
from naah.checkpointing import (
    CHECKPOINT_EVERY,
    Checkpointer,
    history_from_rows,
    read_run,
    sha256_of_file,
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
from naah.io.images import ImageLike, load_image, preprocess, to_uint8
from naah.io.locate import find_weights
from naah.io.weights import VGGWeights, load_weights
from naah.live import JupyterView, chain
from naah.models import POOL_MODES, VGG_19, LuminanceView
from naah.optim import History, IterationRecord, MinimizerState, OptimizerSettings
from naah.problem import LossWeights, StyleProblem
from naah.progress import RunDisplay, interactive
from naah.pyramid import Pyramid, checked_scales, per_scale
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
        The VGG-19 weights; None looks at ``$NAAH_WEIGHTS`` and then naah's cache
        (see ``naah weights download``).
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
        self.runtime = runtime
        # The content image in colour, at the result's size, for the colour modes
        # that give the result the content's chroma.
        self._chroma_source: np.ndarray | None = None
        self._weights = weights
        self._net: VGG_19 | None = None
        self._problem: StyleProblem | None = None

    @property
    def net(self) -> VGG_19:
        """The VGG-19 network, loaded on first use with only the layers needed."""
        if self._net is None:
            weights = self._weights
            if not isinstance(weights, VGGWeights):
                weights = load_weights(
                    find_weights(weights), layers=self._needed_layers()
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
        style: ImageLike,
        *,
        size: int | None = None,
        style_scale: float = 1.0,
    ) -> StyleProblem:
        """Build and compile the loss for one content/style pair.

        Parameters
        ----------
        content, style : path, PIL image or ndarray of shape (H, W, 3)
            RGB in 0–255. Arrays are used at their own size unless ``size`` is given.
        size : int, optional
            Resize the content image to this long edge; the style image is resized
            to ``size * style_scale``.
        style_scale : float
            Scale of the style image relative to the content image's long edge
            (only with ``size``).

        Returns
        -------
        StyleProblem
            ``problem.loss_and_grad(image)`` gives the total loss and its gradient
            for an (H, W, 3) RGB image. The loss is compiled on the first call only:
            later calls (and :meth:`run`) retarget the same problem object at their
            images, whatever their size.
        """
        return self._prepared(
            *self._colored(*self._load_pair(content, style, size, style_scale))
        )

    def _prepared(
        self, content_image: np.ndarray, style_image: np.ndarray
    ) -> StyleProblem:
        """The problem for a pair as the network gets it (after :meth:`_colored`)."""
        if self._problem is None:
            net = self.net if self.color != "luminance" else LuminanceView(self.net)
            self._problem = StyleProblem(
                net,  # type: ignore[arg-type]  # a LuminanceView is a VGG_19 to it
                content_image,
                style_image,
                self.loss_weights,
                backend=self.backend,
                runtime=self.runtime,
            )
        else:
            self._problem.set_images(content_image, style_image)
        return self._problem

    def run(
        self,
        content: ImageLike,
        style: ImageLike,
        *,
        iterations: int | Sequence[int] = 500,
        size: int | None = DEFAULT_SIZE,
        style_scale: float = 1.0,
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
        content, style : path, PIL image or ndarray of shape (H, W, 3)
        iterations : int, or sequence of int with ``scales``
            Iterations (per scale: one value serves every scale).
        size : int or None
            Long edge of the result (default 512); None keeps the content's size.
            Ignored with ``scales``.
        style_scale : float
            The style image is resized to a long edge of ``size * style_scale``.
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
        if live:
            view = JupyterView()  # outside a notebook: an error now, before work
            try:
                return self.run(
                    content, style, iterations=iterations, size=size,
                    style_scale=style_scale, init=init, snapshots=snapshots,
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
                pyramid, content, style, style_scale, init, snapshots, callback,
                progress, checkpoint, checkpoint_every, checkpoint_info,
            )  # fmt: skip
        if not isinstance(iterations, int) or iterations < 0:
            raise ValueError(
                f"iterations must be a non-negative int, got {iterations!r}"
            )
        with self._display(iterations, progress) as display:
            problem = self.prepare(content, style, size=size, style_scale=style_scale)
            return self._start(
                problem, display, content, style, iterations, size, style_scale, init,
                snapshots, callback, checkpoint, checkpoint_every, checkpoint_info,
            )  # fmt: skip

    def _start(
        self,
        problem: StyleProblem,
        display: RunDisplay,
        content: ImageLike,
        style: ImageLike,
        iterations: int,
        size: int | None,
        style_scale: float,
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
                style,
                run={
                    "iterations": iterations,
                    "size": size,
                    "style_scale": style_scale,
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
        style: ImageLike,
        style_scale: float,
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
                problem = self.prepare(
                    content, style, size=size, style_scale=style_scale
                )
                start = (
                    None
                    if previous is None
                    else load_image(previous, size=problem.shape[:2])
                )
                with _tagged_results(history, tag):
                    result = self._start(
                        problem, display, content, style, count, size, style_scale,
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
        style: ImageLike | None = None,
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
        images = transfer._colored(
            *transfer._load_pair(
                _recorded_input(content, inputs["content"], "content", saved.path),
                _recorded_input(style, inputs["style"], "style", saved.path),
                meta["run"]["size"],
                meta["run"]["style_scale"],
            )
        )
        for name, image in zip(("content", "style"), images, strict=True):
            if sha256_of_pixels(image) != inputs[name]["sha256"]:
                raise ValueError(
                    f"the {name} image is not the one the run of {saved.path} used "
                    f"(its pixels at {image.shape[1]}x{image.shape[0]} differ)"
                )
        if pyramid is not None:
            return transfer._resume_pyramid(
                pyramid, saved.path, meta, state, images, save_to, checkpoint_every,
                checkpoint_info, snapshots, callback, progress,
                content=_recorded_input(content, inputs["content"], "content", saved.path),
                style=_recorded_input(style, inputs["style"], "style", saved.path),
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
        images: tuple[np.ndarray, np.ndarray],
        save_to: str | os.PathLike | None,
        checkpoint_every: int,
        checkpoint_info: Mapping[str, Any] | None,
        snapshots: Iterable[int],
        callback: Callable[[IterationRecord, np.ndarray], None] | None,
        progress: bool | None,
        *,
        content: ImageLike,
        style: ImageLike,
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
            pyramid, content, style, meta["run"]["style_scale"], meta["run"]["init"],
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
        style: ImageLike,
        run: dict[str, object],
    ) -> dict[str, object]:
        """The unchanging part of a checkpoint's metadata."""
        return {
            "settings": self.settings,
            "run": run,
            "inputs": {
                "content": _image_identity(content, problem.content_image),
                "style": _image_identity(style, problem.style_image),
                "weights": self._weights_identity(),
            },
        }

    def _weights_identity(self) -> dict[str, object]:
        source = self.net.weights.source
        path = os.path.abspath(source.path)
        digest = source.sha256
        if digest is None and os.path.isfile(path):
            digest = sha256_of_file(path)
        return {"path": path, "sha256": digest, "size": source.size}

    def _colored(
        self, content: np.ndarray, style: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The pair as the network gets it, under :attr:`color`."""
        self._chroma_source = (
            content if self.color in ("luminance", "original") else None
        )
        if self.color == "histogram":
            style = np.clip(match_color(style, content, self.color_match), 0, 255)
        elif self.color == "luminance":
            content_y = luminance(content)
            style = luminance_as_rgb(match_luminance(luminance(style), content_y))
            content = luminance_as_rgb(content_y)
        return content, style

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

    def _load_pair(
        self,
        content: ImageLike,
        style: ImageLike,
        size: int | None,
        style_scale: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        if size is not None and (not isinstance(size, int) or size <= 0):
            raise ValueError(f"size must be a positive int, got {size!r}")
        if not style_scale > 0:
            raise ValueError(f"style_scale must be positive, got {style_scale!r}")
        content_image = load_image(content, long_edge=size)
        style_edge = None if size is None else max(1, round(size * style_scale))
        style_image = load_image(style, long_edge=style_edge)
        return content_image, style_image

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


def _image_identity(given: ImageLike, pixels: np.ndarray) -> dict[str, object]:
    path = os.path.abspath(given) if isinstance(given, (str, os.PathLike)) else None
    return {"path": path, "sha256": sha256_of_pixels(pixels)}


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
