"""The ``naah`` command: argument parsing and wiring of :mod:`naah`'s parts.

``naah stylize`` checks every option, input and output path, and that the images are
large enough for the deepest layer used, before it loads the weights or compiles
anything; it never writes over an input. Exit status: 0 success, 1 a failure while
working (unreadable weights, a failed download, the image not written…), 2 a bad
command line (the message says which option and why; nothing is written), 130
interrupted. Errors are one line on stderr; ``--debug`` shows the traceback of
failures instead. A snapshot, plot or history that cannot be written is a warning
naming the file, and the run goes on.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import math
import os
import re
import shlex
import signal
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO, TypeVar

import numpy as np

from naah._version import __version__
from naah.architecture import (
    CONV_LAYERS,
    CONVS_PER_BLOCK,
    FEATURE_LAYERS,
    MATCONVNET_LAYERS,
    POOLING_FACTOR,
)
from naah.batch.cli import add_batch_parser, add_sheet_parser
from naah.checkpointing import CHECKPOINT_EVERY, read_run
from naah.color import COLOR_MODES, MATCH_MODES
from naah.compile import BACKENDS, get_mode
from naah.io.checkpoint import CheckpointError
from naah.io.images import (
    SAVE_FORMATS,
    ImageError,
    load_image,
    long_edge_size,
    resize_to_long_edge,
    save_image,
)
from naah.io.locate import (
    WeightsNotFoundError,
    default_weights_path,
    find_weights,
    search_order,
)
from naah.io.sources import NO_DOWNLOAD_ENV, SOURCES, downloads_allowed, fetch_weights
from naah.io.weights import load_weights
from naah.live import WebView, chain, is_loopback
from naah.live.web import LOOPBACK_HOST
from naah.models import POOL_MODES
from naah.optim import METHODS, History, IterationRecord, OptimizerSettings
from naah.problem import blend_weights
from naah.progress import printer
from naah.regions import GUIDE_MODES, Region
from naah.runtime import Runtime
from naah.style_transfer import (
    DEFAULT_ALPHA,
    DEFAULT_BETA,
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_SIZE,
    DEFAULT_STYLE_LAYERS,
    INITS,
    RunDiverged,
    RunInterrupted,
    StyleResult,
    StyleTransfer,
    style_edge,
)

_T = TypeVar("_T")

PROG = "naah"
DEFAULT_ITERATIONS = 500  # StyleTransfer.run's default
HISTORY_FORMATS = (".csv", ".json")
EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
# 128 + the signal number, as shells report a process ended by SIGTERM.
EXIT_TERMINATED = 128 + signal.SIGTERM
# VGG-19's poolings are 2x2 windows of stride 2 in MatConvNet's floor mode
# (naah.architecture): each halves a side, rounding down, so a layer that follows k
# of them needs an input side of at least POOL_STRIDE ** k (pool5: POOLING_FACTOR).
POOL_STRIDE = round(POOLING_FACTOR ** (1 / len(CONVS_PER_BLOCK)))


class CommandError(Exception):
    """A failure while working whose message says it all: exit status 1."""


# Failures whose message says it all (WeightsError and ImageError are ValueErrors,
# DownloadError an OSError); any other exception is also named, with a --debug hint.
EXPECTED_ERRORS = (OSError, ValueError, ImportError, CommandError)
FORMAT_NAMES = {
    "matconvnet": "MatConvNet, MATLAB v5/v7 MAT-file",
    "matlab-v7.3": "MatConvNet, MATLAB v7.3 MAT-file (HDF5)",
    "keras-h5": "Keras HDF5",
}
CHECKSUM_NOTES = {
    "verified": "verified: it is the published file",
    "mismatch": "MISMATCH: named like a published file but different "
    "(a partial or corrupt download?)",
    "unknown": "unknown: not one of the published files",
    "not computed": "not computed",
}


class UsageError(Exception):
    """A bad command line: reported as ``naah: error: ...`` with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """Refuse unknown arguments here, so that a subcommand's own parser (whose
        prog is ``naah stylize``…) reports them, not the top-level one."""
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an exception so that a run stops as on Ctrl-C."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``naah`` command with ``argv`` (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0, 1 (failure), 2 (bad command line), 130 (interrupted by
        Ctrl-C, SIGINT) or 143 (SIGTERM).

    Examples
    --------
    >>> main(["stylize", "content.jpg", "style.jpg", "-o", "out.png"])  # doctest: +SKIP
    0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    with _terminate_as_interrupt():
        return _main(argv)


def _main(argv: list[str]) -> int:
    debug = False
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exit_:  # --help, --version
            return int(exit_.code or 0)
        args.argv = argv
        debug = getattr(args, "debug", False)
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return args.handler(args)
    except UsageError as error:
        _error(error)
        return EXIT_USAGE
    except KeyboardInterrupt as interrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return _interrupt_status(interrupt)
    except Exception as error:
        if debug:
            raise
        if isinstance(error, EXPECTED_ERRORS):
            _error(error)
        else:
            _error(f"{type(error).__name__}: {error} (--debug shows where)")
        return EXIT_FAILURE


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While running, SIGTERM raises :class:`Terminated` (main thread only; the
    previous handler comes back afterwards, so that in-process callers keep theirs).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_terminated(signum: int, frame: object) -> NoReturn:
    raise Terminated(f"signal {signum}")


def _interrupt_status(interrupt: BaseException) -> int:
    reason = interrupt.reason if isinstance(interrupt, RunInterrupted) else interrupt
    return EXIT_TERMINATED if isinstance(reason, Terminated) else EXIT_INTERRUPTED


