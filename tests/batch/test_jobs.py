"""Batch jobs: grids, TOML job files and deterministic names (nothing compiles)."""

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from naah.batch import Plan, SettingError, load_job_file, parse_grid
from naah.batch.jobs import (
    HASH_LENGTH,
    MAX_JOB_FILE_BYTES,
    MAX_JOBS,
    MAX_TOML_DEPTH,
    find_images,
)
from naah.batch.settings import defaults, parse_assignment, resolve, setting_key
from naah.regions import MAX_REGIONS, region_from_text
from tests._bounds import deadline
from tests.io import _corpus


# -- grids ---------------------------------------------------------------------------
def test_a_grid_parses_each_key_with_its_stylize_option_type():
    grid = parse_grid(
        ["beta=1e2,1e4", "pooling=max,avg", "seed=0,1", "learning-rate=10",
         "style-layers=conv1_1+conv2_1,conv3_1", "content-weight=0.5",
         "scales=16+32,32"]
    )  # fmt: skip
    assert grid == {
        "beta": [100.0, 10000.0],
        "pooling": ["max", "avg"],
        "seed": [0, 1],
        "learning_rate": [10.0],
        "style_layers": [("conv1_1", "conv2_1"), ("conv3_1",)],
        "alpha": [0.5],
        "scales": [(16, 32), (32,)],
    }


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("betta=1,2", ["'betta'", "did you mean beta?"]),
        ("beta=1,x", ["beta=1,x", "beta must be a number", "'x'"]),
        ("pooling=max,mean", ["pooling", "'mean'", "max, avg"]),
        ("seed=-1", ["seed", "'-1'"]),
        ("size=0", ["size", "positive"]),
        ("style-layers=conv1_1+conv9_1", ["style_layers", "'conv9_1'"]),
        ("beta", ["'beta'", "KEY=V1,V2"]),
        ("beta=1,,2", ["empty value"]),
        ("content=a.png", ["input", "--content PATH"]),
        ("scales=32+16", ["scales", "increasing"]),
    ],
)
def test_a_bad_grid_key_or_value_is_a_one_line_error_naming_it(text, named):
    with pytest.raises(SettingError) as error:
        parse_grid([text])
    message = str(error.value)
    assert "\n" not in message
    for part in named:
        assert part in message


def test_a_grid_key_given_twice_is_refused():
    with pytest.raises(SettingError, match="beta is given twice"):
        parse_grid(["beta=1", "style-weight=2"])


def test_settings_unknown_to_the_table_are_checked_by_their_default_type():
    assert parse_assignment("bounds=false") == ("bounds", False)
    with pytest.raises(SettingError, match="bounds must be true or false"):
        parse_assignment("bounds=maybe")


def test_style_weights_must_match_the_style_layers():
    with pytest.raises(SettingError, match="2 weights for 5 style layers"):
        resolve({"style_weights": (0.5, 0.5)})
    settings, _ = resolve(
        {"style_layers": ("conv1_1", "conv2_1"), "style_weights": (1, 3)}
    )
    assert settings["style_layers"] == {"conv1_1": 1.0, "conv2_1": 3.0}


def test_defaults_are_the_libraries_own():
    values = defaults()
    assert (
        values["beta"] == 1e3 and values["size"] == 512 and values["iterations"] == 500
    )
    assert setting_key("--style-weight") == "beta"


# -- expansion and names -------------------------------------------------------------
def plan(inputs, **kw):
    return Plan([str(inputs / "contents")], [str(inputs / "styles" / "s1.png")], **kw)


def test_one_job_per_content_style_and_grid_point(inputs):
    jobs = plan(
        inputs, base={"size": 40}, grid={"beta": [1.0, 2.0], "seed": [0, 1, 2]}
    ).jobs()
    assert len(jobs) == 2 * 1 * 6
    assert {j.run["size"] for j in jobs} == {40}
    assert [j.varied for j in jobs[:2]] == [
        {"beta": 1.0, "seed": 0},
        {"beta": 1.0, "seed": 1},
    ]


def test_a_grid_of_a_million_jobs_is_refused_at_once_naming_its_factors(inputs):
    ten = list(range(1, 11))
    keys = ("beta", "alpha", "tv_weight", "seed", "iterations", "learning_rate")
    huge = plan(inputs, grid={key: ten for key in keys})
    assert huge.job_count() == 2 * 10**6  # two contents
    start = time.perf_counter()
    with pytest.raises(SettingError) as error:
        huge.jobs()
    assert time.perf_counter() - start < 1  # counted, not made (87 s before)
    assert str(error.value).startswith(
        "the batch has 2,000,000 jobs (2 contents × 10 beta × 10 alpha × "
    )
    assert f"more than {MAX_JOBS:,}: give fewer --grid values" in str(error.value)


