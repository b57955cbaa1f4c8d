"""naah.video_transfer.runner: a clip stylised frame by frame with Ruder et al.'s
temporal consistency, resumable, on one compiled problem (fixture weights, tiny
frames)."""

import numpy as np
import pytest

from naah import StyleTransfer
from naah.metrics import warping_error
from naah.runs import RunInterrupted
from naah.testing import write_vgg19_mat
from naah.video_transfer import WorkMismatch
from naah.video_transfer.runner import blended_start

SHAPE = (40, 56)
SHIFT = 2  # pixels per frame, to the right


@pytest.fixture(scope="module")
def transfer(tmp_path_factory):
    weights = write_vgg19_mat(tmp_path_factory.mktemp("weights") / "vgg19.mat")
    return StyleTransfer(
        weights, style_layers=("conv1_1", "conv2_1"), content_layers=("conv2_2",)
    )


def smooth_texture(shape, seed):
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    texture = gaussian_filter(rng.uniform(0, 255, (*shape, 3)), (2, 2, 0))
    texture -= texture.min()
    return (255 * texture / texture.max()).astype(np.uint8)


def pan(count=4):
    """Frames of a pan: each shows the scene SHIFT px further left; and the exact
    flows (forward: +SHIFT in x, backward: -SHIFT)."""
    height, width = SHAPE
    scene = smooth_texture((height, width + SHIFT * count), seed=0)
    frames = [scene[:, SHIFT * (count - k) : SHIFT * (count - k) + width]
              for k in range(count)]  # fmt: skip
    forward = np.zeros((*SHAPE, 2), np.float32)
    forward[..., 0] = SHIFT
    return frames, [(forward, -forward)] * (count - 1)


STYLE = smooth_texture((48, 48), seed=1)
RUN = {"size": None, "iterations": 4, "progress": False, "processes": 1}


def test_a_clip_is_stylised_frame_by_frame_tied_to_the_frame_before(transfer, tmp_path):
    frames, _ = pan()
    result = transfer.run_video(frames, STYLE, work=tmp_path / "w", **RUN)
    assert len(result.frames) == 4
    assert all(f.shape == (*SHAPE, 3) and f.dtype == np.uint8 for f in result.frames)
    reports = result.reports
    assert [r.iterations for r in reports] == [8, 4, 4, 4]  # first frame: twice
    assert reports[0].temporal == 0 and all(r.temporal > 0 for r in reports[1:])
    assert result.warping is not None and len(result.warping.per_frame) == 3
    assert [r.warping_error for r in reports[1:]] == list(result.warping.per_frame)
    assert (tmp_path / "w" / "flows" / "00002_00001.npy").is_file()


def test_the_temporal_loss_and_warped_start_lower_the_warping_error(transfer, tmp_path):
    frames, exact = pan()
    independent = transfer.run_video(
        frames, STYLE, work=tmp_path / "a", init="noise", temporal_weight=0, **RUN
    )
    tied = transfer.run_video(
        frames, STYLE, work=tmp_path / "b", temporal_weight=1e4, **RUN
    )
    errors = [warping_error(r.frames, exact).overall for r in (independent, tied)]
    assert errors[1] < 0.3 * errors[0]


