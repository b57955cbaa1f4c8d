"""Tests for naah.io.video: every clip is made here, with numpy, Pillow and PyAV;
what is read back is compared with the frames written and, for GIF timing and
stream tags, with what Pillow and PyAV read from the file themselves."""

import os
import sys
import wave
from fractions import Fraction

import numpy as np
import pytest
from PIL import Image

from naah.io import video
from naah.io.images import load_image, resize_to_long_edge, to_uint8
from naah.io.video import (
    VIDEO_SUFFIXES,
    WRITE_SUFFIXES,
    Frames,
    VideoError,
    frame_path,
    is_video_path,
    read_frames,
    write_frames,
    write_video,
)

try:
    import av
except ImportError:  # the folder tests still run
    av = None

needs_av = pytest.mark.skipif(
    av is None, reason='needs PyAV: pip install "naah[video]"'
)
# write_video's suffixes, the ones PyAV writes marked as needing it.
WRITERS = [
    suffix if suffix == ".gif" else pytest.param(suffix, marks=needs_av)
    for suffix in WRITE_SUFFIXES
]
H, W, N = 48, 64, 6
STEP = 2  # pixels the picture moves each frame


def gradient_clip(n=N, h=H, w=W):
    """``n`` frames of a smooth colour gradient moving STEP pixels right a frame."""
    y, x = np.mgrid[0:h, 0 : w + STEP * n].astype(np.float64)
    wide = np.stack([40 + 2 * x, 30 + 3 * y, 220 - x - y], axis=-1)
    return [
        wide[:, STEP * (n - i) : STEP * (n - i) + w].astype(np.uint8) for i in range(n)
    ]


def mean_abs_error(a, b):
    return np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).mean()


def saved_pngs(folder, names_and_images):
    folder.mkdir(exist_ok=True)
    for name, image in names_and_images:
        Image.fromarray(image).save(folder / name)
    return folder


@pytest.fixture(scope="module")
def mp4(tmp_path_factory):
    """The gradient clip as an .mp4 at 25 fps (written once for the module)."""
    return write_video(gradient_clip(), tmp_path_factory.mktemp("mp4") / "clip.mp4")


def test_module_exports_exactly_the_documented_api():
    assert sorted(video.__all__) == [
        "Frames",
        "VIDEO_SUFFIXES",
        "VideoError",
        "WRITE_SUFFIXES",
        "frame_path",
        "is_video_path",
        "read_frames",
        "write_frames",
        "write_video",
    ]
    assert issubclass(VideoError, ValueError)
    assert set(WRITE_SUFFIXES) <= set(VIDEO_SUFFIXES)


# --- folders of frames -------------------------------------------------------------


def test_frames_written_to_a_folder_read_back_exactly(tmp_path):
    clip = gradient_clip()
    paths = write_frames(clip, tmp_path / "new" / "frames")
    assert [p.name for p in paths] == [f"frame_{i:05d}.png" for i in range(1, N + 1)]
    frames = read_frames(tmp_path / "new" / "frames")
    assert len(frames) == N
    assert frames.fps is None
    assert frames.names == tuple(p.name for p in paths)
    assert frames.source == str(tmp_path / "new" / "frames")
    for got, want in zip(frames.images, clip, strict=True):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, want)


def test_write_frames_numbers_from_start_as_frame_path_names_them(tmp_path):
    paths = write_frames(gradient_clip(3), tmp_path, start=10)
    assert paths == [frame_path(tmp_path, i) for i in (10, 11, 12)]
    assert [p.name for p in paths] == [f"frame_000{i}.png" for i in (11, 12, 13)]
    assert sorted(os.listdir(tmp_path)) == [p.name for p in paths]


def test_float_frames_are_rounded_and_clipped_like_saved_images(tmp_path):
    floats = [np.full((4, 6, 3), v) for v in (-5.0, 12.5, 13.5, 300.0)]
    write_frames(floats, tmp_path)
    got = [image[0, 0, 0] for image in read_frames(tmp_path).images]
    assert got == [0, 12, 14, 255]  # round half to even, as to_uint8