def test_a_grid_at_the_bound_is_planned(inputs, monkeypatch):
    monkeypatch.setattr("naah.batch.jobs.MAX_JOBS", 6)
    assert len(plan(inputs, grid={"seed": [0, 1, 2]}).jobs()) == 6
    with pytest.raises(SettingError, match="the batch has 8 jobs"):
        plan(inputs, grid={"seed": [0, 1, 2, 3]}).jobs()


def test_names_are_readable_and_end_in_a_short_hash(inputs):
    job = plan(inputs, grid={"beta": [1e4], "pooling": ["avg"]}).jobs()[0]
    stem, _, digest = job.name.rpartition("__")
    assert stem == "c1__s1__beta=10000_pooling=avg"
    assert len(digest) == HASH_LENGTH and int(digest, 16) >= 0
    assert job.output_name == job.name + ".png"


def test_names_are_the_same_for_the_same_job_and_differ_otherwise(inputs, tmp_path):
    names = [j.name for j in plan(inputs, grid={"beta": [1.0, 2.0]}).jobs()]
    assert names == [j.name for j in plan(inputs, grid={"beta": [1.0, 2.0]}).jobs()]
    assert len(set(names)) == len(names)
    # An input copied elsewhere is the same job; a setting given at its default too.
    shutil.copy(inputs / "contents" / "c1.png", tmp_path / "c1.png")
    copied = Plan(
        [str(tmp_path / "c1.png")], [str(inputs / "styles")], grid={"beta": [1.0]}
    )
    assert copied.jobs()[0].name == names[0]
    explicit = plan(inputs, base={"pooling": "max", "size": 512}, grid={"beta": [1.0]})
    assert explicit.jobs()[0].name == names[0]
    # Any other setting, even one the name does not show, gives another name.
    other = plan(inputs, base={"iterations": 7}, grid={"beta": [1.0]})
    assert other.jobs()[0].name != names[0]


def test_folders_globs_and_files_each_name_images_once(inputs):
    found = find_images(
        [
            inputs / "contents",
            str(inputs / "contents" / "c*.png"),
            inputs / "styles" / "s1.png",
        ],
        "content",
    )
    assert [p.rsplit("/", 1)[1] for p in found] == ["c1.png", "c2.png", "s1.png"]


@pytest.mark.parametrize(
    ("pattern", "message"),
    [("missing.png", "no such file"), ("*.nothing", "matches no file")],
)
def test_inputs_that_name_nothing_are_refused(tmp_path, pattern, message):
    with pytest.raises(SettingError, match=message):
        find_images([str(tmp_path / pattern)], "content")


def test_a_grid_point_that_cannot_run_names_itself(inputs):
    with pytest.raises(SettingError, match="grid point alpha=0: nothing to minimise"):
        plan(inputs, base={"beta": 0.0}, grid={"alpha": [0.0, 1.0]}).jobs()


def test_a_folder_that_is_the_out_dir_gives_no_job_output_as_an_input(inputs, tmp_path):
    folder = shutil.copytree(inputs / "contents", tmp_path / "in")
    styles = [str(inputs / "styles" / "s1.png")]
    plan = Plan([str(folder)], styles, base={"size": 32}, out_dir=str(folder))
    jobs = plan.jobs()
    for job in jobs:  # as if they had run
        shutil.copy(job.content, folder / job.output_name)
    glob_plan = Plan([str(folder / "*.png")], styles, base={"size": 32},
                     out_dir=str(folder))  # fmt: skip
    assert [j.name for j in plan.jobs()] == [j.name for j in jobs]
    assert [j.name for j in glob_plan.jobs()] == [j.name for j in jobs]
    # Elsewhere, the same files are images like any other.
    other = Plan([str(folder)], styles, base={"size": 32}, out_dir=str(tmp_path))
    assert len(other.jobs()) == 2 * len(jobs)


def test_a_plan_says_which_input_would_take_a_file_written_later(inputs, tmp_path):
    plan = Plan([str(inputs / "contents")], [str(inputs / "styles" / "*.png")],
                out_dir=str(tmp_path))  # fmt: skip
    assert plan.takes(inputs / "contents" / "sheet.png") == (
        f"--content {inputs / 'contents'}"
    )
    assert plan.takes(inputs / "styles" / "sheet.png") == (
        f"--style {inputs / 'styles' / '*.png'}"
    )
    assert plan.takes(inputs / "styles" / "sheet.txt") is None
    assert plan.takes(tmp_path / "sheet.png") is None