def build_parser() -> argparse.ArgumentParser:
    """The ``naah`` argument parser, with subcommands ``stylize`` and ``weights``."""
    # A _Parser, as typeshed wants a subcommand's parents of its parser's class; a
    # parent only lends its arguments, so its error() is never called.
    common = _Parser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the traceback of failures",
    )
    parser = _Parser(
        prog=PROG,
        description="Neural style transfer (Gatys, Ecker & Bethge 2015) on PyTensor.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_stylize(commands, common)
    add_batch_parser(commands, common)
    add_sheet_parser(commands, common)
    weights = commands.add_parser(
        "weights", help="download, find and inspect the VGG-19 weights"
    )
    actions = weights.add_subparsers(dest="action", required=True, metavar="ACTION")
    download = actions.add_parser(
        "download",
        parents=[common],
        help="fetch imagenet-vgg-verydeep-19.mat into naah's cache",
        description="Download imagenet-vgg-verydeep-19.mat (535 MB), resuming an "
        "interrupted download, and verify its SHA-256.",
    )
    download.add_argument(
        "--dest",
        metavar="PATH",
        help=f"file or existing folder to write to (default {default_weights_path()})",
    )
    download.add_argument("--source", choices=tuple(SOURCES), default="matconvnet",
                          help="matconvnet: imagenet-vgg-verydeep-19.mat (535 MB); "
                          "keras-notop: Keras' 80 MB file of the same convolutions, "
                          "without fc6-fc8 (style transfer, not classification)")  # fmt: skip
    download.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    download.set_defaults(handler=_download)
    info = actions.add_parser("info", parents=[common], help="describe a weights file")
    info.add_argument("file", metavar="FILE")
    info.set_defaults(handler=_info)
    where = actions.add_parser(
        "path", parents=[common], help="where naah looks for the weights"
    )
    where.set_defaults(handler=_path)
    normalize = actions.add_parser(
        "normalize",
        parents=[common],
        help="rescale the weights so every filter's mean activation is 1 (Gatys et al.)",
        description="Write Gatys et al.'s normalised VGG-19: each conv layer rescaled so "
        "that the mean rectified activation of every filter over the given images is 1 "
        "(fc6-fc8 are left unscaled). naah stylize picks loss weights to suit it.",
    )
    normalize.add_argument(
        "weights", metavar="WEIGHTS", help="the weights to normalise"
    )
    normalize.add_argument("--images", required=True, metavar="DIR",
                           help="folder of .jpg/.png images to measure on")  # fmt: skip
    normalize.add_argument("--size", type=_positive_int, default=224, metavar="N",
                           help="long edge the images are resized to (default 224)")  # fmt: skip
    normalize.add_argument("--pooling", choices=POOL_MODES, default="max",
                           help="pooling while measuring (default %(default)s)")  # fmt: skip
    normalize.add_argument("--verify", action="store_true",
                           help="measure the written network again and report")  # fmt: skip
    normalize.add_argument("-o", "--output", required=True, metavar="OUT.mat")
    normalize.set_defaults(handler=_normalize)
    fixture = actions.add_parser(
        "fixture",
        parents=[common],
        help="write small random stand-in weights (NOT pretrained), to check an "
        "install offline",
        description="Write a small VGG-19-shaped MatConvNet file with random, narrow "
        "layers: naah runs end to end on it in seconds, but its results are not "
        "style transfers. For checking an install without the 535 MB download.",
    )
    fixture.add_argument("file", metavar="PATH", help="the .mat file to write")
    fixture.add_argument("--seed", type=_seed, default=0, metavar="N",
                         help="seed of the random weights (default 0)")  # fmt: skip
    fixture.set_defaults(handler=_fixture)
    return parser


def _add_stylize(
    commands: argparse._SubParsersAction, common: argparse.ArgumentParser
) -> None:
    p = commands.add_parser(
        "stylize",
        parents=[common],
        help="paint a content image in the style of another",
        description="Paint CONTENT in the style of STYLE (Gatys et al. 2015).",
    )
    p.add_argument("content", metavar="CONTENT", nargs="?",
                   help="content image (with --resume: the run's, by default)")  # fmt: skip
    p.add_argument("styles", metavar="STYLE", nargs="*",
                   help="style image; several are blended (--style-blend); none with "
                   "--region or --resume (the run's)")  # fmt: skip
    p.add_argument("-o", "--output", metavar="OUT",
                   help=f"result image ({', '.join(SAVE_FORMATS)}): the iterate of "
                   "lowest loss; required but with --resume")  # fmt: skip
    p.add_argument("--resume", metavar="CKPT",
                   help="continue the run of checkpoint CKPT, with its settings; "
                   "--iterations is the new total")  # fmt: skip
    p.add_argument("--checkpoint", metavar="PATH",
                   help="where to write the run's checkpoint (default OUT_stem.ckpt; "
                   "with --resume, CKPT)")  # fmt: skip
    p.add_argument("--checkpoint-every", type=_positive_int, default=CHECKPOINT_EVERY,
                   metavar="N", help="write the checkpoint every N iterations and at "
                   "least once a minute (default %(default)s)")  # fmt: skip
    p.add_argument("--no-checkpoint", action="store_true",
                   help="write no checkpoint")  # fmt: skip
    p.add_argument("--no-download", action="store_true",
                   help=f"if no weights are found, refuse instead of downloading them "
                   f"(also ${NO_DOWNLOAD_ENV}=1)")  # fmt: skip
    p.add_argument("--weights", metavar="PATH",
                   help="VGG-19 weights file (default: $NAAH_WEIGHTS, then the cache)")  # fmt: skip
    p.add_argument("--size", type=_size, default=DEFAULT_SIZE, metavar="N|auto",
                   help="long edge of the result in pixels; auto: the largest that fits "
                   "in memory, at most the content's own (default %(default)s)")  # fmt: skip
    p.add_argument("--dry-run", action="store_true",
                   help="print the memory estimate and the expected seconds per "
                   "iteration (a short calibration), then exit")  # fmt: skip
    p.add_argument("--force", action="store_true",
                   help="run even if the memory estimate exceeds the memory available")  # fmt: skip
    p.add_argument("--style-scale", type=_positive_floats, default=(1.0,), metavar="S",
                   help="style image's long edge relative to --size: one value, or "
                   "one per style S1,S2 (default 1)")  # fmt: skip
    p.add_argument("--style-blend", type=_floats, metavar="W1,W2",
                   help="weights of several STYLE images, normalised to sum 1 "
                   "(default: equal)")  # fmt: skip
    p.add_argument("--region", action="append", type=_region_spec,
                   metavar="MASK=STYLE[:STYLE_MASK]",
                   help="spatial control (Gatys et al. 2017): the part of CONTENT "
                   "where greyscale MASK is white takes STYLE's style (or that of "
                   "STYLE_MASK's part of it); repeat for each region")  # fmt: skip
    p.add_argument("--guide-mode", choices=GUIDE_MODES, default="simple",
                   help="masks at each layer: resized (simple) or eroded to the "
                   "positions whose receptive field is inside (default %(default)s)")  # fmt: skip
    p.add_argument("--iterations", type=_counts, default=(DEFAULT_ITERATIONS,),
                   metavar="N", help="optimiser iterations, in all; with --scales "
                   f"one per scale, N1,N2,… (default {DEFAULT_ITERATIONS})")  # fmt: skip
    p.add_argument("--scales", type=_counts, metavar="S1,S2",
                   help="coarse to fine (Gatys et al. 2017): long edges, increasing, "
                   "e.g. 256,512,1024; each starts from the last, upsampled; "
                   "replaces --size")  # fmt: skip
    p.add_argument("--optimizer", choices=METHODS, default=METHODS[0],
                   help="optimiser (default %(default)s)")  # fmt: skip
    p.add_argument("--learning-rate", type=_positive_float,
                   default=OptimizerSettings.learning_rate, metavar="LR",
                   help="step size of adam and gd, in pixel units (default %(default)s)")  # fmt: skip
    p.add_argument("--beta1", type=_adam_beta, default=OptimizerSettings.beta1,
                   help="Adam's beta1, in [0, 1) (default %(default)s)")  # fmt: skip
    p.add_argument("--beta2", type=_adam_beta, default=OptimizerSettings.beta2,
                   help="Adam's beta2, in [0, 1) (default %(default)s)")  # fmt: skip
    p.add_argument("--alpha", "--content-weight", dest="alpha", metavar="ALPHA",
                   type=_non_negative_float, default=DEFAULT_ALPHA,
                   help="content weight α (default %(default)s)")  # fmt: skip
    p.add_argument("--beta", "--style-weight", dest="beta", metavar="BETA",
                   type=_non_negative_float, default=DEFAULT_BETA,
                   help="style weight β (default %(default)s)")  # fmt: skip
    p.add_argument("--content-layers", type=_names, default=DEFAULT_CONTENT_LAYERS,
                   metavar="L1,L2", help="default " + ",".join(DEFAULT_CONTENT_LAYERS))  # fmt: skip
    p.add_argument("--style-layers", type=_names, default=DEFAULT_STYLE_LAYERS,
                   metavar="L1,L2", help="default " + ",".join(DEFAULT_STYLE_LAYERS))  # fmt: skip
    p.add_argument("--style-weights", type=_floats, metavar="W1,W2",
                   help="weight w_l of each style layer (default: equal, summing to 1)")  # fmt: skip
    p.add_argument("--tv-weight", type=_non_negative_float, default=0.0, metavar="W",
                   help="total-variation weight (default 0: off)")  # fmt: skip
    p.add_argument("--pooling", choices=POOL_MODES, default="max",
                   help="VGG pooling: max as trained, avg as Gatys et al. suggest (default %(default)s)")  # fmt: skip
    p.add_argument("--init", default=INITS[0], metavar="|".join((*INITS, "PATH")),
                   help="initial image: white noise, the content or style image, or a "
                   "file (default %(default)s)")  # fmt: skip
    p.add_argument("--seed", type=_seed, default=0, metavar="N",
                   help="seed of the noise, 0 or more (default 0)")  # fmt: skip
    p.add_argument("--color", choices=COLOR_MODES, default=None,
                   help="colour control (Gatys et al. 2017): luminance-only transfer, "
                   "style recoloured to the content's colour histogram, or the "
                   "result given the content's colours (default: the style's)")  # fmt: skip
    p.add_argument("--color-match", choices=MATCH_MODES, default="pca",
                   help="linear map of --color histogram (default %(default)s)")  # fmt: skip
    p.add_argument("--backend", choices=BACKENDS, default=BACKENDS[0],
                   help="how graphs run: see naah.compile; jax for GPUs (default %(default)s)")  # fmt: skip
    p.add_argument("--save-every", type=_positive_int, metavar="N",
                   help="also write the image every N iterations (and at the start), "
                   "beside OUT as OUT_stem.iterNNNN.EXT: NNNN is the iteration, "
                   "4 digits or more")  # fmt: skip
    p.add_argument("--print-every", type=_non_negative_int, default=0, metavar="N",
                   help="print the losses every N iterations, one line on stdout "
                   "(default 0: never; the progress bar only)")  # fmt: skip
    p.add_argument("--plot", action="store_true",
                   help="plot the losses per iteration as OUT_stem.loss.png")  # fmt: skip
    p.add_argument("--plot-path", metavar="PATH",
                   help="plot the losses per iteration to PATH (.png, .pdf, .svg…) "
                   "instead")  # fmt: skip
    p.add_argument("--history", metavar="PATH",
                   help="write the losses per iteration as .csv or .json")  # fmt: skip
    p.add_argument("--web", action="store_true",
                   help="watch the run in a browser: a live page on "
                   "http://127.0.0.1:PORT/ with the image, the losses and a Stop "
                   "button that works like Ctrl-C")  # fmt: skip
    p.add_argument("--port", type=_port, metavar="N",
                   help="port of the --web page (default: a free one); implies --web")  # fmt: skip
    p.add_argument("--host", metavar="H",
                   help="address the --web page listens on (default 127.0.0.1: this "
                   "machine only; 0.0.0.0 lets anyone who reaches the port watch "
                   "and stop the run); implies --web")  # fmt: skip
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar or messages: only errors, warnings and "
                   "--print-every lines")  # fmt: skip
    p.set_defaults(handler=_stylize)