def test_a_folder_is_read_in_natural_order_without_hidden_or_other_files(tmp_path):
    values = {"frame10.png": 30, "frame2.png": 20, "frame1.png": 10, "Frame3.PNG": 25}
    saved_pngs(tmp_path, [(n, np.full((4, 6, 3), v, np.uint8)) for n, v in values.items()])  # fmt: skip
    saved_pngs(tmp_path, [(".frame0.png", np.zeros((9, 9, 3), np.uint8))])
    (tmp_path / "notes.txt").write_text("not a frame")
    (tmp_path / "sub.png").mkdir()  # a folder, however it is named
    frames = read_frames(tmp_path)
    assert frames.names == ("frame1.png", "frame2.png", "Frame3.PNG", "frame10.png")
    assert [image[0, 0, 0] for image in frames.images] == [10, 20, 25, 30]


def test_frames_start_stop_selects_frames_start_to_stop_minus_one(tmp_path):
    clip = gradient_clip()
    write_frames(clip, tmp_path)
    frames = read_frames(tmp_path, frames=(1, 4))
    assert frames.names == ("frame_00002.png", "frame_00003.png", "frame_00004.png")
    for got, want in zip(frames.images, clip[1:4], strict=True):
        np.testing.assert_array_equal(got, want)
    assert len(read_frames(tmp_path, frames=(4, None))) == 2
    assert len(read_frames(tmp_path, frames=(4, 100))) == 2  # a stop past the end


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        ((-1, 3), r"start must be an int, 0 or more"),
        ((3, 3), r"stop must be an int greater than start"),
        ((4, 2), r"stop must be an int greater than start"),
        ((1.0, 3), r"start must be an int"),
        ((1, 2, 3), r"frames must be \(start, stop\)"),
        ((6, None), r"starts past the end of .*frames: it has 6 frames \(0 to 5\)"),
        ((9, 12), r"it has 6 frames \(0 to 5\); give a start below 6"),
    ],
)
def test_bad_frame_ranges_say_what_is_wrong(tmp_path, frames, message):
    write_frames(gradient_clip(), tmp_path / "frames")
    with pytest.raises(VideoError, match=message):
        read_frames(tmp_path / "frames", frames=frames)


def test_a_folder_without_images_is_refused_with_a_reason(tmp_path):
    (tmp_path / "readme.txt").write_text("no frames here")
    saved_pngs(tmp_path, [(".hidden.png", np.zeros((2, 2, 3), np.uint8))])
    with pytest.raises(VideoError, match=r"holds no frames: no image files \(.png"):
        read_frames(tmp_path)


def test_frames_of_differing_sizes_name_the_first_odd_file_and_both_sizes(tmp_path):
    saved_pngs(tmp_path, [
        ("a1.png", np.zeros((48, 64, 3), np.uint8)),
        ("a2.png", np.zeros((48, 64, 3), np.uint8)),
        ("a3.png", np.zeros((48, 60, 3), np.uint8)),
        ("a4.png", np.zeros((40, 64, 3), np.uint8)),
    ])  # fmt: skip
    message = r"a3.png is 60x48 pixels, but a1.png, the first frame read, is 64x48"
    with pytest.raises(VideoError, match=message):
        read_frames(tmp_path)
    with pytest.raises(VideoError, match=message):  # the same with a long edge
        read_frames(tmp_path, long_edge=32)
    assert len(read_frames(tmp_path, frames=(0, 2))) == 2  # the rest is not read


def test_a_folder_read_with_a_long_edge_is_resized_as_load_image_resizes(tmp_path):
    write_frames(gradient_clip(3), tmp_path)
    frames = read_frames(tmp_path, long_edge=32)
    for got, name in zip(frames.images, frames.names, strict=True):
        assert got.shape == (24, 32, 3)
        want = to_uint8(load_image(tmp_path / name, long_edge=32))
        np.testing.assert_array_equal(got, want)


