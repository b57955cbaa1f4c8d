"""Speed and memory of one style-transfer loss+gradient evaluation: naah vs PyTorch.

Prints markdown tables:

* seconds per evaluation for each naah backend and for the same loss in PyTorch on
  the same weights and images (:mod:`torch_reference`), measured alternately in the
  same run (naah, PyTorch, naah, PyTorch, …), with the FLOP floor (convolution and
  Gram FLOPs / this machine's float32 GEMM rate, measured in the same run);
* peak resident memory of each (each framework runs in its own worker process,
  :mod:`bench_worker`);
* naah's compile time, cold (empty PyTensor and Numba caches) and warm;
* scipy's L-BFGS-B cost per evaluation, with and without bounds, on a cheap function
  of the same size, so that only the optimiser is timed;
* peak memory of one naah evaluation at the ``--memory-sizes``.

The weights are a VGG-19 file with the real layer sizes and random values
(:func:`naah.testing.write_vgg19_mat`); speed does not depend on the values.

Examples
--------
::

    python benchmarks/bench_style.py --sizes 128 256 512
    python benchmarks/bench_style.py --sizes 256 --backends c jax --memory-sizes 1024
    python benchmarks/bench_style.py --tiny  # CI: size 32, 2 evaluations, < 60 s
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
# VGG-19's real channel widths per block (Simonyan & Zisserman 2015, Table 1);
# fc layers are not used by style transfer, so they stay small.
REAL_WIDTHS = (64, 128, 256, 512, 512)
FC_WIDTH, NUM_CLASSES = 16, 10
# Convolutions up to conv5_1 and the style layers (naah's defaults).
CONVS = ("1_1 1_2 2_1 2_2 3_1 3_2 3_3 3_4 4_1 4_2 4_3 4_4 5_1").split()
STYLE_CONVS = ("1_1", "2_1", "3_1", "4_1", "5_1")
# L-BFGS-B iterations timed per size.
LBFGS_ITERATIONS = 30
# Seconds between two evaluations, so that one process's BLAS threads, which spin
# for a while after their work (OpenBLAS), do not steal the next one's cores.
PAUSE = 0.2


# -- machine -------------------------------------------------------------------------
def machine_description() -> dict:
    """CPU, cores, memory, library versions and BLAS of this process."""
    import scipy

    cpu = "unknown"
    flags = set()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                cpu = value.strip()
            if key.strip() == "flags":
                flags = set(value.split())
    simd = [
        f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "amx_tile") if f in flags
    ]
    description = {
        "cpu": cpu,
        "simd": " ".join(simd),
        "cores": os.cpu_count(),
        "usable cores": len(os.sched_getaffinity(0)),
        "memory GiB": round(_meminfo_kb("MemTotal") / 2**20, 1),
        "load average": " ".join(f"{v:.1f}" for v in os.getloadavg()),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }
    for module in ("pytensor", "numba", "jax", "torch"):
        if importlib.util.find_spec(module) is not None:
            description[module] = _version(module)
    with contextlib.suppress(ImportError):
        from threadpoolctl import threadpool_info

        description["BLAS"] = "; ".join(
            f"{p['internal_api']} {p['version']} ({p.get('threading_layer')}, "
            f"{p['num_threads']} threads, {Path(p['filepath']).name})"
            for p in threadpool_info()
        )
    return description


def _version(module: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module)
    except PackageNotFoundError:
        return "?"


def _meminfo_kb(key: str) -> int:
    with open("/proc/meminfo") as info:
        for line in info:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def gemm_gflops(libraries, threads=None, repeats: int = 5) -> dict[str, float]:
    """Best float32 matrix-product rate (GFLOP/s) of each library on a
    conv3_x-like product, (256 x 2304) @ (2304 x 4096): ``numpy``, ``scipy``,
    ``torch`` (CPU) or ``jax`` (its default device, a GPU if there is one)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((256, 2304), dtype=np.float32)
    b = rng.standard_normal((2304, 4096), dtype=np.float32)
    flops = 2 * a.shape[0] * a.shape[1] * b.shape[1]
    limits = contextlib.nullcontext()
    if threads:
        from threadpoolctl import threadpool_limits

        limits = threadpool_limits(threads)
    rates = {}
    with limits:
        for library in libraries:
            product = _product(library, a, b, threads)
            if product is None:
                continue
            product()
            best = np.inf
            for _ in range(repeats):
                start = time.perf_counter()
                product()
                best = min(best, time.perf_counter() - start)
            rates[library] = flops / best / 1e9
    return rates


