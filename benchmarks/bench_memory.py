"""Peak memory of a style transfer: naah.estimate's prediction against the peak
resident memory measured in a fresh process per size.

Prints markdown tables: size | estimate | measured peak RSS | error %, and the
estimate's parts beside the high-water mark of each phase of the run.

Each size runs in its own ``python bench_memory.py child`` process, so that its
peak (``ru_maxrss``) is its own. The child builds a :class:`naah.StyleTransfer` on
a VGG-19 file with the real file's layout and sizes and He-scaled random float32
weights (:func:`write_full_size_weights`; the real file cannot be downloaded here
and memory does not depend on the values), with the command line's runtime policy
(``Runtime(keep_freed_memory=True)``), and runs ``--iterations`` iterations from
noise on noise content and style images of ``size`` pixels on a side (the style
image ``size * --style-scale``). It reports the high-water mark of each phase
(loading the weights, preparing the problem, running) by resetting it in between
(``/proc/self/clear_refs``, Linux).

L-BFGS-B's workspace (200 bytes per optimised value) is allocated with
``np.zeros`` and its correction pairs are written one per iteration. Below 1 GiB
glibc serves it from the heap, where freed memory kept for reuse is zeroed at
once: resident from the first iteration (3 and 12 iterations peaked within
0.1 % at 256 and 512). Above (from about 1340 pixels a side), or with
``--no-keep-freed-memory``, it is a fresh mapping whose pages count once
written, and the peak of a long run comes after m = 10 iterations: hence the
default of 12.

Examples
--------
::

    python benchmarks/bench_memory.py --sizes 256 512 1024 2048
    python benchmarks/bench_memory.py --sizes 256 512 --optimizer adam
    python benchmarks/bench_memory.py --sizes 512 --no-keep-freed-memory
    python benchmarks/bench_memory.py --tiny  # CI smoke run: size 32, narrow weights
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SIZES = (256, 512, 1024, 2048)
# Enough for the peak of a long run (L-BFGS-B's history full): see above.
ITERATIONS = 12
# VGG-19's real sizes (Simonyan & Zisserman 2015, Table 1; naah.architecture).
REAL_WIDTHS = (64, 128, 256, 512, 512)
REAL_FC_WIDTH, REAL_CLASSES = 4096, 1000
# Noise images, as bench_worker's, with seeds other than the initial image's (the
# transfer's seed 0), or the content loss would start at its minimum.
CONTENT_SEED, STYLE_SEED = 1, 2
PHASES = ("weights", "prepare", "run")
MiB = 2**20


# -- the child: one measured run -----------------------------------------------------
def _status_bytes(key: str) -> int:
    """``VmHWM`` or ``VmRSS`` of this process, bytes (0 off Linux)."""
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name == key:
                return int(value.split()[0]) * 1024
    return 0


def _reset_peak() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux >= 4.0); False if not."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def child(args) -> dict:
    """One style transfer; the peak RSS of the process and of each phase, bytes."""
    import numpy as np

    import naah

    imported = _status_bytes("VmRSS")
    style_size = max(1, round(args.size * args.style_scale))
    content, style = (
        np.random.default_rng(seed).uniform(0, 255, (side, side, 3)).astype(np.float32)
        for seed, side in ((CONTENT_SEED, args.size), (STYLE_SEED, style_size))
    )
    transfer = naah.StyleTransfer(
        args.weights,
        content_layers=args.content_layers,
        style_layers=args.style_layers,
        optimizer=args.optimizer,
        backend=args.backend,
        runtime=naah.Runtime(keep_freed_memory=args.keep_freed_memory),
    )
    phases = {}
    resettable = _reset_peak()
    start = time.perf_counter()
    _ = transfer.net
    phases["weights"] = _status_bytes("VmHWM")
    resettable and _reset_peak()
    transfer.prepare(content, style, size=None)
    phases["prepare"] = _status_bytes("VmHWM")
    resettable and _reset_peak()
    with tempfile.TemporaryDirectory(prefix="naah-bench-memory-") as folder:
        options = {}
        if args.checkpoint_every:
            options["checkpoint"] = os.path.join(folder, "run.ckpt")
            options["checkpoint_every"] = args.checkpoint_every
        result = transfer.run(
            content, style, iterations=args.iterations, size=None, **options
        )
    phases["run"] = _status_bytes("VmHWM")
    return {
        "size": args.size,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "imported_rss": imported,
        "phases": phases if resettable else {},
        "evaluations": result.history[-1].evaluations,
        "seconds": time.perf_counter() - start,
    }


# -- the driver ----------------------------------------------------------------------
def measure(size: int, args, weights: str) -> dict:
    """:func:`child` at ``size`` in a fresh interpreter."""
    command = [sys.executable, str(HERE / "bench_memory.py"), "child"]
    command += ["--size", str(size), "--weights", weights]
    command += ["--optimizer", args.optimizer, "--backend", args.backend]
    command += ["--iterations", str(args.iterations)]
    command += ["--style-scale", str(args.style_scale)]
    command += ["--content-layers", *args.content_layers]
    command += ["--style-layers", *args.style_layers]
    if not args.keep_freed_memory:
        command.append("--no-keep-freed-memory")
    if args.checkpoint_every:
        command += ["--checkpoint-every", str(args.checkpoint_every)]
    output = subprocess.run(command, cwd=HERE, capture_output=True, text=True)
    if output.returncode != 0:
        raise RuntimeError(f"the run at {size} failed:\n{output.stderr[-3000:]}")
    return json.loads(output.stdout.splitlines()[-1])


def estimate_for(size: int, args):
    """naah.estimate's prediction for the child's run at ``size``."""
    from naah.estimate import estimate_memory

    style_size = max(1, round(size * args.style_scale))
    return estimate_memory(
        (size, size),
        (style_size, style_size),
        backend=args.backend,
        optimizer=args.optimizer,
        content_layers=args.content_layers,
        style_layers=args.style_layers,
    )


def write_full_size_weights(path: Path) -> str:
    """A VGG-19 file of the real file's layout and sizes (fc6-fc8 included, float32
    as MatConvNet stores them) with He-scaled random kernels, so that what the
    loader streams past and keeps is what it would be for the real file."""
    import numpy as np

    from naah.testing import make_vgg19_params, write_vgg19_mat

    sizes = {"widths": REAL_WIDTHS, "fc_width": REAL_FC_WIDTH}
    sizes["num_classes"] = REAL_CLASSES
    kernels = {}
    for name, (kernel, _) in make_vgg19_params(**sizes).items():
        scale = np.sqrt(2.0 / np.prod(kernel.shape[1:])) / np.std(kernel)
        kernels[name] = (kernel * scale).astype(np.float32)
    return write_vgg19_mat(path, **sizes, kernel_overrides=kernels, compression=False)


def weights_file(stack: contextlib.ExitStack, *, tiny: bool) -> str:
    """A VGG-19 file in a folder that lives as long as ``stack``: the tests'
    narrow one with ``tiny``, else :func:`write_full_size_weights`'s."""
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
    if tiny:
        from naah.testing import write_vgg19_mat

        return write_vgg19_mat(folder / "vgg19.mat")
    print("writing a full-size VGG-19 file …", file=sys.stderr, flush=True)
    return write_full_size_weights(folder / "vgg19.mat")