def test_a_broken_image_in_a_folder_is_a_video_error_naming_it(tmp_path):
    write_frames(gradient_clip(2), tmp_path)
    (tmp_path / "frame_00003.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(VideoError, match=r"frame_00003.png"):
        read_frames(tmp_path)


# --- video files -------------------------------------------------------------------


@needs_av
@pytest.mark.parametrize(("suffix", "fps"), [(".mp4", 25.0), (".webm", 29.97)])
def test_a_video_reads_back_close_to_the_frames_written_at_their_rate(
    tmp_path, suffix, fps
):
    clip = gradient_clip()
    path = write_video(clip, tmp_path / f"clip{suffix}", fps=fps)
    assert path == tmp_path / f"clip{suffix}"
    frames = read_frames(path)
    assert len(frames) == N
    assert frames.names == tuple(f"frame {i}" for i in range(1, N + 1))
    assert frames.source == str(path)
    assert frames.fps == pytest.approx(fps, abs=1e-3)
    for got, want in zip(frames.images, clip, strict=True):
        assert got.shape == (H, W, 3) and got.dtype == np.uint8
        assert mean_abs_error(got, want) < 6


@needs_av
def test_ntsc_rates_are_stored_exactly(tmp_path):
    path = write_video(gradient_clip(2), tmp_path / "ntsc.mp4", fps=30000 / 1001)
    with av.open(str(path)) as container:
        assert container.streams.video[0].average_rate == Fraction(30000, 1001)


@needs_av
def test_saturated_colours_survive_and_the_stream_is_tagged_bt709(tmp_path):
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255),
               (255, 0, 255), (255, 255, 255), (0, 0, 0)]  # fmt: skip
    bars = np.zeros((16, 128, 3), np.uint8)
    for i, colour in enumerate(colours):
        bars[:, 16 * i : 16 * (i + 1)] = colour
    path = write_video([bars] * 2, tmp_path / "bars.mp4")
    got = read_frames(path).images[0]
    centres = got[8, 8::16].astype(int)  # away from the bars' blurred edges
    np.testing.assert_allclose(centres, np.array(colours), atol=4)
    with av.open(str(path)) as container:
        context = container.streams.video[0].codec_context
        assert (context.colorspace, context.color_primaries, context.color_trc) == (
            1,  # AVCOL_SPC_BT709
            1,  # AVCOL_PRI_BT709
            1,  # AVCOL_TRC_BT709
        )
        assert context.color_range == 1  # AVCOL_RANGE_MPEG (limited)


@needs_av
def test_odd_sides_are_padded_by_repeating_the_last_row_and_column(tmp_path):
    clip = [frame[:47, :63] for frame in gradient_clip(3)]
    frames = read_frames(write_video(clip, tmp_path / "odd.mp4"))
    for got, want in zip(frames.images, clip, strict=True):
        assert got.shape == (48, 64, 3)  # as stored: padded to even sides
        padded = np.pad(want, ((0, 1), (0, 1), (0, 0)), mode="edge")
        assert mean_abs_error(got, padded) < 6
        assert mean_abs_error(got[47, :63], want[46]) < 6  # the repeated row
        assert mean_abs_error(got[:47, 63], want[:, 62]) < 6  # and column
    gif = read_frames(write_video(clip, tmp_path / "odd.gif"))
    assert gif.images[0].shape == (47, 63, 3)  # GIF needs no padding


@needs_av
def test_float_frames_are_written_rounded_and_clipped(tmp_path):
    floats = [np.full((4, 6, 3), v) for v in (-5.0, 12.5, 13.5, 300.0)]
    gif = write_video(floats, tmp_path / "floats.gif")  # a flat frame's GIF is exact
    with Image.open(gif) as frames:
        got = []
        for i in range(frames.n_frames):
            frames.seek(i)
            got.append(np.asarray(frames.convert("RGB"))[0, 0, 0])
    assert got == [0, 12, 14, 255]  # round half to even, as to_uint8
    clip = gradient_clip(3)
    mp4 = write_video([frame + np.float32(0.2) for frame in clip], tmp_path / "a.mp4")
    for got_frame, want in zip(read_frames(mp4).images, clip, strict=True):
        assert mean_abs_error(got_frame, want) < 6


@needs_av
def test_frames_start_stop_of_a_video_matches_the_full_read(mp4):
    everything = read_frames(mp4)
    part = read_frames(mp4, frames=(2, 4))
    assert part.names == ("frame 3", "frame 4")
    assert part.fps == everything.fps
    for got, want in zip(part.images, everything.images[2:4], strict=True):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(VideoError, match=r"clip.mp4: it has 6 frames \(0 to 5\)"):
        read_frames(mp4, frames=(6, None))


@needs_av
def test_a_video_is_decoded_only_up_to_stop(mp4, monkeypatch):
    decoded = []

    class Counting:
        """A container whose decode() records each frame it gives."""

        def __init__(self, container):
            self.container = container

        def __getattr__(self, name):
            return getattr(self.container, name)

        def __enter__(self):
            return self

        def __exit__(self, *error):
            return self.container.__exit__(*error)

        def decode(self, *streams):
            for frame in self.container.decode(*streams):
                decoded.append(frame.pts)
                yield frame

    class CountingAV:
        error = av.error
        video = av.video

        @staticmethod
        def open(*args, **kwargs):
            return Counting(av.open(*args, **kwargs))

    monkeypatch.setattr(video, "_import_av", lambda: CountingAV)
    assert len(read_frames(mp4, frames=(1, 3))) == 2
    assert len(decoded) == 3  # frames 0, 1 and 2 of 6