def _product(library, a, b, threads):
    """A function computing a @ b with ``library``, or None if it is not installed."""
    if library == "numpy":
        return lambda: a @ b
    if library == "scipy":
        from scipy.linalg.blas import sgemm

        # (a @ b)ᵀ = bᵀ aᵀ: Fortran-ordered operands, which scipy passes on uncopied.
        return lambda: sgemm(1.0, b.T, a.T)
    try:
        module = importlib.import_module(library)
    except ImportError:
        return None
    if library == "torch":
        if threads:
            module.set_num_threads(threads)
        ta, tb = module.from_numpy(a), module.from_numpy(b)
        return lambda: ta @ tb
    import jax.numpy as jnp

    ja, jb = jnp.asarray(a), jnp.asarray(b)
    matmul = module.jit(jnp.matmul)
    return lambda: matmul(ja, jb).block_until_ready()


def loss_flops(size: int, widths) -> float:
    """Multiply-adds x 2 of one evaluation: convolutions up to conv5_1 forward and
    their input gradients (the same count: the gradient of the image needs all of
    them, conv1_1's included; no kernel gradients), plus the Gram matrices and their
    gradients."""
    total, channels, side = 0.0, 3, size
    for name in CONVS:
        block = int(name[0])
        if block > 1 and name.endswith("_1"):
            side //= 2
        out = widths[block - 1]
        conv = 2.0 * channels * 9 * out * side * side
        total += 2 * conv
        if name in STYLE_CONVS:
            total += 2 * (2.0 * out * out * side * side)
        channels = out
    return total


# -- workers -------------------------------------------------------------------------
class Worker:
    """A :mod:`bench_worker` process answering JSON commands over a pipe."""

    def __init__(self, framework: str, backend: str = "c", env=None, name=None):
        self.name = name or ("PyTorch" if framework == "torch" else f"naah {backend}")
        command = [sys.executable, str(HERE / "bench_worker.py"), "serve"]
        self.process = subprocess.Popen(
            [*command, framework, "--backend", backend],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=HERE,
        )
        self.read()

    def ask(self, cmd: str, **fields) -> dict:
        self.process.stdin.write(json.dumps({"cmd": cmd, **fields}) + "\n")
        self.process.stdin.flush()
        return self.read()

    def read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            raise RuntimeError(f"{self.name} worker exited with code {code}")
        return json.loads(line)

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self.process.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.process.stdin.close()
        self.process.wait(timeout=60)


def worker_env(framework: str, threads: int | None = None) -> dict:
    env = dict(os.environ)
    if threads:
        for name in ("OMP", "OPENBLAS", "MKL", "NUMBA"):
            env[f"{name}_NUM_THREADS"] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(HERE), env.get("PYTHONPATH")) if p
    )
    if framework == "torch":
        env["OMP_WAIT_POLICY"] = "PASSIVE"  # idle OpenMP threads sleep, not spin
    return env


def measure_size(size: int, args, files) -> dict:
    """Alternate evaluations of every framework at one size; times and memory."""
    frameworks = [("naah", b) for b in args.backends]
    if args.torch:
        frameworks.append(("torch", "c"))
    workers = []
    try:
        if args.baseline:
            frameworks.append(("baseline", args.backends[0]))
        for framework, backend in frameworks:
            env = worker_env(framework, args.threads)
            name = None
            if framework == "baseline":
                # The same worker, importing naah from the baseline checkout.
                env["PYTHONPATH"] = os.pathsep.join((str(HERE), args.baseline))
                framework, name = "naah", f"{BASELINE} {backend}"
            worker = Worker(framework, backend, env, name)
            workers.append(worker)
            weights = files["npz"] if framework == "torch" else files["mat"]
            worker.setup = worker.ask("setup", size=size, weights=weights)
        results = {
            w.name: {"setup_s": w.setup["seconds"], "evals": []} for w in workers
        }
        for round_ in range(args.warmup + args.evals):
            for worker in workers:
                answer = worker.ask("eval")
                if round_ >= args.warmup:
                    results[worker.name]["evals"].append(answer)
                time.sleep(args.pause)
        for worker in workers:
            results[worker.name]["stats"] = worker.ask("stats")
    finally:
        for worker in workers:
            worker.close()
    return results


