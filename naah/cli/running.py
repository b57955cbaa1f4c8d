"""One run of ``naah stylize`` or ``--resume``: the transfer, what each iteration
shows and writes, and the end (the image, the history, the plot; on Ctrl-C too)."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from naah.cli.common import (
    PROG,
    CommandError,
    UsageError,
    _interrupt_status,
    _reason,
    _try_write,
    _write_line,
)
from naah.cli.paths import _snapshot_path
from naah.cli.weights import _find_weights
from naah.compile import get_mode
from naah.io.images import ImageError, save_image
from naah.live import WebView, is_loopback
from naah.live.web import LOOPBACK_HOST
from naah.optim import History, IterationRecord
from naah.progress import printer
from naah.runtime import Runtime
from naah.style_transfer import RunDiverged, RunInterrupted, StyleResult, StyleTransfer


class _Outputs:
    """The files a run writes, and how its checkpoint remembers them."""

    def __init__(
        self,
        output: Path,
        history: Path | None,
        plot: Path | None,
        checkpoint: Path | None,
    ) -> None:
        self.output, self.history, self.plot = output, history, plot
        self.checkpoint = checkpoint

    def info(self, content: str) -> dict[str, str | None]:
        def absolute(path: str | Path | None) -> str | None:
            return None if path is None else os.path.abspath(path)

        return {
            "output": absolute(self.output),
            "history": absolute(self.history),
            "plot": absolute(self.plot),
            "content": absolute(content),
        }


def _finish(
    args: argparse.Namespace,
    transfer: StyleTransfer,
    files: _Outputs,
    run: Callable[[], StyleResult],
) -> int:
    """Run, then write the results; on an interrupt or divergence, write what the
    run reached and say how to go on."""
    say = printer(args.quiet)
    start = time.perf_counter()
    try:
        result = run()
    except RunInterrupted as interrupt:
        if interrupt.result is None:
            raise
        written, _ = _write_results(interrupt.result, transfer, files)
        last = interrupt.result.history[-1].iteration
        _write_line(
            f"{PROG}: interrupted at iteration {last}; wrote "
            f"{_listing(written, interrupt.result.checkpoint)}"
            + _resume_hint(interrupt.result.checkpoint),
            sys.stderr,
        )
        return _interrupt_status(interrupt)
    except RunDiverged as diverged:
        if diverged.result is None:
            raise CommandError(str(diverged)) from None
        written, _ = _write_results(diverged.result, transfer, files)
        best = diverged.result.best_iteration
        raise CommandError(
            f"{diverged}; wrote the best image (iteration {best}): "
            f"{_listing(written, diverged.result.checkpoint)}"
        ) from None
    written, failure = _write_results(result, transfer, files)
    elapsed = time.perf_counter() - start
    for path in written:
        say(f"{PROG}: wrote {path}")
    if result.checkpoint is not None:
        say(f"{PROG}: wrote checkpoint {result.checkpoint} (continue with --resume)")
    last = result.history[-1]
    best = result.history[result.best_iteration]
    which = "" if best is last else f"; best loss at iteration {best.iteration}"
    say(
        f"{PROG}: {last.iteration} iterations in {elapsed:.1f} s; final loss "
        f"{last.total:.4g} ({_terms(last, transfer.loss_weights.tv_weight)}){which}"
    )
    if result.status == "stopped":
        say(f"{PROG}: L-BFGS-B stopped early: it found no better image")
    if failure is not None:
        raise failure
    return 0


def _listing(written: list[Path], checkpoint: Path | None) -> str:
    names = [str(p) for p in written]
    if checkpoint is not None:
        names.append(f"checkpoint {checkpoint}")
    return ", ".join(names) or "nothing"


def _resume_hint(checkpoint: Path | None) -> str:
    if checkpoint is None:
        return ""
    return f"; resume with: {PROG} stylize --resume {shlex.quote(str(checkpoint))}"


def _web_view(args: argparse.Namespace) -> WebView | None:
    """--web: the live page, serving before the weights load (a taken port fails
    now, not after compiling); its URL is printed even with -q."""
    if not (args.web or args.port is not None or args.host is not None):
        return None
    host = LOOPBACK_HOST if args.host is None else args.host
    port = 0 if args.port is None else args.port
    try:
        view = WebView(host, port, allow_remote=args.host is not None)
    except OSError as error:
        raise CommandError(
            f"--web: cannot listen on {host}:{port}: {_reason(error)}"
        ) from None
    reach = (
        ""
        if is_loopback(host)
        else f"; other machines can reach it on port {view.port}, with no password"
    )
    _write_line(
        f"{PROG}: live view at {view.url} (its Stop button works like Ctrl-C{reach})",
        sys.stderr,
    )
    return view


def _closing(
    view: WebView | None, run: Callable[[], StyleResult]
) -> Callable[[], StyleResult]:
    """``run``, with the live page closed as soon as it returns (a Stop after the
    run must not interrupt the writing of its results)."""
    if view is None:
        return run

    def closing() -> StyleResult:
        try:
            return run()
        finally:
            view.close()

    return closing


def _write_results(
    result: StyleResult, transfer: StyleTransfer, files: _Outputs
) -> tuple[list[Path], CommandError | None]:
    """Write the image, then the history and plot even if the image failed: the
    files written, and the image's failure (to report after the others)."""
    failure = None
    try:
        result.save(files.output)
    except (OSError, ImageError) as error:
        failure = CommandError(f"could not write {files.output}: {_reason(error)}")
    written = [] if failure else [files.output]
    if files.history is not None and _try_write(files.history, result.history.save):
        written.append(files.history)
    if files.plot is not None and _try_write(
        files.plot, lambda target: _plot(result.history, target, transfer)
    ):
        written.append(files.plot)
    return written, failure


