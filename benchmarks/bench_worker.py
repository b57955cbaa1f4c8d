"""One framework's side of :mod:`bench_style`: a process driven over a pipe.

``python benchmarks/bench_worker.py serve naah --backend c`` (or ``serve torch``)
reads one JSON command per line on stdin and answers one JSON line on stdout:

``{"cmd": "setup", "size": 256, "weights": PATH, "seed": 0}``
    Build the loss for a size x size content/style pair (``weights``: the ``.mat``
    file for naah, the ``.npz`` of :func:`torch_reference.params_from_weights_file`
    for PyTorch).
``{"cmd": "eval"}``
    One loss and gradient evaluation, as scipy's L-BFGS-B callback does it (flat
    float64 image in, loss and flat float64 gradient out): wall and CPU seconds.
``{"cmd": "stats"}``
    Peak and current resident memory (``VmHWM``, ``VmRSS``), threads, versions.
``{"cmd": "quit"}``

Each framework lives in its own process so that its peak memory is its own, and
the driver asks the workers in turn so that both see the same machine load.

``python benchmarks/bench_worker.py compile --backend c --weights PATH --size S``
times import, problem preparation and the first two evaluations in a fresh process
(the driver points PyTensor's and Numba's caches at empty folders for a cold run).

``python benchmarks/bench_worker.py lbfgs --size S`` times scipy's L-BFGS-B alone,
in a process that has loaded nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

# Inputs of every benchmark: uniform noise in 0–255, as StyleTransfer's "noise" init.
CONTENT_SEED, STYLE_SEED, IMAGE_SEED = 1, 2, 3


def images(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Content, style and generated (H, W, 3) images of ``size`` x ``size``."""
    return tuple(
        np.random.default_rng(seed).uniform(0, 255, (size, size, 3)).astype(np.float32)
        for seed in (CONTENT_SEED, STYLE_SEED, IMAGE_SEED)
    )


def memory_mb() -> dict[str, float]:
    """Peak (VmHWM) and current (VmRSS) resident memory of this process, MiB."""
    fields = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                fields[key] = int(value.split()[0]) / 1024
    return {"peak_rss_mb": fields["VmHWM"], "rss_mb": fields["VmRSS"]}


class NaahProblem:
    """naah's StyleProblem, evaluated as naah.optim's L-BFGS-B adapter does."""

    def __init__(self, backend: str):
        import naah  # noqa: F401  (import time belongs to start-up, not setup)

        self.backend = backend

    def setup(self, size: int, weights: str) -> float:
        from naah import StyleTransfer
        from naah.io.images import preprocess

        _jax_targets_workaround()
        content, style, image = images(size)
        import naah

        # The command line's fast settings; older naah kept freed memory by itself.
        options = {}
        if hasattr(naah, "Runtime"):
            options["runtime"] = naah.Runtime(keep_freed_memory=True)
        transfer = StyleTransfer(weights, backend=self.backend, **options)
        self.problem = transfer.prepare(content, style)
        self.x = preprocess(image, self.problem.mean_pixel).ravel().astype(np.float64)

    def evaluate(self) -> float:
        evaluation, grad = self.problem.evaluate(self.x)
        self.grad = np.asarray(grad).ravel().astype(np.float64)
        return evaluation.total

    def info(self) -> dict:
        import numba
        import pytensor

        info = {"pytensor": pytensor.__version__, "numba": numba.__version__}
        if self.backend == "jax":
            import jax

            device = jax.devices()[0]
            info["device"] = f"{device.platform} {device.device_kind}"
            stats = device.memory_stats() or {}
            if "peak_bytes_in_use" in stats:
                info["device_peak_mb"] = stats["peak_bytes_in_use"] / 2**20
        return info


class TorchProblem:
    """:class:`torch_reference.TorchStyleLoss` on the same weights and images."""

    def __init__(self):
        import torch  # noqa: F401

    def setup(self, size: int, weights: str) -> None:
        from torch_reference import TorchStyleLoss, preprocess

        params = dict(np.load(weights))
        mean = params["mean_pixel"]
        content, style, image = (preprocess(a, mean) for a in images(size))
        self.problem = TorchStyleLoss(params, content, style)
        self.x = image.ravel().astype(np.float64)

    def evaluate(self) -> float:
        loss, self.grad = self.problem.loss_and_grad(self.x)
        return loss

    def info(self) -> dict:
        import torch

        return {
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "torch_config": torch.__config__.parallel_info().splitlines()[:6],
            "mkldnn": torch.backends.mkldnn.is_available(),
        }