# -- TOML job files ------------------------------------------------------------------
def test_a_toml_job_file_gives_inputs_settings_grid_and_points(inputs, tmp_path):
    job_file = tmp_path / "jobs.toml"
    job_file.write_text(
        f"""
content = ["{inputs / "contents"}"]
style = "{inputs / "styles"}/*.png"
out_dir = "results"
size = 40
iterations = 2

[grid]
beta = [1e2, 1e4]
style_layers = [["conv1_1", "conv2_1"], ["conv3_1"]]

[[points]]
optimizer = "lbfgs"

[[points]]
optimizer = "adam"
learning_rate = 10
"""
    )
    loaded = load_job_file(job_file)
    assert loaded.out_dir == str(tmp_path / "results")
    assert loaded.base == {"size": 40, "iterations": 2}
    assert loaded.grid["style_layers"] == [("conv1_1", "conv2_1"), ("conv3_1",)]
    jobs = loaded.jobs()
    assert len(jobs) == 2 * 1 * 4 * 2
    assert (
        jobs[1].settings["optimizer"] == "adam"
        and jobs[1].settings["learning_rate"] == 10
    )
    # The command line's settings and axes win over the file's.
    updated = loaded.updated(base={"size": 32}, grid={"beta": [5.0]})
    assert updated.base["size"] == 32 and updated.grid["beta"] == [5.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("betta = 1", "unknown setting 'betta'"),
        ("[grid]\nbeta = 1", "grid.beta must be a non-empty list"),
        ("[grid]\nbeta = [1, 'x']", "grid: beta must be a number, got 'x'"),
        ("size = [", "not TOML"),
    ],
)
def test_a_bad_job_file_is_a_one_line_error_naming_the_key(tmp_path, text, message):
    job_file = tmp_path / "jobs.toml"
    job_file.write_text(text)
    with pytest.raises(SettingError, match=message) as error:
        load_job_file(job_file)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "text",
    [
        "beta = " + "[" * 5000 + "]" * 5000,  # RecursionError inside tomllib
        "x = " + "{a = " * 3000 + "1" + "}" * 3000,
        "[grid]\n" + "beta." * 3000 + "x = 1",  # dotted keys: no recursion to read
        "style_layers = " + "[" * 40 + "'conv1_1'" + "]" * 40,
    ],
    ids=["arrays", "inline-tables", "dotted-keys", "moderate"],
)
def test_a_deeply_nested_job_file_is_refused_with_its_depth(tmp_path, text):
    job_file = tmp_path / "deep.toml"
    job_file.write_text(text)
    with pytest.raises(SettingError) as error:
        load_job_file(job_file)
    message = str(error.value)
    assert message.startswith(f"--jobs {str(job_file)!r}: its arrays and tables nest")
    assert f"more than the {MAX_TOML_DEPTH} naah reads" in message
    assert "flatten them" in message and "\n" not in message


def test_the_deepest_job_file_naah_describes_is_read(tmp_path):
    job_file = tmp_path / "jobs.toml"
    job_file.write_text(
        "[grid]\nstyle_layers = [{conv1_1 = 1.0, conv2_1 = 0.5}, {conv3_1 = 1}]"
    )
    assert len(load_job_file(job_file).grid["style_layers"]) == 2


# -- blends and regions --------------------------------------------------------------
def write_png(path, array):
    """Save a uint8 array (H, W) or (H, W, 3) as a PNG; return its path as text."""
    Image.fromarray(np.asarray(array, np.uint8)).save(path)
    return str(path)


def half_mask(path, left=True):
    """A 48x40 greyscale mask (the contents' size), white on one half."""
    mask = np.zeros((40, 48), np.uint8)
    mask[:, slice(0, 24) if left else slice(24, 48)] = 255
    return write_png(path, mask)


@pytest.fixture
def two_styles(inputs, tmp_path):
    """s1.png of the inputs and a second style image, s2.png."""
    y, x = np.mgrid[0:40, 0:48]
    s2 = np.stack([7 * y, 255 - 4 * x, 3 * (x + y)], axis=-1).clip(0, 255)
    return [str(inputs / "styles" / "s1.png"), write_png(tmp_path / "s2.png", s2)]