# -- stylize ---------------------------------------------------------------------------
def _stylize(args: argparse.Namespace) -> int:
    """Check everything, then load, compile, optimise and write."""
    if args.resume is not None:
        return _resume(args)
    if args.content is None:
        raise UsageError("give CONTENT and STYLE images (or --resume CKPT)")
    if args.output is None:
        raise UsageError("give the result's file name with -o OUT")
    _iteration_plan(args)
    _style_plan(args)
    output = _writable_file(args.output, "output image", SAVE_FORMATS)
    plot = _plot_path(args.plot, args.plot_path, output)
    history = _writable(args.history, "--history", HISTORY_FORMATS)
    checkpoint = _checkpoint_path(args, output)
    outputs = {
        "output image": output,
        "loss plot": plot,
        "history file": history,
        "checkpoint": checkpoint,
    }
    _distinct(outputs)
    if args.save_every is not None:
        _not_snapshots(outputs, output, args.save_every, args.total)
    transfer, weights = _style_transfer(args)
    inputs = {"content image": args.content, **_style_inputs(args)}
    if args.init not in INITS:
        inputs["--init image"] = args.init
    if weights is not None:
        inputs["weights file"] = str(weights)
    _inputs_kept(inputs, outputs, args)
    content = _read_image(args.content, "content image")
    style_images = [_read_image(path, what) for what, path in _style_files(args)]
    init = args.init if args.init in INITS else _read_image(args.init, "--init")
    if args.size == "auto":
        args.size = _auto_size(args, transfer, content, style_images)
    # Before any resizing: a --size too large for memory must stop here.
    estimate = _memory_check(args, transfer, content, style_images)
    sized = _sized_images(content, style_images, args, transfer)
    if args.scales is None:  # with scales, each is resized from the originals
        content = sized
    regions = _regions(args, sized.shape[:2])
    _normalized_defaults(args, transfer, weights, sized.shape[:2])
    # Styles go to the run as paths: it resizes them as checked here, and its
    # checkpoint can then name them for --resume.
    style: list[str] | str | None = None
    if not regions:
        style = args.styles if len(args.styles) > 1 else args.styles[0]

    say = printer(args.quiet)
    if weights is None:  # every check is done: fetch them, then go on
        weights = _download_weights_now(args)
    if args.dry_run:
        return _dry_run(args, transfer, estimate, content, style, regions)
    say(f"{PROG}: weights {weights}")
    files = _Outputs(output, history, plot, checkpoint)
    view = _web_view(args)
    return _finish(
        args,
        transfer,
        files,
        _closing(view, lambda: transfer.run(
            content,
            style,
            iterations=args.iterations,
            scales=args.scales,
            size=args.size,
            style_scale=args.style_scale,
            style_blend=args.style_blend,
            regions=regions,
            guide_mode=args.guide_mode,
            init=init,
            callback=chain(_on_iteration(args, output), view),
            progress=not args.quiet,
            checkpoint=checkpoint,
            checkpoint_every=args.checkpoint_every,
            checkpoint_info=files.info(args.content),
        )),
    )  # fmt: skip


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


