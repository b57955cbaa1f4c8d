"""Jobs per hour of ``naah batch``: the local engine against Dask LocalClusters.

Prints a markdown table: one batch of ``--jobs`` content × style jobs (fixture
weights, ``--size`` pixels, ``--iterations`` L-BFGS iterations each) per engine:

* ``local`` — the local engine: one process, jobs one after another, each with
  every core;
* ``LocalCluster(1)`` — one Dask worker process with every core;
* ``LocalCluster(2)`` — two worker processes, each with half the cores.

Each batch starts cold in its own folder: the wall time counts starting the
cluster, loading the weights and compiling the loss (once per worker process), as
a real batch does; "after each worker's first" leaves out everything up to the
first job of each worker: the steady rate of a long batch.

``--url`` writes each batch to a ``file://`` URL instead of its folder: through
fsspec, as an ``s3://`` one would be (staged locally, uploaded, the manifest
rewritten per row), which shows what that costs beside the jobs.

``--seconds-per-iteration SIZE`` also measures one L-BFGS iteration at SIZE pixels
with a VGG-19 file of the real layer sizes and random values (as
``bench_style.py`` writes), the figure behind ``docs/batch.md``'s estimate.

Examples
--------
::

    python benchmarks/bench_batch.py                      # 12 jobs at 64 px
    python benchmarks/bench_batch.py --jobs 8 --size 128 --iterations 30
    python benchmarks/bench_batch.py --url                # outputs via fsspec
    python benchmarks/bench_batch.py --seconds-per-iteration 512
    python benchmarks/bench_batch.py --tiny               # CI smoke run
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
ENGINES = ("local", "LocalCluster(1)", "LocalCluster(2)")


def write_inputs(folder: Path, jobs: int, size: int) -> tuple[list[str], list[str]]:
    """``jobs`` jobs as few contents × few styles: smooth noise images."""
    styles = 2 if jobs % 2 == 0 else 1
    contents = jobs // styles
    rng = np.random.default_rng(0)
    paths: dict[str, list[str]] = {"content": [], "style": []}
    for kind, count in (("content", contents), ("style", styles)):
        for i in range(count):
            small = rng.integers(
                0, 256, (size // 8 + 1, size // 8 + 1, 3), dtype=np.uint8
            )
            image = Image.fromarray(small).resize(
                (size, size), Image.Resampling.BICUBIC
            )
            path = folder / f"{kind}{i:02d}.png"
            image.save(path)
            paths[kind].append(str(path))
    return paths["content"], paths["style"]


class Timed:
    """An engine whose rows are timestamped as they come back."""

    def __init__(self, engine: object) -> None:
        self.engine = engine
        self.reports_iterations = False
        self.times: list[float] = []

    def run(self, jobs, out_dir, record, progress) -> None:
        def timed(row) -> None:
            self.times.append(time.perf_counter())
            record(row)

        self.engine.run(jobs, out_dir, timed, progress)


def run_engine(name: str, jobs, folder: Path | str, weights: str) -> dict:
    from naah.batch import LocalEngine, run_batch
    from naah.runtime import Runtime

    start = time.perf_counter()
    if name == "local":  # as naah batch makes it: every core, freed memory kept
        runtime = Runtime(keep_freed_memory=True)
        engine, close, workers = LocalEngine(weights, runtime=runtime), None, 1
    else:
        from naah.batch.cluster import DaskEngine

        workers = int(name[-2])
        engine = DaskEngine.start(
            f"local:{workers}", weights=weights, dashboard_address=":0"
        )
        close = engine.close
    timed = Timed(engine)
    try:
        report = run_batch(jobs, folder, engine=timed, progress=False)
    finally:
        if close is not None:
            close()
    wall = time.perf_counter() - start
    if report.failed:
        error = next(r["error"] for r in report.rows if r["status"] == "failed")
        print(f"{name}: {report.failed} jobs failed, the first with: {error}")
    # After each worker's first job: the steady rate, without start-up and compiling.
    first, last = timed.times[workers - 1], timed.times[-1]
    after = len(timed.times) - workers
    steady = after / (last - first) * 3600 if last > first else float("nan")
    cores = len(os.sched_getaffinity(0))
    layout = {"local": f"1 × {cores}", "LocalCluster(1)": f"1 × {cores}",
              "LocalCluster(2)": f"2 × {max(1, cores // 2)}"}[name]  # fmt: skip
    return {
        "engine": name,
        "layout": layout,
        "done": report.done,
        "wall": wall,
        "per_hour": report.done / wall * 3600,
        "steady": steady,
    }


def seconds_per_iteration(size: int, iterations: int) -> tuple[float, float]:
    """(median, compile) seconds of one L-BFGS iteration at ``size`` with real-size
    random weights."""
    sys.path.insert(0, str(HERE))
    from bench_style import write_random_weights

    from naah import Runtime, StyleTransfer

    with tempfile.TemporaryDirectory(prefix="naah-bench-") as tmp:
        weights = write_random_weights(Path(tmp) / "vgg19-random.mat")
        rng = np.random.default_rng(0)
        content = rng.uniform(0, 255, (size, size, 3)).astype(np.float32)
        style = rng.uniform(0, 255, (size, size, 3)).astype(np.float32)
        transfer = StyleTransfer(weights, runtime=Runtime(keep_freed_memory=True))
        start = time.perf_counter()
        transfer.prepare(content, style, size=size)
        compile_seconds = time.perf_counter() - start
        result = transfer.run(
            content, style, iterations=iterations, size=size, progress=False
        )
    times = np.diff([0.0, *(r.time for r in result.history[1:])])
    return float(np.median(times)), compile_seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=12)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES)
    parser.add_argument("--seconds-per-iteration", type=int, metavar="SIZE")
    parser.add_argument("--url", action="store_true",
                        help="write each batch to a file:// URL, through fsspec")  # fmt: skip
    parser.add_argument(
        "--tiny", action="store_true", help="4 jobs at 32 px, 2 iterations"
    )
    args = parser.parse_args(argv)
    if args.tiny:
        args.jobs, args.size, args.iterations = 4, 32, 2

    from naah.batch import Plan
    from naah.testing import write_vgg19_mat

    print(
        f"machine: {len(os.sched_getaffinity(0))} cores, load {os.getloadavg()[0]:.1f}"
    )
    print(
        f"\n{args.jobs} jobs of {args.size}x{args.size} px, {args.iterations} L-BFGS "
        "iterations, fixture weights (naah.testing)"
        + (", outputs to file:// URLs through fsspec" if args.url else "")
        + "\n"
    )
    print(
        "| engine | workers × threads | jobs | wall s | jobs/hour | jobs/hour after each worker's first |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory(prefix="naah-bench-batch-") as tmp:
        root = Path(tmp)
        weights = write_vgg19_mat(root / "vgg19-fixture.mat")
        contents, styles = write_inputs(root, args.jobs, args.size)
        base = {"size": args.size, "iterations": args.iterations}
        jobs = Plan(contents, styles, base=base).jobs()
        for name in args.engines:
            folder = root / name.replace("(", "-").rstrip(")")
            out_dir = f"file://{folder}" if args.url else folder
            row = run_engine(name, jobs, out_dir, weights)
            print(
                f"| {row['engine']} | {row['layout']} | {row['done']} | {row['wall']:.1f} "
                f"| {row['per_hour']:.0f} | {row['steady']:.0f} |",
                flush=True,
            )
    if args.seconds_per_iteration:
        size = args.seconds_per_iteration
        median, compile_seconds = seconds_per_iteration(size, 3 if args.tiny else 6)
        print(
            f"\nL-BFGS at {size}x{size}, real-size random weights, every core: "
            f"{median:.2f} s per iteration (median), compile {compile_seconds:.1f} s"
        )


if __name__ == "__main__":
    main()