def _style_transfer(
    args: argparse.Namespace, *, find: bool = True
) -> tuple[StyleTransfer, Path | None]:
    """Find the weights (unless ``find`` is false) and check the settings; nothing
    is loaded yet."""
    weights = (
        _find_weights(args.weights, download=not args.no_download) if find else None
    )
    style_layers = args.style_layers
    if args.style_weights is not None:
        if len(args.style_weights) != len(style_layers):
            raise UsageError(
                f"--style-weights has {len(args.style_weights)} values but there are "
                f"{len(style_layers)} style layers ({','.join(style_layers)}); give "
                "one weight per layer"
            )
        style_layers = dict(zip(style_layers, args.style_weights, strict=True))
    _something_to_minimise(args)
    try:
        transfer = StyleTransfer(
            weights,
            content_layers=args.content_layers,
            style_layers=style_layers,
            alpha=args.alpha,
            beta=args.beta,
            tv_weight=args.tv_weight,
            pooling=args.pooling,
            optimizer=args.optimizer,
            learning_rate=args.learning_rate,
            beta1=args.beta1,
            beta2=args.beta2,
            seed=args.seed,
            backend=args.backend,
            color=args.color,
            color_match=args.color_match,
            # A command runs one job and exits: keeping freed memory costs nothing
            # later and saves 16 % per evaluation at 512x512 (naah.runtime).
            runtime=Runtime(keep_freed_memory=True),
        )
        get_mode(args.backend)
    except (ValueError, ImportError) as error:
        raise UsageError(str(error)) from None
    return transfer, weights


def _on_iteration(
    args: argparse.Namespace, output: Path
) -> Callable[[IterationRecord, np.ndarray], None] | None:
    """The callback of the run: --save-every snapshots and --print-every lines."""
    every, print_every = args.save_every, args.print_every
    if every is None and not print_every:
        return None

    def on_iteration(record: IterationRecord, image: np.ndarray) -> None:
        if every is not None and record.iteration % every == 0:
            path = _snapshot_path(output, record.iteration, args.total)
            _try_write(path, lambda target: save_image(target, image))
        if print_every and record.iteration > 0 and record.iteration % print_every == 0:
            _write_line(
                f"iteration {record.iteration}/{args.total}: total "
                f"{record.total:.4g} ({_terms(record, args.tv_weight)})",
                sys.stdout,
            )

    return on_iteration


def _terms(record: IterationRecord, tv_weight: float) -> str:
    """The unweighted loss terms of ``record``, for one line of text."""
    tv = f", tv {record.tv:.4g}" if tv_weight > 0 else ""
    return f"content {record.content:.4g}, style {record.style:.4g}{tv}"


def _plot(history: History, path: Path, transfer: StyleTransfer) -> None:
    from naah.plotting import plot_history

    plot_history(history, path, loss_weights=transfer.loss_weights)


def _something_to_minimise(args: argparse.Namespace) -> None:
    """Refuse weights that leave every loss term out."""
    weights = args.style_weights
    style_on = args.beta > 0 and (weights is None or any(weights))
    if args.alpha > 0 or style_on or args.tv_weight > 0:
        return
    style_off = "--beta 0" if args.beta == 0 else "--style-weights all 0"
    raise UsageError(
        f"--alpha 0, {style_off} and --tv-weight 0 leave nothing to minimise; give "
        "the content (--alpha), style (--beta) or total-variation (--tv-weight) "
        "term a positive weight"
    )
