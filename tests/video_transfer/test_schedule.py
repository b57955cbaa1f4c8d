"""naah.video_transfer.schedule: the order of a video run's steps."""

from naah.video_transfer import VideoSettings
from naah.video_transfer.schedule import flow_pairs, steps


def test_a_single_pass_goes_forward_comparing_with_earlier_frames_in_reach():
    order = steps(5, VideoSettings(long_term=(1, 2, 4)))
    assert [s.frame for s in order] == [0, 1, 2, 3, 4]
    assert [s.earlier for s in order] == [(), (0,), (1, 0), (2, 1), (3, 2, 0)]
    assert [s.previous for s in order] == [None, 0, 1, 2, 3]
    assert order[4].key == "1/5"


def test_passes_alternate_forward_and_backward_with_the_temporal_loss_from_the_middle():
    order = steps(3, VideoSettings(passes=4))
    assert [(s.pass_, s.frame) for s in order] == [
        (1, 0), (1, 1), (1, 2), (2, 2), (2, 1), (2, 0),
        (3, 0), (3, 1), (3, 2), (4, 2), (4, 1), (4, 0),
    ]  # fmt: skip
    # pass 1 of 4 has no temporal loss (it starts at the middle pass, 2); in a
    # backward pass the frame after is the one compared with
    assert [s.earlier for s in order[:3]] == [()] * 3
    assert [s.earlier for s in order[3:6]] == [(), (2,), (1,)]
    assert [s.previous for s in order[3:6]] == [None, 2, 1]
    assert [s.earlier for s in order[6:9]] == [(), (0,), (1,)]


def test_the_flows_are_both_directions_of_every_pair_a_step_or_the_error_reads():
    pairs = flow_pairs(5, VideoSettings(long_term=(1, 3)))
    expected = {(a, a + 1) for a in range(4)} | {(0, 3), (1, 4)}
    assert set(pairs) == expected | {(b, a) for a, b in expected}
