"""Memory known before the start: the estimate, --size auto, --force, --dry-run."""

import re

import pytest

from tests.cli._commands import run, run_limited


# -- memory known before the start ---------------------------------------------------
def test_a_size_too_large_for_memory_is_refused_at_once_with_the_size_that_fits(
    files, tmp_path
):
    status, _, err = run(["stylize", files["content"], files["style"], "-o",
                          tmp_path / "r.png", "--weights", files["weights"],
                          "--size", 100000])  # fmt: skip
    assert status == 1
    assert "needs about" in err and "the largest --size that fits is" in err
    assert "--force" in err and not (tmp_path / "r.png").exists()


def test_force_runs_what_the_estimate_refuses(files, tmp_path, fake_run, monkeypatch):
    import naah.estimate

    monkeypatch.setattr(naah.estimate, "available_memory", lambda: 10 << 20)
    args = ["stylize", files["content"], files["style"], "-o", tmp_path / "r.png",
            "--weights", files["weights"], "-q"]  # fmt: skip
    status, _, err = run(args)
    assert status == 1 and "10 MiB is available" in err
    assert run([*args, "--force"])[0] == 0


def test_size_auto_takes_the_largest_that_fits_up_to_the_contents_own(
    files, tmp_path, fake_run
):
    status, _, err = run(["stylize", files["content"], files["style"], "-o",
                          tmp_path / "r.png", "--weights", files["weights"],
                          "--size", "auto"])  # fmt: skip
    assert status == 0, err
    assert fake_run["content_shape"][:2] == (40, 30)  # its own size: everything fits
    assert "--size auto: 40 px" in err


def test_dry_run_prints_the_estimate_and_the_time_and_writes_nothing(files, tmp_path):
    status, out, err = run(["stylize", files["content"], files["style"], "-o",
                            tmp_path / "r.png", "--weights", files["weights"],
                            "--size", 32, "--dry-run", "-q"])  # fmt: skip
    assert status == 0, err
    memory, time_line = out.splitlines()
    assert memory.startswith("memory: about ") and "available" in memory
    assert time_line.startswith("time: about ") and "per iteration" in time_line
    assert list(tmp_path.iterdir()) == []


def test_dry_run_of_a_tiled_run_says_its_blocks_and_its_budget(files, tmp_path):
    from naah.blocks import work_ratio

    status, out, err = run(["stylize", files["content"], files["style"], "-o",
                            tmp_path / "r.png", "--weights", files["weights"],
                            "--size", 40, "--tile-size", 16, "--max-memory", "3G",
                            "--dry-run", "-q"])  # fmt: skip
    assert status == 0, err
    memory, tiles, time_line = out.splitlines()
    assert "of the --max-memory 3.0 GiB" in memory
    layers = ["conv4_2", "conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
    ratio = work_ratio((40, 30), 16, layers) * 4 / 3
    assert tiles == (
        # 40 rows: 16 + 24 (a rest of 8 joins the last); 30 columns: one block
        f"tiles: 2 blocks of 16 px (with margins of 80 px), about {ratio:.2f} times "
        "the work of the whole image (naah.tiled)"
    )
    assert time_line.startswith("time: about ")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_forced_dry_run_of_a_huge_size_answers_within_bounded_memory(files, tmp_path):
    # It counted 29 million blocks by making them: 3.5 GB, then a MemoryError.
    status, out, err = run_limited(
        ["stylize", files["content"], files["style"], "-o", tmp_path / "r.png",
         "--weights", files["weights"], "--size", 100_000, "--force", "--dry-run"],
        address_space=3 * 2**30,
    )  # fmt: skip
    assert status == 0, err
    assert out.startswith("memory: about ") and " GiB (" in out
    assert re.search(r"^tiles: \d{7,} blocks of ", out, re.MULTILINE), out
    assert "time: about" in out
