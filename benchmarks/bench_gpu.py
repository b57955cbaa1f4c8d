"""bench_style's tables for naah's JAX backend on a GPU, sizes up to 2048.

Needs a machine where ``jax[cuda12]`` (or another JAX GPU build) and naah are
installed; installs nothing. Exits with a message when JAX sees no GPU.

The FLOP floor uses JAX's float32 matrix-product rate on the GPU, measured in the
same run. JAX's default float32 precision on recent NVIDIA GPUs is TF32; pass
``--precision highest`` for full float32 products (slower).

Examples
--------
::

    python benchmarks/bench_gpu.py
    python benchmarks/bench_gpu.py --sizes 512 1024 2048 4096 --evals 10
    python benchmarks/bench_gpu.py --precision highest --memory-sizes 4096
"""

from __future__ import annotations

import argparse
import os
import sys

# Every process allocates GPU memory as it needs it, instead of 75 % of the GPU at
# start-up, so that the workers and this process fit side by side and the peaks
# reported are the computation's own.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

DEFAULTS = ["--sizes", "256", "512", "1024", "2048", "--backends", "jax"]
DEFAULTS += ["--no-torch", "--gemm", "jax", "--pause", "0", "--lbfgs-iterations", "10"]


def gpu_or_exit() -> str:
    """The GPU JAX will use, or exit with a message saying why there is none."""
    try:
        import jax
    except ImportError:
        sys.exit(
            "bench_gpu: JAX is not installed. On a GPU machine: "
            "pip install 'naah[jax]' 'jax[cuda12]'"
        )
    try:
        devices = jax.devices("gpu")
    except RuntimeError:
        devices = []
    if not devices:
        sys.exit(
            f"bench_gpu: JAX sees no GPU (its default backend is "
            f"{jax.default_backend()!r}); install a CUDA build of jaxlib "
            "('jax[cuda12]') on a machine with an NVIDIA GPU, or run "
            "bench_style.py for the CPU"
        )
    return f"{devices[0].device_kind} ({len(devices)} visible)"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--precision", choices=("default", "high", "highest"))
    known, rest = parser.parse_known_args(argv)
    if known.precision and known.precision != "default":
        os.environ["JAX_DEFAULT_MATMUL_PRECISION"] = known.precision
    print(f"GPU: {gpu_or_exit()}", file=sys.stderr)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench_style

    return bench_style.main(DEFAULTS + rest)


if __name__ == "__main__":
    sys.exit(main())
