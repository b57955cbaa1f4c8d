"""Tiled evaluation (naah.tiled) against the whole image: seconds per evaluation,
peak RSS, the margins' overhead, and naah.estimate's prediction of the peak.

Each case runs in a fresh ``python bench_tiles.py child`` process, so that its peak
(``VmHWM``) is its own. The child builds a :class:`naah.StyleTransfer` on a
VGG-19 file with the real file's layout and sizes and He-scaled random weights
(``bench_memory.write_full_size_weights``), prepares noise content and style
images of ``size`` pixels a side (style at the same size; PNG files, so that naah
holds the only copy of each) with ``tile_size`` and
``max_memory``, and times ``--evaluations`` loss-and-gradient evaluations (everything is
compiled by then). The peak is the whole process's (weights, compiled graphs,
targets and evaluations; no optimiser state: ``bench_lbfgs_state.py`` measures
that).

The margins' overhead is the blocks' area, margins included, over the image's:
what the network computes per evaluation relative to the whole image, before the
second forward pass that pass 1 adds.

Examples
--------
::

    python benchmarks/bench_tiles.py --cases 1024: 1024:512 1024:256 2048:auto
    python benchmarks/bench_tiles.py --cases 4096:auto --max-memory 4G
    python benchmarks/bench_tiles.py --cases 2048:auto --max-memory 1.5G --iterations 3
    python benchmarks/bench_tiles.py --tiny  # CI smoke run: 64 px, narrow weights
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child(args) -> dict:
    import numpy as np
    from PIL import Image

    import naah
    from naah.tiled import TiledProblem

    # Noise images as files, as a user gives them: naah holds the only copy.
    folder = tempfile.mkdtemp(prefix="naah-bench-tiles-")
    content, style = (os.path.join(folder, f"{name}.png") for name in ("c", "s"))
    rng = np.random.default_rng(0)
    for path in (content, style):
        pixels = rng.integers(0, 256, (args.size, args.size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(path, compress_level=1)
    del pixels
    transfer = naah.StyleTransfer(args.weights)
    options = {"tile_size": args.tile}
    if args.max_memory:
        options["max_memory"] = args.max_memory
    start = time.perf_counter()
    problem = transfer.prepare(content, style, **options)
    prepared = time.perf_counter() - start
    tiled = isinstance(problem, TiledProblem)
    blocks = problem.blocks if tiled else []
    lbfgs = ""
    if args.iterations:
        from naah.optim.lbfgs import lbfgs_implementation

        start = time.perf_counter()
        result = transfer.run(
            content, style, iterations=args.iterations, init="content",
            size=args.size, progress=False, **options,
        )  # fmt: skip
        evaluations = result.history[-1].evaluations
        seconds = (time.perf_counter() - start) / max(1, evaluations)
        implementation, history = lbfgs_implementation(transfer.session.problem)
        lbfgs = f"{implementation}, m={history}"
    else:
        start = time.perf_counter()
        for _ in range(args.evaluations):
            problem.evaluate()
        seconds = (time.perf_counter() - start) / args.evaluations
    area = sum(b.shape[0] * b.shape[1] for b in blocks) if tiled else args.size**2
    return {
        "size": args.size,
        "tile": problem.tile_size if tiled else None,
        "blocks": len(blocks) or 1,
        "overhead": area / args.size**2,
        "seconds": seconds,
        "prepare": prepared,
        "peak_rss": _peak_rss(),
        "lbfgs": lbfgs,
        "budget": None if args.whole else args.max_memory,
    }


def _peak_rss() -> int:
    """The process's high-water mark of resident memory (VmHWM), bytes. Not
    ``ru_maxrss``: Linux carries that across exec, so a child would report its
    parent's peak (the parent writes the weights file)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def measure(size: int, tile: str, args, weights: str) -> dict:
    command = [sys.executable, str(HERE / "bench_tiles.py"), "child"]
    command += ["--size", str(size), "--tile", tile, "--weights", weights]
    command += ["--evaluations", str(args.evaluations)]
    command += ["--iterations", str(args.iterations)]
    if args.max_memory:
        command += ["--max-memory", args.max_memory]
    output = subprocess.run(command, cwd=HERE, capture_output=True, text=True)
    if output.returncode != 0:
        raise RuntimeError(f"{size}:{tile} failed:\n{output.stderr[-3000:]}")
    return json.loads(output.stdout.splitlines()[-1])