def test_a_style_blend_makes_one_job_per_content_blending_every_style(
    inputs, two_styles
):
    contents = [str(inputs / "contents")]
    blended = Plan(contents, two_styles, base={"style_blend": (0.7, 0.3)}).jobs()
    assert [Path(j.content).name for j in blended] == ["c1.png", "c2.png"]
    for job in blended:
        assert job.styles == tuple(two_styles)
        assert job.style_input == two_styles
        assert job.style == two_styles[0] and job.regions == ()
        assert job.run["style_blend"] == (0.7, 0.3)
    again = Plan(contents, two_styles, base={"style_blend": (0.7, 0.3)}).jobs()
    assert [j.name for j in again] == [j.name for j in blended]
    assert blended[0].name.startswith("c1__s1+s2__")
    # Without a blend each style is a job of its own, under other names.
    single = Plan(contents, two_styles).jobs()
    assert len(single) == 2 * 2
    assert all(j.styles == () and isinstance(j.style_input, str) for j in single)
    assert not {j.name for j in single} & {j.name for j in blended}
    other_weights = Plan(contents, two_styles, base={"style_blend": (0.5, 0.5)})
    assert other_weights.jobs()[0].name != blended[0].name


def test_a_style_blend_on_a_grid_axis_blends_every_style_in_each_job(
    inputs, two_styles
):
    jobs = Plan(
        [str(inputs / "contents" / "c1.png")],
        two_styles,
        grid={"style_blend": [(0.5, 0.5), (0.9, 0.1)]},
    ).jobs()
    assert [j.varied for j in jobs] == [
        {"style_blend": (0.5, 0.5)},
        {"style_blend": (0.9, 0.1)},
    ]
    assert all(j.style_input == two_styles for j in jobs)
    assert jobs[0].name.startswith("c1__s1+s2__style_blend=0.5+0.5__")


def test_a_style_blend_of_the_wrong_length_is_refused_when_planning(inputs, two_styles):
    blend = Plan(
        [str(inputs / "contents")], two_styles, base={"style_blend": (1, 2, 3)}
    )
    with pytest.raises(SettingError) as error:
        blend.jobs()
    message = str(error.value)
    assert "\n" not in message
    assert "style_blend has 3 weights for 2 style images" in message


def test_a_plan_with_regions_makes_one_job_per_content_with_those_regions(
    inputs, tmp_path
):
    style = str(inputs / "styles" / "s1.png")
    mask = half_mask(tmp_path / "left.png")
    regions = [region_from_text(f"{mask}={style}")]
    jobs = Plan([str(inputs / "contents")], regions=regions).jobs()
    assert [Path(j.content).name for j in jobs] == ["c1.png", "c2.png"]
    for job in jobs:
        assert job.regions == tuple(regions)
        assert job.style_input is None and job.style == style
    assert jobs[0].name.startswith("c1__left__")
    # A mask of the same contents elsewhere is the same job; other contents are not.
    (tmp_path / "copy").mkdir()
    copied = region_from_text(f"{half_mask(tmp_path / 'copy' / 'left.png')}={style}")
    same = Plan([str(inputs / "contents")], regions=[copied]).jobs()
    assert [j.name for j in same] == [j.name for j in jobs]
    half_mask(tmp_path / "left.png", left=False)
    redrawn = Plan([str(inputs / "contents")], regions=regions).jobs()
    assert [j.name.rpartition("__")[0] for j in redrawn] == [
        j.name.rpartition("__")[0] for j in jobs
    ]
    assert all(r.name != j.name for r, j in zip(redrawn, jobs, strict=True))


def test_more_regions_than_a_run_may_have_are_refused_before_any_job(inputs, tmp_path):
    style = str(inputs / "styles" / "s1.png")
    region = region_from_text(f"{half_mask(tmp_path / 'm.png')}={style}")
    start = time.perf_counter()
    with pytest.raises(SettingError) as error:
        Plan([str(inputs / "contents")], regions=[region] * 200).jobs()
    assert time.perf_counter() - start < 1
    assert str(error.value).startswith(
        f"--region given 200 times: 200 regions are more than the {MAX_REGIONS} a "
        "run may have"
    )
    assert len(Plan([str(inputs / "contents")], regions=[region] * 2).jobs()) == 2


def test_styles_and_regions_together_are_refused(inputs, tmp_path):
    style = str(inputs / "styles" / "s1.png")
    region = region_from_text(f"{half_mask(tmp_path / 'm.png')}={style}")
    with pytest.raises(SettingError, match="--style images or --region options"):
        Plan([str(inputs / "contents")], [style], regions=[region]).jobs()