def compile_times(backend, size, files, cache: Path | None, threads=None) -> dict:
    """A fresh process's import, preparation and first evaluations; ``cache``:
    PyTensor's and Numba's cache folder (None: the user's)."""
    env = worker_env("naah", threads)
    if cache is not None:
        flags = [
            f
            for f in env.get("PYTENSOR_FLAGS", "").split(",")
            if f and not f.startswith("base_compiledir")
        ]
        env["PYTENSOR_FLAGS"] = ",".join([*flags, f"base_compiledir={cache / 'pt'}"])
        env["NUMBA_CACHE_DIR"] = str(cache / "numba")
    command = [sys.executable, str(HERE / "bench_worker.py"), "compile"]
    command += ["--backend", backend, "--weights", files["mat"], "--size", str(size)]
    start = time.perf_counter()
    output = subprocess.run(
        command, env=env, cwd=HERE, capture_output=True, text=True, check=True
    ).stdout
    result = json.loads(output.splitlines()[-1])
    result["process_s"] = time.perf_counter() - start
    return result


def lbfgs_overhead(size: int, iterations: int, threads=None) -> dict:
    """L-BFGS-B's own seconds per evaluation, unbounded and bounded, measured in a
    fresh process with the workers' thread settings."""
    command = [sys.executable, str(HERE / "bench_worker.py"), "lbfgs"]
    command += ["--size", str(size), "--iterations", str(iterations)]
    output = subprocess.run(
        command,
        env=worker_env("naah", threads),
        cwd=HERE,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output.splitlines()[-1])


# -- tables --------------------------------------------------------------------------
BASELINE = "baseline naah"


def median(values) -> float:
    return statistics.median(values)


def speed_table(sizes, measured, gflops, widths) -> str:
    names = list(measured[sizes[0]])
    naah_names = [n for n in names if n != "PyTorch"]
    header = ["size", *(f"{n} s/eval" for n in names)]
    if "PyTorch" in names:
        header += [f"{n} / PyTorch" for n in naah_names]
    baselines = [n for n in names if n.startswith(BASELINE)]
    header += [f"{naah_names[0]} / {n}" for n in baselines]
    header += ["FLOP floor s", *(f"{n} / floor" for n in names), "GFLOP"]
    rows = []
    for size in sizes:
        result = measured[size]
        times = {n: [e["seconds"] for e in result[n]["evals"]] for n in names}
        floor = loss_flops(size, widths) / (gflops * 1e9)
        row = [str(size)]
        row += [f"{median(t):.3f} ({min(t):.3f}–{max(t):.3f})" for t in times.values()]
        if "PyTorch" in names:
            row += [_ratios(times[n], times["PyTorch"]) for n in naah_names]
        row += [_ratios(times[naah_names[0]], times[n]) for n in baselines]
        row += [f"{floor:.3f}", *(f"{median(times[n]) / floor:.1f}" for n in names)]
        row.append(f"{loss_flops(size, widths) / 1e9:.1f}")
        rows.append(row)
    return markdown(header, rows)


def _ratios(naah_times, torch_times) -> str:
    """Median of the per-round ratios (each round's two evaluations ran back to back)."""
    ratios = [a / b for a, b in zip(naah_times, torch_times, strict=True)]
    return f"{median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f})"


def detail_table(sizes, measured) -> str:
    header = ["size", "framework", "setup s", "CPU s / wall s", "baseline RSS MB"]
    header += ["peak RSS MB", "device peak MB", "loss", "loss vs first"]
    rows = []
    for size in sizes:
        first = None
        for name, result in measured[size].items():
            evals, stats = result["evals"], result["stats"]
            cpu = median(e["cpu_seconds"] / e["seconds"] for e in evals)
            loss = evals[-1]["loss"]
            first = loss if first is None else first
            rows.append(
                [
                    str(size),
                    name,
                    f"{result['setup_s']:.1f}",
                    f"{cpu:.2f}",
                    f"{stats['baseline']['peak_rss_mb']:.0f}",
                    f"{stats['peak_rss_mb']:.0f}",
                    _device_peak(stats),
                    f"{loss:.6g}",
                    f"{abs(loss - first) / abs(first):.1e}",
                ]
            )
    return markdown(header, rows)