# Options a resumed run takes from its checkpoint: given anyway, they must agree.
# dest -> where the checkpoint keeps it.
_RESUME_KEEPS = {
    "alpha": ("settings", "alpha"),
    "beta": ("settings", "beta"),
    "tv_weight": ("settings", "tv_weight"),
    "content_layers": ("settings", "content_layers"),
    "style_layers": ("settings", "style_layers"),
    "style_weights": ("settings", "style_layers"),
    "pooling": ("settings", "pooling"),
    "optimizer": ("settings", "optimizer"),
    "learning_rate": ("settings", "learning_rate"),
    "beta1": ("settings", "beta1"),
    "beta2": ("settings", "beta2"),
    "seed": ("settings", "seed"),
    "backend": ("settings", "backend"),
    "color": ("settings", "color"),
    "color_match": ("settings", "color_match"),
    "size": ("run", "size"),
    "style_scale": ("run", "style_scale"),
    "init": ("run", "init"),
}
_OPTION_NAMES = {
    "alpha": "--alpha",
    "beta": "--beta",
    "style_weights": "--style-weights",
}
_UNSET = object()


def _resume(args: argparse.Namespace) -> int:
    """``naah stylize --resume CKPT``: check it all, then continue the run."""
    ckpt = Path(args.resume).expanduser()
    try:
        saved, _ = read_run(ckpt)
    except FileNotFoundError:
        raise UsageError(f"--resume: no checkpoint at {str(ckpt)!r}") from None
    except CheckpointError as error:
        raise UsageError(f"--resume: {error}") from None
    meta = saved.metadata
    info = meta.get("info", {})
    _same_settings_as(args, meta, ckpt)
    done = int(meta["iteration"])
    given = _given_options(args.argv)
    run_meta = meta["run"]
    if "scales" in run_meta:  # coarse to fine: iterations per scale
        counts = (
            args.iterations if "iterations" in given else run_meta["scale_iterations"]
        )
        if len(counts) == 1:
            counts = tuple(counts) * len(run_meta["scales"])
        if len(counts) != len(run_meta["scales"]):
            raise UsageError(
                f"--iterations: give one value, or one per scale of the run "
                f"({','.join(map(str, run_meta['scales']))})"
            )
        iterations: int | tuple[int, ...] = tuple(counts)
        total = sum(counts)
    else:
        if "iterations" in given and len(args.iterations) != 1:
            raise UsageError("--iterations: give one value (the run has one scale)")
        iterations = total = (
            args.iterations[0] if "iterations" in given else run_meta["iterations"]
        )
        if total < done:
            raise UsageError(
                f"--iterations {total}: the checkpoint is at iteration {done} already; "
                "--iterations is the new total, give more"
            )
    recorded_output = info.get("output")
    if args.output is None and recorded_output is None:
        raise UsageError(f"{ckpt} does not say where the result goes: give -o OUT")
    output = _writable_file(
        args.output or recorded_output, "output image", SAVE_FORMATS
    )
    plot = _plot_path(args.plot, args.plot_path, output)
    if plot is None and info.get("plot") and args.output is None:
        plot = _writable_file(info["plot"], "loss plot", (Path(info["plot"]).suffix,))
    history = _writable(
        args.history or info.get("history"), "--history", HISTORY_FORMATS
    )
    checkpoint = (
        None
        if args.no_checkpoint
        else _writable_file(args.checkpoint or ckpt, "--checkpoint", (".ckpt",))
    )
    outputs = {"output image": output, "loss plot": plot, "history file": history,
               "checkpoint": checkpoint}  # fmt: skip
    _distinct({k: v for k, v in outputs.items() if k != "checkpoint"})
    recorded = meta["inputs"]
    content = args.content or info.get("content") or recorded["content"]["path"]
    # Styles and regions as the checkpoint names them, unless STYLE files are given.
    if args.styles:
        styles: list[str] | None = list(args.styles)
        style_paths = list(args.styles)
    else:
        styles = None
        style_paths = _recorded_style_paths(recorded)
    for what, path in (
        ("content image", content),
        *(("style image", p) for p in style_paths),
    ):
        if path is None or not Path(path).is_file():
            raise UsageError(
                f"the run's {what} {path!r} is not there any more: give its new path "
                "(CONTENT STYLE after --resume)"
            )
    weights = _find_weights(args.weights or recorded["weights"]["path"])
    inputs = {
        "content image": content,
        **{f"style image {k + 1}": p for k, p in enumerate(style_paths)},
        "weights file": str(weights),
    }
    _inputs_kept(inputs, {**outputs, "checkpoint": None}, args)

    say = printer(args.quiet)
    say(
        f"{PROG}: resuming {ckpt} at iteration {done} of {total}; loading and compiling..."
    )
    transfer = StyleTransfer.from_settings(meta["settings"], weights=weights)
    files = _Outputs(output, history, plot, checkpoint)
    args.total = total  # for --print-every and snapshot names
    view = _web_view(args)

    def run() -> StyleResult:
        return StyleTransfer.resume(
            ckpt,
            iterations=iterations,
            weights=weights,
            content=content,
            style=styles[0] if styles and len(styles) == 1 else styles,
            save_to=checkpoint or ckpt,
            checkpoint_every=args.checkpoint_every,
            checkpoint_info=files.info(content),
            callback=chain(_on_iteration(args, output), view),
            progress=not args.quiet,
            runtime=Runtime(keep_freed_memory=True),
        )

    return _finish(args, transfer, files, _closing(view, run))


def _recorded_style_paths(recorded: dict[str, Any]) -> list[str]:
    """The style files a checkpoint names: its styles', or its regions' and masks."""
    if "regions" in recorded:
        paths = []
        for region in recorded["regions"]:
            paths += [region["guide"], region["style"]["path"]]
            if region.get("style_guide"):
                paths.append(region["style_guide"])
        return paths
    return [
        identity["path"] for identity in recorded.get("styles", [recorded["style"]])
    ]


def _same_settings_as(
    args: argparse.Namespace, meta: dict[str, Any], ckpt: Path
) -> None:
    """Refuse options given with --resume that differ from the run's."""
    given = _given_options(args.argv)
    if not given & set(_RESUME_KEEPS):
        return
    asked = _style_transfer(args, find=False)[0]
    scale = (
        args.style_scale[0] if len(args.style_scale) == 1 else list(args.style_scale)
    )
    run = {"size": args.size, "style_scale": scale, "init": args.init}
    for dest in sorted(given & set(_RESUME_KEEPS)):
        section, key = _RESUME_KEEPS[dest]
        mine = asked.settings[key] if section == "settings" else run[key]
        theirs = meta[section][key]
        if mine != theirs:
            option = _OPTION_NAMES.get(dest, "--" + dest.replace("_", "-"))
            raise UsageError(
                f"{option} differs from the run of {ckpt} ({_show(mine)} here, "
                f"{_show(theirs)} there); a resumed run keeps its settings: leave "
                f"{option} out, or start a new run"
            )


