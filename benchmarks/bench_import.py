"""Import time of naah against PyTensor's tensor module, in fresh processes.

Prints a table of the median and spread over ``--runs`` fresh interpreters. The
target (issue 9): ``import naah`` costs at most 1.5x ``import pytensor.tensor``
when the Numba backend is not used.

    python benchmarks/bench_import.py --runs 15
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

CODE = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def import_seconds(module: str, path: str | None = None) -> float:
    env = dict(os.environ, PYTHONPATH=path) if path else None
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", CODE.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    return float(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument(
        "--baseline", metavar="DIR", help="also time naah imported from this checkout"
    )
    args = parser.parse_args(argv)
    # Interleaved, so that a busy machine slows all alike.
    sources = {"pytensor.tensor": ("pytensor.tensor", None), "naah": ("naah", None)}
    if args.baseline:
        sources["naah (baseline)"] = ("naah", args.baseline)
    times: dict[str, list[float]] = {name: [] for name in sources}
    for _ in range(args.runs):
        for name, (module, path) in sources.items():
            times[name].append(import_seconds(module, path))
    base = statistics.median(times["pytensor.tensor"])
    print("| module | median s | min s | max s | ratio |")
    print("|---|---|---|---|---|")
    for module, values in times.items():
        median = statistics.median(values)
        print(
            f"| {module} | {median:.3f} | {min(values):.3f} | {max(values):.3f} "
            f"| {median / base:.2f}x |"
        )
    loaded = subprocess.run(
        [
            sys.executable,
            "-W",
            "ignore",
            "-c",
            "import sys, naah; print(*sorted(m for m in "
            "('numba', 'scipy.optimize', 'h5py', 'pytensor.link.numba.dispatch.basic')"
            " if type(sys.modules.get(m)).__name__ == 'module'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(f"\nloaded (not only registered lazily) by `import naah`: {loaded or 'none'}")


if __name__ == "__main__":
    main()