def _device_peak(stats) -> str:
    if "device_peak_mb" not in stats:
        return "–"
    return f"{stats['device_peak_mb']:.0f} ({stats['device']})"


def markdown(header, rows) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    lines = [
        "| "
        + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True))
        + " |"
        for r in [header, ["-" * w for w in widths], *rows]
    ]
    return "\n".join(lines)


# -- main ----------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--evals", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--backends", nargs="+", default=["c"])
    parser.add_argument(
        "--torch",
        action=argparse.BooleanOptionalAction,
        default=importlib.util.find_spec("torch") is not None,
        help="compare with PyTorch (default: when torch is importable)",
    )
    parser.add_argument("--memory-sizes", type=int, nargs="*", default=[])
    parser.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time naah's cold and warm compilation",
    )
    parser.add_argument("--lbfgs", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--lbfgs-iterations",
        type=int,
        default=LBFGS_ITERATIONS,
        help="L-BFGS-B iterations timed per size",
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="threads of every framework (OMP/OpenBLAS/MKL_NUM_THREADS; default: "
        "each library's own choice)",
    )
    parser.add_argument(
        "--gemm",
        nargs="+",
        default=["numpy", "scipy", "torch"],
        help="libraries whose best float32 GEMM rate sets the FLOP floor",
    )
    parser.add_argument("--pause", type=float, default=PAUSE)
    parser.add_argument("--weights", help="a VGG-19 weights file (default: random)")
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        help="also time naah imported from this checkout (e.g. a git worktree of "
        "the last release), in turn with the others: a side-by-side regression check",
    )
    parser.add_argument("--json", help="also write the raw measurements here")
    parser.add_argument(
        "--tiny", action="store_true", help="CI smoke run: size 32, 2 evals, < 60 s"
    )
    args = parser.parse_args(argv)
    if args.tiny:
        args.sizes, args.evals, args.warmup, args.torch = [32], 2, 1, False
        args.memory_sizes, args.compile, args.pause = [], False, 0.0
    if args.torch and importlib.util.find_spec("torch") is None:
        parser.error("--torch needs PyTorch: pip install torch (a CPU build)")
    return args


def prepare_files(args, folder: Path) -> dict:
    """The weights file, the conv widths and (for PyTorch) a copy of its arrays."""
    from naah import load_weights

    mat = args.weights or write_random_weights(folder / "vgg19.mat")
    params = load_weights(mat, layers=[f"conv{b}_1" for b in range(1, 6)]).params
    files = {"mat": str(mat), "widths": [p.kernel.shape[0] for p in params.values()]}
    if args.torch:
        from torch_reference import params_from_weights_file

        files["npz"] = str(folder / "vgg19_convs.npz")
        np.savez(files["npz"], **params_from_weights_file(mat))
    return files


def write_random_weights(path: Path) -> str:
    """A VGG-19 file of the real size with He-scaled random kernels, so that
    activations stay of order one through 13 layers, as trained ones do."""
    from naah.testing import make_vgg19_params, write_vgg19_mat

    sizes = {"widths": REAL_WIDTHS, "fc_width": FC_WIDTH, "num_classes": NUM_CLASSES}
    kernels = {
        name: kernel / np.std(kernel) * np.sqrt(2.0 / np.prod(kernel.shape[1:]))
        for name, (kernel, _) in make_vgg19_params(**sizes).items()
    }
    return write_vgg19_mat(path, **sizes, kernel_overrides=kernels, compression=False)


