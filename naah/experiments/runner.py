"""Many optimisations of one content/style pair, compiled once.

Compiling the loss takes seconds; an experiment that compares optimisers, seeds or
α/β settings should pay for it once. :class:`PreparedPair` holds a content/style
pair and the transfer's :class:`naah.problem.StyleProblem` (compiled once per
transfer; α, β and the targets are shared variables) and runs
:func:`naah.optim.minimize` on it as often as asked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

import numpy as np

from naah.io.images import ImageLike, preprocess
from naah.optim import IterationRecord, OptimizerSettings
from naah.problem import StyleProblem
from naah.style_transfer import DEFAULT_SIZE, StyleResult, StyleTransfer, optimize


class PreparedPair:
    """A content/style pair whose loss is compiled once, for many runs.

    Parameters
    ----------
    transfer : StyleTransfer
        Gives the network, the layers, α, β and the default optimiser.
    content, style : path, PIL image or ndarray of shape (H, W, 3)
    size : int or None
        Long edge of the result; None keeps the content image's size.
    style_scale : float

    Examples
    --------
    >>> pair = PreparedPair(StyleTransfer(weights), "tubingen.jpg", "starry_night.jpg",
    ...                     size=256)  # doctest: +SKIP
    >>> lbfgs = pair.run(iterations=100)  # doctest: +SKIP
    >>> adam = pair.run(iterations=100, optimizer="adam", learning_rate=10.0)  # doctest: +SKIP
    >>> softer = pair.run(iterations=100, beta=1e2)  # doctest: +SKIP
    """

    def __init__(
        self,
        transfer: StyleTransfer,
        content: ImageLike,
        style: ImageLike,
        *,
        size: int | None = DEFAULT_SIZE,
        style_scale: float = 1.0,
    ) -> None:
        self.transfer = transfer
        #: The images and sizes as given: what a run elsewhere (a Dask worker,
        #: :func:`naah.experiments.compare_optimizers`) prepares its pair from.
        self.inputs = (content, style)
        self.size, self.style_scale = size, style_scale
        self.problem = transfer.prepare(
            content, style, size=size, style_scale=style_scale
        )
        # The transfer's one problem may be retargeted by other pairs: keep ours.
        self.content = self.problem.content_image
        self.style = self.problem.style_image

    @property
    def shape(self) -> tuple[int, int, int]:
        """(H, W, 3) of the generated image."""
        return self.problem.shape

    def initial_image(
        self, init: str | np.ndarray = "noise", seed: int = 0
    ) -> np.ndarray:
        """The start image, (H, W, 3) float32 RGB in 0–255, as
        :meth:`naah.StyleTransfer.initial_image` makes it for this pair."""
        self._activate()
        return self.transfer.initial_image(init, self.problem, seed)

    def _activate(self) -> None:
        """Point the shared problem at this pair's images if another pair moved it."""
        if self.problem.content_image is not self.content or (
            self.problem.style_image is not self.style
        ):
            self.problem.set_images(self.content, self.style)

    def run(
        self,
        iterations: int,
        *,
        optimizer: str | None = None,
        learning_rate: float | None = None,
        alpha: float | None = None,
        beta: float | None = None,
        init: str | np.ndarray = "noise",
        seed: int | None = None,
        snapshots: Iterable[int] = (),
        stop: Callable[[IterationRecord], bool] | None = None,
    ) -> StyleResult:
        """Optimise the image once; settings not given are the transfer's.

        Parameters
        ----------
        iterations : int
            Most iterations (L-BFGS iterations or GD/Adam steps).
        optimizer : str, optional
            A name of :data:`naah.optim.OPTIMIZERS`.
        learning_rate : float, optional
            For 'adam' and 'gd'.
        alpha, beta : float, optional
            Content and style weights of this run.
        init : {'noise', 'content', 'style'} or ndarray
        seed : int, optional
            Seed of the noise image (default: the transfer's).
        snapshots : iterable of int
            Iterations at which to keep the image.
        stop : callable(record) -> bool, optional
            Called after every iteration; True ends the run there (e.g. a budget
            of evaluations: ``lambda r: r.evaluations >= 100``).

        Returns
        -------
        StyleResult
            ``history[i].evaluations`` counts this run's evaluations only.
        """
        settings = self._settings(optimizer, learning_rate)
        problem = self._problem_for(alpha, beta)
        problem.evaluations = 0
        seed = self.transfer.seed if seed is None else seed
        start = preprocess(self.initial_image(init, seed), problem.mean_pixel)
        return optimize(
            problem, start, iterations, settings, snapshots=snapshots, stop=stop
        )

    def _settings(
        self, optimizer: str | None, learning_rate: float | None
    ) -> OptimizerSettings:
        base = self.transfer.optimizer
        return replace(
            base,
            method=optimizer or base.method,
            learning_rate=base.learning_rate
            if learning_rate is None
            else learning_rate,
        )

    def _problem_for(self, alpha: float | None, beta: float | None) -> StyleProblem:
        self._activate()
        defaults = self.transfer.loss_weights
        self.problem.set_loss_weights(
            alpha=defaults.alpha if alpha is None else alpha,
            beta=defaults.beta if beta is None else beta,
        )
        return self.problem