@needs_av
def test_a_video_read_with_a_long_edge_is_each_frame_resized(mp4):
    full = read_frames(mp4)
    small = read_frames(mp4, long_edge=32)
    for got, frame in zip(small.images, full.images, strict=True):
        assert got.shape == (24, 32, 3) and got.dtype == np.uint8
        np.testing.assert_array_equal(got, to_uint8(resize_to_long_edge(frame, 32)))


@needs_av
def test_a_rotated_video_is_turned_upright(tmp_path):
    stored = np.zeros((48, 64, 3), np.uint8)
    stored[:16, :16] = 255  # top-left as stored
    path = tmp_path / "phone.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.set_display_rotation(-90)  # as a phone held upright: turn clockwise
        for _ in range(2):
            frame = av.VideoFrame.from_ndarray(stored, format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    upright = read_frames(path).images[0]
    assert upright.shape == (64, 48, 3)
    # A quarter turn clockwise takes the top-left corner to the top-right.
    assert upright[:16, -16:].mean() > 240
    assert upright[:16, :16].mean() < 15 and upright[-16:, -16:].mean() < 15


@needs_av
def test_gif_round_trip_keeps_count_size_and_rate(tmp_path):
    clip = gradient_clip()
    path = write_video(clip, tmp_path / "clip.gif", fps=25)
    with Image.open(path) as gif:  # Pillow reads the delays itself
        assert gif.n_frames == N
        assert gif.info["duration"] == 40
        assert gif.info["loop"] == 0
    frames = read_frames(path)
    assert len(frames) == N
    assert frames.fps == pytest.approx(25, abs=1e-3)
    for got, want in zip(frames.images, clip, strict=True):
        assert got.shape == (H, W, 3)
        assert mean_abs_error(got, want) < 6  # a 256-colour palette a frame


@pytest.mark.parametrize(("fps", "delay_ms"), [(30, 30), (12, 80), (100, 20)])
def test_gif_delays_are_the_nearest_hundredths_and_at_least_two(
    tmp_path, fps, delay_ms
):
    path = write_video(gradient_clip(2), tmp_path / "clip.gif", fps=fps)
    with Image.open(path) as gif:
        assert gif.info["duration"] == delay_ms


def test_a_gif_stores_a_repeated_frame_as_a_longer_delay(tmp_path):
    a, b = gradient_clip(2)
    path = write_video([a, a, b], tmp_path / "still.gif", fps=10)
    with Image.open(path) as gif:
        assert gif.n_frames == 2
        assert gif.info["duration"] == 200  # a, shown for two frames' time


# --- bad input and output ----------------------------------------------------------


@needs_av
def test_a_garbage_file_named_mp4_is_a_video_error_naming_it(tmp_path):
    path = tmp_path / "garbage.mp4"
    path.write_bytes(b"\0not a video" * 100)
    with pytest.raises(VideoError, match=r"garbage.mp4 is not a video PyAV can read"):
        read_frames(path)


@needs_av
def test_a_truncated_mp4_is_a_video_error_naming_it(tmp_path, mp4):
    path = tmp_path / "cut.mp4"
    path.write_bytes(mp4.read_bytes()[: mp4.stat().st_size // 2])
    with pytest.raises(VideoError, match=r"cut.mp4"):
        read_frames(path)


def test_a_missing_path_is_a_video_error(tmp_path):
    with pytest.raises(
        VideoError, match=r"no video file or folder of frames at .*gone"
    ):
        read_frames(tmp_path / "gone.mp4")


@needs_av
def test_a_file_without_a_video_stream_is_refused(tmp_path):
    path = tmp_path / "sound.wav"
    with wave.open(str(path), "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(b"\0\0" * 800)
    with pytest.raises(VideoError, match=r"sound.wav has no video stream \(only audio"):
        read_frames(path)


@pytest.mark.parametrize("name", ["out.mov", "out.png", "out"])
def test_an_unknown_output_suffix_lists_the_formats_and_the_folder_option(
    tmp_path, name
):
    with pytest.raises(VideoError, match=r".mp4, .webm, .gif; .* folder .*-o DIR/"):
        write_video(gradient_clip(2), tmp_path / name)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        ([], r"no frames to write"),
        ([np.zeros((4, 6), np.uint8)], r"frame 0 .* shape \(4, 6\); frames must be"),
        ([np.zeros((4, 6, 3), np.int64)], r"frame 0 .* dtype int64; give uint8"),
        (
            [np.zeros((4, 6, 3), np.uint8), np.zeros((4, 8, 3), np.uint8)],
            r"frame 1 .* is 8x4 pixels but frame 0 is 6x4",
        ),
        (
            [np.zeros((4, 6, 3)), np.full((4, 6, 3), np.nan)],
            r"frame 1 .* holds NaN or infinity",
        ),
    ],
)
@pytest.mark.parametrize("suffix", WRITERS)
def test_frames_that_make_no_video_are_refused_and_no_file_is_left(
    tmp_path, frames, message, suffix
):
    with pytest.raises(VideoError, match=message):
        write_video(frames, tmp_path / f"clip{suffix}")
    assert os.listdir(tmp_path) == []


def test_a_bad_fps_is_refused(tmp_path):
    for fps in (0, -25, float("inf"), float("nan")):
        with pytest.raises(ValueError, match=r"fps must be positive and finite"):
            write_video(gradient_clip(2), tmp_path / "clip.mp4", fps=fps)


@pytest.mark.parametrize("suffix", WRITERS)
def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(
    tmp_path, monkeypatch, suffix
):
    path = tmp_path / f"clip{suffix}"
    path.write_bytes(b"the old video")
    convert = video._pixels
    calls, during = [], []

    def interrupted_at_the_fourth_frame(image, index, name):
        calls.append(index)
        if index == 3:
            during.extend(sorted(os.listdir(tmp_path)))
            raise KeyboardInterrupt
        return convert(image, index, name)

    monkeypatch.setattr(video, "_pixels", interrupted_at_the_fourth_frame)
    with pytest.raises(KeyboardInterrupt):
        write_video(gradient_clip(), path)
    assert calls == [0, 1, 2, 3]  # three frames were converted first
    assert len(during) == 2 and during[0].startswith(f".{path.name}.")  # the temporary
    assert os.listdir(tmp_path) == [path.name]
    assert path.read_bytes() == b"the old video"


def test_a_missing_output_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"folder .*nowhere does not exist"):
        write_video(gradient_clip(2), tmp_path / "nowhere" / "clip.gif")


# --- without PyAV -------------------------------------------------------------------


def test_without_pyav_videos_say_how_to_install_it_and_folders_still_work(
    tmp_path, monkeypatch
):
    write_frames(gradient_clip(3), tmp_path / "frames")
    mp4 = tmp_path / "clip.mp4"
    mp4.write_bytes(b"never opened")
    monkeypatch.setitem(sys.modules, "av", None)  # as if PyAV were not installed
    install = r'video files need PyAV: pip install "naah\[video\]"'
    with pytest.raises(ImportError, match=install):
        read_frames(mp4)
    with pytest.raises(ImportError, match=install):
        write_video(gradient_clip(2), tmp_path / "new.mp4")
    assert len(read_frames(tmp_path / "frames")) == 3
    write_video(gradient_clip(2), tmp_path / "clip.gif")  # Pillow writes GIFs
    with Image.open(tmp_path / "clip.gif") as gif:
        assert gif.n_frames == 2


# --- naming outputs -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "is_video"),
    [
        ("out.mp4", True),
        ("out.WEBM", True),
        ("dir/out.gif", True),
        ("out.mov", True),  # a video write_video refuses, with a reason
        ("out.mp4/", False),
        ("out", False),
        ("frames.d", False),
        ("out.png", False),
    ],
)
def test_is_video_path_tells_video_files_from_folders(path, is_video):
    assert is_video_path(path) is is_video


def test_an_existing_folder_is_not_a_video_path_whatever_its_name(tmp_path):
    (tmp_path / "odd.mp4").mkdir()
    assert not is_video_path(tmp_path / "odd.mp4")


@pytest.mark.parametrize("pattern", ["frame.png", "frame_{}_{}.png", "{:05d}/a.png"])
def test_frame_patterns_must_name_one_numbered_file(pattern):
    with pytest.raises(ValueError, match="pattern"):
        frame_path("out", 0, pattern)


def test_frames_need_one_name_per_image():
    with pytest.raises(ValueError, match="one name per image"):
        Frames((np.zeros((2, 2, 3), np.uint8),), None, (), "x")