def _show(value: object) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}:{v:g}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _given_options(argv: Sequence[str]) -> set[str]:
    """The dests of the stylize options that ``argv`` gives explicitly."""
    parser = _subparser(build_parser(), "stylize")
    # An "append" option starts from None (it appends to what is there).
    appended = {
        a.dest for a in parser._actions if isinstance(a, argparse._AppendAction)
    }
    namespace = argparse.Namespace(
        **{
            a.dest: None if a.dest in appended else _UNSET
            for a in parser._actions
            if a.dest != "help"
        }
    )
    start = list(argv).index("stylize") + 1 if "stylize" in argv else 0
    parser.parse_args(list(argv)[start:], namespace=namespace)
    return {
        dest
        for dest, value in vars(namespace).items()
        if value is not _UNSET and not (dest in appended and value is None)
    }


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]
    raise KeyError(name)


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


# The estimate is within about ±10 % of the measured peak (docs/performance.md):
# plan with this share of the memory available.
MEMORY_MARGIN = 0.9
# Long edge of the --dry-run calibration (larger sizes are scaled by their area).
CALIBRATION_EDGE = 256


def _estimate_options(
    args: argparse.Namespace, transfer: StyleTransfer
) -> dict[str, Any]:
    w = transfer.loss_weights
    return {
        "backend": args.backend,
        "optimizer": args.optimizer,
        "content_layers": w.content_layers,
        "style_layers": w.style_layers,
    }


def _auto_size(
    args: argparse.Namespace,
    transfer: StyleTransfer,
    content: np.ndarray,
    styles: list[np.ndarray],
) -> int:
    """--size auto: the largest long edge that fits, capped by the content's own."""
    from naah.estimate import available_memory, largest_size

    if args.scales is not None:
        raise UsageError("--size auto and --scales: give the scales themselves")
    available = int(available_memory() * MEMORY_MARGIN)
    edge = largest_size(
        available, content.shape[:2], args.style_scales[0],
        style_aspect=styles[0].shape[:2], **_estimate_options(args, transfer),
    )  # fmt: skip
    own = max(content.shape[:2])
    if edge <= 0:
        raise CommandError(
            "--size auto: not even the smallest image fits in the memory available"
        )
    size = min(edge, own)
    printer(args.quiet)(
        f"{PROG}: --size auto: {size} px ("
        + ("the content image's own size" if size == own else "the largest that fits")
        + ")"
    )
    return size


def _memory_check(
    args: argparse.Namespace,
    transfer: StyleTransfer,
    content: np.ndarray,
    styles: list[np.ndarray],
) -> Any:
    """The run's memory estimate; refuse a run that would not fit (unless --force)."""
    from naah.estimate import (
        available_memory,
        estimate_memory,
        format_bytes,
        largest_size,
    )

    size = args.scales[-1] if args.scales is not None else args.size
    shape = long_edge_size(content.shape[:2], size)
    style_shape = long_edge_size(
        styles[0].shape[:2], _style_edge(size, args.style_scales[0])
    )
    options = _estimate_options(args, transfer)
    try:
        estimate = estimate_memory(shape, style_shape, **options)
    except ValueError:  # too small for the deepest layer: _sized_images says so
        return None
    available = available_memory()
    if estimate.total > available * MEMORY_MARGIN and not args.force:
        fits = largest_size(
            int(available * MEMORY_MARGIN), shape, args.style_scales[0],
            style_aspect=style_shape, **options,
        )  # fmt: skip
        raise CommandError(
            f"a {shape[1]}x{shape[0]} run needs about {estimate}, but "
            f"{format_bytes(available)} is available; the largest "
            f"--size that fits is {fits} (or --size auto); --force runs it anyway"
        )
    return estimate


def _dry_run(
    args: argparse.Namespace,
    transfer: StyleTransfer,
    estimate: Any,
    content: np.ndarray,
    style: Any,
    regions: list[Region] | None,
) -> int:
    """--dry-run: the estimate, and seconds per iteration from a short calibration."""
    from naah.estimate import available_memory, format_bytes
    from naah.io.images import preprocess

    print(f"memory: about {estimate} of {format_bytes(available_memory())} available")
    size = args.scales[-1] if args.scales is not None else args.size
    edge = min(size, CALIBRATION_EDGE)
    problem = transfer.prepare(content, style, size=edge, style_scale=args.style_scale,
                               style_blend=args.style_blend, regions=regions,
                               guide_mode=args.guide_mode)  # fmt: skip
    image = preprocess(transfer.initial_image("noise", problem), problem.mean_pixel)
    problem.evaluate(image)  # the first evaluation includes first-use compilation
    start = time.perf_counter()
    problem.evaluate(image)
    seconds = time.perf_counter() - start
    height, width = problem.shape[:2]
    shape = long_edge_size(problem.shape[:2], size)
    scaled = seconds * (shape[0] * shape[1]) / (height * width)
    per_iteration = 1.2 if args.optimizer == "lbfgs" else 1.0  # evaluations
    total = args.total * scaled * per_iteration
    print(
        f"time: about {scaled * per_iteration:.2f} s per iteration at {shape[1]}x"
        f"{shape[0]} ({seconds:.3f} s per evaluation measured at {width}x{height}, "
        f"scaled by the area), about {total / 60:.1f} min for {args.total} iterations"
    )
    return 0


def _normalized_defaults(
    args: argparse.Namespace,
    transfer: StyleTransfer,
    weights: Path | None,
    shape: tuple[int, ...],
) -> None:
    """With normalised weights and no --alpha/--beta, use Gatys' loss weights for
    them (naah.normalize): the defaults suit the original network only."""
    from naah.normalize import is_normalized, normalized_loss_weights

    given = _given_options(args.argv)
    if weights is None or {"alpha", "beta"} & given or not is_normalized(weights):
        return
    content_layer = transfer.loss_weights.content_layers[:1] or ("conv4_2",)
    alpha, beta = normalized_loss_weights(
        (shape[0], shape[1]), content_layer=content_layer[0]
    )
    transfer.loss_weights = dataclasses.replace(
        transfer.loss_weights, alpha=alpha, beta=beta
    )
    printer(args.quiet)(
        f"{PROG}: normalised weights: alpha {alpha:g}, beta {beta:.3g} (Gatys' "
        "settings for them; --alpha/--beta override)"
    )