def markdown(header: list[str], rows: list[list[str]]) -> str:
    sys.path.insert(0, str(HERE))
    from bench_style import markdown as table

    return table(header, rows)


def run(args) -> tuple[str, list[dict]]:
    raw = []
    with contextlib.ExitStack() as stack:
        weights = args.weights or weights_file(stack, tiny=args.tiny)
        for size in args.sizes:
            print(f"measuring {size}x{size} …", file=sys.stderr, flush=True)
            measured = measure(size, args, weights)
            estimate = estimate_for(size, args)
            raw.append({**measured, "estimate": dict(estimate.breakdown)})
    return report(args, raw), raw


def report(args, raw: list[dict]) -> str:
    rows, parts = [], []
    for result in raw:
        estimate, peak = sum(result["estimate"].values()), result["peak_rss"]
        rows.append(
            [
                str(result["size"]),
                f"{estimate / MiB:.0f}",
                f"{peak / MiB:.0f}",
                f"{100 * (estimate - peak) / peak:+.1f}",
                str(result["evaluations"]),
                f"{result['seconds']:.0f}",
            ]
        )
        parts.append(
            [str(result["size"])]
            + [f"{v / MiB:.0f}" for v in result["estimate"].values()]
            + [f"{result['phases'].get(k, 0) / MiB:.0f}" for k in PHASES]
        )
    header = ["size", "estimate MiB", "measured peak RSS MiB", "error %"]
    header += ["evaluations", "run s"]
    part_header = ["size", *(f"{k} MiB" for k in raw[0]["estimate"])]
    part_header += [f"measured {k} phase MiB" for k in PHASES]
    policy = "kept" if args.keep_freed_memory else "returned"
    title = (
        f"## naah {args.backend}, {args.optimizer}, {args.iterations} iterations, "
        f"style image x{args.style_scale:g}, freed memory {policy}"
        + (
            f", a checkpoint every {args.checkpoint_every}"
            if args.checkpoint_every
            else ""
        )
        + "\n\n"
    )
    if args.tiny:
        title += "(narrow stand-in weights: the estimate assumes VGG-19's)\n\n"
    return (
        title
        + markdown(header, rows)
        + "\n\nThe estimate's parts, and the measured high-water mark of each phase:"
        + "\n\n"
        + markdown(part_header, parts)
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("mode", nargs="?", choices=("child",), help=argparse.SUPPRESS)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--optimizer", default="lbfgs", choices=("lbfgs", "adam", "gd"))
    parser.add_argument("--backend", default="c", choices=("c", "numba", "jax"))
    parser.add_argument("--iterations", type=int, default=ITERATIONS)
    parser.add_argument("--style-scale", type=float, default=1.0)
    parser.add_argument("--content-layers", nargs="*", default=["conv4_2"])
    parser.add_argument(
        "--style-layers",
        nargs="*",
        default=["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"],
    )
    parser.add_argument(
        "--keep-freed-memory",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Runtime(keep_freed_memory=...): on, as the command line runs",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=int,
        default=0,
        metavar="N",
        help="write a checkpoint every N iterations, as naah stylize does (default: "
        "none)",
    )
    parser.add_argument("--weights", help="a VGG-19 weights file (default: random)")
    parser.add_argument("--json", help="also write the raw measurements here")
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="CI smoke run: size 32, 2 iterations, narrow stand-in weights",
    )
    args = parser.parse_args(argv)
    if args.tiny:
        args.sizes, args.iterations = [32], 2
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.mode == "child":
        print(json.dumps(child(args)))
        return 0
    text, raw = run(args)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(raw, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
