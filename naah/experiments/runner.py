"""Many optimisations of one content/style pair, compiled once.

Compiling the loss of a pair takes seconds; an experiment that compares optimisers,
seeds or α/β settings on the same pair should pay for it once. :class:`PreparedPair`
holds a :class:`naah.problem.StyleProblem` (from :meth:`naah.StyleTransfer.prepare`)
and runs :func:`naah.optim.minimize` on it as often as asked. Runs with other α and β
use a second compiled loss in which α and β are shared variables, built on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pytensor

from naah.compile import function
from naah.io.images import deprocess, load_image, preprocess, to_uint8
from naah.optim import History, IterationRecord, OptimizerSettings, minimize
from naah.style_transfer import DEFAULT_SIZE, StyleResult, StyleTransfer


class _Stop(Exception):
    """Raised from the iteration callback to end a run early."""


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
        content,
        style,
        *,
        size: int | None = DEFAULT_SIZE,
        style_scale: float = 1.0,
    ):
        self.transfer = transfer
        self.problem = transfer.prepare(
            content, style, size=size, style_scale=style_scale
        )
        self._reweighted: _ReweightedProblem | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        """(H, W, 3) of the generated image."""
        return self.problem.shape

    def initial_image(self, init: str | np.ndarray = "noise", seed: int = 0):
        """The start image, (H, W, 3) float32 RGB in 0–255.

        ``'noise'`` is uniform white noise seeded with ``seed``, as
        :meth:`naah.StyleTransfer.run` draws it; ``'content'`` and ``'style'`` the
        pair's images (the style resized to the content's shape); an array is
        resized to the content's shape.
        """
        h, w, _ = self.shape
        if isinstance(init, str) and init == "noise":
            rng = np.random.default_rng(seed)
            return rng.uniform(0, 255, self.shape).astype(np.float32)
        if isinstance(init, str) and init in ("content", "style"):
            image = getattr(self.problem, f"{init}_image")
            return load_image(image, size=(h, w))
        if isinstance(init, str):
            raise ValueError(
                f"init must be 'noise', 'content', 'style' or an image, got {init!r}"
            )
        return load_image(init, size=(h, w))

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
        optimizer : {'lbfgs', 'adam', 'gd'}, optional
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
        history, kept, last = History(), {}, [start]
        wanted = set(snapshots)

        def on_iteration(record: IterationRecord, image_nchw: np.ndarray) -> None:
            history.append(record)
            last[0] = image_nchw
            if record.iteration in wanted:
                kept[record.iteration] = self._to_image(image_nchw)
            if stop is not None and stop(record):
                raise _Stop

        try:
            final, history = minimize(
                problem, start, iterations, settings, on_iteration
            )
        except _Stop:
            final = last[0]
        return StyleResult(self._to_image(final), history, kept)

    def _to_image(self, image_nchw: np.ndarray) -> np.ndarray:
        return to_uint8(deprocess(np.asarray(image_nchw), self.problem.mean_pixel))

    def _settings(self, optimizer, learning_rate) -> OptimizerSettings:
        base = self.transfer.optimizer
        return OptimizerSettings(
            optimizer or base.method,
            base.learning_rate if learning_rate is None else learning_rate,
            base.beta1,
            base.beta2,
            base.epsilon,
            base.bounds,
        )

    def _problem_for(self, alpha, beta):
        weights = self.problem.weights
        alpha = weights.alpha if alpha is None else float(alpha)
        beta = weights.beta if beta is None else float(beta)
        if (alpha, beta) == (weights.alpha, weights.beta):
            return self.problem
        if self._reweighted is None:
            self._reweighted = _ReweightedProblem(self.problem)
        self._reweighted.set_weights(alpha, beta)
        return self._reweighted


class _ReweightedProblem:
    """A StyleProblem's loss with α and β as shared variables, so that changing them
    needs no new compilation. Everything else is the wrapped problem's."""

    def __init__(self, base):
        self.base = base
        self.alpha = pytensor.shared(np.float32(base.weights.alpha), name="alpha")
        self.beta = pytensor.shared(np.float32(base.weights.beta), name="beta")
        terms = dict(base.terms)
        total = self.alpha * terms["content"] + self.beta * terms["style"]
        if base.weights.tv_weight:
            total = total + np.float32(base.weights.tv_weight) * terms["tv"]
        terms["total"] = total
        self.terms = terms
        self.gradient = pytensor.grad(total, base.image)
        self._names = list(terms)
        outputs = [terms[n] for n in self._names] + [self.gradient]
        self._evaluate = function([], outputs, backend=base.backend)
        self.evaluations = 0

    def set_weights(self, alpha: float, beta: float) -> None:
        if alpha < 0 or beta < 0:
            raise ValueError(f"alpha and beta must be >= 0, got {alpha}, {beta}")
        self.alpha.set_value(np.float32(alpha))
        self.beta.set_value(np.float32(beta))

    def __getattr__(self, name):  # image, shape, set_image, pixel_bounds, …
        return getattr(self.base, name)

    def evaluate(self, image_nchw: np.ndarray | None = None):
        """As :meth:`naah.problem.StyleProblem.evaluate`, with this loss."""
        if image_nchw is not None:
            self.base.set_image(image_nchw)
        *values, grad = self._evaluate()
        self.evaluations += 1
        named = dict(zip(self._names, (float(v) for v in values), strict=True))
        return self.base.evaluation_from_terms(named), grad
