"""Coarse to fine against one scale from noise, at equal wall time.

Gatys et al. (2017, section 6) start a large transfer from a smaller one,
upsampled. This runs ``--scales`` (default 256, 512, 1024) with the time budget
split between the scales in proportion to ``--shares``, and a single run at the
largest scale from noise for the same wall time, then evaluates both results with
the largest scale's loss and prints a markdown table.

The weights are a VGG-19 file with the real layer sizes and random values
(:func:`naah.testing.write_vgg19_mat`), so the losses are comparable between the
two runs but say nothing about how the images look.

Examples
--------
::

    python benchmarks/bench_pyramid.py --budget 300
    python benchmarks/bench_pyramid.py --scales 64 128 --budget 20 --tiny
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

REAL_WIDTHS = (64, 128, 256, 512, 512)
HERE = Path(__file__).resolve().parent
IMAGES = HERE.parent / "data"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--shares", type=float, nargs="+",
                        help="share of the budget per scale (default: equal)")  # fmt: skip
    parser.add_argument("--budget", type=float, default=300.0, help="seconds per run")
    parser.add_argument("--tiny", action="store_true", help="narrow fixture weights")
    parser.add_argument("--weights", help="a weights file (default: random weights "
                        "of the real sizes, whose losses say little)")  # fmt: skip
    args = parser.parse_args(argv)
    import naah
    from naah.io.images import preprocess
    from naah.runtime import Runtime
    from naah.testing import write_vgg19_mat

    shares = args.shares or [1.0] * len(args.scales)
    shares = [s / sum(shares) for s in shares]
    content, style = IMAGES / "tubingen.jpg", IMAGES / "starry_night.jpg"
    with tempfile.TemporaryDirectory() as tmp:
        widths = {} if args.tiny else {"widths": REAL_WIDTHS, "fc_width": 16,
                                       "num_classes": 10}  # fmt: skip
        weights = args.weights or write_vgg19_mat(Path(tmp) / "vgg19.mat", **widths)
        runtime = Runtime(keep_freed_memory=True)
        transfer = naah.StyleTransfer(weights, runtime=runtime)
        largest = args.scales[-1]
        transfer.prepare(
            content, style, size=args.scales[0]
        )  # compile outside the clock
        # Coarse to fine: each scale for its share of the budget.
        start = time.perf_counter()
        image = None
        rows = []
        for scale, share in zip(args.scales, shares, strict=True):
            deadline = time.perf_counter() + args.budget * share
            result = _run_until(transfer, content, style, scale, deadline, image)
            image = result.image
            rows.append((scale, len(result.history) - 1))
        pyramid_seconds = time.perf_counter() - start
        # One scale from noise, same wall time.
        start = time.perf_counter()
        single = _run_until(
            transfer, content, style, largest, start + pyramid_seconds, None
        )
        single_seconds = time.perf_counter() - start
        problem = transfer.prepare(content, style, size=largest)
        losses = {
            name: problem.evaluate(
                preprocess(img.astype(np.float32), problem.mean_pixel)
            )[0]
            for name, img in (("coarse to fine", image), ("one scale", single.image))
        }
    print(f"Equal wall time: {pyramid_seconds:.0f} s coarse to fine "
          f"({', '.join(f'{s}px: {n} it' for s, n in rows)}), {single_seconds:.0f} s "
          f"one scale ({len(single.history) - 1} it at {largest}px)\n")  # fmt: skip
    print(f"| run | total loss at {largest}px | content | style |")
    print("| --- | --- | --- | --- |")
    for name, e in losses.items():
        print(f"| {name} | {e.total:.4g} | {e.content:.4g} | {e.style:.4g} |")
    return 0


def _run_until(transfer, content, style, size, deadline, previous):
    """L-BFGS at ``size`` from noise, or from ``previous`` upsampled, ending at the
    first iteration past ``deadline``."""
    from naah.io.images import load_image, preprocess
    from naah.runs import optimize

    problem = transfer.prepare(content, style, size=size)
    start = (
        transfer.initial_image("noise", problem)
        if previous is None
        else load_image(previous, size=problem.shape[:2])
    )
    initial = preprocess(start, problem.mean_pixel)
    return optimize(problem, initial, 10**6, transfer.optimizer,
                    stop=lambda record: time.perf_counter() > deadline)  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
