"""``naah stylize --dry-run``'s time per evaluation against the runs it predicts.

For each weights file and size, two fresh processes run ``naah stylize`` on
``data/tubingen.jpg`` in the style of ``data/starry_night.jpg``: once with
``--dry-run`` (its seconds per evaluation at the run's size, the optimiser's work
included), once for ``--iterations`` iterations with ``--history``, as a user runs
it (checkpoints and the progress bar's callback included). The run's seconds per
evaluation are its history's from the end of its first iteration to its last: the
first evaluation includes compilation and the first iteration the optimiser's
first use, which the dry run reports apart.

Weights: ``fixture``, the tests' narrow stand-in (naah.testing), and ``real-size``,
a file of VGG-19's real sizes with random weights (bench_memory.weights_file: the
real file cannot be downloaded here, and time does not depend on the values).

Prints a markdown table: weights | size | run's image | predicted s/evaluation |
measured s/evaluation | predicted / measured | dry run s. With ``--repeats N`` each
pair of processes runs N times, one size after the other (so that a busy moment of
the machine hits both sides of a ratio), and the table gives medians, and the
ratios' range. The target (issue 21): within ±30 %.

    python benchmarks/bench_dry_run.py --sizes 128 256 512 --iterations 30
    python benchmarks/bench_dry_run.py --weights real-size --sizes 512 --repeats 3
    python benchmarks/bench_dry_run.py --tiny  # CI smoke run: 32 px, fixture weights
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent
CONTENT = REPOSITORY / "data" / "tubingen.jpg"
STYLE = REPOSITORY / "data" / "starry_night.jpg"
# What --dry-run prints: "... at 256x192 (0.0713 s per evaluation, ..."
PREDICTION = re.compile(r" at (\d+)x(\d+) \(([0-9.e+-]+) s per evaluation")
# Records of the history not timed: the first evaluation and the first iteration.
UNTIMED = 1


def naah(arguments: list[str], folder: str) -> str:
    """``naah stylize ARGUMENTS`` in a fresh process on this checkout: its stdout."""
    env = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    result = subprocess.run(
        [sys.executable, "-m", "naah", "stylize", *arguments],
        capture_output=True,
        text=True,
        cwd=folder,
        env=env,
    )
    if result.returncode != 0:
        raise RuntimeError(f"naah {' '.join(arguments)}: {result.stderr[-2000:]}")
    return result.stdout


def predicted(weights: str, size: int, iterations: int, folder: str) -> tuple:
    """The dry run's seconds per evaluation, the run's shape, and its seconds."""
    start = time.perf_counter()
    out = naah(
        [str(CONTENT), str(STYLE), "-o", "dry.png", "--weights", weights,
         "--size", str(size), "--iterations", str(iterations), "--dry-run", "-q"],
        folder,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    match = PREDICTION.search(out)
    if match is None:
        raise RuntimeError(f"no time per evaluation in the dry run's output: {out}")
    width, height, per_evaluation = match.groups()
    return float(per_evaluation), f"{width}x{height}", seconds


def measured(weights: str, size: int, iterations: int, folder: str) -> float:
    """The run's seconds per evaluation, from its history (see the docstring)."""
    history = Path(folder) / f"run{size}.csv"
    naah(
        [str(CONTENT), str(STYLE), "-o", f"run{size}.png", "--weights", weights,
         "--size", str(size), "--iterations", str(iterations), "--history",
         str(history), "-q"],
        folder,
    )  # fmt: skip
    with open(history, newline="") as handle:
        rows = list(csv.DictReader(handle))
    first, last = rows[UNTIMED], rows[-1]
    seconds = float(last["time"]) - float(first["time"])
    return seconds / (int(last["evaluations"]) - int(first["evaluations"]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument(
        "--weights",
        nargs="+",
        choices=("fixture", "real-size"),
        default=["fixture", "real-size"],
    )
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--tiny", action="store_true", help="size 32, fixture weights, 5 iterations"
    )
    args = parser.parse_args(argv)
    if args.tiny:
        args.sizes, args.weights, args.iterations = [32], ["fixture"], 5
    sys.path.insert(0, str(HERE))
    from bench_memory import weights_file
    from bench_style import markdown

    rounds: dict[tuple[str, int], list[tuple]] = {}
    with contextlib.ExitStack() as stack:
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="naah-dry-"))
        for kind in args.weights:
            weights = weights_file(stack, tiny=kind == "fixture")
            for repeat in range(args.repeats):
                for size in args.sizes:
                    print(
                        f"{kind} weights, {size} px, round {repeat + 1} …",
                        file=sys.stderr,
                        flush=True,
                    )
                    guess, shape, dry = predicted(
                        weights, size, args.iterations, folder
                    )
                    actual = measured(weights, size, args.iterations, folder)
                    rounds.setdefault((kind, size), []).append(
                        (guess, actual, shape, dry)
                    )
    rows = []
    for (kind, size), results in rounds.items():
        guesses, actuals, shapes, dries = zip(*results, strict=True)
        ratios = [g / a for g, a in zip(guesses, actuals, strict=True)]
        spread = f" ({min(ratios):.2f}–{max(ratios):.2f})" if len(ratios) > 1 else ""
        rows.append(
            [kind, size, shapes[0], f"{median(guesses):.4f}", f"{median(actuals):.4f}",
             f"{median(ratios):.2f}{spread}", f"{median(dries):.1f}"]
        )  # fmt: skip
    print(
        markdown(
            ["weights", "size", "image", "predicted s/eval", "measured s/eval",
             "predicted / measured", "dry run s"],
            rows,
        )
    )  # fmt: skip


if __name__ == "__main__":
    main()