def test_an_interrupted_clip_continues_to_the_same_frames_bit_for_bit(
    transfer, tmp_path
):
    frames, _ = pan()
    whole = transfer.run_video(frames, STYLE, work=tmp_path / "whole", **RUN)

    def interrupt(record, image):
        calls.append(record)
        if len(calls) == 9 + 3:  # frame 1's 9 records (0 to 8), then frame 2's third
            raise KeyboardInterrupt

    calls = []
    with pytest.raises(RunInterrupted):
        transfer.run_video(
            frames, STYLE, work=tmp_path / "cut", callback=interrupt, **RUN
        )
    checkpoint = tmp_path / "cut" / "pass_1" / "frame_00002.ckpt"
    assert checkpoint.is_file()
    assert (tmp_path / "cut" / "pass_1" / "frame_00001.png").is_file()

    calls = []
    continued = transfer.run_video(
        frames,
        STYLE,
        work=tmp_path / "cut",
        callback=lambda r, i: calls.append(r),
        **RUN,
    )
    assert calls[0].iteration > 0  # frame 1 was not done again; frame 2 resumed
    for a, b in zip(whole.frames, continued.frames, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not checkpoint.exists()


def test_a_rerun_with_other_settings_is_refused_before_any_work(transfer, tmp_path):
    frames, _ = pan(3)
    transfer.run_video(frames, STYLE, work=tmp_path / "w", **RUN)
    calls = []
    with pytest.raises(WorkMismatch, match="temporal_weight: 1000.0 -> 5.0"):
        transfer.run_video(frames, STYLE, work=tmp_path / "w", temporal_weight=5.0,
                           callback=lambda r, i: calls.append(r), **RUN)  # fmt: skip
    assert calls == []
    changed = [frames[0], frames[2], frames[1]]
    with pytest.raises(WorkMismatch, match="frames"):
        transfer.run_video(changed, STYLE, work=tmp_path / "w", **RUN)
    again = transfer.run_video(
        changed, STYLE, work=tmp_path / "w", overwrite=True, **RUN
    )
    assert len(again.frames) == 3


def test_one_compiled_problem_per_number_of_frames_compared(transfer, tmp_path):
    frames, _ = pan(3)
    transfer.run_video(frames, STYLE, work=tmp_path / "a", long_term=(1, 2), **RUN)
    transfer.run_video(frames, STYLE, work=tmp_path / "b", temporal_weight=0, **RUN)
    keys = set(transfer.session.problems)
    assert (0, False, 2) in keys and (0, False, 0) in keys


def test_multi_pass_runs_every_pass_and_keeps_each(transfer, tmp_path):
    frames, _ = pan(3)
    result = transfer.run_video(frames, STYLE, work=tmp_path / "w", passes=2, **RUN)
    assert len(result.frames) == 3
    for pass_ in (1, 2):
        assert len(list((tmp_path / "w" / f"pass_{pass_}").glob("*.png"))) == 3
    assert [r.iterations for r in result.reports] == [4, 4, 4]


def test_a_later_pass_starts_from_ruders_blend_of_its_result_and_its_neighbours():
    rng = np.random.default_rng(3)
    own, warped = rng.uniform(0, 255, (2, 5, 6, 3))
    c = (rng.uniform(size=(5, 6)) > 0.5).astype(np.float32)
    delta = 0.5
    # δ c ∘ ω + (δ̄ 1 + δ c̄) ∘ x, as in section 3.5
    expected = (delta * c[..., None] * warped
                + ((1 - delta) + delta * (1 - c[..., None])) * own)  # fmt: skip
    np.testing.assert_allclose(
        blended_start(own, warped, c, delta), expected, rtol=1e-5
    )


def test_the_result_saves_as_frames_or_a_gif(transfer, tmp_path):
    frames, _ = pan(3)
    result = transfer.run_video(frames, STYLE, work=tmp_path / "w", **RUN)
    folder = result.save(tmp_path / "out")
    assert sorted(p.name for p in folder.iterdir()) == [
        "frame_00001.png", "frame_00002.png", "frame_00003.png"
    ]  # fmt: skip
    assert result.save(tmp_path / "clip.gif").stat().st_size > 0


def test_naah_video_gives_transfer_settings_to_the_transfer_and_writes(tmp_path):
    import naah

    weights = write_vgg19_mat(tmp_path / "vgg19.mat")
    frames, _ = pan(3)
    result = naah.video(
        frames,
        STYLE,
        tmp_path / "clip.gif",
        weights=weights,
        style_layers=("conv1_1",),
        content_layers=("conv1_2",),
        size=None,
        iterations=2,
        passes=1,
        progress=False,
        processes=1,
    )
    assert len(result.frames) == 3 and (tmp_path / "clip.gif").is_file()
    assert result.work == tmp_path / "clip.gif.naah-video"
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        naah.video(frames, STYLE, weights=weights, colour="luminance")


def test_the_first_frame_is_the_image_run_of_that_frame_styles_scaled_alike(
    transfer, tmp_path
):
    frames, _ = pan(2)
    big_style = smooth_texture((120, 150), seed=4)  # scaled to the frames' size
    settings = {"iterations": 3, "progress": False}
    clip = transfer.run_video(
        frames, big_style, work=tmp_path / "w", size=48, processes=1,
        first_iterations=3, **settings,
    )  # fmt: skip
    alone = transfer.run(frames[0], big_style, size=48, init="noise", **settings)
    np.testing.assert_array_equal(clip.frames[0], alone.image)