def _iteration_plan(args: argparse.Namespace) -> None:
    """Check --iterations against --scales; set ``args.iterations`` to what
    StyleTransfer.run takes and ``args.total`` to the iterations in all."""
    counts = args.iterations
    if args.scales is None:
        if len(counts) != 1:
            raise UsageError(
                f"--iterations has {len(counts)} values; give one (or --scales with "
                "one value per scale)"
            )
        args.iterations = args.total = counts[0]
        return
    scales = args.scales
    if any(b <= a for a, b in itertools.pairwise(scales)) or 0 in scales:
        raise UsageError(
            f"--scales {','.join(map(str, scales))}: give positive long edges that "
            "increase, coarse to fine, e.g. 256,512,1024"
        )
    if len(counts) not in (1, len(scales)):
        raise UsageError(
            f"--iterations has {len(counts)} values for {len(scales)} --scales; give "
            "one value for every scale, or one per scale"
        )
    args.iterations = counts if len(counts) > 1 else counts * len(scales)
    args.total = sum(args.iterations)
    args.size = scales[0]  # the size checks hold for the smallest scale


def _checkpoint_path(args: argparse.Namespace, output: Path | None) -> Path | None:
    if args.no_checkpoint:
        if args.checkpoint is not None:
            raise UsageError("--checkpoint and --no-checkpoint contradict each other")
        return None
    if args.checkpoint is not None:
        return _writable_file(args.checkpoint, "--checkpoint", (".ckpt",))
    if output is None:
        return None
    return output.with_name(f"{output.stem}.ckpt")


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


def _find_weights(path: str | None, download: bool = False) -> Path | None:
    """The weights file; None if none is found and it may be downloaded (after
    every other check: :func:`_download_weights_now`)."""
    try:
        return find_weights(path)
    except WeightsNotFoundError as error:
        if path is not None:
            raise UsageError(f"--weights: {error}") from None
        if download and downloads_allowed():
            return None
        raise


def _download_weights_now(args: argparse.Namespace) -> Path:
    """Weights on first use: fetched into the cache, and the run goes on."""
    printer(args.quiet)(
        f"{PROG}: no VGG-19 weights found; downloading them into the cache (535 MB, "
        f"once; --no-download or ${NO_DOWNLOAD_ENV}=1 refuses)"
    )
    path = fetch_weights(progress=not args.quiet)
    printer(args.quiet)(f"{PROG}: {path} is ready (checksum verified)")
    return path


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


def _snapshot_path(output: Path, iteration: int, iterations: int) -> Path:
    """Where --save-every writes the image at ``iteration``: OUT_stem.iterNNNN.EXT,
    NNNN zero-padded to 4 digits or those of ``iterations``."""
    digits = max(4, len(str(iterations)))
    return output.with_name(f"{output.stem}.iter{iteration:0{digits}d}{output.suffix}")


def _is_snapshot_name(name: str, output: Path, every: int, iterations: int) -> bool:
    """Whether --save-every writes a snapshot of ``output`` named ``name``."""
    pattern = rf"{re.escape(output.stem)}\.iter(\d+){re.escape(output.suffix)}"
    match = re.fullmatch(pattern, name)
    if match is None:
        return False
    iteration = int(match[1])
    return (
        iteration <= iterations
        and iteration % every == 0
        and _snapshot_path(output, iteration, iterations).name == name
    )


def _try_write(path: Path, write: Callable[[Path], object]) -> bool:
    """``write(path)``; if that fails, warn (naming ``path``) and return False."""
    try:
        write(path)
    except (OSError, ImageError) as error:
        _warn(f"could not write {path}: {_reason(error)}")
        return False
    return True


def _plot(history: History, path: Path, transfer: StyleTransfer) -> None:
    from naah.plotting import plot_history

    plot_history(history, path, loss_weights=transfer.loss_weights)


def _reason(error: Exception) -> str:
    """Why ``error`` happened, without the "[Errno 28]" of an OSError."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error)


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


def _read_image(path: str, what: str) -> np.ndarray:
    """Load an input image now, so that a bad one stops the command before work."""
    try:
        return load_image(path)
    except (OSError, ImageError) as error:
        raise UsageError(f"cannot read {what} {path!r}: {error}") from None


def _writable(path: str | None, what: str, suffixes: Collection[str]) -> Path | None:
    """``path`` as a Path once it is known that a file of that type can go there."""
    return None if path is None else _writable_file(path, what, suffixes)


def _writable_file(path: str | Path, what: str, suffixes: Collection[str]) -> Path:
    """:func:`_writable` for a ``path`` that is given."""
    file = Path(path).expanduser()
    if file.suffix.lower() not in suffixes:
        raise UsageError(
            f"{what} {str(file)!r}: unsupported extension {file.suffix or '(none)'!r}; "
            f"use one of {', '.join(suffixes)}"
        )
    if file.is_dir():
        raise UsageError(f"{what} {str(file)!r} is a directory; give a file name")
    folder = file.parent
    if not folder.is_dir():
        raise UsageError(
            f"{what} {str(file)!r}: folder {str(folder)!r} does not exist; create it first"
        )
    try:  # a real probe: os.access is no guide for root or read-only mounts
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{file.name}."):
            pass
    except OSError as error:
        raise UsageError(
            f"{what} {str(file)!r}: folder {str(folder)!r} is not writable "
            f"({error.strerror or error})"
        ) from None
    return file


def _plot_path(plot: bool, plot_path: str | None, output: Path) -> Path | None:
    """--plot-path PATH, or OUT_stem.loss.png for --plot, or None for neither."""
    if plot_path is None and not plot:
        return None
    what = "--plot" if plot_path is None else "--plot-path"
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise UsageError(f"{what} needs matplotlib: pip install 'naah[plot]'") from None
    formats = {f".{ext}" for ext in Figure().canvas.get_supported_filetypes()}
    default = output.with_name(f"{output.stem}.loss.png")
    path = default if plot_path is None else Path(plot_path)
    return _writable_file(path, what, sorted(formats))


def _distinct(outputs: dict[str, Path | None]) -> None:
    """Refuse two outputs that are one file."""
    seen: list[tuple[str, Path]] = []
    for what, path in outputs.items():
        if path is None:
            continue
        for other, earlier in seen:
            if _same_file(path, earlier):
                raise UsageError(
                    f"{what} and {other} are the same file {str(path)!r}; give each "
                    "its own name"
                )
        seen.append((what, path))


def _not_snapshots(
    outputs: dict[str, Path | None], output: Path, every: int, iterations: int
) -> None:
    """Refuse an output that a --save-every snapshot would replace."""
    for what, path in outputs.items():
        if (
            path is not None
            and _is_snapshot_name(path.name, output, every, iterations)
            and _same_file(path.parent, output.parent)
        ):
            raise UsageError(
                f"{what} {str(path)!r} is a name --save-every writes a snapshot to; "
                "choose another"
            )


def _inputs_kept(
    inputs: dict[str, str], outputs: dict[str, Path | None], args: argparse.Namespace
) -> None:
    """Refuse an output, or a --save-every snapshot, that is one of the inputs."""
    for what, path in outputs.items():
        for source, given in inputs.items():
            if path is not None and _same_file(path, Path(given)):
                raise UsageError(
                    f"{what} {str(path)!r} is the {source} {given!r}; naah never "
                    "writes over its inputs: choose another name"
                )
    output = outputs["output image"]
    if args.save_every is None or output is None:
        return
    # Inputs exist, so a snapshot that is one of them exists too: look at the files
    # named like snapshots in the output's folder (links and all).
    try:
        names = os.listdir(output.parent)
    except OSError:
        return
    for name in names:
        if _is_snapshot_name(name, output, args.save_every, args.total):
            snapshot = output.with_name(name)
            for source, given in inputs.items():
                if _same_file(snapshot, Path(given)):
                    raise UsageError(
                        f"--save-every would write the snapshot {str(snapshot)!r} "
                        f"over the {source} {given!r}; naah never writes over its "
                        "inputs: choose another -o name or move the input"
                    )


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file: the same resolved path, or (for files
    that exist) the same file through hard or symbolic links."""
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python 3.11)
        return False


