"""Cost of never losing work: checkpoints and the divergence guard, at real size.

Prints a markdown table per image size: seconds per L-BFGS iteration, the time to
write one checkpoint (the whole L-BFGS-B state: 25 float64 values per pixel and
channel, plus the images), its size, and the share of the run that the default
policy (every 50 iterations, at least once a minute) spends writing; then the
divergence guard's share (its finiteness checks and the best-image copy), measured
as the bookkeeping time of :class:`naah.optim.Minimizer` beyond the evaluations,
against scipy's own ``fmin_l_bfgs_b`` over the same evaluations.

The weights are a VGG-19 file with the real layer sizes and random values
(:func:`naah.testing.write_vgg19_mat`); speed does not depend on the values.

Examples
--------
::

    python benchmarks/bench_resume.py --sizes 256 512
    python benchmarks/bench_resume.py --tiny  # CI smoke test: 32 px, seconds
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

REAL_WIDTHS = (64, 128, 256, 512, 512)


def _problem(weights: Path, size: int):
    import naah
    from naah.runtime import Runtime

    rng = np.random.default_rng(0)
    content = rng.uniform(0, 255, (size, size, 3)).astype(np.float32)
    style = rng.uniform(0, 255, (size, size, 3)).astype(np.float32)
    transfer = naah.StyleTransfer(weights, runtime=Runtime(keep_freed_memory=True))
    return transfer, transfer.prepare(content, style)


def measure(weights: Path, size: int, iterations: int, folder: Path) -> dict:
    from scipy.optimize import fmin_l_bfgs_b

    from naah.checkpointing import (
        CHECKPOINT_EVERY,
        CHECKPOINT_SECONDS,
        Checkpointer,
    )
    from naah.io.images import preprocess
    from naah.optim import Minimizer, OptimizerSettings
    from naah.optim.lbfgs import lbfgs_bounds

    transfer, problem = _problem(weights, size)
    noise = np.random.default_rng(1).uniform(0, 255, problem.shape)
    initial = preprocess(noise.astype(np.float32), problem.mean_pixel)
    problem.evaluate(initial)  # warm-up: first-call allocations

    # naah's Minimizer: total time and time inside evaluations.
    inside = [0.0]
    evaluate = problem.evaluate

    def timed(*args):
        start = time.perf_counter()
        try:
            return evaluate(*args)
        finally:
            inside[0] += time.perf_counter() - start

    problem.evaluate = timed
    run = Minimizer(problem, OptimizerSettings("lbfgs"), initial)
    start = time.perf_counter()
    run.run(iterations)
    ours_total = time.perf_counter() - start
    ours_extra = ours_total - inside[0]
    evaluations = run.history[-1].evaluations

    # scipy's fmin_l_bfgs_b over the same number of evaluations.
    inside[0] = 0.0
    lows, highs = lbfgs_bounds(problem)

    def loss_and_grad(x):
        evaluation, grad = problem.evaluate(x.reshape(problem.nchw_shape))
        return evaluation.total, grad.ravel().astype(np.float64)

    start = time.perf_counter()
    fmin_l_bfgs_b(loss_and_grad, initial.ravel().astype(np.float64),
                  bounds=list(zip(lows, highs, strict=True)), m=10, factr=10.0,
                  pgtol=0.0, maxiter=iterations)  # fmt: skip
    scipy_total = time.perf_counter() - start
    scipy_extra = scipy_total - inside[0]
    problem.evaluate = evaluate

    # One checkpoint of the run's state.
    description = {"settings": transfer.settings, "inputs": {},
                   "run": {"iterations": iterations, "size": size}}  # fmt: skip
    checkpointer = Checkpointer(folder / f"bench{size}.ckpt", description)
    writes = []
    for _ in range(3):
        start = time.perf_counter()
        path = checkpointer.write(run)
        writes.append(time.perf_counter() - start)
    write = statistics.median(writes)
    per_iteration = ours_total / iterations
    interval = min(CHECKPOINT_EVERY * per_iteration, CHECKPOINT_SECONDS)
    return {
        "size": size,
        "iterations": iterations,
        "evaluations": evaluations,
        "per_iteration": per_iteration,
        "write": write,
        "megabytes": path.stat().st_size / 1e6,
        "checkpoint_share": write / (interval + write),
        "ours_extra": ours_extra / evaluations,
        "scipy_extra": scipy_extra / evaluations,
        "evaluation": inside[0] / evaluations,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--tiny", action="store_true", help="CI smoke test")
    args = parser.parse_args(argv)
    from naah.testing import write_vgg19_mat

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.tiny:
            weights = write_vgg19_mat(folder / "vgg19.mat")
            sizes, iterations = [32], 3
        else:
            weights = write_vgg19_mat(folder / "vgg19.mat", widths=REAL_WIDTHS,
                                      fc_width=16, num_classes=10)  # fmt: skip
            sizes, iterations = args.sizes, args.iterations
        rows = [measure(weights, size, iterations, folder) for size in sizes]
    print("| size | s/iteration | checkpoint write s | MB | share at defaults |"
          " guard+bookkeeping s/eval | scipy's own s/eval | evaluation s |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['size']} | {r['per_iteration']:.3f} | {r['write']:.3f} | "
            f"{r['megabytes']:.0f} | {100 * r['checkpoint_share']:.2f} % | "
            f"{r['ours_extra']:.4f} | {r['scipy_extra']:.4f} | {r['evaluation']:.3f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