def run(args) -> tuple[str, dict]:
    sys.path.insert(0, str(HERE))
    report, raw = [], {"args": vars(args)}
    machine = machine_description()
    raw["machine"] = machine
    with tempfile.TemporaryDirectory(prefix="naah-bench-") as tmp:
        folder = Path(tmp)
        files = prepare_files(args, folder)
        rates = gemm_gflops(args.gemm, args.threads)
        measured = {}
        for size in args.sizes:
            print(f"measuring {size}x{size} …", file=sys.stderr, flush=True)
            measured[size] = measure_size(size, args, files)
        rates = {
            k: max(v, rates[k]) for k, v in gemm_gflops(args.gemm, args.threads).items()
        }
        gflops = max(rates.values())
        raw.update(measured=measured, sgemm_gflops=rates)
        report.append(
            "## Seconds per loss+gradient evaluation\n\nFLOP floor = FLOPs / the best "
            "float32 GEMM rate measured in this run: "
            + ", ".join(f"{k} {v:.0f}" for k, v in rates.items())
            + f" GFLOP/s. Threads: {args.threads or 'library defaults'}.\n"
        )
        report.append(speed_table(args.sizes, measured, gflops, files["widths"]))
        report.append(
            f"\nMedian (min–max) of {args.evals} evaluations after {args.warmup} "
            "warm-up, frameworks in turn. Ratios: median of each round's ratio.\n"
        )
        report.append(detail_table(args.sizes, measured))
        if args.compile:
            report.append(compile_section(args, files, folder, raw))
        if args.lbfgs:
            report.append(lbfgs_section(args, raw))
        if args.memory_sizes:
            report.append(memory_section(args, files, raw))
    report.append("\n## Machine\n")
    report.append("\n".join(f"- {k}: {v}" for k, v in machine.items()))
    return "\n".join(report), raw


def compile_section(args, files, folder, raw) -> str:
    size = min(args.sizes)
    rows = []
    for backend in args.backends:
        cache = folder / f"cache-{backend}"
        for label, where in (("cold", cache), ("warm", cache)):
            print(f"compile {backend} {label} …", file=sys.stderr, flush=True)
            t = compile_times(backend, size, files, where, args.threads)
            raw.setdefault("compile", {})[f"{backend} {label}"] = t
            rows.append(
                [backend, label]
                + [f"{t[k]:.1f}" for k in ("import_s", "prepare_s", "first_eval_s")]
                + [f"{t['eval_s']:.2f}", f"{t['process_s']:.1f}"]
            )
    header = ["backend", "caches", "import s", "prepare s", "1st eval s", "2nd eval s"]
    header.append("process s")
    return (
        f"\n## naah start-up at {size}x{size}\n\n"
        "cold: empty PyTensor compiledir and NUMBA_CACHE_DIR; warm: a second process "
        "reusing them. prepare = build the graph, compile it, compute the targets.\n\n"
        + markdown(header, rows)
    )


def lbfgs_section(args, raw) -> str:
    iterations = 5 if args.tiny else args.lbfgs_iterations
    rows = []
    for size in args.sizes:
        cost = lbfgs_overhead(size, iterations, args.threads)
        raw.setdefault("lbfgs", {})[size] = cost
        first = raw["measured"][size][f"naah {args.backends[0]}"]["evals"]
        naah = median(e["seconds"] for e in first)
        rows.append(
            [
                str(size),
                f"{1e3 * cost['unbounded_s']:.1f}",
                f"{1e3 * cost['bounded_s']:.1f}",
                f"{100 * cost['bounded_s'] / naah:.1f}%",
            ]
        )
    header = ["size", "no bounds ms/eval", "bounds ms/eval", "bounds / naah eval"]
    return (
        "\n## scipy L-BFGS-B's own cost per evaluation (m = 10)\n\n"
        "Timed on a cheap ill-conditioned quadratic of the image's size, in a fresh "
        "process, time inside the function subtracted.\n\n" + markdown(header, rows)
    )


def memory_section(args, files, raw) -> str:
    rows = []
    for size in args.memory_sizes:
        print(f"memory {size}x{size} …", file=sys.stderr, flush=True)
        worker = Worker("naah", args.backends[0], worker_env("naah", args.threads))
        try:
            setup = worker.ask("setup", size=size, weights=files["mat"])
            evaluation = worker.ask("eval")
            stats = worker.ask("stats")
        finally:
            worker.close()
        raw.setdefault("memory", {})[size] = {
            "setup": setup, "eval": evaluation, "stats": stats,
        }  # fmt: skip
        rows.append(
            [
                str(size),
                f"{setup['seconds']:.1f}",
                f"{evaluation['seconds']:.2f}",
                f"{stats['baseline']['peak_rss_mb']:.0f}",
                f"{stats['peak_rss_mb']:.0f}",
            ]
        )
    header = ["size", "setup s", "1st eval s", "baseline RSS MB", "peak RSS MB"]
    return (
        f"\n## naah {args.backends[0]}: one evaluation at large sizes\n\n"
        + markdown(header, rows)
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    report, raw = run(args)
    print(report)
    if args.json:
        Path(args.json).write_text(json.dumps(raw, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
