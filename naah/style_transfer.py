"""``naah.StyleTransfer``: the report's algorithm behind one class.

The class composes; the parts decide. Its settings are a
:class:`naah.settings.Settings`; a call to :meth:`StyleTransfer.run` becomes one
:class:`naah.request.RunRequest`; coarse to fine is :mod:`naah.pyramid`, colour
control a :class:`naah.color.ColorControl`, the loss a
:class:`naah.problem.StyleProblem`, the optimisation :func:`naah.runs.optimize`
and a checkpoint's description a :class:`naah.checkpointing.RunDescription`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from naah.architecture import (
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_STYLE_LAYERS,
    FEATURE_LAYERS,
)
from naah.checkpointing import CHECKPOINT_EVERY, load_run
from naah.io.images import ImageLike
from naah.io.weights import VGGWeights
from naah.live import JupyterView, chain
from naah.models import VGG_19
from naah.optim import OptimizerSettings
from naah.plan import sized
from naah.problem import LossWeights, StyleProblem
from naah.pyramid import run_request
from naah.regions import Region
from naah.request import (
    Callback,
    RunRequest,
    StyleInput,
    StyleInputs,
    check_weights,
    recorded_input,
    split_init,
    start_image,
    style_edge,
)
from naah.runs import RunDiverged, RunInterrupted, StopRun, StyleResult, optimize
from naah.runtime import DEFAULT as DEFAULT_RUNTIME
from naah.runtime import Runtime
from naah.session import Session
from naah.settings import (
    DEFAULT_SIZE,
    INITS,
    SettingAttribute,
    Settings,
    document,
    keywords_of,
    names,
)
from naah.video_transfer import VideoResult, VideoSettings, run_video
from naah.video_transfer.clip import clip_of, work_folder_for

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_BETA",
    "DEFAULT_CONTENT_LAYERS",
    "DEFAULT_SIZE",
    "DEFAULT_STYLE_LAYERS",
    "FEATURE_LAYERS",
    "INITS",
    "RunDiverged",
    "RunInterrupted",
    "StopRun",
    "StyleResult",
    "StyleTransfer",
    "optimize",
    "style_edge",
    "video",
]

DEFAULT_ALPHA = Settings().loss.alpha
DEFAULT_BETA = Settings().loss.beta


#: The settings :meth:`StyleTransfer.prepare` takes besides ``size``.
PREPARE_SETTINGS = (
    "style_scale",
    "style_blend",
    "guide_mode",
    "tile_size",
    "max_memory",
)


class StyleTransfer:
    """Neural style transfer (Gatys, Ecker & Bethge 2015) with VGG-19.

    Minimises ``alpha * L_content + beta * L_style (+ tv_weight * TV)`` over the image
    (see :mod:`naah.losses` for the definitions).

    Parameters
    ----------
    weights : str, PathLike, VGGWeights or None
        The VGG-19 weights; None looks at ``$NAAH_WEIGHTS`` and then naah's cache,
        and downloads them there on first use (see ``download``).
    download : bool, optional
        When no weights are found (``weights=None``), download them into the
        cache on first use (:func:`naah.io.sources.ensure_weights`: verified,
        several sources). Default yes, unless ``$NAAH_NO_DOWNLOAD`` is set; False
        refuses at once, saying how to get the file.
    runtime : Runtime, optional
        Worker threads and memory policy, applied for the length of each
        evaluation and run (:mod:`naah.runtime`); default ``Runtime()``.
    **settings
        The transfer's settings (:mod:`naah.settings`), each checked here:

    {settings}

    Attributes
    ----------
    config : naah.settings.Settings
        Every setting, typed (the run's own at their defaults); :attr:`settings`
        is its JSON form. Setting it retunes the transfer: settings that keep the
        compiled loss (:func:`naah.settings.graph_key`) keep its session.
    session : naah.session.Session
        The network and the problems compiled on it.

    Examples
    --------
    >>> st = StyleTransfer("imagenet-vgg-verydeep-19.mat")  # doctest: +SKIP
    >>> result = st.run("tubingen.jpg", "starry_night.jpg", iterations=500)  # doctest: +SKIP
    >>> result.save("tubingen_starry.png")  # doctest: +SKIP
    """

    pooling = SettingAttribute()
    seed = SettingAttribute()
    backend = SettingAttribute()
    color = SettingAttribute()
    color_match = SettingAttribute()

    def __init__(
        self,
        weights: str | os.PathLike | VGGWeights | None = None,
        *,
        download: bool | None = None,
        runtime: Runtime = DEFAULT_RUNTIME,
        **settings: Any,
    ) -> None:
        self._config = Settings.of(keywords_of(settings, "transfer", "StyleTransfer()"))
        self.session = Session(weights, self._config, runtime, download)

    @property
    def config(self) -> Settings:
        return self._config

    @config.setter
    def config(self, config: Settings) -> None:
        if not self.session.serves(config):
            old = self.session
            self.session = Session(old.weights, config, old.runtime, old.download)
        self._config = config

    @property
    def loss_weights(self) -> LossWeights:
        """α, β, the layers and their weights, the TV weight."""
        return self.config.loss

    @property
    def optimizer(self) -> OptimizerSettings:
        """The optimiser and its hyperparameters."""
        return self.config.optimizer

    @property
    def settings(self) -> dict[str, object]:
        """Every keyword of this transfer but ``weights``, ``download`` and
        ``runtime``, as plain JSON values (see :meth:`from_settings`)."""
        return self.config.to_json(scope="transfer")

    @classmethod
    def from_settings(
        cls,
        settings: Mapping[str, object],
        *,
        weights: str | os.PathLike | VGGWeights | None = None,
        runtime: Runtime = DEFAULT_RUNTIME,
    ) -> StyleTransfer:
        """A transfer with the keywords of :attr:`settings`."""
        return cls.configured(Settings.from_json(settings), weights, runtime)

    @classmethod
    def configured(
        cls,
        config: Settings,
        weights: str | os.PathLike | VGGWeights | None = None,
        runtime: Runtime = DEFAULT_RUNTIME,
    ) -> StyleTransfer:
        """A transfer with the settings ``config`` (its run's own included)."""
        transfer = cls(weights, runtime=runtime)
        transfer.config = config
        return transfer

    @property
    def net(self) -> VGG_19:
        """The VGG-19 network, loaded on first use with only the layers needed."""
        return self.session.net

    @property
    def runtime(self) -> Runtime:
        return self.session.runtime

    @property
    def _problem(self) -> StyleProblem | None:
        return self.session.problem

    def prepare(
        self,
        content: ImageLike,
        style: StyleInput = None,
        *,
        size: int | None = None,
        regions: Sequence[Region] | None = None,
        client: Any = None,
        **images: Any,
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
        regions : sequence of naah.regions.Region, optional
            Spatial control (Gatys et al. 2017, section 4): each region of the
            content image takes the style of its own image (guided Gram matrices).
        client : distributed.Client, optional
            Evaluate in blocks on the workers of a Dask cluster
            (:class:`naah.tiled.TiledProblem`).
        **images
            ``style_scale``, ``style_blend``, ``guide_mode``, ``tile_size`` and
            ``max_memory``, as for :meth:`run`: with ``tile_size=N`` (or an image
            too large for ``max_memory``) the problem is a
            :class:`naah.tiled.TiledProblem`, the same loss and gradient evaluated
            in blocks of N px.

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
        >>> poster = st.prepare("tubingen.jpg", "starry_night.jpg", size=4096,
        ...                     tile_size=512)  # doctest: +SKIP
        """
        unknown = sorted(set(images) - set(PREPARE_SETTINGS))
        if unknown:
            raise TypeError(
                f"prepare() got an unexpected keyword argument {unknown[0]!r}"
            )
        config = Settings.of({**images, "size": size}, self.config)
        styles = StyleInputs.of(style, regions, config.images)
        return self.session.prepared(content, styles, size, config, client=client)[0]

    def run(
        self,
        content: ImageLike,
        style: StyleInput = None,
        *,
        regions: Sequence[Region] | None = None,
        snapshots: Iterable[int] = (),
        callback: Callback | None = None,
        progress: bool | None = None,
        checkpoint: str | os.PathLike | None = None,
        checkpoint_info: Mapping[str, Any] | None = None,
        live: bool = False,
        client: Any = None,
        **settings: Any,
    ) -> StyleResult:
        """Transfer the style of ``style`` onto ``content``.

        Parameters
        ----------
        content, style, regions
            As for :meth:`prepare`.
        snapshots : iterable of int
            Iterations at which to keep a copy of the image (0 is the start).
        callback : callable(record, image), optional
            Called after every iteration with the :class:`IterationRecord` and the
            current (H, W, 3) float image; raising :class:`StopRun` ends the run
            there, with status ``'stopped'``.
        progress : bool, optional
            Show the compile time, then a progress bar; default: when someone is
            watching (:func:`naah.progress.interactive`).
        checkpoint : path, optional
            Write a checkpoint there (:mod:`naah.checkpointing`) every
            ``checkpoint_every`` iterations and at least once a minute, at the end,
            on KeyboardInterrupt and when the divergence guard gives up;
            :meth:`resume` continues from it. ``checkpoint_info`` adds JSON to it.
        live : bool
            Show the run in the Jupyter notebook as it goes
            (:class:`naah.live.JupyterView`); outside one, an error before any work.
        client : distributed.Client, optional
            Spread each evaluation's blocks over the workers of a Dask cluster
            (pass 1, the Gram matrices' partial sums, as a map and a reduce; pass
            2, the blocks' gradients, as a map): the image is evaluated in blocks
            (``tile_size``; by default about four).
        **settings
            The run's settings (:mod:`naah.settings`); ``init`` may also be an
            (H, W, 3) array:

            {settings}

        Returns
        -------
        StyleResult
            Its ``image`` is the iterate of lowest loss.

        Raises
        ------
        RunInterrupted, RunDiverged
            On KeyboardInterrupt, or when the loss stays NaN or infinite
            (:mod:`naah.optim`): ``error.result`` holds the best image so far.

        Examples
        --------
        >>> st = StyleTransfer()  # doctest: +SKIP
        >>> result = st.run("tubingen.jpg", "starry_night.jpg", iterations=300,
        ...                 checkpoint="tubingen.ckpt")  # doctest: +SKIP
        """
        values = keywords_of(settings, "run", "run()")
        init, start = split_init(values.pop("init", self.config.images.init))
        config = Settings.of({**values, "init": init}, self.config)
        request = RunRequest.of(
            content,
            style,
            regions,
            config,
            start=start,
            snapshots=snapshots,
            callback=callback,
            progress=progress,
            checkpoint=checkpoint,
            checkpoint_info=checkpoint_info,
            client=client,
        )
        if not live:
            return run_request(sized(request), self.session)
        view = JupyterView()  # outside a notebook: an error now, before work
        try:
            watched = replace(request, callback=chain(callback, view))
            return run_request(sized(watched), self.session)
        finally:
            view.close()  # also when interrupted: it shows where the run stopped

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
        callback: Callback | None = None,
        progress: bool | None = None,
        runtime: Runtime = DEFAULT_RUNTIME,
        tile_size: int | str | None = None,
        max_memory: int | str | None = None,
        client: Any = None,
    ) -> StyleResult:
        """Continue a run from its checkpoint, with the same iterates as if it had
        never stopped.

        The settings, the image size and the optimiser's whole state come from the
        checkpoint; the weights and images are read again from their recorded
        paths, or from those given (arrays given to :meth:`run` must be given
        again), and their checksums must be the run's: they are compared before
        anything is compiled.

        Parameters
        ----------
        checkpoint : path
            Written by :meth:`run` (or ``naah stylize``).
        iterations : int, optional
            The new total (default: the run's own); for a coarse-to-fine run, per
            scale (one value serves every scale).
        weights, content, style : optional
            Where the run's inputs are now.
        save_to : path, optional
            Where the continued run writes its checkpoints (default ``checkpoint``).
        checkpoint_every, checkpoint_info, snapshots, callback, progress, runtime
            As for :meth:`run` and :class:`StyleTransfer` (``checkpoint_info``
            updates the recorded one).
        tile_size, max_memory, client : optional
            As for :meth:`run`; default: the run's (a run under a memory budget
            resumes under the same, so its optimiser keeps the same state).

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
        saved = load_run(checkpoint)
        described, path = saved.description, saved.path
        changes: dict[str, Any] = {"checkpoint_every": checkpoint_every}
        given = {
            "iterations": iterations,
            "tile_size": tile_size,
            "max_memory": max_memory,
        }
        changes.update({k: v for k, v in given.items() if v is not None})
        settings = Settings.of(changes, described.settings)
        position = described.run.pyramid
        per_scale = settings.schedule.per_scale
        if per_scale[position.scale_index if position else 0] < saved.iteration:
            raise ValueError(
                f"the checkpoint {path} is at iteration {saved.iteration}; iterations "
                f"(the new total) must be at least that, got {iterations!r}"
            )
        recorded = described.inputs
        weights = recorded_input(weights, recorded.weights, "weights", path)
        check_weights(weights, recorded.weights, path)
        session = Session(weights, settings, runtime)
        content = recorded_input(content, recorded.content, "content", path)
        styles = StyleInputs.recorded(recorded, settings.images, style, path)
        session.check_recorded(content, styles, settings, recorded, path)
        request = RunRequest(
            content,
            styles,
            settings,
            snapshots=tuple(snapshots),
            callback=callback,
            progress=progress,
            checkpoint=Path(save_to or path),
            checkpoint_info=described.with_info(checkpoint_info).info,
            client=client,
        )
        return run_request(request, session, saved)

    def run_video(
        self,
        video: str | os.PathLike | Sequence[ImageLike],
        style: StyleInput = None,
        *,
        output: str | os.PathLike | None = None,
        frames: tuple[int, int | None] | None = None,
        work: str | os.PathLike | None = None,
        overwrite: bool = False,
        callback: Callback | None = None,
        progress: bool | None = None,
        processes: int | None = None,
        **settings: Any,
    ) -> VideoResult:
        """Stylise a video with temporal consistency (Ruder, Dosovitskiy & Brox
        2016; :mod:`naah.video_transfer`).

        Each frame is a run of :meth:`run`'s settings, started from the previous
        frame's result warped by the optical flow and tied to it by the temporal
        loss; the compiled loss serves every frame. Finished frames are kept in a
        work folder, so a call that stops (Ctrl-C, a crash) continues where it
        was when it is made again.

        Parameters
        ----------
        video : path or sequence of images
            A video file (``.mp4``, ``.webm``, ``.gif`` …; needs ``naah[video]``),
            a folder of frames (read in name order), or the frames themselves.
        style : image, list of images
            As for :meth:`run`.
        output : path, optional
            Write the result there: a video file (``.mp4``, ``.webm``, ``.gif``)
            or a folder (``DIR/``) of numbered PNG frames.
        frames : (start, stop), optional
            Only frames ``start`` to ``stop - 1`` (from 0; stop None: to the end).
        work : path, optional
            The work folder (default: beside ``output``, ``OUT.naah-video``, or
            inside a folder output; without either, a temporary folder, and the
            run cannot be continued).
        overwrite : bool
            Discard the work folder of a run with other settings or inputs
            (default: refuse, saying what differs).
        callback : callable(record, image), optional
            As for :meth:`run`, after every iteration of every frame.
        progress : bool, optional
            Show a bar over the frames and each frame's iterations.
        processes : int, optional
            Processes computing the optical flow (default: one per core).
        **settings
            :meth:`run`'s settings, per frame (``iterations`` per frame and per
            pass; ``scales`` are not available), and the video's own
            (:class:`naah.video_transfer.VideoSettings`): ``temporal_weight``,
            ``flow``, ``passes``, ``long_term``, ``init`` (``'prev-warped'``,
            ``'noise'`` or ``'content'``), ``first_iterations`` and
            ``temporal_from_pass``.

        Returns
        -------
        VideoResult
            ``.frames`` (uint8), ``.save(path)``, per-frame ``.reports`` and the
            temporal ``.warping`` error.

        Examples
        --------
        >>> st = StyleTransfer()  # doctest: +SKIP
        >>> result = st.run_video("clip.mp4", "starry_night.jpg", size=256,
        ...                       iterations=300, output="clip_starry.mp4")  # doctest: +SKIP
        >>> result.warping.overall  # doctest: +SKIP
        """
        own = {k: settings.pop(k) for k in list(settings) if k in VIDEO_KEYS}
        options = VideoSettings(**own)
        config = Settings.of(keywords_of(settings, "run", "run_video()"), self.config)
        clip = clip_of(video, frames, config, style)
        # the frames are at the run's size; the styles are scaled to it
        config = Settings.of({"size": max(clip.images[0].shape[:2])}, config)
        folder, temporary = work_folder_for(output, work)
        try:
            result = run_video(
                self.session,
                config,
                options,
                clip,
                style,
                folder,
                overwrite=overwrite,
                progress=progress,
                processes=processes,
                callback=callback,
            )
            if output is not None:
                result.save(output)
        finally:
            if temporary is not None:
                temporary.cleanup()
        return result

    def initial_image(
        self, init: str | ImageLike, problem: StyleProblem, seed: int | None = None
    ) -> np.ndarray:
        """The start image for ``problem``, (H, W, 3) float32 RGB in 0–255.

        ``init`` is 'noise' (uniform white noise seeded with ``seed``, default the
        transfer's), 'content', 'style' (resized to the content's shape) or an image
        (a file or an array, resized to the content's shape).
        """
        # A seed given here is checked as the setting is (Settings.of raises).
        seed = self.seed if seed is None else Settings.of({"seed": seed}).value("seed")
        return start_image(init, problem, seed)


#: The keywords of :meth:`StyleTransfer.run_video` that are the video's own.
VIDEO_KEYS = tuple(f.name for f in dataclasses.fields(VideoSettings))


def video(
    clip: str | os.PathLike | Sequence[ImageLike],
    style: StyleInput,
    output: str | os.PathLike | None = None,
    *,
    weights: str | os.PathLike | VGGWeights | None = None,
    runtime: Runtime = DEFAULT_RUNTIME,
    **settings: Any,
) -> VideoResult:
    """``naah video`` in Python: stylise ``clip`` (a video file, a folder of
    frames or the frames) and write it to ``output``.

    The settings of :class:`StyleTransfer` go to it, the others to
    :meth:`StyleTransfer.run_video`.

    Examples
    --------
    >>> naah.video("clip.mp4", "starry_night.jpg", "clip_starry.mp4", size=256,
    ...            passes=1, long_term=(1, 2, 4))  # doctest: +SKIP
    """
    transfer_keys = set(names("transfer"))
    transfer = StyleTransfer(
        weights,
        runtime=runtime,
        **{k: v for k, v in settings.items() if k in transfer_keys},
    )
    rest = {k: v for k, v in settings.items() if k not in transfer_keys}
    return transfer.run_video(clip, style, output=output, **rest)


document(StyleTransfer, "transfer")
document(StyleTransfer.run, "run")
