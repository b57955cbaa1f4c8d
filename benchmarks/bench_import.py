"""Import time of naah against PyTensor's tensor module, in fresh processes.

Prints a table of the median and spread over ``--runs`` fresh interpreters, and
the heavy modules that ``import naah`` loads. The target (issues 9 and 21):
``import naah`` costs at most 1.5x ``import pytensor.tensor`` when the Numba
backend is not used. naah is imported from this checkout (``--baseline DIR``
adds another), with its bytecode cached as an installed package has it: each
source is imported once untimed first, with ``PYTHONDONTWRITEBYTECODE`` unset
(with it set, every run would compile naah's sources again, about 0.2 s that no
installed naah pays).

    python benchmarks/bench_import.py --runs 15
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

CODE = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
REPOSITORY = Path(__file__).resolve().parent.parent
# Modules that only some runs need, each 0.05-0.3 s to import: `import naah`
# must leave them to first use.
HEAVY = (
    "numba",
    "scipy.optimize",
    "scipy.ndimage",
    "h5py",
    "matplotlib",
    "tqdm",
    "cv2",
    "av",
    "pytensor.link.numba.dispatch.basic",
)


def _environment(path: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if path:
        env["PYTHONPATH"] = path
    return env


def _python(code: str, path: str | None) -> str:
    # -P: not the current folder first on the path, which would shadow PYTHONPATH.
    return subprocess.run(
        [sys.executable, "-P", "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=_environment(path),
    ).stdout


def import_seconds(module: str, path: str | None = None) -> float:
    return float(_python(CODE.format(module=module), path))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument(
        "--baseline", metavar="DIR", help="also time naah imported from this checkout"
    )
    args = parser.parse_args(argv)
    here = str(REPOSITORY)
    sources = {"pytensor.tensor": ("pytensor.tensor", None), "naah": ("naah", here)}
    if args.baseline:
        sources["naah (baseline)"] = ("naah", args.baseline)
    for module, path in sources.values():  # writes the bytecode caches
        import_seconds(module, path)
    # Interleaved, so that a busy machine slows all alike.
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
    for name, (module, path) in sources.items():
        if module != "naah":
            continue
        loaded = _python(
            "import sys, naah; print(*sorted(m for m in "
            f"{HEAVY!r} if type(sys.modules.get(m)).__name__ == 'module'))",
            path,
        ).strip()
        print(
            f"\nloaded (not only registered lazily) by `import naah` ({name}): "
            f"{loaded or 'none'}"
        )


if __name__ == "__main__":
    main()
