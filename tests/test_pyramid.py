"""naah.pyramid: coarse to fine as stages, with a stand-in stage (no network)."""

import numpy as np
import pytest

from naah.optim import History, IterationRecord, MinimizerState
from naah.pyramid import Pyramid, run_scales
from naah.runs import RunInterrupted, StyleResult


class Stages:
    """A stand-in for naah.runs.run_stage: records each stage it is given and
    gives back a result with a record per iteration (the loss is 1000 / (it + 1))."""

    def __init__(self, interrupt_at=None):
        self.seen = []
        self.interrupt_at = interrupt_at

    def __call__(self, stage):
        self.seen.append(stage)
        history = History()
        for i in range(stage.iterations + 1):
            record = IterationRecord(i, 1000 / (i + 1), 1.0, 2.0, 0.0, 0.5 * i, i + 1)
            history.append(record)
            if stage.callback is not None:
                stage.callback(record, np.zeros((2, 2, 3)))
            if (stage.size, i) == self.interrupt_at:
                partial = StyleResult(np.full((2, 2, 3), i, np.uint8), history)
                raise RunInterrupted(partial, KeyboardInterrupt())
        image = np.full((stage.size, stage.size, 3), len(self.seen), np.uint8)
        snapshots = {i: image for i in stage.snapshots}
        return StyleResult(image, history, snapshots, best_iteration=stage.iterations)


def test_each_scale_is_a_stage_that_starts_from_the_last_result():
    stages = Stages()
    run_scales(stages, Pyramid((16, 32, 64), (3, 2, 2)))
    assert [(s.size, s.iterations) for s in stages.seen] == [(16, 3), (32, 2), (64, 2)]
    assert stages.seen[0].previous is None
    assert stages.seen[1].previous.shape == (16, 16, 3)
    assert [s.position.scale_index for s in stages.seen] == [0, 1, 2]
    assert stages.seen[2].position.scales == (16, 32, 64)


def test_iterations_times_and_evaluations_run_on_across_scales():
    seen = []
    result = run_scales(
        Stages(),
        Pyramid((16, 32), (3, 2)),
        snapshots=(0, 3, 5),
        callback=lambda record, image: seen.append((record.iteration, record.scale)),
    )
    rows = [(r.iteration, r.scale, r.time, r.evaluations) for r in result.history]
    assert rows == [
        (0, 16, 0.0, 1), (1, 16, 0.5, 2), (2, 16, 1.0, 3), (3, 16, 1.5, 4),
        (3, 32, 1.5, 5), (4, 32, 2.0, 6), (5, 32, 2.5, 7),
    ]  # fmt: skip
    assert seen == [(r.iteration, r.scale) for r in result.history]
    assert sorted(result.snapshots) == [0, 3, 5]
    assert result.snapshots[0].shape[0] == 16 and result.snapshots[5].shape[0] == 32
    assert result.best_iteration == len(result.history) - 1


def test_a_resumed_run_starts_at_its_scale_with_its_state_after_the_earlier_records():
    earlier = History([IterationRecord(i, 5.0, 0, 0, 0, 0.1 * i, i + 1, scale=16)
                       for i in range(4)])  # fmt: skip
    state = MinimizerState("lbfgs", {}, {})
    stages = Stages()
    result = run_scales(
        stages, Pyramid((16, 32, 64), (3, 2, 2)), first=1, earlier=earlier,
        state=state, done=1,
    )  # fmt: skip
    assert [s.size for s in stages.seen] == [32, 64]
    assert (stages.seen[0].state, stages.seen[0].done) == (state, 1)
    assert (stages.seen[1].state, stages.seen[1].done) == (None, 0)
    assert stages.seen[0].position.earlier_history == earlier
    assert [r.iteration for r in result.history] == [0, 1, 2, 3, 3, 4, 5, 5, 6, 7]


def test_an_interrupted_scale_gives_back_the_whole_runs_records():
    with pytest.raises(RunInterrupted) as caught:
        run_scales(Stages(interrupt_at=(32, 1)), Pyramid((16, 32), (3, 2)))
    partial = caught.value.result
    assert [(r.iteration, r.scale) for r in partial.history] == [
        (0, 16), (1, 16), (2, 16), (3, 16), (3, 32), (4, 32),
    ]  # fmt: skip
