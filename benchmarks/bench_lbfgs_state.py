"""L-BFGS's own cost and memory: scipy's float64 L-BFGS-B against naah's float32 one.

Prints a markdown table: for n optimised values (3 x the pixels), each
implementation's state (what a checkpoint of it holds) and its time per iteration
beyond the evaluations (the two-loop recursion or L-BFGS-B's subspace step, the line
search's bookkeeping and the vector updates), with m = 10 pairs and with the m that
a memory budget for the optimiser allows (:func:`naah.optim.float_lbfgs.
lbfgs_history_for`; ``--budgets``, default 1.5 GB, all of issue 19's 2048-px
budget, and a third of it).

The loss is a separable quadratic over values in naah's pixel range with its
per-channel bounds, some of them active at the minimum; its evaluations allocate
nothing and their time is subtracted. The time is the mean over ``--iterations``
iterations after the memory has filled.

Examples
--------
::

    python benchmarks/bench_lbfgs_state.py  # 512x512 and 2048x1536: about a minute
    python benchmarks/bench_lbfgs_state.py --tiny  # CI smoke test: seconds
"""

from __future__ import annotations

import argparse
import time

import numpy as np

MB = 10**6
MiB = 2**20


def quadratic(shape: tuple[int, ...], seed: int = 0):
    """0.5 sum(a (x - c)^2) over an image-shaped x, and a counter of its seconds."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 2.0, shape).astype(np.float32)
    c = rng.uniform(-160, 160, shape).astype(np.float32)  # some beyond the bounds
    grad = np.empty(shape, np.float32)
    spent = [0.0]

    def loss_and_grad(x):
        start = time.perf_counter()
        x = np.asarray(x, np.float32).reshape(shape)  # scipy passes float64, flat
        np.subtract(x, c, out=grad)
        weighted = (grad * a).ravel()
        loss = 0.5 * float(np.einsum("i,i->", weighted, grad.ravel(), dtype=np.float64))
        np.multiply(grad, a, out=grad)
        spent[0] += time.perf_counter() - start
        return loss, grad

    return loss_and_grad, spent


def overhead(solver, loss_and_grad, spent, warmup: int, iterations: int) -> float:
    """Seconds per iteration beyond the evaluations, after ``warmup`` iterations."""
    for _ in range(warmup):
        solver.step(loss_and_grad)
    spent[0] = 0.0
    start = time.perf_counter()
    done = 0
    while done < iterations and solver.step(loss_and_grad):
        done += 1
    return (time.perf_counter() - start - spent[0]) / max(done, 1)


def measure(height: int, width: int, m: int, implementation: str, iterations: int):
    from naah.optim.float_lbfgs import FloatLBFGS, state_bytes
    from naah.optim.lbfgsb import LBFGSB, LBFGSBSettings

    shape = (1, 3, height, width)
    n = 3 * height * width
    mean = np.array([123.68, 116.779, 103.939], np.float32).reshape(1, 3, 1, 1)
    low, high = -mean, 255 - mean
    x0 = np.zeros(shape, np.float32)
    float32, spent = quadratic(shape)
    settings = LBFGSBSettings(m=m)
    if implementation == "float32":
        solver = FloatLBFGS(x0, (low, high), settings)
        nbytes = state_bytes(n, m)
        loss_and_grad = float32
    else:

        def float64(x):
            loss, grad = float32(x)
            return loss, grad.ravel().astype(np.float64)

        box = tuple(
            np.broadcast_to(b, shape).ravel().astype(np.float64) for b in (low, high)
        )
        solver = LBFGSB(x0.ravel().astype(np.float64), box, settings)
        nbytes = sum(a.nbytes for a in solver.state().values())
        nbytes += sum(b.nbytes for b in box) + solver.nbd.nbytes
        loss_and_grad = float64
    seconds = overhead(solver, loss_and_grad, spent, m + 2, iterations)
    return nbytes, seconds


def main(argv: list[str] | None = None) -> int:
    from naah.optim.float_lbfgs import lbfgs_history_for

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", nargs="+", default=["512x512", "2048x1536"], help="HxW"
    )
    parser.add_argument(
        "--budgets", type=float, nargs="+", default=[1500.0, 500.0], help="MB"
    )
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--tiny", action="store_true", help="CI smoke test")
    args = parser.parse_args(argv)
    if args.tiny:
        args.sizes, args.budgets, args.iterations = ["64x48"], [0.5], 3

    print("| size | n | L-BFGS | m | state MiB | ms/iteration beyond evaluations |")
    print("|---|---|---|---|---|---|")
    for size in args.sizes:
        height, width = (int(v) for v in size.split("x"))
        n = 3 * height * width
        rows = [("scipy float64", "scipy", 10), ("naah float32", "float32", 10)]
        for budget in args.budgets:
            m = lbfgs_history_for(int(budget * MB), n)
            rows.append((f"naah float32, {budget:g} MB budget", "float32", m))
        for label, implementation, m in rows:
            nbytes, seconds = measure(height, width, m, implementation, args.iterations)
            print(
                f"| {size} | {n} | {label} | {m} | {nbytes / MiB:.0f} | "
                f"{seconds * 1e3:.1f} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
