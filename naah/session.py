"""What lasts between the runs of one :class:`naah.StyleTransfer`: the network,
loaded once, and the problems compiled on it.

A :class:`Session` turns a run's images into the problem it optimises: it loads
the content and style images at a size, applies the colour control
(:class:`naah.color.ColorControl`) and retargets the one compiled problem (one per
number of regions) at them. Compiling is the expensive part, so every run of a
transfer, every scale of a coarse-to-fine run and every resumed run reuses it.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from naah.architecture import CONV_LAYERS, FEATURE_LAYERS
from naah.checkpointing import InputsRecord
from naah.color import ColorControl, Recoloring
from naah.io.images import ImageLike, load_image
from naah.io.sources import ensure_weights
from naah.io.weights import VGGWeights, load_weights
from naah.models import VGG_19, LuminanceView
from naah.plan import blocks_for_workers, tiling
from naah.problem import StyleProblem
from naah.progress import interactive
from naah.request import StyleInputs, check_pixels
from naah.runtime import Runtime
from naah.settings import Settings, graph_key
from naah.terms import TemporalTargets, terms_for
from naah.tiled import TiledProblem

__all__ = ["Session"]


class Session:
    """A network and its compiled problems, for one transfer's settings.

    Parameters
    ----------
    weights : path, VGGWeights or None
        As for :class:`naah.StyleTransfer` (loaded on first use).
    config : Settings
        The settings the network is loaded and the problems compiled for (those
        of :func:`naah.settings.graph_key`); a run may change the others.
    runtime : Runtime
    download : bool or None
        Whether missing weights may be downloaded.

    Attributes
    ----------
    problem : StyleProblem or None
        The problem used last.
    """

    def __init__(
        self,
        weights: str | os.PathLike | VGGWeights | None,
        config: Settings,
        runtime: Runtime,
        download: bool | None = None,
    ) -> None:
        self.weights = weights
        self.config = config
        self.runtime = runtime
        self.download = download
        self.problem: StyleProblem | None = None
        # By number of regions, whether evaluated block by block, and the
        # earlier frames of a video's temporal term (0: none).
        self.problems: dict[tuple[int, bool, int], StyleProblem] = {}
        self._net: VGG_19 | None = None

    @property
    def net(self) -> VGG_19:
        """The VGG-19 network, loaded on first use with only the layers needed."""
        if self._net is None:
            weights = self.weights
            if not isinstance(weights, VGGWeights):
                weights = load_weights(
                    ensure_weights(
                        weights, download=self.download, progress=interactive()
                    ),
                    layers=self._needed_layers(),
                )
            self._net = VGG_19(weights, pooling=self.config.network.pooling)
        return self._net

    def _needed_layers(self) -> tuple[str, ...]:
        used = self.config.loss.layers
        deepest = max(FEATURE_LAYERS.index(n) for n in used) if used else 0
        return tuple(n for n in FEATURE_LAYERS[: deepest + 1] if n in CONV_LAYERS)

    def serves(self, settings: Settings) -> bool:
        """Whether runs of ``settings`` can use this session's network and
        problems (:func:`naah.settings.graph_key`)."""
        return graph_key(settings) == graph_key(self.config)

    @staticmethod
    def network_images(
        content: ImageLike, styles: StyleInputs, size: int | None, settings: Settings
    ) -> tuple[Recoloring, StyleInputs]:
        """The content image at ``size`` and each style at its scale of it, as the
        network gets them under the colour control of ``settings``."""
        color = ColorControl(settings.color.color, settings.color.color_match)
        recoloring = color.for_content(load_image(content, long_edge=size))
        loaded = styles.loaded(size)
        if recoloring.style is not None:
            loaded = loaded.with_styles(recoloring.style)
        return recoloring, loaded

    def check_recorded(
        self,
        content: ImageLike,
        styles: StyleInputs,
        settings: Settings,
        record: InputsRecord,
        checkpoint: Path,
    ) -> None:
        """Refuse images whose pixels, as the network gets them at the recorded
        size, are not those a checkpoint's run used."""
        size = settings.images.size
        if isinstance(size, str):
            raise ValueError(f"{checkpoint} records the size {size!r}, not a length")
        recoloring, used = self.network_images(content, styles, size, settings)
        check_pixels(recoloring.content, record.content, "content image", checkpoint)
        used.check_against(record, checkpoint)

    def prepared(
        self,
        content: ImageLike,
        styles: StyleInputs,
        size: int | None,
        settings: Settings,
        *,
        client: Any = None,
        temporal: TemporalTargets | None = None,
    ) -> tuple[StyleProblem, Recoloring]:
        """The problem for these images at ``size`` (compiled on first use, then
        retargeted), with the loss weights of ``settings`` (which this session
        must serve), evaluated whole or in blocks as :func:`naah.plan.tiling`
        says; with a Dask ``client``, always in blocks, on its workers. With
        ``temporal`` (a video frame), its problem has Ruder et al.'s temporal
        term over ``temporal.frames`` earlier frames."""
        if not self.serves(settings):
            raise ValueError(
                "these settings change the compiled loss (layers, pooling, backend "
                "or luminance-only colour): they need a session of their own"
            )
        recoloring, used = self.network_images(content, styles, size, settings)
        keywords = used.problem_keywords()
        loss = settings.loss
        plan = tiling(settings, recoloring.content.shape, used.largest_style_shape())
        if client is not None and plan.tile_size is None:
            plan = replace(plan, tile_size=blocks_for_workers(recoloring.content.shape))
        frames = 0 if temporal is None else temporal.frames
        key = (len(used.regions), plan.tile_size is not None, frames)
        problem = self.problems.get(key)
        if problem is None:
            luminance = settings.color.color == "luminance"
            net = LuminanceView(self.net) if luminance else self.net
            terms = terms_for(loss, len(used.regions), used.guide_mode, frames)
            options = dict(
                weights=loss,
                terms=terms,
                backend=self.config.compute.backend,
                runtime=self.runtime,
                temporal=temporal,
                **keywords,
            )
            if plan.tile_size is None:
                problem = StyleProblem(net, recoloring.content, **options)  # type: ignore[arg-type]  # a LuminanceView is a VGG_19 to it
            else:
                problem = TiledProblem(
                    net,  # type: ignore[arg-type]
                    recoloring.content,
                    tile_size=plan.tile_size,
                    **options,
                )
            self.problems[key] = problem
        else:
            problem.set_images(recoloring.content, temporal=temporal, **keywords)
            problem.use_weights(loss)
        if isinstance(problem, TiledProblem) and plan.tile_size is not None:
            problem.tile_size = plan.tile_size
            problem.client = client
        problem.optimizer_budget = plan.optimizer_budget
        self.problem = problem
        return problem, recoloring