def estimate_for(result: dict, iterations: int) -> int:
    """naah.plan's estimate of the child's case (without the optimiser's state
    when the child only evaluates)."""
    from naah.plan import tiling
    from naah.settings import Settings

    shape = (result["size"], result["size"])
    settings = Settings.of(
        {"tile_size": result["tile"] or "auto", "max_memory": result["budget"]}
    )
    estimate = tiling(settings, shape, shape).estimate
    if iterations:
        return estimate.total
    return estimate.total - estimate.breakdown["optimizer"]


def run(args) -> str:
    sys.path.insert(0, str(HERE))
    from bench_memory import weights_file
    from bench_style import markdown

    from naah.estimate import format_bytes

    rows = []
    with contextlib.ExitStack() as stack:
        weights = weights_file(stack, tiny=args.tiny)
        for case in args.cases:
            size, _, tile = case.partition(":")
            print(f"measuring {case} …", file=sys.stderr, flush=True)
            result = measure(int(size), tile or "auto", args, weights)
            estimate = estimate_for(result, args.iterations)
            rows.append(
                [
                    f"{size}²",
                    "whole" if result["tile"] is None else str(result["tile"]),
                    str(result["blocks"]),
                    f"{result['overhead']:.2f}",
                    f"{result['seconds']:.2f}",
                    format_bytes(result["peak_rss"]),
                    format_bytes(estimate),
                    f"{100 * (estimate / result['peak_rss'] - 1):+.0f} %",
                    format_bytes(result["budget"]) if result["budget"] else "-",
                    result["lbfgs"] or "-",
                ]
            )
    header = ["image", "tile", "blocks", "area with margins", "s/evaluation",
              "peak RSS", "estimate", "error", "budget", "L-BFGS"]  # fmt: skip
    return markdown(header, rows)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    kid = sub.add_parser("child")
    kid.add_argument("--size", type=int, required=True)
    kid.add_argument("--tile", required=True)
    kid.add_argument("--weights", required=True)
    kid.add_argument("--evaluations", type=int, default=2)
    kid.add_argument("--max-memory")
    kid.add_argument("--iterations", type=int, default=0)
    parser.add_argument(
        "--cases",
        nargs="+",
        default=["1024:whole", "1024:512", "1024:256", "2048:auto"],
        help="SIZE:TILE, TILE a number, auto or whole",
    )
    parser.add_argument("--evaluations", type=int, default=2)
    parser.add_argument("--max-memory", help="e.g. 4G (default: the memory available)")
    parser.add_argument(
        "--iterations",
        type=int,
        default=0,
        help="run L-BFGS this many iterations (the optimiser's state counts) "
        "instead of timing bare evaluations",
    )
    parser.add_argument("--tiny", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "child":
        from naah.checks import as_bytes

        args.tile = (
            None
            if args.tile == "whole"
            else args.tile
            if args.tile == "auto"
            else int(args.tile)
        )
        args.whole = args.tile is None
        if args.whole:
            args.tile = "auto"
            args.max_memory = args.max_memory or "1000G"  # whole: never tiled
        args.max_memory = as_bytes(args.max_memory) if args.max_memory else None
    if args.tiny and args.command is None:
        args.cases = ["64:whole", "64:32"]
        args.evaluations = 1
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.command == "child":
        print(json.dumps(child(args)))
        return 0
    print(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
