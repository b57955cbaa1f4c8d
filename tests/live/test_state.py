"""What both live views keep of a run, and chain()."""

import math

import numpy as np

from naah.live import chain
from naah.live._state import RunProgress, png_bytes, record_losses, summary
from naah.optim import IterationRecord


def record(iteration, total=1.0):
    return IterationRecord(iteration, total, 0.5, 0.25, 0.0, 0.0, iteration + 1)


def test_run_progress_keeps_the_records_and_the_latest_image():
    progress = RunProgress()
    images = [np.zeros((2, 2, 3)), np.ones((2, 2, 3))]
    for i, image in enumerate(images):
        progress.add(record(i), image)

    assert [r.iteration for r in progress.records] == [0, 1]
    assert progress.image is images[1]  # by reference, not copied
    assert progress.latest is progress.records[-1]
    assert progress.run == 0


def test_an_iteration_before_the_last_starts_a_new_run():
    progress = RunProgress()
    for i in (0, 1, 2, 1):
        progress.add(record(i), np.zeros((2, 2, 3)))

    assert progress.run == 1
    assert [r.iteration for r in progress.records] == [1]


def test_the_same_iteration_again_continues_the_run():
    # A coarse-to-fine run records each scale's start where the last one ended.
    progress = RunProgress()
    for i in (0, 1, 2, 2, 3):
        progress.add(record(i), np.zeros((2, 2, 3)))

    assert progress.run == 0
    assert [r.iteration for r in progress.records] == [0, 1, 2, 2, 3]


def test_record_losses_are_json_ready():
    assert record_losses(record(3, total=math.nan)) == {
        "iteration": 3,
        "total": None,
        "content": 0.5,
        "style": 0.25,
    }


def test_summary_is_one_line():
    assert summary(record(2)) == "iteration 2: total 1 (content 0.5, style 0.25)"


def test_png_bytes_is_a_png_file():
    assert png_bytes(np.full((3, 4, 3), 300.0)).startswith(b"\x89PNG\r\n\x1a\n")


def test_chain_calls_every_callback_in_order_and_skips_none():
    seen = []

    def first(r, i):
        seen.append(("first", r.iteration))

    def second(r, i):
        seen.append(("second", r.iteration))

    chain(first, None, second)(record(4), None)

    assert seen == [("first", 4), ("second", 4)]
    assert chain(None, first, None) is first
    assert chain() is None