# -- image sizes -----------------------------------------------------------------------
def _min_image_side(layers: Iterable[str]) -> tuple[str, int]:
    """The deepest of VGG-19's feature ``layers`` and the smallest image side that
    reaches it: each of the poolings up to it (itself included) halves a side,
    rounding down.

    Examples
    --------
    >>> _min_image_side(["conv1_1", "conv4_2", "conv5_1"])
    ('conv5_1', 16)
    >>> _min_image_side(["pool5"])
    ('pool5', 32)
    """
    deepest = max(layers, key=FEATURE_LAYERS.index)
    pools = 0
    for layer in MATCONVNET_LAYERS:
        pools += layer.type == "pool"
        if layer.name == deepest:
            break
    return deepest, POOL_STRIDE**pools


def _sized_images(
    content: np.ndarray,
    styles: list[np.ndarray],
    args: argparse.Namespace,
    transfer: StyleTransfer,
) -> np.ndarray:
    """The content image resized as StyleTransfer.run resizes it, once it and every
    style image at its scale are known to be large enough for the deepest layer
    used."""
    weights = transfer.loss_weights
    deepest, need = _min_image_side([*weights.content_layers, *weights.style_layers])
    needs = f"smaller than the {need}x{need} that {deepest} (deepest layer used) needs"
    resized = resize_to_long_edge(content, args.size)
    if min(resized.shape[:2]) < need:
        raise UsageError(
            f"content image {args.content!r} is {_shape(resized)} at --size "
            f"{args.size}, {needs}; give --size "
            f"{_least_long_edge(content.shape[:2], need)} or more"
        )
    for (what, path), style, scale in zip(
        _style_files(args), styles, args.style_scales, strict=True
    ):
        style_edge = _style_edge(args.size, scale)
        resized_style = resize_to_long_edge(style, style_edge)
        if min(resized_style.shape[:2]) < need:
            least = _least_style_scale(style.shape[:2], need, args.size)
            raise UsageError(
                f"{what} {path!r} is {_shape(resized_style)} at --style-scale "
                f"{scale:g} (long edge {style_edge}), {needs}; "
                f"give --style-scale {least} or more"
            )
    return resized


def _style_plan(args: argparse.Namespace) -> None:
    """Check STYLE, --style-blend, --style-scale and --region against each other;
    ``args.style_scale`` becomes what StyleTransfer.run takes."""
    styles, regions = args.styles, args.region or []
    if styles and regions:
        raise UsageError("give STYLE images or --region options, not both")
    if not styles and not regions:
        raise UsageError("give a STYLE image (several to blend) or --region MASK=STYLE")
    count = len(styles) or len(regions)
    if len(args.style_scale) not in (1, count):
        raise UsageError(
            f"--style-scale has {len(args.style_scale)} values for {count} style "
            "images; give one for all, or one per style"
        )
    scales = tuple(args.style_scale)
    args.style_scales = scales * count if len(scales) == 1 else scales
    args.style_scale = scales[0] if len(scales) == 1 else scales
    if args.style_blend is not None:
        if regions:
            raise UsageError("--style-blend is for several STYLE images, not --region")
        try:
            blend_weights(args.style_blend, len(styles), name="--style-blend")
        except ValueError as error:
            raise UsageError(str(error)) from None


def _style_files(args: argparse.Namespace) -> list[tuple[str, str]]:
    """(what, path) of each style image: the STYLE arguments or the regions'."""
    if args.region:
        return [(f"--region {mask}'s style image", style)
                for mask, style, _ in args.region]  # fmt: skip
    if len(args.styles) == 1:
        return [("style image", args.styles[0])]
    return [(f"style image {k + 1}", path) for k, path in enumerate(args.styles)]


def _style_inputs(args: argparse.Namespace) -> dict[str, str]:
    """Every style-side input file, for the never-write-over-an-input check."""
    inputs = dict(_style_files(args))
    for mask, _, style_mask in args.region or []:
        inputs[f"--region mask {mask}"] = mask
        if style_mask is not None:
            inputs[f"--region style mask {style_mask}"] = style_mask
    return inputs


def _regions(args: argparse.Namespace, shape: tuple[int, ...]) -> list[Region] | None:
    """The --region options as Regions, their masks checked against the content's
    shape now (a missing, unreadable or empty mask stops the command here)."""
    if not args.region:
        return None
    regions = []
    for mask, style, style_mask in args.region:
        region = Region(mask, style, style_mask, name=Path(mask).stem)
        try:
            region.resolved((shape[0], shape[1]))
        except (OSError, ValueError) as error:
            raise UsageError(f"--region {mask}={style}: {error}") from None
        regions.append(region)
    return regions


def _style_edge(size: int, style_scale: float) -> int:
    """The style image's long edge, as StyleTransfer.run computes it."""
    try:
        return style_edge(size, style_scale)
    except OverflowError:
        raise UsageError(
            f"--style-scale {style_scale:g} is too large for --size {size}"
        ) from None


def _least_long_edge(shape: tuple[int, ...], need: int) -> int:
    """The smallest long edge at which an image of ``shape`` (H, W) has both sides
    of ``need`` pixels or more, each side rounded as naah.io.images resizes:
    ``round(side * edge / long_side)``."""
    long, short = max(shape[:2]), min(shape[:2])
    edge = max(need, math.floor((need - 0.5) * long / short) - 1)  # just below
    while round(short * (edge / long)) < need:
        edge += 1
    return edge


def _least_style_scale(shape: tuple[int, ...], need: int, size: int) -> str:
    """The smallest --style-scale, in few digits, that gives an image of ``shape``
    both sides of ``need`` pixels or more at ``--size size``."""
    edge = _least_long_edge(shape, need)
    for digits in range(2, 18):
        scale = float(f"{edge / size:.{digits}g}")
        if _style_edge(size, scale) >= edge:
            return f"{scale:g}" if digits <= 6 else repr(scale)
    return repr(edge / size)


def _shape(image: np.ndarray) -> str:
    height, width = image.shape[:2]
    return f"{width}x{height} pixels (width x height)"