def _jax_targets_workaround() -> None:
    """Turn StyleProblem's targets into numpy arrays.

    naah's JAX backend returns jax Arrays, which PyTensor cannot use as constants in
    the loss graph; harmless once StyleProblem._targets does ``np.asarray`` itself.
    """
    from naah.problem import StyleProblem

    original = getattr(StyleProblem, "_targets", None)
    if original is None or getattr(original, "converts_to_numpy", False):
        return  # targets are shared variables now: nothing to convert

    def targets(self):
        return {k: np.asarray(v) for k, v in original(self).items()}

    targets.converts_to_numpy = True
    StyleProblem._targets = targets


def _threads() -> list[dict]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keys = ("internal_api", "num_threads", "version", "threading_layer", "filepath")
    return [{k: pool.get(k) for k in keys} for pool in threadpool_info()]


def serve(problem, reply) -> None:
    """Answer commands from stdin until ``quit`` or end of input."""
    baseline = memory_mb()
    for line in sys.stdin:
        command = json.loads(line)
        cmd = command["cmd"]
        if cmd == "quit":
            break
        start, cpu = time.perf_counter(), time.process_time()
        if cmd == "setup":
            problem.setup(command["size"], command["weights"])
            answer = {}
        elif cmd == "eval":
            answer = {"loss": problem.evaluate()}
        elif cmd == "stats":
            answer = {**memory_mb(), "baseline": baseline, "threads": _threads()}
            answer.update(problem.info())
        else:
            raise ValueError(f"unknown command {cmd!r}")
        answer["seconds"] = time.perf_counter() - start
        answer["cpu_seconds"] = time.process_time() - cpu
        reply(answer)


def compile_times(backend: str, weights: str, size: int) -> dict:
    """Seconds to import naah, prepare a problem and run two evaluations."""
    start = time.perf_counter()
    problem = NaahProblem(backend)
    imported = time.perf_counter()
    problem.setup(size, weights)
    prepared = time.perf_counter()
    problem.evaluate()
    first = time.perf_counter()
    problem.evaluate()
    second = time.perf_counter()
    return {
        "import_s": imported - start,
        "prepare_s": prepared - imported,
        "first_eval_s": first - prepared,
        "eval_s": second - first,
    }


def lbfgs_overhead(size: int, bounded: bool, iterations: int) -> float:
    """Seconds per evaluation spent inside scipy's L-BFGS-B itself, for an image of
    size x size x 3, on an ill-conditioned quadratic (so it does not converge), with
    naah.optim's settings (m = 10, factr = 10, pgtol = 0)."""
    from scipy.optimize import fmin_l_bfgs_b

    n = 3 * size * size
    rng = np.random.default_rng(0)
    scale = np.logspace(0, 4, n)[rng.permutation(n)]
    centre = rng.uniform(-200, 200, n)
    inside = 0.0

    def quadratic(x):
        nonlocal inside
        start = time.perf_counter()
        d = x - centre
        g = scale * d
        value = 0.5 * float(d @ g)
        inside += time.perf_counter() - start
        return value, g

    # naah's pixel bounds: 0–255 minus a mean pixel near VGG's.
    bounds = np.tile([[-120.0, 135.0]], (n, 1)) if bounded else None
    start = time.perf_counter()
    _, _, info = fmin_l_bfgs_b(
        quadratic, np.zeros(n), bounds=bounds, m=10, maxiter=iterations,
        factr=10.0, pgtol=0.0,
    )  # fmt: skip
    total = time.perf_counter() - start
    return (total - inside) / info["funcalls"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("serve", "compile", "lbfgs"))
    parser.add_argument("framework", nargs="?", choices=("naah", "torch"))
    parser.add_argument("--backend", default="c")
    parser.add_argument("--weights")
    parser.add_argument("--size", type=int)
    parser.add_argument("--iterations", type=int, default=30)
    args = parser.parse_args(argv)
    # Replies go to the pipe on stdout; whatever a library prints, from Python or
    # from C, goes to stderr.
    channel = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def reply(answer):
        channel.write(json.dumps(answer) + "\n")
        channel.flush()

    if args.mode == "compile":
        reply(compile_times(args.backend, args.weights, args.size))
        return
    if args.mode == "lbfgs":
        reply(
            {
                f"{kind}_s": lbfgs_overhead(
                    args.size, kind == "bounded", args.iterations
                )
                for kind in ("unbounded", "bounded")
            }
        )
        return
    if args.framework == "torch":
        problem = TorchProblem()
    else:
        problem = NaahProblem(args.backend)
    reply({"ready": True})
    serve(problem, reply)


if __name__ == "__main__":
    main()
