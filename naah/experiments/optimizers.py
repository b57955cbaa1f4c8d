"""Comparing optimisers on one content/style pair (the report's Figures 6 and 11).

:func:`compare_optimizers` gives gradient descent, Adam and L-BFGS the same budget of
loss-and-gradient evaluations from the same noise images (several seeds) and
tabulates the loss each reaches. :func:`iterations_to_match` asks the report's
question: how many Adam iterations reach the loss L-BFGS has after 10?

Their runs go through :mod:`naah.batch`'s engines, as sweeps and ``naah batch``
jobs do: the local engine, on the pair's compiled loss (nothing is compiled
again), or, given a Dask ``client`` (a notebook's), the cluster's workers
(:class:`naah.batch.cluster.DaskEngine`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from naah.batch import LocalEngine
from naah.batch.worker import Run
from naah.experiments.figures import image_grid, new_figure, save_figure
from naah.experiments.runner import PreparedPair
from naah.io.images import preprocess
from naah.optim import IterationRecord
from naah.style_transfer import StyleResult

if TYPE_CHECKING:
    # distributed and matplotlib are optional: only the type checker imports them.
    from distributed import Client
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from naah.batch.cluster import DaskEngine

# Gradient descent's default step: the first step moves the pixel with the largest
# gradient by this many grey levels (the scale of the gradient depends on the
# weights and on α, β, so a fixed learning rate would not compare fairly).
GD_STEP_PIXELS = 1.0
METHOD_COLOURS = {
    "gd": "tab:green",
    "adam": "tab:orange",
    "lbfgs": "tab:blue",
    "momentum": "tab:red",
}
#: The optimisers the report compares (Figure 5); momentum is naah's addition.
REPORT_METHODS = ("lbfgs", "adam", "gd")


@dataclass(frozen=True)
class OptimizerRun:
    """One row of the comparison: a method and seed at the evaluation budget.

    ``loss``, ``content``, ``style`` and ``seconds`` are those of the last iteration
    within the budget; ``evaluations`` (at most ``budget``) counts the evaluations
    up to it. ``result`` holds the whole run (image and history).
    """

    method: str
    seed: int
    learning_rate: float | None
    budget: int
    evaluations: int
    iterations: int
    loss: float
    content: float
    style: float
    seconds: float
    result: StyleResult = field(repr=False, compare=False)

    def row(self) -> dict[str, Any]:
        """The row as a dict, without ``result``."""
        return {k: v for k, v in asdict(self).items() if k != "result"}


def gd_learning_rate(
    pair: PreparedPair, init: str | np.ndarray = "noise", seed: int = 0
) -> float:
    """A GD learning rate whose first step moves the steepest pixel by
    :data:`GD_STEP_PIXELS` grey levels."""
    start = preprocess(pair.initial_image(init, seed), pair.problem.mean_pixel)
    _, grad = pair.problem.evaluate(start)
    return GD_STEP_PIXELS / max(float(np.abs(grad).max()), 1e-30)


def compare_optimizers(
    pair: PreparedPair,
    *,
    evaluations: int = 100,
    methods: Sequence[str] = REPORT_METHODS,
    seeds: Iterable[int] = (0, 1, 2),
    learning_rates: Mapping[str, float] | None = None,
    init: str | np.ndarray = "noise",
    client: Client | None = None,
) -> list[OptimizerRun]:
    """Run each method from each seed's noise image with ``evaluations`` evaluations.

    Parameters
    ----------
    pair : PreparedPair
    evaluations : int
        The budget of loss-and-gradient evaluations per run. GD and Adam spend one
        per iteration; an L-BFGS iteration may spend several (its line search).
    methods : sequence of str
        Names of :data:`naah.optim.OPTIMIZERS`; default the report's three.
    seeds : iterable of int
        Seeds of the initial noise images.
    learning_rates : mapping of method to float, optional
        Default: Adam the transfer's learning rate, GD :func:`gd_learning_rate`.
    init : {'noise', 'content', 'style'} or ndarray
    client : distributed.Client, optional
        Run the runs on this Dask cluster's workers (``naah[dask]``; see
        :class:`naah.batch.cluster.DaskEngine`), each worker compiling the pair's
        loss once: the transfer's weights must then be a file the workers can
        read, and the pair's images arrays or paths they see. Learning rates are
        still chosen here.

    Returns
    -------
    list of OptimizerRun
        One per (method, seed), methods in the order given.

    Examples
    --------
    With the pretrained weights (found as :func:`naah.io.locate.find_weights` finds
    them):

    >>> from naah import StyleTransfer
    >>> from naah.experiments import format_table
    >>> pair = PreparedPair(
    ...     StyleTransfer(), "data/tubingen.jpg", "data/shipwreck.jpg", size=256
    ... )  # doctest: +SKIP
    >>> runs = compare_optimizers(pair, evaluations=50, seeds=(0, 1))  # doctest: +SKIP
    >>> print(format_table(comparison_table(runs)))  # doctest: +SKIP
    """
    if evaluations < 1:
        raise ValueError(f"evaluations must be at least 1, got {evaluations}")
    given = dict(learning_rates or {})
    seeds = list(seeds)
    points = [
        (method, seed, _learning_rate(pair, method, given.get(method), init, seed))
        for method in methods
        for seed in seeds
    ]
    results = _engine(pair, client).map_runs(
        [
            _run(pair, method, rate, seed, evaluations, init)
            for method, seed, rate in points
        ],
        stop=_Budget(evaluations),
    )
    return [
        _at_budget(method, seed, rate, evaluations, result)
        for (method, seed, rate), result in zip(points, results, strict=True)
    ]


def _engine(pair: PreparedPair, client: Client | None) -> LocalEngine | DaskEngine:
    """The engine of a pair's runs: here on its compiled loss, or on ``client``'s
    workers."""
    transfer = pair.transfer
    if client is not None:
        from naah.batch.cluster import DaskEngine

        return DaskEngine(client, weights=transfer.net.weights)
    engine = LocalEngine(transfer.net.weights, runtime=transfer.runtime)
    engine.executor.adopt(transfer, pair.problem)
    return engine


def _run(
    pair: PreparedPair,
    method: str,
    rate: float | None,
    seed: int | None,
    iterations: int,
    init: str | np.ndarray = "noise",
    snapshots: Sequence[int] = (),
) -> Run:
    """One run of the pair, as an engine takes it."""
    content, style = pair.inputs
    run: dict[str, Any] = {
        "iterations": iterations,
        "size": pair.size,
        "style_scale": pair.style_scale,
        "init": init,
    }
    if snapshots:
        run["snapshots"] = tuple(snapshots)
    return content, style, _settings(pair, method, rate, seed), run


@dataclass(frozen=True)
class _Reached:
    """Stops a run once its loss is at most ``target`` (picklable, for workers)."""

    target: float

    def __call__(self, record: IterationRecord) -> bool:
        return record.total <= self.target


@dataclass(frozen=True)
class _Budget:
    """Stops a run once it has spent ``evaluations`` (picklable, for workers)."""

    evaluations: int

    def __call__(self, record: IterationRecord) -> bool:
        return record.evaluations >= self.evaluations


def _settings(
    pair: PreparedPair, method: str, rate: float | None, seed: int | None
) -> dict[str, Any]:
    """The StyleTransfer keywords of one run: the pair's transfer, as
    :meth:`PreparedPair.run` sets it for the run."""
    settings = dict(pair.transfer.settings)
    settings["optimizer"] = method
    if seed is not None:
        settings["seed"] = seed
    if rate is not None:
        settings["learning_rate"] = rate
    return settings


def _at_budget(
    method: str, seed: int, rate: float | None, budget: int, result: StyleResult
) -> OptimizerRun:
    within = [r for r in result.history if r.evaluations <= budget]
    last = within[-1] if within else result.history[0]
    return OptimizerRun(
        method,
        seed,
        rate,
        budget,
        last.evaluations,
        last.iteration,
        last.total,
        last.content,
        last.style,
        last.time,
        result,
    )


def _learning_rate(
    pair: PreparedPair,
    method: str,
    given: float | None,
    init: str | np.ndarray,
    seed: int,
) -> float | None:
    if method == "lbfgs":
        return None
    if given is not None:
        return float(given)
    if method == "gd":
        return gd_learning_rate(pair, init, seed)
    return pair.transfer.optimizer.learning_rate


def comparison_table(runs: Sequence[OptimizerRun]) -> list[dict[str, Any]]:
    """Per method: mean and standard deviation of the loss over seeds, and the best.

    Returns
    -------
    list of dict
        Keys ``method``, ``runs``, ``budget``, ``mean loss``, ``std loss``,
        ``best loss``, ``mean seconds``; sorted by mean loss.
    """
    table = []
    for method in dict.fromkeys(r.method for r in runs):
        mine = [r for r in runs if r.method == method]
        losses = np.array([r.loss for r in mine])
        table.append(
            {
                "method": method,
                "runs": len(mine),
                "budget": mine[0].budget,
                "mean loss": float(losses.mean()),
                "std loss": float(losses.std()),
                "best loss": float(losses.min()),
                "mean seconds": float(np.mean([r.seconds for r in mine])),
            }
        )
    return sorted(table, key=lambda row: row["mean loss"])


def plot_comparison(
    runs: Sequence[OptimizerRun],
    path: str | os.PathLike[str] | None = None,
    ax: Axes | None = None,
    *,
    note: str | None = None,
) -> Axes:
    """Total loss against evaluations, one line per run, one colour per method."""
    if ax is None:
        ax = new_figure(6.4, 4.0).add_subplot()
    labelled: set[str] = set()
    for run in runs:
        history = [r for r in run.result.history if r.evaluations <= run.budget]
        label = None if run.method in labelled else run.method
        labelled.add(run.method)
        ax.plot(
            [r.evaluations for r in history],
            [r.total for r in history],
            color=METHOD_COLOURS.get(run.method),
            label=label,
            alpha=0.8,
        )
    ax.set_yscale("log")
    ax.set_xlabel("loss-and-gradient evaluations")
    ax.set_ylabel("total loss")
    ax.legend()
    if note:
        ax.set_title(note, fontsize=9)
    # .figure twice: the root figure, as axes in a SubFigure have no savefig.
    save_figure(ax.figure.figure, path)
    return ax


@dataclass(frozen=True)
class MatchResult:
    """Outcome of :func:`iterations_to_match`.

    Attributes
    ----------
    reference : StyleResult
        The L-BFGS run.
    other : StyleResult
        The other optimiser's run, stopped once it reached ``target_loss`` (or after
        ``max_iterations``); ``other.snapshots`` holds its image at the reference's
        iteration count.
    target_loss : float
        The reference's total loss after its iterations.
    iterations : int or None
        Iterations the other optimiser needed to reach it; None if it did not
        within ``max_iterations``.
    """

    reference: StyleResult
    other: StyleResult
    target_loss: float
    iterations: int | None


def iterations_to_match(
    pair: PreparedPair,
    *,
    reference_iterations: int = 10,
    optimizer: str = "adam",
    learning_rate: float | None = None,
    max_iterations: int = 1000,
    seed: int | None = None,
    client: Client | None = None,
) -> MatchResult:
    """How many ``optimizer`` iterations reach L-BFGS's loss after
    ``reference_iterations`` (the report's Figure 6: Adam vs L-BFGS at 10).

    Both start from the same noise image (the transfer's seed unless ``seed`` is
    given), and run one after the other on the engine of
    :func:`compare_optimizers` (here, or on ``client``'s workers).

    Parameters
    ----------
    pair : PreparedPair
    reference_iterations : int
        L-BFGS iterations of the reference run.
    optimizer : {'adam', 'gd', 'lbfgs'}
    learning_rate : float, optional
        The other optimiser's (default: the transfer's).
    max_iterations : int
        Give up after this many iterations of the other optimiser.
    seed : int, optional
    client : distributed.Client, optional
        As for :func:`compare_optimizers`.

    Returns
    -------
    MatchResult
        ``iterations`` is None if the other optimiser did not reach the loss.

    Examples
    --------
    With ``pair`` a :class:`PreparedPair` on the pretrained weights (see
    :func:`compare_optimizers`):

    >>> match = iterations_to_match(pair, learning_rate=10.0)  # doctest: +SKIP
    >>> fig = match_figure(match, path="fig6.png")  # doctest: +SKIP
    """
    engine = _engine(pair, client)
    (reference,) = engine.map_runs(
        [_run(pair, "lbfgs", None, seed, reference_iterations)]
    )
    target = reference.history[-1].total
    done = reference.history[-1].iteration  # fewer if L-BFGS converged earlier
    rate = None if optimizer == "lbfgs" else learning_rate
    (other,) = engine.map_runs(
        [_run(pair, optimizer, rate, seed, max_iterations, snapshots=(done,))],
        stop=_Reached(target),
    )
    last = other.history[-1]
    reached = last.iteration if last.total <= target else None
    return MatchResult(reference, other, target, reached)


def match_figure(
    match: MatchResult,
    *,
    optimizer: str = "Adam",
    note: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """The report's Figure 6: L-BFGS and the other optimiser after the same
    iterations, and the other when it reached L-BFGS's loss (if it did)."""
    n = match.reference.history[-1].iteration
    images = [match.reference.image]
    titles = [f"L-BFGS, {n} iterations\nloss {match.target_loss:.3g}"]
    same = match.other.snapshots.get(n)
    if same is not None:
        loss = match.other.history[n].total
        images.append(same)
        titles.append(f"{optimizer}, {n} iterations\nloss {loss:.3g}")
    if match.iterations is not None:
        loss = match.other.history[-1].total
        images.append(match.other.image)
        titles.append(f"{optimizer}, {match.iterations} iterations\nloss {loss:.3g}")
    return image_grid(images, titles, note=note, path=path)