# -- weights ---------------------------------------------------------------------------
def _download(args: argparse.Namespace) -> int:
    say = printer(args.quiet)
    size = SOURCES[args.source][0].file.size or 0
    say(
        f"{PROG}: fetching {SOURCES[args.source][0].file.name} ({size / 1e6:.0f} MB; "
        "an interrupted download resumes)"
    )
    path = fetch_weights(args.source, dest=args.dest, progress=not args.quiet)
    say(f"{PROG}: {path} is ready (checksum verified)")
    if args.source == "keras-notop":
        say(f"{PROG}: it has no fc6-fc8: it serves style transfer, not classification")
    return 0


def _info(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if path.is_dir():
        inside = str(path / default_weights_path().name)
        raise UsageError(
            f"{args.file!r} is a directory, not a weights file; give the path of "
            f"the file in it, e.g. {inside!r}"
        )
    if not path.is_file():
        raise UsageError(f"no weights file at {args.file!r}")
    # Loaded even if it holds NaN or infinity, so that info can say where.
    weights = load_weights(args.file, check_finite=False)
    non_finite = weights.non_finite()
    source = weights.source
    convs = [n for n in weights.params if n in CONV_LAYERS]
    others = [n for n in weights.params if n not in CONV_LAYERS]
    names = f"{convs[0]}..{convs[-1]} ({len(convs)} convolutions)" if convs else ""
    names = ", ".join(filter(None, [names, *others]))
    widths = ", ".join("-" if w is None else str(w) for w in weights.widths())
    mean = ", ".join(f"{v:.3f}" for v in weights.mean_pixel)
    if weights.class_names:
        first = weights.class_names[0]
        if weights.class_descriptions:
            first += f" {weights.class_descriptions[0]!r}"
        classes = f"{len(weights.class_names)} (first: {first})"
    else:
        classes = "none in this file"
    rows = {
        "file": source.path,
        "format": f"{source.format} ({FORMAT_NAMES.get(source.format, '?')})",
        "release": source.release,
        "layers": f"{len(weights.params)} weight layers: {names}",
        "conv widths": f"{widths} (blocks 1-5)",
        "mean pixel": f"{mean} (RGB, 0-255)",
        "classes": classes,
        "size": f"{source.size:,} bytes",
        "sha256": source.sha256 or "not computed",
        "checksum": CHECKSUM_NOTES.get(source.checksum, source.checksum),
        "values": "NOT FINITE: " + "; ".join(non_finite)
        if non_finite
        else "all finite",
    }
    for key, value in rows.items():
        print(f"{key + ':':<13}{value}")
    if non_finite:
        _error(
            f"{source.path} holds NaN or infinite values, so naah cannot use it; "
            "download it again"
        )
        return EXIT_FAILURE
    return 0


def _normalize(args: argparse.Namespace) -> int:
    from naah.normalize import normalize_file

    output = _writable_file(args.output, "-o", (".mat",))
    weights = find_weights(args.weights)
    if _same_file(output, weights):
        raise UsageError(f"-o {str(output)!r} is the weights file; choose another name")
    images = Path(args.images).expanduser()
    if not images.exists():
        raise UsageError(f"--images: no folder or file at {str(images)!r}")
    report = normalize_file(
        weights, images, output, args.size, pooling=args.pooling, verify=args.verify,
        runtime=Runtime(keep_freed_memory=True),
    )  # fmt: skip
    print(report)
    return 0


def _fixture(args: argparse.Namespace) -> int:
    from naah.testing import DEFAULT_WIDTHS, write_vgg19_mat

    path = _writable_file(args.file, "weights fixture", (".mat",))
    write_vgg19_mat(path, seed=args.seed)
    widths = ", ".join(map(str, DEFAULT_WIDTHS))
    print(
        f"{PROG}: wrote {path}: random stand-in weights with narrow layers ({widths} "
        "channels per block), NOT pretrained; naah runs end to end on them, but the "
        "results are not style transfers"
    )
    return 0


def _path(args: argparse.Namespace) -> int:
    for label, path in search_order():
        state = "found" if path.is_file() else "missing"
        print(f"{label + ':':<15}{path} ({state})")
    print(f"{'using:':<15}{find_weights()}")
    return 0


# -- helpers ---------------------------------------------------------------------------
def _error(message: object) -> None:
    text = " ".join(str(message).split())
    print(f"{PROG}: error: {text}", file=sys.stderr)


def _warn(message: str) -> None:
    """``naah: warning: message`` on stderr, now (not through ``warnings``, whose
    filters may make it an exception or hide a repeat)."""
    _write_line(f"{PROG}: warning: {' '.join(message.split())}", sys.stderr)


def _write_line(text: str, file: TextIO) -> None:
    """Print a line above tqdm's progress bar, if one is showing, not through it."""
    from tqdm import tqdm

    tqdm.write(text, file=file)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    text = " ".join(str(message).split())
    print(f"{PROG}: warning: {text}", file=sys.stderr)


def _positive_int(text: str) -> int:
    value = _number(text, int, "an integer")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    value = _number(text, int, "an integer")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return value


def _seed(text: str) -> int:
    value = _non_negative_int(text)
    try:
        np.random.default_rng(value)
    except (ValueError, TypeError, OverflowError) as error:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a seed numpy takes: {error}"
        ) from None
    return value


def _finite_float(text: str) -> float:
    value = _number(text, float, "a number")
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = _finite_float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    value = _finite_float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return value


def _adam_beta(text: str) -> float:
    value = _finite_float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text!r}")
    return value


def _number(text: str, kind: Callable[[str], _T], what: str) -> _T:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None


def _names(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(","))
    if not all(names):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer names like conv1_1,conv2_1, got {text!r}"
        )
    return names


def _size(text: str) -> int | str:
    return "auto" if text == "auto" else _positive_int(text)


def _port(text: str) -> int:
    value = _non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be a port, 0–65535, got {text!r}")
    return value


def _counts(text: str) -> tuple[int, ...]:
    """One or more comma-separated non-negative integers."""
    return tuple(_non_negative_int(n.strip()) for n in text.split(","))


def _positive_floats(text: str) -> tuple[float, ...]:
    return tuple(_positive_float(n.strip()) for n in text.split(","))


def _region_spec(text: str) -> tuple[str, str, str | None]:
    """MASK=STYLE[:STYLE_MASK]: the style mask only if that part is a file."""
    mask, sep, rest = text.partition("=")
    if not sep or not mask or not rest:
        raise argparse.ArgumentTypeError(
            f"expected MASK=STYLE or MASK=STYLE:STYLE_MASK, got {text!r}"
        )
    style, colon, style_mask = rest.rpartition(":")
    if colon and style and Path(style_mask).is_file():
        return mask, style, style_mask
    return mask, rest, None


def _floats(text: str) -> tuple[float, ...]:
    return tuple(_non_negative_float(n.strip()) for n in text.split(","))
