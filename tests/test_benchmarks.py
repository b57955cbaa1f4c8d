"""The benchmark script runs (at a tiny size), so that it cannot rot unnoticed."""

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_style.py"


@pytest.mark.slow
def test_benchmark_script_prints_its_table_at_a_tiny_size():
    result = subprocess.run(
        [sys.executable, str(BENCH), "--tiny"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "| size |" in result.stdout
    assert "naah c" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("script", "options", "expected"),
    [
        ("bench_memory.py", ["--tiny"],
         ("| size | estimate MiB | measured peak RSS MiB | error %",
          "measured run phase MiB")),
        ("bench_resume.py", ["--tiny"], ("| size | s/iteration | checkpoint write s",)),
        ("bench_pyramid.py", ["--tiny", "--scales", "32", "48", "--budget", "2"],
         ("| run | total loss at 48px",)),
        ("bench_batch.py", ["--tiny", "--url", "--engines", "local"],
         ("outputs to file:// URLs", "| local | 1 × ")),
        ("bench_tiles.py", ["--tiny"],
         ("| image | tile  | blocks | area with margins | s/evaluation",)),
        ("bench_lbfgs_state.py", ["--tiny"],
         ("| size | n | L-BFGS | m | state MiB |", "| naah float32, 0.5 MB budget | 5 |")),
        ("bench_video.py", ["--tiny"],
         ("| warping error | × independent | goal ≤ 0.3× |", "| object | multi-pass",
          "| s/frame | s/frame after 1st | s/iteration | flow s | flow share |")),
        ("bench_dry_run.py", ["--tiny"],
         ("| weights | size | image | predicted s/eval | measured s/eval |",)),
    ],
)  # fmt: skip
def test_the_other_benchmarks_print_their_tables(script, options, expected):
    result = subprocess.run(
        [sys.executable, str(BENCH.parent / script), *options],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    for text in expected:
        assert text in result.stdout
