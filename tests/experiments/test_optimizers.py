"""Optimiser comparison and the Adam-vs-L-BFGS iteration match, at tiny size."""

import pytest

from naah.experiments import (
    compare_optimizers,
    comparison_table,
    iterations_to_match,
    match_figure,
    plot_comparison,
)

BUDGET = 8


# The shared runs take ~40 s to set up: every test here is in the slow set.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(pair):
    return compare_optimizers(pair, evaluations=BUDGET, seeds=(0, 1))


def test_one_row_per_method_and_seed_with_the_same_budget(runs):
    assert [(r.method, r.seed) for r in runs] == [
        (m, s) for m in ("lbfgs", "adam", "gd") for s in (0, 1)
    ]
    assert {r.budget for r in runs} == {BUDGET}
    assert all(1 <= r.evaluations <= BUDGET for r in runs)


def test_first_order_methods_spend_exactly_the_budget(runs):
    for run in runs:
        if run.method != "lbfgs":
            assert run.evaluations == BUDGET
            assert run.iterations == BUDGET - 1


def test_reported_loss_is_the_history_at_the_reported_evaluations(runs):
    for run in runs:
        record = run.result.history[run.iterations]
        assert record.evaluations == run.evaluations
        assert record.total == run.loss


def test_every_method_lowers_the_loss(runs):
    for run in runs:
        assert run.loss < run.result.history[0].total


def test_table_summarises_each_method_over_seeds(runs):
    table = comparison_table(runs)
    assert sorted(row["method"] for row in table) == ["adam", "gd", "lbfgs"]
    assert all(row["runs"] == 2 for row in table)
    means = [row["mean loss"] for row in table]
    assert means == sorted(means)


def test_rows_are_plain_dicts_without_the_result(runs):
    row = runs[0].row()
    assert "result" not in row
    assert row["budget"] == BUDGET


def test_comparison_plot_draws_a_line_per_run(runs, tmp_path):
    ax = plot_comparison(runs, tmp_path / "runs.png")
    assert len(ax.lines) == len(runs)
    assert (tmp_path / "runs.png").stat().st_size > 0


def test_iterations_to_match_reaches_the_lbfgs_loss_or_says_none(pair, tmp_path):
    match = iterations_to_match(
        pair, reference_iterations=3, learning_rate=20.0, max_iterations=200
    )
    assert match.target_loss == match.reference.history[-1].total
    last = match.other.history[-1]
    if match.iterations is None:
        assert last.iteration == 200 and last.total > match.target_loss
    else:
        assert last.total <= match.target_loss
        assert all(r.total > match.target_loss for r in match.other.history[:-1])
        assert match.iterations == last.iteration
    done = match.reference.history[-1].iteration
    if last.iteration >= done:  # the other's image after L-BFGS's iterations
        assert match.other.snapshots[done].shape == (*pair.shape[:2], 3)
    match_figure(match, path=tmp_path / "fig6.png")
    assert (tmp_path / "fig6.png").exists()


def test_the_local_comparison_reuses_the_pairs_loss_and_leaves_its_transfer(pair):
    settings = dict(pair.transfer.settings)
    problems = dict(pair.transfer.session.problems)
    (lbfgs, adam) = compare_optimizers(
        pair, evaluations=BUDGET, methods=("lbfgs", "adam"), seeds=(1,),
        learning_rates={"adam": 3.0},
    )  # fmt: skip
    assert pair.transfer.settings == settings  # its optimiser and seed as they were
    assert (
        pair.transfer.session.problems == problems
    )  # nothing compiled beside the pair's
    # The same runs as PreparedPair.run makes on the pair itself.
    for run, rate in ((lbfgs, None), (adam, 3.0)):
        alone = pair.run(
            BUDGET, optimizer=run.method, learning_rate=rate, seed=1,
            stop=lambda r: r.evaluations >= BUDGET,
        )  # fmt: skip
        assert [r.total for r in run.result.history] == pytest.approx(
            [r.total for r in alone.history], rel=1e-5
        )


def test_a_comparison_on_a_dask_client_gives_the_local_histories(pair, runs):
    distributed = pytest.importorskip("distributed")
    match = {"reference_iterations": 3, "learning_rate": 20.0, "max_iterations": 60}
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        there = compare_optimizers(
            pair, evaluations=BUDGET, seeds=(0, 1), client=client
        )
        far_match = iterations_to_match(pair, **match, client=client)
    exact = ("method", "seed", "learning_rate", "budget", "evaluations", "iterations")
    for here, far in zip(runs, there, strict=True):
        assert [getattr(far, k) for k in exact] == [getattr(here, k) for k in exact]
        assert far.loss == pytest.approx(here.loss, rel=1e-3)
        assert [r.evaluations for r in far.result.history] == [
            r.evaluations for r in here.result.history
        ]
        assert [r.total for r in far.result.history] == pytest.approx(
            [r.total for r in here.result.history], rel=1e-3
        )
    here_match = iterations_to_match(pair, **match)
    assert far_match.iterations == here_match.iterations
    assert far_match.target_loss == pytest.approx(here_match.target_loss, rel=1e-3)
    assert sorted(far_match.other.snapshots) == sorted(here_match.other.snapshots)