def test_a_job_files_regions_are_relative_to_its_folder(inputs, tmp_path):
    folder = tmp_path / "job"
    folder.mkdir()
    half_mask(folder / "m.png")
    half_mask(folder / "sm.png", left=False)
    shutil.copy(inputs / "styles" / "s1.png", folder / "s.png")
    (folder / "jobs.toml").write_text(
        f'content = "{inputs / "contents" / "c1.png"}"\n'
        'region = ["m.png=s.png", "m.png=s.png:sm.png"]\n'
    )
    plan_ = load_job_file(folder / "jobs.toml")
    shown = [(r.guide, r.style, r.style_guide, r.name) for r in plan_.regions]
    assert shown == [
        (str(folder / "m.png"), str(folder / "s.png"), None, "m"),
        (str(folder / "m.png"), str(folder / "s.png"), str(folder / "sm.png"), "m"),
    ]
    (job,) = plan_.jobs()
    assert job.regions == tuple(plan_.regions)


def test_a_single_style_jobs_name_ignores_the_new_settings_at_their_defaults(inputs):
    names = [j.name for j in plan(inputs, grid={"beta": [1.0, 2.0]}).jobs()]
    explicit = plan(
        inputs,
        base={"style_blend": None, "guide_mode": "simple"},
        grid={"beta": [1.0, 2.0]},
    ).jobs()
    assert [j.name for j in explicit] == names
    assert all(j.styles == () for j in explicit)


def test_a_style_blend_given_as_none_is_no_blend(inputs, two_styles):
    contents = [str(inputs / "contents")]
    given = Plan(contents, two_styles, base={"style_blend": None}).jobs()
    assert [j.name for j in given] == [
        j.name for j in Plan(contents, two_styles).jobs()
    ]


def test_the_manifest_records_every_style_of_a_blend_and_every_file_of_a_region(
    inputs, two_styles, tmp_path
):
    from naah.batch.manifest import base_row
    from naah.io.files import sha256_of_file

    blended = Plan([str(inputs / "contents" / "c1.png")], two_styles,
                   base={"style_blend": (0.7, 0.3)}).jobs()[0]  # fmt: skip
    row = base_row(blended, "done")
    assert [s["path"] for s in row["styles"]] == two_styles
    assert [s["sha256"] for s in row["styles"]] == [
        sha256_of_file(p) for p in two_styles
    ]
    mask = half_mask(tmp_path / "m.png")
    region = region_from_text(f"{mask}={two_styles[1]}")
    painted = Plan([str(inputs / "contents" / "c1.png")], regions=[region]).jobs()[0]
    [recorded] = base_row(painted, "done")["regions"]
    assert recorded["guide"] == {"path": mask, "sha256": sha256_of_file(mask)}
    assert (
        recorded["style"]["path"] == two_styles[1] and recorded["style_guide"] is None
    )


# -- special and oversized files: refused at once, naming the option ------------------
SPECIAL = pytest.mark.parametrize(
    "make", [_corpus.fifo, _corpus.dev_zero], ids=["fifo", "dev-zero"]
)


@SPECIAL
def test_a_job_file_that_is_not_a_regular_file_is_refused_unread(tmp_path, make):
    path = make(tmp_path / "jobs.toml")
    with deadline(5), pytest.raises(SettingError) as error:
        load_job_file(path)
    assert str(error.value).startswith(f"--jobs file {str(path)!r} is not a regular")


def test_a_job_file_larger_than_any_is_refused_unparsed(tmp_path):
    path = tmp_path / "jobs.toml"
    with open(path, "wb") as file:
        file.truncate(MAX_JOB_FILE_BYTES + 1)  # sparse: no disk, no time
    with pytest.raises(SettingError, match=r"jobs\.toml' is larger than 16 MiB"):
        load_job_file(path)


@SPECIAL
def test_inputs_that_are_not_regular_files_are_refused_naming_the_option(
    inputs, tmp_path, make
):
    path = make(tmp_path / "c.png")
    style = str(inputs / "styles" / "s1.png")
    with deadline(5):
        with pytest.raises(SettingError, match=r"^--content '.*c\.png' is not a"):
            Plan([str(path)], [style]).jobs()
        with pytest.raises(SettingError, match=r"^--style '.*c\.png' is not a"):
            Plan([str(inputs / "contents")], [str(path)]).jobs()
        region = region_from_text(f"{path}={style}")
        with pytest.raises(SettingError, match=r"^--region .*'s mask '.*' is not a"):
            Plan([str(inputs / "contents")], regions=[region]).jobs()
